"""Groups of overlapping samples: their members, the label mix inside them, and their angular span."""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import pdist

EXACT_SPAN_MAX = 2000  # distinct directions up to which a group's span is exact (pairwise, float64)


def split_groups(component: np.ndarray, overlapping: np.ndarray) -> list[np.ndarray]:
    """Index arrays of the overlapping samples by component (N,): largest first, ties by first index."""
    members = np.flatnonzero(overlapping)
    order = np.argsort(component[members], kind="stable")  # stable: members stay ascending
    members = members[order]
    cuts = np.flatnonzero(np.diff(component[members])) + 1
    groups = np.split(members, cuts) if len(members) else []
    groups.sort(key=lambda g: (-len(g), g[0]))
    return groups


def label_mix(groups: list[np.ndarray], labels: np.ndarray) -> tuple[int, int]:
    """(samples in groups holding more than one label, least errors of one answer per group)."""
    if not groups:
        return 0, 0
    _, codes = np.unique(labels, return_inverse=True)
    sizes = np.array([len(g) for g in groups])
    group_of = np.repeat(np.arange(len(groups)), sizes)
    code = codes[np.concatenate(groups)].ravel()
    pairs, counts = np.unique(group_of * (codes.max() + 1) + code, return_counts=True)
    owner = pairs // (codes.max() + 1)
    n_labels = np.bincount(owner, minlength=len(groups))
    most = np.zeros(len(groups), dtype=np.int64)
    np.maximum.at(most, owner, counts)
    return int(sizes[n_labels > 1].sum()), int((sizes - most).sum())


def group_spans(groups: list[np.ndarray], units: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Largest angle in degrees between two members of each group (len(groups),).

    units (n, d) holds the float64 unit rows of the distinct directions, position (N,) each
    sample's row there (-1 for zero vectors, which are one point: span 0). With up to
    EXACT_SPAN_MAX distinct directions the span is exact: float64 chords ||a - b|| over all pairs,
    angle = 2 asin(chord / 2), no cancellation at tiny angles. Larger groups get an upper bound:
    every member is within angle r of the mean direction m, so any two are within 2 r (triangle
    inequality on the sphere); capped at 180.
    """
    spans = np.zeros(len(groups))
    pairs = [k for k, g in enumerate(groups) if len(g) == 2]  # the usual group: one vectorised pass
    if pairs and len(units):  # no units: every group is of zero vectors
        a, b = position[np.array([groups[k] for k in pairs])].T
        chord = np.linalg.norm(units[a] - units[b], axis=1)
        spans[pairs] = np.where((a < 0) | (b < 0), 0.0, np.degrees(2 * np.arcsin(np.minimum(1.0, chord / 2))))
    for k, group in enumerate(groups):
        if len(group) == 2:
            continue
        rows = np.unique(position[group])
        rows = rows[rows >= 0]
        if len(rows) < 2:
            continue
        points = units[rows]
        if len(rows) <= EXACT_SPAN_MAX:
            spans[k] = _chord_degrees(pdist(points).max())
            continue
        mean = points.sum(axis=0)
        length = np.linalg.norm(mean)
        if length == 0:
            spans[k] = 180.0
            continue
        radius = _chord_degrees(np.linalg.norm(points - mean / length, axis=1).max())
        spans[k] = min(180.0, 2 * radius)
    return spans


def _chord_degrees(chord: float) -> float:
    return float(np.degrees(2 * np.arcsin(min(1.0, chord / 2))))
