"""The paper's Table-1 nets (Sec. 4.2), each as `original` and `spherized`.

What "replace the last fully connected layer" means, from the official code
(GIST-IRR/spherization_layer, `models/spheric.py` SphericFNN / SphericCNN, `models/vgg.py`
SphericVGGS): the layer before the classifier stays, but its activation (ReLU, and for VGG the
Dropout after it) is removed, so its n outputs are pre-activations; they go onto the sphere in
n+1 dimensions (Spherization(n), r = 5, alpha = 5 learnable, radius fixed, delta = 1e-6), and
the classifier Linear(n, C) with bias becomes a bias-free Linear(n+1, C). Trainable parameters
therefore change by -C (bias) + C (the extra input dimension) + 1 (alpha) = +1.

- `simplefnn` (`models/basic.py` SimpleFNN): flatten -> 784-500 ReLU -> 500-300 ReLU -> 300-C;
  spherized: n = 300.
- `lenet5` (LeNet5): conv 6@5x5 pad 2, ReLU, maxpool 2; conv 16@5x5, ReLU, maxpool 2;
  400-120 ReLU -> 120-84 ReLU -> 84-C; spherized: n = 84.
- `vgg11` (`models/vgg.py` vgg11_bn_one / sph_vgg11s_bn_one): VGG-11 config A with BN on one
  channel, 2x2 *average* pooling (the official one-channel variant; torchvision's is max), no
  adaptive pooling; classifier 512-4096 ReLU Dropout -> 4096-4096 ReLU Dropout -> 4096-C;
  spherized: n = 4096. The official code does not adapt VGG-11 to 28x28: `fmnist.py` resizes
  Fashion-MNIST to 32x32 (five poolings leave 1x1), so `image_size` defaults to 32 here and 28
  is refused. Convs there get torchvision's VGG init (Kaiming normal, fan_out) and carry a bias
  before BN; ours use the same init but no conv bias (BN cancels it; 2,752 fewer parameters).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from models.vis3d import _conv_block
from sph_viz.nn.checks import check_int
from sph_viz.nn.layers import Spherization

NETS = ("simplefnn", "lenet5", "vgg11")
VARIANTS = ("original", "spherized")
NATIVE_SIZE = {"simplefnn": 28, "lenet5": 28, "vgg11": 32}
VGG11_WIDTHS = (64, "P", 128, "P", 256, 256, "P", 512, 512, "P", 512, 512, "P")  # "P": 2x2 avg pool

# The paper's Table 1 (accuracy %, (mean, std) over 5 seeds; "reference" is the literature's
# test accuracy). The official README repeats the test columns.
PAPER_TABLE1: dict[str, dict] = {
    "simplefnn": {
        "dataset": "MNIST",
        "reference_test": 98.47,
        "original": {"train": (99.99, 0.01), "test": (98.58, 0.03)},
        "spherized": {"train": (99.99, 0.01), "test": (98.65, 0.04)},
    },
    "lenet5": {
        "dataset": "MNIST",
        "reference_test": 99.05,
        "original": {"train": (99.55, 0.09), "test": (99.10, 0.05)},
        "spherized": {"train": (99.79, 0.09), "test": (99.14, 0.04)},
    },
    "vgg11": {
        "dataset": "Fashion-MNIST",
        "reference_test": 94.70,
        "original": {"train": (99.24, 0.18), "test": (94.36, 0.06)},
        "spherized": {"train": (98.92, 0.36), "test": (94.34, 0.17)},
    },
}

# The official README commands (and the defaults of mnist.py / fmnist.py they rely on).
RETENTION_RECIPES: dict[str, dict] = {
    "simplefnn": {
        "dataset": "MNIST",
        "optimizer": "adam",
        "lr": 1e-3,
        "batch_size": 256,
        "weight_decay": 5e-5,
        "epochs": 100,
        "lr_schedule": None,
        "transform": "ToTensor only (pixels in [0, 1], no normalisation)",
    },
    "lenet5": {
        "dataset": "MNIST",
        "optimizer": "adam",
        "lr": 1e-3,
        "batch_size": 128,
        "weight_decay": 0.0,  # not passed in the README; mnist.py's default
        "epochs": 20,
        "lr_schedule": None,
        "transform": "ToTensor only (pixels in [0, 1], no normalisation)",
    },
    "vgg11": {
        "dataset": "Fashion-MNIST",
        "optimizer": "sgd",
        "lr": 0.01,
        "momentum": 0.9,
        "batch_size": 128,
        "weight_decay": 5e-4,
        "epochs": 100,
        # lr x0.5 at the start of every epoch divisible by 20 (20, 40, 60, 80, 100; 1-based)
        "lr_schedule": {"every": 20, "factor": 0.5},
        "transform": "Resize(32), RandomCrop(32, padding=4), RandomHorizontalFlip, Normalize(0.286, 0.353)",
    },
}
# Shared by every recipe: spherization r = 5, alpha = 5 (learnable), radius fixed, delta = 1e-6.
SPHERIZATION_SETTINGS = {
    "radius": 5.0,
    "scale": 5.0,
    "learn_scale": True,
    "learn_radius": False,
    "delta": 1e-6,
}


@dataclass(frozen=True)
class RetentionConfig:
    net: str = "simplefnn"  # one of NETS
    variant: str = "original"  # "original" or "spherized"
    in_channels: int = 1
    image_size: int | None = None  # None: the net's native side (28; 32 for vgg11)
    n_classes: int = 10
    radius: float = 5.0  # spherized: sphere radius r (fixed)
    scale: float = 5.0  # spherized: initial alpha (learnable)
    delta: float = 1e-6  # spherized: lower bound of prod sin(phi)

    def __post_init__(self) -> None:
        if self.net not in NETS:
            raise ValueError(f"net must be one of {', '.join(NETS)}. Got {self.net!r} instead.")
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {', '.join(VARIANTS)}. Got {self.variant!r} instead.")
        if self.image_size is None:
            object.__setattr__(self, "image_size", NATIVE_SIZE[self.net])  # frozen: fill the default once
        check_int("in_channels", self.in_channels, 1)
        check_int("n_classes", self.n_classes, 1)
        check_int("image_size", self.image_size, {"simplefnn": 1, "lenet5": 12, "vgg11": 32}[self.net])
        for name in ("radius", "scale"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be > 0. Got {value!r} instead.")
        if not (isinstance(self.delta, (int, float)) and 0.0 < self.delta < 1.0):
            raise ValueError(f"delta must be in (0, 1). Got {self.delta!r} instead.")


def _simplefnn_body(cfg: RetentionConfig) -> list[tuple[str, nn.Module]]:
    n_in = cfg.in_channels * cfg.image_size**2
    return [
        ("flatten", nn.Flatten()),  # (B, 784)
        ("fc1", nn.Linear(n_in, 500)),
        ("relu1", nn.ReLU()),
        ("fc2", nn.Linear(500, 300)),  # (B, 300) pre-activations
    ]


def _lenet5_body(cfg: RetentionConfig) -> list[tuple[str, nn.Module]]:
    side = (cfg.image_size // 2 - 4) // 2  # 5 at 28
    return [
        ("conv1", nn.Conv2d(cfg.in_channels, 6, 5, padding=2)),
        ("relu1", nn.ReLU()),
        ("pool1", nn.MaxPool2d(2)),  # (B, 6, 14, 14)
        ("conv2", nn.Conv2d(6, 16, 5)),
        ("relu2", nn.ReLU()),
        ("pool2", nn.MaxPool2d(2)),  # (B, 16, 5, 5)
        ("flatten", nn.Flatten()),
        ("fc3", nn.Linear(16 * side * side, 120)),
        ("relu3", nn.ReLU()),
        ("fc4", nn.Linear(120, 84)),  # (B, 84) pre-activations
    ]


def _vgg11_body(cfg: RetentionConfig) -> list[tuple[str, nn.Module]]:
    layers: list[nn.Module] = []
    c_in = cfg.in_channels
    for v in VGG11_WIDTHS:
        if v == "P":
            layers.append(nn.AvgPool2d(2))
        else:
            layers += _conv_block(c_in, v)
            c_in = v
    for m in layers:
        if isinstance(m, nn.Conv2d):  # torchvision's VGG init, as the official net gets
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
    side = cfg.image_size // 32  # 1 at 32
    return [
        ("features", nn.Sequential(*layers)),  # (B, 512, 1, 1)
        ("flatten", nn.Flatten()),
        ("fc1", nn.Linear(512 * side * side, 4096)),
        ("relu1", nn.ReLU()),
        ("drop1", nn.Dropout()),
        ("fc2", nn.Linear(4096, 4096)),  # (B, 4096) pre-activations
    ]


_BODIES = {"simplefnn": _simplefnn_body, "lenet5": _lenet5_body, "vgg11": _vgg11_body}
_PENULTIMATE = {"simplefnn": 300, "lenet5": 84, "vgg11": 4096}


class RetentionNet(nn.Module):
    """body -> (ReLU [+ Dropout] | Spherization) -> classifier: (B, C_in, s, s) -> (B, n_classes).

    `body` ends with the penultimate Linear (n pre-activations); `act` is the original
    activation or the spherization layer; `classifier` is Linear(n, C) or bias-free Linear(n+1, C).
    """

    def __init__(self, config: RetentionConfig = RetentionConfig()) -> None:
        super().__init__()
        self.config = config
        self.body = nn.Sequential(OrderedDict(_BODIES[config.net](config)))
        n, c = self.n_preact, config.n_classes
        if config.variant == "spherized":
            self.act = Spherization(n, delta=config.delta, scale=config.scale, radius=config.radius)
            self.classifier = nn.Linear(n + 1, c, bias=False)
        else:
            extra = [nn.Dropout()] if config.net == "vgg11" else []
            self.act = nn.Sequential(nn.ReLU(), *extra)
            self.classifier = nn.Linear(n, c)

    @property
    def n_preact(self) -> int:
        """n: width of the penultimate layer (300, 84 or 4096)."""
        return _PENULTIMATE[self.config.net]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The classifier's input: (B, C_in, s, s) -> (B, n), or (B, n+1) on the sphere of radius r."""
        return self.act(self.body(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def make_retention_model(config: RetentionConfig = RetentionConfig()) -> RetentionNet:
    """Build the Table-1 net `config.net` in its `config.variant`."""
    return RetentionNet(config)
