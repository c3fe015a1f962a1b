"""Stage-by-stage figures of the spherization layer itself. Pure: numbers in, figure out.

The numbers come from the layer's NumPy twin (`sph_viz.nn.layer_numpy`, tested equal to the torch
layer), so the pages that draw these import no torch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from sph_viz.figures.style import FONT, legible, rotatable, sphere_trace
from sph_viz.nn.layer_numpy import angularize, lower_angle, spherize


def compute_angle_curve(alpha: float, delta: float, n: int, z_max: float = 10.0, points: int = 401):
    """z (points,), phi(z) (points,) and phi_L for the angularization with these settings."""
    phi_low = lower_angle(n, delta)
    z = np.linspace(-z_max, z_max, points)
    return z, angularize(z, alpha, phi_low), phi_low


def make_angle_curve_figure(
    z: np.ndarray, phi: np.ndarray, phi_low: float, *, marker_z=None, band_label: bool = True
) -> go.Figure:
    """phi = (pi/2 - phi_L) sigmoid(alpha z) + phi_L, with the reachable band [phi_L, pi/2].

    `band_label=False` leaves the band's words out, for a narrow column where they would
    cross the curve.
    """
    fig = go.Figure()
    words = {"annotation_text": "reachable angles [φ_L, π/2]", "annotation_position": "top left"}
    band = {"fillcolor": "#4c78a8", "opacity": 0.08, "line_width": 0} | (words if band_label else {})
    fig.add_hrect(y0=phi_low, y1=math.pi / 2, **band)
    fig.add_hline(  # above the line at the left, where the curve lies on it: clear of the tick labels
        y=phi_low,
        line_dash="dot",
        annotation_text=f"φ_L = {phi_low:.3g}",
        annotation_position="top left",
    )
    fig.add_hline(y=math.pi / 2, line_dash="dot", annotation_text="π/2", annotation_position="top right")
    fig.add_trace(go.Scatter(x=z, y=phi, mode="lines", name="φ(z)", line={"width": 3, "color": "#4c78a8"}))
    if marker_z is not None:
        k = int(np.argmin(np.abs(z - marker_z)))
        fig.add_trace(
            go.Scatter(
                x=[z[k]],
                y=[phi[k]],
                mode="markers",
                name=f"z = {z[k]:.2f}",
                marker={"size": 12, "color": "#e45756"},
            )
        )
    fig.update_layout(
        font=FONT,
        height=340,
        margin={"t": 30, "b": 40},
        showlegend=False,
        xaxis_title="pre-activation z",
        yaxis_title="angle φ (rad)",
    )
    fig.update_yaxes(range=[-0.05, math.pi / 2 + 0.15])
    return legible(fig)


def walkthrough_inputs(z1: float, z2: float, n: int) -> tuple[float, ...]:
    """The n pre-activations the walkthrough shows: (z1, z2, 0, ..., 0), or (z1,) when n = 1."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer. Got {n!r} instead.")
    return ((z1, z2) + (0.0,) * (n - 2))[:n]


def compute_walkthrough(z: Sequence[float], alpha: float, delta: float, radius: float) -> dict:
    """z (n,) -> phi (n,) -> s (n+1,) on the sphere of radius r, each stage as numbers.

    `view` (3,) = (s_1, s_2, ||s_3..s_{n+1}||) is s drawn in 3-D: the same distance r from the
    origin, with the angles phi_1 and phi_2 of s itself (phi_2 = 0 when n = 1).
    """
    n = len(z)
    phi_low = lower_angle(n, delta)
    phi, s = angularize(z, alpha, phi_low), spherize(np.asarray(z, dtype=float), alpha, delta, radius)
    return {
        "z": np.asarray(z, dtype=float),
        "phi": phi,
        "s": s,
        "view": np.array([s[0], s[1], np.linalg.norm(s[2:])]),
        "norm": float(np.linalg.norm(s)),
        "phi_low": phi_low,
        "radius": radius,
    }


def compute_reachable_patch(n: int, delta: float, radius: float, n_grid: int = 25) -> np.ndarray:
    """Points (n_grid, n_grid, 3) the walkthrough's 3-D view can reach: phi_1, phi_2 in [phi_L, pi/2].

    For n = 1 there is no phi_2 (it is 0): the patch is an arc of the circle in the x-y plane.
    """
    phi_low = lower_angle(n, delta)
    low2, top2 = (phi_low, math.pi / 2) if n >= 2 else (0.0, 0.0)
    p1, p2 = np.meshgrid(np.linspace(phi_low, math.pi / 2, n_grid), np.linspace(low2, top2, n_grid))
    return radius * np.stack([np.cos(p1), np.sin(p1) * np.cos(p2), np.sin(p1) * np.sin(p2)], axis=-1)


def make_walkthrough_figure(stage: dict, patch: np.ndarray) -> go.Figure:
    """The sphere (faint), the reachable patch (shaded), and the point s in 3-D (`view`).

    For n > 2 the third axis is ||(s_3, ..., s_{n+1})||, so the point keeps its norm r.
    """
    r, s, dim = stage["radius"], stage["view"], len(stage["s"])
    z_title = "s₃" if dim == 3 else f"‖(s₃ … s{dim})‖" if dim > 3 else "0 (n = 1)"
    fig = go.Figure(
        [
            sphere_trace(r, n_lines=10, line={"color": "rgba(120,120,120,0.25)", "width": 1}),
            go.Surface(
                x=patch[..., 0],
                y=patch[..., 1],
                z=patch[..., 2],
                opacity=0.35,
                showscale=False,
                colorscale=[[0, "#4c78a8"], [1, "#4c78a8"]],
                name="reachable",
                hoverinfo="skip",
            ),
            go.Scatter3d(
                x=[0, s[0]],
                y=[0, s[1]],
                z=[0, s[2]],
                mode="lines+markers",
                name="s",
                line={"color": "#e45756", "width": 6},
                marker={"size": [2, 8], "color": "#e45756"},
                hovertemplate=f"(s₁, s₂, {z_title}) = (%{{x:.3f}}, %{{y:.3f}}, %{{z:.3f}})<extra></extra>",
            ),
        ]
    )
    m = 1.1 * r
    fig.update_layout(
        font=FONT,
        height=420,
        margin={"l": 0, "r": 0, "t": 10, "b": 0},
        showlegend=False,
        scene={
            "aspectmode": "cube",
            "xaxis": {"range": [-m, m], "title": {"text": "s₁"}},
            "yaxis": {"range": [-m, m], "title": {"text": "s₂"}},
            "zaxis": {"range": [-m, m], "title": {"text": z_title}},
        },
    )
    return legible(rotatable(fig, "layer-walkthrough"))
