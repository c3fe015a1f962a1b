"""KD-tree route for small d: chord-radius searches on the unit rows, each hit rechecked in float64.

On unit vectors cos = 1 - chord^2 / 2, so "cos >= 1 - tau" is "chord <= sqrt(2 tau)" and the
nearest neighbour by cosine is the nearest by chord. One k-nearest query finds both for most rows;
rows whose search radius reaches past their k-th neighbour ask a ball query. Radii are widened
by the proven slack of `chord_slack`, so every pair the float64 cosine could decide is found,
then decided in float64.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from sph_viz.overlap._graph import PairScan
from sph_viz.overlap._units import chord_slack

MAX_PAIRS = 2**22  # beyond this many candidate pairs the blockwise route bounds memory instead
_K = 3  # self, the nearest, and one more: if that one is outside the search radius, nobody else is in


def scan_kdtree(scan: PairScan, tau: float) -> bool:
    """Fill scan with exact neighbours and overlaps; False (scan untouched) if too dense for a tree."""
    units = scan.units
    n, d = units.shape
    if n < 2:
        return True
    slack = chord_slack(d)
    tree = cKDTree(units, balanced_tree=False, compact_nodes=False)  # faster to build, same answers
    k = min(_K, n)
    dist, idx = tree.query(units, k=k)  # one thread: steadier than workers=-1 on a busy machine
    own = idx == np.arange(n)[:, None]
    nearest = np.where(own, np.inf, dist).min(axis=1)
    # Squared search radius per row: the nearest-neighbour band (any float64-cosine maximiser lies
    # within it) or the overlap radius, whichever is wider.
    reach = np.maximum(nearest**2 + slack, 2 * (1.0 - scan.threshold) + slack)
    near = ~own & (dist**2 <= reach[:, None])
    rows, cols = [], []
    # Sorted by distance: if the farthest returned row is within reach, more may be.
    wide = np.flatnonzero(dist[:, -1] ** 2 <= reach) if k < n else np.zeros(0, np.int64)
    if len(wide):
        radii = np.sqrt(reach[wide])
        if int(tree.query_ball_point(units[wide], radii, return_length=True).sum()) > MAX_PAIRS:
            return False
        found = tree.query_ball_point(units[wide], radii)
        lengths = np.fromiter(map(len, found), dtype=np.int64, count=len(found))
        rows.append(np.repeat(wide, lengths))
        cols.append(np.concatenate(found).astype(np.int64) if lengths.sum() else np.zeros(0, np.int64))
        near[wide] = False
    r, c = np.nonzero(near)
    rows, cols = np.concatenate([r, *rows]), np.concatenate([idx[r, c], *cols])
    keep = rows != cols
    scan.check_pairs(rows[keep], cols[keep])  # a cosine is symmetric: offered both ways, joined once
    return True
