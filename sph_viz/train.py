"""One training loop for every model: tensors on the device, batches by indexing.

`train_model` reports progress through callbacks (it never prints), stores snapshots of
the representation of a fixed probe set for replay, stops cleanly on request, and raises
`TrainingDiverged` (carrying what was learnt so far) on a NaN or Inf loss.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field, replace
from functools import partial

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from sph_viz.allocator import keep_freed_buffers
from sph_viz.cancel import cancellation_point
from sph_viz.datasets import augment_crop_flip
from sph_viz.settings import TrainConfig


@dataclass(frozen=True)
class Progress:
    epoch: int  # 1-based epoch in progress
    step: int  # steps done so far
    total_steps: int
    loss: float  # mean training loss over this epoch so far
    accuracy: float  # training accuracy over this epoch so far

    @property
    def fraction(self) -> float:
        return self.step / self.total_steps


@dataclass
class Snapshot:
    """The probe set's representation and the classifier at one moment."""

    epoch: float  # fractional epoch: 0 = before training
    step: int
    features: np.ndarray  # (P, k)
    predictions: np.ndarray  # (P,)
    params: dict[str, np.ndarray]  # the classifier's weight (and bias)
    state: dict[str, torch.Tensor] | None = None  # the whole model, when asked for (small nets)

    def to_payload(self) -> dict:
        return {
            "epoch": self.epoch,
            "step": self.step,
            "features": torch.as_tensor(self.features),
            "predictions": torch.as_tensor(self.predictions),
            "params": {k: torch.as_tensor(v) for k, v in self.params.items()},
            "state": self.state,
        }

    @classmethod
    def from_payload(cls, p: dict) -> Snapshot:
        params = {k: v.numpy() for k, v in p["params"].items()}
        return cls(p["epoch"], p["step"], p["features"].numpy(), p["predictions"].numpy(), params, p["state"])


@dataclass
class EpochRecord:
    epoch: int
    loss: float
    accuracy: float
    test_accuracy: float | None = None


@dataclass
class TrainResult:
    history: list[EpochRecord] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)
    stopped: bool = False  # a stop request ended training early
    steps: int = 0
    seconds: float = 0.0
    device: str = "cpu"

    def history_dicts(self) -> list[dict]:
        return [asdict(h) for h in self.history]

    def to_payload(self) -> dict:
        """Plain values and tensors (for the result cache); the inverse is `from_payload`."""
        return {
            "history": json.dumps(self.history_dicts()),
            "snapshots": [s.to_payload() for s in self.snapshots],
            "stopped": self.stopped,
            "steps": self.steps,
            "seconds": self.seconds,
            "device": self.device,
        }

    @classmethod
    def from_payload(cls, p: dict) -> TrainResult:
        return cls(
            history=[EpochRecord(**h) for h in json.loads(p["history"])],
            snapshots=[Snapshot.from_payload(s) for s in p["snapshots"]],
            stopped=p["stopped"],
            steps=p["steps"],
            seconds=p["seconds"],
            device=p["device"],
        )


class TrainingDiverged(RuntimeError):
    """The loss became NaN or Inf; `result` holds everything up to the last good step."""

    def __init__(self, message: str, result: TrainResult) -> None:
        super().__init__(message)
        self.result = result


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 256) -> tuple[torch.Tensor, torch.Tensor]:
    """Features (N, k) and logits (N, C) in eval mode, on the model's device, batched.

    Always float32 (no autocast). Batches of 256 evaluate CNN-Vis3D faster on a CPU than batches
    of 1000, whose activations outgrow the caches (bench/bench_train.py).
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    feats, logits = [], []
    for start in range(0, len(x), batch_size):
        cancellation_point()
        xb = _to_model(x[start : start + batch_size], device)
        f = model.features(xb)
        feats.append(f)
        logits.append(model.classifier(f))
    model.train(was_training)
    return torch.cat(feats), torch.cat(logits)


@dataclass
class Evaluation:
    """A model on one data set: features (N, k), predictions (N,) and the accuracy against y."""

    features: np.ndarray
    predictions: np.ndarray
    accuracy: float


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Evaluation:
    """The one evaluation: eval mode, batched, on the model's device."""
    feats, logits = predict(model, x)
    preds = logits.argmax(1).cpu()
    return Evaluation(feats.cpu().numpy(), preds.numpy(), (preds == y.cpu()).double().mean().item())


def _to_model(x: torch.Tensor, device: torch.device) -> torch.Tensor:
    x = x.to(device, non_blocking=True)
    # channels_last convolutions: 1.24x the throughput on a 2-core CPU (bench/bench_train.py)
    return x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x


def _snapshot(model: nn.Module, probe: torch.Tensor, epoch: float, step: int, keep_state: bool) -> Snapshot:
    feats, logits = predict(model, probe)
    params = {k: v.detach().cpu().numpy().copy() for k, v in model.classifier.named_parameters()}
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()} if keep_state else None
    return Snapshot(epoch, step, feats.cpu().numpy(), logits.argmax(1).cpu().numpy(), params, state)


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


def _criterion(model: nn.Module, config: TrainConfig) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """The training loss: the model's own (prototype nets) or the cross-entropy, margined if asked."""
    own = getattr(model, "loss", None)
    if own is not None:
        if config.margin > 0:
            raise ValueError(
                f"margin > 0 needs the plain cross-entropy; {type(model).__name__} brings its own "
                f"loss. Set margin to 0."
            )
        return own
    if config.margin > 0:
        return partial(margin_cross_entropy, margin=config.margin)
    return F.cross_entropy


def without_training_aids(config: TrainConfig) -> TrainConfig:
    """The recipe without its training aids (the auxiliary read-out, the logit margin, the
    freeze-out), for runs about the head's own loss: Fig. 4's gradients (a read-out would add its
    own to every trunk layer, a margin would change the head's, a frozen stage has none) and HPN
    beside the spherized head (each trained by its own loss alone, every layer to the end)."""
    return replace(config, aux_weight=0.0, margin=0.0, freeze_out=())


def train_model(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    config: TrainConfig,
    *,
    device: torch.device | str = "cpu",
    probe: torch.Tensor | None = None,
    test: tuple[torch.Tensor, torch.Tensor] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_snapshot: Callable[[Snapshot], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    on_step: Callable[[int], None] | None = None,
    progress_every: int = 10,
    keep_states: bool = False,
    test_last_epoch: bool = True,
) -> TrainResult:
    """Train `model` (with `.features` and `.classifier`) on x (N, ...) / y (N,) in place.

    `probe` (P, ...) is the fixed subset whose representation is snapshotted
    `config.snapshots_per_epoch` times per epoch (and once before training); with
    `keep_states` each snapshot also holds the whole state_dict (for tiny nets). `test` is
    evaluated after every epoch; with `test_last_epoch=False` not after the last one, for a
    caller that evaluates the final model itself. `config.aux_weight` > 0 trains an
    `AuxReadout` of `model.trunk` alongside, for this call only; `config.margin` > 0 margins the
    cross-entropy (`margin_cross_entropy`); `config.freeze_out` stops the model's early stages
    part-way (`FreezeOut`), and they are trainable again when this returns.
    """
    device = torch.device(device)
    keep_freed_buffers()  # each step's activations reused from the heap, not mapped afresh
    if config.max_samples is not None:
        x, y = x[: config.max_samples], y[: config.max_samples]
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x and y must be non-empty and equally long. Got {len(x)} and {len(y)}.")
    model.to(device)
    if x.dim() == 4:
        model.to(memory_format=torch.channels_last)
    x, y = x.to(device), y.to(device)
    probe = x[:256] if probe is None else probe
    n = len(x)
    steps_per_epoch = -(-n // config.batch_size)
    total = steps_per_epoch * config.epochs
    spe = config.snapshots_per_epoch
    snap_at = {round(k * steps_per_epoch / spe) for k in range(1, spe)} - {0, steps_per_epoch}
    readout = AuxReadout(model, config, device) if config.aux_weight > 0 else None
    freeze = FreezeOut(model, config, total)  # refuses a model without early stages, before any work
    optimizer = _make_optimizer(model, config, readout)
    scheduler = _make_scheduler(optimizer, config, total, steps_per_epoch)
    gen = torch.Generator().manual_seed(config.seed)
    gen_aug = torch.Generator().manual_seed(config.seed + 1)  # CPU: the same draws on every device
    criterion = _criterion(model, config)
    autocast = training_autocast(config.precision, device)
    result = TrainResult(device=str(device))
    t0 = time.perf_counter()

    def snap(epoch: float) -> None:
        result.snapshots.append(_snapshot(model, probe, epoch, result.steps, keep_states))
        if on_snapshot:
            on_snapshot(result.snapshots[-1])

    snap(0.0)
    model.train()
    try:
        for epoch in range(1, config.epochs + 1):
            loss_sum, correct, seen = 0.0, 0, 0
            order = torch.randperm(n, generator=gen).to(device)
            for i in range(steps_per_epoch):
                cancellation_point()
                if should_stop and should_stop():
                    result.stopped = True
                    break
                idx = order[i * config.batch_size : (i + 1) * config.batch_size]
                xb = x[idx]
                if config.augment:
                    xb = augment_crop_flip(xb, gen_aug)
                with autocast, readout.capturing() if readout else nullcontext():
                    logits = model(_to_model(xb, device))
                loss = criterion(logits.float(), y[idx])
                if readout:
                    loss = loss + readout.loss(y[idx])
                loss_value = loss.item()
                if not np.isfinite(loss_value):
                    result.seconds = time.perf_counter() - t0
                    raise TrainingDiverged(
                        f"training diverged: the loss became {loss_value} at epoch {epoch}, "
                        f"step {result.steps + 1}. Try a smaller learning rate (now {config.lr}).",
                        result,
                    )
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if on_step:
                    on_step(result.steps)  # gradients are there to read, before the step
                optimizer.step()
                if scheduler:
                    scheduler.step()
                result.steps += 1
                freeze.after_step(result.steps)
                loss_sum += loss_value * len(idx)
                correct += (logits.argmax(1) == y[idx]).sum().item()
                seen += len(idx)
                if on_progress and (result.steps % progress_every == 0 or i == steps_per_epoch - 1):
                    on_progress(Progress(epoch, result.steps, total, loss_sum / seen, correct / seen))
                if i + 1 in snap_at:
                    snap(epoch - 1 + (i + 1) / steps_per_epoch)
            if seen:
                last = epoch == config.epochs or result.stopped
                want_test = test is not None and (test_last_epoch or not last)
                test_acc = evaluate(model, *test).accuracy if want_test else None
                result.history.append(EpochRecord(epoch, loss_sum / seen, correct / seen, test_acc))
                snap(epoch - 1 + seen / n)
            if result.stopped:
                break
    finally:
        freeze.release()
    result.seconds = time.perf_counter() - t0
    return result


def bfloat16_native(device: torch.device) -> bool:
    """Whether the device computes bfloat16 convolutions and matmuls itself: a CPU with AVX-512
    (oneDNN's bf16 kernels), a CUDA GPU with bf16, or another device with bf16 autocast.

    Elsewhere (an AVX2-only laptop, say) bf16 would be emulated, slower than float32.
    """
    if device.type == "cpu":
        try:
            return torch.backends.mkldnn.is_available() and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            return False
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return torch.amp.is_autocast_available(device.type)


def training_autocast(precision: str, device: torch.device):
    """The context a training step's forward runs in: bfloat16 autocast, or nothing (float32).

    bfloat16 about halves the conv trunk's time on a CPU with AVX-512 BF16 (2.1-2.6x the
    samples/s of CNN-Vis3D's float32 default layout on the 2-core CPU, bench/bench_train.py); a
    device that does not compute bfloat16 natively (`bfloat16_native`) trains in float32.
    """
    if precision == "bfloat16" and bfloat16_native(device):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()


def _make_scheduler(optimizer, config: TrainConfig, total: int, steps_per_epoch: int):
    """A per-step schedule: one-cycle, or the lr times gamma after each milestone epoch."""
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total)
    if config.schedule == "step":
        steps = [m * steps_per_epoch for m in config.milestones]
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=steps, gamma=config.gamma)
    return None


def _make_optimizer(
    model: nn.Module, config: TrainConfig, readout: AuxReadout | None = None
) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    params += list(readout.layer.parameters()) if readout else []
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, **config.optimizer_kwargs())
    # Fused Adam (one kernel for all parameters): 1.03x the samples/s of a bf16 CNN-Vis3D step on
    # the 2-core CPU (bench/bench_train.py); it needs floating parameters on a CPU or CUDA device.
    fused = all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
    return torch.optim.Adam(params, fused=fused or None, **config.optimizer_kwargs())
