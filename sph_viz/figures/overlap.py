"""Figures of the overlap statistics (the paper's Table 3). Pure: numbers in, figure out."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from sph_viz.figures.spherenet import variant_color
from sph_viz.figures.style import FONT, HEIGHT, legible
from sph_viz.overlap import OverlapStats


def make_overlap_bar_figure(stats: dict[str, OverlapStats]) -> go.Figure:
    """# overlapping and # errors among them, one pair of bars per head."""
    names = list(stats)
    fig = go.Figure(
        [
            go.Bar(
                x=names,
                y=[s.n_overlap for s in stats.values()],
                name="# overlapping",
                marker_color="#4c78a8",
                texttemplate="%{y}",
                textposition="outside",
            ),
            go.Bar(
                x=names,
                y=[s.n_error for s in stats.values()],
                name="# errors among them",
                marker_color="#e45756",
                texttemplate="%{y}",
                textposition="outside",
            ),
        ]
    )
    tau = next(iter(stats.values())).tau if stats else 1e-6
    fig.update_layout(
        barmode="group",
        font=FONT,
        height=HEIGHT["chart"],
        title=f"Samples whose cosine to another sample is ≥ 1 − {tau:.0e}",
        yaxis_title="samples",
        legend={"orientation": "h", "y": -0.2},
    )
    return legible(fig)


def make_nn_cosine_histogram(stats: dict[str, OverlapStats], bins: int = 60) -> go.Figure:
    """Distribution of 1 - (nearest-neighbour cosine), log-scaled, with the threshold tau."""
    fig = make_subplots(rows=1, cols=1)
    floor = 1e-17  # 1 - cos below float64 resolution (exact duplicates) is drawn here
    tau = next(iter(stats.values())).tau if stats else 1e-6
    for name, s in stats.items():
        gap = np.clip(1.0 - s.nn_cosine[np.isfinite(s.nn_cosine)], floor, None)
        fig.add_trace(go.Histogram(x=np.log10(gap), name=name, opacity=0.6, nbinsx=bins))
    fig.add_vline(
        x=np.log10(tau),
        line_dash="dash",
        line_color="black",
        annotation_text=f"τ = {tau:.0e}",
        annotation_position="top right",
    )
    fig.update_layout(
        barmode="overlay",
        font=FONT,
        height=HEIGHT["chart"],
        title="Nearest-neighbour gap 1 − cos (log₁₀; left of τ = overlapping)",
        xaxis_title="log₁₀(1 − nearest-neighbour cosine)",
        yaxis_title="samples",
    )
    return legible(fig)


def compute_direction_pca(features: np.ndarray, n_components: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """PCA of the unit directions x/||x|| (what cosines see): coords (N, 3) and explained ratios (3,).

    Zero vectors stay at the origin. Overlaps are counted in the full dimension; this is a view.
    """
    from sklearn.decomposition import PCA  # only the pages that draw it pay for the import

    x = np.asarray(features, dtype=np.float64)
    x = x / np.abs(x).max(axis=1, keepdims=True).clip(min=np.finfo(float).tiny)  # tiny or huge rows
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    units = np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)
    k = min(n_components, units.shape[1], len(units))
    pca = PCA(n_components=k, svd_solver="full").fit(units)
    coords = pca.transform(units)
    if k < n_components:  # fewer dimensions than drawn: pad with zeros
        coords = np.pad(coords, ((0, 0), (0, n_components - k)))
    return coords, np.pad(pca.explained_variance_ratio_, (0, n_components - k))


EPOCH_PANELS = (("# overlapping", 0), ("# errors among them", 1), ("NC1", None))


def make_overlap_epochs_figure(runs: dict[str, list[dict]], tau: float) -> go.Figure:
    """Overlap as training goes: per operator (its runs' extras from `EpochOverlaps`), the mean over
    seeds of # overlapping and # errors at the ladder's `tau`, and NC1, against epoch; a band of
    ±1 sd where there are several seeds."""
    fig = make_subplots(rows=1, cols=3, subplot_titles=[name for name, _ in EPOCH_PANELS])
    for i, (operator, extras) in enumerate(runs.items()):
        color = variant_color(i)  # the SphereNet curves' palette: one colour per compared variant
        epochs = np.asarray(extras[0]["overlap_epochs"])
        j = int(np.flatnonzero(np.isclose(np.asarray(extras[0]["overlap_taus"]), tau))[0])
        for col, (_, k) in enumerate(EPOCH_PANELS, start=1):
            values = np.stack(
                [
                    np.asarray(e["nc1"], float) if k is None else np.asarray(e["overlap_counts"])[:, j, k]
                    for e in extras
                ]
            ).astype(float)
            mean, sd = values.mean(axis=0), values.std(axis=0)
            if len(values) > 1:
                fig.add_trace(
                    go.Scatter(
                        x=np.concatenate([epochs, epochs[::-1]]),
                        y=np.concatenate([mean + sd, (mean - sd)[::-1]]),
                        fill="toself",
                        fillcolor=color,
                        opacity=0.2,
                        line={"width": 0},
                        hoverinfo="skip",
                        showlegend=False,
                        legendgroup=operator,
                    ),
                    row=1,
                    col=col,
                )
            fig.add_trace(
                go.Scatter(
                    x=epochs,
                    y=mean,
                    mode="lines+markers",
                    name=f"{operator} ({len(values)} seed{'s' * (len(values) > 1)})",
                    line={"color": color},
                    legendgroup=operator,
                    showlegend=col == 1,
                ),
                row=1,
                col=col,
            )
    fig.update_xaxes(title_text="epoch", dtick=1)
    fig.update_yaxes(type="log", row=1, col=3)
    fig.update_layout(
        title=f"Overlap as training goes: test features, τ = {tau:g} (mean over seeds)",
        font=FONT,
        height=HEIGHT["chart"],
        margin={"l": 60, "r": 10, "t": 80, "b": 50},
    )
    return legible(fig)
