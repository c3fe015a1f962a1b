"""Both exact routes (float32 screen + float64 recheck; KD-tree) against a dense float64 brute force."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from sph_viz import overlap_stats
from sph_viz.overlap._units import chord_slack, screen_margin

TAU = 1e-6
ROOT = Path(__file__).resolve().parents[2]


def dense_brute_force(x, tau):
    """All pairwise float64 cosines at once: nn (N,), the cosine matrix, overlapping (N,), groups."""
    x = np.asarray(x, dtype=np.float64)
    zero = ~x.any(axis=1)
    peak = np.where(zero, 1.0, np.abs(x).max(axis=1))
    scaled = x / peak[:, None]
    units = scaled / np.where(zero, 1.0, np.linalg.norm(scaled, axis=1))[:, None]
    cos = units @ units.T
    cos[np.ix_(zero, zero)] = 1.0
    np.fill_diagonal(cos, -np.inf)
    pairs = np.argwhere(np.triu(cos >= 1 - tau, 1))
    overlapping = np.zeros(len(x), dtype=bool)
    overlapping[pairs.ravel()] = True
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(x),) * 2)
    _, label = connected_components(graph, directed=False)
    groups = sorted(
        np.flatnonzero(overlapping & (label == c)).tolist() for c in np.unique(label[overlapping])
    )
    return cos.max(axis=1), cos, overlapping, groups


def turned(rng, a, cos):
    """A vector at exactly this cosine (in exact arithmetic) from a, with a random length."""
    v = rng.normal(size=a.shape)
    unit = a / np.linalg.norm(a)
    v -= (v @ unit) * unit
    return (cos * unit + np.sqrt(1 - cos**2) * v / np.linalg.norm(v)) * rng.uniform(0.1, 10)


def planted(d, n=240, seed=0):
    """Random rows plus copies, threshold straddlers, a chain, a near-copy cluster and zero rows."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    x[1], x[2] = x[0], 3.5 * x[0]  # exact and scaled copies
    inside, outside = 1 - TAU * (1 - 1e-3), 1 - TAU * (1 + 1e-3)
    for i, cos in [(10, inside), (12, outside), (14, inside), (16, outside)]:
        x[i + 1] = turned(rng, x[i], cos)
    for i in range(20, 25):  # neighbours overlap, the chain's ends do not: groups come from chains
        x[i + 1] = turned(rng, x[i], 1 - 0.6 * TAU)
    x[30:90] = x[29] + 1e-9 * rng.normal(size=(60, d))  # a cluster: blocks full of candidates
    x[100] = x[101] = x[102] = 0.0
    x[110] = 1e-200 * x[111]  # tiny and huge rows keep their direction
    x[112] = 1e300 * turned(rng, x[111], inside)
    return x, rng


@pytest.mark.parametrize("d", [3, 256])
@pytest.mark.parametrize("method", ["blockwise", "kdtree", "auto"])
@pytest.mark.parametrize("block_rows", [2048, 16])
def test_routes_match_dense_brute_force(monkeypatch, d, method, block_rows):
    monkeypatch.setattr("sph_viz.overlap._blockwise.BLOCK_ROWS", block_rows)
    if block_rows == 16:  # also prune and recheck held-back neighbour candidates along the way
        monkeypatch.setattr("sph_viz.overlap._blockwise.PENDING_MAX", 8)
    x, rng = planted(d)
    labels, predictions = rng.integers(0, 3, len(x)), rng.integers(0, 3, len(x))
    nn, cos, overlapping, groups = dense_brute_force(x, TAU)
    stats = overlap_stats(x, labels, predictions, tau=TAU, method=method)
    np.testing.assert_array_equal(stats.overlapping, overlapping)
    assert stats.overlapping[[10, 11, 14, 15]].all() and not stats.overlapping[[12, 13, 16, 17]].any()
    assert stats.overlapping[[110, 111, 112]].all() and stats.n_zero == 3
    assert sorted(g.tolist() for g in stats.groups) == groups
    assert [20, 21, 22, 23, 24, 25] in groups and cos[20, 22] < 1 - TAU
    assert stats.n_error == int((labels != predictions)[overlapping].sum())
    np.testing.assert_allclose(stats.nn_cosine, nn, rtol=0, atol=1e-12)
    # the index points at a maximiser (ties between float64 maxima may go either way)
    np.testing.assert_allclose(cos[np.arange(len(x)), stats.nn_index], nn, rtol=0, atol=1e-12)


@pytest.mark.parametrize(("tau", "least_groups"), [(3e-3, 20), (1e-2, 3), (0.3, 1)])
def test_many_overlaps_give_scipy_components(monkeypatch, tau, least_groups):
    """Dense overlap graphs at d = 3: the incremental union-find against scipy on all pairs."""
    monkeypatch.setattr("sph_viz.overlap._blockwise.BLOCK_ROWS", 64)
    x = np.random.default_rng(5).normal(size=(400, 3))
    nn, _, overlapping, groups = dense_brute_force(x, tau)
    for method in ("blockwise", "kdtree"):
        stats = overlap_stats(x, [0] * 400, [0] * 400, tau=tau, method=method)
        assert sorted(g.tolist() for g in stats.groups) == groups
        np.testing.assert_array_equal(stats.overlapping, overlapping)
        np.testing.assert_allclose(stats.nn_cosine, nn, rtol=0, atol=1e-12)
    assert len(groups) >= least_groups


def test_a_tree_too_dense_falls_back_to_blocks(monkeypatch):
    monkeypatch.setattr("sph_viz.overlap._kdtree.MAX_PAIRS", 10)
    x, _ = planted(3)
    nn, _, overlapping, groups = dense_brute_force(x, TAU)
    stats = overlap_stats(x, [0] * len(x), [0] * len(x), method="kdtree")
    np.testing.assert_array_equal(stats.overlapping, overlapping)
    assert sorted(g.tolist() for g in stats.groups) == groups
    np.testing.assert_allclose(stats.nn_cosine, nn, rtol=0, atol=1e-12)


@pytest.mark.parametrize("scale", [1e-300, 1e-200, 1e200, 1.7e308])
def test_tiny_and_huge_rows_keep_their_cosines(scale):
    x, _ = planted(8, n=120, seed=2)
    x[100:113] = np.random.default_rng(9).normal(size=(13, 8))  # moderate rows only, no zero rows
    reference = overlap_stats(x, [0] * 120, [0] * 120)
    # each row's max-abs becomes `scale` (not a power of two: every entry is rounded)
    extreme = x / np.abs(x).max(axis=1, keepdims=True) * scale
    stats = overlap_stats(extreme, [0] * 120, [0] * 120)
    assert stats.n_zero == 0 and stats.n_overlap == reference.n_overlap
    assert [g.tolist() for g in stats.groups] == [g.tolist() for g in reference.groups]
    np.testing.assert_allclose(stats.nn_cosine, reference.nn_cosine, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(stats.overlapping[[10, 11, 12, 13]], [True, True, False, False])


def test_only_all_zero_rows_are_zero_vectors():
    x = np.array([[5e-324, 0.0], [1.0, 0.0], [0.0, -0.0], [0.0, 0.0], [0.0, 1e-320]])
    stats = overlap_stats(x, [0] * 5, [0] * 5)
    assert stats.n_zero == 2  # -0.0 is exactly 0; subnormal rows have a direction
    assert [g.tolist() for g in stats.groups] == [[0, 1], [2, 3]]
    assert stats.nn_cosine[4] == 0.0 and stats.nn_cosine[0] == 1.0


MEMORY_SCRIPT = """
import json, sys
import numpy as np
from sph_viz import overlap_stats
n, d, noise = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
rng = np.random.default_rng(0)
x = (rng.normal(size=d) + noise * rng.normal(size=(n, d))).astype(np.float32)
stats = overlap_stats(x, np.zeros(n, int), np.zeros(n, int))
# VmHWM is this process's own peak; ru_maxrss would carry pytest's RSS over the fork and exec
peak = next(int(s.split()[1]) for s in open("/proc/self/status") if s.startswith("VmHWM:")) / 1024
print(json.dumps({"n_overlap": stats.n_overlap, "groups": len(stats.groups),
                  "peak_mib": peak}))
"""


@pytest.mark.slow  # a fresh interpreter per case, to measure its peak memory (2-9 s each)
@pytest.mark.parametrize(
    ("n", "d", "noise"),
    [
        (20000, 64, 0.0),  # identical rows
        (20000, 3, 0.0),
        (20000, 16, 1e-6),  # near-identical rows: every block holds candidates to recheck
    ],
)
def test_every_pair_overlapping_stays_under_one_gib(n, d, noise):
    """200 million overlapping pairs: never stored, so the peak is set by one block."""
    run = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(n), str(d), str(noise)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        check=True,
    )
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert (result["n_overlap"], result["groups"]) == (n, 1)
    assert result["peak_mib"] < 1024


@pytest.mark.parametrize("d", [3, 256, 1000])
def test_the_screen_margin_bounds_float32_error(d):
    """Near-parallel pairs are where the float32 screen errs most: still within the proven margin."""
    rng = np.random.default_rng(d)
    base = rng.normal(size=(1, d)) * rng.uniform(0.5, 2, size=(1, d)) ** 20  # spread magnitudes
    x = np.concatenate([base + s * rng.normal(size=(100, d)) for s in (0.0, 1e-9, 1e-4, 1.0)])
    units = x / np.linalg.norm(x, axis=1, keepdims=True)
    units32 = units.astype(np.float32)
    error = np.abs((units32 @ units32.T).astype(np.float64) - np.clip(units @ units.T, -1, 1)).max()
    assert 0 < error <= screen_margin(d)
    chord2 = ((units[:, None, :] - units[None, :, :]) ** 2).sum(axis=2) if d < 300 else None
    if chord2 is not None:
        assert np.abs(chord2 - (2 - 2 * (units @ units.T))).max() <= chord_slack(d)


@pytest.mark.parametrize("method", ["blockwise", "kdtree"])
@pytest.mark.parametrize("d", [3, 256])
def test_the_nearest_of_candidates_closer_than_the_margin(method, d):
    """Five neighbours 1e-9 apart in cosine, far inside the float32 margin: float64 picks the nearest."""
    rng = np.random.default_rng(1)
    a = rng.normal(size=d)
    x = np.array(
        [a] + [turned(rng, a, 0.5 + k * 1e-9) for k in (2, 0, 4, 1, 3)] + list(rng.normal(size=(20, d)))
    )
    x[6:] -= 3 * a / np.linalg.norm(a) * np.abs(x[6:] @ a)[:, None] / np.linalg.norm(a)  # far from a
    stats = overlap_stats(x, [0] * len(x), [0] * len(x), method=method)
    assert stats.nn_index[0] == 3
    assert stats.nn_cosine[0] == pytest.approx(0.5 + 4e-9, abs=1e-13)
