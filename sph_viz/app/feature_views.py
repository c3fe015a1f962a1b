"""Pieces every CNN-Vis3D view uses: a head's 3-D view through the page's camera, the inspected sample."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from sph_viz.app.camera import view_camera
from sph_viz.app.memo import derived
from sph_viz.app.vis3d_state import PREFIX
from sph_viz.experiments import ExperimentResult
from sph_viz.figures.camera import set_camera
from sph_viz.figures.reports import sphere_radius
from sph_viz.figures.sphere import make_feature_figure, with_highlight
from sph_viz.geometry import compute_sphere_angles

SAMPLE = f"{PREFIX}_sample"  # one inspected sample for the whole page, every head


def feature_view(chart: str, res: ExperimentResult, highlight, title: str, subtitle: str = "") -> go.Figure:
    """A head's 3-D view (2-D for a 2-D head) with `highlight` outlined and the page's camera.

    The figure of the result's points is built once per session (derived); each run outlines
    its samples on a copy. Returns the figure drawn.
    """
    base = derived(
        res,
        ("feature_figure", title),
        lambda: make_feature_figure(
            res.features, res.labels, res.predictions, radius=sphere_radius(res.model), title=title
        ),
    )
    fig = with_highlight(base, res.features, highlight, subtitle=subtitle)
    if res.features.shape[1] == 3:
        content = (id(res), title, subtitle, tuple(np.asarray(highlight).tolist()))
        set_camera(fig, view_camera(PREFIX, chart, content), PREFIX)
    st.plotly_chart(fig, key=chart)
    return fig


def sample_number(n: int) -> int:
    """The inspected sample: a number input, kept in [0, n) (a shared link may ask for more)."""
    if st.session_state.get(SAMPLE, 0) >= n:
        st.warning(f"Sample #{st.session_state[SAMPLE]} is past the last test image; showing #{n - 1}.")
        st.session_state[SAMPLE] = n - 1
    return int(st.number_input("sample #", 0, n - 1, key=SAMPLE))


def angles_text(feature: np.ndarray, unit: str = "°") -> str:
    """A feature's spherical angles (φ₁, …) in degrees, as text."""
    return ", ".join(f"{a:.2f}{unit}" for a in np.degrees(compute_sphere_angles(feature[None]))[0])


def sample_text(res: ExperimentResult, idx: int) -> str:
    f = res.features[idx]
    return (
        f"label **{res.labels[idx]}**, predicted **{res.predictions[idx]}**  \n"
        f"‖x‖ = {np.linalg.norm(f):.5f}, angles = {angles_text(f)}"
    )
