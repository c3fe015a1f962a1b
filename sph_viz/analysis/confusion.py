"""Confusion matrices: counts of (true, predicted) pairs, and the samples behind each cell."""

from __future__ import annotations

import numpy as np


def _classes(labels, predictions) -> tuple[np.ndarray, np.ndarray]:
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    if labels.ndim != 1 or labels.shape != predictions.shape:
        raise ValueError(
            "labels and predictions must be 1-D of the same length. "
            f"Got shapes {labels.shape} and {predictions.shape} instead."
        )
    for name, a in (("labels", labels), ("predictions", predictions)):
        if a.size and (not np.issubdtype(a.dtype, np.integer) or a.min() < 0):
            raise ValueError(
                f"{name} must be non-negative integers. Got {a.dtype} with minimum {a.min()} instead."
            )
    return labels, predictions


def compute_confusion(labels, predictions, n_classes: int | None = None) -> np.ndarray:
    """Counts (C, C) of samples with true class i (row) predicted as j (column), int64.

    C is n_classes, or one more than the largest class seen (labels (N,), predictions (N,)).
    """
    labels, predictions = _classes(labels, predictions)
    seen = int(max(labels.max(initial=-1), predictions.max(initial=-1))) + 1
    n = seen if n_classes is None else n_classes
    if n < seen:
        raise ValueError(f"n_classes must be > the largest class {seen - 1}. Got {n_classes} instead.")
    return np.bincount(labels * n + predictions, minlength=n * n).reshape(n, n).astype(np.int64)


def cell_members(labels, predictions, true: int, predicted: int) -> np.ndarray:
    """Indices (k,) of the samples with label `true` predicted as `predicted`, ascending."""
    labels, predictions = _classes(labels, predictions)
    return np.flatnonzero((labels == true) & (predictions == predicted))


def nonempty_cells(matrix: np.ndarray) -> list[tuple[int, int, int]]:
    """(true, predicted, count) of every non-empty cell: errors first, most frequent first, then
    the correct cells by class (ties by true class, then predicted)."""
    matrix = np.asarray(matrix)
    rows, cols = np.nonzero(matrix)
    cells = [(int(i), int(j), int(matrix[i, j])) for i, j in zip(rows, cols, strict=True)]
    return sorted(cells, key=lambda c: (c[0] == c[1], -c[2] if c[0] != c[1] else 0, c[0], c[1]))
