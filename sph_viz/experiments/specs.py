"""Flat values (widgets, URL, JSON file, CLI flags) -> validated run specifications.

The one override path: the preset's configs, then every field whose value is not "keep the
preset's", by the dataclasses' own field names (`overrides`, `train_config`). The CLI and every
page call it; a `RunSpec` knows its cache key and how to run itself through its experiment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from sph_viz.data.bundled import BUNDLED_MNIST
from sph_viz.experiments.base import overrides, train_config
from sph_viz.experiments.registry import experiment as get_experiment
from sph_viz.fields import Field
from sph_viz.training.config import TrainConfig


@dataclass(frozen=True)
class RunSpec:
    """One run: experiment, name (the model shown), model and train configs, and its data."""

    experiment: str  # a key of `registry.EXPERIMENTS` with per-name runs: "toy", "vis3d", "table3"
    name: str
    model: Any  # the experiment's model config (ToyConfig, Vis3DConfig, Table3Config)
    train: TrainConfig
    data_dir: str = str(BUNDLED_MNIST)  # vis3d: the IDX folder
    dataset: str = "mnist"  # table3: a dataset name (sph_viz.data.datasets.resolve_dataset)
    noise: float = 0.05  # toy: the data's noise
    data_seed: int = 0  # toy: the data's seed

    @property
    def options(self) -> dict:
        """The fields of this spec that its experiment's run reads (its data)."""
        return {name: getattr(self, name) for name in get_experiment(self.experiment).options}

    @property
    def cache_config(self) -> dict:
        """Everything that determines the run's result (the result-cache key)."""
        return get_experiment(self.experiment).cache_config(self.model, self.train, **self.options)

    def run(self, *, device: torch.device | str = "cpu", **callbacks):
        """Train and evaluate: an `ExperimentResult`."""
        return get_experiment(self.experiment).run(
            self.model, self.train, device=device, **self.options, **callbacks
        )


def make_run_specs(
    experiment: str,
    values: Mapping[str, Any],
    names: Sequence[str],
    *,
    preset_name: str | None = None,
    data_dir: str | Path = BUNDLED_MNIST,
    dataset: str = "mnist",
    fields: Sequence[Field] | None = None,
) -> dict[str, RunSpec]:
    """One validated `RunSpec` per model name: the preset, then the non-keep values on top.

    `values` are flat, by the config dataclasses' field names (missing ones keep the preset's);
    invalid values raise ValueError from the configs' own checks.
    """
    exp = get_experiment(experiment)
    if exp.model_config is None:
        raise ValueError(f"{experiment} plans its own runs; it has no per-name run specs.")
    fields = exp.fields if fields is None else fields
    recipe = exp.preset(preset_name or values.get("preset") or "paper")
    options = {"data_dir": str(data_dir), "dataset": str(dataset)}
    if values.get("noise") is not None:
        options["noise"] = float(values["noise"])
    specs = {}
    for name in names:
        model = exp.model_config(name, recipe.model | overrides(fields, values, "model", name), options)
        train = train_config(recipe, fields, values)
        specs[name] = RunSpec(experiment, name, model, train, **options)
    return specs
