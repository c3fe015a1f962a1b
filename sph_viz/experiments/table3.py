"""The paper's Table 3: overlaps counted at the input of the last layer, one run per (operator, seed).

`run_table3` trains one Table-3 net (a conv trunk, Linear(., d) with no activation, the last
layer replaced by an operator) and keeps the d-D test features (d + 1 on the sphere for
spherization); `sph_viz.reports.table3` turns runs into the paper's columns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, replace

import torch

from models.table3 import OPERATORS_T3, Table3Config, make_table3_model
from sph_viz.data.datasets import DatasetSpec, load_dataset, normalize, resolve_dataset
from sph_viz.experiments.base import MAX_SAMPLES, SEED, Experiment, Preset
from sph_viz.experiments.result import ExperimentResult, plain_config, probe_indices
from sph_viz.experiments.skeleton import Data, fit
from sph_viz.fields import Field
from sph_viz.training.config import TrainConfig
from sph_viz.training.loop import Progress

TRAIN_EVAL_SIZE = 10_000  # training images the reported train accuracy is measured on (eval mode)
PROBE_SIZE = 500  # test images snapshotted during training


TAUS = tuple(float(f"{m}e{e}") for e in range(-12, -1) for m in (1, 3))
# Table 3 (Sec. 4.3): r = alpha = 5, d = 256 in every preset; only the training differs.
TABLE3_MODEL = {"radius": 5.0, "scale": 5.0, "dim": 256}
PRESETS = {
    # Measured on the 2-core CPU (README, "Table 3"): under a minute per run on MNIST.
    "fast": Preset(
        "20,000 training images, 1 epoch of Adam, one-cycle peaking at 3e-3, batch 128: a CPU recipe",
        TABLE3_MODEL,
        TrainConfig(
            epochs=1, batch_size=128, lr=3e-3, optimizer="adam", schedule="onecycle", max_samples=20000
        ),
    ),
    # The official comparison script: a GPU recipe (160 epochs).
    "paper": Preset(
        "the official recipe: Adam 1e-3, weight decay 5e-4, batch 128, 160 epochs, lr x0.1 at "
        "epochs 80 and 130, crop (pad 4) and flip for CIFAR: a GPU recipe",
        TABLE3_MODEL,
        TrainConfig(
            epochs=160,
            batch_size=128,
            lr=1e-3,
            optimizer="adam",
            weight_decay=5e-4,
            schedule="step",
            milestones=(80, 130),
            gamma=0.1,
            augment=True,
        ),
    ),
}

TABLE3_FIELDS = (
    Field("preset", str, "fast", choices=tuple(PRESETS)),
    Field("operators", str, OPERATORS_T3, choices=OPERATORS_T3, many=True, help="last layers to compare"),
    Field(
        "dim",
        int,
        256,
        2,
        4096,
        help="d: width of the layer whose output the overlaps are counted on",
        target="model",
    ),
    Field("epochs", int, 0, 1, 500, target="train", keep_zero=True),
    Field("lr", float, 0.0, 1e-5, 10.0, label="learning rate", target="train", keep_zero=True, step=1e-3),
    MAX_SAMPLES,
    Field("tau", float, 1e-6, 1e-12, 0.5, label="τ: overlap when cosine ≥ 1 − τ", choices=TAUS, log=True),
    SEED,
)


def _dataset(dataset: str | DatasetSpec) -> DatasetSpec:
    return dataset if isinstance(dataset, DatasetSpec) else resolve_dataset(dataset)


def table3_model_config(operator: str, dataset: str | DatasetSpec, **model: float) -> Table3Config:
    """The Table-3 net for a dataset: the CNN-Vis3D trunk for 28x28 grey, CNN-9 for 32x32 colour."""
    spec = _dataset(dataset)
    trunk = "cnn9" if spec.channels == 3 else "vis3d"
    return Table3Config(
        operator=operator,
        trunk=trunk,
        in_channels=spec.channels,
        image_size=spec.size[0],
        n_classes=spec.n_classes,
        **model,
    )


def table3_config_dict(model: Table3Config, train: TrainConfig, dataset: str | DatasetSpec) -> dict:
    """Everything that determines a Table-3 run (the result-cache key)."""
    spec = _dataset(dataset)
    return plain_config(
        {
            "experiment": "table3",
            "model": asdict(model),
            "train": asdict(train),
            "dataset": {"name": spec.name, "folder": str(spec.folder)},
        }
    )


def build_table3_model(model: dict) -> torch.nn.Module:
    """The untrained net a cached result's config describes."""
    return make_table3_model(Table3Config(**model))


def run_table3(
    model_config: Table3Config,
    train_config: TrainConfig,
    *,
    dataset: str | DatasetSpec = "mnist",
    device: torch.device | str = "cpu",
    on_progress: Callable[[Progress], None] | None = None,
    overlaps_by_epoch: bool = True,
    **callbacks,
) -> ExperimentResult:
    """Train one Table-3 net; features are the test set's last-layer inputs (N, d) or (N, d+1).

    The test set is evaluated after every epoch; `overlaps_by_epoch` counts its overlaps on the τ
    ladder and NC1 each time (off only for the bench's baseline: training is the same either way)."""
    spec = _dataset(dataset)
    # crop and flip are the CIFAR recipe; a flipped digit is another digit
    train_config = replace(train_config, augment=train_config.augment and spec.kind == "cifar10")
    train, test = load_dataset(spec)
    data = Data(normalize(spec, train.images), train.labels, normalize(spec, test.images), test.labels)
    return fit(
        lambda: make_table3_model(model_config),
        data,
        train_config,
        table3_config_dict(model_config, train_config, spec),
        probe_idx=probe_indices(test.labels.numpy(), train_config.seed, PROBE_SIZE),
        device=device,
        train_accuracy="eval",
        train_eval_size=TRAIN_EVAL_SIZE,
        test_each_epoch=True,
        overlaps_by_epoch=overlaps_by_epoch,
        on_progress=on_progress,
        **callbacks,
    )


EXPERIMENT = Experiment(
    name="table3",
    presets=PRESETS,
    fields=TABLE3_FIELDS,
    build_model=build_table3_model,
    default_preset="fast",
    model_config=lambda name, model, options: table3_model_config(name, options["dataset"], **model),
    options=("dataset",),
    cache_config=table3_config_dict,
    run=run_table3,
)
