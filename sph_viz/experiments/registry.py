"""The one registry of experiments: name -> `Experiment`, and what follows from it.

Every experiment module declares one `EXPERIMENT`; this module lists them, builds a result's
model from its config (the cache and checkpoints need no other lookup) and derives the tables
the pages, the command line and the tests read: `PRESETS` and `FIELDS` by experiment.
"""

from __future__ import annotations

from torch import nn

from sph_viz.experiments import prototypes, retention, rotated_mnist, spherenet, table3, toy, vis3d
from sph_viz.experiments.base import Experiment
from sph_viz.experiments.layer_fields import LAYER_FIELDS
from sph_viz.experiments.page_fields import OVERLAP_FIELDS

EXPERIMENTS: dict[str, Experiment] = {
    m.EXPERIMENT.name: m.EXPERIMENT
    for m in (toy, vis3d, table3, retention, spherenet, prototypes, rotated_mnist)
}
PRESETS = {name: e.presets for name, e in EXPERIMENTS.items()}
# The field tables by page key: one per experiment, and the two pages that train nothing.
FIELDS = {name: e.fields for name, e in EXPERIMENTS.items()} | {
    "overlap": OVERLAP_FIELDS,
    "layer": LAYER_FIELDS,
}


def experiment(name: str) -> Experiment:
    """The experiment `name`; ValueError naming the choices otherwise."""
    if name not in EXPERIMENTS:
        raise ValueError(f"experiment must be one of {', '.join(EXPERIMENTS)}. Got {name!r} instead.")
    return EXPERIMENTS[name]


def preset(name: str, preset_name: str | None = None):
    """The preset `preset_name` of experiment `name` (None: its default)."""
    return experiment(name).preset(preset_name)


def build_model(config: dict) -> nn.Module:
    """An untrained model of the architecture a result's config describes (no "experiment": CNN-Vis3D)."""
    return experiment(config.get("experiment", "vis3d")).build_model(config["model"])
