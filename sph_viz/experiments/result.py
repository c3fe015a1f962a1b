"""The paper's two experiments as plain functions: seed, build, train, evaluate.

`run_toy` is Fig. 3 (the 2-D task); `run_vis3d` is Fig. 5 (CNN-Vis3D on an IDX image
folder, MNIST by default). Both return an `ExperimentResult` that the CLI writes to disk
and the dashboard draws.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from sph_viz.analysis.geometry import stratified_subsample
from sph_viz.training.loop import TrainResult

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
    def from_payload(cls, payload: dict, build_model: Callable[[dict], nn.Module]) -> ExperimentResult:
        """The inverse of `to_payload`; `build_model(config)` (`registry.build_model`) rebuilds the
        untrained model from the config's architecture."""
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


def seeded(factory: Callable[[], nn.Module], seed: int) -> nn.Module:
    """Build a model with torch's global RNG at `seed`, so weights repeat across runs."""
    state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        return factory()
    finally:
        torch.random.set_rng_state(state)


def plain_config(config: dict) -> dict:
    """config as JSON gives it back (tuples as lists): equal in memory and from the cache."""
    return json.loads(json.dumps(config, default=str))


def probe_indices(test_labels: np.ndarray, seed: int, probe_size: int = PROBE_SIZE) -> np.ndarray:
    """The test-set indices whose representation is snapshotted during training."""
    return stratified_subsample(test_labels, probe_size, seed=seed)
