"""Cosine-overlap statistics (the paper's Table 3).

A sample *overlaps* when its cosine similarity to at least one other sample is >= 1 - tau.
After a projection onto the sphere such samples are one point to the classifier, so the
errors among them are errors the head cannot avoid.

Zero vectors have no direction. Every projection in this project maps them to the zero
vector, so they are indistinguishable from each other and from nothing else: two zero
vectors have cosine 1, a zero and a non-zero vector cosine 0. A row is a zero vector only when
all its entries are exactly 0. NaN or Inf features raise `ValueError`: no count is made from them.

Every count and cosine is the float64 one. Rows are scaled by a power of two before they are
normalised, so tiny (1e-200) and huge (1e300) rows keep their direction. Rows with bit-identical
directions are merged first (cosine exactly 1); the distinct directions go through one of two
exact routes: `overlap_blockwise` (a float32 screen with a proven margin, then a float64 recheck)
or, for d <= KDTREE_MAX_D, `overlap_kdtree` (chord-radius searches, then a float64 recheck).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

from sph_viz.overlap._blockwise import scan_blockwise
from sph_viz.overlap._graph import PairScan
from sph_viz.overlap._groups import group_spans, label_mix, split_groups
from sph_viz.overlap._kdtree import scan_kdtree
from sph_viz.overlap._units import first_copies, unit_rows

DEFAULT_TAU = 1e-6
KDTREE_MAX_D = 8  # up to here a KD-tree beats any all-pairs product ("auto" picks it)
METHODS = ("auto", "blockwise", "kdtree")


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
    n_unavoidable: int  # overlapping samples whose group holds more than one distinct label
    # sum over groups of (size - count of its most common label): the fewest errors that any
    # classifier giving one answer per group must make
    n_unavoidable_errors: int
    # (len(groups),) largest angle between two members, degrees: exact up to
    # overlap_groups.EXACT_SPAN_MAX distinct directions, an upper bound beyond
    group_span_deg: np.ndarray

    def table_row(self) -> dict[str, float | int | None]:
        """The paper's columns as plain numbers (ratio and span None when nothing overlaps)."""
        ratio = None if np.isnan(self.ratio) else self.ratio
        span = float(self.group_span_deg.max()) if len(self.group_span_deg) else None
        return {
            "n_overlap": self.n_overlap,
            "n_error": self.n_error,
            "ratio": ratio,
            "n_unavoidable": self.n_unavoidable,
            "n_unavoidable_errors": self.n_unavoidable_errors,
            "max_group_span_deg": span,
        }


class NearestCosines(NamedTuple):
    """Exact float64 nearest neighbours and overlap components of N samples."""

    nn_cosine: np.ndarray  # (N,) float64, NaN when N == 1
    nn_index: np.ndarray  # (N,) int64, -1 when N == 1
    overlapping: np.ndarray  # (N,) bool
    component: np.ndarray  # (N,) int64: smallest sample index of each sample's overlap component


def validate_tau(tau: float) -> float:
    """tau must be a real number (not a bool) in (0, 1)."""
    if isinstance(tau, (bool, np.bool_)) or not isinstance(tau, numbers.Real) or not 0.0 < tau < 1.0:
        raise ValueError(f"tau must be in (0, 1). Got {tau!r} instead.")
    return float(tau)


def _check_method(method: str) -> str:
    if method not in METHODS:
        raise ValueError(f"method must be 'auto', 'blockwise' or 'kdtree'. Got {method!r} instead.")
    return method


def _as_features(features) -> np.ndarray:
    """A float64 copy (N, d) of features, checked: 2-D, N >= 1, d >= 1, real, finite."""
    x = np.asarray(features.detach().cpu() if torch.is_tensor(features) else features)
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"features must have shape (N, d) with N >= 1 and d >= 1. Got {x.shape} instead.")
    if x.dtype.kind not in "biuf":
        raise ValueError(f"features must be real numbers. Got dtype {x.dtype} instead.")
    x = np.array(x, dtype=np.float64)  # a copy: it is normalised in place
    bad = np.flatnonzero(~np.isfinite(x).all(axis=1))
    if len(bad):
        rows = ", ".join(map(str, bad[:5])) + (", ..." if len(bad) > 5 else "")
        raise ValueError(f"features contain NaN or Inf in {len(bad)} rows ({rows}).")
    return x


def _label_kind(values: np.ndarray, name: str) -> str:
    kind = values.dtype.kind
    if kind in "biu" or (kind == "f" and np.isfinite(values).all() and (values == np.round(values)).all()):
        return "integer"
    if kind in "US" or (kind == "O" and all(isinstance(v, str) for v in values)):
        return "string"
    raise ValueError(f"{name} must be integer class ids or strings. Got dtype {values.dtype} instead.")


def _as_labels(labels, predictions, n: int) -> tuple[np.ndarray, np.ndarray]:
    """labels and predictions as 1-D arrays of length n and one kind (integers or strings)."""
    arrays = []
    for name, values in (("labels", labels), ("predictions", predictions)):
        values = np.asarray(values.detach().cpu() if torch.is_tensor(values) else values)
        if values.ndim != 1:  # never ravel: (N, 2) is not 2N labels
            raise ValueError(f"{name} must be 1-D, one per sample. Got shape {values.shape} instead.")
        arrays.append(values)
    if len(arrays[0]) != n or len(arrays[1]) != n:
        raise ValueError(
            f"features, labels and predictions must be equally long. "
            f"Got {n}, {len(arrays[0])} and {len(arrays[1])} instead."
        )
    kinds = [_label_kind(a, name) for a, name in zip(arrays, ("labels", "predictions"), strict=True)]
    if kinds[0] != kinds[1]:
        raise ValueError(
            f"labels and predictions must both be integers or both be strings. "
            f"Got {kinds[0]} labels and {kinds[1]} predictions instead."
        )
    return arrays[0], arrays[1]


def _scan(x, tau: float, on_progress, method: str) -> tuple[NearestCosines, np.ndarray, np.ndarray]:
    """Exact neighbours of the checked features x (N, d), overwritten; also the distinct unit rows
    (n, d) and each sample's row among them (N,), -1 for zero vectors."""
    n, d = x.shape
    units, zero = unit_rows(x)
    first = first_copies(units, zero)
    live = np.flatnonzero(~zero)
    reps = live[first[live] == live]  # one row per distinct direction: its smallest index
    position = np.full(n, -1, dtype=np.int64)
    position[live] = np.searchsorted(reps, first[live])
    scan = PairScan(units if len(reps) == n else units[reps], tau)
    if method == "auto":
        method = "kdtree" if d <= KDTREE_MAX_D else "blockwise"
    if method == "blockwise" or not scan_kdtree(scan, tau):
        scan_blockwise(scan, tau, on_progress)
    elif on_progress:
        on_progress(1.0)
    return _per_sample(scan, reps, position), scan.units, position


def _per_sample(scan: PairScan, reps: np.ndarray, position: np.ndarray) -> NearestCosines:
    """The scan over distinct directions, spread back over all samples, copies and zero vectors."""
    n = len(position)
    live, zeros = np.flatnonzero(position >= 0), np.flatnonzero(position < 0)
    pos = position[live]
    nn_cos, nn_idx = np.full(n, -np.inf), np.full(n, -1, dtype=np.int64)
    nn_cos[live] = scan.best[pos]
    found = scan.arg[pos] >= 0
    nn_idx[live[found]] = reps[scan.arg[pos[found]]]
    component = np.arange(n, dtype=np.int64)
    component[live] = reps[scan.components()[pos]]
    # Copies of one direction have cosine exactly 1 to each other. The smallest copy's nearest is
    # the second smallest, every other copy's the smallest.
    counts = np.bincount(pos, minlength=len(reps))
    overlapping = np.zeros(n, dtype=bool)
    overlapping[live] = scan.overlapping[pos] | (counts[pos] > 1)
    copies = live[counts[pos] > 1]
    if len(copies):
        by_rep = copies[np.argsort(position[copies], kind="stable")]  # runs of one direction, ascending
        heads = np.flatnonzero(np.r_[True, position[by_rep[1:]] != position[by_rep[:-1]]])
        second = np.full(len(reps), -1, dtype=np.int64)
        second[position[by_rep[heads]]] = by_rep[heads + 1]  # every run holds two copies or more
        lead = reps[position[copies]]
        nn_cos[copies] = 1.0
        nn_idx[copies] = np.where(copies == lead, second[position[copies]], lead)
    if len(zeros):
        below = live[nn_cos[live] < 0]  # a zero vector (cosine 0) is nearer than these rows' best
        nn_cos[below], nn_idx[below] = 0.0, zeros[0]
        if len(zeros) > 1:
            nn_cos[zeros], nn_idx[zeros] = 1.0, np.where(zeros == zeros[0], zeros[1], zeros[0])
            overlapping[zeros], component[zeros] = True, zeros[0]
        elif len(live):
            nn_cos[zeros], nn_idx[zeros] = 0.0, live[0]
    if n == 1:
        nn_cos[:], nn_idx[:] = np.nan, -1
    return NearestCosines(nn_cos, nn_idx, overlapping, component)


def compute_nearest_cosines(
    features,
    tau: float = DEFAULT_TAU,
    on_progress: Callable[[float], None] | None = None,
    method: str = "auto",
) -> NearestCosines:
    """Exact float64 nearest neighbours (N,) and overlap components (N,) of features (N, d).

    Memory is bounded by one block of candidate pairs, whatever the number of overlaps.
    """
    x = _as_features(features)
    return _scan(x, validate_tau(tau), on_progress, _check_method(method))[0]


def overlap_stats(
    features,
    labels,
    predictions,
    tau: float = DEFAULT_TAU,
    on_progress: Callable[[float], None] | None = None,
    method: str = "auto",
) -> OverlapStats:
    """Overlap statistics of features (N, d) with labels (N,) and predictions (N,).

    method: "blockwise", "kdtree" (falls back to blockwise when a tree would hold too many
    candidate pairs) or "auto" (kdtree for d <= KDTREE_MAX_D). All give the same exact answer.
    """
    x = _as_features(features)
    labels, predictions = _as_labels(labels, predictions, len(x))
    tau, method = validate_tau(tau), _check_method(method)
    near, units, position = _scan(x, tau, on_progress, method)
    n = len(x)
    groups = split_groups(near.component, near.overlapping)
    n_overlap = int(near.overlapping.sum())
    n_error = int((labels[near.overlapping] != predictions[near.overlapping]).sum())
    ratio = n_error / n_overlap if n_overlap else float("nan")
    n_unavoidable, n_unavoidable_errors = label_mix(groups, labels)
    return OverlapStats(
        tau,
        n,
        n_overlap,
        n_error,
        ratio,
        near.overlapping,
        groups,
        near.nn_cosine,
        near.nn_index,
        int((position < 0).sum()),
        n_unavoidable,
        n_unavoidable_errors,
        group_spans(groups, units, position),
    )


def nearest_neighbours(features, index: int, k: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest other samples to features[index]: indices (k,) and float64 cosines (k,).

    Sorted by cosine descending, ties by index; fewer than k when N - 1 < k.
    """
    x = _as_features(features)
    n = len(x)
    for name, value, low, high in (("index", index, 0, n), ("k", k, 1, None)):
        integral = isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))
        if not integral or value < low or (high is not None and value >= high):
            span = f"[{low}, {high})" if high is not None else f">= {low}"
            raise ValueError(f"{name} must be an integer {span}. Got {value!r} instead.")
    units, zero = unit_rows(x)
    if zero[index]:
        cos = zero.astype(np.float64)
    else:
        cos = np.clip(units @ units[index], -1.0, 1.0)
        cos[(units == units[index]).all(axis=1)] = 1.0  # same direction, bit for bit
    others = np.delete(np.arange(n), index)
    order = np.lexsort((others, -cos[others]))[:k]
    return others[order], cos[others][order]
