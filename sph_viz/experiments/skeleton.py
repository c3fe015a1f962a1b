"""The run skeleton of the experiments: data -> seed -> model -> train -> evaluate -> result."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from sph_viz.data.datasets import load_dataset, normalize, resolve_dataset
from sph_viz.experiments.result import ExperimentResult, probe_indices, seeded
from sph_viz.training.config import TrainConfig
from sph_viz.training.curves import CurveRecorder
from sph_viz.training.loop import Progress, Snapshot, evaluate, train_model


def train_with_curves(
    model_factory: Callable[[], Any],
    config: dict,
    train_config: TrainConfig,
    dataset: str,
    *,
    device: torch.device | str,
    probe_size: int,
    extras: Callable[[Any], dict],
    keep_snapshots: bool = True,
    on_progress: Callable[[Progress], None] | None = None,
    on_snapshot: Callable[[Snapshot], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ExperimentResult:
    """Train a classifier on a dataset with step-resolution curves; evaluate it on the test split.

    The one loop behind the SphereNet and prototype runs: the first `max_samples` training
    images, a stratified probe of the test set, `CurveRecorder` between `train_model` and the
    callbacks. extras: the curves plus `extras(model)`.
    """
    spec = resolve_dataset(dataset)
    train, test = load_dataset(spec)
    n_train = len(train.images) if train_config.max_samples is None else train_config.max_samples
    x, y = normalize(spec, train.images[:n_train]), train.labels[:n_train]
    x_test, y_test = normalize(spec, test.images), test.labels
    probe_idx = probe_indices(y_test.numpy(), train_config.seed, min(probe_size, len(y_test)))
    recorder = CurveRecorder(
        len(x), train_config.batch_size, y_test.numpy()[probe_idx], on_progress, on_snapshot
    )
    model = seeded(model_factory, train_config.seed)
    res = train_model(
        model,
        x,
        y,
        train_config,
        device=device,
        probe=x_test[probe_idx],
        on_progress=recorder.on_progress,
        on_snapshot=recorder.on_snapshot,
        should_stop=should_stop,
        progress_every=1,
    )
    if not keep_snapshots:
        res.snapshots = []
    ev = evaluate(model, x_test, y_test)
    if res.history:
        res.history[-1].test_accuracy = ev.accuracy
    return ExperimentResult(
        model=model,
        train=res,
        features=ev.features,
        labels=y_test.numpy(),
        predictions=ev.predictions,
        train_accuracy=evaluate(model, x, y).accuracy,
        test_accuracy=ev.accuracy,
        config=config,
        probe_indices=probe_idx,
        extras={**recorder.arrays(), **extras(model)},
    )
