"""CNN-Vis3D (the paper's Fig. 5 net): a conv trunk, a k-D feature layer, then a head.

Trunk: conv 32-32-pool-64-64-pool-128-128 (3x3, BN, ReLU), Linear(6272, 256) + ReLU.
Heads (`Vis3DConfig.head`):
- `original2d`, `original3d`: Linear(256, k) features, Linear(k, 10) with bias;
- `projected`: Linear(256, 3), L2-normalised onto the unit sphere, Linear(3, 10);
- `spherized`: Linear(256, 2) pre-activations (batch-normalised by default) -> the 3-D
  sphere of radius r -> bias-free Linear(3, 10);
- `spherenet-{linear,cosine,sigmoid}`: SphereNet operators on 3-D features (x, w normalised);
- `wsoftmax-{linear,cosine,sigmoid}`: their W-Softmax forms (w normalised only).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from models.names import HEADS
from models.precision import in_float32
from sph_viz.nn.head_init import init_spread_
from sph_viz.nn.layers import Spherization
from sph_viz.nn.projections import SphereNetLinear

CLASSIFIER_INITS = ("default", "spread")


@dataclass(frozen=True)
class Vis3DConfig:
    head: str = "spherized"  # one of HEADS
    n_classes: int = 10
    radius: float = 5.0  # spherized: sphere radius r (the paper uses 1; 5 learns faster)
    scale: float = 1.0  # spherized: initial alpha
    delta: float = 1e-6  # spherized: lower bound of prod sin(phi)
    normalize_preact: bool = True  # spherized: BatchNorm1d on the 2-D pre-activations
    # spherized: the bias-free classifier's first rows. "default": torch's init; "spread": equal-norm
    # directions spread over the middle of the octant every s starts in (sph_viz/nn/head_init.py), so
    # each class owns a cell of it from the first step (with torch's init 3 to 6 of 10 do).
    classifier_init: str = "default"
    classifier_norm: float = 4.0  # "spread": the rows' norm (logits span r * classifier_norm)

    def __post_init__(self) -> None:
        if self.head not in HEADS:
            raise ValueError(f"head must be one of {', '.join(HEADS)}. Got {self.head!r} instead.")
        if self.classifier_init not in CLASSIFIER_INITS:
            raise ValueError(
                f"classifier_init must be one of {', '.join(CLASSIFIER_INITS)}. "
                f"Got {self.classifier_init!r} instead."
            )


def _conv_block(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]


def _pooled_conv_block(c_in: int, c_out: int, pool_before_relu: bool) -> list[nn.Module]:
    """A conv block and a 2x2 max-pool; with `pool_before_relu` the pool comes before the ReLU.

    ReLU is monotone, so max-pooling then ReLU gives exactly ReLU then max-pooling, outputs and
    gradients alike (tested), with the ReLU and its backward on a quarter of the values: about
    1.03x the samples/s of a bf16 training step on the 2-core CPU (bench/bench_train.py). Neither
    module holds parameters, so the state_dict's keys are those of the paper's order.
    """
    conv, norm, relu = _conv_block(c_in, c_out)
    return [conv, norm, nn.MaxPool2d(2), relu] if pool_before_relu else [conv, norm, relu, nn.MaxPool2d(2)]


# The trunk's stages that `TrainConfig.freeze_out` can stop, as slices of `make_trunk()`: the two
# 28x28 convs with their pool, the two 14x14 convs with theirs, the two 7x7 convs. A bf16 training
# step with the first one, two, three frozen runs at about 1.3x, 1.8x and 2.9x the samples/s of a
# full step on the 2-core CPU (bench/bench_train.py): their backward is most of a step's cost.
TRUNK_STAGES = (slice(0, 7), slice(7, 14), slice(14, 20))


def make_trunk(pool_before_relu: bool = True) -> nn.Sequential:
    """(B, 1, 28, 28) -> (B, 256). `pool_before_relu=False`: the paper's order, the same function."""
    return nn.Sequential(
        *_conv_block(1, 32),
        *_pooled_conv_block(32, 32, pool_before_relu),  # (B, 32, 14, 14)
        *_conv_block(32, 64),
        *_pooled_conv_block(64, 64, pool_before_relu),  # (B, 64, 7, 7)
        *_conv_block(64, 128),
        *_conv_block(128, 128),  # (B, 128, 7, 7)
        nn.Flatten(),
        nn.Linear(6272, 256),
        nn.ReLU(),
    )


class L2Normalize(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.normalize(x, dim=-1, eps=1e-12)


def _make_head(cfg: Vis3DConfig) -> tuple[nn.Module, nn.Module]:
    """(feature layer 256 -> k, classifier k -> n_classes) for the configured head."""
    head, n = cfg.head, cfg.n_classes
    if head.startswith("original"):
        k = int(head[-2])
        return nn.Linear(256, k), nn.Linear(k, n)
    if head == "projected":
        return nn.Sequential(nn.Linear(256, 3), L2Normalize()), nn.Linear(3, n)
    if head == "spherized":
        preact = [nn.Linear(256, 2)] + ([nn.BatchNorm1d(2)] if cfg.normalize_preact else [])
        sphere = Spherization(2, delta=cfg.delta, scale=cfg.scale, radius=cfg.radius)
        classifier = nn.Linear(3, n, bias=False)
        if cfg.classifier_init == "spread":
            init_spread_(classifier.weight, cfg.classifier_norm)
        return nn.Sequential(*preact, sphere), classifier
    form, operator = head.split("-")
    if form == "spherenet":
        return nn.Sequential(nn.Linear(256, 3), L2Normalize()), SphereNetLinear(3, n, operator)
    return nn.Linear(256, 3), SphereNetLinear(3, n, operator, normalize_input=False)


class CNNVis3D(nn.Module):
    """MNIST net with a 2-D or 3-D representation: (B, 1, 28, 28) -> (B, n_classes)."""

    def __init__(self, config: Vis3DConfig = Vis3DConfig()) -> None:
        super().__init__()
        self.config = config
        self.trunk = make_trunk()
        self.feature, self.classifier = _make_head(config)

    def early_stages(self) -> list[nn.Module]:
        """The trunk's stages nearest the input, in order (`TRUNK_STAGES`), for `freeze_out`."""
        return [self.trunk[stage] for stage in TRUNK_STAGES]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The representation the paper draws: (B, 1, 28, 28) -> (B, k), k = 2 or 3.

        The head runs in float32 even when training autocasts the trunk to bfloat16: the
        angles and the sphere are what this net is for, and the head costs nothing.
        """
        return in_float32(self.feature, self.trunk(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return in_float32(self.classifier, self.features(x))
