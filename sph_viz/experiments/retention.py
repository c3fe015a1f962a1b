"""Table 1 (retention of the training ability): the paper's nets, original vs spherized, as runs.

`run_retention` trains one Table-1 net (`models/retention.py`) with one recipe and seed and
returns an `ExperimentResult` whose features are the test set's representation at the
classifier's input ((N, n), or (N, n+1) on the sphere of radius r). Data are prepared as the
official scripts do: MNIST nets see pixels / 255 only (`ToTensor`); VGG-11 sees the images
resized to 32x32 (bilinear) and standardised, and trains with crop (pad 4) and flip.
`run_gradient_flow` records Fig. 4's per-layer gradients on a Table-1 net or on CNN-Vis3D.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, replace
from typing import Any

import torch
import torch.nn.functional as F

from models.retention import NETS, PAPER_TABLE1, RETENTION_RECIPES, SPHERIZATION_SETTINGS, RetentionConfig
from models.retention import make_retention_model as _make
from models.vis3d import Vis3DConfig
from sph_viz.data.datasets import DatasetSpec, load_dataset, resolve_dataset
from sph_viz.data.idx import BUNDLED_MNIST
from sph_viz.experiments.base import MAX_SAMPLES, SEED, Experiment, Preset, train_config
from sph_viz.experiments.gradient_flow import run_vis3d_gradient_flow
from sph_viz.experiments.result import ExperimentResult, probe_indices
from sph_viz.experiments.skeleton import Data, fit
from sph_viz.fields import Field
from sph_viz.training.config import TrainConfig

PAPER_DATASET = {"simplefnn": "mnist", "lenet5": "mnist", "vgg11": "fashion-mnist"}
MODEL_SETTINGS = {k: SPHERIZATION_SETTINGS[k] for k in ("radius", "scale", "delta")}  # r = 5, alpha = 5
PROBE_SIZE = 200  # test images snapshotted (first and last epoch only: n is up to 4,097)


def _paper_train(net: str) -> TrainConfig:
    """The official README recipe of `net` as a TrainConfig."""
    r = RETENTION_RECIPES[net]
    step = r["lr_schedule"]
    schedule = {}
    if step:  # fmnist.py halves the lr before every epoch e with e % 20 == 0 (1-based): after 19, 39, ...
        every = step["every"]
        milestones = tuple(range(every - 1, r["epochs"], every))
        schedule = {"schedule": "step", "milestones": milestones, "gamma": step["factor"]}
    return TrainConfig(
        epochs=r["epochs"],
        batch_size=r["batch_size"],
        lr=r["lr"],
        optimizer=r["optimizer"],
        weight_decay=r["weight_decay"],
        momentum=r.get("momentum", 0.0),
        augment=net == "vgg11",  # RandomCrop(32, padding=4) + RandomHorizontalFlip
        **schedule,
    )


def _paper(net: str) -> Preset:
    r = RETENTION_RECIPES[net]
    opt = f"{r['optimizer'].upper() if r['optimizer'] == 'sgd' else 'Adam'} {r['lr']:g}"
    gpu = " — a GPU recipe" if net == "vgg11" else ""
    return Preset(
        f"the official recipe: {opt}, batch {r['batch_size']}, {r['epochs']} epochs{gpu}",
        MODEL_SETTINGS,
        _paper_train(net),
    )


# `cpu`: the official recipe cut short to minutes per run on a 2-core CPU (measured on a shared one,
# 2026-11-25: SimpleFNN 135-275 s, LeNet-5 150-410 s per run; VGG-11 ~5 min from 10 timed steps).
RETENTION_PRESETS: dict[str, dict[str, Preset]] = {
    "simplefnn": {
        "paper": _paper("simplefnn"),
        "cpu": Preset(
            "the official recipe for 5 of its 100 epochs: 2-5 min per run on 2 CPU cores",
            MODEL_SETTINGS,
            replace(_paper_train("simplefnn"), epochs=5),
        ),
    },
    "lenet5": {
        "paper": _paper("lenet5"),
        "cpu": Preset(
            "the official recipe for 3 of its 20 epochs: 2-7 min per run on 2 CPU cores",
            MODEL_SETTINGS,
            replace(_paper_train("lenet5"), epochs=3),
        ),
    },
    "vgg11": {
        "paper": _paper("vgg11"),
        "cpu": Preset(
            "the official recipe on 6,000 training images for 1 epoch: a smoke test, ~5 min on 2 CPU cores",
            MODEL_SETTINGS,
            replace(_paper_train("vgg11"), epochs=1, schedule="constant", milestones=(), max_samples=6000),
        ),
    },
}
GPU_SCALE = {"simplefnn": False, "lenet5": False, "vgg11": True}  # the `paper` preset needs a GPU

RETENTION_FIELDS = (
    Field("nets", str, ("simplefnn", "lenet5"), choices=NETS, many=True, help="Table-1 nets to train"),
    Field(
        "preset",
        str,
        "cpu",
        choices=("cpu", "paper"),
        help="cpu: minutes per run; paper: the official recipe",
    ),
    Field("epochs", int, 0, 1, 1000, target="train", keep_zero=True, help="0 keeps the preset's"),
    Field("lr", float, 0.0, 1e-5, 10.0, label="learning rate", target="train", keep_zero=True, step=1e-3),
    Field("batch_size", int, 0, 1, 4096, label="batch size", target="train", keep_zero=True),
    MAX_SAMPLES,
    Field("record_gradients", int, 0, 0, 100000, help="record the gradient flow every k steps (0: off)"),
    SEED,
)


def retention_train_config(net: str, preset: str, values: Mapping[str, Any] | None = None) -> TrainConfig:
    """The preset's TrainConfig with the train-field values that do not keep the preset's on top."""
    if net not in RETENTION_PRESETS:
        raise ValueError(f"net must be one of {', '.join(NETS)}. Got {net!r} instead.")
    table = RETENTION_PRESETS[net]
    if preset not in table:
        raise ValueError(f"preset must be one of {', '.join(table)}. Got {preset!r} instead.")
    return train_config(table[preset], RETENTION_FIELDS, values or {})


def _spec(dataset: str | DatasetSpec | None, net: str) -> DatasetSpec:
    if isinstance(dataset, DatasetSpec):
        return dataset
    return resolve_dataset(dataset or PAPER_DATASET[net])


def retention_model_config(
    net: str, variant: str, dataset: str | DatasetSpec | None = None, **model
) -> RetentionConfig:
    """The Table-1 net for a dataset (channels, classes; side 32 for VGG-11), r, alpha, delta as given."""
    spec = _spec(dataset, net)
    size = 32 if net == "vgg11" else spec.size[0]
    settings = MODEL_SETTINGS | model
    return RetentionConfig(
        net=net,
        variant=variant,
        in_channels=spec.channels,
        image_size=size,
        n_classes=spec.n_classes,
        **settings,
    )


def retention_config_dict(
    model_config: RetentionConfig,
    train_config: TrainConfig,
    dataset: str | DatasetSpec | None = None,
    gradients_every: int = 0,
) -> dict:
    """Everything that determines a Table-1 run (the result-cache key); a recorded run is its own entry."""
    spec = _spec(dataset, model_config.net)
    config = {
        "experiment": "retention",
        "model": asdict(model_config),
        "train": asdict(train_config),
        "dataset": {"name": spec.name, "folder": str(spec.folder)},
    }
    return config | ({"gradients_every": gradients_every} if gradients_every else {})


def build_retention_model(model: dict) -> torch.nn.Module:
    """The untrained net a cached result's config["model"] describes (for `MODEL_BUILDERS`)."""
    return _make(RetentionConfig(**model))


def prepare_images(net: str, spec: DatasetSpec, images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, H, W) or (N, C, H, W) -> float32 (N, C, s, s) as the official scripts feed `net`.

    SimpleFNN, LeNet-5: pixels / 255 (ToTensor only). VGG-11: resized to 32x32 (bilinear, as
    torchvision's Resize(32)) and standardised with the dataset's mean and std.
    """
    x = images.unsqueeze(1) if images.ndim == 3 else images
    x = x.float().div_(255.0)
    if net != "vgg11":
        return x
    if x.shape[-1] != 32 or x.shape[-2] != 32:
        x = F.interpolate(x, size=(32, 32), mode="bilinear", align_corners=False)
    mean = torch.tensor(spec.mean, dtype=torch.float32).view(1, -1, 1, 1)
    std = torch.tensor(spec.std, dtype=torch.float32).view(1, -1, 1, 1)
    return x.sub_(mean).div_(std)


def run_retention(
    net: str,
    variant: str,
    train_config: TrainConfig,
    *,
    dataset: str | DatasetSpec | None = None,
    device: torch.device | str = "cpu",
    record_gradients_every: int = 0,
    model: Mapping[str, float] | None = None,
    **callbacks,
) -> ExperimentResult:
    """Train one Table-1 net (`variant` "original" or "spherized") and evaluate it on the test set.

    `dataset` defaults to the paper's for the net (MNIST; Fashion-MNIST for VGG-11); `model`
    overrides r, alpha, delta. Features: the test set's classifier input, (N, n) or (N, n+1).
    Train accuracy: the last epoch's running accuracy. With `record_gradients_every` = k > 0 the
    result's extras hold the gradient record (`sph_viz.nn.gradients.GradientRecord`).
    """
    if isinstance(record_gradients_every, bool) or not isinstance(record_gradients_every, int):
        raise ValueError(
            f"record_gradients_every must be an integer. Got {record_gradients_every!r} instead."
        )
    if record_gradients_every < 0:
        raise ValueError(f"record_gradients_every must be >= 0. Got {record_gradients_every} instead.")
    spec = _spec(dataset, net)
    model_config = retention_model_config(net, variant, spec, **(model or {}))
    train, test = load_dataset(spec)
    data = Data(
        prepare_images(net, spec, train.images),
        train.labels,
        prepare_images(net, spec, test.images),
        test.labels,
    )
    probe_idx = probe_indices(test.labels.numpy(), train_config.seed, PROBE_SIZE)
    config = retention_config_dict(model_config, train_config, spec, record_gradients_every)
    return fit(
        lambda: _make(model_config),
        data,
        train_config,
        config,
        probe_idx=probe_idx,
        device=device,
        test_each_epoch=True,
        record_gradients_every=record_gradients_every,
        snapshots="ends",
        **callbacks,
    )


def run_gradient_flow(
    model_config: RetentionConfig | Vis3DConfig,
    train_config: TrainConfig,
    *,
    every: int = 10,
    dataset: str | DatasetSpec | None = None,
    device: torch.device | str = "cpu",
    **callbacks,
) -> ExperimentResult:
    """Fig. 4 on any net here: train it recording the gradients every `every` steps.

    A `RetentionConfig` trains that Table-1 net (r, alpha, delta from the config) on `dataset`
    (default: the paper's); a `Vis3DConfig` trains CNN-Vis3D on `dataset` as an IDX folder
    (default: the bundled MNIST).
    """
    if isinstance(model_config, Vis3DConfig):
        data_dir = BUNDLED_MNIST if dataset is None else dataset
        return run_vis3d_gradient_flow(
            model_config, train_config, every=every, data_dir=data_dir, device=device, **callbacks
        )
    if isinstance(model_config, RetentionConfig):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be an integer >= 1. Got {every!r} instead.")
        m = model_config
        return run_retention(
            m.net,
            m.variant,
            train_config,
            dataset=dataset,
            device=device,
            record_gradients_every=every,
            model={"radius": m.radius, "scale": m.scale, "delta": m.delta},
            **callbacks,
        )
    raise ValueError(
        f"model_config must be a RetentionConfig or Vis3DConfig. Got {type(model_config).__name__} instead."
    )


def paper_numbers(net: str, variant: str) -> dict[str, tuple[float, float]]:
    """The paper's Table-1 (mean, std) in % for train and test."""
    return PAPER_TABLE1[net][variant]


EXPERIMENT = Experiment(
    name="retention",
    presets=RETENTION_PRESETS,
    fields=RETENTION_FIELDS,
    build_model=build_retention_model,
    default_preset="cpu",
)
