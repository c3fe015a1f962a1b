"""Flat values (widgets, URL, JSON file, CLI flags) -> validated run specifications.

`make_run_specs` is the one override path: the preset's configs, then every field whose
value is not "keep the preset's", by the dataclasses' own field names. The CLI and every
page call it; a `RunSpec` knows its cache key and how to run itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from models.table3 import Table3Config
from models.toy import ToyConfig
from models.vis3d import Vis3DConfig
from sph_viz.data import BUNDLED_MNIST
from sph_viz.experiments import run_toy, run_vis3d, toy_config_dict, vis3d_config_dict
from sph_viz.fields import Field
from sph_viz.settings import FIELDS, TrainConfig, preset
from sph_viz.table3 import run_table3, table3_config_dict, table3_model_config


@dataclass(frozen=True)
class RunSpec:
    """One run: experiment, name (the model shown), model and train configs, and its data."""

    experiment: str  # "toy", "vis3d" or "table3"
    name: str
    model: ToyConfig | Vis3DConfig | Table3Config
    train: TrainConfig
    data_dir: str = str(BUNDLED_MNIST)  # vis3d: the IDX folder
    dataset: str = "mnist"  # table3: a dataset name (sph_viz.datasets.resolve_dataset)
    noise: float = 0.05  # toy: the data's noise
    data_seed: int = 0  # toy: the data's seed

    @property
    def cache_config(self) -> dict:
        """Everything that determines the run's result (the result-cache key)."""
        if self.experiment == "toy":
            return toy_config_dict(self.model, self.train, self.noise, self.data_seed)
        if self.experiment == "table3":
            return table3_config_dict(self.model, self.train, self.dataset)
        return vis3d_config_dict(self.model, self.train, self.data_dir)

    def run(self, *, device: torch.device | str = "cpu", **callbacks):
        """Train and evaluate: an `ExperimentResult`."""
        if self.experiment == "toy":
            return run_toy(
                self.model, self.train, noise=self.noise, data_seed=self.data_seed, device=device, **callbacks
            )
        if self.experiment == "table3":
            return run_table3(self.model, self.train, dataset=self.dataset, device=device, **callbacks)
        return run_vis3d(self.model, self.train, data_dir=self.data_dir, device=device, **callbacks)


def _overrides(fields: Sequence[Field], values: Mapping[str, Any], target: str, name: str) -> dict:
    return {
        f.name: f.kind(values[f.name])
        for f in fields
        if f.target == target
        and f.name in values
        and not f.keeps(values[f.name])
        and (f.only is None or name in f.only)
    }


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
    fields = FIELDS[experiment] if fields is None else fields
    recipe = preset(experiment, preset_name or values.get("preset") or "paper")
    specs = {}
    for name in names:
        model_overrides = _overrides(fields, values, "model", name)
        train = replace(recipe.train, **_overrides(fields, values, "train", name))
        if experiment == "toy":
            model = ToyConfig(kind=name, **model_overrides)
            noise = values.get("noise")
            run = {"noise": RunSpec.noise if noise is None else float(noise)}
        elif experiment == "table3":
            model = table3_model_config(name, dataset, **(recipe.model | model_overrides))
            run = {"dataset": str(dataset)}
        else:
            model = Vis3DConfig(head=name, **(recipe.model | model_overrides))
            run = {"data_dir": str(data_dir)}
        specs[name] = RunSpec(experiment, name, model, train, **run)
    return specs
