"""Training curves at step resolution: loss and accuracy against steps and seconds.

`CurveRecorder` sits
between `train_model` and the caller's callbacks (it forwards both).
With `progress_every=1` it sees the running epoch mean after every step and recovers each
batch's own loss and accuracy from it exactly; each probe snapshot gives a test accuracy.
Seconds are training seconds: the time spent evaluating the probe is taken out, so the
curves of two nets compare the cost of learning, not of watching.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from sph_viz.training.loop import Progress, Snapshot

CURVE_KEYS = ("steps", "seconds", "loss", "accuracy", "probe_steps", "probe_seconds", "probe_accuracy")


class CurveRecorder:
    """Records curves from `train_model`'s callbacks; `arrays()` gives them for `ExperimentResult.extras`.

    n: training samples, batch_size: as in the TrainConfig, probe_labels: (P,) labels of the probe.
    """

    def __init__(
        self,
        n: int,
        batch_size: int,
        probe_labels: np.ndarray,
        on_progress: Callable[[Progress], None] | None = None,
        on_snapshot: Callable[[Snapshot], None] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.n, self.batch_size = n, batch_size
        self.steps_per_epoch = -(-n // batch_size)
        self.probe_labels = np.asarray(probe_labels)
        self._forward_progress, self._forward_snapshot, self._clock = on_progress, on_snapshot, clock
        self.curves: dict[str, list[float]] = {k: [] for k in CURVE_KEYS}
        self._origin: float | None = None  # clock at the first snapshot (before the first step)
        self._paused = 0.0  # seconds spent in probe evaluations since the origin
        self._last_tick: float | None = None  # clock at the latest step
        self._sum = (0, 0.0, 0.0)  # (epoch, loss sum, correct) so far in the epoch

    def _train_seconds(self, now: float) -> float:
        return now - self._origin - self._paused

    def on_progress(self, p: Progress) -> None:
        now = self._clock()
        if self._origin is None:  # no snapshot before training (should not happen with train_model)
            self._origin = now
        step_in_epoch = p.step - (p.epoch - 1) * self.steps_per_epoch
        seen = min(step_in_epoch * self.batch_size, self.n)
        batch = seen - min((step_in_epoch - 1) * self.batch_size, self.n)
        epoch, loss_sum, correct = self._sum if self._sum[0] == p.epoch else (p.epoch, 0.0, 0.0)
        c = self.curves
        c["steps"].append(p.step)
        c["seconds"].append(self._train_seconds(now))
        c["loss"].append((p.loss * seen - loss_sum) / batch)  # this batch's own mean loss
        c["accuracy"].append((p.accuracy * seen - correct) / batch)
        self._sum = (epoch, p.loss * seen, p.accuracy * seen)
        self._last_tick = now
        if self._forward_progress:
            self._forward_progress(p)

    def on_snapshot(self, s: Snapshot) -> None:
        now = self._clock()
        if self._origin is None:
            self._origin, seconds = now, 0.0
        else:  # the probe was evaluated between the latest step and now
            tick = self._last_tick if self._last_tick is not None else self._origin
            seconds = self._train_seconds(tick)
            self._paused += now - tick
        self._last_tick = now
        c = self.curves
        c["probe_steps"].append(s.step)
        c["probe_seconds"].append(seconds)
        c["probe_accuracy"].append(float((np.asarray(s.predictions) == self.probe_labels).mean()))
        if self._forward_snapshot:
            self._forward_snapshot(s)

    def arrays(self) -> dict[str, np.ndarray]:
        """Every curve as an array: steps (S,) int64 and the rest float64; probe_* (E,)."""
        out = {k: np.asarray(v, dtype=np.float64) for k, v in self.curves.items()}
        out["steps"] = out["steps"].astype(np.int64)
        out["probe_steps"] = out["probe_steps"].astype(np.int64)
        return out
