"""The Toy page's view (epoch and tab) in the URL and the config file, and its live first chart."""

import json

import numpy as np
import pytest
from app_helpers import open_page

from sph_viz.experiments.toy import TOY_FIELDS, TOY_VIEW_FIELDS
from sph_viz.fields import parse_values

FIELDS = TOY_FIELDS + TOY_VIEW_FIELDS


def figures(at) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("plotly_chart")]


def shown_titles(at) -> list[str]:
    return [f["layout"].get("title", {}).get("text", "") for f in figures(at)]


def test_a_shared_link_restores_the_epoch_and_the_tab(fresh_app):
    at = open_page(fresh_app, "pages/toy.py", query={"epochs": "4", "epoch": "2", "tab": "curves"})
    assert (at.session_state["toy_epoch"], at.session_state["toy_tab"]) == (2, "curves")
    assert at.session_state["toy_tabs"] == "Curves"  # the tab the browser opens
    (curves,) = figures(at)  # only the open tab runs: the curves, no representation
    assert {t["name"] for t in curves["data"]} == {"original", "spherized"}
    values, notes = parse_values(dict(at.query_params), FIELDS)
    assert notes == [] and (values["epoch"], values["tab"], values["epochs"]) == (2, "curves", 4)
    at.session_state["toy_tab"] = "step"  # what choosing the tab does (its on_change)
    at.run()
    reps = [t for t in shown_titles(at) if "representation" in t]
    assert reps == ["original: representation, epoch 2", "spherized: representation, epoch 2"]
    assert at.slider(key="toy_epoch_slider").value == 2
    assert "tab" not in dict(at.query_params) and dict(at.query_params)["epoch"] == "2"


def test_the_url_leaves_out_the_last_epoch_and_the_first_tab(fresh_app):
    at = open_page(fresh_app, "pages/toy.py", query={"epochs": "3"})
    assert at.session_state["toy_epoch"] == 3
    assert "epoch" not in dict(at.query_params) and "tab" not in dict(at.query_params)
    at.button(key="toy_reset").click().run()
    assert dict(at.query_params)["epoch"] == "0"
    at.slider(key="toy_epoch_slider").set_value(1).run()
    assert at.session_state["toy_epoch"] == 1 and dict(at.query_params)["epoch"] == "1"
    assert next(t for t in shown_titles(at) if "representation" in t) == "original: representation, epoch 1"


def test_the_epoch_survives_a_visit_to_another_tab(fresh_app):
    """The slider is not drawn while another tab is open; the epoch must not go with it."""
    at = open_page(fresh_app, "pages/toy.py", query={"epochs": "3", "epoch": "1"})
    at.session_state["toy_tab"] = "replay"
    at.run()
    assert any(f["frames"] for f in figures(at) if "frames" in f)  # the replay is drawn
    at.session_state["toy_tab"] = "step"
    at.run()
    assert at.session_state["toy_epoch"] == 1 and dict(at.query_params)["epoch"] == "1"


def test_an_uploaded_config_sets_the_epoch_and_the_tab(fresh_app):
    at = open_page(fresh_app, "pages/toy.py", query={"epochs": "3"})
    config = {"lr": 0.01, "epochs": 3, "batch_size": 16, "seed": 0, "noise": 0.05, "radius": 1.0}
    config |= {"scale": 1.0, "epoch": 1, "tab": "replay"}
    at.file_uploader(key="toy_config_upload").set_value(("c.json", json.dumps(config).encode(), "x")).run()
    assert not at.exception, [e.message for e in at.exception]
    assert (at.session_state["toy_epoch"], at.session_state["toy_tab"]) == (1, "replay")
    assert parse_values(dict(at.query_params), FIELDS) == (config, [])


@pytest.mark.parametrize(
    ("query", "note", "epoch", "tab"),
    [
        ({"epoch": "-3"}, "epoch: -3 is outside [0, 500]; using 0.", 0, "step"),
        ({"epoch": "9999"}, "epoch: 9999 is outside [0, 500]; using 500.", 2, "step"),
        (
            {"tab": "[x](https://e.invalid)"},
            "is not one of step, replay, curves, export; using 'step'.",
            2,
            "step",
        ),
    ],
)
def test_bad_view_values_in_a_link_are_adjusted_with_a_message(fresh_app, query, note, epoch, tab):
    at = open_page(fresh_app, "pages/toy.py", query={"epochs": "2"} | query)
    assert note in " ".join(w.value for w in at.warning)
    assert (at.session_state["toy_epoch"], at.session_state["toy_tab"]) == (epoch, tab)


@pytest.mark.parametrize("kind", ["original", "spherized"])
def test_the_epoch_0_drawn_before_training_is_the_runs_first_snapshot(kind):
    from sph_viz.app.toy_views import initial_snapshot
    from sph_viz.experiments.specs import make_run_specs

    values = {"epochs": 2, "seed": 5, "noise": 0.2, "radius": 2.0, "scale": 3.0}
    spec = make_run_specs("toy", values, [kind], preset_name="paper")[kind]
    before, first = initial_snapshot(spec), spec.run().train.snapshots[0]
    assert (before.epoch, before.step) == (first.epoch, first.step) == (0.0, 0)
    np.testing.assert_array_equal(before.features, first.features)
    np.testing.assert_array_equal(before.predictions, first.predictions)
    assert before.params.keys() == first.params.keys()
    for name in first.params:
        np.testing.assert_array_equal(before.params[name], first.params[name])


def test_the_replay_legend_sits_under_its_controls_in_fixed_margins():
    """Plotly grows a margin for a legend that does not fit it, shrinking the panels and moving the
    slider and buttons (placed in fractions of the panels' height) onto each other: so the
    margins are fixed and the legend's two-a-row entries fit under the buttons."""
    from sph_viz.figures.toy import BELOW_PX, BUTTONS_TOP_PX, LEGEND_TOP_PX, PLOT_PX, make_toy_animation
    from sph_viz.figures.toy import make_representation_figure as rep

    rng = np.random.default_rng(0)
    x, y = rng.random((20, 2)), np.repeat([0, 1], 10)
    w = rng.normal(size=(2, 2))
    panels = {
        "original": [rep(x, y, w, rng.normal(size=2)) for _ in range(3)],
        "spherized": [
            rep(x / np.linalg.norm(x, axis=1, keepdims=True), y, w, None, radius=1.0) for _ in range(3)
        ],
    }
    fig = make_toy_animation(panels, ["0", "1", "2"])
    assert fig.layout.margin.autoexpand is False and fig.layout.margin.b == BELOW_PX
    legend = fig.layout.legend
    assert legend.orientation == "h" and legend.yanchor == "top"
    assert -legend.y * PLOT_PX == LEGEND_TOP_PX >= BUTTONS_TOP_PX + 40  # under the buttons
    shown = [t for t in fig.data if t.showlegend is not False]
    rows = -(-len(shown) // 2)  # two entries a row (entrywidth 45 % of the width)
    assert legend.entrywidth * 2 < 1 and legend.entrywidthmode == "fraction"
    assert LEGEND_TOP_PX + rows * 34 <= BELOW_PX  # 34 px a row at 16 px text, measured in Chromium


def test_the_replay_from_traces_equals_the_replay_from_figures():
    """The page builds its replay from each snapshot's traces (milliseconds), not from a figure per
    snapshot (seconds): the same animation, to the last number."""
    from sph_viz.app.toy_views import replay_frames
    from sph_viz.experiments.specs import make_run_specs
    from sph_viz.figures.reports import toy_panel_box, toy_representation_figure
    from sph_viz.figures.toy import make_toy_animation

    specs = make_run_specs(
        "toy", {"epochs": 6, "radius": 1.5}, ["original", "spherized"], preset_name="paper"
    )
    results = {kind: spec.run() for kind, spec in specs.items()}
    panels, labels, boxes = replay_frames(results, frames=3)  # every second snapshot
    assert labels == ["0", "2", "4", "6"]
    fast = make_toy_animation(panels, labels, boxes=boxes)
    figures = {
        kind: [toy_representation_figure(res, s, box=toy_panel_box(res)) for s in res.train.snapshots[::2]]
        for kind, res in results.items()
    }
    assert json.loads(fast.to_json()) == json.loads(make_toy_animation(figures, labels).to_json())
    assert len(fast.frames) == 4
