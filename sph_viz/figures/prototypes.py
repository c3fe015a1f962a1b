"""Hyperspherical prototypes drawn: the features with their prototypes, Eq. 5 animated, rotated MNIST.

Pure: arrays in, figure out. The animation is Plotly frames (Play / Pause and a slider), so it
plays in the browser and in an exported HTML file alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from sph_viz.figures.sphere import make_feature_figure
from sph_viz.figures.style import FONT, HEIGHT, circle_trace, class_color, legible, rotatable, sphere_trace
from sph_viz.nn.prototypes import min_angle_deg

COLOR_MODES = ("rotation", "class")
SCENE = {
    "aspectmode": "cube",
    **{f"{a}axis": {"range": [-1.15, 1.15], "title": a} for a in "xyz"},
}


def prototype_trace(
    prototypes: np.ndarray, names: Sequence[str] | None = None, size: float = 9
) -> go.Scatter3d:
    """The prototypes (K, 3) as large outlined diamonds in their class colours."""
    p = np.asarray(prototypes, dtype=float)
    names = list(names) if names is not None else [str(i) for i in range(len(p))]
    return go.Scatter3d(
        x=p[:, 0],
        y=p[:, 1],
        z=p[:, 2],
        mode="markers+text",
        name="prototypes",
        text=[f"p{n}" for n in names],
        hovertemplate="prototype %{text}<extra></extra>",
        marker={
            "size": size,
            "symbol": "diamond",
            "color": [class_color(i) for i in range(len(p))],
            "line": {"color": "black", "width": 2},
        },
    )


def make_prototype_figure(
    features: np.ndarray,
    labels: np.ndarray,
    predictions: np.ndarray,
    prototypes: np.ndarray,
    *,
    title: str = "",
    cap: int = 10_000,
) -> go.Figure:
    """Unit features (N, 3) by class on the unit sphere, with the K fixed prototypes (K, 3)."""
    fig = make_feature_figure(features, labels, predictions, radius=1.0, title=title, cap=cap)
    fig.add_trace(prototype_trace(prototypes))
    return legible(rotatable(fig, "prototypes"))


def _points_trace(p: np.ndarray) -> go.Scatter3d | go.Scatter:
    colors = [class_color(i) for i in range(len(p))]
    marker = {"size": 9, "color": colors, "line": {"color": "black", "width": 1}}
    text = [f"p{i}" for i in range(len(p))]
    if p.shape[1] == 3:
        return go.Scatter3d(
            x=p[:, 0], y=p[:, 1], z=p[:, 2], mode="markers+text", text=text, marker=marker, name="prototypes"
        )
    return go.Scatter(x=p[:, 0], y=p[:, 1], mode="markers+text", text=text, marker=marker, name="prototypes")


def snapshot_steps(steps: int, record_every: int, n_snapshots: int) -> list[int]:
    """The optimisation step of each snapshot `optimize_prototypes` records: 0, r, 2r, ..., steps."""
    out = [0, *range(record_every, steps + 1, record_every)]
    if out[-1] != steps:
        out.append(steps)
    if len(out) != n_snapshots:
        raise ValueError(f"expected {len(out)} snapshots for these steps. Got {n_snapshots} instead.")
    return out


def make_prototype_animation(
    snapshots: Sequence[np.ndarray], steps: Sequence[int], *, title: str = "Eq. 5: prototypes spreading"
) -> go.Figure:
    """The prototypes at each recorded step (K, D), D = 2 or 3, as animation frames with a slider.

    Each frame's title gives the step and the smallest pairwise angle at that step.
    """
    if len(snapshots) != len(steps) or not snapshots:
        raise ValueError(
            f"snapshots and steps must be equally long and non-empty. Got {len(snapshots)} and {len(steps)}."
        )
    dims = np.shape(snapshots[0])[1]
    if dims not in (2, 3):
        raise ValueError(f"prototypes must have 2 or 3 dimensions to draw. Got {dims} instead.")
    mesh = sphere_trace(1.0) if dims == 3 else circle_trace(1.0, name="unit circle")

    def label(i: int) -> str:
        return f"{title} — step {steps[i]}, min angle {min_angle_deg(np.asarray(snapshots[i])):.2f}°"

    frames = [
        go.Frame(data=[mesh, _points_trace(np.asarray(p))], name=str(s), layout={"title": {"text": label(i)}})
        for i, (p, s) in enumerate(zip(snapshots, steps, strict=True))
    ]
    fig = go.Figure(data=frames[-1].data, frames=frames)
    play = {"frame": {"duration": 60, "redraw": True}, "fromcurrent": True, "transition": {"duration": 0}}
    fig.update_layout(
        title=label(len(frames) - 1),
        font=FONT,
        height=HEIGHT["scene"],
        margin={"l": 0, "r": 0, "t": 50, "b": 0},
        updatemenus=[
            {
                "type": "buttons",
                "showactive": False,
                "direction": "right",
                "x": 0.0,
                "y": 0.0,
                "xanchor": "left",
                "yanchor": "top",
                "buttons": [
                    {"label": "▶ Play", "method": "animate", "args": [None, play]},
                    {
                        "label": "⏸ Pause",
                        "method": "animate",
                        "args": [[None], {"frame": {"duration": 0}, "mode": "immediate"}],
                    },
                ],
            }
        ],
        sliders=[
            {
                "active": len(frames) - 1,
                "x": 0.25,
                "len": 0.75,
                "currentvalue": {"prefix": "step "},
                "steps": [
                    {
                        "label": str(s),
                        "method": "animate",
                        "args": [[str(s)], {"mode": "immediate", "frame": {"duration": 0, "redraw": True}}],
                    }
                    for s in steps
                ],
            }
        ],
    )
    if dims == 3:
        rotatable(fig.update_layout(scene=SCENE), "prototype-animation")
    else:
        fig.update_xaxes(range=[-1.2, 1.2])
        fig.update_yaxes(range=[-1.2, 1.2], scaleanchor="x", scaleratio=1)
    return legible(fig)


def make_rotation_figure(
    features: np.ndarray,
    angles: np.ndarray,
    classes: np.ndarray,
    digits: Sequence[int],
    prototypes: np.ndarray,
    upper: np.ndarray,
    *,
    color_by: str = "rotation",
    title: str = "",
    cap: int = 5000,
) -> go.Figure:
    """Rotated MNIST on S² (HPN Fig. 5): unit features (N, 3) coloured by rotation (degrees, (N,)) or
    by class ((N,) indices into `digits`), switchable by the figure's own buttons; the class
    prototypes (C, 3) and the two bound prototypes ±upper (3,) drawn. Shows the first `cap` points.
    """
    if color_by not in COLOR_MODES:
        raise ValueError(f"color_by must be one of {', '.join(COLOR_MODES)}. Got {color_by!r} instead.")
    f, angles, classes = np.asarray(features)[:cap], np.asarray(angles)[:cap], np.asarray(classes)[:cap]
    by_rotation = color_by == "rotation"
    fig = go.Figure([sphere_trace(1.0)])
    fig.add_trace(
        go.Scatter3d(
            x=f[:, 0],
            y=f[:, 1],
            z=f[:, 2],
            mode="markers",
            name="by rotation",
            visible=by_rotation,
            customdata=np.column_stack([angles, np.asarray(digits)[classes]]),
            hovertemplate="rotation %{customdata[0]:.1f}°, digit %{customdata[1]}<extra></extra>",
            marker={
                "size": 2.5,
                "color": angles,
                "colorscale": "Viridis",
                "cmin": 0,
                "cmax": 180,
                "colorbar": {"title": "rotation (°)"},
            },
        )
    )
    for c, digit in enumerate(digits):
        sel = classes == c
        fig.add_trace(
            go.Scatter3d(
                x=f[sel, 0],
                y=f[sel, 1],
                z=f[sel, 2],
                mode="markers",
                name=f"digit {digit}",
                visible=not by_rotation,
                marker={"size": 2.5, "color": class_color(c)},
                hovertemplate=f"digit {digit}<extra></extra>",
            )
        )
    fig.add_trace(prototype_trace(prototypes, names=[str(d) for d in digits]))
    u = np.asarray(upper, dtype=float)
    fig.add_trace(
        go.Scatter3d(
            x=[u[0], -u[0]],
            y=[u[1], -u[1]],
            z=[u[2], -u[2]],
            mode="markers+text",
            name="rotation bounds",
            text=["180°", "0°"],
            marker={"size": 8, "color": "black", "symbol": "diamond"},
        )
    )
    rotation_visible = [True, True, *([False] * len(digits)), True, True]
    class_visible = [True, False, *([True] * len(digits)), True, True]
    fig.update_layout(
        title=title,
        font=FONT,
        height=HEIGHT["scene"],
        margin={"l": 0, "r": 0, "t": 50, "b": 0},
        scene=SCENE,
        legend={"itemsizing": "constant", "orientation": "h", "y": -0.02},  # the colour bar is on the right
        updatemenus=[
            {
                "type": "buttons",
                "direction": "right",
                "x": 0.0,
                "y": 1.0,
                "buttons": [
                    {
                        "label": "colour by rotation",
                        "method": "restyle",
                        "args": [{"visible": rotation_visible}],
                    },
                    {"label": "colour by class", "method": "restyle", "args": [{"visible": class_visible}]},
                ],
            }
        ],
    )
    return legible(rotatable(fig, "rotated-mnist"))
