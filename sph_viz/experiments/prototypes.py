"""Hyperspherical prototype networks (Mettes et al., 2019) as runs, and the prototype page's settings.

- `run_prototypes`: the CNN-Vis3D trunk -> S², trained with Eq. 1 towards ten fixed prototypes
  placed by Eq. 5 (`models.prototype_net.PrototypeNet`, through `train_model`).
- `known_min_angle`: the best known minimum angle of K points on S^(D-1), to judge Eq. 5 by.
- The rotated-MNIST joint task lives in `sph_viz.experiments.rotated_mnist`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, replace
from functools import partial
from typing import Any

import torch

from models.prototype_net import PrototypeNet, PrototypeNetConfig
from models.vis3d import Vis3DConfig
from sph_viz.data.datasets import resolve_dataset
from sph_viz.experiments import vis3d
from sph_viz.experiments.base import MAX_SAMPLES, Experiment, train_config
from sph_viz.experiments.result import ExperimentResult
from sph_viz.experiments.rotated_mnist import ROTATED_PRESETS, rotated_config_dict, run_rotated_mnist
from sph_viz.experiments.skeleton import train_with_curves
from sph_viz.experiments.vis3d import run_vis3d, vis3d_config_dict
from sph_viz.fields import Field
from sph_viz.training.aids import without_training_aids
from sph_viz.training.config import TrainConfig
from sph_viz.training.loop import Progress, Snapshot

PROBE_SIZE = 1000
# Tammes problem: the largest possible minimum angle (degrees) of K points on S² (K <= 14).
TAMMES_DEG = {
    **{2: 180.0, 3: 120.0, 4: 109.4712, 5: 90.0, 6: 90.0, 7: 77.8695, 8: 74.8585},
    **{9: 70.5288, 10: 66.1468, 11: 63.4349, 12: 63.4349, 13: 57.1367, 14: 55.6706},
}


def known_min_angle(n_classes: int, dims: int) -> float | None:
    """Best known minimum pairwise angle in degrees of K unit vectors in D dimensions, or None.

    D = 2: the regular K-gon, 360/K. D >= K - 1: the simplex, arccos(-1/(K-1)). D = 3: Tammes.
    """
    if n_classes < 2 or dims < 2:
        raise ValueError(f"n_classes and dims must be >= 2. Got {n_classes} and {dims} instead.")
    if dims >= n_classes - 1:
        return math.degrees(math.acos(-1.0 / (n_classes - 1)))
    if dims == 2:
        return 360.0 / n_classes
    return TAMMES_DEG.get(n_classes) if dims == 3 else None


# ---- HPN on CNN-Vis3D ----


def prototype_config_dict(
    train_config: TrainConfig, dataset: str = "mnist", dims: int = 3, prototype_seed: int = 0
) -> dict:
    """Everything that determines an HPN run (the result-cache key); computed without training."""
    spec = resolve_dataset(dataset)
    model = PrototypeNetConfig(dims=dims, n_classes=spec.n_classes, seed=prototype_seed)
    config = {
        "experiment": "prototypes",
        "model": asdict(model),
        "train": asdict(train_config),
        "dataset": spec.name,
        "data_dir": str(spec.folder),
    }
    return json.loads(json.dumps(config))  # tuples as lists: equal in memory and from the cache


def build_prototype_model(model: dict) -> PrototypeNet:
    """An untrained PrototypeNet from config["model"] (its prototypes come back with the state_dict)."""
    return PrototypeNet(PrototypeNetConfig(**model))


def run_prototypes(
    train_config: TrainConfig,
    *,
    dataset: str = "mnist",
    dims: int = 3,
    prototype_seed: int = 0,
    device: torch.device | str = "cpu",
    probe_size: int = PROBE_SIZE,
    on_progress: Callable[[Progress], None] | None = None,
    on_snapshot: Callable[[Snapshot], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ExperimentResult:
    """HPN on the CNN-Vis3D trunk: features (N, dims) on the unit sphere of the test set.

    extras: prototypes (K, dims) and the curves of `sph_viz.training.curves`.
    """
    config = prototype_config_dict(train_config, dataset, dims, prototype_seed)
    return train_with_curves(
        lambda: build_prototype_model(config["model"]),
        config,
        train_config,
        dataset,
        device=device,
        probe_size=probe_size,
        extras=lambda model: {"prototypes": model.prototypes.detach().cpu().double().numpy()},
        on_progress=on_progress,
        on_snapshot=on_snapshot,
        should_stop=should_stop,
    )


# ---- settings of the prototype page and command ----

PROTOTYPE_FIELDS = (
    Field("classes", int, 10, 2, 40, label="prototypes K (Eq. 5)", help="number of classes to place"),
    Field("dims", int, 3, 2, 3, label="dimensions D (drawn: 2 or 3)", widget="slider"),
    Field("steps", int, 1000, 10, 5000, label="Eq. 5 steps"),
    Field("proto_seed", int, 0, 0, 2**31 - 1, label="Eq. 5 seed"),
    Field("preset", str, "quick", choices=tuple(vis3d.PRESETS), label="training preset (CNN-Vis3D's)"),
    Field("seed", int, 0, 0, 2**31 - 1, help="seed of weights and batch order", target="train"),
    Field(
        "epochs",
        int,
        0,
        1,
        200,
        target="train",
        keep_zero=True,
        help="override the preset's epochs (0 keeps it)",
    ),
    replace(MAX_SAMPLES, help="training images (0 keeps the preset's)"),
)


def hpn_train_config(values: Mapping[str, Any]) -> TrainConfig:
    """The CNN-Vis3D preset `values["preset"]` with the page's overrides: HPN and spherized share it.

    Without the preset's training aids (auxiliary read-out, logit margin, freeze-out): each head is
    trained by its own loss alone (HPN's squared cosine loss, Eq. 1), every layer to the end, so
    the comparison is of the two heads, not of a shared helper.
    """
    recipe = vis3d.EXPERIMENT.preset(values.get("preset") or "quick")
    return without_training_aids(train_config(recipe, PROTOTYPE_FIELDS, values))


def rotated_train_config(values: Mapping[str, Any]) -> TrainConfig:
    """The rotated-MNIST preset with the page's overrides (seed, epochs, training images)."""
    return train_config(ROTATED_PRESETS["quick"], PROTOTYPE_FIELDS, values)


def plan_comparison(values: Mapping[str, Any], device: torch.device | str = "cpu") -> dict[str, tuple]:
    """The prototype page's three runs: {name: (cache key, task)} for HPN, the spherized CNN-Vis3D
    head (same preset, seed and batches) and rotated MNIST; a task takes train_model's callbacks."""
    hpn, rot = hpn_train_config(values), rotated_train_config(values)
    spherized = Vis3DConfig("spherized", **vis3d.EXPERIMENT.preset(values.get("preset") or "quick").model)
    return {
        "HPN": (prototype_config_dict(hpn), partial(run_prototypes, hpn, device=device)),
        "spherized": (vis3d_config_dict(spherized, hpn), partial(run_vis3d, spherized, hpn, device=device)),
        "rotated MNIST": (rotated_config_dict(rot, 0), partial(run_rotated_mnist, rot, device=device)),
    }


# HPN trains with the CNN-Vis3D presets (without their training aids: `hpn_train_config`).
EXPERIMENT = Experiment(
    name="prototypes",
    presets=vis3d.PRESETS,
    fields=PROTOTYPE_FIELDS,
    build_model=build_prototype_model,
    default_preset="quick",
)
