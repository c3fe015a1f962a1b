"""Fig. 3, the 2-D toy task: original and spherized nets trained on two clusters of points.

The eval set is the training set (the paper's figure draws the training points).
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
import torch

from models.names import TOY_KINDS
from models.toy import ToyConfig, make_toy_model
from sph_viz.data.toy import make_toy_data
from sph_viz.experiments.base import SEED, Experiment, Preset
from sph_viz.experiments.result import ExperimentResult, plain_config
from sph_viz.experiments.skeleton import Data, fit
from sph_viz.fields import Field
from sph_viz.training.config import TrainConfig
from sph_viz.training.threads import this_thread_limited

PRESETS = {
    "paper": Preset(
        "the paper's toy recipe: SGD lr 0.01, batch 16, 100 epochs",
        {},
        TrainConfig(epochs=100, batch_size=16, lr=0.01, optimizer="sgd"),
    ),
}

SPHERIZED_SLIDER = {"target": "model", "only": ("spherized",), "widget": "slider", "step": 0.1}
TOY_MAX_EPOCHS = 500
TOY_FIELDS = (
    Field("lr", float, 0.01, 1e-4, 1.0, label="learning rate", target="train", step=0.005),
    Field("epochs", int, 100, 1, TOY_MAX_EPOCHS, target="train"),
    Field("batch_size", int, 16, 1, 200, label="batch size", target="train"),
    SEED,
    Field("noise", float, 0.05, 0.0, 0.5, label="noise (± per axis)", widget="slider", step=0.01),
    Field("radius", float, 1.0, 0.1, 20.0, label="circle radius r (spherized)", **SPHERIZED_SLIDER),
    Field("scale", float, 1.0, 0.1, 20.0, label="initial α (spherized)", **SPHERIZED_SLIDER),
)
TOY_CHOICES = TOY_KINDS
# What the Toy page shows of its runs (not how they train): in its URL and config file, not the CLI.
# The URL leaves out the defaults: the last epoch (any epoch past the end means the last) and the first tab.
TOY_TABS = ("step", "replay", "curves", "export")
TOY_VIEW_FIELDS = (
    Field("epoch", int, TOY_MAX_EPOCHS, 0, TOY_MAX_EPOCHS, help="the epoch shown (past the last: the last)"),
    Field("tab", str, "step", choices=TOY_TABS, help="the tab shown"),
)


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
    with this_thread_limited(1):  # a tiny net: one thread beats two contended ones
        return fit(
            lambda: make_toy_model(model_config),
            Data(x, y, x, y),
            train_config,
            toy_config_dict(model_config, train_config, noise, data_seed),
            probe_idx=np.arange(len(x)),
            device=device,
            eval_is_train=True,
            keep_states=True,
            **callbacks,
        )


def _model_config(name: str, model: dict, options: dict) -> ToyConfig:
    return ToyConfig(kind=name, **model)


EXPERIMENT = Experiment(
    name="toy",
    presets=PRESETS,
    fields=TOY_FIELDS,
    build_model=lambda model: make_toy_model(ToyConfig(**model)),
    default_preset="paper",
    model_config=_model_config,
    options=("noise", "data_seed"),
    cache_config=toy_config_dict,
    run=run_toy,
)
