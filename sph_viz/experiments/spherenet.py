"""SphereNet against the same plain CNN (Liu et al., 2017): presets, settings, one run with its curves.

The slides claim *faster convergence*; a run therefore records training loss and probe test
accuracy at step resolution, against steps and training seconds (`sph_viz.training.curves`), and the
learnt k of every kernel for the learnable operator. The slides give no MNIST recipe (their
experiments are CIFAR and ImageNet with SGD), so the presets are measured ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from models.spherenet import SphereCNN, SphereNetConfig, learnt_k
from sph_viz.data.datasets import DatasetSpec, resolve_dataset
from sph_viz.experiments.base import MAX_SAMPLES, Experiment, Preset, train_config
from sph_viz.experiments.result import ExperimentResult
from sph_viz.experiments.skeleton import train_with_curves
from sph_viz.fields import KEEP, Field
from sph_viz.nn.sphereconv import OPERATORS
from sph_viz.training.config import OPTIMIZERS, TrainConfig
from sph_viz.training.loop import Progress, Snapshot

EXPERIMENT_NAME = "spherenet"
PROBE_SIZE = 1000  # test images evaluated snapshots_per_epoch times per epoch
DATASETS = ("mnist", "fashion-mnist")
VARIANTS = ("plain", *(f"sphere-{op}" for op in OPERATORS))

SPHERENET_PRESETS: dict[str, Preset] = {
    # Measured on the 2-core CPU nearly idle: the plain net trains in 14 s (46 s with its evaluations);
    # a SphereConv step costs 1.1x (cosine) to 2x (learnable) a plain one. A shared CPU is slower.
    "quick": Preset(
        "20,000 training images, 1 epoch, Adam 1e-3: about a minute per net on an idle 2-core CPU",
        {},
        TrainConfig(
            epochs=1, batch_size=64, lr=1e-3, optimizer="adam", snapshots_per_epoch=8, max_samples=20000
        ),
    ),
    "full": Preset(
        "all 60,000 images, 3 epochs, Adam 1e-3 (2-4 min per net on an idle 2-core CPU, from the step rate)",
        {},
        TrainConfig(epochs=3, batch_size=128, lr=1e-3, optimizer="adam", snapshots_per_epoch=4),
    ),
}

SPHERENET_FIELDS = (
    Field("preset", str, "quick", choices=tuple(SPHERENET_PRESETS)),
    Field("dataset", str, "mnist", choices=DATASETS),
    Field("variants", str, ("plain", "sphere-cosine"), choices=VARIANTS, many=True),
    Field("n_seeds", int, 1, 1, 10, label="seeds (bands over seeds)", help="runs seed, seed+1, ..."),
    Field("epochs", int, 0, 1, 50, target="train", keep_zero=True),
    Field("lr", float, 0.0, 1e-5, 1.0, label="learning rate", target="train", keep_zero=True, step=1e-3),
    Field("optimizer", str, KEEP, choices=(KEEP, *OPTIMIZERS), target="train"),
    Field("batch_size", int, 0, 1, 1024, label="batch size", target="train", keep_zero=True),
    MAX_SAMPLES,
    Field("seed", int, 0, 0, 2**31 - 1, help="first seed of weights and batch order", target="train"),
)


def parse_variant(variant: str) -> tuple[str, str]:
    """'plain' -> ('plain', 'cosine') (the operator is unused), 'sphere-OP' -> ('sphere', OP)."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)}. Got {variant!r} instead.")
    return ("plain", "cosine") if variant == "plain" else ("sphere", variant.split("-", 1)[1])


def spherenet_train_config(values: Mapping[str, Any], seed: int | None = None) -> TrainConfig:
    """The preset's TrainConfig with every non-keep train field of `values` on top (and `seed`)."""
    recipe = EXPERIMENT.preset(values.get("preset") or "quick")
    return train_config(recipe, SPHERENET_FIELDS, values, **({} if seed is None else {"seed": seed}))


def model_config(conv: str, operator: str, spec: DatasetSpec) -> SphereNetConfig:
    """The SphereCNN for a dataset: its channels, image size and number of classes."""
    if spec.size[0] != spec.size[1]:
        raise ValueError(f"SphereCNN needs square images. Got {spec.size} instead.")
    return SphereNetConfig(
        conv=conv,
        operator=operator,
        in_channels=spec.channels,
        image_size=spec.size[0],
        n_classes=spec.n_classes,
    )


def spherenet_config_dict(
    conv: str, operator: str, train_config: TrainConfig, dataset: str = "mnist", probe_size: int = PROBE_SIZE
) -> dict:
    """Everything that determines a run (the result-cache key); computed without training."""
    spec = resolve_dataset(dataset)
    config = {
        "experiment": EXPERIMENT_NAME,
        "model": asdict(model_config(conv, operator, spec)),
        "train": asdict(train_config),
        "dataset": spec.name,
        "data_dir": str(spec.folder),
        "probe_size": probe_size,
    }
    return json.loads(json.dumps(config))  # tuples as lists: equal in memory and from the cache


def build_spherenet_model(model: dict) -> SphereCNN:
    """An untrained SphereCNN from a result's config["model"] (JSON turns tuples into lists)."""
    return SphereCNN(SphereNetConfig(**{**model, "channels": tuple(model["channels"])}))


def run_spherenet(
    conv: str,
    operator: str,
    train_config: TrainConfig,
    *,
    dataset: str = "mnist",
    device: torch.device | str = "cpu",
    probe_size: int = PROBE_SIZE,
    on_progress: Callable[[Progress], None] | None = None,
    on_snapshot: Callable[[Snapshot], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ExperimentResult:
    """Train one SphereCNN (conv "sphere" or "plain") and evaluate it on the test split.

    extras: the curves of `sph_viz.training.curves.CURVE_KEYS` (steps (S,), seconds, loss, accuracy per
    step; probe_steps (E,), probe_seconds, probe_accuracy per probe evaluation) and learnt_k
    (sum of channels,) (empty unless operator="learnable"). features: the test set's pooled
    features (N, channels[-1]). Probe snapshots are not kept (128-D; the curves hold their use).
    """
    config = spherenet_config_dict(conv, operator, train_config, dataset, probe_size)
    return train_with_curves(
        lambda: build_spherenet_model(config["model"]),
        config,
        train_config,
        dataset,
        device=device,
        probe_size=probe_size,
        extras=lambda model: {"learnt_k": learnt_k(model)},
        keep_snapshots=False,
        on_progress=on_progress,
        on_snapshot=on_snapshot,
        should_stop=should_stop,
    )


EXPERIMENT = Experiment(
    name=EXPERIMENT_NAME,
    presets=SPHERENET_PRESETS,
    fields=SPHERENET_FIELDS,
    build_model=build_spherenet_model,
    default_preset="quick",
)


@dataclass(frozen=True)
class PlannedRun:
    """One (variant, seed) run: its name, cache key and how to run it."""

    name: str  # "VARIANT · seed S"
    variant: str
    seed: int
    train: TrainConfig
    dataset: str

    @property
    def cache_config(self) -> dict:
        return spherenet_config_dict(*parse_variant(self.variant), self.train, self.dataset)

    def run(self, *, device: torch.device | str = "cpu", **callbacks) -> ExperimentResult:
        return run_spherenet(
            *parse_variant(self.variant), self.train, dataset=self.dataset, device=device, **callbacks
        )


def plan_runs(values: Mapping[str, Any], variants: Sequence[str], seeds: Sequence[int]) -> list[PlannedRun]:
    """Every (variant, seed) run the values ask for, validated before any training."""
    dataset = values.get("dataset") or "mnist"
    if dataset not in DATASETS:
        raise ValueError(f"dataset must be one of {', '.join(DATASETS)}. Got {dataset!r} instead.")
    if not variants:
        raise ValueError("variants must name at least one of plain, sphere-OPERATOR. Got none instead.")
    for v in variants:
        parse_variant(v)
    return [
        PlannedRun(f"{v} · seed {s}", v, s, spherenet_train_config(values, s), dataset)
        for v in variants
        for s in seeds
    ]


def time_to_accuracy(extras: Mapping[str, np.ndarray], target: float) -> tuple[int, float] | None:
    """(steps, training seconds) at the first probe evaluation with accuracy >= target; None if never."""
    hit = np.flatnonzero(np.asarray(extras["probe_accuracy"]) >= target)
    if not len(hit):
        return None
    i = int(hit[0])
    return int(extras["probe_steps"][i]), float(extras["probe_seconds"][i])


def train_seconds(extras: Mapping[str, np.ndarray]) -> float:
    """Training seconds of a run (0 for a run stopped before its first step)."""
    return float(extras["seconds"][-1]) if len(extras["seconds"]) else 0.0
