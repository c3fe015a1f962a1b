"""Neural collapse NC1 (Papyan, Han & Donoho, 2020): within-class spread against between-class spread.

NC1 = tr(Σ_W Σ_B⁺) / C, with Σ_W = 1/N Σ_i (h_i - μ_{y_i})(h_i - μ_{y_i})ᵀ the within-class
covariance, Σ_B = 1/C Σ_c (μ_c - μ_G)(μ_c - μ_G)ᵀ the between-class covariance of the class means
about their mean μ_G, and ⁺ the Moore-Penrose pseudo-inverse (Σ_B has rank <= C - 1). It falls to 0
as every sample of a class collapses onto its class mean; it does not change when the features
are scaled. Computed in float64 on the classes present.
"""

from __future__ import annotations

import numpy as np


def nc1(features, labels) -> float:
    """NC1 of features (N, d) with labels (N,): tr(Σ_W Σ_B⁺) / C; nan with fewer than two classes."""
    h = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels)
    if h.ndim != 2 or y.shape != (len(h),):
        raise ValueError(f"features must be (N, d) and labels (N,). Got {h.shape} and {y.shape} instead.")
    classes, y = np.unique(y, return_inverse=True)
    if len(classes) < 2:
        return float("nan")
    means = np.stack([h[y == c].mean(axis=0) for c in range(len(classes))])  # (C, d)
    within = h - means[y]
    sigma_w = within.T @ within / len(h)
    between = means - means.mean(axis=0)
    sigma_b = between.T @ between / len(classes)
    return float(np.trace(sigma_w @ np.linalg.pinv(sigma_b, hermitian=True)) / len(classes))
