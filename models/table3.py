"""The paper's Table-3 nets (Sec. 4.3): one conv trunk, one last layer swapped per operator.

Net: conv trunk -> flatten -> Linear(flat, d) with no activation -> the last layer, one of
`OPERATORS_T3` (named as in the paper's Table 3):
- base `original`: Linear(d, C) with bias;
- direct `sigmoid`, `linear`, `cosine`: SphereNet operators on x and w both normalised, with a
  bias (`SphereConvLinear`);
- indirect `sw-softmax`, `lw-softmax`, `cw-softmax`: W-Softmax, w normalised only, no bias;
- proposed `spherization`: the d pre-activations onto the sphere in d+1 dimensions (radius r,
  learnable alpha), then a bias-free Linear(d+1, C).
`features(x)` is the input of the last layer, (B, d), or (B, d+1) on the sphere for spherization:
the representation whose overlaps Table 3 counts.

Trunks: `vis3d` (conv 32-32-pool-64-64-pool-128-128, 28x28 grey: flat 6272) and `cnn9` (the
paper's CNN-9: conv 128x3-pool-192x3-pool-256x3-pool, 32x32 colour: flat 4096); 3x3 pad 1
convolutions with BN and ReLU, max pooling.

Facts from the official code (GIST-IRR/spherization_layer), and where we differ:
- `models/cnn.py`: CNN-9 is as above with no dropout anywhere; its convs carry a bias before BN
  (ours do not: BN cancels it, so only the parameter count differs, by 1,728). Table 3 used
  `HSNCNN9S` (base, direct), `HSNCNN9D` (indirect) and `SphericHSNCNN9S` (proposed), see the
  README's "FC10" commands; its "FC256" variants (swapping the 4096->256 layer) are not here.
- `models/hsn.py::HSNLinear`: the direct operators keep the bias of their `nn.Linear` and add it
  before dividing by ||w||, so the angle fed to g is acos(x^.w^ + b/||w||), clamped to
  +-(1 - 1e-4); we do the same (our clamp is +-(1 - 1e-7)). k = 0.3 fixed (not learnt), with
  g(theta) = c (1 - e^(theta/k - pi/2k)) / (1 + e^(theta/k - pi/2k)), c = (1+e^(-pi/2k))/(1-e^(-pi/2k)).
  The W-Softmax operators ("w_*") have no bias. Norms there are sqrt(sum x^2 + 1e-4).
- Quirks of that port, reproduced only with `official_code=True`:
  * `HSNLinear` normalises its input for every operator, "none" included, so the official base
    is Linear(x/||x||) with bias (`NormalizedLinear`), and `HSNCNN9D` (the indirect runs) makes
    the 4096->256 layer Linear(x/||x||) with bias too;
  * its W-Softmax applies g to ||x|| cos(theta) (squashed into (-1, 1) when it leaves
    [-1+1e-4, 1-1e-4]), not ||x|| g(theta) as in SphereNet's paper; both forms agree for cosine.
    The original TensorFlow SphereNet (`wy1iu/SphereNet`, `spherenet.py`) does the same, unclamped.
- `models/spheric.py` + `SphericHSNCNN9S`: proposed = Linear(4096, 256) -> Spherization(256)
  -> Linear(257, C, bias=False); `--lrable TF`: alpha learnable, radius fixed; r = alpha = 5.
- `comparison_with_angle_based.py` + README (`TABLE3_RECIPE`): CIFAR-10, Adam lr 1e-3, weight
  decay 5e-4, batch 128, 160 epochs, lr x0.1 at epochs 80 and 130, random crop 32 pad 4 + flip,
  ImageNet mean/std. The overlap analysis itself is not in the public code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from models.names import OPERATORS_T3
from models.vis3d import _conv_block
from sph_viz.nn.checks import check_int
from sph_viz.nn.layers import Spherization
from sph_viz.nn.projections import NormalizedLinear, SphereNetLinear, angular_operator

ROLES = {
    "original": "base",
    "sigmoid": "direct",
    "linear": "direct",
    "cosine": "direct",
    "sw-softmax": "indirect",
    "lw-softmax": "indirect",
    "cw-softmax": "indirect",
    "spherization": "proposed",
}
HAS_BIAS = {op: ROLES[op] in ("base", "direct") for op in OPERATORS_T3}
_WSOFTMAX = {"sw-softmax": "sigmoid", "lw-softmax": "linear", "cw-softmax": "cosine"}

# conv widths, "M" = 2x2 max pooling; all convs 3x3 pad 1 + BN + ReLU
TRUNKS = {
    "vis3d": (32, 32, "M", 64, 64, "M", 128, 128),
    "cnn9": (128, 128, 128, "M", 192, 192, 192, "M", 256, 256, 256, "M"),
}

# The paper's Table 3 (CIFAR-10, 10,000 test images, 5 seeds): (mean, std) per entry;
# n_err = errors among overlapping test samples, n_ovlp = overlapping test samples,
# ratio = n_err / n_ovlp in %. `no_bias` is the paper's "No-bias" column.
PAPER_TABLE3: dict[str, dict] = {
    "original": {
        "label": "Original Conv.",
        "no_bias": False,
        "train_acc": (99.47, 0.42),
        "test_acc": (92.46, 0.10),
        "n_err": (0, 0),
        "n_ovlp": (0, 0),
        "ratio": (0.00, 0.00),
    },
    "sigmoid": {
        "label": "Sigmoid",
        "no_bias": False,
        "train_acc": (81.74, 4.48),
        "test_acc": (79.03, 2.71),
        "n_err": (1097, 266),
        "n_ovlp": (5222, 391),
        "ratio": (20.75, 3.70),
    },
    "linear": {
        "label": "Linear",
        "no_bias": False,
        "train_acc": (74.71, 1.06),
        "test_acc": (72.15, 0.32),
        "n_err": (1631, 39),
        "n_ovlp": (6849, 286),
        "ratio": (23.84, 0.63),
    },
    "cosine": {
        "label": "Cosine",
        "no_bias": False,
        "train_acc": (77.41, 0.89),
        "test_acc": (76.15, 0.86),
        "n_err": (776, 132),
        "n_ovlp": (3170, 330),
        "ratio": (24.39, 2.66),
    },
    "sw-softmax": {
        "label": "SW-Softmax",
        "no_bias": True,
        "train_acc": (98.32, 0.07),
        "test_acc": (91.51, 0.19),
        "n_err": (167, 9),
        "n_ovlp": (7925, 58),
        "ratio": (2.11, 0.11),
    },
    "lw-softmax": {
        "label": "LW-Softmax",
        "no_bias": True,
        "train_acc": (86.74, 4.06),
        "test_acc": (82.12, 3.82),
        "n_err": (946, 374),
        "n_ovlp": (7669, 66),
        "ratio": (12.30, 4.84),
    },
    "cw-softmax": {
        "label": "CW-Softmax",
        "no_bias": True,
        "train_acc": (99.66, 0.04),
        "test_acc": (92.29, 0.18),
        "n_err": (80, 5),
        "n_ovlp": (7051, 134),
        "ratio": (1.14, 0.05),
    },
    "spherization": {
        "label": "Spherization",
        "no_bias": True,
        "train_acc": (99.66, 0.05),
        "test_acc": (92.38, 0.14),
        "n_err": (0, 0),
        "n_ovlp": (499, 106),
        "ratio": (0.00, 0.00),
    },
}
# Overlap: cosine similarity >= 1 - 1e-6 with at least one other test representation (Sec. 4.3).
OVERLAP_COSINE = 1.0 - 1e-6
# The official README / comparison_with_angle_based.py recipe for Table 3 (CIFAR-10, CNN-9).
TABLE3_RECIPE = {
    "dataset": "CIFAR-10",
    "trunk": "cnn9",
    "optimizer": "adam",
    "lr": 1e-3,
    "weight_decay": 5e-4,
    "batch_size": 128,
    "epochs": 160,
    "lr_milestones": (80, 130),  # lr x0.1 at the start of these epochs
    "lr_decay": 0.1,
    "augment": "random crop 32 pad 4, horizontal flip",
    "normalize": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "radius": 5.0,
    "scale": 5.0,
    "delta": 1e-6,
    "seeds": 5,
}


@dataclass(frozen=True)
class Table3Config:
    operator: str = "spherization"  # one of OPERATORS_T3
    trunk: str = "vis3d"  # "vis3d" (28x28 grey) or "cnn9" (32x32 colour)
    dim: int = 256  # d: width of the Linear(flat, d) before the last layer
    in_channels: int = 1  # 1 for MNIST-like, 3 for CIFAR-10
    image_size: int = 28  # square input side; 28 for vis3d, 32 for cnn9
    n_classes: int = 10
    radius: float = 5.0  # spherization: sphere radius r
    scale: float = 5.0  # spherization: initial alpha (learnable)
    delta: float = 1e-6  # spherization: lower bound of prod sin(phi)
    k: float = 0.3  # sigmoid operators' k (fixed, as in SphereNet and the official port)
    official_code: bool = False  # mimic the official port's quirks (module docstring)

    def __post_init__(self) -> None:
        if self.operator not in OPERATORS_T3:
            raise ValueError(
                f"operator must be one of {', '.join(OPERATORS_T3)}. Got {self.operator!r} instead."
            )
        if self.trunk not in TRUNKS:
            raise ValueError(f"trunk must be one of {', '.join(TRUNKS)}. Got {self.trunk!r} instead.")
        for name in ("dim", "in_channels", "n_classes"):
            check_int(name, getattr(self, name), 1)
        check_int("image_size", self.image_size, 2 ** TRUNKS[self.trunk].count("M"))
        for name in ("radius", "scale", "k"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be > 0. Got {value!r} instead.")
        if not (isinstance(self.delta, (int, float)) and 0.0 < self.delta < 1.0):
            raise ValueError(f"delta must be in (0, 1). Got {self.delta!r} instead.")

    @property
    def flat_features(self) -> int:
        """Width of the flattened trunk output: 6272 for vis3d at 28, 4096 for cnn9 at 32."""
        return trunk_out_features(self.trunk, self.image_size)


def make_conv_trunk(trunk: str, in_channels: int) -> nn.Sequential:
    """(B, in_channels, s, s) -> (B, flat) with `flat = trunk_out_features(trunk, s)`."""
    layers: list[nn.Module] = []
    c_in = in_channels
    for v in TRUNKS[trunk]:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
        else:
            layers += _conv_block(c_in, v)
            c_in = v
    return nn.Sequential(*layers, nn.Flatten())


def trunk_out_features(trunk: str, image_size: int) -> int:
    """Channels x side^2 after the trunk's poolings (each halves the side, rounding down)."""
    spec = TRUNKS[trunk]
    side = image_size // 2 ** spec.count("M")
    return [v for v in spec if v != "M"][-1] * side * side


class SphereConvLinear(SphereNetLinear):
    """SphereNet's direct form with a bias, as the official port: (..., in) -> (..., out).

    logits = g(acos(x^ . w^ + b / ||w||)): the bias shifts the cosine before the operator.
    """

    def __init__(self, in_features: int, out_features: int, operator: str = "cosine", *, k: float = 0.3):
        super().__init__(in_features, out_features, operator, normalize_input=True, k=k)
        self.bias = nn.Parameter(torch.empty(out_features))
        bound = 1.0 / math.sqrt(in_features)  # nn.Linear's default bias init
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w_norm = self.weight.norm(dim=1).clamp_min(1e-12)  # (out,)
        cos = F.normalize(x, dim=-1, eps=1e-12) @ (self.weight / w_norm[:, None]).T  # (..., out)
        return angular_operator(cos + self.bias / w_norm, self.operator, self.k)


class WSoftmaxCodeLinear(SphereNetLinear):
    """The official port's W-Softmax: g applied to ||x|| cos(theta) squashed into (-1, 1)."""

    def __init__(self, in_features: int, out_features: int, operator: str = "cosine", *, k: float = 0.3):
        super().__init__(in_features, out_features, operator, normalize_input=False, k=k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        v = x @ F.normalize(self.weight, dim=-1, eps=1e-12).T  # (..., out) = ||x|| cos(theta)
        if self.operator == "cosine":
            return v
        eps = 1e-4
        a = v.abs()
        # |v| >= 1 - eps is mapped to |v| / (|v| + eps) - eps, just inside 1, keeping the sign
        squashed = torch.where(a >= 1.0 - eps, torch.sign(v) * (a / (a + eps) - eps), v)
        return angular_operator(squashed, self.operator, self.k)


def _make_last_layer(cfg: Table3Config) -> nn.Module:
    op, d, c = cfg.operator, cfg.dim, cfg.n_classes
    role = ROLES[op]
    if role == "base":
        return NormalizedLinear(d, c, bias=True) if cfg.official_code else nn.Linear(d, c)
    if role == "direct":
        return SphereConvLinear(d, c, op, k=cfg.k)
    if role == "indirect":
        form = WSoftmaxCodeLinear if cfg.official_code else SphereNetLinear
        kwargs = {} if cfg.official_code else {"normalize_input": False}
        return form(d, c, _WSOFTMAX[op], k=cfg.k, **kwargs)
    return nn.Linear(d + 1, c, bias=False)


class Table3Net(nn.Module):
    """Conv trunk -> Linear(flat, d) -> last layer: (B, C_in, s, s) -> (B, n_classes)."""

    def __init__(self, config: Table3Config = Table3Config()) -> None:
        super().__init__()
        self.config = config
        self.trunk = make_conv_trunk(config.trunk, config.in_channels)
        flat, d = config.flat_features, config.dim
        indirect_code = config.official_code and ROLES[config.operator] == "indirect"
        # HSNCNN9D normalises the flattened trunk output before the 4096 -> 256 layer
        self.embed = NormalizedLinear(flat, d) if indirect_code else nn.Linear(flat, d)
        self.sphere = (
            Spherization(d, delta=config.delta, scale=config.scale, radius=config.radius)
            if config.operator == "spherization"
            else nn.Identity()
        )
        self.classifier = _make_last_layer(config)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The last layer's input: (B, C_in, s, s) -> (B, d), or (B, d+1) on the sphere."""
        return self.sphere(self.embed(self.trunk(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))


def make_table3_model(config: Table3Config = Table3Config()) -> Table3Net:
    """Build the Table-3 net for `config.operator` on `config.trunk`."""
    return Table3Net(config)
