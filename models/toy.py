"""The paper's 2-D toy nets (Fig. 3): original vs spherized, both with a 2-D representation."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from models.names import TOY_KINDS
from sph_viz.nn.layers import Spherization


@dataclass(frozen=True)
class ToyConfig:
    kind: str = "original"  # "original" or "spherized"
    radius: float = 1.0  # spherized only: the circle's radius r
    scale: float = 1.0  # spherized only: initial alpha of the angularization
    delta: float = 1e-6  # spherized only: lower bound of prod sin(phi)


class ToyOriginal(nn.Module):
    """Linear(2,2) -> sigmoid -> Linear(2,2): representation h in (0,1)^2."""

    def __init__(self, config: ToyConfig = ToyConfig()) -> None:
        super().__init__()
        self.config = config
        self.hidden = nn.Linear(2, 2)
        self.classifier = nn.Linear(2, 2)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.hidden(x))  # (N, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


class ToySpherized(nn.Module):
    """Linear(2,1, no bias) -> circle of radius r -> bias-free Linear(2,2)."""

    def __init__(self, config: ToyConfig = ToyConfig(kind="spherized")) -> None:
        super().__init__()
        self.config = config
        self.hidden = nn.Linear(2, 1, bias=False)
        self.sphere = Spherization(1, delta=config.delta, scale=config.scale, radius=config.radius)
        self.classifier = nn.Linear(2, 2, bias=False)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.sphere(self.hidden(x))  # (N, 2), on the circle

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


TOY_MODELS = {"original": ToyOriginal, "spherized": ToySpherized}
assert tuple(TOY_MODELS) == TOY_KINDS


def make_toy_model(config: ToyConfig) -> nn.Module:
    """Build the toy net named by `config.kind`."""
    if config.kind not in TOY_MODELS:
        raise ValueError(f"toy model must be one of {', '.join(TOY_MODELS)}. Got {config.kind!r} instead.")
    return TOY_MODELS[config.kind](config)
