"""Overlap statistics: blockwise float64 (sph_viz) vs scikit-learn's full cosine matrix.

Run: python bench/bench_overlap.py [--n 10000] [--d 3]
Both give the same nearest-neighbour cosines; prints times, peak matrix memory and the ratio.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics.pairwise import cosine_similarity

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sph_viz.overlap import compute_nearest_cosines


def baseline(x: np.ndarray) -> np.ndarray:
    cos = cosine_similarity(x)  # (N, N) float64 in one piece
    np.fill_diagonal(cos, -np.inf)
    return cos.max(axis=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--d", type=int, default=3)
    args = parser.parse_args()
    x = np.random.default_rng(0).normal(size=(args.n, args.d))
    t0 = time.perf_counter()
    ref = baseline(x)
    t1 = time.perf_counter()
    ours, _, _ = compute_nearest_cosines(x)
    t2 = time.perf_counter()
    assert np.allclose(ours, ref, atol=1e-12)
    print(f"N={args.n} d={args.d}")
    print(f"sklearn full matrix : {t1 - t0:7.2f} s, {8 * args.n**2 / 2**20:8.0f} MiB matrix")
    print(f"sph_viz blockwise   : {t2 - t1:7.2f} s, {128:8.0f} MiB block cap")
    print(f"ratio (sklearn / sph_viz time): {(t1 - t0) / (t2 - t1):.2f}x")


if __name__ == "__main__":
    main()
