"""Gradient flow (the paper's Fig. 4): the mean absolute gradient of each layer's weight.

Use: `recorder = GradientRecorder(model, every=10)`, then in the training loop
`loss.backward(); recorder.record(step); optimizer.step()`. Every `every` steps it reads (never
writes) the `.grad` of each weighted layer, so training is unchanged; for each `Spherization` it
also stores alpha and alpha's gradient. The official code has no gradient-flow script; Fig. 4
plots the per-layer mean |grad| of VGG-11 and spherized VGG-11 on CIFAR-100.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from sph_viz.nn.layers import Spherization


def _mean_abs(t: torch.Tensor | None) -> float:
    return math.nan if t is None else t.detach().abs().mean().item()


class GradientRecorder:
    """Per-layer mean |grad W| every `every` steps, plus each spherization layer's alpha.

    Layers are the named modules owning a `weight` parameter (BatchNorm included), in
    `named_modules()` order, i.e. definition order, the forward order for sequential nets;
    `layers` keeps only the named ones. A missing gradient is recorded as NaN.
    """

    def __init__(self, model: nn.Module, every: int = 1, layers: Sequence[str] | None = None) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be an integer >= 1. Got {every!r} instead.")
        weighted = [
            (name or type(model).__name__, module.weight)
            for name, module in model.named_modules()
            if isinstance(getattr(module, "weight", None), nn.Parameter)
        ]
        if layers is not None:
            known = {name for name, _ in weighted}
            unknown = [name for name in layers if name not in known]
            if unknown:
                raise ValueError(
                    f"layers must name modules with a weight ({', '.join(sorted(known))}). "
                    f"Got {', '.join(map(repr, unknown))} instead."
                )
            weighted = [(name, w) for name, w in weighted if name in set(layers)]
        self.every = every
        self._weights = weighted
        self._spheres = [
            (name or type(model).__name__, module)
            for name, module in model.named_modules()
            if isinstance(module, Spherization)
        ]
        self.steps: list[int] = []
        self.values: dict[str, list[float]] = {name: [] for name, _ in weighted}
        self.alpha: dict[str, list[float]] = {name: [] for name, _ in self._spheres}
        self.alpha_grad: dict[str, list[float]] = {name: [] for name, _ in self._spheres}

    @property
    def layer_names(self) -> list[str]:
        """The recorded layers, in model order: the columns of `as_arrays()['values']`."""
        return list(self.values)

    @property
    def sphere_names(self) -> list[str]:
        """The spherization layers: the columns of `as_arrays()['alpha']` and `['alpha_grad']`."""
        return list(self.alpha)

    @torch.no_grad()
    def record(self, step: int) -> bool:
        """Store the gradients now if `step % every == 0`; call after backward, before the step."""
        if step % self.every:
            return False
        self.steps.append(int(step))
        for name, weight in self._weights:
            self.values[name].append(_mean_abs(weight.grad))
        for name, sphere in self._spheres:
            self.alpha[name].append(sphere.alpha.detach().item())
            grad = sphere.alpha.grad  # a scalar; None while alpha is frozen or before any backward
            self.alpha_grad[name].append(math.nan if grad is None else grad.item())
        return True

    def as_arrays(self) -> dict[str, np.ndarray]:
        """steps (T,), values (T, L), alpha (T, S), alpha_grad (T, S); columns as the *_names."""
        t = len(self.steps)

        def table(d: dict[str, list[float]]) -> np.ndarray:
            return np.array(list(d.values()), dtype=np.float64).T.reshape(t, len(d))

        return {
            "steps": np.array(self.steps, dtype=np.int64),
            "values": table(self.values),
            "alpha": table(self.alpha),
            "alpha_grad": table(self.alpha_grad),
        }


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
