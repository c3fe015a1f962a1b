"""Cosine-overlap statistics (the paper's Table 3).

A sample *overlaps* when its cosine similarity to at least one other sample is >= 1 - tau.
After a projection onto the sphere such samples are one point to the classifier, so the
errors among them are errors the head cannot avoid.

Zero vectors have no direction. Every projection in this project maps them to the zero
vector, so they are indistinguishable from each other and from nothing else: two zero
vectors have cosine 1, a zero and a non-zero vector cosine 0. NaN or Inf features raise
`ValueError`: no count is made from them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

DEFAULT_TAU = 1e-6
_BLOCK_BYTES = 128 * 2**20  # one block of the cosine matrix, float64


@dataclass
class OverlapStats:
    """Table-3 numbers for one set of features, plus what is needed to inspect them."""

    tau: float
    n_samples: int
    n_overlap: int  # samples with cos >= 1 - tau to some other sample
    n_error: int  # overlapping samples whose prediction != label
    ratio: float  # n_error / n_overlap; NaN when nothing overlaps
    overlapping: np.ndarray  # (N,) bool
    groups: list[np.ndarray]  # connected sets of overlapping samples, largest first
    nn_cosine: np.ndarray  # (N,) float64: cosine to the nearest other sample (NaN if N == 1)
    nn_index: np.ndarray  # (N,) int64: index of that sample (-1 when N == 1)
    n_zero: int  # zero feature vectors

    def table_row(self) -> dict[str, float | int | None]:
        """The paper's columns as plain numbers (ratio None when nothing overlaps)."""
        ratio = None if np.isnan(self.ratio) else self.ratio
        return {"n_overlap": self.n_overlap, "n_error": self.n_error, "ratio": ratio}


def validate_tau(tau: float) -> float:
    """tau must be a number in (0, 1)."""
    if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not 0.0 < tau < 1.0:
        raise ValueError(f"tau must be in (0, 1). Got {tau!r} instead.")
    return float(tau)


def _as_features(features) -> np.ndarray:
    x = np.asarray(features.detach().cpu() if torch.is_tensor(features) else features)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(f"features must have shape (N, d) with N >= 1. Got {x.shape} instead.")
    x = x.astype(np.float64, copy=False)
    bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
    if len(bad):
        rows = ", ".join(map(str, bad[:5])) + (", ..." if len(bad) > 5 else "")
        raise ValueError(f"features contain NaN or Inf in {len(bad)} rows ({rows}).")
    return x


def compute_nearest_cosines(
    features, tau: float = DEFAULT_TAU, on_progress: Callable[[float], None] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact nearest-neighbour cosines in float64, blockwise (memory ~128 MiB at any N).

    Returns nn_cosine (N,), nn_index (N,) and the overlapping pairs (M, 2) with i < j.
    """
    x = _as_features(features)
    tau = validate_tau(tau)
    n = len(x)
    norms = np.linalg.norm(x, axis=1)
    zero = norms == 0
    units = torch.from_numpy(np.divide(x, norms[:, None], out=np.zeros_like(x), where=~zero[:, None]))
    zero_t = torch.from_numpy(zero)
    nn_cos, nn_idx, pairs = np.full(n, -np.inf), np.full(n, -1, dtype=np.int64), []
    block = max(1, _BLOCK_BYTES // (8 * n))
    for start in range(0, n, block):
        stop = min(n, start + block)
        cos = units[start:stop] @ units.T  # (b, N)
        cos[zero_t[start:stop, None] & zero_t[None, :]] = 1.0
        rows = torch.arange(stop - start)
        cos[rows, rows + start] = -torch.inf  # never one's own neighbour
        best, arg = cos.max(dim=1)
        nn_cos[start:stop], nn_idx[start:stop] = best.numpy(), arg.numpy()
        i, j = torch.nonzero(cos >= 1.0 - tau, as_tuple=True)
        keep = i + start < j
        pairs.append(torch.stack([i[keep] + start, j[keep]], 1).numpy())
        if on_progress:
            on_progress(stop / n)
    if n == 1:
        nn_cos[:], nn_idx[:] = np.nan, -1
    return nn_cos, nn_idx, np.concatenate(pairs).astype(np.int64)


def overlap_stats(
    features,
    labels,
    predictions,
    tau: float = DEFAULT_TAU,
    on_progress: Callable[[float], None] | None = None,
) -> OverlapStats:
    """Overlap statistics of features (N, d) with labels (N,) and predictions (N,)."""
    x = _as_features(features)
    labels, predictions = np.asarray(labels).ravel(), np.asarray(predictions).ravel()
    nn_cos, nn_idx, pairs = compute_nearest_cosines(x, tau, on_progress)
    n = len(nn_cos)
    if len(labels) != n or len(predictions) != n:
        raise ValueError(
            f"features, labels and predictions must be equally long. "
            f"Got {n}, {len(labels)} and {len(predictions)} instead."
        )
    overlapping = np.zeros(n, dtype=bool)
    overlapping[pairs.ravel()] = True
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    members = np.flatnonzero(overlapping)
    groups = [members[component[members] == c] for c in np.unique(component[members])]
    groups.sort(key=lambda g: (-len(g), g[0]))
    n_overlap = int(overlapping.sum())
    n_error = int((labels[overlapping] != predictions[overlapping]).sum())
    ratio = n_error / n_overlap if n_overlap else float("nan")
    n_zero = int((np.linalg.norm(x, axis=1) == 0).sum())
    return OverlapStats(tau, n, n_overlap, n_error, ratio, overlapping, groups, nn_cos, nn_idx, n_zero)
