"""The angle map's data: angles against closed forms, coincident counts against a direct count."""

import math

import numpy as np
import pytest
import torch

from sph_viz.analysis.angle_map import compute_angle_map
from sph_viz.analysis.geometry import compute_azimuth_elevation, count_coincident
from sph_viz.figures.angle_map import make_angle_map_figure
from sph_viz.nn.layers import Spherization, lower_angle, spherize_reference


def test_spherized_map_recovers_the_spherization_angles():
    phi_low = lower_angle(2)
    phi = np.array([[phi_low, phi_low], [math.pi / 2, math.pi / 2], [0.3, 1.2], [1.0, phi_low], [0.7, 0.7]])
    s = spherize_reference(torch.tensor(phi), radius=5.0).numpy()  # r(cos φ₁, sin φ₁ cos φ₂, sin φ₁ sin φ₂)
    amap = compute_angle_map(s, phi_low=phi_low)
    assert amap.kind == "spherized" and amap.bounds == ((phi_low, math.pi / 2),) * 2
    np.testing.assert_allclose(amap.coords, phi, rtol=0, atol=1e-12)


def test_spherized_map_of_the_layer_itself_lies_in_its_angle_range():
    layer = Spherization(2, radius=5.0).double()
    z = torch.linspace(-30, 30, 121, dtype=torch.float64)
    z = torch.stack(torch.meshgrid(z, z, indexing="ij"), -1).reshape(-1, 2)
    with torch.no_grad():
        s, phi = layer(z).numpy(), layer.angles(z).numpy()
    coords = compute_angle_map(s, phi_low=layer.phi_low).coords
    np.testing.assert_allclose(coords, phi, rtol=0, atol=1e-9)
    assert coords.min() >= layer.phi_low - 1e-9 and coords.max() <= math.pi / 2 + 1e-9


def test_azimuth_and_elevation_by_hand():
    points = np.array(
        [[1.0, 0, 0], [0, 2, 0], [-1, 0, 0], [0, 0, 3], [0, 0, -1], [1, 1, math.sqrt(2)], [0, 0, 0]]
    )
    by_hand = np.array(
        [
            [0, 0],
            [math.pi / 2, 0],
            [math.pi, 0],
            [0, math.pi / 2],
            [0, -math.pi / 2],
            [math.pi / 4, math.pi / 4],
            [0, 0],
        ]
    )
    np.testing.assert_allclose(compute_azimuth_elevation(points), by_hand, atol=1e-15)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(500, 3)) * rng.uniform(0.1, 10, size=(500, 1))
    amap = compute_angle_map(x)
    assert amap.kind == "azimuth" and amap.axis_titles == ("azimuth", "elevation")
    for (az, el), p in zip(amap.coords, x, strict=True):
        assert az == pytest.approx(math.atan2(p[1], p[0]), abs=1e-14)
        assert el == pytest.approx(math.asin(p[2] / math.sqrt(p @ p)), abs=1e-14)


def test_coincident_counts_against_a_direct_count():
    rng = np.random.default_rng(2)
    base = rng.normal(size=(6, 3))
    points = base[rng.integers(0, 6, 300)]  # many exact repeats
    points[::7] = rng.normal(size=points[::7].shape)  # and some singletons
    points[5] = [0.0, -0.0, 1.0]
    points[6] = [-0.0, 0.0, 1.0]  # the same point as row 5
    direct = np.array([np.sum(np.all(points == p, axis=1)) for p in points])
    np.testing.assert_array_equal(count_coincident(points), direct)
    assert direct[5] == 2 and direct.max() > 20


def test_collapsed_points_say_how_many_on_hover():
    corner = [5.0, 0.0, 0.0]
    features = np.array([corner] * 7 + [[0, 3, 4], [0, 4, 3]], dtype=np.float32)
    amap = compute_angle_map(features, phi_low=lower_angle(2))
    np.testing.assert_array_equal(amap.counts, [7] * 7 + [1, 1])
    fig = make_angle_map_figure(amap, np.zeros(9, int), np.zeros(9, int), np.linalg.norm(features, axis=1))
    (trace,) = fig.data
    assert list(trace.text) == ["<br><b>7 samples at exactly this point</b>"] * 7 + ["", ""]
    assert "%{text}" in trace.hovertemplate


def test_map_points_carry_their_true_sample_index_when_subsampled():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(1000, 3))
    labels = rng.integers(0, 10, 1000)
    ids = np.arange(1000) + 5000  # e.g. probe indices into the test set
    amap = compute_angle_map(x)
    fig = make_angle_map_figure(amap, labels, labels, np.linalg.norm(x, axis=1), indices=ids, cap=300)
    assert "300 of 1,000 points" in fig.layout.title.text
    shown = 0
    for t in fig.data:
        sample = np.asarray(t.customdata)[:, 0].astype(int)
        pos = sample - 5000
        np.testing.assert_allclose(t.x, np.degrees(amap.coords[pos, 0]))
        np.testing.assert_allclose(t.y, np.degrees(amap.coords[pos, 1]))
        assert (labels[pos] == int(t.name)).all()
        shown += len(sample)
    assert shown == 300
    assert fig.layout.xaxis.range[0] < -180 and fig.layout.yaxis.range[1] > 90  # bounds inside the plot
    assert fig.layout.xaxis.title.font.size >= 16 and fig.layout.font.size >= 16


def test_bad_input_is_refused_with_what_was_passed():
    with pytest.raises(ValueError, match=r"shape \(N, 2\) or \(N, 3\). Got \(4, 5\) instead"):
        compute_angle_map(np.zeros((4, 5)))
    with pytest.raises(ValueError, match=r"3-D features\. Got 2 columns instead"):
        compute_angle_map(np.zeros((4, 2)), phi_low=0.1)
    with pytest.raises(ValueError, match=r"one entry per point \(2\)\. Got 3, 2 and 2 instead"):
        make_angle_map_figure(compute_angle_map(np.ones((2, 3))), [0, 1, 2], [0, 1], [1, 1])
