"""What every experiment declares, and the helpers they share.

An experiment is one module of this package with one `Experiment` record: its presets (each with
a one-line description), its field table (from which widgets, flags, URL and JSON keys follow),
how it builds a model from a result's config, and, for the experiments that run one model per
name (toy, vis3d, table3), how a `RunSpec` becomes a model config, a cache key and a run.
`registry.EXPERIMENTS` holds them all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from torch import nn

from sph_viz.fields import Field
from sph_viz.training.config import TrainConfig


@dataclass(frozen=True)
class Preset:
    """A named recipe: a one-line description, model settings and a training config."""

    description: str
    model: dict
    train: TrainConfig


SEED = Field("seed", int, 0, 0, 2**31 - 1, help="random seed of weights and batch order", target="train")
# Train on the first N images; 0 keeps the preset's. Tables add a group or help with `replace`.
MAX_SAMPLES = Field("max_samples", int, 0, 1, 60000, label="training images", target="train", keep_zero=True)


@dataclass(frozen=True)
class Experiment:
    """One experiment, declared once. The callables take plain values; none of them trains."""

    name: str  # the config's "experiment" and the registry's key
    presets: Mapping[str, Any]  # preset name -> Preset (retention: net -> preset name -> Preset)
    fields: tuple[Field, ...]  # the settings a page and the command line offer
    build_model: Callable[[dict], nn.Module]  # a result config's "model" -> the untrained net
    default_preset: str
    # The per-name experiments (`specs.make_run_specs`): model_config(name, preset model dict with
    # the overrides, the spec's options) -> the model config; cache_config(model, train, **options)
    # -> the cache key; run(model, train, device=..., **options, **callbacks) -> the result. The
    # options are the `RunSpec` fields the experiment reads (its data).
    model_config: Callable[..., Any] | None = None
    options: tuple[str, ...] = ()
    cache_config: Callable[..., dict] | None = None
    run: Callable[..., Any] | None = None

    def preset(self, name: str | None = None):
        """The preset `name` (None: the default); ValueError naming the choices otherwise."""
        name = name or self.default_preset
        if name not in self.presets:
            raise ValueError(f"preset must be one of {', '.join(self.presets)}. Got {name!r} instead.")
        return self.presets[name]


def overrides(
    fields: Sequence[Field], values: Mapping[str, Any], target: str, name: str | None = None
) -> dict:
    """{field name: value} of the `target` ("model" or "train") fields that do not keep the preset's
    value (and, with `name`, apply to that model)."""
    return {
        f.name: f.kind(values[f.name])
        for f in fields
        if f.target == target
        and f.name in values
        and not f.keeps(values[f.name])
        and (f.only is None or name is None or name in f.only)
    }


def train_config(
    preset: Preset, fields: Sequence[Field], values: Mapping[str, Any], **fixed: Any
) -> TrainConfig:
    """The preset's TrainConfig with the train-field values on top, then `fixed` (e.g. a seed)."""
    return replace(preset.train, **(overrides(fields, values, "train") | fixed))
