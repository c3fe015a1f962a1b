"""The end-to-end tier: a real server with Chromium through Playwright (`browser`), and a classroom
of sessions against a real server (`load` and `slow`)."""

from pathlib import Path

import pytest
from tiers import mark_folder

HERE = Path(__file__).parent
LOAD_TESTS = ("test_classroom_load.py",)  # the rest of the folder drives Chromium


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    load = [item for item in items if item.path.name in LOAD_TESTS]
    mark_folder(items, HERE, pytest.mark.e2e)
    mark_folder(load, HERE, pytest.mark.load, pytest.mark.slow)
    mark_folder([item for item in items if item not in load], HERE, pytest.mark.browser)
