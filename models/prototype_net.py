"""PrototypeNet: the CNN-Vis3D trunk trained towards fixed hyperspherical prototypes (HPN).

Trunk (B, 1, 28, 28) -> (B, 256) (`models.vis3d.make_trunk`), Linear(256, dims) -> z.
`features(x)` returns z / ||z|| on the unit sphere, for drawing; every quantity HPN uses is a
cosine, so normalising changes neither the outputs nor the gradients of the loss.
`classifier` holds the prototypes (K, dims) as a buffer (fixed, never learnt) and returns the
cosine to each of them, so `forward(x).argmax(1)` is Eq. 3.

Training: HPN minimises the squared cosine loss (Eq. 1), not cross-entropy; `model.loss(output,
labels)` computes it from forward's output. Its reduction defaults to the mean over the batch
(the paper sums, i.e. the same with lr x batch size) so that a loop averaging per-example losses
reports Eq. 1 per example.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from models.precision import in_float32
from models.vis3d import make_trunk
from sph_viz.nn.prototypes import (
    REDUCTIONS,
    make_prototypes,
    predict_class,
    prototype_cosines,
    prototype_loss,
    regression_loss,
    rotated_mnist_prototypes,
)


@dataclass(frozen=True)
class PrototypeNetConfig:
    dims: int = 3  # output sphere S^(dims-1)
    n_classes: int = 10
    seed: int = 0  # seed of the Eq. 5 prototype optimisation (dims >= 3)
    starts: int = 1  # Eq. 5 runs from seeds seed..seed+starts-1; the best separated is kept
    reduction: str = "mean"  # Eq. 1 over the batch: "mean" or the paper's "sum"

    def __post_init__(self) -> None:
        if self.dims < 2:
            raise ValueError(f"dims must be >= 2. Got {self.dims!r} instead.")
        if self.n_classes < 2:
            raise ValueError(f"n_classes must be >= 2. Got {self.n_classes!r} instead.")
        if self.reduction not in REDUCTIONS:
            raise ValueError(
                f"reduction must be one of {', '.join(REDUCTIONS)}. Got {self.reduction!r} instead."
            )


class PrototypeClassifier(nn.Module):
    """Cosine to each fixed prototype: (B, D) -> (B, K)."""

    prototypes: torch.Tensor

    def __init__(self, prototypes: np.ndarray | torch.Tensor) -> None:
        super().__init__()
        p = torch.as_tensor(prototypes, dtype=torch.float32)
        if p.dim() != 2:
            raise ValueError(f"prototypes must be a (K, D) array. Got shape {tuple(p.shape)} instead.")
        self.register_buffer("prototypes", F.normalize(p, dim=1))  # a buffer: saved, moved, never learnt

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return prototype_cosines(z, self.prototypes)


class PrototypeNet(nn.Module):
    """(B, 1, 28, 28) -> (B, n_classes) cosines to the fixed prototypes.

    `prototypes` (K, dims) overrides the ones built from the config (the K-gon for dims=2, else
    Eq. 5).
    """

    def __init__(
        self, config: PrototypeNetConfig = PrototypeNetConfig(), prototypes: np.ndarray | None = None
    ) -> None:
        super().__init__()
        self.config = config
        if prototypes is None:
            prototypes = make_prototypes(
                config.n_classes, config.dims, seed=config.seed, starts=config.starts
            )
        if np.shape(prototypes) != (config.n_classes, config.dims):
            raise ValueError(
                f"prototypes must have shape {(config.n_classes, config.dims)}. "
                f"Got {np.shape(prototypes)} instead."
            )
        self.trunk = make_trunk()
        self.output = nn.Linear(256, config.dims)
        self.classifier = PrototypeClassifier(prototypes)

    @property
    def prototypes(self) -> torch.Tensor:
        """(K, dims) unit prototypes."""
        return self.classifier.prototypes

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The raw network output z: (B, 1, 28, 28) -> (B, dims); float32 under autocast too."""
        return in_float32(self.output, self.trunk(x))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """z on the unit sphere: (B, 1, 28, 28) -> (B, dims)."""
        return F.normalize(self.embed(x), dim=1, eps=1e-12)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return in_float32(self.classifier, self.features(x))

    def loss(self, output: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Eq. 1 from forward's cosines (B, K) and labels (B,): sum or mean of (1 - cos_y)²."""
        per_example = (1.0 - output.gather(1, labels.view(-1, 1)).squeeze(1)) ** 2
        return per_example.sum() if self.config.reduction == "sum" else per_example.mean()


class JointPrototypeNet(PrototypeNet):
    """HPN's joint task (Sec. 3.3, rotated MNIST): class prototypes in the xy-plane and the rotation
    bounds at the poles of one S² (`rotated_mnist_prototypes`).

    For training, `forward` returns the raw output z (B, 3) so that `loss(z, classes, targets)`
    scores both tasks, Eq. 1 + Eq. 7, each a mean over the batch, and `predict_labels(z)` is Eq. 3.
    `features` and `classifier` (what evaluation uses) are PrototypeNet's; the state_dict too.
    """

    def __init__(self, config: PrototypeNetConfig = PrototypeNetConfig(dims=3, n_classes=5)) -> None:
        self.joint = rotated_mnist_prototypes()
        super().__init__(config, prototypes=self.joint.classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(x)

    def loss(self, z: torch.Tensor, classes: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Eq. 1 to the class prototypes + Eq. 7 to the upper bound: (B, 3), (B,), (B,) -> scalar."""
        return prototype_loss(z, self.joint.classes, classes, reduction="mean") + regression_loss(
            z, self.joint.upper, targets, reduction="mean"
        )

    def predict_labels(self, z: torch.Tensor) -> torch.Tensor:
        """Eq. 3 on forward's output: (B, 3) -> (B,) class indices."""
        return predict_class(z, self.joint.classes)
