"""Gradient flow (Fig. 4) as a result: the recorder's arrays kept with a run, and runs that record them.

`GradientRecord` is what a `GradientRecorder` saw, in a form that travels in
`ExperimentResult.extras` (arrays only: the layer names go as UTF-8 JSON bytes) and so through
the result cache. `train_and_evaluate` is the one train-then-evaluate path of the runs that may
record (the Table-1 nets, CNN-Vis3D here); recording reads gradients only, so a run with it is
bit-identical to one without.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.vis3d import CNNVis3D, Vis3DConfig
from sph_viz.data.idx import BUNDLED_MNIST, normalize_images
from sph_viz.experiments.result import ExperimentResult, probe_indices, seeded
from sph_viz.experiments.vis3d import load_vis3d_data, vis3d_config_dict
from sph_viz.nn.gradients import GradientRecorder
from sph_viz.training.aids import without_training_aids
from sph_viz.training.config import TrainConfig
from sph_viz.training.loop import Snapshot, evaluate, train_model

PREFIX = "gradient_"  # extras keys of a gradient record


@dataclass(frozen=True)
class GradientRecord:
    """Per-layer mean |grad W| every `every` steps, and each spherization layer's alpha."""

    steps: np.ndarray  # (T,) optimizer steps at which the gradients were read
    values: np.ndarray  # (T, L) mean |grad W| per layer, columns as layer_names
    layer_names: tuple[str, ...]
    alpha: np.ndarray  # (T, S) alpha of each spherization layer, columns as sphere_names
    alpha_grad: np.ndarray  # (T, S) its gradient (NaN while frozen)
    sphere_names: tuple[str, ...]
    every: int

    @classmethod
    def from_recorder(cls, recorder: GradientRecorder) -> GradientRecord:
        a = recorder.as_arrays()
        return cls(
            a["steps"],
            a["values"],
            tuple(recorder.layer_names),
            a["alpha"],
            a["alpha_grad"],
            tuple(recorder.sphere_names),
            recorder.every,
        )

    def to_extras(self) -> dict[str, np.ndarray]:
        """Arrays only (what the result cache stores); the inverse is `from_extras`."""
        names = {"layers": list(self.layer_names), "spheres": list(self.sphere_names), "every": self.every}
        return {
            f"{PREFIX}steps": self.steps,
            f"{PREFIX}values": self.values,
            f"{PREFIX}alpha": self.alpha,
            f"{PREFIX}alpha_grad": self.alpha_grad,
            f"{PREFIX}names": np.frombuffer(json.dumps(names).encode(), dtype=np.uint8).copy(),
        }

    @classmethod
    def from_extras(cls, extras: Mapping[str, np.ndarray]) -> GradientRecord | None:
        """The record a result carries; None when it was trained without one."""
        if f"{PREFIX}names" not in extras:
            return None
        names = json.loads(np.asarray(extras[f"{PREFIX}names"], dtype=np.uint8).tobytes().decode())
        return cls(
            np.asarray(extras[f"{PREFIX}steps"]),
            np.asarray(extras[f"{PREFIX}values"]),
            tuple(names["layers"]),
            np.asarray(extras[f"{PREFIX}alpha"]),
            np.asarray(extras[f"{PREFIX}alpha_grad"]),
            tuple(names["spheres"]),
            int(names["every"]),
        )

    def medians(self) -> dict[str, float]:
        """Each layer's median mean |grad| over training (NaN entries skipped)."""
        with np.errstate(all="ignore"):
            return {
                name: float(np.nanmedian(col)) if np.isfinite(col).any() else float("nan")
                for name, col in zip(self.layer_names, self.values.T, strict=True)
            }


def gradient_ratios(original: list[GradientRecord], other: list[GradientRecord]) -> dict[str, float]:
    """other / original of each shared layer's median mean |grad|, geometric mean over the seeds."""

    def log_medians(records: list[GradientRecord]) -> dict[str, float]:
        per_seed = [r.medians() for r in records]
        shared = set.intersection(*(set(m) for m in per_seed))
        return {k: float(np.mean([np.log(m[k]) for m in per_seed])) for k in shared}

    a, b = log_medians(original), log_medians(other)
    order = [name for name in original[0].layer_names if name in b]
    return {name: float(np.exp(b[name] - a[name])) for name in order}


def train_and_evaluate(
    model: nn.Module,
    data: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    train_config: TrainConfig,
    config: dict,
    *,
    probe_idx: np.ndarray,
    device: torch.device | str = "cpu",
    record_gradients_every: int = 0,
    keep_snapshots: bool = True,
    on_step: Callable[[int], None] | None = None,
    **callbacks,
) -> ExperimentResult:
    """Train on data = (x, y, x_test, y_test), evaluate on the test set, keep the gradients if asked.

    The train accuracy is the last epoch's running accuracy (train mode, as the official scripts
    report it): no second pass over the training set. With `keep_snapshots=False` only the first
    and last probe snapshots are kept (wide representations would fill the cache).
    """
    x, y, x_test, y_test = data
    recorder = GradientRecorder(model, every=record_gradients_every) if record_gradients_every else None

    def step_hook(step: int) -> None:
        if recorder is not None:
            recorder.record(step)
        if on_step is not None:
            on_step(step)

    res = train_model(
        model,
        x,
        y,
        train_config,
        device=device,
        probe=x_test[probe_idx],
        test=(x_test, y_test),
        test_last_epoch=False,  # the final evaluation below gives it
        on_step=step_hook if (recorder or on_step) else None,
        **callbacks,
    )
    ev = evaluate(model, x_test, y_test)
    if res.history:
        res.history[-1].test_accuracy = ev.accuracy
    if not keep_snapshots and len(res.snapshots) > 2:
        res.snapshots = [res.snapshots[0], res.snapshots[-1]]
    extras = GradientRecord.from_recorder(recorder).to_extras() if recorder else {}
    return ExperimentResult(
        model=model,
        train=res,
        features=ev.features,
        labels=y_test.cpu().numpy(),
        predictions=ev.predictions,
        train_accuracy=res.history[-1].accuracy if res.history else float("nan"),
        test_accuracy=ev.accuracy,
        config=config,
        probe_indices=probe_idx,
        extras=extras,
    )


def vis3d_gradient_config(
    model_config: Vis3DConfig, train_config: TrainConfig, every: int, data_dir: str | Path = BUNDLED_MNIST
) -> dict:
    """The cache key of a CNN-Vis3D run that records gradients (apart from the page's own runs)."""
    return vis3d_config_dict(model_config, without_training_aids(train_config), data_dir) | {
        "gradients_every": every
    }


def run_vis3d_gradient_flow(
    model_config: Vis3DConfig,
    train_config: TrainConfig,
    *,
    every: int = 10,
    data_dir: str | Path = BUNDLED_MNIST,
    device: torch.device | str = "cpu",
    on_snapshot: Callable[[Snapshot], None] | None = None,
    **callbacks,
) -> ExperimentResult:
    """CNN-Vis3D trained as `run_vis3d` trains it, recording the gradients every `every` steps
    (with no auxiliary read-out, no logit margin and no freeze-out: `without_training_aids`)."""
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"every must be an integer >= 1. Got {every!r} instead.")
    train, test = load_vis3d_data(data_dir, model_config.n_classes)
    data = (normalize_images(train.images), train.labels, normalize_images(test.images), test.labels)
    probe_idx = probe_indices(test.labels.numpy(), train_config.seed)
    train_config = without_training_aids(train_config)
    model = seeded(lambda: CNNVis3D(model_config), train_config.seed)
    config = vis3d_gradient_config(model_config, train_config, every, data_dir)
    return train_and_evaluate(
        model,
        data,
        train_config,
        config,
        probe_idx=probe_idx,
        device=device,
        record_gradients_every=every,
        on_snapshot=on_snapshot,
        **callbacks,
    )
