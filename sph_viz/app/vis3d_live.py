"""The CNN-Vis3D page's training panel: the shared live panel, plus the sphere as it forms, seen
through the page's camera (a refresh every 2 s mounts a new chart, so the camera goes in its spec)."""

from __future__ import annotations

import streamlit as st

from sph_viz.app.camera import view_camera
from sph_viz.app.live import live_panel
from sph_viz.app.runs import MEMO
from sph_viz.data import load_image_folder
from sph_viz.figures.camera import set_camera
from sph_viz.figures.sphere import fix_scene_ranges, make_feature_figure
from sph_viz.scheduler import JobView


def live_view(prefix: str, job_key: str, data_dir: str) -> None:
    """Progress, Stop and the head being trained, redrawn every 2 s with the page's camera."""

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
        if view.snapshot.features.shape[1] == 3:
            content = (view.current, view.snapshot.epoch)
            set_camera(fig, view_camera(prefix, chart, content), prefix)
        st.plotly_chart(fig, key=chart)

    live_panel(job_key, draw, memo=MEMO)
