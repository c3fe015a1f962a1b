"""The spherization layer's forward map in NumPy (float64), for figures that need no torch.

The same equations, in the same log-space order, as `sph_viz.nn.layers` (the layer the nets
train with); `tests/integration/test_startup.py` checks both agree to 1e-12 for n = 1 ... 64, saturated
inputs included, so this is the layer's twin, not a second definition. The Home page and
the Layer explorer draw from it, which keeps torch (about 1-2 s to import on a 2-core CPU)
off pages that only show the closed form.
"""

from __future__ import annotations

import math

import numpy as np


def lower_angle(n_features: int, delta: float = 1e-6) -> float:
    """phi_L = asin(delta ** (1/n)): the smallest angle, so that prod sin(phi) >= delta."""
    if isinstance(n_features, bool) or not isinstance(n_features, int) or n_features < 1:
        raise ValueError(f"n_features must be a positive integer. Got {n_features!r} instead.")
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta must be in (0, 1). Got {delta!r} instead.")
    return math.asin(delta ** (1.0 / n_features))


def angularize(z: np.ndarray, alpha: float, phi_low: float) -> np.ndarray:
    """(..., n) pre-activations -> (..., n) angles in [phi_L, pi/2]."""
    return (math.pi / 2 - phi_low) * _sigmoid(alpha * np.asarray(z, dtype=np.float64)) + phi_low


def _sigmoid(u: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-u)); exp overflows to inf for u < -709, which gives the right 0."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-u))


def _log_sigmoid(u: np.ndarray) -> np.ndarray:
    """log(sigmoid(u)) without overflow: min(u, 0) - log1p(exp(-|u|)), as torch computes it."""
    return np.minimum(u, 0.0) - np.log1p(np.exp(-np.abs(u)))


def spherize(z: np.ndarray, alpha: float = 1.0, delta: float = 1e-6, radius: float = 1.0) -> np.ndarray:
    """Pre-activations (..., n) -> points (..., n+1) on the sphere of radius r.

    s_k = r cos(phi_k) prod_{i<k} sin(phi_i), s_{n+1} = r prod_i sin(phi_i), each in log
    space; cos(phi) comes from the complement angle through log-sigmoid, so a saturated
    sigmoid gives a tiny cosine, never log(0).
    """
    if not (math.isfinite(alpha) and alpha > 0):
        raise ValueError(f"scale must be > 0. Got {alpha!r} instead.")
    if not (math.isfinite(radius) and radius > 0):
        raise ValueError(f"radius must be > 0. Got {radius!r} instead.")
    z = np.asarray(z, dtype=np.float64)
    n = z.shape[-1]
    phi_low = lower_angle(n, delta)
    span = math.pi / 2 - phi_low
    u = alpha * z
    log_psi = math.log(span) + _log_sigmoid(-u)  # log of the complement angle pi/2 - phi
    psi = np.exp(log_psi)
    log_cos = log_psi + np.log(np.sinc(psi / math.pi))  # sin(psi) = psi * sinc(psi)
    log_sin = np.log(np.sin(span * _sigmoid(u) + phi_low))  # sin(phi) >= delta**(1/n) > 0
    zero = np.zeros((*z.shape[:-1], 1))
    before = np.concatenate([zero, np.cumsum(log_sin[..., :-1], axis=-1)], axis=-1)  # sum_{i<k} (..., n)
    last = before[..., -1:] + log_sin[..., -1:]  # sum over every i: the (n+1)-th coordinate
    return radius * np.exp(np.concatenate([before + log_cos, last], axis=-1))
