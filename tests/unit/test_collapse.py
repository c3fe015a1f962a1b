"""NC1 (Papyan, Han & Donoho 2020) against its definition written out sample by sample."""

import numpy as np
import pytest

from sph_viz.analysis.collapse import nc1


def nc1_by_hand(h, y):
    classes = sorted(set(y.tolist()))
    c = len(classes)
    means = {k: h[y == k].mean(axis=0) for k in classes}
    mu_g = sum(means.values()) / c
    d = h.shape[1]
    sigma_w = np.zeros((d, d))
    for i in range(len(h)):
        v = (h[i] - means[y[i]])[:, None]
        sigma_w += v @ v.T
    sigma_w /= len(h)
    sigma_b = np.zeros((d, d))
    for k in classes:
        v = (means[k] - mu_g)[:, None]
        sigma_b += v @ v.T
    sigma_b /= c
    return np.trace(sigma_w @ np.linalg.pinv(sigma_b)) / c


def test_equals_the_definition_and_ignores_scale():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 120)
    h = rng.standard_normal((4, 6))[y] + 0.5 * rng.standard_normal((120, 6))
    assert nc1(h, y) == pytest.approx(nc1_by_hand(h, y), rel=1e-10)
    assert nc1(7.0 * h.astype(np.float32), y) == pytest.approx(nc1(h, y), rel=1e-5)
    assert nc1(h, y + 10) == pytest.approx(nc1(h, y))  # any label values


def test_zero_when_collapsed_and_larger_when_spread():
    rng = np.random.default_rng(1)
    y = np.repeat(np.arange(3), 10)
    centres = rng.standard_normal((3, 5))
    assert nc1(centres[y], y) == pytest.approx(0.0, abs=1e-12)
    tight = centres[y] + 0.01 * rng.standard_normal((30, 5))
    loose = centres[y] + 1.0 * rng.standard_normal((30, 5))
    assert 0 < nc1(tight, y) < nc1(loose, y)


def test_one_class_and_bad_shapes():
    assert np.isnan(nc1(np.ones((4, 2)), np.zeros(4, dtype=int)))
    with pytest.raises(ValueError, match=r"features must be \(N, d\) and labels \(N,\)"):
        nc1(np.ones((4, 2)), np.zeros(3, dtype=int))
