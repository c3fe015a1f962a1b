"""End to end in a real browser: CNN-Vis3D's views on heads prepared in the server's cache (the 2-D
map's clicks and box, the confusion matrix, the 3-D camera dragged, kept and shared)."""

import json
import re
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from browser_helpers import CHROMIUM, frames_drawn
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect
from scipy.spatial import cKDTree

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Chromium not installed (apt-get install chromium)"
)


MAP = """() => [...document.querySelectorAll('.js-plotly-plot')]
           .find(e => e._fullLayout && (e._fullLayout.title.text || '').includes('map of'))"""


def map_pixels(page) -> tuple[np.ndarray, list[int]]:
    """Every point of the angle map as the browser holds it: page pixels (N, 2) and sample numbers."""
    points = page.evaluate(
        f"""() => {{ const gd = ({MAP})(), L = gd._fullLayout, r = gd.getBoundingClientRect();
                    return gd._fullData.flatMap(t => Array.from(t.x, (x, i) => ({{
                        sample: t.customdata[i][0], x: x, y: t.y[i],
                        px: r.left + L.xaxis._offset + L.xaxis.d2p(x),
                        py: r.top + L.yaxis._offset + L.yaxis.d2p(t.y[i])}}))); }}"""
    )
    return np.array([[p["px"], p["py"]] for p in points]), [int(p["sample"]) for p in points]


def grid_samples(page, n: int) -> list[int]:
    """Sample numbers of the map's image grid, once it says n samples are selected."""
    head = page.get_by_text(re.compile(rf"^{n:,} samples? selected on the map"))
    head.wait_for(timeout=60_000)
    column = page.locator('[data-testid="stColumn"]').filter(has=head).last
    captions = column.locator('[data-testid="stImageCaption"]')
    expect(captions).to_have_count(min(n, 40), timeout=60_000)
    return [int(re.match(r"#(\d+) ·", c).group(1)) for c in captions.all_inner_texts()]


def test_vis3d_angle_map_click_selects_that_sample(deep_link, server, shots):
    """Click the map's loneliest point: the grid shows exactly that sample (a box drag: not yet)."""
    page = deep_link(f"{server}/vis3d?heads=spherized&max_samples=600&epochs=1&preset=quick")
    page.get_by_text("test accuracy").first.wait_for(timeout=300_000)  # prepared in the server's cache
    page.wait_for_function(
        f"() => {{ const gd = ({MAP})(); return gd && gd._fullData.length > 0; }}", timeout=60_000
    )
    page.get_by_text("Nothing selected on the map.").wait_for(timeout=30_000)
    page.evaluate(f"() => ({MAP})().scrollIntoView({{block: 'center'}})")
    frames_drawn(page)
    xy, samples = map_pixels(page)
    gap = cKDTree(xy).query(xy, k=2)[0][:, 1]
    lone = int(np.argmax(gap))  # the point farthest from any other: a click hits only it
    page.mouse.click(*xy[lone])
    assert grid_samples(page, 1) == [samples[lone]]
    page.evaluate(f"() => ({MAP})().scrollIntoView({{block: 'center'}})")
    frames_drawn(page)
    page.screenshot(path=shots / "vis3d-map.png")


SCENES = """() => [...document.querySelectorAll('.js-plotly-plot')].filter(e => e.layout
           && e.layout.meta === 'sph-viz-camera:vis3d' && e._fullLayout && e._fullLayout.scene
           && e._fullLayout.scene._scene)"""
MATRIX = """() => [...document.querySelectorAll('.js-plotly-plot')]
              .find(e => e._fullLayout && (e._fullLayout.title.text || '').includes('confusion matrix'))"""
TINY = "max_samples=600&epochs=1&preset=quick"  # VIS3D_QUERY's runs: prepared in the server's cache


def open_vis3d(deep_link, server, query: str):
    """A shared CNN-Vis3D link at 1280x720, once its results are shown."""
    page = deep_link(f"{server}/vis3d?{TINY}&{query}")
    page.get_by_text("test accuracy").first.wait_for(timeout=600_000)  # prepared in the server's cache
    return page


def drag(page, start, end, steps: int = 12) -> None:
    """A mouse drag in small steps (Plotly's 3-D camera and select box follow mousemove events)."""
    page.mouse.move(*start)
    page.mouse.down()
    for k in range(1, steps + 1):
        page.mouse.move(
            start[0] + (end[0] - start[0]) * k / steps, start[1] + (end[1] - start[1]) * k / steps
        )
    page.mouse.up()


def cameras(page) -> list[dict]:
    """The camera each 3-D view of the page shows now (Plotly's scene, not its layout)."""
    return page.evaluate(f"() => ({SCENES})().map(gd => gd._fullLayout.scene._scene.getCamera())")


def same_camera(a: dict, b: dict, tol: float = 2e-4) -> bool:
    return all(abs(a[p][k] - b[p][k]) <= tol for p in ("eye", "center", "up") for k in "xyz")


def scene_box(page, k: int = 0) -> list[float]:
    page.evaluate(f"() => ({SCENES})()[{k}].scrollIntoView({{block: 'center'}})")
    frames_drawn(page)
    return page.evaluate(
        f"""() => {{ const r = ({SCENES})()[{k}].querySelector('canvas').getBoundingClientRect();
                    return [r.left, r.top, r.width, r.height]; }}"""
    )


def map_tool(page, name: str) -> None:
    """Press one of the map's modebar buttons ("Zoom", "Box Select", ...)."""
    chart = page.locator(".js-plotly-plot").filter(has=page.locator("text.gtitle", has_text="map of")).first
    chart.hover()
    chart.locator(f'[data-title="{name}"]').click()


def test_vis3d_box_on_the_map_selects_exactly_the_samples_inside_it(deep_link, server, shots):
    """A click on the map moves the sample inspector; then zoom in and drag a box whose edges lie in
    gaps between points: the grid shows exactly the samples the figure's own data puts inside it."""
    page = open_vis3d(deep_link, server, "heads=spherized")
    page.wait_for_function(
        f"() => {{ const gd = ({MAP})(); return gd && gd._fullData.length > 0; }}", timeout=60_000
    )
    page.evaluate(f"() => ({MAP})().scrollIntoView({{block: 'center'}})")
    frames_drawn(page)
    xy, samples = map_pixels(page)
    lone = int(np.argmax(cKDTree(xy).query(xy, k=2)[0][:, 1]))  # a click there hits only that point
    page.mouse.click(*xy[lone])
    assert grid_samples(page, 1) == [samples[lone]]
    expect(page.get_by_label("sample #")).to_have_value(str(samples[lone]))  # the inspector followed
    ranges = page.evaluate(f"() => ({MAP})()._fullLayout.xaxis.range.slice()")
    map_tool(page, "Zoom")  # a one-epoch net's map is a small blob: spread it over the plot first
    drag(page, xy.min(axis=0) - 3, xy.max(axis=0) + 3)
    page.wait_for_function(f"r => ({MAP})()._fullLayout.xaxis.range[0] !== r[0]", arg=ranges, timeout=30_000)
    frames_drawn(page)
    xy, samples = map_pixels(page)
    x = np.sort(xy[:, 0])
    gaps = np.flatnonzero(np.diff(x) >= 2.0)  # an edge >= 1 px from every point: no point on the line
    assert len(gaps), "no gap between the map's points to put a box edge in"
    cut = gaps[np.argmin(np.abs(gaps - len(x) / 2))]  # the most even split
    right = (x[cut] + x[cut + 1]) / 2
    inside = sorted(samples[k] for k in np.flatnonzero(xy[:, 0] < right))
    assert 0 < len(inside) < len(samples)
    map_tool(page, "Box Select")
    drag(page, (xy[:, 0].min() - 5, xy[:, 1].min() - 5), (right, xy[:, 1].max() + 5))
    assert grid_samples(page, len(inside)) == inside[:40]
    page.get_by_text(f"{len(inside):,} selected on the map", exact=True).wait_for()  # the 3-D view's note
    page.evaluate(f"() => ({MAP})().scrollIntoView({{block: 'center'}})")
    frames_drawn(page)
    page.screenshot(path=shots / "vis3d-map-box.png")


def test_vis3d_click_on_a_confusion_cell_chooses_it(deep_link, server, shots):
    page = open_vis3d(deep_link, server, "heads=spherized")
    page.wait_for_function(
        f"() => {{ const gd = ({MATRIX})(); return gd && gd._fullData.length > 1; }}", timeout=60_000
    )
    page.evaluate(f"() => ({MATRIX})().scrollIntoView({{block: 'center'}})")
    frames_drawn(page)
    cells = page.evaluate(
        f"""() => {{ const gd = ({MATRIX})(), L = gd._fullLayout, r = gd.getBoundingClientRect(), t = gd._fullData[1];
                    return Array.from(t.x, (x, i) => ({{true: t.customdata[i][0], pred: t.customdata[i][1],
                        n: t.customdata[i][2], px: r.left + L.xaxis._offset + L.xaxis.d2p(x),
                        py: r.top + L.yaxis._offset + L.yaxis.d2p(t.y[i])}})); }}"""
    )
    diagonal = [c for c in cells if c["true"] == c["pred"]]
    cell = max(diagonal, key=lambda c: c["n"])  # not the list's default, which is an error cell
    page.mouse.click(cell["px"], cell["py"])
    t, p, n = (int(cell[k]) for k in ("true", "pred", "n"))
    page.get_by_text(f"{n:,} test images of digit {t} predicted as {p}:").wait_for(timeout=60_000)
    choice = page.get_by_role("combobox", name=re.compile(r"^cell \(true → predicted\)"))
    expect(choice).to_have_value(f"{t} → {p}: {n:,} samples")  # the list follows the click
    page.wait_for_function("c => location.search.includes('cell=' + c)", arg=f"{t}-{p}", timeout=30_000)
    frames_drawn(page)
    page.screenshot(path=shots / "vis3d-confusion.png")


def test_vis3d_drag_turns_the_camera_and_reruns_keep_it(deep_link, server, tmp_path, shots):
    page = open_vis3d(deep_link, server, "heads=spherized")
    page.wait_for_function(f"() => ({SCENES})().length == 1", timeout=60_000)
    left, top, width, height = scene_box(page)
    (before,) = cameras(page)
    start = (left + 0.4 * width, top + 0.5 * height)
    # reported: the link always carries a camera (the default one before any drag), so wait until
    # the scene's eye has moved and the link's eye is that one (CI once read the camera before the
    # report came); a drag that lands while the scene is still settling is repeated, as below
    reported = f"""() => {{ const q = new URLSearchParams(location.search);
        const c = ({SCENES})()[0]._fullLayout.scene._scene.getCamera();
        return Math.abs(c.eye.x - ({before["eye"]["x"]})) > 1e-6 && ['x', 'y', 'z'].every(k =>
            q.has('eye_' + k) && Math.abs(parseFloat(q.get('eye_' + k)) - c.eye[k]) <= 1e-4); }}"""
    for attempt in range(3):
        drag(page, start, (start[0] + 100, start[1] + 25))
        try:
            page.wait_for_function(reported, timeout=10_000)
            break
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
    (turned,) = cameras(page)
    assert max(abs(turned["eye"][k] - before["eye"][k]) for k in "xyz") > 0.05  # it rotated
    assert turned["center"] == before["center"]  # about the same point
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.url).query))
    assert all(abs(float(query[f"eye_{k}"]) - turned["eye"][k]) <= 1e-4 for k in "xyz")
    page.get_by_label("sample #").fill("123")
    page.keyboard.press("Enter")  # a rerun whose spec differs: a new chart, at the page's camera
    page.wait_for_function(
        f"() => ({SCENES})().some(gd => (gd.layout.title.subtitle || {{}}).text === 'sample #123 outlined')",
        timeout=60_000,
    )
    frames_drawn(page)
    (after,) = cameras(page)
    assert same_camera(after, turned)
    page.get_by_text("Configuration file").click()  # and the config file holds it
    with page.expect_download() as download:
        page.get_by_role("button", name="Download config (JSON)").click()
    config = json.loads(Path(download.value.path()).read_text())
    assert config["sample"] == 123
    assert all(abs(config[f"eye_{k}"] - turned["eye"][k]) <= 1e-4 for k in "xyz")
    scene_box(page)
    page.screenshot(path=shots / "vis3d-camera.png")


def test_vis3d_shared_link_restores_heads_side_by_side_with_one_camera(deep_link, server, shots):
    eye = {"x": -1.6, "y": 0.9, "z": 0.7}
    link = "heads=spherized,projected&head=projected&view=side-by-side&sample=7"
    page = open_vis3d(deep_link, server, link + "".join(f"&eye_{k}={v}" for k, v in eye.items()))
    page.get_by_text("Sample #7 in each head").wait_for(timeout=600_000)  # both heads shown
    page.wait_for_function(f"() => ({SCENES})().length == 2", timeout=60_000)
    views = cameras(page)
    assert all(
        same_camera(v, {"eye": eye, "center": dict.fromkeys("xyz", 0), "up": {"x": 0, "y": 0, "z": 1}})
        for v in views
    )
    marks = page.evaluate(f"() => ({SCENES})().map(gd => gd._fullData.find(t => t.name === 'selected').text)")
    assert marks == [["sample 7"], ["sample 7"]]  # the same sample outlined in each head
    expect(page.get_by_role("radio", name="heads side by side")).to_be_checked()
    left, top, width, height = scene_box(page, 1)
    start = (left + 0.4 * width, top + 0.5 * height)
    # the other view follows in the browser, with no server round trip: wait until the dragged
    # camera has left the link's eye and both views agree; then until the server has the report
    # (the link's eye changes). A drag that lands while the scene is still settling is lost, and
    # in full runs a report has twice not reached the server: the drag is repeated, at most thrice
    moved_and_equal = f"""() => {{ const [a, b] = ({SCENES})().map(gd => gd._fullLayout.scene._scene.getCamera());
        return Math.abs(a.eye.x - ({eye["x"]})) > 1e-6 && ['eye', 'center', 'up'].every(p =>
            ['x', 'y', 'z'].every(k => Math.abs(a[p][k] - b[p][k]) <= 1e-9)); }}"""
    for attempt in range(3):
        drag(page, start, (start[0] - 90 + 10 * attempt, start[1] + 20))
        try:
            page.wait_for_function(moved_and_equal, timeout=10_000)
            first, second = cameras(page)
            page.evaluate(f"() => ({SCENES})().forEach(gd => {{ gd.__before_report = true; }})")
            page.wait_for_function(
                f"() => Math.abs(new URLSearchParams(location.search).get('eye_x') - ({first['eye']['x']})) <= 1e-4",
                timeout=20_000,
            )
            break
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise
    assert same_camera(first, second, tol=1e-9) and not same_camera(first, views[0])
    frames_drawn(page)
    kept = page.evaluate(f"() => ({SCENES})().map(gd => gd.__before_report === true)")
    assert kept == [True, True]  # the report's rerun remounted neither view
    scene_box(page, 0)
    page.screenshot(path=shots / "vis3d-side-by-side.png")
    page.locator('[data-testid="stRadio"] label').filter(has_text="one head").click()  # the link's head alone
    page.wait_for_function(
        f"() => ({SCENES})().length == 1 && ({SCENES})()[0].layout.title.text.includes('projected: ')",
        timeout=60_000,
    )
    (alone,) = cameras(page)
    assert same_camera(alone, first)
