"""Overlap statistics (the paper's Table 3): which samples share a direction, cosine >= 1 - tau.

The public face is `overlap_stats` and `OverlapStats`; the routes that find the pairs (blockwise
products, a KD-tree, union-find over blocks) are private modules of this package.
"""

from sph_viz.overlap.stats import (
    DEFAULT_TAU,
    KDTREE_MAX_D,
    METHODS,
    NearestCosines,
    OverlapStats,
    compute_nearest_cosines,
    nearest_neighbours,
    overlap_stats,
    validate_tau,
)

__all__ = [
    "DEFAULT_TAU",
    "KDTREE_MAX_D",
    "METHODS",
    "NearestCosines",
    "OverlapStats",
    "compute_nearest_cosines",
    "nearest_neighbours",
    "overlap_stats",
    "validate_tau",
]
