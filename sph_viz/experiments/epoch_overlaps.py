"""Overlap as training goes: after every epoch, the test features' overlap counts on a τ ladder and NC1.

A run that keeps this bookkeeping (`fit(..., overlaps_by_epoch=True)`: Table 3 and CNN-Vis3D) holds,
in its extras, for epochs e = 1..E and the ladder's τ:
- `overlap_epochs` (E,), `overlap_taus` (T,), `overlap_test_accuracy` (E,),
- `overlap_counts` (E, T, 3): # overlapping, # errors among them, # in groups that mix labels,
  each the exact `overlap_stats` of the test features, labels and predictions after that epoch,
- `nc1` (E,): `sph_viz.analysis.collapse.nc1` of the same features.
`overlaps_by_epoch` turns them into the rows `metrics.json` stores.
"""

from __future__ import annotations

import math

import numpy as np

from sph_viz.analysis.collapse import nc1
from sph_viz.overlap import overlap_stats

TAU_LADDER = (1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2)  # the paper's τ = 1e-6 among them


def nearest_ladder_tau(tau: float) -> float:
    """The ladder's τ nearest to tau on a log scale."""
    return min(TAU_LADDER, key=lambda t: abs(math.log10(t) - math.log10(tau)))


class EpochOverlaps:
    """Collects one row per evaluated epoch: `record(epoch, features, predictions, accuracy)`."""

    def __init__(self, labels, taus=TAU_LADDER) -> None:
        self.labels = np.asarray(labels)
        self.taus = tuple(float(t) for t in taus)
        self.epochs: list[int] = []
        self.counts: list[list[tuple[int, int, int]]] = []
        self.accuracy: list[float] = []
        self.nc1: list[float] = []

    def record(self, epoch: int, features, predictions, accuracy: float) -> None:
        rows = []
        for tau in self.taus:
            s = overlap_stats(features, self.labels, predictions, tau)
            rows.append((s.n_overlap, s.n_error, s.n_unavoidable))
        self.epochs.append(int(epoch))
        self.counts.append(rows)
        self.accuracy.append(float(accuracy))
        self.nc1.append(nc1(features, self.labels))

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "overlap_epochs": np.asarray(self.epochs, dtype=np.int64),
            "overlap_taus": np.asarray(self.taus, dtype=np.float64),
            "overlap_counts": np.asarray(self.counts, dtype=np.int64).reshape(
                len(self.epochs), len(self.taus), 3
            ),
            "overlap_test_accuracy": np.asarray(self.accuracy, dtype=np.float64),
            "nc1": np.asarray(self.nc1, dtype=np.float64),
        }


def overlaps_by_epoch(extras: dict) -> list[dict]:
    """The rows of `metrics.json`: {epoch, tau, n_overlap, n_error, n_unavoidable, test_accuracy}
    for every epoch and τ of a run's extras (empty for a run without the bookkeeping)."""
    if "overlap_counts" not in extras:
        return []
    counts = np.asarray(extras["overlap_counts"])
    rows = []
    for i, epoch in enumerate(np.asarray(extras["overlap_epochs"])):
        for j, tau in enumerate(np.asarray(extras["overlap_taus"])):
            n_overlap, n_error, n_unavoidable = (int(v) for v in counts[i, j])
            rows.append(
                {
                    "epoch": int(epoch),
                    "tau": float(tau),
                    "n_overlap": n_overlap,
                    "n_error": n_error,
                    "n_unavoidable": n_unavoidable,
                    "test_accuracy": float(extras["overlap_test_accuracy"][i]),
                }
            )
    return rows


def nc1_by_epoch(extras: dict) -> list[dict]:
    """{epoch, nc1} per epoch (empty without the bookkeeping)."""
    if "nc1" not in extras:
        return []
    return [
        {"epoch": int(e), "nc1": float(v)}
        for e, v in zip(np.asarray(extras["overlap_epochs"]), np.asarray(extras["nc1"]), strict=True)
    ]
