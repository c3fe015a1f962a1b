"""Gradient flow (Fig. 4): CNN-Vis3D runs that record it, and the ratios the claim compares.

A run records through `skeleton.fit(record_gradients_every=k)`: the `GradientRecord`
(`sph_viz.nn.gradients`) travels in the result's extras and so through the cache. Recording
reads gradients only, so a run with it is bit-identical to one without. The Table-1 nets record
through `sph_viz.experiments.retention.run_retention`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from models.vis3d import CNNVis3D, Vis3DConfig
from sph_viz.data.idx import BUNDLED_MNIST, normalize_images
from sph_viz.experiments.result import ExperimentResult, probe_indices
from sph_viz.experiments.skeleton import Data, fit
from sph_viz.experiments.vis3d import load_vis3d_data, vis3d_config_dict
from sph_viz.nn.gradients import GradientRecord
from sph_viz.training.aids import without_training_aids
from sph_viz.training.config import TrainConfig
from sph_viz.training.loop import Snapshot


def gradient_ratios(original: list[GradientRecord], other: list[GradientRecord]) -> dict[str, float]:
    """other / original of each shared layer's median mean |grad|, geometric mean over the seeds."""

    def log_medians(records: list[GradientRecord]) -> dict[str, float]:
        per_seed = [r.medians() for r in records]
        shared = set.intersection(*(set(m) for m in per_seed))
        return {k: float(np.mean([np.log(m[k]) for m in per_seed])) for k in shared}

    a, b = log_medians(original), log_medians(other)
    order = [name for name in original[0].layer_names if name in b]
    return {name: float(np.exp(b[name] - a[name])) for name in order}


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
    data = Data(normalize_images(train.images), train.labels, normalize_images(test.images), test.labels)
    probe_idx = probe_indices(test.labels.numpy(), train_config.seed)
    train_config = without_training_aids(train_config)
    return fit(
        lambda: CNNVis3D(model_config),
        data,
        train_config,
        vis3d_gradient_config(model_config, train_config, every, data_dir),
        probe_idx=probe_idx,
        device=device,
        test_each_epoch=True,
        record_gradients_every=every,
        on_snapshot=on_snapshot,
        **callbacks,
    )
