"""Lecture-hall legibility at the data level: text sizes, markers inside the plot, honest legends."""

import re

import numpy as np
import plotly.graph_objects as go
import pytest

from models.toy import ToyConfig
from sph_viz import overlap_stats
from sph_viz.analysis.angle_map import compute_angle_map
from sph_viz.analysis.confusion import compute_confusion
from sph_viz.experiments.toy import run_toy
from sph_viz.figures.angle_map import make_angle_map_figure
from sph_viz.figures.confusion import make_confusion_figure
from sph_viz.figures.gradients import (
    make_alpha_figure,
    make_gradient_comparison_figure,
    make_gradient_flow_figure,
    make_gradient_histogram_figure,
)
from sph_viz.figures.layer import (
    compute_angle_curve,
    compute_reachable_patch,
    compute_walkthrough,
    make_angle_curve_figure,
    make_walkthrough_figure,
)
from sph_viz.figures.overlap import make_nn_cosine_histogram, make_overlap_bar_figure
from sph_viz.figures.prototypes import make_prototype_animation, make_prototype_figure, make_rotation_figure
from sph_viz.figures.reports import toy_figures, toy_panel_box, toy_representation_figure
from sph_viz.figures.sphere import make_feature_figure
from sph_viz.figures.spherenet import compute_curve_band, make_curve_figure, make_k_histogram
from sph_viz.figures.style import TEXT_PX
from sph_viz.figures.toy import (
    BELOW_PX,
    PLOT_PX,
    crossing_trace,
    make_curves_figure,
    make_toy_animation,
)
from sph_viz.nn.gradients import GradientRecord
from sph_viz.training.config import TrainConfig

STEPS = np.array([0, 10, 20])
BIAS = re.compile(r"\bb[₁₂]")  # a bias term b₁, b₂ in a legend entry


@pytest.fixture(scope="module")
def toy_runs():
    return {
        k: run_toy(ToyConfig(k), TrainConfig(epochs=6, batch_size=16, lr=0.01))
        for k in ("original", "spherized")
    }


@pytest.fixture(scope="module")
def replay(toy_runs):
    panels = {
        k: [toy_representation_figure(r, s, box=toy_panel_box(r)) for s in r.train.snapshots]
        for k, r in toy_runs.items()
    }
    return make_toy_animation(panels, [f"{s.epoch:g}" for s in toy_runs["original"].train.snapshots])


def every_figure(toy_runs, replay) -> dict[str, go.Figure]:
    rng = np.random.default_rng(0)
    unit = rng.normal(size=(200, 3))
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    labels = rng.integers(0, 10, 200)
    rec = GradientRecord(
        STEPS, np.full((3, 2), 1e-3), ("fc1", "act"), np.ones((3, 1)), np.ones((3, 1)), ("act",), 10
    )
    curve = {"steps": np.arange(1, 5), "seconds": np.arange(1.0, 5), "loss": np.array([4.0, 3, 2, 1])}
    stats = {"a": overlap_stats(unit, labels, labels, tau=1e-3)}
    figs = {f"toy {k}": f for k, f in toy_figures(toy_runs["original"], "original").items()}
    figs |= {
        "toy curves": make_curves_figure({k: r.train.history_dicts() for k, r in toy_runs.items()}),
        "toy replay": replay,
        "features 3-D": make_feature_figure(unit, labels, labels, radius=1.0, highlight=[3]),
        "features 2-D": make_feature_figure(unit[:, :2], labels, labels, radius=1.0),
        "angle curve": make_angle_curve_figure(*compute_angle_curve(1.0, 1e-6, 5), marker_z=0.5),
        "walkthrough": make_walkthrough_figure(
            compute_walkthrough((0.5, -0.5), 1.0, 1e-6, 1.0), compute_reachable_patch(2, 1e-6, 1.0)
        ),
        "overlap bars": make_overlap_bar_figure(stats),
        "overlap histogram": make_nn_cosine_histogram(stats),
        "prototypes": make_prototype_figure(unit, labels, labels, unit[:10]),
        "prototype animation": make_prototype_animation([unit[:10], unit[10:20]], [0, 5]),
        "rotated mnist": make_rotation_figure(
            unit, np.linspace(0, 180, 200), labels % 3, [1, 4, 7], unit[:3], unit[3]
        ),
        "spherenet curve": make_curve_figure({"plain": compute_curve_band([curve], "steps", "loss")}),
        "spherenet k": make_k_histogram({"run": np.array([0.4, 0.5, 0.7])}),
        "gradient flow": make_gradient_flow_figure(STEPS, rec.values, rec.layer_names),
        "gradient comparison": make_gradient_comparison_figure({"a": rec, "b": rec}),
        "gradient histogram": make_gradient_histogram_figure({"a": rec}),
        "confusion": make_confusion_figure(compute_confusion(labels, labels % 3), selected=(4, 1)),
        "alpha": make_alpha_figure(STEPS, rec.alpha, rec.alpha_grad, rec.sphere_names),
        "angle map": make_angle_map_figure(compute_angle_map(5 * unit), labels, labels, np.full(200, 5.0)),
    }
    return figs


def font_sizes(node, path="") -> list[tuple[str, float]]:
    """(path, size) of every font size set anywhere in a figure's JSON, the template left out."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}.{key}"
            if key == "template":
                continue
            if key == "size" and re.search(r"font$", path, re.IGNORECASE):
                found.append((here, value))
            found += font_sizes(value, here)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            found += font_sizes(item, f"{path}[{i}]")
    return found


def test_every_figure_sets_16px_text_on_its_layout(toy_runs, replay):
    for name, fig in every_figure(toy_runs, replay).items():
        spec = fig.to_plotly_json()
        layout = spec["layout"]
        small = [(p, s) for p, s in font_sizes(spec) if s < TEXT_PX]
        assert not small, (name, small)
        # Streamlit's theme puts 12-14 px into the template for these: the layout must say 16.
        assert layout["font"]["size"] >= 16, name
        assert layout["legend"]["font"]["size"] >= 16 and layout["hoverlabel"]["font"]["size"] >= 16, name
        axes = [k for k in layout if re.fullmatch(r"[xy]axis\d*", k)]
        flat = any(t["type"] not in ("scatter3d", "surface") for t in spec["data"])
        assert bool(axes) == flat, name  # 2-D axes only on 2-D plots
        for key in axes:
            assert layout[key]["tickfont"]["size"] >= 16, (name, key)
            assert layout[key]["title"]["font"]["size"] >= 16, (name, key)
        for note in layout.get("annotations", []):
            assert note["font"]["size"] >= 16, (name, note.get("text"))


def in_range(fig, trace) -> bool:
    axis = trace.xaxis or "x"
    x_range = fig.layout[axis.replace("x", "xaxis")].range
    y_range = fig.layout[(trace.yaxis or "y").replace("y", "yaxis")].range
    x, y = trace.x[0], trace.y[0]
    return x_range[0] < x < x_range[1] and y_range[0] < y < y_range[1]


def test_the_crossing_marker_stays_inside_the_plot(toy_runs):
    res = toy_runs["original"]
    box = toy_panel_box(res)
    for snap in res.train.snapshots:
        w, b = snap.params["weight"].astype(float), snap.params["bias"].astype(float)
        x, y = np.linalg.solve(w, -b)
        fig = toy_representation_figure(res, snap, box=box)
        (cross,) = [t for t in fig.data if t.name == "hyperplanes cross"]
        assert in_range(fig, cross), snap.epoch
        if box[0] <= x <= box[1] and box[2] <= y <= box[3]:
            assert (cross.x[0], cross.y[0]) == pytest.approx((x, y), abs=1e-5)
        else:
            assert cross.text == (f"off-plot at ({x:.3g}, {y:.3g})",)
    assert cross.text[0].startswith("off-plot")  # this run's crossing leaves the box (the case)


def test_an_off_plot_crossing_points_from_the_centre_towards_it():
    box = (-1.0, 1.0, 0.0, 2.0)
    trace = crossing_trace(np.array([7.0, 4.0]), box)  # far right, a little above the centre (0, 1)
    x, y = trace.x[0], trace.y[0]
    assert -1 < x < 1 and 0 < y < 2
    assert (y - 1.0) * 7.0 == pytest.approx(x * 3.0)  # on the ray from (0, 1) through (7, 4)
    assert x > 0.9  # next to the right edge
    assert trace.textposition == "bottom left"  # the words run into the plot
    inside = crossing_trace(np.array([0.5, 0.5]), box)
    assert (inside.x[0], inside.y[0], inside.text) == (0.5, 0.5, ("",))


def test_a_bias_free_net_has_no_b_in_its_legend(toy_runs, replay):
    fig = toy_figures(toy_runs["spherized"], "spherized")["representation_last"]
    names = [t.name for t in fig.data if t.showlegend is not False]
    assert "w₁·h = 0" in names and not [n for n in names if BIAS.search(n)]
    shown = [(t.name, t.xaxis) for t in replay.data if t.showlegend is not False]
    spherized = [n for n, axis in shown if axis == "x2"]
    original = [n for n, axis in shown if axis == "x"]
    assert spherized and all(n.startswith("spherized: ") and not BIAS.search(n) for n in spherized)
    assert "original: w₁·h + b₁ = 0" in original  # the original net keeps its biases


def test_play_buttons_sit_under_the_slider_and_its_epoch_label(replay):
    (buttons,), (slider,) = replay.layout.updatemenus, replay.layout.sliders
    assert replay.layout.height == replay.layout.margin.t + PLOT_PX + BELOW_PX
    slider_top, buttons_top = -slider.y * PLOT_PX, -buttons.y * PLOT_PX  # px below the panels
    assert slider.yanchor == buttons.yanchor == "top"
    assert slider_top >= 50  # under the tick labels and the axis title h₁
    assert buttons_top >= slider_top + 80  # the epoch label, the rail and its step labels above them
    assert buttons_top + 40 <= BELOW_PX  # the buttons inside the figure
    assert slider.currentvalue.prefix == "epoch "
