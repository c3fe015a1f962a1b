"""One look for every figure: fonts, the class palette, heights, the circle and sphere traces."""

from __future__ import annotations

import numpy as np
import plotly.express as px
import plotly.graph_objects as go

from sph_viz.geometry import compute_sphere_wireframe

FONT = {"size": 16}  # legible on a projector at 1280x720
CLASS_PALETTE = px.colors.qualitative.T10  # 10 distinct colours, one per class
HEIGHT = {"small": 260, "panel": 340, "chart": 400, "scene": 560}
MESH_LINE = {"color": "#c8c8c8", "width": 2}


def class_color(c: int) -> str:
    return CLASS_PALETTE[int(c) % len(CLASS_PALETTE)]


def circle_trace(radius: float, *, name: str | None = None, line: dict | None = None) -> go.Scatter:
    """The circle of radius r around the origin, faint, without hover."""
    t = np.linspace(0, 2 * np.pi, 200)
    return go.Scatter(
        x=radius * np.cos(t),
        y=radius * np.sin(t),
        mode="lines",
        name=name or f"circle r={radius:g}",
        line=line or MESH_LINE,
        hoverinfo="skip",
    )


def sphere_trace(radius: float, *, n_lines: int = 12, line: dict | None = None) -> go.Scatter3d:
    """A wireframe sphere of radius r, faint, without hover."""
    wire = compute_sphere_wireframe(radius, n_lines=n_lines)
    return go.Scatter3d(
        x=wire[:, 0],
        y=wire[:, 1],
        z=wire[:, 2],
        mode="lines",
        name=f"sphere r={radius:g}",
        line=line or MESH_LINE,
        hoverinfo="skip",
    )
