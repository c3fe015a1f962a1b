"""The standard figures of each experiment, assembled from a result (for the CLI and exports)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from sph_viz.analysis.geometry import compute_decision_grid
from sph_viz.data.toy import make_toy_data
from sph_viz.experiments.result import ExperimentResult
from sph_viz.figures.sphere import make_feature_figure
from sph_viz.figures.toy import (
    make_input_plane_figure,
    make_representation_figure,
    representation_box,
)
from sph_viz.nn.layers import Spherization
from sph_viz.training.loop import Snapshot

TOY_INPUT_BOX = (-0.4, 1.4, -0.4, 1.4)


def sphere_radius(model) -> float | None:
    """The radius the model's representation lives on: r for spherized, 1 for projections."""
    for module in model.modules():
        if isinstance(module, Spherization):
            return float(module.radius.detach())
    head = getattr(getattr(model, "config", None), "head", "")
    return 1.0 if head == "projected" or head.startswith("spherenet") else None


def toy_representation_figure(
    result: ExperimentResult, snapshot: Snapshot, *, title: str = "", box=None
) -> go.Figure:
    """The representation plane at one snapshot, with its hyperplanes."""
    params = snapshot.params
    return make_representation_figure(
        snapshot.features,
        result.labels,
        params["weight"],
        params.get("bias"),
        radius=sphere_radius(result.model),
        predictions=snapshot.predictions,
        title=title,
        box=box,
    )


def toy_panel_box(result: ExperimentResult):
    """One view box for every epoch of a toy run, so the axes do not jump during replay."""
    feats = np.concatenate([s.features for s in result.train.snapshots])
    return representation_box(feats, sphere_radius(result.model))


def toy_figures(result: ExperimentResult, name: str) -> dict[str, go.Figure]:
    first, last = result.train.snapshots[0], result.train.snapshots[-1]
    x = toy_inputs(result)
    return {
        "representation_first": toy_representation_figure(result, first, title=f"{name}: epoch 0"),
        "representation_last": toy_representation_figure(result, last, title=f"{name}: epoch {last.epoch:g}"),
        "input_plane": make_input_plane_figure(
            x, result.labels, compute_decision_grid(result.model, TOY_INPUT_BOX), title=name
        ),
    }


def toy_inputs(result: ExperimentResult) -> np.ndarray:
    """The toy run's input points (200, 2), regenerated from its seed."""
    x, _ = make_toy_data(100, noise=result.config["noise"], seed=result.config["data_seed"])
    return x.numpy()


def vis3d_figures(result: ExperimentResult, name: str) -> dict[str, go.Figure]:
    acc = f"test accuracy {result.test_accuracy:.2%}" if result.test_accuracy is not None else ""
    fig = make_feature_figure(
        result.features,
        result.labels,
        result.predictions,
        radius=sphere_radius(result.model),
        title=f"{name} — {acc}",
    )
    return {"features": fig}
