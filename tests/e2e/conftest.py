"""The end-to-end tier: a real server with Chromium through Playwright (`browser`), and a classroom
of sessions against a real server (`load` and `slow`)."""

import os
from pathlib import Path

import pytest
from browser_helpers import ARGS, CHROMIUM, PROJECTOR
from prepared import VIS3D_QUERY, filed_under, vis3d_specs
from servers import serve
from tiers import mark_folder

from sph_viz.data.idx import BUNDLED_MNIST
from sph_viz.results.store import ResultStore

HERE = Path(__file__).parent
LOAD_TESTS = ("test_classroom_load.py",)  # the rest of the folder drives Chromium


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    load = [item for item in items if item.path.name in LOAD_TESTS]
    mark_folder(items, HERE, pytest.mark.e2e)
    mark_folder(load, HERE, pytest.mark.load, pytest.mark.slow)
    mark_folder([item for item in items if item not in load], HERE, pytest.mark.browser)


# ---------------------------------------------------------------- the browser files' fixtures


@pytest.fixture(scope="module")
def server(tmp_path_factory, vis3d_results):
    """The server one browser file's tabs share. Its cache holds the two heads of the CNN-Vis3D
    links (`test_browser_vis3d.TINY`), prepared on the tiny folder (`prepared.py`): those tests are
    about clicks, boxes and cameras, so they open at once on 200 test images. The first visit's
    quick preset and the Overlap and SphereNet pages' runs train in the server."""
    cache = tmp_path_factory.mktemp("cache")
    store = ResultStore(cache)
    for head, spec in vis3d_specs(VIS3D_QUERY, BUNDLED_MNIST).items():
        store.save(filed_under(vis3d_results[head], spec.cache_config))
    with serve(cache) as url:
        yield url


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    folder = Path(os.environ.get("SPH_VIZ_SCREENSHOTS") or tmp_path_factory.mktemp("shots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = browser.new_page(viewport=PROJECTOR)
        pg.console_errors = []
        pg.on("console", lambda m: m.type == "error" and pg.console_errors.append(m.text))
        pg.on("pageerror", lambda e: pg.console_errors.append(str(e)))
        pg.goto(server)
        yield pg
        browser.close()


@pytest.fixture
def deep_link(page):
    """Open a shared link in a tab of its own (a fresh context), as a student would.

    Streamlit's frontend first asks for `/<page>/_stcore/health` and `/<page>/_stcore/host-config`
    on a deep link and logs their 404s before it finds the server's root; those two are
    Streamlit's doing and are allowed here. Any other console error fails the test.
    """
    contexts = []

    def open_(url: str):
        ctx = page.context.browser.new_context(viewport=PROJECTOR)
        contexts.append(ctx)
        pg = ctx.new_page()
        pg.console_errors = []
        pg.on("console", lambda m: m.type == "error" and pg.console_errors.append(m.text))
        pg.on("pageerror", lambda e: pg.console_errors.append(str(e)))
        pg.goto(url)
        return pg

    yield open_
    errors = [
        e for ctx in contexts for pg in ctx.pages for e in pg.console_errors if "status of 404" not in e
    ]
    for ctx in contexts:
        ctx.close()
    assert errors == []
