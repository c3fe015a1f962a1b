"""The app tier: the pages through Streamlit's AppTest, on prepared results (`prepared.py`); a test
trains in the page only where training is what it is about (progress, Stop, divergence, the queue),
and then on tiny settings."""

from pathlib import Path

import pytest
from tiers import mark_folder

from sph_viz.experiments.result import ExperimentResult
from sph_viz.results.store import ResultStore


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    mark_folder(items, Path(__file__).parent, pytest.mark.app)


@pytest.fixture(scope="session", autouse=True)
def component_scan_once():
    """Every AppTest scans the metadata of every installed distribution for Streamlit components
    (`scan_component_manifests`, about 0.3 s of each test here); what is installed does not change
    during a test session, so the first scan's answer serves every AppTest."""
    from streamlit.components.v2 import manifest_scanner

    found = manifest_scanner.scan_component_manifests()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(manifest_scanner, "scan_component_manifests", lambda *a, **k: list(found))
        yield


@pytest.fixture
def inject(fresh_app):
    """Put results into this test's disk cache, where a page looks first."""

    def put(*results: ExperimentResult) -> None:
        store = ResultStore()  # $SPH_VIZ_CACHE_DIR: this test's own cache (fresh_app)
        for result in results:
            store.save(result)

    return put
