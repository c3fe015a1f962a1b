"""The camera of a 3-D view as page state: nine numbers (eye, center, up), checked, put into a figure.

A page keeps its camera in the URL and its config file as the fields below; a browser reports
the camera it shows as Plotly's camera dict. Both pass `camera_values` (numbers, clamped,
rounded) and `camera_from_values` (a camera Plotly can show, or the default and why not).
Pure: no Streamlit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import plotly.graph_objects as go

from sph_viz.fields import Field, convert

PARTS = ("eye", "center", "up")
AXES = ("x", "y", "z")
DEFAULT = {"eye": (1.25, 1.25, 1.25), "center": (0.0, 0.0, 0.0), "up": (0.0, 0.0, 1.0)}  # Plotly's own
LIMIT = {"eye": 100.0, "center": 10.0, "up": 1.0}  # |coordinate|: a far zoom-out, a pan, a unit vector
DIGITS = 4  # a camera rounded to 1e-4 of the scene's size looks the same
CAMERA_FIELDS = tuple(
    Field(f"{p}_{a}", float, DEFAULT[p][i], -LIMIT[p], LIMIT[p], label=f"camera {p} {a}")
    for p in PARTS
    for i, a in enumerate(AXES)
)
NAMES = tuple(f.name for f in CAMERA_FIELDS)
TAG = "sph-viz-camera:"  # layout.meta of a figure whose camera a page shares and keeps


def camera_values(camera: Mapping) -> dict[str, float]:
    """Plotly's camera dict ({"eye": {"x": ...}, "center": ..., "up": ...}) -> the nine field values,
    clamped to the fields' bounds and rounded to DIGITS; ValueError when a number is missing."""
    values = {}
    for field in CAMERA_FIELDS:
        part, axis = field.name.split("_")
        try:
            raw = camera[part][axis]
        except (KeyError, TypeError, IndexError):
            raise ValueError(f"a camera needs {part}.{axis}. Got {str(camera)[:80]!r} instead.") from None
        value, note = convert(field, raw)
        if note is not None and "not a valid" in note:
            raise ValueError(f"camera {part}.{axis} must be a finite number. Got {str(raw)[:40]!r} instead.")
        values[field.name] = round(float(value), DIGITS)
    return values


def camera_from_values(values: Mapping[str, float]) -> tuple[dict, str | None]:
    """The nine values -> Plotly's scene camera, and None; or the default camera and why, when the
    values cannot show a scene (the eye at the center, no up direction, or up along the view)."""
    defaults = default_values()
    vec = {p: np.array([float(values.get(f"{p}_{a}", defaults[f"{p}_{a}"])) for a in AXES]) for p in PARTS}
    sight, up = vec["center"] - vec["eye"], vec["up"]
    if np.linalg.norm(sight) < 10**-DIGITS:
        note = "the camera's eye is at its center"
    elif np.linalg.norm(up) < 10**-DIGITS:
        note = "the camera's up vector is zero"
    elif np.linalg.norm(np.cross(sight, up)) < 1e-6 * np.linalg.norm(sight) * np.linalg.norm(up):
        note = "the camera's up vector points along its line of sight"
    else:
        note = None
    if note is not None:
        vec = {p: np.array(DEFAULT[p]) for p in PARTS}
        note += "; using the default view."
    return {p: {a: float(v) for a, v in zip(AXES, vec[p], strict=True)} for p in PARTS}, note


def default_values() -> dict[str, float]:
    return {f.name: f.default for f in CAMERA_FIELDS}


def camera_tag(group: str) -> str:
    return TAG + group


def camera_layout(camera: Mapping, group: str) -> dict:
    """The layout entries that show a scene from `camera` and mark it as one of `group`'s views
    (layout.meta), whose camera the page's camera component reports and shares."""
    if not all(math.isfinite(camera[p][a]) for p in PARTS for a in AXES):
        raise ValueError(f"camera values must be finite. Got {dict(camera)} instead.")
    return {"scene": {"camera": {p: dict(camera[p]) for p in PARTS}}, "meta": camera_tag(group)}


def set_camera(fig: go.Figure, camera: Mapping, group: str) -> go.Figure:
    """The figure's scene shown from `camera`, marked as one of `group`'s views. Returns fig."""
    return fig.update_layout(camera_layout(camera, group))
