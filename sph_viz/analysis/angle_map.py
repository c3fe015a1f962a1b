"""The 2-D map of features on a sphere: two angles per sample, and how many share each point.

The spherized head's features are s = r (cos φ₁, sin φ₁ cos φ₂, sin φ₁ sin φ₂), so the map
shows its own angles φ₁, φ₂ in [φ_L, π/2]; any other 3-D head shows the azimuth and elevation
of its feature direction; a 2-D head shows its plane as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sph_viz.analysis.geometry import compute_azimuth_elevation, compute_sphere_angles, count_coincident


@dataclass(frozen=True)
class AngleMap:
    coords: np.ndarray  # (N, 2): radians for "spherized" and "azimuth", the features for "plane"
    counts: np.ndarray  # (N,): samples at exactly the same map point, itself included
    kind: str  # "spherized", "azimuth" or "plane"
    axis_titles: tuple[str, str]
    bounds: tuple[tuple[float, float], tuple[float, float]] | None  # each axis' range, same unit as coords


def compute_angle_map(features: np.ndarray, *, phi_low: float | None = None) -> AngleMap:
    """Features (N, 2 or 3) -> their map; `phi_low` (the spherization's φ_L) marks a spherized head.

    spherized: φ₁ = atan2(‖(s₂, s₃)‖, s₁), φ₂ = atan2(s₃, s₂), the inverse of the spherization;
    other 3-D heads: azimuth atan2(y, x), elevation asin(z/‖x‖); 2-D heads: (x, y).
    """
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or features.shape[1] not in (2, 3):
        raise ValueError(f"features must have shape (N, 2) or (N, 3). Got {features.shape} instead.")
    if phi_low is not None:
        if features.shape[1] != 3:
            raise ValueError(f"a spherized head has 3-D features. Got {features.shape[1]} columns instead.")
        if not 0 <= phi_low < math.pi / 2:
            raise ValueError(f"phi_low must be in [0, pi/2). Got {phi_low!r} instead.")
        coords = compute_sphere_angles(features)
        span = (phi_low, math.pi / 2)
        return AngleMap(coords, count_coincident(coords), "spherized", ("φ₁", "φ₂"), (span, span))
    if features.shape[1] == 3:
        coords = compute_azimuth_elevation(features)
        bounds = ((-math.pi, math.pi), (-math.pi / 2, math.pi / 2))
        return AngleMap(coords, count_coincident(coords), "azimuth", ("azimuth", "elevation"), bounds)
    return AngleMap(features, count_coincident(features), "plane", ("x", "y"), None)
