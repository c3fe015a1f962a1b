"""Stage-by-stage figures of the spherization layer itself. Pure: numbers in, figure out."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import torch

from sph_viz.figures.style import FONT, sphere_trace
from sph_viz.layers import Spherization, lower_angle


def compute_angle_curve(alpha: float, delta: float, n: int, z_max: float = 10.0, points: int = 401):
    """z (points,), phi(z) (points,) and phi_L for the angularization with these settings."""
    layer = Spherization(n, delta=delta, scale=alpha).double()
    z = torch.linspace(-z_max, z_max, points, dtype=torch.float64)
    phi = layer.angles(z[:, None].expand(-1, n))[:, 0]
    return z.numpy(), phi.detach().numpy(), lower_angle(n, delta)


def make_angle_curve_figure(z: np.ndarray, phi: np.ndarray, phi_low: float, *, marker_z=None) -> go.Figure:
    """phi = (pi/2 - phi_L) sigmoid(alpha z) + phi_L, with the reachable band [phi_L, pi/2]."""
    fig = go.Figure()
    fig.add_hrect(
        y0=phi_low,
        y1=math.pi / 2,
        fillcolor="#4c78a8",
        opacity=0.08,
        line_width=0,
        annotation_text="reachable angles [φ_L, π/2]",
        annotation_position="top left",
    )
    fig.add_hline(
        y=phi_low,
        line_dash="dot",
        annotation_text=f"φ_L = {phi_low:.3g}",
        annotation_position="bottom right",
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
    return fig


def compute_walkthrough(z: tuple[float, float], alpha: float, delta: float, radius: float) -> dict:
    """z (2,) -> phi (2,) -> s (3,) on the sphere of radius r, each stage as numbers."""
    layer = Spherization(2, delta=delta, scale=alpha, radius=radius).double()
    zt = torch.tensor([z], dtype=torch.float64)
    with torch.no_grad():
        phi, s = layer.angles(zt)[0].numpy(), layer(zt)[0].numpy()
    return {
        "z": np.asarray(z, dtype=float),
        "phi": phi,
        "s": s,
        "norm": float(np.linalg.norm(s)),
        "phi_low": lower_angle(2, delta),
        "radius": radius,
    }


def compute_reachable_patch(alpha: float, delta: float, radius: float, n_grid: int = 25) -> np.ndarray:
    """Points (n_grid, n_grid, 3) of the sphere a 2-D spherization can reach (an octant)."""
    phi_low = lower_angle(2, delta)
    p1, p2 = np.meshgrid(np.linspace(phi_low, math.pi / 2, n_grid), np.linspace(phi_low, math.pi / 2, n_grid))
    return radius * np.stack([np.cos(p1), np.sin(p1) * np.cos(p2), np.sin(p1) * np.sin(p2)], axis=-1)


def make_walkthrough_figure(stage: dict, patch: np.ndarray) -> go.Figure:
    """The sphere (faint), the reachable octant (shaded), and the point s with its axes."""
    r, s = stage["radius"], stage["s"]
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
                hovertemplate="s = (%{x:.3f}, %{y:.3f}, %{z:.3f})<extra></extra>",
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
            "xaxis": {"range": [-m, m]},
            "yaxis": {"range": [-m, m]},
            "zaxis": {"range": [-m, m]},
        },
    )
    return fig
