"""The paper's two experiments as plain functions: seed, build, train, evaluate.

`run_toy` is Fig. 3 (the 2-D task); `run_vis3d` is Fig. 5 (CNN-Vis3D on an IDX image
folder, MNIST by default). Both return an `ExperimentResult` that the CLI writes to disk
and the dashboard draws.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.toy import ToyConfig, make_toy_model
from models.vis3d import CNNVis3D, Vis3DConfig
from sph_viz.data import (
    BUNDLED_MNIST,
    DataError,
    load_image_folder,
    make_toy_data,
    normalize_images,
)
from sph_viz.geometry import stratified_subsample
from sph_viz.train import Progress, TrainConfig, TrainResult, accuracy, predict, train_model

# Paper: SGD lr 0.01, batch 16, 100 epochs.
TOY_TRAIN = TrainConfig(epochs=100, batch_size=16, lr=0.01, optimizer="sgd")
# The paper's CNN-Vis3D recipe: Adam 1e-3, batch 64, r = 1, alpha = 1, 20 epochs.
VIS3D_PRESETS: dict[str, tuple[dict, TrainConfig]] = {
    "paper": (
        {"radius": 1.0, "scale": 1.0, "normalize_preact": False},
        TrainConfig(epochs=20, batch_size=64, lr=1e-3, optimizer="adam", snapshots_per_epoch=2),
    ),
    # Measured defaults that learn fast on a 2-core CPU (README, "Training defaults").
    "fast": (
        {"radius": 5.0, "scale": 1.0, "normalize_preact": True},
        TrainConfig(
            epochs=3,
            batch_size=128,
            lr=3e-3,
            optimizer="adam",
            schedule="onecycle",
            snapshots_per_epoch=8,
        ),
    ),
    # Under a minute on a 2-core CPU (measured 38 s, 96.5 % test accuracy): 12,000 images, 2 epochs.
    "quick": (
        {"radius": 5.0, "scale": 1.0, "normalize_preact": True},
        TrainConfig(
            epochs=2,
            batch_size=64,
            lr=6e-3,
            optimizer="adam",
            schedule="onecycle",
            snapshots_per_epoch=4,
            max_samples=12000,
        ),
    ),
}


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


@contextmanager
def single_thread():
    """Run tiny nets on one thread: intra-op threads only add overhead there, and under
    contention (another training in the same process) made the toy net 80x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


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
    return {
        "experiment": "toy",
        "model": asdict(model_config),
        "train": asdict(train_config),
        "noise": noise,
        "data_seed": data_seed,
    }


def vis3d_config_dict(
    model_config: Vis3DConfig, train_config: TrainConfig, data_dir: str | Path = BUNDLED_MNIST
) -> dict:
    """Everything that determines a CNN-Vis3D run (the result-cache key)."""
    return {
        "experiment": "vis3d",
        "model": asdict(model_config),
        "train": asdict(train_config),
        "data_dir": str(Path(data_dir).expanduser().resolve()),
    }


def run_toy(
    model_config: ToyConfig,
    train_config: TrainConfig = TOY_TRAIN,
    *,
    noise: float = 0.05,
    data_seed: int = 0,
    device: torch.device | str = "cpu",
    **callbacks,
) -> ExperimentResult:
    """Train one toy net on the paper's 2-D task; the eval set is the training set."""
    x, y = make_toy_data(100, noise=noise, seed=data_seed)
    model = seeded(lambda: make_toy_model(model_config), train_config.seed)
    with single_thread():
        res = train_model(model, x, y, train_config, device=device, probe=x, keep_states=True, **callbacks)
    feats, logits = predict(model, x)
    config = toy_config_dict(model_config, train_config, noise, data_seed)
    acc = (logits.argmax(1).cpu() == y).double().mean().item()
    return ExperimentResult(
        model,
        res,
        feats.cpu().numpy(),
        y.numpy(),
        logits.argmax(1).cpu().numpy(),
        acc,
        None,
        config,
        np.arange(len(x)),
    )


def probe_indices(test_labels: np.ndarray, seed: int, probe_size: int = PROBE_SIZE) -> np.ndarray:
    """The test-set indices whose representation is snapshotted during training."""
    return stratified_subsample(test_labels, probe_size, seed=seed)


def vis3d_preset(name: str, head: str = "spherized") -> tuple[Vis3DConfig, TrainConfig]:
    """A named preset ('fast', 'quick', 'paper') for one head."""
    if name not in VIS3D_PRESETS:
        raise ValueError(f"preset must be one of {', '.join(VIS3D_PRESETS)}. Got {name!r} instead.")
    model_kwargs, train_config = VIS3D_PRESETS[name]
    return Vis3DConfig(head=head, **model_kwargs), train_config


def load_vis3d_data(data_dir: str | Path = BUNDLED_MNIST, n_classes: int = 10):
    """The (train, test) splits of an IDX folder, checked for what CNN-Vis3D needs."""
    splits = load_image_folder(str(Path(data_dir).expanduser().resolve()))
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
    x, y = normalize_images(train.images), train.labels
    feats, preds, train_acc, test_acc = _evaluate(model, x, y, normalize_images(test.images), test.labels)
    config = {
        "experiment": "vis3d",
        "model": asdict(model.config),
        "source": source,
        "data_dir": str(Path(data_dir).expanduser().resolve()),
    }
    device = str(next(model.parameters()).device)
    return ExperimentResult(
        model,
        TrainResult(device=device),
        feats,
        test.labels.numpy(),
        preds,
        train_acc,
        test_acc,
        config,
        np.arange(0),
    )


def _evaluate(model: nn.Module, x, y, x_test, y_test) -> tuple[np.ndarray, np.ndarray, float, float]:
    """Test features (N, k) and predictions (N,), then train and test accuracy."""
    feats, logits = predict(model, x_test)
    preds = logits.argmax(1).cpu()
    test_acc = (preds == y_test).double().mean().item()
    return feats.cpu().numpy(), preds.numpy(), accuracy(model, x, y), test_acc


def run_vis3d(
    model_config: Vis3DConfig,
    train_config: TrainConfig,
    *,
    data_dir: str | Path = BUNDLED_MNIST,
    device: torch.device | str = "cpu",
    probe_size: int = PROBE_SIZE,
    on_progress: Callable[[Progress], None] | None = None,
    **callbacks,
) -> ExperimentResult:
    """Train CNN-Vis3D on an IDX folder; evaluate on its test split (the eval set)."""
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
        test=(x_test, y_test),
        on_progress=on_progress,
        test_last_epoch=False,  # the final evaluation below gives it
        **callbacks,
    )
    n_train = len(x) if train_config.max_samples is None else train_config.max_samples
    feats, preds, train_acc, test_acc = _evaluate(model, x[:n_train], y[:n_train], x_test, y_test)
    if res.history:
        res.history[-1].test_accuracy = test_acc
    config = vis3d_config_dict(model_config, train_config, data_dir)
    return ExperimentResult(model, res, feats, y_test.numpy(), preds, train_acc, test_acc, config, probe_idx)
