"""Overlap statistics against an independent brute-force count, pair by pair."""

import math

import numpy as np
import pytest
import torch

from sph_viz import overlap_stats
from sph_viz.overlap import compute_nearest_cosines


def brute_force(features, labels, predictions, tau):
    """Pure-Python pairwise cosines, with the documented rule for zero vectors."""
    x = [list(map(float, row)) for row in np.asarray(features)]
    n = len(x)
    norms = [math.sqrt(sum(v * v for v in row)) for row in x]

    def cos(i, j):
        if norms[i] == 0 or norms[j] == 0:
            return 1.0 if norms[i] == norms[j] == 0 else 0.0
        return sum(a * b for a, b in zip(x[i], x[j], strict=True)) / (norms[i] * norms[j])

    nn = [max((cos(i, j) for j in range(n) if j != i), default=float("nan")) for i in range(n)]
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i

    overlapping = [False] * n
    for i in range(n):
        for j in range(i + 1, n):
            if cos(i, j) >= 1 - tau:
                overlapping[i] = overlapping[j] = True
                parent[find(i)] = find(j)
    groups = {}
    for i in range(n):
        if overlapping[i]:
            groups.setdefault(find(i), []).append(i)
    n_error = sum(1 for i in range(n) if overlapping[i] and labels[i] != predictions[i])
    return sum(overlapping), n_error, sorted(map(sorted, groups.values())), nn


def assert_matches_brute_force(features, labels, predictions, tau=1e-6):
    stats = overlap_stats(features, labels, predictions, tau=tau)
    n_overlap, n_error, groups, nn = brute_force(features, labels, predictions, tau)
    assert stats.n_overlap == n_overlap
    assert stats.n_error == n_error
    assert sorted(g.tolist() for g in stats.groups) == groups
    np.testing.assert_allclose(stats.nn_cosine, nn, rtol=0, atol=1e-12)
    if n_overlap:
        assert stats.ratio == pytest.approx(n_error / n_overlap)
    else:
        assert math.isnan(stats.ratio)
    return stats


@pytest.mark.parametrize("seed", range(4))
def test_random_data_with_planted_duplicates(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(60, 3))
    x[10] = x[3] * 2.5  # scaled copy
    x[11] = x[3]  # exact duplicate: a group of three
    x[40] = x[20] * (1 + 1e-9)
    labels, predictions = rng.integers(0, 3, 60), rng.integers(0, 3, 60)
    stats = assert_matches_brute_force(x, labels, predictions)
    assert [3, 10, 11] in [g.tolist() for g in stats.groups]


def test_pairs_just_inside_and_just_outside_the_threshold():
    tau = 1e-6
    inside, outside = math.acos(1 - 0.9 * tau), math.acos(1 - 1.1 * tau)
    x = np.array(
        [
            [1, 0, 0],
            [math.cos(inside), math.sin(inside), 0],
            [0, 0, 1],
            [0, math.sin(outside), math.cos(outside)],
        ]
    )
    stats = assert_matches_brute_force(x, [0, 0, 1, 1], [0, 1, 1, 1], tau)
    assert stats.overlapping.tolist() == [True, True, False, False]
    assert (stats.n_overlap, stats.n_error, stats.ratio) == (2, 1, 0.5)


def test_relu_outputs_that_collapse_after_projection():
    """Different ReLU outputs along one direction: distinct vectors, one point on the sphere."""
    pre = torch.tensor([[1.0, -2.0, 3.0], [2.0, -0.5, 6.0], [0.5, -9.0, 1.5], [1.0, 1.0, 1.0]])
    feats = torch.relu(pre)  # rows 0-2 are (1, 0, 3) scaled by 1, 2 and 0.5
    projected = torch.nn.functional.normalize(feats, dim=1)
    stats = assert_matches_brute_force(projected.numpy(), [1, 2, 1, 0], [1, 1, 1, 0])
    assert [g.tolist() for g in stats.groups] == [[0, 1, 2]]
    assert stats.n_error == 1


def test_zero_vectors_overlap_each_other_only():
    x = np.array([[0.0, 0.0], [1.0, 2.0], [0.0, 0.0], [3.0, -1.0], [0.0, 0.0]])
    stats = assert_matches_brute_force(x, [0, 1, 1, 0, 0], [0, 1, 0, 0, 0])
    assert stats.n_zero == 3
    assert [g.tolist() for g in stats.groups] == [[0, 2, 4]]
    assert stats.nn_cosine[[0, 2, 4]].tolist() == [1.0, 1.0, 1.0]


def test_lone_zero_vector_does_not_overlap():
    stats = assert_matches_brute_force(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]), [0, 1, 2], [0, 1, 2])
    assert stats.n_overlap == 0 and stats.nn_cosine[0] == 0.0


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_features_are_refused(bad):
    x = np.ones((4, 3))
    x[2, 1] = bad
    with pytest.raises(ValueError, match=r"features contain NaN or Inf in 1 rows \(2\)"):
        overlap_stats(x, [0] * 4, [0] * 4)


@pytest.mark.parametrize("tau", [0, -1e-6, 1, 1.5, float("nan"), "1e-6"])
def test_bad_tau_is_refused(tau):
    with pytest.raises(ValueError, match="tau must be in"):
        overlap_stats(np.eye(3), [0, 1, 2], [0, 1, 2], tau=tau)


def test_length_mismatch_is_refused():
    with pytest.raises(ValueError, match=r"equally long. Got 3, 2 and 3 instead."):
        overlap_stats(np.eye(3), [0, 1], [0, 1, 2])


def test_float32_input_is_resolved_in_float64():
    """Two float32 vectors 1e-4 rad apart: cos = 1 - 5e-9, an overlap at tau = 1e-6 but not 1e-9."""
    a = np.array([[1.0, 0.0], [math.cos(1e-4), math.sin(1e-4)]], dtype=np.float32)
    assert overlap_stats(a, [0, 1], [0, 0], tau=1e-6).n_overlap == 2
    assert overlap_stats(a, [0, 1], [0, 0], tau=1e-9).n_overlap == 0


def test_blocks_give_the_same_answer(monkeypatch):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(300, 4))
    x[::7] = x[0]
    whole = compute_nearest_cosines(x)
    monkeypatch.setattr("sph_viz.overlap._BLOCK_BYTES", 8 * 300 * 13)  # 13 rows a block
    blocked = compute_nearest_cosines(x)
    # BLAS may round a block's dot products differently in the last bit
    np.testing.assert_allclose(blocked[0], whole[0], rtol=0, atol=1e-14)
    np.testing.assert_array_equal(blocked[2], whole[2])
    units = x / np.linalg.norm(x, axis=1, keepdims=True)
    np.testing.assert_allclose(np.sum(units * units[blocked[1]], axis=1), whole[0], atol=1e-14)


def test_single_sample():
    stats = overlap_stats(np.ones((1, 3)), [0], [0])
    assert stats.n_overlap == 0 and math.isnan(stats.nn_cosine[0]) and stats.nn_index[0] == -1
