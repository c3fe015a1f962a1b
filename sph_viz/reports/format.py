"""Numbers over seeds in words: the one mean ± sd of the command line, the pages and the claims.

The sd is the population standard deviation (numpy's default), as every table here reports it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """(mean, sd) of the values that are not NaN; (NaN, NaN) when none is."""
    a = np.asarray(values, dtype=float)
    a = a[~np.isnan(a)]
    return (float(a.mean()), float(a.std())) if len(a) else (float("nan"), float("nan"))


def pm(pair: tuple[float, float], fmt: str = ".2f", unit: str = "") -> str:
    """'mean ± sd' of a (mean, sd) pair in `fmt`, then `unit`; '-' when the mean is NaN."""
    mean, sd = pair
    return "-" if np.isnan(mean) else f"{mean:{fmt}} ± {sd:{fmt}}{unit}"


def mean_sd(values: Sequence[float], fmt: str = ".2f", *, one: str | None = None) -> str:
    """'mean ± sd' over several values; one value alone as itself (in `one`, default `fmt`)."""
    if len(values) == 1:
        return f"{values[0]:{one or fmt}}"
    return pm(mean_std(values), fmt)


def k_summary(ks: Sequence[float]) -> str:
    """'mean ± sd (n kernels)' of learnt SphereConv k values, or '-' when there are none."""
    return f"{pm(mean_std(ks), '.3f')} ({len(ks)} kernels)" if len(ks) else "-"
