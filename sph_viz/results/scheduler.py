"""One queue for every training of a server: at most N at once, FIFO, identical runs shared.

Every session's request goes through one `Scheduler` (no Streamlit here: the app passes in how
to tell whether a session is still there). A request is a few named runs, each identified by
the key of its full configuration:
- a run whose key is already queued or running is **attached to**, not trained again: one
  training, and everyone attached sees its progress and gets its result;
- at most `max_running` runs train at once (default 1 on a CPU with 4 cores or fewer); the
  rest wait in FIFO order, and a request's view says its place in the queue and an estimate;
- a session has one live request: a new one *replaces* the previous (a student who changes the
  settings and presses Train again wants the new run, not both);
- Stop by the only session attached ends training early and keeps the model (as before); with
  others attached it only detaches the one who pressed it;
- a run every attached session has left (tab closed, session expired; `grace` seconds without
  one) is cancelled: it stops at its next step and nothing is saved;
- `shutdown()` (also at interpreter exit) cancels everything and joins the workers, so the
  process exits without a training thread inside torch.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import uuid
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from sph_viz.experiments.result import ExperimentResult
from sph_viz.training.cancel import Cancelled, cancellable
from sph_viz.training.loop import Progress, Snapshot, TrainingDiverged

log = logging.getLogger("sph_viz.results.scheduler")
Task = Callable[..., ExperimentResult]  # called with on_progress, on_snapshot, should_stop
MAX_RUNNING_ENV = "SPH_VIZ_MAX_TRAININGS"
QUEUED, RUNNING, DONE, STOPPED, FAILED, CANCELLED = (
    "queued",
    "running",
    "done",
    "stopped",
    "failed",
    "cancelled",
)
FINISHED = (DONE, STOPPED, FAILED, CANCELLED)


def default_max_running() -> int:
    """$SPH_VIZ_MAX_TRAININGS, else 1 on a CPU with <= 4 cores (a training uses them all), else 2."""
    value = os.environ.get(MAX_RUNNING_ENV, "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"{MAX_RUNNING_ENV} must be a whole number >= 1. Got {value!r} instead.")
        return int(value)
    return 1 if (os.cpu_count() or 1) <= 4 else 2


@dataclass(eq=False)
class Run:
    """One training of one configuration, shared by every session attached to it."""

    key: str
    name: str
    task: Task
    on_result: Callable[[str, ExperimentResult], None] | None = None
    status: str = QUEUED
    progress: Progress | None = None
    snapshot: Snapshot | None = None
    result: ExperimentResult | None = None
    error: str | None = None
    owners: set[str] = field(default_factory=set)
    queued_at: float = field(default_factory=time.monotonic)
    started_at: float | None = None
    finished_at: float | None = None
    last_seen: float = field(default_factory=time.monotonic)  # when an owner was last known alive

    def __post_init__(self) -> None:
        self.stop_event = threading.Event()  # end early, keep the model
        self.cancel_event = threading.Event()  # abort, keep nothing
        self.done = threading.Event()
        self.checked = 0.0

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    def remaining(self, typical: float | None) -> float | None:
        """Seconds this run still needs: from its progress, else the typical run's length."""
        if self.status == RUNNING and self.progress and self.progress.fraction > 0 and self.started_at:
            spent = time.monotonic() - self.started_at
            return spent * (1 - self.progress.fraction) / self.progress.fraction
        return typical


@dataclass
class JobView:
    """A consistent copy of a request's state for drawing."""

    status: str  # "running" (queued or training), "done", "stopped", "failed"
    current: str | None  # name of the run in progress or next in line
    progress: Progress | None
    snapshot: Snapshot | None  # latest representation of the current run
    results: dict[str, ExperimentResult]
    errors: dict[str, str]
    elapsed: float
    n_tasks: int
    phase: str = ""  # "queued", "training", "stopping", "evaluating"
    queue_position: int | None = None  # 1 = next to start
    wait_s: float | None = None  # estimated seconds until the current run starts
    remaining_s: float | None = None  # estimated seconds until the current run ends
    shared_with: int = 0  # other sessions attached to the current run


class Ticket:
    """A session's request: the runs it asked for, viewed and stopped as one job."""

    def __init__(self, scheduler: Scheduler, owner: str, runs: dict[str, Run]) -> None:
        self.scheduler, self.owner, self.runs = scheduler, owner, runs
        self.started = time.monotonic()
        self.detached: dict[str, str] = {}  # run name -> why this session left it

    @property
    def alive(self) -> bool:
        return any(not r.finished and n not in self.detached for n, r in self.runs.items())

    def stop(self) -> None:
        self.scheduler.stop(self)

    def join(self, timeout: float | None = None) -> None:
        end = None if timeout is None else time.monotonic() + timeout
        for name, run in self.runs.items():
            if name not in self.detached:
                run.done.wait(None if end is None else max(0.0, end - time.monotonic()))

    def view(self) -> JobView:
        return self.scheduler.view(self)


class Scheduler:
    def __init__(
        self,
        max_running: int | None = None,
        *,
        is_alive: Callable[[str], bool] | None = None,
        grace: float = 30.0,
        check_every: float = 2.0,
    ) -> None:
        self.max_running = max_running or default_max_running()
        self.is_alive = is_alive or (lambda owner: True)
        self.grace, self.check_every = grace, check_every
        self._cv = threading.Condition()
        self._queue: deque[Run] = deque()
        self._active: dict[str, Run] = {}  # key -> queued or running run
        self._tickets: dict[str, Ticket] = {}  # owner -> its latest request
        self._workers: list[threading.Thread] = []
        self._closed = False
        self.durations: list[float] = []  # seconds of runs that finished training, for estimates
        self.started_keys: list[str] = []  # every run started, in order
        _ALL.add(self)

    # ------------------------------------------------------------------ requests

    def submit(
        self,
        owner: str,
        tasks: dict[str, tuple[str | None, Task]],
        on_result: Callable[[str, ExperimentResult], None] | None = None,
    ) -> Ticket:
        """Queue the runs {name: (key, task)} for owner; a key None is never shared."""
        with self._cv:
            if self._closed:
                raise RuntimeError("the server is shutting down; no new training starts")
            previous = self._tickets.get(owner)
            if previous is not None and previous.alive:
                self._detach(previous, "replaced by this session's newer request")
            runs = {}
            for name, (key, task) in tasks.items():
                key = key or f"unshared-{uuid.uuid4().hex}"
                run = self._active.get(key)
                if run is None or run.cancel_event.is_set() or run.stop_event.is_set():
                    run = Run(key, name, task, on_result)
                    self._active[key] = run
                    self._queue.append(run)
                run.owners.add(owner)
                run.last_seen = time.monotonic()
                runs[name] = run
            ticket = Ticket(self, owner, runs)
            self._tickets[owner] = ticket
            while len(self._workers) < self.max_running:
                worker = threading.Thread(
                    target=self._work, daemon=True, name=f"sph-viz-train-{len(self._workers)}"
                )
                self._workers.append(worker)
                worker.start()
            self._cv.notify_all()
        return ticket

    def stop(self, ticket: Ticket) -> None:
        """The requester's Stop: detach it; a run nobody else watches ends early, model kept."""
        with self._cv:
            for name, run in ticket.runs.items():
                if run.finished or name in ticket.detached:
                    continue
                others = run.owners - {ticket.owner}
                if others:
                    run.owners.discard(ticket.owner)
                    ticket.detached[name] = (
                        f"left to the {len(others)} other session(s) on it; its result goes to the cache"
                    )
                elif run.status == QUEUED:
                    self._finish(run, CANCELLED, "stopped before it started")
                else:
                    run.stop_event.set()

    def _detach(self, ticket: Ticket, why: str) -> None:
        for name, run in ticket.runs.items():
            if run.finished or name in ticket.detached:
                continue
            run.owners.discard(ticket.owner)
            ticket.detached[name] = why
            if not run.owners:
                self._cancel(run, "cancelled: no session is waiting for it")

    def _cancel(self, run: Run, why: str) -> None:
        run.cancel_event.set()
        if run.status == QUEUED:
            self._finish(run, CANCELLED, why)

    def _finish(self, run: Run, status: str, error: str | None = None) -> None:
        """Under the lock: the run's final state, out of the queue and the active table."""
        run.status, run.error, run.finished_at = status, error, time.monotonic()
        if run in self._queue:
            self._queue.remove(run)
        if self._active.get(run.key) is run:
            del self._active[run.key]
        run.done.set()
        self._cv.notify_all()

    # ------------------------------------------------------------------ views

    def typical_duration(self) -> float | None:
        return sum(self.durations[-10:]) / len(self.durations[-10:]) if self.durations else None

    def view(self, ticket: Ticket) -> JobView:
        with self._cv:
            runs = ticket.runs
            results = {
                n: r.result for n, r in runs.items() if r.result is not None and n not in ticket.detached
            }
            errors = {n: r.error for n, r in runs.items() if r.error and n not in ticket.detached}
            errors |= {n: f"not yours any more: {why}" for n, why in ticket.detached.items()}
            waiting = [(n, r) for n, r in runs.items() if not r.finished and n not in ticket.detached]
            alive = bool(waiting)
            if alive:
                status = "running"
            elif any(r.status == STOPPED for r in runs.values()):
                status = "stopped"
            elif errors and not results:
                status = "failed"
            else:
                status = "done"
            current, run = waiting[0] if waiting else (None, None)
            view = JobView(
                status,
                current,
                run.progress if run else None,
                run.snapshot if run else None,
                results,
                errors,
                time.monotonic() - ticket.started,
                len(runs),
            )
            if run is not None:
                typical = self.typical_duration()
                view.shared_with = len(run.owners - {ticket.owner})
                view.remaining_s = run.remaining(typical)
                if run.status == QUEUED:
                    view.phase = "queued"
                    view.queue_position = list(self._queue).index(run) + 1
                    view.wait_s = self._wait_estimate(run, typical)
                elif run.stop_event.is_set():
                    view.phase = "stopping"
                elif run.progress and run.progress.step >= run.progress.total_steps:
                    view.phase = "evaluating"
                else:
                    view.phase = "training"
            return view

    def _wait_estimate(self, run: Run, typical: float | None) -> float | None:
        """Seconds until run starts: what is running and what is ahead, over the parallel slots."""
        running = [r for r in self._active.values() if r.status == RUNNING]
        ahead = list(self._queue)[: list(self._queue).index(run)]
        parts = [r.remaining(typical) for r in running + ahead]
        if any(p is None for p in parts):
            return None
        return sum(parts) / self.max_running

    # ------------------------------------------------------------------ workers

    def _work(self) -> None:
        while True:
            with self._cv:
                while not self._closed and not self._queue:
                    self._cv.wait()
                if self._closed:
                    return
                run = self._queue.popleft()
                run.status, run.started_at = RUNNING, time.monotonic()
                self.started_keys.append(run.key)
                watchers = len(run.owners)
            log.warning("training %s [%s] for %d session(s)", run.name, run.key[:12], watchers)
            self._execute(run)

    def _abandoned(self, run: Run) -> bool:
        """True once the run is cancelled or no attached session has been alive for `grace` s."""
        if run.cancel_event.is_set():
            return True
        now = time.monotonic()
        if now - run.checked >= self.check_every:
            run.checked = now
            with self._cv:
                owners = list(run.owners)
            if any(self.is_alive(o) for o in owners):
                run.last_seen = now
            elif now - run.last_seen > self.grace:
                run.cancel_event.set()
        return run.cancel_event.is_set()

    def _execute(self, run: Run) -> None:
        def progress(p: Progress) -> None:
            run.progress = p

        def snapshot(s: Snapshot) -> None:
            run.snapshot = s

        status, error = DONE, None
        try:
            with cancellable(lambda: self._abandoned(run)):
                result = run.task(
                    on_progress=progress, on_snapshot=snapshot, should_stop=run.stop_event.is_set
                )
        except Cancelled:
            status, error = CANCELLED, "cancelled: no session is waiting for it, or the server is stopping"
        except TrainingDiverged as exc:
            status, error = FAILED, str(exc)
        except Exception as exc:  # a run must never die silently: report it to everyone attached
            status, error = FAILED, f"{type(exc).__name__}: {exc}"
        else:
            run.result = result
            if result.train.stopped:
                status = STOPPED
            else:
                self.durations.append(time.monotonic() - (run.started_at or time.monotonic()))
                if run.on_result is not None:
                    try:
                        run.on_result(run.name, result)
                    except Exception as exc:  # e.g. a full disk: the result stays in memory
                        error = f"not cached: {exc}"
        with self._cv:
            self._finish(run, status, error)
        log.warning("%s %s [%s]", status, run.name, run.key[:12])

    def shutdown(self, timeout: float = 10.0) -> None:
        """Cancel every run (each stops at its next step, saving nothing) and join the workers."""
        with self._cv:
            self._closed = True
            for run in list(self._active.values()):
                self._cancel(run, "cancelled: the server is stopping")
            self._cv.notify_all()
        end = time.monotonic() + timeout
        for worker in self._workers:
            worker.join(max(0.0, end - time.monotonic()))


_ALL: weakref.WeakSet[Scheduler] = weakref.WeakSet()


@atexit.register
def _shutdown_all() -> None:
    """At interpreter exit no training thread may still be inside torch (it aborts the process)."""
    for scheduler in list(_ALL):
        scheduler.shutdown()
