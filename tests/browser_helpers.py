"""What the browser tests share: Chromium, the projector's size, and waits on what a page has drawn."""

import shutil
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PROJECTOR = {"width": 1280, "height": 720}  # every tab of these tests: a lecture hall's projector
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def wait_for_charts(page, n: int, timeout: float = 60_000) -> None:
    """Until n Plotly charts exist and each has drawn its data (`_fullData`)."""
    page.wait_for_function(
        """n => { const p = [...document.querySelectorAll('.js-plotly-plot')];
                  return p.length >= n && p.every(e => e._fullData && e._fullData.length > 0); }""",
        arg=n,
        timeout=timeout,
    )


def frames_drawn(page) -> None:
    """Until the browser has painted two more frames (WebGL scenes draw on the next frame)."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def projector_shot(page, path: Path, chart: int | None = None) -> None:
    """A README screenshot of what a 1280x720 projector shows: the page's top, or scrolled so
    that its chart number `chart` (in page order) starts at the top of the view."""
    if chart is not None:
        page.evaluate(
            "k => document.querySelectorAll('.js-plotly-plot')[k].scrollIntoView({block: 'start'})", chart
        )
    frames_drawn(page)
    page.screenshot(path=path)


def go_to(page, label: str) -> None:
    page.get_by_role("link", name=label).first.click()
