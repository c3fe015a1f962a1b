"""Widgets made from the field tables: one control per `Field`, its bounds and help from the table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import streamlit as st

from sph_viz.fields import Field


def snap(field: Field, value: float) -> float:
    """The option nearest to value on a log scale (select sliders take only their options)."""
    return min(field.choices, key=lambda o: abs(np.log10(o / value)) if value > 0 else o)


def field_widget(prefix: str, field: Field, format_func: Callable[[Any], str] | None = None) -> Any:
    """One widget for field, keyed `{prefix}_{name}`, returning a plain value."""
    key, label, help_ = f"{prefix}_{field.name}", field.title, field.help or None
    if field.many:
        return tuple(st.multiselect(label, field.choices, key=key, help=help_))
    if field.kind is str:
        return st.selectbox(label, field.choices, key=key, help=help_, format_func=format_func or str)
    if field.log:
        st.session_state[key] = snap(field, st.session_state.get(key, field.default))
        return st.select_slider(label, field.choices, key=key, help=help_, format_func=lambda v: f"{v:.0e}")
    low = 0 if field.keep_zero else field.low
    bounds = (field.kind(low), field.kind(field.high))
    step = None if field.step is None else field.kind(field.step)
    if field.widget == "slider":
        return field.kind(st.slider(label, *bounds, step=step, key=key, help=help_))
    fmt = "%.4g" if field.kind is float else None
    return field.kind(st.number_input(label, *bounds, step=step, format=fmt, key=key, help=help_))


def controls(
    prefix: str,
    fields: Sequence[Field],
    formats: dict[str, Callable[[Any], str]] | None = None,
    *,
    group: str | None = None,
) -> dict[str, Any]:
    """A widget per field (of `group` only, when given), in table order: {name: value}."""
    formats = formats or {}
    return {
        f.name: field_widget(prefix, f, formats.get(f.name))
        for f in fields
        if group is None or f.group == group
    }
