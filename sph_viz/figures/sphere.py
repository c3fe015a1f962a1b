"""Rotatable views of CNN-Vis3D representations (the paper's Fig. 5). Pure: arrays in, figure out.

3-D features draw as WebGL `Scatter3d` traces, one per class; 2-D features as `Scattergl`.
Above `cap` points the view shows a class-stratified subsample and says so in its title.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from sph_viz.analysis.geometry import compute_sphere_angles, stratified_subsample
from sph_viz.figures.style import FONT, HEIGHT, circle_trace, class_color, legible, rotatable, sphere_trace

DEFAULT_CAP = 10_000
VIEW = "features"  # uirevision: a redrawn feature view keeps the user's camera (or zoom in 2-D)


def _hover(features: np.ndarray, idx: np.ndarray, labels, predictions) -> tuple[np.ndarray, str]:
    norms = np.linalg.norm(features, axis=1)
    angles = np.degrees(compute_sphere_angles(features))
    data = np.column_stack([idx, labels, predictions, norms, angles])
    angle_text = "".join(f"<br>φ{k + 1} = %{{customdata[{4 + k}]:.2f}}°" for k in range(angles.shape[1]))
    template = (
        "sample %{customdata[0]}<br>label %{customdata[1]}, predicted %{customdata[2]}"
        "<br>‖x‖ = %{customdata[3]:.4f}" + angle_text + "<extra></extra>"
    )
    return data, template


def make_feature_figure(
    features: np.ndarray,
    labels: np.ndarray,
    predictions: np.ndarray,
    *,
    indices: np.ndarray | None = None,
    radius: float | None = None,
    highlight: np.ndarray | None = None,
    cap: int = DEFAULT_CAP,
    title: str = "",
    marker_size: float = 2.5,
) -> go.Figure:
    """Features (N, 2 or 3) colored by class; `radius` adds a faint sphere (or circle) mesh.

    `indices` are the samples' ids shown on hover (default 0..N-1); `highlight` indices are
    drawn large and outlined (e.g. an overlapping group).
    """
    features, labels, predictions = map(np.asarray, (features, labels, predictions))
    dim = features.shape[1]
    if dim not in (2, 3):
        raise ValueError(f"features must have 2 or 3 columns. Got {dim} instead.")
    indices = np.arange(len(features)) if indices is None else np.asarray(indices)
    keep = stratified_subsample(labels, cap)
    if len(keep) < len(features):
        note = f"{len(keep):,} of {len(features):,} points (stratified by class)"
        title = f"{title} — {note}" if title else note
    fig = go.Figure()
    if radius is not None:
        fig.add_trace(_mesh_trace(radius, dim))
    for c in np.unique(labels):
        sel = keep[labels[keep] == c]
        data, template = _hover(features[sel], indices[sel], labels[sel], predictions[sel])
        common = {
            "mode": "markers",
            "name": str(c),
            "customdata": data,
            "hovertemplate": template,
            "marker": {"size": marker_size, "color": class_color(c), "opacity": 0.8},
        }
        if dim == 3:
            fig.add_trace(go.Scatter3d(x=features[sel, 0], y=features[sel, 1], z=features[sel, 2], **common))
        else:
            common["marker"]["size"] = marker_size * 2
            fig.add_trace(go.Scattergl(x=features[sel, 0], y=features[sel, 1], **common))
    if highlight is not None and len(highlight):
        fig.add_trace(highlight_trace(features, highlight, indices=indices))
    fig.update_layout(
        title=title,
        legend={"title": "digit", "itemsizing": "constant"},
        font=FONT,
        margin={"l": 0, "r": 0, "t": 50, "b": 0},
        height=HEIGHT["scene"],
        uirevision=VIEW,
    )
    if dim == 3:
        fig.update_layout(
            scene={"aspectmode": "data", "xaxis_title": "x", "yaxis_title": "y", "zaxis_title": "z"}
        )
        rotatable(fig, VIEW)
    else:
        fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return legible(fig)


def _mesh_trace(radius: float, dim: int) -> go.Scatter3d | go.Scatter:
    return sphere_trace(radius) if dim == 3 else circle_trace(radius, name=f"sphere r={radius:g}")


def highlight_trace(
    features: np.ndarray, highlight, *, indices: np.ndarray | None = None
) -> go.Scatter3d | go.Scatter:
    """The `highlight` samples (ids as in `indices`, default 0..N-1) drawn large and outlined: the
    trace make_feature_figure adds on top, for a page that outlines other samples on a kept figure."""
    features = np.asarray(features)
    dim = features.shape[1]
    indices = np.arange(len(features)) if indices is None else np.asarray(indices)
    pos = np.flatnonzero(np.isin(indices, np.asarray(highlight)))
    style = {
        "mode": "markers",
        "name": "selected",
        "text": [f"sample {i}" for i in indices[pos]],
        "hoverinfo": "text",
        "marker": {"size": 9, "color": "rgba(0,0,0,0)", "line": {"color": "black", "width": 3}},
    }
    if dim == 3:
        style["marker"] = {"size": 7, "color": "black", "symbol": "diamond-open"}
        return go.Scatter3d(x=features[pos, 0], y=features[pos, 1], z=features[pos, 2], **style)
    return go.Scatter(x=features[pos, 0], y=features[pos, 1], **style)


def fix_scene_ranges(fig: go.Figure, radius: float, margin: float = 1.15) -> go.Figure:
    """Axes fixed to ±margin·radius (3-D scene or 2-D plane), equal aspect: a live view that
    redraws every two seconds keeps its scale instead of zooming to each snapshot."""
    span = [-margin * radius, margin * radius]
    if any(t.type == "scatter3d" for t in fig.data):
        axis = {"range": span, "autorange": False}
        return fig.update_layout(scene={"xaxis": axis, "yaxis": axis, "zaxis": axis, "aspectmode": "cube"})
    return fig.update_xaxes(range=span, autorange=False).update_yaxes(
        range=span, autorange=False, scaleanchor="x", scaleratio=1
    )
