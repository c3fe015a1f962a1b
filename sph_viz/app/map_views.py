"""The angle map beside a CNN-Vis3D head's 3-D view: click, box or lasso selects samples."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from sph_viz.analysis.angle_map import compute_angle_map
from sph_viz.app.memo import derived
from sph_viz.app.overlap_views import image_grid
from sph_viz.experiments.result import ExperimentResult
from sph_viz.figures.angle_map import make_angle_map_figure
from sph_viz.figures.style import TEXT_PX
from sph_viz.nn.layers import Spherization

MAX_SHOWN = 40  # digits drawn for a selection; a box can hold thousands


def map_key(head: str) -> str:
    return f"vis3d_map_{head}"


def selected_samples(event, fig) -> np.ndarray:
    """Sample indices (sorted, unique) of a Plotly selection as Streamlit stores it.

    Each selected point carries its sample index as customdata[0]; a point without customdata
    is looked up in the figure by its trace (curve_number) and position (point_index).
    A browser sends a row of a typed-array customdata as an object {"0": ..., "1": ...}.
    """
    points = (event or {}).get("selection", {}).get("points", [])
    ids = []
    for p in points:
        row = p.get("customdata")
        if row is not None:
            ids.append(int(row["0"] if isinstance(row, dict) else row[0]))
        elif "curve_number" in p and "point_index" in p:
            ids.append(int(fig.data[p["curve_number"]].customdata[p["point_index"]][0]))
    return np.unique(np.asarray(ids, dtype=np.int64))


def follow_click(key: str, selected: np.ndarray, sample_key: str) -> None:
    """A new selection of exactly one sample (a click) moves the sample inspector to it.

    The latest action wins: a selection moves the inspector once, when it changes (compared with
    the last one seen, in session state), so a number typed afterwards stays until the next
    click; call before the inspector's widget is drawn.
    """
    seen_key = f"{key}_seen"
    now = tuple(selected.tolist())
    if now == st.session_state.get(seen_key, ()):
        return
    st.session_state[seen_key] = now
    if len(now) == 1:
        st.session_state[sample_key] = now[0]


def map_figure(head: str, res: ExperimentResult) -> go.Figure:
    """The head's map of its test features (built once per result and session)."""
    sphere = next((m for m in res.model.modules() if isinstance(m, Spherization)), None)
    phi_low = sphere.phi_low if sphere is not None and res.features.shape[1] == 3 else None
    amap = compute_angle_map(res.features, phi_low=phi_low)
    what, detail = {
        "spherized": ("angles", "the spherization's φ₁, φ₂ ∈ [φ_L, 90°]"),
        "azimuth": ("directions", "azimuth and elevation of each feature"),
        "plane": ("the plane", "the 2-D features as they are"),
    }[amap.kind]
    norms = np.linalg.norm(res.features, axis=1)
    fig = make_angle_map_figure(amap, res.labels, res.predictions, norms, title=f"{head}: map of {what}")
    return fig.update_layout(title_subtitle={"text": detail, "font": {"size": TEXT_PX}}, margin_t=80)


def angle_map(head: str, res: ExperimentResult, *, sample_key: str) -> np.ndarray:
    """Draw the head's map (selections rerun the page); returns the selected sample indices.

    A click (one point selected) also sets session_state[sample_key], the sample inspector.
    The figure never depends on the selection: Streamlit names a chart by its spec, and a
    changed spec would mount a new chart and drop the selection.
    """
    fig = derived(res, ("angle_map", head), lambda: map_figure(head, res))
    modes = ("points", "box", "lasso")
    event = st.plotly_chart(fig, key=map_key(head), on_select="rerun", selection_mode=modes)
    st.caption("Click a point, or drag a box or lasso (tools top right), to select samples.")
    selected = selected_samples(event, fig)
    follow_click(map_key(head), selected, sample_key)
    return selected


def selection_grid(selected: np.ndarray, features, labels, predictions, images) -> None:
    """The selected samples' digits with label, prediction and norm (the first MAX_SHOWN)."""
    if not len(selected):
        st.caption("Nothing selected on the map.")
        return
    shown = selected[:MAX_SHOWN]
    norms = np.linalg.norm(np.asarray(features)[shown], axis=1)
    st.markdown(f"**{len(selected):,}** sample{'s' * (len(selected) != 1)} selected on the map:")
    image_grid(images, shown, labels, predictions, [f"‖x‖ {n:.4g}" for n in norms])
    if len(selected) > MAX_SHOWN:
        st.caption(f"First {MAX_SHOWN} of {len(selected):,} selected samples, by index.")
