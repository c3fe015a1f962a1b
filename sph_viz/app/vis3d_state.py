"""The CNN-Vis3D page's view state beside its settings: which head, side by side, the sample, the
neighbours' k, the confusion cell and the camera; in the URL and the config file like the settings.

Each is a `Field` (validated the same way) kept in session state as `vis3d_<name>`. The URL carries
the ones that differ from their defaults (a link stays short until someone turns the sphere or
picks a sample); the config file carries all of them.
"""

from __future__ import annotations

import streamlit as st

from models.vis3d import HEADS
from sph_viz.app.state import sync_url
from sph_viz.experiments.vis3d import VIS3D_FIELDS
from sph_viz.fields import Field
from sph_viz.figures.camera import CAMERA_FIELDS

PREFIX = "vis3d"
VIEWS = {"one": "one head", "side-by-side": "heads side by side"}
CELLS = ("auto", *(f"{t}-{p}" for t in range(10) for p in range(10)))  # "true-predicted"
VIEW_FIELDS = (
    Field("head", str, "spherized", choices=HEADS, label="head"),
    Field("view", str, "one", choices=tuple(VIEWS), label="view"),
    Field("sample", int, 0, 0, 999_999, label="sample #"),
    Field("k", int, 8, 1, 24, label="neighbours shown (k)"),
    Field("cell", str, "auto", choices=CELLS, label="confusion cell (true-predicted)"),
    *CAMERA_FIELDS,
)
PAGE_FIELDS = (*VIS3D_FIELDS, *VIEW_FIELDS)
WIDGET_KEYS = tuple(f"{PREFIX}_{name}" for name in ("view", "sample", "k", "cell"))


def keep_view_state() -> None:
    """Keep the view widgets' values through runs that do not draw them (side by side draws no
    map, no confusion matrix): Streamlit drops a widget's state when a run skips the widget."""
    for key in WIDGET_KEYS:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def view_values() -> dict:
    """The view fields as the page holds them now (an uploaded model's name is no shareable head)."""
    values = {f.name: st.session_state.get(f"{PREFIX}_{f.name}", f.default) for f in VIEW_FIELDS}
    if values["head"] not in HEADS:
        values["head"] = VIEW_FIELDS[0].default
    return values


def page_values(settings: dict) -> dict:
    """The whole page: its settings and its view (the config file's content)."""
    return {**settings, **view_values()}


def sync_page_url(settings: dict) -> None:
    """The URL: every setting, and the view fields that differ from their defaults."""
    view = view_values()
    sync_url({**settings, **{f.name: view[f.name] for f in VIEW_FIELDS if view[f.name] != f.default}})
