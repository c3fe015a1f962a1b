"""SphereNet's convergence claim as figures: curves with bands over seeds, and the learnt k.

Compute, then plot: `compute_curve_band` turns the curves of several seeds (the extras of
`run_spherenet`) into a mean and a ±1 sd band on a common axis; `make_curve_figure` draws bands
only. Against steps the seeds share their steps; against seconds each seed is interpolated onto
a grid up to the shortest run's end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import plotly.express as px
import plotly.graph_objects as go

from sph_viz.figures.style import FONT, HEIGHT, legible
from sph_viz.nn.names import OFFICIAL_K_MIN, OFFICIAL_K_RAW, SLIDES_K_INIT

X_AXES = ("steps", "seconds")
Y_CURVES = ("loss", "accuracy", "probe_accuracy")
Y_TITLES = {
    "loss": "training loss",
    "accuracy": "training accuracy",
    "probe_accuracy": "test accuracy (probe)",
}
X_TITLES = {"steps": "steps", "seconds": "training seconds"}
VARIANT_PALETTE = px.colors.qualitative.D3


@dataclass(frozen=True)
class CurveBand:
    """Mean and ±1 sd over runs of one curve on a common x: all (M,)."""

    x: np.ndarray
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray
    n_runs: int


def smooth(values: np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average (the first points average what there is): (S,) -> (S,)."""
    values = np.asarray(values, dtype=float)
    if window <= 1 or len(values) == 0:
        return values
    c = np.cumsum(np.insert(values, 0, 0.0))
    idx = np.arange(1, len(values) + 1)
    start = np.maximum(idx - window, 0)
    return (c[idx] - c[start]) / (idx - start)


def compute_curve_band(
    runs: Sequence[Mapping[str, np.ndarray]],
    x: str = "steps",
    y: str = "loss",
    window: int = 1,
    points: int = 200,
) -> CurveBand:
    """One curve of several runs -> mean ± sd on a common x.

    runs: curves as `run_spherenet` stores them; x: "steps" or "seconds"; y: "loss", "accuracy"
    (per step, smoothed over `window` steps) or "probe_accuracy" (per probe evaluation).
    """
    if x not in X_AXES:
        raise ValueError(f"x must be one of {', '.join(X_AXES)}. Got {x!r} instead.")
    if y not in Y_CURVES:
        raise ValueError(f"y must be one of {', '.join(Y_CURVES)}. Got {y!r} instead.")
    if not runs:
        raise ValueError("runs must hold at least one run. Got none instead.")
    x_key = f"probe_{x}" if y == "probe_accuracy" else x
    xs = [np.asarray(r[x_key], dtype=float) for r in runs]
    ys = [smooth(r[y], window) if y != "probe_accuracy" else np.asarray(r[y], float) for r in runs]
    if x == "steps" or len(runs) == 1:  # seeds share their steps (a stopped run is shorter)
        m = min(len(v) for v in xs)
        grid, stack = xs[0][:m], np.stack([v[:m] for v in ys])
    else:
        grid = np.linspace(max(v[0] for v in xs), min(v[-1] for v in xs), points)
        stack = np.stack([np.interp(grid, xv, yv) for xv, yv in zip(xs, ys, strict=True)])
    mean, sd = stack.mean(0), stack.std(0)
    return CurveBand(grid, mean, mean - sd, mean + sd, len(runs))


def variant_color(i: int) -> str:
    return VARIANT_PALETTE[i % len(VARIANT_PALETTE)]


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def make_curve_figure(
    bands: Mapping[str, CurveBand], *, x: str = "steps", y: str = "loss", title: str = ""
) -> go.Figure:
    """One line (the mean) and one shaded ±1 sd band per variant."""
    fig = go.Figure()
    for i, (name, band) in enumerate(bands.items()):
        color = variant_color(i)
        fig.add_trace(
            go.Scatter(
                x=np.concatenate([band.x, band.x[::-1]]),
                y=np.concatenate([band.high, band.low[::-1]]),
                mode="lines",
                fill="toself",
                fillcolor=_rgba(color, 0.2),
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
                name=f"{name} ±1 sd",
            )
        )
        label = f"{name} (mean of {band.n_runs} seeds)" if band.n_runs > 1 else name
        fig.add_trace(go.Scatter(x=band.x, y=band.mean, mode="lines", name=label, line={"color": color}))
    fig.update_layout(
        title=title,
        xaxis_title=X_TITLES.get(x, x),
        yaxis_title=Y_TITLES.get(y, y),
        font=FONT,
        height=HEIGHT["chart"],
        margin={"l": 60, "r": 10, "t": 50, "b": 50},
        legend={"orientation": "h", "y": -0.25},
    )
    if y == "loss":
        fig.update_yaxes(type="log")
    return legible(fig)


def make_k_histogram(
    ks: Mapping[str, np.ndarray], *, k_init: float | Sequence[float] = 0.5, title: str = ""
) -> go.Figure:
    """Histogram of the learnt k of every kernel, one trace per run, with each initial k marked."""
    fig = go.Figure()
    for i, (name, values) in enumerate(ks.items()):
        fig.add_trace(
            go.Histogram(x=np.asarray(values), name=name, opacity=0.7, marker={"color": variant_color(i)})
        )
    for k0 in sorted({k_init} if isinstance(k_init, float | int) else set(k_init)):
        fig.add_vline(x=k0, line={"dash": "dash", "color": "black"}, annotation_text=f"initial k = {k0:g}")
    fig.update_layout(
        title=title or "learnt k per kernel (learnable SphereConv)",
        xaxis_title="k",
        yaxis_title="kernels",
        barmode="overlay",
        font=FONT,
        height=HEIGHT["chart"],
        margin={"l": 60, "r": 10, "t": 50, "b": 50},
    )
    return legible(fig)


def make_spherenet_figures(
    curves: Mapping[str, Sequence[Mapping[str, np.ndarray]]], *, title: str = "", window: int = 20
) -> dict[str, go.Figure]:
    """The claim's figures from {variant: [extras of each seed]}: loss (smoothed over `window`
    steps) and probe test accuracy against steps and seconds, and the learnt k (when any)."""
    figs = {}
    for y, w in (("loss", window), ("probe_accuracy", 1)):
        for x in X_AXES:
            bands = {v: compute_curve_band(runs, x, y, w) for v, runs in curves.items() if runs}
            figs[f"{y}_vs_{x}"] = make_curve_figure(bands, x=x, y=y, title=title)
    ks = {
        f"{v} #{i + 1}": r["learnt_k"]
        for v, runs in curves.items()
        for i, r in enumerate(runs)
        if len(r.get("learnt_k", ()))
    }
    if ks:  # the official form starts every k at 0.75, ours at the slides' 0.5
        learnt = [v for v, runs in curves.items() if any(len(r.get("learnt_k", ())) for r in runs)]
        starts = [
            OFFICIAL_K_RAW + OFFICIAL_K_MIN if v.endswith("official") else SLIDES_K_INIT for v in learnt
        ]
        figs["learnt_k"] = make_k_histogram(ks, k_init=starts)
    return figs
