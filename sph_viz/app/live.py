"""A session's background training job on any page: start it, watch it live, stop it, collect it.

The job's tasks are `ExperimentResult` factories (see `sph_viz.results.scheduler`); finished results go into
the page's session memo (`state.remember`) and, unless stopped, into the disk cache.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from sph_viz.app.state import remember, result_store, start_job
from sph_viz.experiments.result import ExperimentResult
from sph_viz.results.scheduler import JobView


def _save(name: str, result: ExperimentResult) -> None:
    result_store().save(result)  # runs in the job thread: no Streamlit calls


def start(job_key: str, tasks: dict[str, Callable[..., ExperimentResult]]) -> None:
    """Run tasks one after another in this session's job (results cached when they finish)."""
    start_job(job_key, tasks, on_result=_save)


def running(job_key: str) -> bool:
    job = st.session_state.get(job_key)
    return job is not None and job.alive


def harvest(job_key: str, memo: str) -> None:
    """A job's results (finished or stopped) into the session memo; errors stay on the job."""
    job = st.session_state.get(job_key)
    if job is not None:
        for res in job.view().results.values():
            remember(memo, res)


def show_errors(job_key: str) -> None:
    job = st.session_state.get(job_key)
    for name, message in (job.view().errors if job is not None else {}).items():
        st.error(f"{name}: {message}")


def _seconds(s: float | None) -> str:
    return "unknown yet" if s is None else f"about {s:.0f} s" if s < 120 else f"about {s / 60:.0f} min"


def status_text(view: JobView) -> str:
    """What the request is doing now, in words: queue place, phase, numbers, time left, sharing."""
    done = len(view.results) + len(view.errors)
    where = f"**{view.current}** ({done + 1}/{view.n_tasks})"
    p = view.progress
    if view.phase == "queued":
        text = f"Waiting in the server's queue for {where}: position {view.queue_position}, "
        text += f"starts in {_seconds(view.wait_s)}"
    elif view.phase == "stopping":
        text = f"Stopping {where} after this step, then evaluating what it learnt…"
    elif view.phase == "evaluating":
        text = f"Evaluating {where} on the test set…"
    else:
        text = f"Training {where}"
        if p:
            text += f" — epoch {p.epoch}, step {p.step}/{p.total_steps}, loss {p.loss:.3f}"
            text += f", accuracy {p.accuracy:.1%}, {_seconds(view.remaining_s)} left"
    if view.shared_with:
        text += f" · shared with {view.shared_with} other session(s)"
    return f"{text} · {view.elapsed:.0f} s"


def live_panel(
    job_key: str, draw: Callable[[JobView], None] | None = None, *, memo: str | None = None
) -> None:
    """Progress bar, numbers and Stop, redrawn every 2 s; `draw(view)` adds a live figure.

    When the job ends, its results go into the session memo `memo` (if given) and the page reruns.
    """

    @st.fragment(run_every=2.0)
    def panel() -> None:
        job = st.session_state.get(job_key)
        if job is None:
            return
        view = job.view()
        if view.status != "running":
            if memo is not None:
                harvest(job_key, memo)
            st.rerun(scope="app")
        done = len(view.results) + len(view.errors)
        frac = (done + (view.progress.fraction if view.progress else 0.0)) / max(view.n_tasks, 1)
        st.progress(min(frac, 1.0), text=status_text(view))
        if st.button("⏹ Stop", key=f"{job_key}_stop", help="Ends training now, keeping the model as it is."):
            job.stop()
        if draw is not None:
            draw(view)

    panel()
