"""MNIST head runs for the CNN-Vis3D and Overlap pages: look up, train in the background, show live.

A run is identified by its full configuration; a result trained once (by any session, or by
the CLI-free app before) is loaded from the disk cache instead of being trained again.
"""

from __future__ import annotations

from functools import partial

import streamlit as st

from sph_viz.app import live
from sph_viz.app.camera import view_camera
from sph_viz.app.live import live_panel
from sph_viz.app.state import app_device, recall
from sph_viz.data.idx import BUNDLED_MNIST, load_image_folder
from sph_viz.experiments.result import ExperimentResult, probe_indices
from sph_viz.experiments.specs import RunSpec, make_run_specs
from sph_viz.experiments.vis3d import load_vis3d_data
from sph_viz.figures.camera import set_camera
from sph_viz.figures.sphere import fix_scene_ranges, make_feature_figure
from sph_viz.results.scheduler import JobView

MEMO = "mnist_memo"  # the session memo of MNIST runs (CNN-Vis3D and Overlap pages)


def head_specs(values: dict, data_dir: str) -> dict[str, RunSpec]:
    """One spec per selected head: the preset, with the page's overrides on top."""
    return make_run_specs("vis3d", values, values["heads"], data_dir=data_dir)


def lookup(specs: dict[str, RunSpec]) -> dict[str, ExperimentResult]:
    """Results already trained for these specs: this session's memo, then the disk cache."""
    found = {head: recall(MEMO, spec.cache_config) for head, spec in specs.items()}
    return {head: res for head, res in found.items() if res is not None}


def harvest(job_key: str) -> None:
    """Move a job's finished results into the session memo; errors stay on the job."""
    live.harvest(job_key, MEMO)


def pending_runs(
    job_key: str, specs: dict[str, RunSpec]
) -> tuple[dict[str, ExperimentResult], list[str], bool]:
    """The results for specs (a finished job's taken in first), the heads still missing, and
    whether this session's job is running."""
    harvest(job_key)
    results = lookup(specs)
    job = st.session_state.get(job_key)
    return results, [h for h in specs if h not in results], job is not None and job.alive


def live_radius(spec: RunSpec) -> float | None:
    """The sphere a head's features live on while training (drawn, with fixed axes, live)."""
    head = getattr(spec.model, "head", "")
    if head == "spherized":
        return float(spec.model.radius)
    return 1.0 if head == "projected" or head.startswith("spherenet") else None


def start_training(job_key: str, specs: dict[str, RunSpec], data_dir: str = str(BUNDLED_MNIST)) -> None:
    device = app_device()
    if any(s.experiment == "vis3d" for s in specs.values()):
        labels = load_image_folder(data_dir)["test"].labels.numpy()
        # which test images each head's live snapshots show (the same rule run_vis3d uses)
        st.session_state[f"{job_key}_probes"] = {
            h: probe_indices(labels, s.train.seed) for h, s in specs.items()
        }
        st.session_state[f"{job_key}_radii"] = {h: live_radius(s) for h, s in specs.items()}
    tasks = {head: partial(spec.run, device=device) for head, spec in specs.items()}
    live.start(job_key, tasks)  # finished results go to the disk cache


def validate_data_dir(text: str) -> str:
    """The data folder to use: raises DataError (with the file named) if it does not load."""
    folder = text.strip() or str(BUNDLED_MNIST)
    load_vis3d_data(folder)
    return folder


def job_panel(job_key: str, data_dir: str, camera_prefix: str | None = None) -> None:
    """Live progress of this session's job: the shared panel, plus the sphere as it forms.

    With `camera_prefix` (the CNN-Vis3D page) a 3-D view is seen through that page's camera: a
    refresh every 2 s mounts a new chart, so the camera goes into its spec.
    """

    def draw(view: JobView) -> None:
        if view.snapshot is None or not view.current or view.snapshot.features.shape[1] not in (2, 3):
            return
        labels = load_image_folder(data_dir)["test"].labels.numpy()
        idx = st.session_state[f"{job_key}_probes"][view.current]
        radius = st.session_state.get(f"{job_key}_radii", {}).get(view.current)
        fig = make_feature_figure(
            view.snapshot.features,
            labels[idx],
            view.snapshot.predictions,
            indices=idx,
            radius=radius,
            title=f"{view.current} — live, epoch {view.snapshot.epoch:.2f}",
        )
        if radius is not None:  # the sphere stays put while the points move over it
            fig = fix_scene_ranges(fig, radius)
        chart = f"{job_key}_live"
        if camera_prefix is not None and view.snapshot.features.shape[1] == 3:
            content = (view.current, view.snapshot.epoch)
            set_camera(fig, view_camera(camera_prefix, chart, content), camera_prefix)
        st.plotly_chart(fig, key=chart)

    live_panel(job_key, draw, memo=MEMO)


show_job_errors = live.show_errors
