"""End to end in a real browser: shared links that train small runs on the Overlap, SphereNet and
Prototype pages, and restore the Layer and Paper pages."""

import re
from pathlib import Path

import pytest
from browser_helpers import CHROMIUM, frames_drawn, wait_for_charts
from playwright.sync_api import expect

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Chromium not installed (apt-get install chromium)"
)


def test_overlap_page_trains_and_tabulates_the_table3_layer(deep_link, server, shots):
    """A shared link with small Table-3 runs: train the missing ones, then read the table's cells."""
    query = "layer=table3&operators=original,spherization&seeds=0,1&epochs=1&max_samples=600&dataset=mnist"
    page = deep_link(f"{server}/overlap?{query}")
    page.get_by_role("button", name="Train 4 missing run(s)").click(timeout=60_000)
    table = page.locator('[data-testid="stTable"] table').first
    table.wait_for(timeout=240_000)
    header = table.locator("thead th").all_inner_texts()
    rows = [r.locator("td").all_inner_texts() for r in table.locator("tbody tr").all()]
    assert header[:4] == ["operator", "role", "seeds", "test acc %"]
    assert [r[0] for r in rows] == ["original", "spherization"]
    assert all(r[2] == "0, 1" for r in rows)  # both seeds trained and counted
    # the paper's column names as text, not Markdown headings ("# ovlp" once showed as a big "ovlp")
    assert header[4:10] == [
        "# ovlp",
        "# err",
        "# unavoidable",
        "paper: test acc %",
        "paper: # ovlp",
        "paper: # err",
    ]
    assert table.locator("thead h1, thead h2, thead h3").count() == 0
    paper = header.index("paper: # err")
    assert rows[1][paper] == "0"  # the paper's spherization row beside the measured one
    for r in rows:  # "mean ± std" cells (AppTest checks them against the core's table3_rows)
        mean, std = (float(x) for x in r[header.index("test acc %")].split(" ± "))
        assert 0 <= mean <= 100 and std >= 0
    frames_drawn(page)
    page.screenshot(path=shots / "overlap-table3.png")


def test_a_shared_layer_link_restores_every_section(deep_link, server):
    """n, δ, α, r and both z from a link: both sections compute with them (closed forms here)."""
    import math

    page = deep_link(f"{server}/layer?n=5&delta=0.001&alpha=2&radius=3&z1=1.5&z2=-2")
    page.get_by_text("1 · Angularization").wait_for(timeout=30_000)
    wait_for_charts(page, 2)
    phi_low = math.asin(0.001 ** (1 / 5))
    phi1 = (math.pi / 2 - phi_low) / (1 + math.exp(-2 * 1.5)) + phi_low
    body = page.inner_text("body")
    assert f"With n = 5 and δ = 1e-03, φ_L = {phi_low:.4g} rad" in body
    assert "n = 5: z = (1.50, -2.00, 0.00, 0.00, 0.00)" in body
    assert f"φ = ({phi1:.4f}, " in body and "‖s‖ = 3.000000 = r" in body
    expect(page.locator('[data-testid="stSlider"]').filter(has_text="n (pre-activations)")).to_contain_text(
        "5"
    )


def test_paper_page_lists_every_claim_with_its_verdict(deep_link, server, shots):
    from sph_viz.reports.claims import AGREES, DIFFERS, NOT_RUN
    from sph_viz.reports.paper import CLAIMS

    page = deep_link(f"{server}/paper")
    page.get_by_role("heading", name="The paper's claims, checked here").wait_for(timeout=60_000)
    summaries = page.locator('[data-testid="stExpander"] summary')
    expect(summaries).to_have_count(len(CLAIMS), timeout=30_000)
    for claim, text in zip(CLAIMS, summaries.all_inner_texts(), strict=True):
        assert claim.result in text and text.rstrip().endswith((AGREES, DIFFERS, NOT_RUN)), text
    page.get_by_role("heading", name="Gradient flow (Fig. 4)").wait_for()
    frames_drawn(page)
    page.screenshot(path=shots / "paper.png")


def plotly_data(page, title: str) -> list[dict]:
    """The traces of the chart whose y axis has this title, as the browser holds them."""
    return page.evaluate(
        """t => { const gd = [...document.querySelectorAll('.js-plotly-plot')]
                    .find(e => e._fullLayout && e._fullLayout.yaxis && e._fullLayout.yaxis.title.text === t);
                  return gd ? gd._fullData.map(d => ({name: d.name, showlegend: d.showlegend, n: d.y.length}))
                            : null; }""",
        title,
    )


def test_spherenet_page_trains_and_draws_the_curves(deep_link, server, shots):
    page = deep_link(f"{server}/spherenet?max_samples=256&epochs=1&variants=plain,sphere-learnable")
    page.get_by_role("heading", name=re.compile("SphereNet: convolutions")).wait_for(timeout=60_000)
    train = page.get_by_role("button", name=re.compile("Train"))
    train.first.wait_for(timeout=60_000)
    frames_drawn(page)
    train.first.click()
    page.get_by_text("test accuracy").first.wait_for(timeout=300_000)  # the results table
    page.wait_for_function(
        """() => [...document.querySelectorAll('.js-plotly-plot')].some(e => e._fullLayout
                 && e._fullLayout.yaxis && e._fullLayout.yaxis.title.text === 'training loss')""",
        timeout=60_000,
    )
    means = [t for t in plotly_data(page, "training loss") if t["showlegend"] is not False]
    assert len(means) == 2 and all(t["n"] > 0 for t in means)  # one mean curve per variant
    frames_drawn(page)
    page.screenshot(path=shots / "spherenet.png")


def test_prototype_page_plays_the_eq5_animation(deep_link, server, shots):
    page = deep_link(f"{server}/prototypes?max_samples=256&epochs=1")
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="smallest angle between two prototypes")
    value = metric.locator('[data-testid="stMetricValue"]').inner_text(timeout=60_000)
    assert abs(float(value.rstrip("°")) - 66.15) < 1.0  # Tammes K = 10 on S²
    wait_for_charts(page, 1)
    played = page.evaluate(
        """() => { const gd = [...document.querySelectorAll('.js-plotly-plot')]
                     .find(e => e._transitionData && e._transitionData._frames.length > 1);
                   window.__frames = 0; gd.on('plotly_animatingframe', () => window.__frames++);
                   return gd._transitionData._frames.length; }"""
    )
    assert played > 1
    page.locator(".updatemenu-button").filter(has_text="Play").first.click()
    page.wait_for_function("() => window.__frames >= 3", timeout=30_000)  # frames advance in the browser
    frames_drawn(page)
    page.screenshot(path=shots / "prototypes.png")
