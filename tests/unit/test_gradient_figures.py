"""Gradient-flow figures at the data level: one trace per layer, the values as given, log axes."""

import numpy as np
import pytest

from sph_viz.experiments.gradient_flow import gradient_ratios
from sph_viz.figures.gradients import (
    make_alpha_figure,
    make_gradient_comparison_figure,
    make_gradient_flow_figure,
    make_gradient_histogram_figure,
)
from sph_viz.nn.gradients import GradientRecord

STEPS = np.array([0, 10, 20])


def _record(values, names, alpha=None) -> GradientRecord:
    values = np.asarray(values, dtype=float)
    s = 0 if alpha is None else 1
    a = np.zeros((len(STEPS), 0)) if alpha is None else np.asarray(alpha, dtype=float).reshape(-1, 1)
    return GradientRecord(STEPS, values, tuple(names), a, a * 0.1, ("act",) * s, 10)


ORIGINAL = _record([[1e-3, 2e-2], [2e-3, 3e-2], [4e-3, np.nan]], ["fc1", "classifier"])
SPHERIZED = _record([[1e-3, 5e-3, 1e-2]] * 3, ["fc1", "act", "classifier"], alpha=[5.0, 5.1, 5.3])


def test_one_line_per_layer_on_a_log_axis():
    fig = make_gradient_flow_figure(ORIGINAL.steps, ORIGINAL.values, ORIGINAL.layer_names, title="t")
    assert [t.name for t in fig.data] == ["fc1", "classifier"]
    for j, trace in enumerate(fig.data):
        np.testing.assert_array_equal(trace.x, STEPS)
        np.testing.assert_array_equal(trace.y, ORIGINAL.values[:, j])
    assert fig.layout.yaxis.type == "log" and fig.layout.title.text == "t"


def test_comparison_panels_share_colours_and_legend():
    fig = make_gradient_comparison_figure({"original": ORIGINAL, "spherized": SPHERIZED})
    assert [a.text for a in fig.layout.annotations] == ["original", "spherized"]
    assert [(t.name, t.xaxis) for t in fig.data] == [
        ("fc1", "x"),
        ("classifier", "x"),
        ("fc1", "x2"),
        ("act", "x2"),
        ("classifier", "x2"),
    ]
    assert [t.showlegend for t in fig.data] == [True, True, False, True, False]  # each layer once
    colors = {}
    for t in fig.data:
        assert colors.setdefault(t.name, t.line.color) == t.line.color  # a layer keeps its colour
    assert len(set(colors.values())) == 3
    np.testing.assert_array_equal(fig.data[3].y, SPHERIZED.values[:, 1])
    assert fig.layout.yaxis.type == fig.layout.yaxis2.type == "log"


def test_histogram_of_log_values_without_nan():
    fig = make_gradient_histogram_figure({"original": ORIGINAL, "spherized": SPHERIZED}, bins=10)
    assert [t.name for t in fig.data] == ["original", "spherized"]
    finite = ORIGINAL.values[np.isfinite(ORIGINAL.values)]
    np.testing.assert_allclose(fig.data[0].x, np.log10(finite))
    np.testing.assert_allclose(fig.data[1].x, np.log10(SPHERIZED.values.ravel()))
    assert fig.data[0].xbins.start == pytest.approx(-3.0)
    assert fig.data[0].xbins.size == pytest.approx((np.log10(3e-2) + 3) / 10)
    assert fig.layout.barmode == "overlay"


def test_alpha_and_its_gradient():
    fig = make_alpha_figure(SPHERIZED.steps, SPHERIZED.alpha, SPHERIZED.alpha_grad, SPHERIZED.sphere_names)
    assert len(fig.data) == 2
    np.testing.assert_array_equal(fig.data[0].y, [5.0, 5.1, 5.3])
    np.testing.assert_allclose(fig.data[1].y, [0.5, 0.51, 0.53])
    assert fig.data[1].yaxis == "y2"


def test_ratios_of_shared_layers():
    ratios = gradient_ratios([ORIGINAL], [SPHERIZED])
    assert list(ratios) == ["fc1", "classifier"]  # shared layers, in the original's order
    assert ratios["fc1"] == pytest.approx(1e-3 / 2e-3)  # medians: 2e-3 (original), 1e-3 (spherized)
    assert ratios["classifier"] == pytest.approx(1e-2 / 2.5e-2)  # NaN skipped: median of 2e-2, 3e-2


def test_shape_errors():
    with pytest.raises(ValueError, match=r"values must be \(T, L\) = \(3, 3\). Got \(3, 2\) instead."):
        make_gradient_flow_figure(STEPS, ORIGINAL.values, ["a", "b", "c"])
    with pytest.raises(ValueError, match=r"records must hold at least one gradient record"):
        make_gradient_comparison_figure({})
