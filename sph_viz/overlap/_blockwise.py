"""Blockwise route: a float32 screen of the upper block triangle, then an exact float64 recheck.

The screen keeps, per block of the cosine matrix, every pair whose float32 cosine is within the
proven margin m of a decision: cos32 >= 1 - tau - m (may overlap), or cos32 >= running row max
- 2 m (may be a row's nearest neighbour). Only those pairs are recomputed in float64, so every
count and nearest-neighbour cosine is the float64 one: overlap candidates at once, neighbour
candidates once the row maxima have grown (most drop out by then). A block full of candidates
is recomputed as one float64 matrix product instead.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import numpy as np

try:  # comes with scikit-learn; without it, one worker and BLAS's own threads
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None

from sph_viz.overlap._graph import PairScan
from sph_viz.overlap._units import floor32, screen_margin

BLOCK_ROWS = 2048  # a 2048 x 2048 float32 block is 16 MiB: fast BLAS, memory bounded at any N
WORKERS = 2  # blocks screened at once
PENDING_MAX = 2**21  # neighbour candidates held back (40 MiB) before they are pruned or rechecked


def scan_blockwise(scan: PairScan, tau: float, on_progress: Callable[[float], None] | None = None) -> None:
    """Fill scan (over its float64 unit rows (n, d)) with exact neighbours and overlaps."""
    n = len(scan.units)
    if n == 0:  # every sample a zero vector: nothing to screen
        return
    screen = _Screen(scan, tau)
    starts = range(0, n, BLOCK_ROWS)
    blocks = [(i, j) for i in starts for j in starts if j >= i]  # cos is symmetric: upper triangle
    # One single-threaded BLAS call per worker: no thread waits on another inside a product, and
    # the numpy passes between products run in parallel too (both release the GIL).
    workers = min(WORKERS, len(blocks)) if threadpool_limits is not None else 1
    limit = threadpool_limits(1, user_api="blas") if workers > 1 else nullcontext()
    finished = 0
    with limit, ThreadPoolExecutor(workers) as pool:
        running: deque = deque()
        for block in blocks:
            running.append(pool.submit(screen.block, *block))
            while running and (len(running) > workers or block == blocks[-1]):  # a few blocks in memory
                running.popleft().result()
                finished += 1
                if on_progress:
                    on_progress(finished / len(blocks))
    screen.pending.flush()


class _Screen:
    """The float32 screen of one block at a time; shared state changes under one lock."""

    def __init__(self, scan: PairScan, tau: float):
        self.scan = scan
        self.units32 = scan.units.astype(np.float32)
        self.margin = screen_margin(scan.units.shape[1])
        self.may_overlap = 1.0 - tau - self.margin  # below this no float64 cosine reaches 1 - tau
        self.overlap_cut = floor32(np.array([self.may_overlap]))[0]
        self.top = np.full(len(scan.units), -np.inf, dtype=np.float32)  # running float32 row maxima
        self.pending = _Pending(scan, self.top, self.margin)
        self.lock = threading.Lock()

    def block(self, i: int, j: int) -> None:
        n = len(self.top)
        rows, cols = slice(i, min(n, i + BLOCK_ROWS)), slice(j, min(n, j + BLOCK_ROWS))
        cos = self.units32[rows] @ self.units32[cols].T
        if i == j:
            np.fill_diagonal(cos, -np.inf)  # never one's own neighbour
        row_max, col_max = cos.max(axis=1), cos.max(axis=0)
        with self.lock:
            np.maximum(self.top[rows], row_max, out=self.top[rows])
            np.maximum(self.top[cols], col_max, out=self.top[cols])
            row_top, col_top = self.top[rows].astype(np.float64), self.top[cols].astype(np.float64)
        # The true nearest neighbour's float32 cosine is >= its float64 one - m >= final max - 2 m,
        # and the running max only grows, so this band never drops it.
        row_cut = floor32(np.minimum(self.may_overlap, row_top - 2 * self.margin))
        col_cut = floor32(np.minimum(self.may_overlap, col_top - 2 * self.margin))
        pairs = _candidates(cos, row_max, col_max, row_cut, col_cut, diagonal=i == j)
        if pairs is None:  # most pairs are candidates: one float64 product beats gathering them
            del cos
            cos64 = np.clip(self.scan.units[rows] @ self.scan.units[cols].T, -1.0, 1.0)
            with self.lock:
                _dense_block(self.scan, cos64, rows, cols, diagonal=i == j)
            return
        a, b, cos32 = pairs
        may = cos32 >= self.overlap_cut
        with self.lock:
            self.scan.check_pairs(a[may] + i, b[may] + j)
            self.pending.add(a[~may] + i, b[~may] + j, cos32[~may])


class _Pending:
    """Neighbour candidates (a, b, float32 cosine) held until the running row maxima rule them out."""

    def __init__(self, scan: PairScan, top: np.ndarray, margin: float):
        self.scan, self.top, self.margin = scan, top, margin
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.size = 0

    def add(self, a: np.ndarray, b: np.ndarray, cos32: np.ndarray) -> None:
        self.parts.append((a, b, cos32))
        self.size += len(a)
        if self.size > PENDING_MAX:
            self._prune()
            if self.size > PENDING_MAX // 2:
                self.flush()

    def _prune(self) -> None:
        """Drop pairs below both rows' current band: the maxima only grow, so they stay out."""
        a, b, cos32 = (np.concatenate(arrays) for arrays in zip(*self.parts, strict=True))
        cut = floor32(self.top.astype(np.float64) - 2 * self.margin)
        keep = (cos32 >= cut[a]) | (cos32 >= cut[b])
        self.parts, self.size = [(a[keep], b[keep], cos32[keep])], int(keep.sum())

    def flush(self) -> None:
        if self.parts:
            self._prune()
            self.scan.check_pairs(*self.parts[0][:2])
        self.parts, self.size = [], 0


def _candidates(cos, row_max, col_max, row_cut, col_cut, diagonal: bool) -> tuple[np.ndarray, ...] | None:
    """Block-local candidate pairs (a, b), each once, or None when so many that the block goes dense.

    Only rows or columns whose max clears their cut can hold a candidate.
    """
    width = cos.shape[1]
    live_rows, live_cols = np.flatnonzero(row_max >= row_cut), np.flatnonzero(col_max >= col_cut)
    row_hit = cos[live_rows] >= row_cut[live_rows, None]  # whole rows: a cheap gather
    few_cols = 32 * len(live_cols) < width  # a column gather is strided: only worth it for a few
    col_hit = cos[:, live_cols] >= col_cut[live_cols] if few_cols else cos >= col_cut
    row_hit, col_hit = np.flatnonzero(row_hit), np.flatnonzero(col_hit)
    if 8 * (len(row_hit) + len(col_hit)) > cos.size:
        return None
    a, b = [live_rows[row_hit // width]], [row_hit % width]
    if few_cols:
        a.append(col_hit // max(1, len(live_cols)))
        b.append(live_cols[col_hit % max(1, len(live_cols))])
    else:
        a.append(col_hit // width)
        b.append(col_hit % width)
    a, b = np.concatenate(a), np.concatenate(b)
    if diagonal:  # rows and columns are the same samples: order each pair, drop self-pairs
        a, b = np.minimum(a, b), np.maximum(a, b)
        keep = a != b
        a, b = a[keep], b[keep]
    code = np.unique(a * width + b)
    return code // width, code % width, cos.ravel()[code]


def _dense_block(scan: PairScan, cos: np.ndarray, rows: slice, cols: slice, diagonal: bool) -> None:
    """Record a whole block of float64 cosines (h, w): each row's and column's best, and overlaps."""
    if diagonal:
        np.fill_diagonal(cos, -np.inf)
    local_r, local_c = np.arange(cos.shape[0]), np.arange(cos.shape[1])
    best_c, best_r = cos.argmax(axis=1), cos.argmax(axis=0)  # first maximum: smallest index
    scan.offer(local_r + rows.start, best_c + cols.start, cos[local_r, best_c])
    scan.offer(local_c + cols.start, best_r + rows.start, cos[best_r, local_c])
    hit = cos >= scan.threshold
    if diagonal:
        hit = np.triu(hit, 1)
    scan.join_block(hit, np.arange(rows.start, rows.stop), np.arange(cols.start, cols.stop))
