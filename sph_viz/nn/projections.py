"""Projection baselines that keep only directions, for comparison on the same head.

- `NormalizedLinear`: L2-normalise x, then a linear layer (with or without bias).
- `SphereNetLinear`: SphereNet's angular operators g(theta) (Liu et al., 2017) between x and
  each class weight w. `normalize_input=True` is SphereConv (x and w normalised, output
  g(theta)); `normalize_input=False` is the W-Softmax form (w normalised only, output
  ||x|| g(theta)).

All of them lose ||x||, so samples along one direction become indistinguishable.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from sph_viz.nn.names import OPERATORS

_EPS = 1e-12
# acos has an infinite derivative at +-1; clamping just inside keeps every gradient finite.
_COS_LIMIT = 1.0 - 1e-7


def angular_operator(cos_theta: torch.Tensor, operator: str, k: float = 0.3) -> torch.Tensor:
    """g(theta) for SphereNet's operators, from cos(theta); values in [-1, 1]."""
    if operator == "cosine":
        return cos_theta
    theta = torch.acos(cos_theta.clamp(-_COS_LIMIT, _COS_LIMIT))
    if operator == "linear":
        return 1.0 - 2.0 * theta / math.pi
    if operator == "sigmoid":
        c = math.pi / (2.0 * k)
        scale = (1.0 + math.exp(-c)) / (1.0 - math.exp(-c))
        return scale * torch.tanh((c - theta / k) / 2.0)  # = scale * (1-e^(t/k-c)) / (1+e^(t/k-c))
    raise ValueError(f"operator must be one of {', '.join(OPERATORS)}. Got {operator!r} instead.")


class NormalizedLinear(nn.Module):
    """x / ||x|| then Linear(in, out): (..., in) -> (..., out)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        super().__init__()
        self.linear = nn.Linear(in_features, out_features, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(F.normalize(x, dim=-1, eps=_EPS))


class SphereNetLinear(nn.Module):
    """SphereNet operator head: (..., in) -> (..., out) logits g(theta) or ||x|| g(theta)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        operator: str = "cosine",
        *,
        normalize_input: bool = True,
        k: float = 0.3,
    ) -> None:
        super().__init__()
        if operator not in OPERATORS:
            raise ValueError(f"operator must be one of {', '.join(OPERATORS)}. Got {operator!r} instead.")
        if not k > 0:
            raise ValueError(f"k must be > 0. Got {k!r} instead.")
        self.operator, self.normalize_input, self.k = operator, normalize_input, k
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def extra_repr(self) -> str:
        form = "SphereConv" if self.normalize_input else "W-Softmax"
        return f"operator={self.operator}, form={form}, k={self.k}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm = x.norm(dim=-1, keepdim=True)
        cos = (x / norm.clamp_min(_EPS)) @ F.normalize(self.weight, dim=-1, eps=_EPS).T
        g = angular_operator(cos, self.operator, self.k)
        return g if self.normalize_input else norm * g
