"""The training aids `TrainConfig` can switch on, each for one `train_model` call: an auxiliary
read-out of the trunk (deep supervision), a logit margin in the loss, and FreezeOut."""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import replace

import torch
from torch import nn
from torch.nn import functional as F

from sph_viz.training.config import TrainConfig


class AuxReadout:
    """`TrainConfig.aux_weight`'s read-out: Linear(trunk width, n_classes) on `model.trunk`'s
    output, trained with the model and then dropped (it is not part of the model).

    Initialised as torch initialises a Linear, from its own generator (seed + 2), so the model's
    weights and the global random state are those of a run without it.
    """

    def __init__(self, model: nn.Module, config: TrainConfig, device: torch.device) -> None:
        trunk = getattr(model, "trunk", None)
        linears = [m for m in trunk.modules() if isinstance(m, nn.Linear)] if trunk is not None else []
        n_classes = getattr(getattr(model, "config", None), "n_classes", None)
        if not linears or not isinstance(n_classes, int):
            raise ValueError(
                f"aux_weight > 0 needs a model with a `trunk` that ends in a linear layer and a config "
                f"with n_classes; {type(model).__name__} has not. Set aux_weight to 0."
            )
        width = linears[-1].out_features
        gen = torch.Generator().manual_seed(config.seed + 2)
        bound = 1.0 / math.sqrt(width)
        # fork_rng: the Linear's own init draws leave the global state as it was. (skip_init did
        # the same by way of the meta device, whose first use costs 0.3 s of imports.)
        with torch.random.fork_rng(devices=[]):
            self.layer = nn.Linear(width, n_classes)
        with torch.no_grad():
            for p in self.layer.parameters():
                p.uniform_(-bound, bound, generator=gen)
        self.layer.to(device)
        self.trunk, self.weight = trunk, config.aux_weight
        self._features: torch.Tensor | None = None

    @contextmanager
    def capturing(self):
        """Keep the trunk's output of the forward pass inside, for `loss`."""
        handle = self.trunk.register_forward_hook(lambda _m, _i, out: setattr(self, "_features", out))
        try:
            yield
        finally:
            handle.remove()

    def loss(self, labels: torch.Tensor) -> torch.Tensor:
        """aux_weight x the read-out's cross-entropy on the captured trunk features (float32)."""
        features, self._features = self._features, None
        return self.weight * F.cross_entropy(self.layer(features.float()), labels)


class FreezeOut:
    """`TrainConfig.freeze_out` over one `train_model` call (FreezeOut, Brock et al. 2017): stage j
    of `model.early_stages()` stops training once round(freeze_out[j] x total) steps are done; its
    parameters lose their gradient and `requires_grad`, so the next backward pass stops above it
    and the optimizer leaves it be. `release` makes them trainable again.
    """

    def __init__(self, model: nn.Module, config: TrainConfig, total_steps: int) -> None:
        fractions, name = config.freeze_out, type(model).__name__
        if fractions and not callable(getattr(model, "early_stages", None)):
            raise ValueError(
                f"freeze_out needs a model with early stages; {name} has none. Leave freeze_out empty."
            )
        stages = model.early_stages() if fractions else []
        if len(fractions) > len(stages):
            raise ValueError(
                f"freeze_out has {len(fractions)} fractions; {name} has {len(stages)} early stages to stop."
            )
        self._pending = [
            (max(1, round(t * total_steps)), stage) for t, stage in zip(fractions, stages, strict=False)
        ]
        self._frozen: list[nn.Parameter] = []

    def after_step(self, steps_done: int) -> None:
        while self._pending and steps_done >= self._pending[0][0]:
            _, stage = self._pending.pop(0)
            for p in stage.parameters():
                if p.requires_grad:
                    p.requires_grad_(False)
                    p.grad = None
                    self._frozen.append(p)

    def release(self) -> None:
        for p in self._frozen:
            p.requires_grad_(True)
        self._frozen = []


def margin_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, margin: float) -> torch.Tensor:
    """`TrainConfig.margin`'s loss: the mean cross-entropy of the logits with `margin` taken off
    each row's target logit, -log(e^(l_y - m) / (e^(l_y - m) + sum_(j != y) e^(l_j)))."""
    return F.cross_entropy(logits - margin * F.one_hot(labels, logits.shape[1]).to(logits.dtype), labels)


def without_training_aids(config: TrainConfig) -> TrainConfig:
    """The recipe without its training aids (the auxiliary read-out, the logit margin, the
    freeze-out), for runs about the head's own loss: Fig. 4's gradients (a read-out would add its
    own to every trunk layer, a margin would change the head's, a frozen stage has none) and HPN
    beside the spherized head (each trained by its own loss alone, every layer to the end)."""
    return replace(config, aux_weight=0.0, margin=0.0, freeze_out=())
