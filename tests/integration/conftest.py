"""The integration tier: trainings on tiny data, command-line runs, a Ray sweep, subprocesses, servers."""

from pathlib import Path

import pytest
from tiers import mark_folder


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_folder(items, Path(__file__).parent, pytest.mark.integration)
