"""Running nearest neighbours and an incremental union-find over overlapping pairs.

Routes feed it one block of candidate pairs at a time, so memory is bounded by the block,
never by the number of overlapping pairs.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from sph_viz.overlap._units import dot_pairs


class PairScan:
    """Best float64 cosine per row, and the components of the overlap graph, over n unit rows."""

    def __init__(self, units: np.ndarray, tau: float):
        self.units = units
        self.threshold = 1.0 - tau  # the same float64 number the definition compares with
        n = len(units)
        self.best = np.full(n, -np.inf)
        self.arg = np.full(n, -1, dtype=np.int64)
        self.overlapping = np.zeros(n, dtype=bool)
        self.parent = np.arange(n, dtype=np.int64)

    def offer(self, rows: np.ndarray, cols: np.ndarray, cos: np.ndarray) -> None:
        """Candidate neighbours cols (M,) of rows (M,) with float64 cosines cos (M,)."""
        before = self.best[rows]
        np.maximum.at(self.best, rows, cos)
        after = self.best[rows]
        self.arg[rows[after > before]] = np.iinfo(np.int64).max  # a new best: its old index goes
        hit = cos == after  # ties keep the smallest index, old or new
        np.minimum.at(self.arg, rows[hit], cols[hit])

    def check_pairs(self, a: np.ndarray, b: np.ndarray) -> None:
        """Recheck the candidate pairs (a[k], b[k]), a != b, in float64: neighbours and overlaps."""
        cos = dot_pairs(self.units, a, b)
        self.offer(a, b, cos)
        self.offer(b, a, cos)
        hit = cos >= self.threshold
        self.join(a[hit], b[hit])

    def join(self, a: np.ndarray, b: np.ndarray) -> None:
        """Record that each pair (a[k], b[k]) overlaps: one union per pair, vectorised."""
        if not len(a):
            return
        self.overlapping[a] = self.overlapping[b] = True
        ra, rb = self.find(a), self.find(b)
        cross = ra != rb
        if not cross.any():
            return
        # The roots these pairs touch, merged by their own small graph: each component of it
        # is hung under its smallest root, which keeps every tree's root its smallest member.
        nodes, local = np.unique(np.concatenate([ra[cross], rb[cross]]), return_inverse=True)
        k = int(cross.sum())
        graph = coo_matrix((np.ones(k, dtype=np.int8), (local[:k], local[k:])), shape=(len(nodes),) * 2)
        _, label = connected_components(graph, directed=False)
        _, lead = np.unique(label, return_index=True)  # nodes are sorted: first = smallest
        self.parent[nodes] = nodes[lead[label]]

    def join_block(self, hit: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> None:
        """Record the overlaps hit (h, w) bool between samples rows (h,) and cols (w,), via a star per
        local component: at most h + w unions however many of the h * w pairs overlap."""
        h, w = hit.shape
        row_any, col_any = hit.any(axis=1), hit.any(axis=0)
        nodes = np.concatenate([rows, cols])
        involved = np.flatnonzero(np.concatenate([row_any, col_any]))
        hub = int(np.argmax(hit.sum(axis=1)))
        if np.array_equal(hit[hub], col_any):  # one row meets every column: one component (dense clusters)
            self.join(nodes[involved], np.full(len(involved), rows[hub]))
            return
        flat = np.flatnonzero(hit)
        graph = coo_matrix((np.ones(len(flat), np.int8), (flat // w, flat % w + h)), shape=(h + w,) * 2)
        _, label = connected_components(graph, directed=False)
        _, lead, which = np.unique(label[involved], return_index=True, return_inverse=True)
        leader = involved[lead[which]]
        self.join(nodes[involved], nodes[leader])

    def find(self, x: np.ndarray) -> np.ndarray:
        """Roots of the rows x (M,), with path halving."""
        x = np.array(x, dtype=np.int64)
        parent = self.parent
        while True:
            up = parent[x]
            moving = np.flatnonzero(up != x)
            if not len(moving):
                return x
            grand = parent[up[moving]]
            parent[x[moving]] = grand
            x[moving] = grand

    def components(self) -> np.ndarray:
        """Component label (N,) of each row: the smallest row of its component."""
        return self.find(np.arange(len(self.parent)))
