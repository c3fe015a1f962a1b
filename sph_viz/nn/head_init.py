"""A starting point for the bias-free classifier that reads spherized points: every class alive.

Spherized points s = r (cos φ1, sin φ1 cos φ2, sin φ1 sin φ2) all lie in the positive octant,
and at the start of training, with batch-normalised pre-activations and α = 1, most of them in
its middle (each angle's 10 % and 90 % quantiles are at 0.22 and 0.78 of [0, π/2]). With
torch's default init only 3 to 6 of the ten classifier rows win anywhere there: the other
classes must first claw back a region, and in a 2-D map of angles a class can stay trapped
behind its neighbours (CNN-Vis3D, two bf16 epochs of the `fast` recipe, seed 1: 88.9 % test
accuracy, one digit lost; README, "Training speed").
`init_spread_` puts the rows at C directions spread over that middle patch instead, with one
norm, so each class owns one cell of it from the first step.
"""

from __future__ import annotations

import math

import torch

from sph_viz.nn.layers import spherize_reference

GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0
PATCH = (0.2, 0.8)  # the part of [0, π/2] each angle's rows spread over (about its 10-90 % range)


def spread_directions(n_rows: int, patch: tuple[float, float] = PATCH) -> torch.Tensor:
    """n_rows unit vectors (n_rows, 3) on a golden-ratio lattice over the angle patch.

    Row k has φ1 = f((k + 1/2) / n) and φ2 = f(frac(k·g + 1/2)), g = (√5 − 1)/2, where f maps
    [0, 1] linearly onto patch · π/2: a Kronecker lattice, even in both angles for any n.
    """
    low, high = patch
    if not 0.0 <= low < high <= 1.0:
        raise ValueError(f"patch must satisfy 0 <= low < high <= 1. Got {patch!r} instead.")
    if isinstance(n_rows, bool) or not isinstance(n_rows, int) or n_rows < 1:
        raise ValueError(f"n_rows must be a positive integer. Got {n_rows!r} instead.")
    k = torch.arange(n_rows, dtype=torch.float64)
    q = torch.stack([(k + 0.5) / n_rows, (k * GOLDEN + 0.5) % 1.0], dim=-1)  # (n, 2) in [0, 1)
    return spherize_reference((low + (high - low) * q) * (math.pi / 2))


@torch.no_grad()
def init_spread_(weight: torch.Tensor, norm: float) -> torch.Tensor:
    """Rows of a (C, 3) classifier weight := `norm` × the C spread directions, assigned to the
    classes in a random order (torch's global generator, so a seeded model is repeatable). In place.
    """
    if weight.dim() != 2 or weight.shape[1] != 3:
        raise ValueError(f"weight must have shape (C, 3). Got {tuple(weight.shape)} instead.")
    if not (math.isfinite(norm) and norm > 0):
        raise ValueError(f"norm must be > 0. Got {norm!r} instead.")
    rows = spread_directions(weight.shape[0])[torch.randperm(weight.shape[0])]
    return weight.copy_(norm * rows)
