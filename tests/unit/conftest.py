"""The unit tier: library maths and logic, no training beyond a few steps."""

from pathlib import Path

import pytest
from tiers import mark_folder


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_folder(items, Path(__file__).parent, pytest.mark.unit)
