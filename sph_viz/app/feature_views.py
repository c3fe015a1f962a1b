"""Pieces every CNN-Vis3D view uses: a head's 3-D view through the page's camera, the inspected sample."""

from __future__ import annotations

import numpy as np
import streamlit as st

from sph_viz.analysis.geometry import compute_sphere_angles
from sph_viz.app.camera import view_camera
from sph_viz.app.memo import derived
from sph_viz.app.vis3d_state import PREFIX
from sph_viz.experiments.result import ExperimentResult
from sph_viz.figures.camera import camera_layout
from sph_viz.figures.reports import sphere_radius
from sph_viz.figures.sphere import highlight_trace, make_feature_figure
from sph_viz.figures.style import TEXT_PX

SAMPLE = f"{PREFIX}_sample"  # one inspected sample for the whole page, every head
LEGEND_BELOW = {"orientation": "h", "x": 0.5, "xanchor": "center", "y": 0, "yanchor": "top"}


def feature_view(chart: str, res: ExperimentResult, highlight, title: str, subtitle: str = "") -> dict:
    """A head's 3-D view (2-D for a 2-D head) with `highlight` outlined and the page's camera.

    The figure of the result's points is built once per session (derived) and kept as Plotly's
    JSON-ready dict; each run adds its outline, subtitle and camera to a shallow copy and hands
    Streamlit the dict, which it checks once (a go.Figure copy would be checked twice).
    Returns the spec drawn.
    """
    base = derived(res, ("feature_spec", title), lambda: _base_spec(res, title))
    layout = {**base["layout"], "legend": LEGEND_BELOW}  # the scene gets the column's whole width
    if subtitle:
        layout["title"] = {**layout["title"], "subtitle": {"text": subtitle, "font": {"size": TEXT_PX}}}
        layout["margin"] = {**layout["margin"], "t": 80}
    if res.features.shape[1] == 3:
        content = (id(res), title, subtitle, tuple(np.asarray(highlight).tolist()))
        view = camera_layout(view_camera(PREFIX, chart, content), PREFIX)
        layout |= {"scene": {**layout["scene"], **view["scene"]}, "meta": view["meta"]}
    mark = highlight_trace(res.features, highlight).to_plotly_json()
    spec = {"data": [*base["data"], mark], "layout": layout}
    st.plotly_chart(spec, key=chart)
    return spec


def _base_spec(res: ExperimentResult, title: str) -> dict:
    fig = make_feature_figure(
        res.features, res.labels, res.predictions, radius=sphere_radius(res.model), title=title
    )
    return fig.to_plotly_json()


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
