"""Rotated MNIST (HPN Sec. 3.3, Fig. 5): the class and the rotation of a digit on one S².

Digits 2, 3, 4, 5, 7 rotated by a random angle in [0°, 180°]; the class prototypes lie in the
xy-plane and the rotation bounds at the poles (`sph_viz.nn.prototypes.rotated_mnist_prototypes`);
one loss, Eq. 1 + Eq. 7 (`models.prototype_net.JointPrototypeNet.loss`), trained by `train_model`
with the rotation targets as its second per-sample target.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
import torch
from torch.nn import functional as F

from models.prototype_net import JointPrototypeNet, PrototypeNetConfig
from sph_viz.data.datasets import load_dataset, normalize, resolve_dataset
from sph_viz.experiments.base import Experiment, Preset
from sph_viz.experiments.result import ExperimentResult, probe_indices
from sph_viz.experiments.skeleton import Data, fit
from sph_viz.nn.prototypes import (
    regression_target,
    regression_value,
    rotated_mnist_prototypes,
)
from sph_viz.training.config import TrainConfig
from sph_viz.training.loop import Progress, Snapshot

PROBE_SIZE = 1000
ROTATED_DIGITS = (2, 3, 4, 5, 7)
ROTATED_PRESETS: dict[str, Preset] = {
    "quick": Preset(
        "12,000 rotated digits, 3 epochs, Adam 3e-3 one-cycle (563 steps of the CNN-Vis3D trunk)",
        {},
        TrainConfig(
            epochs=3,
            batch_size=64,
            lr=3e-3,
            optimizer="adam",
            schedule="onecycle",
            snapshots_per_epoch=4,
            max_samples=12000,
        ),
    ),
}


def rotate_images(images: torch.Tensor, angles_deg: torch.Tensor, chunk: int = 8192) -> torch.Tensor:
    """Rotate each image counter-clockwise (as displayed) about its centre: (N, H, W), (N,) -> (N, H, W).

    Bilinear, zeros outside; uint8 in, uint8 out (rounded). One affine grid per chunk of images.
    """
    if images.ndim != 3 or len(angles_deg) != len(images):
        raise ValueError(
            f"images must be (N, H, W) with one angle each. Got {tuple(images.shape)} and "
            f"{len(angles_deg)} angles instead."
        )
    out = torch.empty_like(images)
    for start in range(0, len(images), chunk):
        x = images[start : start + chunk].float().unsqueeze(1)  # (n, 1, H, W)
        t = torch.deg2rad(torch.as_tensor(angles_deg[start : start + chunk], dtype=torch.float64))
        cos, sin = torch.cos(t), torch.sin(t)
        zero = torch.zeros_like(t)
        # output pixel p samples the input at R(-angle) p in screen coordinates (y points down)
        theta = torch.stack([torch.stack([cos, -sin, zero], 1), torch.stack([sin, cos, zero], 1)], 1)
        grid = F.affine_grid(theta.float(), list(x.shape), align_corners=False)
        rotated = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        out[start : start + chunk] = rotated.squeeze(1).round().clamp(0, 255).to(images.dtype)
    return out


@dataclass(frozen=True, eq=False)
class RotatedDigits:
    images: torch.Tensor  # (N, H, W) uint8, rotated
    classes: torch.Tensor  # (N,) int64: the index of the digit in `digits`
    angles: torch.Tensor  # (N,) float32 degrees in [0, 180]
    indices: torch.Tensor  # (N,) positions in the source arrays
    digits: tuple[int, ...]


def make_rotated_mnist(
    images: torch.Tensor, labels: torch.Tensor, digits: tuple[int, ...] = ROTATED_DIGITS, seed: int = 0
) -> RotatedDigits:
    """The images of `digits`, each rotated by its own uniform angle in [0°, 180°] (seeded)."""
    if len(set(digits)) != len(digits) or not digits:
        raise ValueError(f"digits must be distinct and at least one. Got {digits!r} instead.")
    keep = torch.isin(labels, torch.tensor(digits, dtype=labels.dtype)).nonzero().squeeze(1)
    lookup = torch.full((int(labels.max()) + 1,), -1, dtype=torch.int64)
    lookup[torch.tensor(digits)] = torch.arange(len(digits))
    angles = torch.rand(len(keep), generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 180.0
    return RotatedDigits(
        rotate_images(images[keep], angles), lookup[labels[keep].long()], angles.float(), keep, digits
    )


@lru_cache(maxsize=4)
def rotated_split(split: str, seed: int) -> RotatedDigits:
    """MNIST's "train" or "test" digits 2, 3, 4, 5, 7 rotated with `seed` (made once per process)."""
    train, test = load_dataset(resolve_dataset("mnist"))
    images = {"train": train, "test": test}[split]
    return make_rotated_mnist(images.images, images.labels, seed=seed)


def rotated_config_dict(train_config: TrainConfig, data_seed: int) -> dict:
    spec = resolve_dataset("mnist")
    model = PrototypeNetConfig(dims=3, n_classes=len(ROTATED_DIGITS))
    config = {
        "experiment": "rotated-mnist",
        "model": asdict(model),
        "train": asdict(train_config),
        "data_dir": str(spec.folder),
        "digits": list(ROTATED_DIGITS),
        "data_seed": data_seed,
    }
    return json.loads(json.dumps(config))  # tuples as lists: equal in memory and from the cache


def build_rotated_model(model: dict) -> JointPrototypeNet:
    """Trunk -> Linear(256, 3) with the five class prototypes of the xy-plane (the poles are the bounds)."""
    return JointPrototypeNet(PrototypeNetConfig(**model))


def rotation_mae(true_deg: np.ndarray, predicted_deg: np.ndarray) -> float:
    """Mean absolute error of the rotation in degrees: (N,), (N,) -> float."""
    return float(np.mean(np.abs(np.asarray(predicted_deg, float) - np.asarray(true_deg, float))))


def run_rotated_mnist(
    train_config: TrainConfig,
    *,
    data_seed: int = 0,
    device: torch.device | str = "cpu",
    probe_size: int = PROBE_SIZE,
    on_progress: Callable[[Progress], None] | None = None,
    on_snapshot: Callable[[Snapshot], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ExperimentResult:
    """Joint classification and rotation regression on one S² (HPN Fig. 5), evaluated on rotated test digits.

    Training digits are rotated with `data_seed`, test digits with `data_seed + 1`. labels and
    predictions are class indices into `extras["digits"]`; extras: angles_true and
    angles_predicted (N,) in degrees, digits (C,), prototypes (C, 3), upper (3,), and the curves.
    """
    spec = resolve_dataset("mnist")
    rot_train, rot_test = rotated_split("train", data_seed), rotated_split("test", data_seed + 1)
    joint = rotated_mnist_prototypes()
    data = Data(
        normalize(spec, rot_train.images),
        rot_train.classes,
        normalize(spec, rot_test.images),
        rot_test.classes,
        targets=regression_target(rot_train.angles.double(), joint.low, joint.high).float(),
    )
    y_test = rot_test.classes.numpy()

    def angles(_model, ev) -> dict:
        predicted = regression_value(
            torch.from_numpy(ev.features).double(), joint.upper, joint.low, joint.high
        )
        return {
            "angles_true": rot_test.angles.double().numpy(),
            "angles_predicted": predicted.numpy(),
            "digits": np.asarray(ROTATED_DIGITS),
            "prototypes": joint.classes,
            "upper": joint.upper,
        }

    config = rotated_config_dict(train_config, data_seed)
    return fit(
        lambda: build_rotated_model(config["model"]),
        data,
        train_config,
        config,
        probe_idx=probe_indices(y_test, train_config.seed, min(probe_size, len(y_test))),
        device=device,
        train_accuracy="eval",
        curves=True,
        extras=angles,
        on_progress=on_progress,
        on_snapshot=on_snapshot,
        should_stop=should_stop,
    )


# Its settings are the Prototypes page's (`sph_viz.experiments.prototypes.PROTOTYPE_FIELDS`).
EXPERIMENT = Experiment(
    name="rotated-mnist",
    presets=ROTATED_PRESETS,
    fields=(),
    build_model=build_rotated_model,
    default_preset="quick",
)
