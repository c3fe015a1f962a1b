"""Issue 10 in a real browser: Markdown from a URL, a model zip bomb and the upload limit.

A real `streamlit run` server on 127.0.0.1 and Debian's Chromium (skipped without it). The bomb
is shared with test_hostile.py (built once per session).
"""

import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from browser_helpers import ARGS, CHROMIUM
from hostile_inputs import PAYLOAD, model_bomb_file
from servers import free_port

from models.vis3d import CNNVis3D, Vis3DConfig
from sph_viz.results.checkpoints import MAX_MODEL_BYTES, inflated_limit

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Chromium not installed (apt-get install chromium)"
)
GIB = 2**30


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(url, pid) of a fresh server with its own disk cache."""
    port = free_port()
    env = {**os.environ, "SPH_VIZ_CACHE_DIR": str(tmp_path_factory.mktemp("cache"))}
    cmd = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true"]
    cmd += ["--server.port", str(port), "--server.address", "127.0.0.1"]
    cmd += ["--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    log = tmp_path_factory.mktemp("log") / "server.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):  # up to 30 s for the server to answer
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail(f"streamlit did not start: {log.read_text()[-2000:]}")
    yield url, proc.pid
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        pg = browser.new_page(viewport={"width": 1500, "height": 1900})
        pg.requested = []
        pg.on("request", lambda r: pg.requested.append(r.url))
        yield pg
        browser.close()


def peak_memory(pid: int) -> int:
    """The process's peak resident memory in bytes (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


def requests_settled(page) -> None:
    """Until every request the page started so far has been reported (events arrive in order)."""
    with page.expect_response(lambda r: r.url.endswith("/_stcore/health")):
        page.evaluate("fetch('/_stcore/health')")


def test_markdown_in_the_url_is_not_rendered(server, page):
    url, _ = server
    page.requested.clear()
    page.goto(f"{url}/overlap?" + urllib.parse.urlencode({"tau": PAYLOAD, "preset": PAYLOAD}))
    page.get_by_text("URL parameter adjusted: preset:").wait_for(timeout=60_000)
    page.get_by_text("URL parameter adjusted: tau:").wait_for()
    requests_settled(page)
    assert page.locator('a[href*="example.invalid"]').count() == 0
    assert page.locator('img[src*="example.invalid"]').count() == 0
    assert not [u for u in page.requested if urllib.parse.urlsplit(u).hostname == "example.invalid"]
    assert page.get_by_text("preset: '[Session expired - log in again](https:").count() == 1  # as typed


def open_model_loader(page, url: str) -> None:
    page.goto(f"{url}/vis3d?preset=fast")  # not the quick preset: no first-visit training
    page.get_by_text("Load a trained model").click()


def test_model_zip_bomb_upload_is_refused_and_the_server_stays_small(server, page, tmp_path_factory):
    url, pid = server
    bomb = model_bomb_file(tmp_path_factory)
    open_model_loader(page, url)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').last.set_input_files(str(bomb))
    page.get_by_text("Model not loaded: model file would inflate to").wait_for(timeout=60_000)
    limit = inflated_limit(CNNVis3D(Vis3DConfig("spherized"))) / 2**20
    page.get_by_text(f"the limit for this architecture is {limit:.1f} MiB").wait_for()
    assert peak_memory(pid) < GIB, f"server peak {peak_memory(pid) / 2**20:.0f} MiB"


def test_an_upload_of_the_promised_size_reaches_the_loader(server, page, tmp_path):
    url, _ = server
    junk = tmp_path / "model.pt"
    junk.write_bytes(bytes(MAX_MODEL_BYTES))  # as large as the page promises
    open_model_loader(page, url)
    page.get_by_text(f"≤ {MAX_MODEL_BYTES // 2**20} MiB").wait_for()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').last.set_input_files(str(junk))
    # the loader's own answer, not the uploader's "File must be … or smaller"
    page.get_by_text("Model not loaded: not a plain PyTorch state_dict").wait_for(timeout=120_000)
    assert page.get_by_text("or smaller").count() == 0
