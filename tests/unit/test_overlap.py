"""Overlap statistics against an independent brute-force count, pair by pair."""

import math

import numpy as np
import pytest
import torch

from sph_viz import overlap_stats
from sph_viz.overlap import compute_nearest_cosines, nearest_neighbours, validate_tau


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
    for method in ("blockwise", "kdtree"):  # every route, then "auto" below
        assert_same_stats(overlap_stats(features, labels, predictions, tau=tau, method=method), features, tau)
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


@pytest.mark.parametrize("method", ["blockwise", "kdtree"])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_only_zero_vectors(method, n):
    stats = overlap_stats(np.zeros((n, 16)), [0] * n, [1] * n, method=method)
    assert stats.n_zero == n and stats.n_overlap == (n if n > 1 else 0) and stats.n_error == stats.n_overlap
    assert [g.tolist() for g in stats.groups] == ([list(range(n))] if n > 1 else [])


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


def assert_same_stats(stats, features, tau):
    """Counts, groups and nearest neighbours as the pure-Python brute force gives them."""
    labels = list(range(len(features)))
    n_overlap, _, groups, nn = brute_force(features, labels, labels, tau)
    assert stats.n_overlap == n_overlap
    assert sorted(g.tolist() for g in stats.groups) == groups
    np.testing.assert_allclose(stats.nn_cosine, nn, rtol=0, atol=1e-12)


def test_blocks_give_the_same_answer(monkeypatch):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(300, 4))
    x[::7] = x[0]
    x[5::11] = x[3] * (1 + 1e-12) + 1e-9  # near copies: not bit-identical, still overlapping
    whole = compute_nearest_cosines(x, method="kdtree")  # the other route, no blocks at all
    monkeypatch.setattr("sph_viz.overlap._blockwise.BLOCK_ROWS", 13)  # 13 rows a block
    blocked = compute_nearest_cosines(x, method="blockwise")
    # BLAS may round a block's dot products differently in the last bit
    np.testing.assert_allclose(blocked.nn_cosine, whole.nn_cosine, rtol=0, atol=1e-14)
    np.testing.assert_array_equal(blocked.overlapping, whole.overlapping)
    np.testing.assert_array_equal(blocked.component, whole.component)
    units = x / np.linalg.norm(x, axis=1, keepdims=True)
    np.testing.assert_allclose(np.sum(units * units[blocked.nn_index], axis=1), whole.nn_cosine, atol=1e-14)


def test_single_sample():
    stats = overlap_stats(np.ones((1, 3)), [0], [0])
    assert stats.n_overlap == 0 and math.isnan(stats.nn_cosine[0]) and stats.nn_index[0] == -1


def test_progress_reaches_one_in_order(monkeypatch):
    monkeypatch.setattr("sph_viz.overlap._blockwise.BLOCK_ROWS", 7)
    seen = []
    overlap_stats(np.random.default_rng(0).normal(size=(30, 16)), [0] * 30, [0] * 30, on_progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == 15  # 5 blocks: 15 upper pairs


# -- what no classifier can avoid, and how wide the groups are --


def test_unavoidable_counts_by_hand():
    e = np.eye(4)
    x = np.array([e[0], e[0], e[0], e[1], e[1], e[2], e[2], e[2], e[2], e[3]])
    labels = ["a", "a", "b", "c", "c", "a", "b", "b", "c", "d"]
    # groups: {0,1,2} labels a,a,b; {3,4} c,c; {5,6,7,8} a,b,b,c; 9 alone
    stats = overlap_stats(x, labels, labels, tau=1e-3)
    assert [g.tolist() for g in stats.groups] == [[5, 6, 7, 8], [0, 1, 2], [3, 4]]
    assert stats.n_unavoidable == 4 + 3  # the groups holding more than one label
    assert stats.n_unavoidable_errors == (4 - 2) + (3 - 2) + 0
    assert stats.n_error == 0  # predictions == labels here: the bound is about any classifier
    row = stats.table_row()
    assert (row["n_unavoidable"], row["n_unavoidable_errors"], row["max_group_span_deg"]) == (7, 3, 0.0)


def test_no_groups_gives_empty_spans_and_none():
    stats = overlap_stats(np.eye(3), [0, 1, 2], [0, 1, 2])
    assert stats.group_span_deg.shape == (0,) and stats.table_row()["max_group_span_deg"] is None
    assert (stats.n_unavoidable, stats.n_unavoidable_errors) == (0, 0)


def fan(degrees):
    """Unit vectors in the (x, y) plane of R^3 at the given angles, in degrees."""
    rad = np.radians(degrees)
    return np.stack([np.cos(rad), np.sin(rad), np.zeros_like(rad)], axis=1)


@pytest.mark.parametrize("exact_max", [2000, 2])
def test_group_span_is_the_widest_angle(monkeypatch, exact_max):
    monkeypatch.setattr("sph_viz.overlap._groups.EXACT_SPAN_MAX", exact_max)
    # neighbours 0.05 deg apart overlap at tau = 1e-6 (0.081 deg); the chain spans 0.15 deg
    x = np.concatenate(
        [fan([0.0, 0.05, 0.10, 0.15]), fan([90.0, 90.02]), [[0, 0, 1.0], [0, 0, 0], [0, 0, 0]]]
    )
    stats = overlap_stats(x, [0] * 9, [0] * 9)
    assert [g.tolist() for g in stats.groups] == [[0, 1, 2, 3], [4, 5], [7, 8]]
    if exact_max == 2000:
        np.testing.assert_allclose(stats.group_span_deg, [0.15, 0.02, 0.0], rtol=1e-9)
    else:  # 4 directions > 2: an upper bound, within twice the exact span
        assert 0.15 <= stats.group_span_deg[0] <= 0.3
        np.testing.assert_allclose(stats.group_span_deg[1:], [0.02, 0.0], rtol=1e-9)


# -- nearest neighbours of one sample --


def test_nearest_neighbours_match_brute_force():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 6))
    x[7] = x[2] * 4.0  # same direction
    x[9] = 0.0
    x[11] = -x[2]
    units = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-300)
    for index in (2, 9, 30):
        cos = units @ units[index] if index != 9 else (np.linalg.norm(x, axis=1) == 0).astype(float)
        others = [j for j in range(50) if j != index]
        expected = sorted(others, key=lambda j: (-cos[j], j))[:8]
        idx, got = nearest_neighbours(x, index)
        assert idx.tolist() == expected
        np.testing.assert_allclose(got, cos[expected], rtol=0, atol=1e-12)
        assert np.all(np.diff(got) <= 0)
    idx, got = nearest_neighbours(x, 2, k=49)
    assert idx[0] == 7 and got[0] == 1.0 and idx[-1] == 11 and got[-1] == pytest.approx(-1.0)


def test_nearest_neighbours_ties_go_by_index():
    x = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, -1.0], [0.0, 0.0], [1.0, 1.0]])
    idx, cos = nearest_neighbours(x, 0, k=3)
    assert idx.tolist() == [4, 1, 2] and cos[1:].tolist() == [0.0, 0.0]
    assert nearest_neighbours(x, 0, k=10)[0].tolist() == [4, 1, 2, 3]  # only N - 1 others


@pytest.mark.parametrize(
    ("index", "k", "match"),
    [
        (5, 8, r"index must be an integer \[0, 5\)"),
        (-1, 8, "index must be"),
        (True, 8, "index must be"),
        (1.0, 8, "index must be"),
        (0, 0, "k must be an integer >= 1"),
        (0, 2.5, "k must be"),
    ],
)
def test_nearest_neighbours_refuses_bad_index_or_k(index, k, match):
    with pytest.raises(ValueError, match=match):
        nearest_neighbours(np.eye(5), index, k)


# -- validation, before any work --


@pytest.mark.parametrize("tau", [np.float32(1e-6), np.float64(1e-3), 0.5])
def test_any_real_tau_in_range_is_accepted(tau):
    assert validate_tau(tau) == float(tau)
    assert overlap_stats(np.eye(3), [0, 1, 2], [0, 1, 2], tau=tau).tau == float(tau)


@pytest.mark.parametrize("tau", [True, np.bool_(True), np.float32("nan"), None, [1e-6], 1])
def test_bool_nan_and_non_numbers_are_not_tau(tau):
    with pytest.raises(ValueError, match=r"tau must be in \(0, 1\). Got .* instead."):
        validate_tau(tau)


def fail_if_scanned(*args, **kwargs):
    raise AssertionError("validation must come before any computing")


@pytest.mark.parametrize(
    ("features", "labels", "predictions", "match"),
    [
        (np.eye(3), [0, 1], [0, 1, 2], r"equally long. Got 3, 2 and 3 instead."),
        (np.eye(3), [0, 1, 2], [0, 1], r"equally long. Got 3, 3 and 2 instead."),
        (
            np.ones((1000, 3)),
            np.zeros((1000, 2)),
            np.zeros(1000),
            r"labels must be 1-D, one per sample. Got shape \(1000, 2\)",
        ),
        (
            np.ones((4, 3)),
            np.zeros(4),
            np.zeros((4, 1)),
            r"predictions must be 1-D, one per sample. Got shape \(4, 1\)",
        ),
        (np.eye(3), 0, [0, 1, 2], r"labels must be 1-D, one per sample. Got shape \(\) instead."),
        (
            np.eye(3),
            ["a", "b", "c"],
            [0, 1, 2],
            "must both be integers or both be strings. Got string labels and integer predictions",
        ),
        (
            np.eye(3),
            [0, 1, 2],
            np.array([0.5, 1, 2]),
            r"predictions must be integer class ids or strings. Got dtype float64",
        ),
        (
            np.eye(3),
            [0, 1, 2],
            np.array([0, 1, 2], dtype=complex),
            "predictions must be integer class ids or strings",
        ),
        (
            np.ones((2, 3, 1)),
            [0, 0],
            [0, 0],
            r"features must have shape \(N, d\) with N >= 1 and d >= 1. Got \(2, 3, 1\)",
        ),
        (np.ones((0, 3)), [], [], r"features must have shape \(N, d\) with N >= 1 and d >= 1. Got \(0, 3\)"),
        (np.ones((3, 0)), [0, 1, 2], [0, 1, 2], r"Got \(3, 0\) instead."),
        (np.array([["a", "b"]]), [0], [0], "features must be real numbers. Got dtype <U1 instead."),
    ],
)
def test_bad_inputs_are_refused_before_computing(monkeypatch, features, labels, predictions, match):
    monkeypatch.setattr("sph_viz.overlap.stats._scan", fail_if_scanned)
    with pytest.raises(ValueError, match=match):
        overlap_stats(features, labels, predictions)


def test_bad_method_is_refused():
    with pytest.raises(
        ValueError, match=r"method must be 'auto', 'blockwise' or 'kdtree'. Got 'exact' instead."
    ):
        overlap_stats(np.eye(3), [0, 1, 2], [0, 1, 2], method="exact")


def test_integer_like_floats_strings_and_tensors_are_labels():
    x = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0]])
    assert overlap_stats(x, np.array([1.0, 2.0, 3.0]), [1, 1, 3]).n_error == 1
    assert overlap_stats(x, ["cat", "dog", "cat"], np.array(["cat", "cat", "cat"])).n_error == 1
    assert overlap_stats(torch.tensor(x), torch.tensor([0, 1, 2]), torch.tensor([0, 0, 2])).n_error == 1
