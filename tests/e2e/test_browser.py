"""End to end in a real browser: one tab's tour of the pages (Home, Toy, CNN-Vis3D's first visit,
Overlap, Layer), shared links to each page, start-up, no console errors.

Needs Debian's Chromium (/usr/bin/chromium; `.ci/run` installs it). Screenshots go to a
temporary folder, or to SPH_VIZ_SCREENSHOTS (e.g. docs/screenshots for the README). The fixtures
(`server`, `page`, `deep_link`, `shots`) are in this folder's conftest: one server and one tab per file.
"""

import json
import os
import re
from pathlib import Path

import pytest
from browser_helpers import CHROMIUM, PROJECTOR, frames_drawn, go_to, projector_shot, wait_for_charts
from playwright.sync_api import expect
from servers import serve

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Chromium not installed (apt-get install chromium)"
)


def test_home(page, shots):
    page.get_by_text("what a network learns when it may use only angles").wait_for(timeout=30_000)
    wait_for_charts(page, 2)
    # the device line follows once the background warm-up has loaded torch (Home itself does not)
    page.get_by_text(re.compile(r"Device: (CPU|CUDA|Apple)")).wait_for(timeout=120_000)
    projector_shot(page, shots / "home.png")


def test_toy_page_trains_and_steps(page, shots):
    go_to(page, "Toy task")
    page.get_by_text("Toy task: 2-D data, two nets").wait_for(timeout=30_000)
    wait_for_charts(page, 4, timeout=120_000)
    body = page.inner_text("body")
    assert "the origin, as a bias-free layer must" in body
    projector_shot(page, shots / "toy.png", chart=0)
    page.get_by_role("button", name="⏮ reset").click()
    page.get_by_text("spherized: representation, epoch 0").wait_for(timeout=30_000)
    replay = page.get_by_role("tab", name="Replay")
    expect(replay).to_have_count(1, timeout=30_000)  # the rerun's stale copy is gone
    replay.click()
    page.get_by_text("Plays in your browser").wait_for()
    play = page.locator(".updatemenu-button").filter(has_text="Play")  # Plotly's own controls
    play.wait_for()
    play.click()
    page.wait_for_function(  # the animation advances in the browser, with no server round-trip
        """() => [...document.querySelectorAll('.slider-label')]
                  .some(e => e.textContent.startsWith('epoch ') && e.textContent !== 'epoch 0')""",
        timeout=30_000,
    )


def test_bad_config_upload_shows_a_message_and_keeps_the_page(page, tmp_path):
    bad = tmp_path / "config.json"
    bad.write_text("{not json")
    page.get_by_text("Configuration file").click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(bad))
    page.get_by_text("Config not loaded: config file is not valid JSON").wait_for(timeout=30_000)
    wait_for_charts(page, 1)  # what was shown stays: the Replay tab left open above (only it runs)
    expect(page.get_by_role("tab", name="Replay")).to_have_attribute("aria-selected", "true")


# The first visit trains the quick preset live. On all of MNIST that is 77 s of training on a 2-core
# AVX2 CPU, so the suite opens the page on a link that keeps the first 6,000 training images (the
# same first-visit path: the quick preset starts by itself); the README's screenshots
# ($SPH_VIZ_SCREENSHOTS) take the whole preset.
FIRST_VISIT = "" if os.environ.get("SPH_VIZ_SCREENSHOTS") else "?max_samples=6000"


def test_vis3d_page_trains_live_and_shows_the_sphere(page, server, shots):
    if FIRST_VISIT:
        page.goto(f"{server}/vis3d{FIRST_VISIT}")  # a session of its own, as a shared link opens it
    else:
        go_to(page, "CNN-Vis3D (MNIST)")
    page.get_by_text("CNN-Vis3D: MNIST on a sphere").wait_for(timeout=30_000)
    page.get_by_text("test accuracy").first.wait_for(timeout=300_000)  # quick preset, trained live
    wait_for_charts(page, 1)
    projector_shot(page, shots / "vis3d.png", chart=0)


def test_crafted_model_upload_is_refused(page, tmp_path):
    import io
    import pickle

    marker = tmp_path / "pwned.txt"

    class CreatesAFile:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    evil = tmp_path / "model.pt"
    buf = io.BytesIO()
    pickle.dump({"trunk.0.weight": CreatesAFile()}, buf)
    evil.write_bytes(buf.getvalue())
    page.get_by_text("Load a trained model").click()
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').last.set_input_files(str(evil))
    page.get_by_text("Model not loaded: not a plain PyTorch state_dict").wait_for(timeout=30_000)
    assert not marker.exists()
    wait_for_charts(page, 1)  # the trained sphere is still shown


def test_overlap_page(page, server, shots):
    if FIRST_VISIT:  # the heads trained above, on the same share of MNIST
        page.goto(f"{server}/overlap{FIRST_VISIT}&layer=vis3d")
    else:
        go_to(page, "Overlap statistics")
    page.locator('[data-testid="stSelectbox"]').filter(has_text="feature layer").click()
    page.get_by_role("option", name="CNN-Vis3D 3-D bottleneck").click()  # the head trained above
    # (the table's "# overlapping" column header is drawn on a canvas, off its right edge at 1280 px)
    page.get_by_role("heading", name="Overlapping groups").wait_for(timeout=60_000)
    wait_for_charts(page, 2)
    page.locator('[data-testid="stDataFrame"] canvas').first.wait_for()
    page.wait_for_function(  # the group's digit images have loaded
        """() => { const im = [...document.querySelectorAll('[data-testid="stImage"] img, .stImage img')];
                   return im.length > 0 && im.every(i => i.complete && i.naturalWidth > 0); }""",
        timeout=30_000,
    )
    projector_shot(page, shots / "overlap.png", chart=0)


def test_layer_page(page, shots):
    go_to(page, "Layer explorer")
    page.get_by_text("1 · Angularization").wait_for(timeout=30_000)
    wait_for_charts(page, 2)
    projector_shot(page, shots / "layer.png", chart=0)


REGISTERED = [
    "Home",
    "Toy task",
    "CNN-Vis3D (MNIST)",
    "Overlap statistics",
    "Layer explorer",
    "Paper: claims and results",
    "SphereNet",
    "Hyperspherical prototypes",
]


@pytest.mark.parametrize("path", ["", "toy", "vis3d", "overlap", "layer"])
def test_a_shared_link_with_a_query_string_lists_exactly_the_registered_pages(page, tmp_path, path):
    # a fresh server whose first request is the link: the case Streamlit's pages/ folder mode breaks;
    # a context of its own, so the deep link's 404s stay out of the main page's console
    with serve(tmp_path) as server:
        context = page.context.browser.new_context(viewport=PROJECTOR)
        pg = context.new_page()
        pg.goto(f"{server}/{path}?preset=paper&tau=1e-4&n=3")
        nav = pg.locator('[data-testid="stSidebarNav"] a')
        expect(nav).to_have_count(len(REGISTERED), timeout=30_000)
        assert [t.strip().splitlines()[-1] for t in nav.all_inner_texts()] == REGISTERED  # icon, then title
        context.close()


def test_no_console_errors(page):
    # the deep links this tab opened (FIRST_VISIT) make Streamlit's frontend ask
    # `/<page>/_stcore/...` first and log those 404s, as in `deep_link`; any other error fails
    errors = [e for e in page.console_errors if not (FIRST_VISIT and "status of 404" in e)]
    assert errors == []


def test_png_export_through_kaleido_and_the_system_chromium():
    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=[0, 1], y=[1, 0]))
    png = fig.to_image(format="png", width=400, height=300)  # what the ⬇ PNG buttons send
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000


# ---------------------------------------------------------------- start-up and the Toy page's view


def server_pid(url: str) -> int:
    """The process of the `streamlit run` serving url (found by its port on the command line)."""
    port = url.rsplit(":", 1)[1]
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        flag = b"--server.port"
        if b"streamlit" in cmdline and flag in cmdline and cmdline[cmdline.index(flag) + 1] == port.encode():
            return int(proc.name)
    raise LookupError(f"no server process for {url}")


def heavy_libraries(pid: int) -> set[str]:
    """Which of torch, scipy, scikit-learn have compiled code mapped into the process."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return {name for name in ("torch", "scipy", "sklearn") if f"/site-packages/{name}/" in maps}


def small_page(page, url: str):
    """A tab of its own at 1280x720 (a projector's size); its console errors, bar 404s, collected."""
    context = page.context.browser.new_context(viewport=PROJECTOR)
    pg = context.new_page()
    pg.console_errors = []
    pg.on(
        "console",
        lambda m: m.type == "error" and "status of 404" not in m.text and pg.console_errors.append(m.text),
    )
    pg.on("pageerror", lambda e: pg.console_errors.append(str(e)))
    pg.goto(url)
    return pg


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads the server's /proc/<pid>/maps")
def test_home_draws_without_torch_scipy_or_sklearn_in_the_server(page, tmp_path, monkeypatch, shots):
    monkeypatch.setenv("SPH_VIZ_WARMUP", "0")  # so nothing loads them after Home has drawn
    with serve(tmp_path) as url:
        pg = small_page(page, url)
        pg.get_by_text("what a network learns when it may use only angles").wait_for(timeout=60_000)
        wait_for_charts(pg, 3)
        pg.get_by_text("Device: chosen when a page first trains").wait_for()
        assert heavy_libraries(server_pid(url)) == set()
        assert pg.console_errors == []
        pg.context.close()


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads the server's /proc/<pid>/maps")
def test_home_names_the_device_once_the_warm_up_has_loaded_torch(page, tmp_path, shots):
    with serve(tmp_path) as url:
        pg = small_page(page, url)
        wait_for_charts(pg, 3)
        pg.get_by_text(re.compile(r"Device: (CPU \(\d+ threads?\)|CUDA|Apple MPS)")).wait_for(timeout=120_000)
        assert "torch" in heavy_libraries(server_pid(url))  # the check above can see it
        frames_drawn(pg)
        pg.screenshot(path=shots / "home-1280x720.png")
        assert pg.console_errors == []
        pg.context.close()


def test_a_shared_toy_link_restores_the_epoch_and_the_tab(page, server, shots, tmp_path):
    """Open a shared link at 1280x720: the Replay tab and epoch 2 come back; the config file
    downloaded there, uploaded in another tab, brings both back too."""

    pg = small_page(page, f"{server}/toy?epochs=6&seed=3&epoch=2&tab=replay")
    expect(pg.get_by_role("tab", name="Replay")).to_have_attribute("aria-selected", "true", timeout=120_000)
    pg.locator(".updatemenu-button").filter(has_text="Play").wait_for(timeout=60_000)
    frames_drawn(pg)
    pg.screenshot(path=shots / "toy-replay-1280x720.png")
    pg.get_by_text("Configuration file").click()
    with pg.expect_download() as download:
        pg.get_by_role("button", name="Download config (JSON)").click()
    saved = tmp_path / "toy.json"
    download.value.save_as(saved)
    config = json.loads(saved.read_text())
    assert (config["epoch"], config["tab"], config["epochs"], config["seed"]) == (2, "replay", 6, 3)
    pg.get_by_role("tab", name="Step through epochs").click()
    pg.get_by_text("spherized: representation, epoch 2").wait_for(timeout=60_000)
    expect(pg.locator(".st-key-toy_epoch_slider input[type=range]")).to_have_value("2")
    pg.wait_for_url(re.compile(r"[?&]epoch=2(&|$)"))
    assert "tab=" not in pg.url  # the first tab is the default: left out of the link
    wait_for_charts(pg, 4)
    frames_drawn(pg)
    pg.screenshot(path=shots / "toy-1280x720.png")
    assert pg.console_errors == []
    pg.context.close()

    other = small_page(page, f"{server}/toy?epochs=6&seed=3")  # the last epoch, the first tab
    other.get_by_text("original: representation, epoch 6").wait_for(timeout=120_000)
    other.get_by_text("Configuration file").click()
    other.locator('[data-testid="stFileUploaderDropzoneInput"]').first.set_input_files(str(saved))
    expect(other.get_by_role("tab", name="Replay")).to_have_attribute("aria-selected", "true", timeout=60_000)
    other.wait_for_url(re.compile(r"[?&]tab=replay(&|$)"))
    assert re.search(r"[?&]epoch=2(&|$)", other.url)
    assert other.console_errors == []
    other.context.close()


# ---------------------------------------------------------------- CNN-Vis3D: map, matrix, camera, heads
