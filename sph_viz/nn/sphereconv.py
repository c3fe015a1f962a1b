"""SphereConv (Liu et al., 2017): convolutions and linear layers that see only angles.

Each output is g(theta), theta the angle between a kernel w and the input patch x it meets,
both L2-normalised, so the output lies in [-1, 1] whatever the scale of x or w. g is one of
SphereNet's operators (`sph_viz.nn.projections.angular_operator`: linear, cosine, sigmoid) or the
*learnable* sigmoid operator whose k is a parameter per output channel, initialised at 0.5 as in
the slides.

k stays positive through a softplus, k = softplus(raw) + K_MIN: a clamp would zero the gradient
of k once it hit the bound and leave it stuck there; the softplus keeps a gradient everywhere.
K_MIN keeps k off 0, where pi / (2k) would overflow.

"learnable-official" is the official TF code's form (wy1iu/SphereNet `spherenet.py`, norm
"lr_sigmoid"): k = |raw| + 0.05 with raw starting at 0.7, so every k starts at 0.75 (not the
slides' 0.5), and |.| passes a gradient of sign(raw) (none at raw = 0 exactly).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.modules.utils import _pair

from sph_viz.nn.names import LEARNABLE, OFFICIAL_K_MIN, OFFICIAL_K_RAW
from sph_viz.nn.projections import OPERATORS as FIXED_OPERATORS
from sph_viz.nn.projections import angular_operator

OPERATORS = (*FIXED_OPERATORS, *LEARNABLE)
K_MIN = 1e-3
_W_EPS = 1e-12  # only guards an all-zero kernel


def _check_operator(operator: str, k: float, k_init: float) -> None:
    if operator not in OPERATORS:
        raise ValueError(f"operator must be one of {', '.join(OPERATORS)}. Got {operator!r} instead.")
    if not k > 0:
        raise ValueError(f"k must be > 0. Got {k!r} instead.")
    if not k_init > K_MIN:
        raise ValueError(f"k_init must be > {K_MIN}. Got {k_init!r} instead.")


def _check_eps(eps: float) -> None:
    if not eps > 0:
        raise ValueError(f"eps must be > 0. Got {eps!r} instead.")


def sigmoid_operator(theta: torch.Tensor, k: torch.Tensor | float) -> torch.Tensor:
    """SphereNet's sigmoid g(theta) with a tensor k (broadcast against theta); values in [-1, 1].

    (1 + e^(-c)) / (1 - e^(-c)) * (1 - e^(t/k - c)) / (1 + e^(t/k - c)), c = pi / (2k), written
    as tanh((c - t/k) / 2) / tanh(c / 2), which neither overflows for small k nor divides 0 by 0.
    """
    c = math.pi / (2.0 * k)
    return torch.tanh((c - theta / k) / 2.0) / torch.tanh(torch.as_tensor(c / 2.0, dtype=theta.dtype))


class AngularOperator(nn.Module):
    """g(cos theta), channel axis at `channel_dim`; holds the learnable k: (..., C, ...) -> same."""

    def __init__(
        self, operator: str, k: float, k_init: float, n_channels: int, channel_dim: int, eps: float
    ) -> None:
        super().__init__()
        _check_operator(operator, k, k_init)
        _check_eps(eps)
        self.operator, self.k, self.channel_dim, self.eps = operator, k, channel_dim, eps
        if operator == "learnable":
            # softplus^-1(k_init - K_MIN) = log(expm1(.)), so k starts exactly at k_init
            raw = math.log(math.expm1(k_init - K_MIN))
            self.raw_k = nn.Parameter(torch.full((n_channels,), raw))
        elif operator == "learnable-official":  # starts at 0.75 whatever k_init says, as the official code
            self.raw_k = nn.Parameter(torch.full((n_channels,), OFFICIAL_K_RAW))

    def extra_repr(self) -> str:
        return f"operator={self.operator}" + (f", k={self.k}" if self.operator == "sigmoid" else "")

    def learnt_k(self) -> torch.Tensor:
        """(C,) the current k of every output channel (learnable operators only)."""
        if self.operator == "learnable-official":
            return self.raw_k.abs() + OFFICIAL_K_MIN
        return F.softplus(self.raw_k) + K_MIN

    def forward(self, cos: torch.Tensor) -> torch.Tensor:
        # rounding can push |cos| a hair past 1; g must stay in [-1, 1]
        cos = cos.clamp(-1.0, 1.0)
        if self.operator not in LEARNABLE:
            return angular_operator(cos, self.operator, self.k)
        k = self.learnt_k()
        shape = [1] * cos.dim()
        shape[self.channel_dim] = -1
        theta = torch.acos(cos.clamp(-1.0 + 1e-7, 1.0 - 1e-7))  # acos' is infinite at +-1
        return sigmoid_operator(theta, k.to(cos.dtype).view(shape))


class SphereConv2d(nn.Module):
    """g(angle(patch, kernel)): (B, in_ch, H, W) -> (B, out_ch, H', W'), values in [-1, 1].

    Patch norms come from conv2d(x², ones) (no unfold); `eps` is added to the squared norm so an
    all-zero patch gives cos = 0 (theta = 90°) with finite gradients. It also damps patches whose
    norm is near sqrt(eps) towards 0: noise-level patches carry no reliable direction.
    """

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        groups: int = 1,
        operator: str = "cosine",
        k: float = 0.3,
        *,
        k_init: float = 0.5,  # learnable: the slides initialise every k at 0.5
        bias: bool = False,  # the slides' b_Fs; redundant before BatchNorm
        eps: float = 1e-4,  # added to the squared patch norm
    ) -> None:
        super().__init__()
        for name, value in (("in_ch", in_ch), ("out_ch", out_ch), ("groups", groups)):
            if value < 1:
                raise ValueError(f"{name} must be >= 1. Got {value!r} instead.")
        if in_ch % groups or out_ch % groups:
            raise ValueError(
                f"in_ch and out_ch must be divisible by groups. Got {in_ch}, {out_ch} and {groups} instead."
            )
        self.in_ch, self.out_ch, self.groups = in_ch, out_ch, groups
        self.kernel_size, self.stride, self.padding = _pair(kernel_size), _pair(stride), _pair(padding)
        self.weight = nn.Parameter(torch.empty(out_ch, in_ch // groups, *self.kernel_size))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        self.bias = nn.Parameter(torch.zeros(out_ch)) if bias else None
        self.g = AngularOperator(operator, k, k_init, out_ch, channel_dim=1, eps=eps)
        self.register_buffer("ones", torch.ones(groups, in_ch // groups, *self.kernel_size), persistent=False)

    @property
    def operator(self) -> str:
        return self.g.operator

    def extra_repr(self) -> str:
        return (
            f"{self.in_ch}, {self.out_ch}, kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, groups={self.groups}, bias={self.bias is not None}"
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w_hat = F.normalize(self.weight.flatten(1), dim=1, eps=_W_EPS).view_as(self.weight)
        conv = dict(stride=self.stride, padding=self.padding, groups=self.groups)
        dot = F.conv2d(x, w_hat, **conv)  # (B, out, H', W'): <x_patch, w_hat>
        sq = F.conv2d(x * x, self.ones.to(x.dtype), **conv)  # (B, groups, H', W'): ||x_patch||²
        norm = torch.sqrt(sq + self.g.eps).repeat_interleave(self.out_ch // self.groups, dim=1)
        out = self.g(dot / norm)
        return out if self.bias is None else out + self.bias.view(1, -1, 1, 1)


class SphereConvLinear(nn.Module):
    """g(angle(x, w_j)) for each row w_j: (..., in_f) -> (..., out_f), values in [-1, 1]."""

    def __init__(
        self,
        in_f: int,
        out_f: int,
        operator: str = "cosine",
        k: float = 0.3,
        *,
        k_init: float = 0.5,  # learnable: the slides initialise every k at 0.5
        bias: bool = False,
        eps: float = 1e-4,  # added to ||x||²
    ) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_f, in_f))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        self.bias = nn.Parameter(torch.zeros(out_f)) if bias else None
        self.g = AngularOperator(operator, k, k_init, out_f, channel_dim=-1, eps=eps)

    @property
    def operator(self) -> str:
        return self.g.operator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w_hat = F.normalize(self.weight, dim=1, eps=_W_EPS)
        norm = torch.sqrt((x * x).sum(-1, keepdim=True) + self.g.eps)
        out = self.g((x @ w_hat.T) / norm)
        return out if self.bias is None else out + self.bias
