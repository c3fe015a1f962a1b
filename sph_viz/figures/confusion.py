"""A confusion matrix as a heatmap, counts written in the cells, each cell clickable. Pure: a matrix in,
a figure out.

Streamlit 1.67 passes no click on a heatmap to the app (it forwards point, box and lasso selections
of scatter-like traces), so every cell also holds one invisible scatter point carrying
(true, predicted) as customdata: a click on a cell is a point selection that names it.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from sph_viz.figures.style import FONT, HEIGHT, TEXT_PX, legible

SELECTED_LINE = {"color": "black", "width": 4}


def make_confusion_figure(
    matrix: np.ndarray,
    *,
    selected: tuple[int, int] | None = None,
    title: str = "",
) -> go.Figure:
    """Counts (C, C), true class by row (top to bottom), predicted by column; `selected`
    (true, predicted) is outlined. The colour is the share of the row, so errors show beside a
    diagonal of thousands; each cell's text and hover give the count itself. Trace 0 is the
    heatmap, trace 1 the cells' click targets, row-major: point i is cell (i // C, i % C)."""
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"matrix must be square (C, C). Got shape {matrix.shape} instead.")
    n = matrix.shape[0]
    totals = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, totals, out=np.zeros(matrix.shape), where=totals > 0)
    classes = np.arange(n)
    fig = go.Figure(
        go.Heatmap(
            z=share,
            x=classes,
            y=classes,
            text=matrix,
            texttemplate="%{text}",
            textfont={"size": TEXT_PX},
            hoverinfo="skip",  # the cells' points below answer hover and clicks
            colorscale="Blues",
            zmin=0,
            zmax=1,
            colorbar={"title": {"text": "share of row", "font": FONT}, "tickfont": FONT, "tickformat": ".0%"},
            xgap=1,
            ygap=1,
        )
    )
    true, predicted = (a.ravel() for a in np.meshgrid(classes, classes, indexing="ij"))
    fig.add_trace(
        go.Scatter(
            x=predicted,
            y=true,
            mode="markers",
            name="cells",
            showlegend=False,
            customdata=np.column_stack([true, predicted, matrix.ravel(), 100 * share.ravel()]),
            hovertemplate="true %{customdata[0]} → predicted %{customdata[1]}: %{customdata[2]} samples"
            "<br>%{customdata[3]:.1f} % of class %{customdata[0]}<extra></extra>",
            marker={"symbol": "square", "size": 24, "opacity": 0},
        )
    )
    if selected is not None:
        i, j = selected
        fig.add_shape(type="rect", x0=j - 0.5, x1=j + 0.5, y0=i - 0.5, y1=i + 0.5, line=SELECTED_LINE)
    axis = {"tickmode": "array", "tickvals": classes, "constrain": "domain"}
    fig.update_xaxes(title="predicted", side="bottom", **axis)
    fig.update_yaxes(title="true", autorange="reversed", scaleanchor="x", **axis)
    fig.update_layout(title=title, height=HEIGHT["chart"] + 60, margin={"l": 10, "r": 10, "t": 50, "b": 10})
    return legible(fig)
