"""Figures at the data level: what is drawn, where, and how many points."""

import numpy as np
import pytest

from models.toy import ToyConfig
from sph_viz import overlap_stats
from sph_viz.analysis.geometry import (
    compute_crossing,
    compute_line_segment,
    compute_sphere_angles,
    stratified_subsample,
)
from sph_viz.experiments.toy import run_toy
from sph_viz.figures.overlap import make_nn_cosine_histogram, make_overlap_bar_figure
from sph_viz.figures.reports import toy_figures
from sph_viz.figures.sphere import make_feature_figure


def traces_named(fig, prefix):
    return [t for t in fig.data if (t.name or "").startswith(prefix)]


@pytest.fixture(scope="module")
def toy_runs():
    return {k: run_toy(ToyConfig(k)) for k in ("original", "spherized")}


def test_spherized_hyperplanes_pass_through_the_origin(toy_runs):
    fig = toy_figures(toy_runs["spherized"], "spherized")["representation_last"]
    lines = [t for t in fig.data if t.mode == "lines" and not t.name.startswith("circle")]
    assert len(lines) == 3  # w1, w2 and D12
    for t in lines:
        (x0, x1), (y0, y1) = t.x, t.y
        assert abs(x0 * y1 - x1 * y0) < 1e-9 * max(1, abs(x0 * y1))  # collinear with (0, 0)
    (cross,) = traces_named(fig, "hyperplanes cross")
    assert np.allclose([cross.x[0], cross.y[0]], 0, atol=1e-9)
    circle = traces_named(fig, "circle")[0]
    np.testing.assert_allclose(np.hypot(circle.x, circle.y), 1.0)


def test_original_hyperplanes_cross_where_the_linear_system_says(toy_runs):
    res = toy_runs["original"]
    snap = res.train.snapshots[-1]
    w, b = snap.params["weight"].astype(float), snap.params["bias"].astype(float)
    crossing = np.linalg.solve(w, -b)
    assert np.linalg.norm(crossing) > 1e-3  # not through the origin
    fig = toy_figures(res, "original")["representation_last"]
    for trace, (wi, bi) in zip(traces_named(fig, "w"), zip(w, b, strict=True), strict=True):
        np.testing.assert_allclose(
            wi[0] * np.asarray(trace.x) + wi[1] * np.asarray(trace.y) + bi, 0, atol=1e-6
        )
    (d12,) = traces_named(fig, "D₁₂")
    dw, db = w[0] - w[1], b[0] - b[1]
    np.testing.assert_allclose(dw[0] * np.asarray(d12.x) + dw[1] * np.asarray(d12.y) + db, 0, atol=1e-6)


def test_representation_points_are_the_snapshot(toy_runs):
    res = toy_runs["spherized"]
    fig = toy_figures(res, "spherized")["representation_first"]
    pts = traces_named(fig, "class")
    assert sum(len(t.x) for t in pts) == 200
    first = res.train.snapshots[0].features
    np.testing.assert_allclose(np.asarray(pts[0].x), first[res.labels == 0, 0], rtol=1e-6)


def test_input_plane_heatmap_is_a_probability(toy_runs):
    fig = toy_figures(toy_runs["original"], "original")["input_plane"]
    z = np.asarray(fig.data[0].z)
    assert fig.data[0].type == "heatmap" and z.min() >= 0 and z.max() <= 1
    assert z[0, 0] < 0.5 < z[-1, -1]  # class 0 near (0,0), class 1 near (1,1)


def test_feature_figure_counts_norms_and_hover():
    rng = np.random.default_rng(0)
    feats = rng.normal(size=(500, 3))
    feats = 5 * feats / np.linalg.norm(feats, axis=1, keepdims=True)
    labels = rng.integers(0, 10, 500)
    fig = make_feature_figure(feats, labels, labels, radius=5.0, indices=np.arange(1000, 1500))
    points = [t for t in fig.data if t.type == "scatter3d" and t.mode == "markers"]
    assert sum(len(t.x) for t in points) == 500 and len(points) == 10
    for t in points:
        custom = np.asarray(t.customdata)
        np.testing.assert_allclose(custom[:, 3], 5.0)  # norm shown on hover
        # phi_1 is measured from the x axis: ||(y, z)|| = r sin(phi_1)
        yz = np.hypot(np.asarray(t.y), np.asarray(t.z))
        np.testing.assert_allclose(yz, 5 * np.sin(np.radians(custom[:, 4])), atol=1e-9)
        assert (custom[:, 0] >= 1000).all()
    assert fig.data[0].name == "sphere r=5"


def test_feature_figure_caps_with_a_stratified_sample():
    labels = np.repeat(np.arange(10), [500, 1500, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000])
    feats = np.random.default_rng(1).normal(size=(len(labels), 2))
    fig = make_feature_figure(feats, labels, labels, cap=1000)
    counts = {t.name: len(t.x) for t in fig.data}
    assert sum(counts.values()) == 1000 and counts["0"] == 50 and counts["1"] == 150
    assert fig.layout.title.text == "1,000 of 10,000 points (stratified by class)"


def test_overlap_figures_show_the_stats():
    feats = np.array([[1.0, 0], [2.0, 0], [0, 1.0], [0, 3.0], [1, 1.0]])
    stats = {
        "a": overlap_stats(feats, [0, 1, 1, 1, 0], [0, 0, 1, 1, 0]),
        "b": overlap_stats(feats + [[0, 0.1]] * 5, [0] * 5, [0] * 5),
    }
    bars = make_overlap_bar_figure(stats)
    assert list(bars.data[0].y) == [4, stats["b"].n_overlap]
    assert list(bars.data[1].y) == [1, 0]
    hist = make_nn_cosine_histogram(stats)
    assert len(hist.data) == 2 and len(hist.data[0].x) == 5


def test_line_segment_brute_force():
    rng = np.random.default_rng(3)
    box = (-1.0, 2.0, -0.5, 1.5)
    for _ in range(200):
        w, b = rng.normal(size=2), rng.normal()
        seg = compute_line_segment(w, b, box)
        xs = np.linspace(box[0], box[1], 2001)
        ys = -(b + w[0] * xs) / w[1]
        hits = (ys >= box[2]) & (ys <= box[3])
        if seg is None:
            assert hits.sum() <= 1
            continue
        np.testing.assert_allclose(seg @ w + b, 0, atol=1e-9)
        if hits.sum() > 2:  # the segment spans the sampled part of the line
            assert seg[:, 0].min() <= xs[hits].min() + 1e-9 and seg[:, 0].max() >= xs[hits].max() - 1e-9
    assert compute_line_segment(np.zeros(2), 1.0, box) is None


def test_crossing_and_angles():
    assert compute_crossing(np.array([[1.0, 0], [0, 1.0]]), None).tolist() == [0, 0]
    assert compute_crossing(np.array([[1.0, 1], [2, 2.0]]), np.array([0, 1.0])) is None
    angles = compute_sphere_angles(np.array([[0.0, 0.0, 2.0], [1.0, 0.0, 0.0]]))
    np.testing.assert_allclose(np.degrees(angles), [[90, 90], [0, 0]])


def test_stratified_subsample_keeps_rare_classes():
    labels = np.array([0] * 990 + [1] * 9 + [2])
    idx = stratified_subsample(labels, 100)
    assert len(idx) == 100 and np.all(np.diff(idx) > 0)
    assert np.bincount(labels[idx]).tolist() == [98, 1, 1]  # the rare classes kept, once each
    assert len(stratified_subsample(labels[:50], 100)) == 50


@pytest.mark.parametrize("cap", [7, 10, 256, 999])
def test_stratified_subsample_is_proportional_and_seeded(cap):
    """Each class within one row of its share cap·n_k/N (brute force over the classes), no row
    twice, the same rows for a seed and other rows for another."""
    labels = np.random.default_rng(3).integers(0, 10, 1000) ** 2  # ten uneven classes, sparse ids
    idx = stratified_subsample(labels, cap, seed=1)
    assert len(idx) == min(cap, len(labels)) and len(np.unique(idx)) == len(idx)
    for k in np.unique(labels):
        share = cap * np.sum(labels == k) / len(labels)
        got = np.sum(labels[idx] == k)
        assert abs(got - share) < 1 or (cap >= 10 and got == 1 and share < 1)
    assert np.array_equal(idx, stratified_subsample(labels, cap, seed=1))
    assert not np.array_equal(idx, stratified_subsample(labels, cap, seed=2))


def unit_points(n: int, seed: int) -> np.ndarray:
    p = np.random.default_rng(seed).normal(size=(n, 3))
    return p / np.linalg.norm(p, axis=1, keepdims=True)


def three_d_figures(seed: int) -> dict:
    """Every 3-D figure builder, on data that changes with seed."""
    from sph_viz.figures.layer import compute_reachable_patch, compute_walkthrough, make_walkthrough_figure
    from sph_viz.figures.prototypes import (
        make_prototype_animation,
        make_prototype_figure,
        make_rotation_figure,
    )

    f, labels = unit_points(300, seed), np.random.default_rng(seed).integers(0, 10, 300)
    protos = unit_points(10, seed + 1)
    z = (0.3 * seed, -0.5, 0.1 * seed)
    return {
        "features": make_feature_figure(f, labels, labels, radius=1.0, highlight=[seed]),
        "prototypes": make_prototype_figure(f, labels, labels, protos),
        "animation": make_prototype_animation([protos, unit_points(10, seed + 2)], [0, 5]),
        "rotation": make_rotation_figure(
            f, np.linspace(0, 180, 300), labels % 3, [1, 4, 7], protos[:3], protos[3]
        ),
        "walkthrough": make_walkthrough_figure(
            compute_walkthrough(z, 1.0, 1e-6, 2.0), compute_reachable_patch(3, 1e-6, 2.0)
        ),
    }


def test_every_3d_figure_rotates_on_drag_and_keeps_its_camera():
    first, second = three_d_figures(0), three_d_figures(1)
    revisions = set()
    for name, fig in first.items():
        assert any(t.type in ("scatter3d", "surface") for t in fig.data), name
        # The scene's own dragmode: Streamlit's selection mode sets the layout's to "pan".
        assert fig.layout.scene.dragmode in ("orbit", "turntable"), name
        assert fig.layout.scene.camera.eye.x is None, name  # no camera that would override the user's
        assert isinstance(fig.layout.uirevision, str) and fig.layout.uirevision, name
        assert second[name].layout.uirevision == fig.layout.uirevision, name  # new data, same view
        assert second[name].to_json() != fig.to_json(), name  # (the data did change)
        revisions.add(fig.layout.uirevision)
    assert len(revisions) == len(first)  # one constant per view


def test_a_selectable_feature_figure_still_rotates():
    """The CNN-Vis3D main view takes point selections; its scene must still orbit, not pan."""
    fig = make_feature_figure(unit_points(50, 3), np.zeros(50, int), np.zeros(50, int), highlight=[4])
    layout = fig.to_plotly_json()["layout"]
    assert layout["scene"]["dragmode"] == "turntable"
    assert "dragmode" not in layout  # the 2-D dragmode is Streamlit's to set for selections


def test_live_view_keeps_fixed_axes_around_the_sphere():
    from sph_viz.figures.sphere import fix_scene_ranges, make_feature_figure

    rng = np.random.default_rng(0)
    pts = rng.normal(size=(60, 3))
    pts = 5 * pts / np.linalg.norm(pts, axis=1, keepdims=True)
    labels = np.arange(60) % 10
    fig = fix_scene_ranges(make_feature_figure(pts, labels, labels, radius=5.0), 5.0)
    for axis in ("xaxis", "yaxis", "zaxis"):
        assert list(fig.layout.scene[axis].range) == [-5.75, 5.75]
    assert fig.layout.scene.aspectmode == "cube"
    assert any(t.type in ("mesh3d", "surface") or t.name == "sphere r=5" for t in fig.data)
    flat = fix_scene_ranges(make_feature_figure(pts[:, :2], labels, labels, radius=5.0), 5.0)
    assert list(flat.layout.xaxis.range) == list(flat.layout.yaxis.range) == [-5.75, 5.75]
