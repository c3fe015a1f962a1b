"""The test tiers: each folder's conftest marks the tests it collects (`pytest -m ...` selects)."""

from pathlib import Path

import pytest


def mark_folder(items: list[pytest.Item], folder: Path, *markers: pytest.MarkDecorator) -> None:
    """Add markers to every collected test that lives under folder.

    `pytest_collection_modifyitems` sees the whole session's items, from any conftest: the folder
    is checked here.
    """
    for item in items:
        if folder in item.path.parents:
            for marker in markers:
                item.add_marker(marker)
