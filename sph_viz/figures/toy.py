"""Figures of the 2-D toy task (the paper's Fig. 3). Pure: arrays in, go.Figure out."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sph_viz.analysis.geometry import (
    Box,
    DecisionGrid,
    compute_crossing,
    compute_line_segment,
    decision_boundary,
)
from sph_viz.figures.style import FONT, circle_trace, legible

CLASS_COLORS = ("#1f77b4", "#ff7f0e")  # class 0 near (0,0), class 1 near (1,1)
LINE_COLORS = {"w1": "#1f77b4", "w2": "#ff7f0e", "D12": "#2ca02c"}
LINE_NAMES = {"w1": "w₁·h + b₁ = 0", "w2": "w₂·h + b₂ = 0", "D12": "D₁₂ (boundary)"}
# under the plot, two entries a row: half the height of one a row in a 400-px column (1280x720)
TWO_COLUMN_LEGEND = {"orientation": "h", "y": -0.22, "entrywidth": 0.45, "entrywidthmode": "fraction"}


def representation_box(features: np.ndarray, radius: float | None) -> Box:
    """A square view holding the features (and the whole circle when there is one)."""
    if radius is not None:
        m = 1.25 * radius
        return (-m, m, -m, m)
    lo, hi = features.min(0), features.max(0)
    centre, half = (lo + hi) / 2, max(0.6, 0.75 * float((hi - lo).max()))
    return (centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half)


def _points(x: np.ndarray, labels: np.ndarray, predictions: np.ndarray | None, size: int = 9) -> list[dict]:
    traces = []
    for c in (0, 1):
        m = labels == c
        idx = np.flatnonzero(m)
        pred = predictions[m] if predictions is not None else labels[m]
        traces.append(
            {
                "type": "scatter",
                "x": x[m, 0],
                "y": x[m, 1],
                "mode": "markers",
                "name": f"class {c}",
                "marker": {"color": CLASS_COLORS[c], "size": size, "line": {"width": 1, "color": "white"}},
                "customdata": np.stack([idx, pred], 1),
                "hovertemplate": "sample %{customdata[0]}<br>label "
                + str(c)
                + "<br>predicted %{customdata[1]}<br>(%{x:.3f}, %{y:.3f})<extra></extra>",
            }
        )
    return traces


def representation_traces(
    features: np.ndarray,
    labels: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None,
    *,
    box: Box,
    radius: float | None = None,
    predictions: np.ndarray | None = None,
) -> list[dict]:
    """The traces of `make_representation_figure` as plain dicts, in drawing order.

    Plotly validates every property of a trace it builds, about 30 ms a figure: the replay's
    hundred frames take these (validated once, as its first frame) instead of figures.
    """
    traces = []
    if radius is not None:
        traces.append(
            circle_trace(radius, line={"color": "rgba(0,0,0,0.25)", "dash": "dot"}).to_plotly_json()
        )
    lines = [(f"w{i + 1}", weight[i], 0.0 if bias is None else float(bias[i])) for i in range(2)]
    lines.append(("D12", *decision_boundary(weight, bias)))
    for name, w, b in lines:
        seg = compute_line_segment(w, b, box)
        if seg is None:
            continue
        label = (
            LINE_NAMES[name]
            if bias is not None
            else LINE_NAMES[name].replace(" + b₁", "").replace(" + b₂", "")
        )
        line = {"color": LINE_COLORS[name], "width": 3 if name == "D12" else 2}
        line["dash"] = "solid" if name == "D12" else "dash"
        traces.append(
            {"type": "scatter", "x": seg[:, 0], "y": seg[:, 1], "mode": "lines", "name": label}
            | {"hoverinfo": "name", "line": line}
        )
    traces += _points(features, labels, predictions)
    crossing = compute_crossing(weight, bias)
    if crossing is not None:
        traces.append(_crossing(crossing, box))
    return traces


def make_representation_figure(
    features: np.ndarray,
    labels: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None,
    *,
    radius: float | None = None,
    predictions: np.ndarray | None = None,
    title: str = "",
    box: Box | None = None,
) -> go.Figure:
    """Representations h (N, 2) with hyperplanes w_i.h + b_i = 0, D_12 and their crossing.

    `radius` draws the circle the spherized net lives on; the hyperplanes of a bias-free
    classifier (bias None) all pass through the origin.
    """
    box = box or representation_box(features, radius)
    fig = go.Figure(
        representation_traces(features, labels, weight, bias, box=box, radius=radius, predictions=predictions)
    )
    fig.update_layout(title=title, font=FONT, legend=TWO_COLUMN_LEGEND)
    fig.update_xaxes(range=list(box[:2]), title="h₁", zeroline=True, constrain="domain")
    fig.update_yaxes(
        range=list(box[2:]),
        title="h₂",
        scaleanchor="x",
        scaleratio=1,
        zeroline=True,
        constrain="domain",
    )
    return legible(fig)


def _crossing(crossing: np.ndarray, box: Box) -> dict:
    x, y = float(crossing[0]), float(crossing[1])
    style = {"type": "scatter", "name": "hyperplanes cross", "cliponaxis": False, "mode": "markers+text"}
    style["hovertemplate"] = f"hyperplanes cross at ({x:.3f}, {y:.3f})<extra></extra>"
    if box[0] <= x <= box[1] and box[2] <= y <= box[3]:  # text "" keeps one mode in a replay
        return style | {
            "x": [x],
            "y": [y],
            "text": [""],
            "marker": {"symbol": "x", "size": 14, "color": "black"},
        }
    cx, cy = (box[0] + box[1]) / 2, (box[2] + box[3]) / 2
    dx, dy = x - cx, y - cy
    t = 0.96 * min((box[1] - cx) / abs(dx) if dx else np.inf, (box[3] - cy) / abs(dy) if dy else np.inf)
    ex, ey = cx + t * dx, cy + t * dy  # just inside the edge, on the way from the centre to the crossing
    inward = f"{'bottom' if ey > cy else 'top'} {'left' if ex > cx else 'right'}"
    return style | {
        "x": [ex],
        "y": [ey],
        "text": [f"off-plot at ({x:.3g}, {y:.3g})"],
        "textposition": inward,
        "marker": {"symbol": "x-open", "size": 14, "color": "black"},
    }


def crossing_trace(crossing: np.ndarray, box: Box) -> go.Scatter:
    """Where the hyperplanes w1, w2 cross (2,), drawn inside the box: at the point itself, or,
    when it lies outside, on the box's edge towards it, saying "off-plot at (x, y)"."""
    return go.Scatter(_crossing(crossing, box))


def make_input_plane_figure(
    x: np.ndarray, labels: np.ndarray, grid: DecisionGrid, *, title: str = ""
) -> go.Figure:
    """Input plane: P(class 1) as a heatmap, the 0.5 contour, and the data points."""
    fig = go.Figure(
        go.Heatmap(
            x=grid.xs,
            y=grid.ys,
            z=grid.prob,
            zmin=0,
            zmax=1,
            name="P(class 1)",
            colorscale=[[0, "#c6dbef"], [0.5, "#ffffff"], [1, "#fdd0a2"]],
            colorbar={"title": "P(class 1)"},
            hovertemplate="x=(%{x:.2f}, %{y:.2f})<br>P(class 1)=%{z:.3f}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Contour(
            x=grid.xs,
            y=grid.ys,
            z=grid.prob,
            showscale=False,
            contours_coloring="none",
            contours={"start": 0.5, "end": 0.5, "size": 1},
            line={"color": "#2ca02c", "width": 3},
            name="decision boundary",
            hoverinfo="skip",
        )
    )
    for trace in _points(x, labels, None, size=7):
        fig.add_trace(trace)
    fig.update_layout(title=title, font=FONT, legend=TWO_COLUMN_LEGEND)
    fig.update_xaxes(title="x₁", range=[grid.xs[0], grid.xs[-1]], constrain="domain")
    fig.update_yaxes(
        title="x₂", scaleanchor="x", scaleratio=1, range=[grid.ys[0], grid.ys[-1]], constrain="domain"
    )
    return legible(fig)


def make_curves_figure(histories: dict[str, Sequence[dict]]) -> go.Figure:
    """Training loss and accuracy per epoch, one line per model."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("loss", "accuracy"))
    palette = ("#444444", "#d62728", "#9467bd", "#8c564b")
    for k, (name, history) in enumerate(histories.items()):
        epochs = [h["epoch"] for h in history]
        color = palette[k % len(palette)]
        fig.add_trace(
            go.Scatter(
                x=epochs,
                y=[h["loss"] for h in history],
                name=name,
                legendgroup=name,
                line={"color": color},
            ),
            row=1,
            col=1,
        )
        fig.add_trace(
            go.Scatter(
                x=epochs,
                y=[h["accuracy"] for h in history],
                name=name,
                legendgroup=name,
                showlegend=False,
                line={"color": color},
            ),
            row=1,
            col=2,
        )
    fig.update_xaxes(title="epoch")
    fig.update_yaxes(range=[0, 1.02], row=1, col=2)
    fig.update_layout(font=FONT, height=320, margin={"t": 40, "b": 40})
    return legible(fig)


# The replay's panel height and the band under it: axis titles, slider, buttons, then the legend
# (two entries a row, so the panels get the whole width of a 1280-px screen).
PLOT_PX, BELOW_PX = 350, 390
SLIDER_TOP_PX, BUTTONS_TOP_PX, LEGEND_TOP_PX = 60, 150, 200  # px below the panels


def _legend_style(panel: str, trace_name: str, col: int) -> dict:
    """Each net's own lines under its name (a bias-free net's have no b); the classes once."""
    if trace_name.startswith("class"):  # the same data in every panel: one entry toggles all
        return {"legendgroup": trace_name, "showlegend": col == 1}
    return {"name": f"{panel}: {trace_name}", "showlegend": not trace_name.startswith("circle")}


def make_toy_animation(
    panels: dict[str, list[go.Figure] | list[list[dict]]],
    labels: list[str],
    *,
    boxes: dict[str, Box] | None = None,
) -> go.Figure:
    """Side-by-side replay of representation figures (one list per net, one figure per
    frame) with Plotly's own Play / Pause buttons and frame slider: it runs in the browser.

    A frame may also be its `representation_traces` (then `boxes` gives each panel's view):
    a hundred figures cost seconds to build, their traces milliseconds. The first frame is
    validated as the figure's own traces; the others, made the same way, are not again.

    Each net lists its own lines in the legend (a bias-free net's have no b); the slider and
    its epoch label sit above the buttons, so neither covers the other at any width, and the
    legend is under both, two entries a row.
    """
    names = list(panels)
    frames = {n: [_trace_dicts(f) for f in figs] for n, figs in panels.items()}
    if boxes is None:  # the view of each panel's first figure
        boxes = {n: (*panels[n][0].layout.xaxis.range, *panels[n][0].layout.yaxis.range) for n in names}
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names, horizontal_spacing=0.08)
    # a fixed trace order per panel: every name that appears in any frame
    orders = {n: list(dict.fromkeys(t["name"] for f in fr for t in f)) for n, fr in frames.items()}

    def frame_traces(k: int) -> list[dict]:
        out = []
        for col, name in enumerate(names, start=1):
            by_name = {t["name"]: t for t in frames[name][k]}
            axes = {"xaxis": f"x{col if col > 1 else ''}", "yaxis": f"y{col if col > 1 else ''}"}
            for trace_name in orders[name]:
                empty = {"type": "scatter", "x": [], "y": [], "name": trace_name, "mode": "lines"}
                out.append(by_name.get(trace_name, empty) | axes | _legend_style(name, trace_name, col))
        return out

    fig.add_traces(frame_traces(0))
    for col, name in enumerate(names, start=1):
        box = boxes[name]
        fig.update_xaxes(range=list(box[:2]), constrain="domain", row=1, col=col)
        fig.update_yaxes(
            range=list(box[2:]),
            scaleanchor=f"x{col if col > 1 else ''}",
            constrain="domain",
            row=1,
            col=col,
        )
    play = {
        "frame": {"duration": 120, "redraw": False},
        "fromcurrent": True,
        "transition": {"duration": 0},
    }
    top = 60
    legend = {"yanchor": "top", "y": -LEGEND_TOP_PX / PLOT_PX, "x": 0.0, "xanchor": "left"}
    fig.update_layout(
        font=FONT,
        height=top + PLOT_PX + BELOW_PX,
        # fixed margins: Plotly would grow them for the legend, shrink the panels and move the
        # controls (placed in fractions of the panels' height) onto each other
        margin={"t": top, "b": BELOW_PX, "l": 50, "r": 10, "autoexpand": False},
        legend=TWO_COLUMN_LEGEND | legend,
        updatemenus=[
            {
                "type": "buttons",
                "direction": "right",
                "x": 0.0,
                "y": -BUTTONS_TOP_PX / PLOT_PX,
                "xanchor": "left",
                "yanchor": "top",
                "buttons": [
                    {"label": "▶ Play", "method": "animate", "args": [None, play]},
                    {
                        "label": "❚❚ Pause",
                        "method": "animate",
                        "args": [[None], {"frame": {"duration": 0}, "mode": "immediate"}],
                    },
                ],
            }
        ],
        sliders=[
            {
                "x": 0.0,
                "y": -SLIDER_TOP_PX / PLOT_PX,
                "len": 1.0,
                "xanchor": "left",
                "yanchor": "top",
                "pad": {"t": 0, "b": 0},
                "currentvalue": {"prefix": "epoch "},
                "steps": [
                    {
                        "label": lab,
                        "method": "animate",
                        "args": [
                            [lab],
                            {"frame": {"duration": 0, "redraw": False}, "mode": "immediate"},
                        ],
                    }
                    for lab in labels
                ],
            }
        ],
    )
    frames_spec = [{"data": frame_traces(k), "name": lab} for k, lab in enumerate(labels)]
    return legible(go.Figure(fig.to_dict() | {"frames": frames_spec}, _validate=False))


def _trace_dicts(frame: go.Figure | list[dict]) -> list[dict]:
    return [t.to_plotly_json() for t in frame.data] if isinstance(frame, go.Figure) else frame
