"""Training in a background thread, observed through a job record (no UI calls inside).

A `TrainingJob` runs a list of named tasks (each returns an `ExperimentResult`) one after
another in a daemon thread. The UI polls `job.view()` and may call `job.stop()`: the
running task finishes its current step and returns the model as it is.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sph_viz.experiments import ExperimentResult
from sph_viz.train import Progress, Snapshot, TrainingDiverged

Task = Callable[..., ExperimentResult]  # called with on_progress, on_snapshot, should_stop


@dataclass
class JobView:
    """A consistent copy of the job's state for drawing."""

    status: str  # "running", "done", "stopped", "failed"
    current: str | None  # name of the task in progress
    progress: Progress | None
    snapshot: Snapshot | None  # latest representation of the running task
    results: dict[str, ExperimentResult]
    errors: dict[str, str]
    elapsed: float
    n_tasks: int


@dataclass
class TrainingJob:
    tasks: dict[str, Task]
    status: str = "running"
    current: str | None = None
    progress: Progress | None = None
    snapshot: Snapshot | None = None
    results: dict[str, ExperimentResult] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    on_result: Callable[[str, ExperimentResult], None] | None = None
    started: float = field(default_factory=time.perf_counter)
    finished: float | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="sph-viz-train")

    def start(self) -> TrainingJob:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the job to stop; the running task keeps what it has learnt."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def view(self) -> JobView:
        with self._lock:
            end = self.finished or time.perf_counter()
            return JobView(
                self.status,
                self.current,
                self.progress,
                self.snapshot,
                dict(self.results),
                dict(self.errors),
                end - self.started,
                len(self.tasks),
            )

    def _set(self, **changes) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self, key, value)

    def _run(self) -> None:
        for name, task in self.tasks.items():
            if self._stop.is_set():
                break
            self._set(current=name, progress=None, snapshot=None)
            try:
                result = task(
                    on_progress=lambda p: self._set(progress=p),
                    on_snapshot=lambda s: self._set(snapshot=s),
                    should_stop=self._stop.is_set,
                )
            except TrainingDiverged as exc:
                self._set(errors={**self.errors, name: str(exc)})
                continue
            except Exception as exc:  # a job must never die silently: report and go on
                self._set(errors={**self.errors, name: f"{type(exc).__name__}: {exc}"})
                continue
            with self._lock:
                self.results[name] = result
            if self.on_result and not result.train.stopped:
                try:
                    self.on_result(name, result)
                except Exception as exc:  # e.g. a full disk: the result stays in memory
                    self._set(errors={**self.errors, name: f"not cached: {exc}"})
        status = (
            "stopped" if self._stop.is_set() else ("failed" if self.errors and not self.results else "done")
        )
        self._set(status=status, current=None, finished=time.perf_counter())
