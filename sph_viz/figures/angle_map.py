"""The 2-D map beside a 3-D feature view: two angles per sample, selectable. Pure: arrays in, figure out.

One WebGL `Scattergl` trace per class; every point carries its sample index as customdata[0],
so a click, box or lasso on the map names samples exactly, subsampled or not.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from sph_viz.analysis.angle_map import AngleMap
from sph_viz.analysis.geometry import stratified_subsample
from sph_viz.figures.sphere import DEFAULT_CAP
from sph_viz.figures.style import FONT, HEIGHT, class_color, legible

VIEW = "angle-map"  # uirevision: a redrawn map keeps the user's zoom
UNITS = {"spherized": "°", "azimuth": "°", "plane": ""}


def _hover(amap: AngleMap, collapsed: bool) -> str:
    """The hover of a trace; `collapsed`: some of its points stand for several samples (%{text})."""
    unit = UNITS[amap.kind]
    fmt = ".2f" if unit else ".4f"
    x, y = amap.axis_titles
    return (
        "sample %{customdata[0]}<br>label %{customdata[1]}, predicted %{customdata[2]}"
        f"<br>‖x‖ = %{{customdata[3]:.4f}}<br>{x} = %{{x:{fmt}}}{unit}, {y} = %{{y:{fmt}}}{unit}"
        + ("%{text}" if collapsed else "")
        + "<extra></extra>"
    )


def _coincident_text(counts: np.ndarray) -> list[str]:
    return [f"<br><b>{n:,} samples at exactly this point</b>" if n > 1 else "" for n in counts]


def make_angle_map_figure(
    amap: AngleMap,
    labels: np.ndarray,
    predictions: np.ndarray,
    norms: np.ndarray,
    *,
    indices: np.ndarray | None = None,
    cap: int = DEFAULT_CAP,
    title: str = "",
    marker_size: float = 5.0,
) -> go.Figure:
    """The map's N points colored by class, angles in degrees (a 2-D head: its plane as it is).

    `indices` are the samples' ids carried as customdata[0] and shown on hover (default 0..N-1);
    above `cap` points a class-stratified subsample is drawn and the title says so.
    """
    labels, predictions, norms = map(np.asarray, (labels, predictions, norms))
    n = len(amap.coords)
    if not len(labels) == len(predictions) == len(norms) == n:
        raise ValueError(
            f"labels, predictions and norms must have one entry per point ({n}). "
            f"Got {len(labels)}, {len(predictions)} and {len(norms)} instead."
        )
    indices = np.arange(n) if indices is None else np.asarray(indices)
    scale = 1.0 if amap.kind == "plane" else 180 / np.pi
    coords = amap.coords * scale
    keep = stratified_subsample(labels, cap)
    if len(keep) < n:
        note = f"{len(keep):,} of {n:,} points (stratified by class)"
        title = f"{title} — {note}" if title else note
    fig = go.Figure()
    for c in np.unique(labels):
        sel = keep[labels[keep] == c]
        collapsed = bool((amap.counts[sel] > 1).any())  # else no text: 10,000 empty strings cost a rerun
        fig.add_trace(
            go.Scattergl(
                x=coords[sel, 0],
                y=coords[sel, 1],
                mode="markers",
                name=str(c),
                customdata=np.column_stack([indices[sel], labels[sel], predictions[sel], norms[sel]]),
                text=_coincident_text(amap.counts[sel]) if collapsed else None,
                hovertemplate=_hover(amap, collapsed),
                marker={"size": marker_size, "color": class_color(c), "opacity": 0.8},
            )
        )
    unit = UNITS[amap.kind]
    x_title, y_title = (f"{t} ({unit})" if unit else t for t in amap.axis_titles)
    fig.update_xaxes(title=x_title)
    fig.update_yaxes(title=y_title)
    if amap.bounds is not None:
        for axis, (lo, hi) in zip((fig.update_xaxes, fig.update_yaxes), amap.bounds, strict=True):
            pad = 0.03 * (hi - lo) * scale  # points at a bound stay inside the plot
            axis(range=[lo * scale - pad, hi * scale + pad])
    fig.update_layout(
        title=title,
        legend={"title": "digit", "itemsizing": "constant"},
        font=FONT,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        height=HEIGHT["scene"],
        uirevision=VIEW,
    )
    return legible(fig)
