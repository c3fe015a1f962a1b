"""SphereCNN: a small plain CNN whose convolutions are SphereConv (Liu et al., 2017), or not.

Three stages of conv3x3 (+ BatchNorm) + ReLU + maxpool 2, global average pooling to the
features (B, channels[-1]), then a Linear classifier. `conv="sphere"` swaps every conv for a
`SphereConv2d` with the chosen operator; everything else is identical, so `conv="plain"` is the
fair baseline.

Parameter counts: a SphereConv2d has the same (out, in, 3, 3) kernel as the plain conv (its norm
no longer matters, but it is still stored), and the same bias rule (a bias only without
BatchNorm). The counts are therefore equal, except that `operator="learnable"` adds one k per
output channel: sum(channels) parameters in all.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import torch
from torch import nn

from sph_viz.nn.sphereconv import LEARNABLE, OPERATORS, AngularOperator, SphereConv2d

CONVS = ("sphere", "plain")


@dataclass(frozen=True)
class SphereNetConfig:
    conv: str = "sphere"  # "sphere" (SphereConv2d everywhere) or "plain" (nn.Conv2d)
    operator: str = "cosine"  # sphere: one of linear, cosine, sigmoid, learnable, learnable-official
    channels: tuple[int, ...] = (32, 64, 128)  # one stage per entry
    in_channels: int = 1
    image_size: int = 28  # each stage halves it (floor); it must survive every stage
    n_classes: int = 10
    batch_norm: bool = True  # BatchNorm2d after every conv
    k: float = 0.3  # sphere + sigmoid: the operator's k

    def __post_init__(self) -> None:
        if self.conv not in CONVS:
            raise ValueError(f"conv must be one of {', '.join(CONVS)}. Got {self.conv!r} instead.")
        if self.operator not in OPERATORS:
            raise ValueError(
                f"operator must be one of {', '.join(OPERATORS)}. Got {self.operator!r} instead."
            )
        if not self.channels or any(c < 1 for c in self.channels):
            raise ValueError(
                f"channels must be a non-empty tuple of ints >= 1. Got {self.channels!r} instead."
            )
        if self.image_size < 2 ** len(self.channels):
            raise ValueError(
                f"image_size must be >= {2 ** len(self.channels)} for {len(self.channels)} stages. "
                f"Got {self.image_size!r} instead."
            )
        for name in ("in_channels", "n_classes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1. Got {getattr(self, name)!r} instead.")


def _conv(cfg: SphereNetConfig, c_in: int, c_out: int) -> nn.Module:
    bias = not cfg.batch_norm  # BatchNorm's shift makes a conv bias redundant
    if cfg.conv == "plain":
        return nn.Conv2d(c_in, c_out, 3, padding=1, bias=bias)
    return SphereConv2d(c_in, c_out, 3, padding=1, operator=cfg.operator, k=cfg.k, bias=bias)


def _stage(cfg: SphereNetConfig, c_in: int, c_out: int) -> list[nn.Module]:
    bn = [nn.BatchNorm2d(c_out)] if cfg.batch_norm else []
    return [_conv(cfg, c_in, c_out), *bn, nn.ReLU(), nn.MaxPool2d(2)]


class SphereCNN(nn.Module):
    """(B, in_channels, S, S) -> (B, n_classes) logits; `features` gives (B, channels[-1])."""

    def __init__(self, config: SphereNetConfig = SphereNetConfig()) -> None:
        super().__init__()
        self.config = config
        widths = (config.in_channels, *config.channels)
        layers = [m for c_in, c_out in pairwise(widths) for m in _stage(config, c_in, c_out)]
        self.trunk = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(config.channels[-1], config.n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, in_channels, S, S) -> (B, channels[-1]) globally average-pooled features."""
        return self.trunk(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def learnt_k(model: nn.Module) -> np.ndarray:
    """Every learnt k of every learnable SphereConv in `model`, in module order: (sum of out_ch,).

    Empty for a model without a learnable operator. For the slides' histogram of k.
    """
    ops = [m for m in model.modules() if isinstance(m, AngularOperator) and m.operator in LEARNABLE]
    ks = [m.learnt_k().detach().cpu() for m in ops]
    return torch.cat(ks).double().numpy() if ks else np.zeros(0)
