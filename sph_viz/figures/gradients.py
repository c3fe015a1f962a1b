"""Gradient flow (the paper's Fig. 4): mean |grad W| per layer over training, and its histogram.

Pure: arrays in, figure out. A record is anything with `steps` (T,), `values` (T, L) and
`layer_names` (L), e.g. `sph_viz.experiments.gradient_flow.GradientRecord`; alpha figures also read
`alpha`, `alpha_grad` (T, S) and `sphere_names`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sph_viz.figures.style import FONT, HEIGHT, legible

LAYER_PALETTE = px.colors.qualitative.Dark24  # one colour per layer name, the same in every panel
NET_COLORS = ("#d62728", "#17becf")  # Fig. 4b: the original red, the spherized cyan


def _check(
    steps: np.ndarray, values: np.ndarray, layer_names: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    steps, values = np.asarray(steps), np.asarray(values, dtype=float)
    if values.ndim != 2 or values.shape != (len(steps), len(layer_names)):
        raise ValueError(
            f"values must be (T, L) = ({len(steps)}, {len(layer_names)}). Got {values.shape} instead."
        )
    return steps, values


def _layer_colors(names: Sequence[str]) -> dict[str, str]:
    return {name: LAYER_PALETTE[i % len(LAYER_PALETTE)] for i, name in enumerate(dict.fromkeys(names))}


def _layer_traces(steps, values, layer_names, colors, *, legend: bool):
    for j, name in enumerate(layer_names):
        yield go.Scatter(
            x=steps,
            y=values[:, j],
            mode="lines",
            name=name,
            legendgroup=name,
            showlegend=legend,
            line={"color": colors[name], "width": 1.5},
            hovertemplate=f"{name}<br>step %{{x}}<br>mean |grad| %{{y:.3g}}<extra></extra>",
        )


def make_gradient_flow_figure(
    steps: np.ndarray, values: np.ndarray, layer_names: Sequence[str], *, title: str = ""
) -> go.Figure:
    """One line per layer: mean |grad W| (T, L) against the step (T,), log y (Fig. 4a, one net)."""
    steps, values = _check(steps, values, layer_names)
    fig = go.Figure(list(_layer_traces(steps, values, layer_names, _layer_colors(layer_names), legend=True)))
    fig.update_layout(
        title=title,
        font=FONT,
        height=HEIGHT["chart"],
        xaxis_title="step",
        yaxis={"title": "mean |gradient|", "type": "log"},
        legend={"title": "layer"},
    )
    return legible(fig)


def make_gradient_comparison_figure(records: Mapping[str, object], *, title: str = "") -> go.Figure:
    """Fig. 4a side by side: one panel per net (e.g. original, spherized), shared log y.

    A layer keeps its colour in every panel and appears once in the legend.
    """
    if not records:
        raise ValueError("records must hold at least one gradient record. Got none instead.")
    names = list(records)
    colors = _layer_colors([n for r in records.values() for n in r.layer_names])
    fig = make_subplots(rows=1, cols=len(names), shared_yaxes=True, subplot_titles=names)
    shown: set[str] = set()
    for col, name in enumerate(names, start=1):
        rec = records[name]
        steps, values = _check(rec.steps, rec.values, rec.layer_names)
        for trace in _layer_traces(steps, values, rec.layer_names, colors, legend=False):
            trace.showlegend = trace.name not in shown
            shown.add(trace.name)
            fig.add_trace(trace, row=1, col=col)
        fig.update_xaxes(title_text="step", row=1, col=col)
    fig.update_yaxes(type="log")
    fig.update_yaxes(title_text="mean |gradient|", row=1, col=1)
    fig.update_layout(title=title, font=FONT, height=HEIGHT["scene"], legend={"title": "layer"})
    return legible(fig)


def make_gradient_histogram_figure(
    records: Mapping[str, object], *, bins: int = 40, title: str = ""
) -> go.Figure:
    """Fig. 4b: how often each mean |grad| occurs, all layers and steps of each net, log-spaced x."""
    fig = go.Figure()
    finite = {}
    for name, rec in records.items():
        v = np.asarray(rec.values, dtype=float).ravel()
        finite[name] = np.log10(v[np.isfinite(v) & (v > 0)])
    both = np.concatenate([v for v in finite.values() if v.size] or [np.zeros(1)])
    lo, hi = float(both.min()), float(both.max())
    size = (hi - lo) / bins if hi > lo else 1.0
    for i, (name, logs) in enumerate(finite.items()):
        fig.add_trace(
            go.Histogram(
                x=logs,
                name=name,
                xbins={"start": lo, "end": hi + size, "size": size},
                marker_color=NET_COLORS[i % len(NET_COLORS)],
                opacity=0.6,
                hovertemplate="log10 mean |grad| %{x}<br>count %{y}<extra>" + name + "</extra>",
            )
        )
    fig.update_layout(
        barmode="overlay",
        title=title,
        font=FONT,
        height=HEIGHT["chart"],
        xaxis_title="log10 mean |gradient| (all layers, all recorded steps)",
        yaxis_title="count",
    )
    return legible(fig)


def make_alpha_figure(
    steps: np.ndarray,
    alpha: np.ndarray,
    alpha_grad: np.ndarray,
    sphere_names: Sequence[str],
    *,
    title: str = "",
) -> go.Figure:
    """The spherization layers' alpha (top) and its gradient (bottom) against the step: (T,), (T, S)."""
    steps = np.asarray(steps)
    alpha, alpha_grad = np.asarray(alpha, dtype=float), np.asarray(alpha_grad, dtype=float)
    for name, a in (("alpha", alpha), ("alpha_grad", alpha_grad)):
        if a.shape != (len(steps), len(sphere_names)):
            raise ValueError(
                f"{name} must be (T, S) = ({len(steps)}, {len(sphere_names)}). Got {a.shape} instead."
            )
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, subplot_titles=("α", "∂L/∂α"))
    colors = _layer_colors(sphere_names)
    for j, name in enumerate(sphere_names):
        for row, data in ((1, alpha), (2, alpha_grad)):
            fig.add_trace(
                go.Scatter(
                    x=steps,
                    y=data[:, j],
                    mode="lines",
                    name=name,
                    legendgroup=name,
                    showlegend=row == 1,
                    line={"color": colors[name]},
                ),
                row=row,
                col=1,
            )
    fig.update_xaxes(title_text="step", row=2, col=1)
    fig.update_layout(title=title, font=FONT, height=HEIGHT["chart"])
    return legible(fig)
