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
DRAG_3D = "turntable"  # rotation about the vertical axis, Plotly's own default for a scene


def rotatable(fig: go.Figure, view: str) -> go.Figure:
    """A 3-D figure whose drag always rotates and whose camera Plotly keeps while `view` stays.

    The scene's own dragmode wins over the layout's, which Streamlit sets to "pan" when a chart
    takes selections; `uirevision` tells Plotly to keep the user's camera when the same chart
    is redrawn with this view name. (Streamlit 1.67 derives a chart's element id from its spec,
    so a rerun that changes the figure mounts a new chart, which starts from the default camera.)
    """
    return fig.update_layout(uirevision=view, scene_dragmode=DRAG_3D)


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
