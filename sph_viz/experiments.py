"""The paper's two experiments as plain functions: seed, build, train, evaluate.

`run_toy` is Fig. 3 (the 2-D task); `run_vis3d` is Fig. 5 (CNN-Vis3D on an IDX image
folder, MNIST by default). Both return an `ExperimentResult` that the CLI writes to disk
and the dashboard draws.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.toy import ToyConfig, make_toy_model
from models.vis3d import CNNVis3D, Vis3DConfig
from sph_viz.data import (
    BUNDLED_MNIST,
    DataError,
    data_folder,
    load_image_folder,
    make_toy_data,
    normalize_images,
)
from sph_viz.geometry import stratified_subsample
from sph_viz.settings import TrainConfig
from sph_viz.threads import this_thread_limited
from sph_viz.train import Progress, TrainResult, evaluate, train_model

PROBE_SIZE = 1000  # test images whose representation is snapshotted during training


@dataclass
class ExperimentResult:
    """A trained model with its evaluation: features/labels/predictions of the eval set."""

    model: nn.Module
    train: TrainResult
    features: np.ndarray  # (N, k) representation of the eval set
    labels: np.ndarray  # (N,)
    predictions: np.ndarray  # (N,)
    train_accuracy: float
    test_accuracy: float | None
    config: dict  # everything needed to reproduce the run
    probe_indices: np.ndarray  # eval-set indices of the snapshot probe
    extras: dict[str, np.ndarray] = field(default_factory=dict)  # experiment-specific arrays (e.g. gradients)

    def to_payload(self) -> dict:
        """Tensors, numbers and JSON strings only: what `torch.load(weights_only=True)` reads back."""
        return {
            "config": json.dumps(self.config, sort_keys=True),
            "state_dict": self.model.state_dict(),
            "features": _tensor(self.features),
            "labels": _tensor(self.labels),
            "predictions": _tensor(self.predictions),
            "probe_indices": _tensor(self.probe_indices),
            "train_accuracy": self.train_accuracy,
            "test_accuracy": self.test_accuracy,
            "train": self.train.to_payload(),
            "extras": {k: _tensor(v) for k, v in self.extras.items()},
        }

    @classmethod
    def from_payload(cls, payload: dict) -> ExperimentResult:
        """The inverse of `to_payload`; the model is rebuilt from the config's architecture."""
        config = json.loads(payload["config"])
        model = build_model(config)
        model.load_state_dict(payload["state_dict"])
        model.eval()
        return cls(
            model=model,
            train=TrainResult.from_payload(payload["train"]),
            features=payload["features"].numpy(),
            labels=payload["labels"].numpy(),
            predictions=payload["predictions"].numpy(),
            train_accuracy=payload["train_accuracy"],
            test_accuracy=payload["test_accuracy"],
            config=config,
            probe_indices=payload["probe_indices"].numpy(),
            extras={k: v.numpy() for k, v in payload.get("extras", {}).items()},
        )


def _tensor(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a))


# experiment -> (module, function) that builds its model from config["model"]; imported on demand
MODEL_BUILDERS: dict[str, tuple[str, str]] = {
    "table3": ("sph_viz.table3", "build_table3_model"),
    "retention": ("sph_viz.retention", "build_retention_model"),
    "spherenet": ("sph_viz.spherenet_runs", "build_spherenet_model"),
    "prototypes": ("sph_viz.prototype_runs", "build_prototype_model"),
    "rotated-mnist": ("sph_viz.rotated_mnist", "build_rotated_model"),
}


def build_model(config: dict) -> nn.Module:
    """An untrained model of the architecture a result's config describes."""
    experiment = config.get("experiment")
    if experiment == "toy":
        return make_toy_model(ToyConfig(**config["model"]))
    if experiment in MODEL_BUILDERS:
        module, name = MODEL_BUILDERS[experiment]
        return getattr(importlib.import_module(module), name)(config["model"])
    return CNNVis3D(Vis3DConfig(**config["model"]))


def seeded(factory: Callable[[], nn.Module], seed: int) -> nn.Module:
    """Build a model with torch's global RNG at `seed`, so weights repeat across runs."""
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        return factory()
    finally:
        torch.random.set_rng_state(state)


def toy_config_dict(
    model_config: ToyConfig, train_config: TrainConfig, noise: float = 0.05, data_seed: int = 0
) -> dict:
    """Everything that determines a toy run (the result-cache key)."""
    return plain_config(
        {
            "experiment": "toy",
            "model": asdict(model_config),
            "train": asdict(train_config),
            "noise": noise,
            "data_seed": data_seed,
        }
    )


def vis3d_config_dict(
    model_config: Vis3DConfig, train_config: TrainConfig, data_dir: str | Path = BUNDLED_MNIST
) -> dict:
    """Everything that determines a CNN-Vis3D run (the result-cache key)."""
    return plain_config(
        {
            "experiment": "vis3d",
            "model": asdict(model_config),
            "train": asdict(train_config),
            "data_dir": str(Path(data_dir).expanduser().resolve()),
        }
    )


def plain_config(config: dict) -> dict:
    """config as JSON gives it back (tuples as lists): equal in memory and from the cache."""
    return json.loads(json.dumps(config, default=str))


def run_toy(
    model_config: ToyConfig,
    train_config: TrainConfig | None = None,
    *,
    noise: float = 0.05,
    data_seed: int = 0,
    device: torch.device | str = "cpu",
    **callbacks,
) -> ExperimentResult:
    """Train one toy net on the paper's 2-D task; the eval set is the training set.

    `train_config` defaults to the paper's toy recipe (SGD lr 0.01, batch 16, 100 epochs).
    """
    train_config = train_config or TrainConfig()
    x, y = make_toy_data(100, noise=noise, seed=data_seed)
    model = seeded(lambda: make_toy_model(model_config), train_config.seed)
    with this_thread_limited(1):
        res = train_model(model, x, y, train_config, device=device, probe=x, keep_states=True, **callbacks)
    ev = evaluate(model, x, y)
    return ExperimentResult(
        model=model,
        train=res,
        features=ev.features,
        labels=y.numpy(),
        predictions=ev.predictions,
        train_accuracy=ev.accuracy,
        test_accuracy=None,
        config=toy_config_dict(model_config, train_config, noise, data_seed),
        probe_indices=np.arange(len(x)),
    )


def probe_indices(test_labels: np.ndarray, seed: int, probe_size: int = PROBE_SIZE) -> np.ndarray:
    """The test-set indices whose representation is snapshotted during training."""
    return stratified_subsample(test_labels, probe_size, seed=seed)


def load_vis3d_data(data_dir: str | Path = BUNDLED_MNIST, n_classes: int = 10):
    """The (train, test) splits of an IDX folder, checked for what CNN-Vis3D needs."""
    # data_folder first: it names a missing folder, a symlink loop or an over-long path as a
    # DataError, where resolve() raises RuntimeError (Python 3.11) or OSError
    splits = load_image_folder(str(data_folder(data_dir).resolve()))
    train, test = splits["train"], splits["test"]
    for name, split in splits.items():
        if tuple(split.images.shape[1:]) != (28, 28):
            raise DataError(
                f"{data_dir}: CNN-Vis3D needs 28x28 images; the {name} images are "
                f"{split.images.shape[1]}x{split.images.shape[2]}."
            )
        if len(split.labels) and int(split.labels.max()) >= n_classes:
            raise DataError(
                f"{data_dir}: {name} labels go up to {int(split.labels.max())}; "
                f"the model has {n_classes} classes."
            )
    return train, test


def evaluate_vis3d(
    model: CNNVis3D, data_dir: str | Path = BUNDLED_MNIST, *, source: str = "checkpoint"
) -> ExperimentResult:
    """A trained CNN-Vis3D (e.g. a loaded checkpoint) evaluated on the test split.

    There is no training history; the train accuracy is measured on the training split.
    """
    train, test = load_vis3d_data(data_dir, model.config.n_classes)
    ev = evaluate(model, normalize_images(test.images), test.labels)
    config = {
        "experiment": "vis3d",
        "model": asdict(model.config),
        "source": source,
        "data_dir": str(Path(data_dir).expanduser().resolve()),
    }
    return ExperimentResult(
        model=model,
        train=TrainResult(device=str(next(model.parameters()).device)),
        features=ev.features,
        labels=test.labels.numpy(),
        predictions=ev.predictions,
        train_accuracy=evaluate(model, normalize_images(train.images), train.labels).accuracy,
        test_accuracy=ev.accuracy,
        config=config,
        probe_indices=np.arange(0),
    )


def run_vis3d(
    model_config: Vis3DConfig,
    train_config: TrainConfig,
    *,
    data_dir: str | Path = BUNDLED_MNIST,
    device: torch.device | str = "cpu",
    probe_size: int = PROBE_SIZE,
    on_progress: Callable[[Progress], None] | None = None,
    test_each_epoch: bool = False,
    **callbacks,
) -> ExperimentResult:
    """Train CNN-Vis3D on an IDX folder; evaluate on its test split (the eval set).

    The test set is evaluated once, after training; `test_each_epoch` adds a pass after every
    epoch before the last (the code path before issue 14, kept for bench/bench_speed.py).
    """
    train, test = load_vis3d_data(data_dir, model_config.n_classes)
    x, y = normalize_images(train.images), train.labels
    x_test, y_test = normalize_images(test.images), test.labels
    probe_idx = probe_indices(y_test.numpy(), train_config.seed, probe_size)
    model = seeded(lambda: CNNVis3D(model_config), train_config.seed)
    res = train_model(
        model,
        x,
        y,
        train_config,
        device=device,
        probe=x_test[probe_idx],
        # By default no test pass between epochs: 10,000 float32 images cost ~4 s each time on a
        # 2-core CPU (5 % of a `fast` run) for a number only metrics.json kept. The evaluation
        # below gives the final one; the epochs before it keep their running train accuracy.
        test=(x_test, y_test) if test_each_epoch else None,
        test_last_epoch=False,
        on_progress=on_progress,
        **callbacks,
    )
    ev = evaluate(model, x_test, y_test)
    if res.history:
        res.history[-1].test_accuracy = ev.accuracy
    # The train accuracy reported is the one training measured: the running accuracy over the last
    # epoch's batches (train mode). A second pass over up to 60,000 images to re-measure it cost
    # about 38 s of a 245 s `vis3d` run (issue 14). Only a run stopped before its first step has
    # no such number, and is evaluated instead.
    if res.history:
        train_accuracy = res.history[-1].accuracy
    else:
        n_train = len(x) if train_config.max_samples is None else train_config.max_samples
        train_accuracy = evaluate(model, x[:n_train], y[:n_train]).accuracy
    return ExperimentResult(
        model=model,
        train=res,
        features=ev.features,
        labels=y_test.numpy(),
        predictions=ev.predictions,
        train_accuracy=train_accuracy,
        test_accuracy=ev.accuracy,
        config=vis3d_config_dict(model_config, train_config, data_dir),
        probe_indices=probe_idx,
    )
