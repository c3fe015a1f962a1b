"""One look for every figure: fonts, the class palette, heights, the circle and sphere traces."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.colors import qualitative

from sph_viz.analysis.geometry import compute_sphere_wireframe

TEXT_PX = 16  # the smallest text in any figure: legible on a projector at 1280x720
FONT = {"size": TEXT_PX}
CLASS_PALETTE = qualitative.T10  # 10 distinct colours, one per class
HEIGHT = {"small": 260, "panel": 340, "chart": 400, "scene": 560}
MESH_LINE = {"color": "#c8c8c8", "width": 2}
DRAG_3D = "turntable"  # rotation about the vertical axis, Plotly's own default for a scene


def legible(fig: go.Figure) -> go.Figure:
    """Every text of the figure at >= TEXT_PX, set on the layout itself (returns fig).

    Streamlit's chart theme writes 12-14 px into the figure's template for tick labels, axis
    titles, legends and hover labels, which beats the layout's `font`; values set on the
    layout itself beat the template. Plotly's hover labels default to 13 px everywhere.
    """
    size = {"size": TEXT_PX}
    fig.update_layout(font=size, legend_font=size, legend_title_font=size, hoverlabel_font=size)
    if any(hasattr(t, "xaxis") for t in fig.data):  # 2-D axes (a 3-D scene inherits `font`)
        fig.update_xaxes(tickfont=size, title_font=size)
        fig.update_yaxes(tickfont=size, title_font=size)
    for note in fig.layout.annotations:  # subplot titles, line labels: never below TEXT_PX
        note.font.size = max(note.font.size or TEXT_PX, TEXT_PX)
    return fig


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
