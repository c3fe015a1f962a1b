"""Argument checks with the house's wording, "NAME must be ... Got VALUE instead.", shared by the
configs of models, training and experiments (one copy instead of four)."""

from __future__ import annotations

import math


def check_int(name: str, value: object, low: int, high: int | None = None) -> None:
    """ValueError unless value is an int (not a bool) in [low, high] (high None: no upper bound)."""
    bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
    ok = isinstance(value, int) and not isinstance(value, bool)
    if not ok or value < low or (high is not None and value > high):
        raise ValueError(f"{name} must be an integer {bounds}. Got {value!r} instead.")


def finite_number(value: object) -> bool:
    """An int or float (not a bool), neither NaN nor infinite."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_float(name: str, value: object, low: float, high: float) -> None:
    """ValueError unless value is a finite number in [low, high]."""
    if not (finite_number(value) and low <= value <= high):
        raise ValueError(f"{name} must be in [{low}, {high}]. Got {value!r} instead.")
