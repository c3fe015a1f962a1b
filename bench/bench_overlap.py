"""Overlap statistics: today's exact routes against the previous all-float64 blockwise code.

Run: python bench/bench_overlap.py [--n 60000] [--d 256] [--n3 10000] [--quick]
(a) N x d float32 features, 2 % planted near-duplicates: the previous code vs the default route.
(b) N3 x 3 features: the KD-tree route vs the blockwise route (and the previous code).
All paths run in this process on the same data and must agree on every count; prints seconds and
ratios (best of 15 for (b)), then the peak RSS of a fresh process per path (VmHWM).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from sph_viz.overlap import overlap_stats  # noqa: E402
from sph_viz.overlap._blockwise import scan_blockwise  # noqa: E402
from sph_viz.overlap._graph import PairScan  # noqa: E402
from sph_viz.overlap._kdtree import scan_kdtree  # noqa: E402
from sph_viz.overlap._units import unit_rows  # noqa: E402


def previous_overlap(x: np.ndarray, tau: float) -> tuple[int, list[np.ndarray], np.ndarray]:
    """The code this replaces, unchanged in substance: float64 cosine blocks of 128 MiB, all pairs kept."""
    n = len(x)
    x = x.astype(np.float64, copy=False)
    norms = np.linalg.norm(x, axis=1)
    zero = norms == 0
    units = torch.from_numpy(np.divide(x, norms[:, None], out=np.zeros_like(x), where=~zero[:, None]))
    zero_t = torch.from_numpy(zero)
    nn_cos, pairs = np.full(n, -np.inf), []
    block = max(1, 128 * 2**20 // (8 * n))
    for start in range(0, n, block):
        stop = min(n, start + block)
        cos = units[start:stop] @ units.T
        cos[zero_t[start:stop, None] & zero_t[None, :]] = 1.0
        rows = torch.arange(stop - start)
        cos[rows, rows + start] = -torch.inf
        nn_cos[start:stop] = cos.max(dim=1).values.numpy()
        i, j = torch.nonzero(cos >= 1.0 - tau, as_tuple=True)
        keep = i + start < j
        pairs.append(torch.stack([i[keep] + start, j[keep]], 1).numpy())
    pairs = np.concatenate(pairs).astype(np.int64)
    overlapping = np.zeros(n, dtype=bool)
    overlapping[pairs.ravel()] = True
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    members = np.flatnonzero(overlapping)
    groups = [members[component[members] == c] for c in np.unique(component[members])]
    groups.sort(key=lambda g: (-len(g), g[0]))
    return int(overlapping.sum()), groups, nn_cos


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 2**20


def peak_rss_mib() -> float:
    """VmHWM: this process's peak RSS (ru_maxrss would carry a forking parent's over exec)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024


def best_time(repeats: int, fn, *args, **kwargs):
    """(result, wall seconds, CPU seconds of all threads) of fn(...), the least disturbed of repeats."""
    times = []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn(*args, **kwargs)
        times.append((time.perf_counter() - wall, time.process_time() - cpu))
    return (result, *min(times))


def features(n: int, d: int, seed: int = 0) -> np.ndarray:
    """Gaussian rows (N, d) float32; 2 % are near-copies of others, half within tau = 1e-6, half outside."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    k = n // 50
    source, target = rng.choice(n, size=(2, k), replace=False)
    step = rng.normal(size=(k, d))
    step *= np.linalg.norm(x[source], axis=1, keepdims=True) / np.linalg.norm(step, axis=1, keepdims=True)
    eps = np.where(np.arange(k) % 2, 1e-3, 2e-3)[:, None]  # 1 - cos ~ eps^2 / 2: 5e-7 or 2e-6
    x[target] = x[source] + eps * step
    return x


def _summary(result) -> tuple[int, list[list[int]], np.ndarray]:
    if isinstance(result, tuple):
        n_overlap, groups, nn = result
    else:
        n_overlap, groups, nn = result.n_overlap, result.groups, result.nn_cosine
    return n_overlap, [g.tolist() for g in groups], nn


CASES = {"a": lambda n, d: features(n, d), "b": lambda n, d: features(n, 3).astype(np.float64)}


def run_path(path: str, x: np.ndarray, tau: float, repeats: int = 1):
    """(result, wall s, CPU s) of one code path on x: "previous" or a method of overlap_stats."""
    if path == "previous":
        return best_time(repeats, previous_overlap, x, tau)
    labels = np.zeros(len(x), dtype=np.int64)
    return best_time(repeats, overlap_stats, x, labels, labels, tau=tau, method=path)


def compare(name: str, x: np.ndarray, tau: float, paths: list[str], repeats: int) -> dict[str, float]:
    """Run each path on x in this process; check they agree; print and return seconds."""
    runs = {path: run_path(path, x, tau, repeats) for path in paths}
    ref_n, ref_groups, ref_nn = _summary(runs[paths[0]][0])
    for path, (result, _, _) in runs.items():  # every path must agree before any time is worth reading
        n_overlap, groups, nn = _summary(result)
        assert n_overlap == ref_n and groups == ref_groups, path
        assert np.allclose(nn, ref_nn, rtol=0, atol=1e-12), path
    print(f"\n{name}: N={len(x)} d={x.shape[1]} tau={tau:g}, {ref_n} overlapping in {len(ref_groups)} groups")
    for path, (_, seconds, cpu) in runs.items():
        ratio = runs[paths[0]][1] / seconds
        print(f"  {path:<10} {seconds:8.3f} s wall {cpu:8.3f} s CPU   {paths[0]} / {path}: {ratio:6.1f}x")
    return {path: seconds for path, (_, seconds, _) in runs.items()}


def fresh_memory(case: str, path: str, n: int, d: int, tau: float) -> dict:
    """Peak RSS of a fresh process that makes case's data and runs only this path once."""
    args = [sys.executable, __file__, "--one", case, path, str(n), str(d), str(tau)]
    run = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(run.stdout.strip().splitlines()[-1])


def one(case: str, path: str, n: int, d: int, tau: float) -> None:
    x = CASES[case](n, d)
    before = _rss_mib()
    _, seconds, cpu = run_path(path, x, tau)
    load = Path("/proc/loadavg").read_text().split()[0]
    print(
        json.dumps(
            {"seconds": seconds, "cpu": cpu, "before_mib": before, "peak_mib": peak_rss_mib(), "load": load}
        )
    )


def main() -> None:
    if sys.argv[1:2] == ["--one"]:
        case, path, n, d, tau = sys.argv[2:7]
        return one(case, path, int(n), int(d), float(tau))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60000)
    parser.add_argument("--d", type=int, default=256)
    parser.add_argument("--n3", type=int, default=10000)
    parser.add_argument("--tau", type=float, default=1e-6)
    parser.add_argument("--quick", action="store_true", help="also N = 10000 first, to check quickly")
    args = parser.parse_args()
    print(f"{torch.get_num_threads()} threads; load average {Path('/proc/loadavg').read_text().split()[0]}")
    if args.quick:
        compare("(a, quick)", CASES["a"](10000, args.d), args.tau, ["previous", "auto"], repeats=1)
    compare("(a)", CASES["a"](args.n, args.d), args.tau, ["previous", "auto"], repeats=1)
    times = compare("(b)", CASES["b"](args.n3, 3), args.tau, ["previous", "blockwise", "kdtree"], repeats=15)
    print(f"  kdtree / blockwise speed-up at N={args.n3}, d=3: {times['blockwise'] / times['kdtree']:.0f}x")
    units, _ = unit_rows(CASES["b"](args.n3, 3))  # the routes alone, without the shared work around them
    route = {
        f.__name__: best_time(15, lambda f=f: f(PairScan(units, args.tau), args.tau))[1:]
        for f in (scan_blockwise, scan_kdtree)
    }
    for name, (wall, cpu) in route.items():
        print(f"  route only: {name:<15} {wall:8.4f} s wall {cpu:8.4f} s CPU")
    speed_up = route["scan_blockwise"][0] / route["scan_kdtree"][0]
    print(f"  route only: kdtree / blockwise speed-up {speed_up:.0f}x")
    print("\npeak memory, each in a fresh process (data, imports and all; 'before' = RSS before the call)")
    for case, path, n in [
        ("a", "previous", args.n),
        ("a", "auto", args.n),
        ("b", "blockwise", args.n3),
        ("b", "kdtree", args.n3),
    ]:
        m = fresh_memory(case, path, n, args.d, args.tau)
        print(
            f"  ({case}) {path:<10} peak {m['peak_mib']:6.0f} MiB, before {m['before_mib']:5.0f} MiB, "
            f"{m['seconds']:.3f} s wall, {m['cpu']:.3f} s CPU, load average {m['load']}"
        )


if __name__ == "__main__":
    main()
