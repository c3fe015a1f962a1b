"""The one run skeleton of every experiment: data -> seed -> model -> train -> evaluate -> result.

An experiment's run function loads its data into a `Data`, picks its probe, and calls `fit`,
which builds the model under the run's seed, trains it with `train_model` and evaluates it once.
The numbers a result reports are defined here, once:

- `test_accuracy`: the final model in eval mode on the whole eval split (float32, batched);
  None where the eval set is the training set (the toy task).
- `train_accuracy`, by the experiment's `train_accuracy` choice:
  "running": the running accuracy over the last epoch's batches in train mode (what the official
  scripts print; no second pass over the training set);
  "eval": the final model in eval mode on the training images used (the first
  `train_eval_size` of them when set).
  A run stopped before its first step has no running accuracy and is evaluated instead.
- `features`, `predictions`: the final model on the eval split; the history's last epoch carries
  the same test accuracy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from sph_viz.data.datasets import load_dataset, normalize, resolve_dataset
from sph_viz.experiments.epoch_overlaps import EpochOverlaps
from sph_viz.experiments.result import ExperimentResult, probe_indices, seeded
from sph_viz.nn.gradients import GradientRecord, GradientRecorder
from sph_viz.training.config import TrainConfig
from sph_viz.training.curves import CurveRecorder
from sph_viz.training.loop import Evaluation, Progress, Snapshot, evaluate, train_model

SNAPSHOTS = ("all", "ends", "none")  # probe snapshots a result keeps (wide features fill the cache)


@dataclass(frozen=True, eq=False)
class Data:
    """One run's tensors: training x (N, ...) and labels y (N,), the eval split, and optionally a
    second per-sample training target (N,) for a model with its own loss."""

    x: torch.Tensor
    y: torch.Tensor
    x_eval: torch.Tensor
    y_eval: torch.Tensor
    targets: torch.Tensor | None = None


def fit(
    model_factory: Callable[[], nn.Module],
    data: Data,
    train_config: TrainConfig,
    config: dict,
    *,
    probe_idx: np.ndarray,
    device: torch.device | str = "cpu",
    train_accuracy: str = "running",
    train_eval_size: int | None = None,
    test_each_epoch: bool = False,
    overlaps_by_epoch: bool = False,
    eval_is_train: bool = False,
    snapshots: str = "all",
    curves: bool = False,
    record_gradients_every: int = 0,
    extras: Callable[[nn.Module, Evaluation], dict] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_snapshot: Callable[[Snapshot], None] | None = None,
    on_step: Callable[[int], None] | None = None,
    **loop: Any,
) -> ExperimentResult:
    """Seed and build the model, train it on `data`, evaluate it on the eval split: the result.

    `test_each_epoch`: evaluate the eval split after every epoch but the last (the final
    evaluation gives the last). `eval_is_train`: the eval split is the training set (no test
    accuracy). `overlaps_by_epoch`: after every epoch, the eval split's overlap counts on a τ
    ladder and NC1 in the extras (`EpochOverlaps`; implies test_each_epoch). `curves`:
    step-resolution curves in the extras (`CurveRecorder`, progress after every step).
    `record_gradients_every` = k > 0: Fig. 4's gradient record in the extras. `extras(model,
    evaluation)` adds the experiment's own arrays. `loop` goes to `train_model` (should_stop,
    keep_states, test_last_epoch, ...).
    """
    if train_accuracy not in ("running", "eval"):
        raise ValueError(f"train_accuracy must be 'running' or 'eval'. Got {train_accuracy!r} instead.")
    if snapshots not in SNAPSHOTS:
        raise ValueError(f"snapshots must be one of {', '.join(SNAPSHOTS)}. Got {snapshots!r} instead.")
    x, y = data.x, data.y
    recorder = None
    if curves:
        n = len(x) if train_config.max_samples is None else min(len(x), train_config.max_samples)
        probe_labels = data.y_eval.numpy()[probe_idx]
        recorder = CurveRecorder(n, train_config.batch_size, probe_labels, on_progress, on_snapshot)
        on_progress, on_snapshot = recorder.on_progress, recorder.on_snapshot
        loop["progress_every"] = 1
    model = seeded(model_factory, train_config.seed)
    gradients = GradientRecorder(model, every=record_gradients_every) if record_gradients_every else None
    if gradients is not None or on_step is not None:
        loop["on_step"] = _both(gradients.record if gradients else None, on_step)
    overlaps = EpochOverlaps(data.y_eval.cpu().numpy()) if overlaps_by_epoch else None
    if test_each_epoch or overlaps is not None:
        loop |= {"test": (data.x_eval, data.y_eval), "test_last_epoch": False}
    if overlaps is not None:
        loop["on_test"] = lambda epoch, e: overlaps.record(epoch, e.features, e.predictions, e.accuracy)
    res = train_model(
        model,
        x,
        y,
        train_config,
        device=device,
        probe=data.x_eval[probe_idx],
        targets=data.targets,
        on_progress=on_progress,
        on_snapshot=on_snapshot,
        **loop,
    )
    ev = evaluate(model, data.x_eval, data.y_eval)
    if res.history and not eval_is_train:
        res.history[-1].test_accuracy = ev.accuracy
    if snapshots == "none":
        res.snapshots = []
    elif snapshots == "ends" and len(res.snapshots) > 2:
        res.snapshots = [res.snapshots[0], res.snapshots[-1]]
    if eval_is_train:
        train_acc = ev.accuracy
    elif train_accuracy == "running" and res.history:
        train_acc = res.history[-1].accuracy
    else:
        n_used = min(len(x), train_config.max_samples or len(x))
        n_eval = min(n_used, train_eval_size or n_used)
        train_acc = evaluate(model, x[:n_eval], y[:n_eval]).accuracy
    more = {}
    if overlaps is not None:  # the last epoch's row is the final evaluation's
        last = res.history[-1].epoch if res.history else None
        if last is not None and last not in overlaps.epochs:  # (a run stopped between epochs has it)
            overlaps.record(last, ev.features, ev.predictions, ev.accuracy)
        more |= overlaps.arrays()
    if recorder is not None:
        more |= recorder.arrays()
    if gradients is not None:
        more |= GradientRecord.from_recorder(gradients).to_extras()
    if extras is not None:
        more |= extras(model, ev)
    return ExperimentResult(
        model=model,
        train=res,
        features=ev.features,
        labels=data.y_eval.cpu().numpy(),
        predictions=ev.predictions,
        train_accuracy=train_acc,
        test_accuracy=None if eval_is_train else ev.accuracy,
        config=config,
        probe_indices=probe_idx,
        extras=more,
    )


def _both(first: Callable[[int], None] | None, second: Callable[[int], None] | None) -> Callable[[int], None]:
    def on_step(step: int) -> None:
        if first is not None:
            first(step)
        if second is not None:
            second(step)

    return on_step


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
    **callbacks: Any,
) -> ExperimentResult:
    """A classifier on a named dataset with step-resolution curves (the SphereNet and HPN runs):
    the first `max_samples` training images, a stratified probe of the test set; train accuracy
    "eval". extras: the curves plus `extras(model)`."""
    spec = resolve_dataset(dataset)
    train, test = load_dataset(spec)
    n_train = len(train.images) if train_config.max_samples is None else train_config.max_samples
    data = Data(
        normalize(spec, train.images[:n_train]),
        train.labels[:n_train],
        normalize(spec, test.images),
        test.labels,
    )
    probe_idx = probe_indices(test.labels.numpy(), train_config.seed, min(probe_size, len(test.labels)))
    return fit(
        model_factory,
        data,
        train_config,
        config,
        probe_idx=probe_idx,
        device=device,
        train_accuracy="eval",
        snapshots="all" if keep_snapshots else "none",
        curves=True,
        extras=lambda model, _ev: extras(model),
        **callbacks,
    )
