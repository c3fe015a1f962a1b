"""The spherization layer (Kim & Kim, NeurIPS 2022): angles in, points on a sphere out.

`Spherization` maps pre-activations z of shape (..., n) to s of shape (..., n+1) with
||s|| = r, in two steps:

1. angularization  phi = (pi/2 - phi_L) * sigmoid(alpha * z) + phi_L,  phi_L = asin(delta**(1/n));
2. conversion to Cartesian coordinates with the paper's log-space tensor trick
   s = r * exp(W_phi^T log sin(phi') + log cos(phi' + b)),  phi' = E^T phi,
   where E = [I_n | e_n] repeats the last angle, W_phi is strictly upper-triangular
   ones with its (n, n+1) entry zeroed, and b = [0, ..., 0, -pi/2].

`SphericalLinear` is spherization followed by a bias-free linear layer, so decisions
depend on angles alone.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

LOW_PRECISION = (torch.float16, torch.bfloat16)


def lower_angle(n_features: int, delta: float = 1e-6) -> float:
    """phi_L = asin(delta ** (1/n)): the smallest angle, so that prod sin(phi) >= delta."""
    _check_positive_int("n_features", n_features)
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta must be in (0, 1). Got {delta!r} instead.")
    return math.asin(delta ** (1.0 / n_features))


def tensor_trick_matrices(n: int, dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, ...]:
    """The paper's constants: E (n, n+1), W_phi (n+1, n+1) and b (n+1,)."""
    _check_positive_int("n_features", n)
    expand = torch.zeros(n, n + 1, dtype=dtype)
    expand[:, :n] = torch.eye(n, dtype=dtype)
    expand[n - 1, n] = 1.0  # phi'_{n+1} = phi_n
    w_phi = torch.triu(torch.ones(n + 1, n + 1, dtype=dtype), diagonal=1)
    w_phi[n - 1, n] = 0.0  # the last coordinate takes sin(phi_n) from its cosine term
    bias = torch.zeros(n + 1, dtype=dtype)
    bias[n] = -math.pi / 2
    return expand, w_phi, bias


def angularize(z: torch.Tensor, alpha: torch.Tensor | float, phi_low: float) -> torch.Tensor:
    """(..., n) pre-activations -> (..., n) angles in [phi_L, pi/2]."""
    return (math.pi / 2 - phi_low) * torch.sigmoid(alpha * z) + phi_low


def _log_sin_cos(z: torch.Tensor, alpha: torch.Tensor | float, phi_low: float):
    """log sin(phi) and log cos(phi), both finite for every finite z.

    cos(phi) is computed from the complement angle psi = pi/2 - phi
    = (pi/2 - phi_L) * sigmoid(-alpha z), kept in log space with logsigmoid, so a
    saturated sigmoid gives a tiny cosine and a zero gradient, never log(0) or NaN.
    """
    span = math.pi / 2 - phi_low
    u = alpha * z
    log_psi = math.log(span) + F.logsigmoid(-u)  # log of the complement angle
    psi = torch.exp(log_psi)
    log_cos = log_psi + torch.log(torch.sinc(psi / math.pi))  # sin(psi) = psi * sinc(psi)
    phi = span * torch.sigmoid(u) + phi_low
    log_sin = torch.log(torch.sin(phi))  # sin(phi) >= delta**(1/n) > 0
    return log_sin, log_cos


class Spherization(nn.Module):
    """Map pre-activations (..., n) onto the (n+1)-sphere of radius r: (..., n) -> (..., n+1).

    `scale` is the initial alpha of the angularization (learnable unless
    `learn_scale=False`); `radius` is r (fixed unless `learn_radius=True`).
    With `channel_dim=1` it works over the channels of conv maps (B, C, H, W).
    """

    def __init__(
        self,
        n_features: int,
        delta: float = 1e-6,
        scale: float = 1.0,
        radius: float = 1.0,
        *,
        learn_scale: bool = True,
        learn_radius: bool = False,
        channel_dim: int = -1,
    ) -> None:
        super().__init__()
        self.phi_low = lower_angle(n_features, delta)
        if not (math.isfinite(scale) and scale > 0):
            raise ValueError(f"scale must be > 0. Got {scale!r} instead.")
        if not (math.isfinite(radius) and radius > 0):
            raise ValueError(f"radius must be > 0. Got {radius!r} instead.")
        self.n_features, self.delta, self.channel_dim = n_features, delta, channel_dim
        self.alpha = nn.Parameter(torch.tensor(float(scale)), requires_grad=learn_scale)
        self.radius = nn.Parameter(torch.tensor(float(radius)), requires_grad=learn_radius)
        expand, w_phi, bias = tensor_trick_matrices(n_features)
        self.register_buffer("expand", expand.float(), persistent=False)
        self.register_buffer("w_phi", w_phi.float(), persistent=False)
        self.register_buffer("bias", bias.float(), persistent=False)

    def extra_repr(self) -> str:
        return (
            f"n_features={self.n_features}, delta={self.delta}, "
            f"alpha={self.alpha.item():.4g}, radius={self.radius.item():.4g}"
        )

    def angles(self, z: torch.Tensor) -> torch.Tensor:
        """(..., n) -> (..., n) angles phi in [phi_L, pi/2]."""
        return angularize(z, self.alpha, self.phi_low)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        moved = self.channel_dim not in (-1, z.dim() - 1)
        if moved:
            z = z.movedim(self.channel_dim, -1)
        if z.shape[-1] != self.n_features:
            raise ValueError(
                f"expected {self.n_features} features in the last dimension. "
                f"Got shape {tuple(z.shape)} instead."
            )
        # The angles are the point of the layer: never computed in a lower precision, even
        # inside a bfloat16 autocast region (bf16 keeps ~3 digits: ||s|| would be off by ~1e-2).
        with torch.autocast(z.device.type, enabled=False):
            s = self._to_sphere(z.float() if z.dtype in LOW_PRECISION else z)
        return s.movedim(-1, self.channel_dim) if moved else s

    def _to_sphere(self, z: torch.Tensor) -> torch.Tensor:
        log_sin, log_cos = _log_sin_cos(z, self.alpha, self.phi_low)
        # log sin(phi') = E^T log sin(phi); log cos(phi' + b) = [log cos(phi), log sin(phi_n)]
        # because cos(phi_n - pi/2) = sin(phi_n).
        log_sin_p = log_sin @ self.expand.to(z.dtype)  # (..., n+1)
        log_cos_p = torch.cat([log_cos, log_sin[..., -1:]], dim=-1)  # (..., n+1)
        return self.radius * torch.exp(log_sin_p @ self.w_phi.to(z.dtype) + log_cos_p)


class SphericalLinear(nn.Module):
    """Spherization then a bias-free Linear(n+1, out): (..., n) -> (..., out)."""

    def __init__(self, n_features: int, out_features: int, **sph_kwargs) -> None:
        super().__init__()
        self.sphere = Spherization(n_features, **sph_kwargs)
        self.linear = nn.Linear(n_features + 1, out_features, bias=False)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.linear(self.sphere(z))


def spherize_reference(phi: torch.Tensor, radius: float = 1.0) -> torch.Tensor:
    """The explicit product formula, for tests: angles (..., n) -> (..., n+1).

    s_k = r cos(phi_k) prod_{i<k} sin(phi_i),  s_{n+1} = r prod_{i<=n} sin(phi_i).
    """
    sin, cos = torch.sin(phi), torch.cos(phi)
    ones = torch.ones_like(phi[..., :1])
    prefix = torch.cumprod(torch.cat([ones, sin], dim=-1), dim=-1)  # (..., n+1)
    return radius * prefix * torch.cat([cos, ones], dim=-1)


def cartesian_to_angles(s: torch.Tensor) -> torch.Tensor:
    """Inverse map: points (..., n+1) -> angles (..., n), phi_k = atan2(||s_{k+1:}||, s_k)."""
    tail = torch.flip(torch.cumsum(torch.flip(s.square(), [-1]), dim=-1), [-1])  # sum_{j>=k} s_j^2
    return torch.atan2(tail[..., 1:].sqrt(), s[..., :-1])


def _check_positive_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer. Got {value!r} instead.")
