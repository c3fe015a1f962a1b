"""One training loop for every model: tensors on the device, batches by indexing.

`train_model` reports progress through callbacks (it never prints), stores snapshots of
the representation of a fixed probe set for replay, stops cleanly on request, and raises
`TrainingDiverged` (carrying what was learnt so far) on a NaN or Inf loss.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from functools import partial

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from sph_viz.data.datasets import augment_crop_flip
from sph_viz.training.aids import AuxReadout, FreezeOut, margin_cross_entropy
from sph_viz.training.allocator import keep_freed_buffers
from sph_viz.training.cancel import cancellation_point
from sph_viz.training.config import TrainConfig
from sph_viz.training.precision import training_autocast


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
    targets: torch.Tensor | None = None,
    on_test: Callable[[int, Evaluation], None] | None = None,
) -> TrainResult:
    """Train `model` (with `.features` and `.classifier`) on x (N, ...) / y (N,) in place.

    `probe` (P, ...) is the fixed subset whose representation is snapshotted
    `config.snapshots_per_epoch` times per epoch (and once before training); with
    `keep_states` each snapshot also holds the whole state_dict (for tiny nets). `test` is
    evaluated after every epoch; with `test_last_epoch=False` not after the last one, for a
    caller that evaluates the final model itself; `on_test(epoch, evaluation)` sees each of those
    evaluations (features and predictions too). `config.aux_weight` > 0 trains an
    `AuxReadout` of `model.trunk` alongside, for this call only; `config.margin` > 0 margins the
    cross-entropy (`margin_cross_entropy`); `config.freeze_out` stops the model's early stages
    part-way (`FreezeOut`), and they are trainable again when this returns.

    A model may bring its own loss, `model.loss(output, y_batch)`, or with `targets` (N, ...) a
    second per-sample target, `model.loss(output, y_batch, targets_batch)` (HPN's joint task);
    and `model.predict_labels(output)` when its output is not logits to take the argmax of.
    """
    device = torch.device(device)
    keep_freed_buffers()  # each step's activations reused from the heap, not mapped afresh
    if config.max_samples is not None:
        x, y = x[: config.max_samples], y[: config.max_samples]
        targets = None if targets is None else targets[: config.max_samples]
    if targets is not None and (getattr(model, "loss", None) is None or len(targets) != len(x)):
        raise ValueError(
            f"targets need a model with its own loss and one target per sample. Got "
            f"{type(model).__name__} and {len(targets)} targets for {len(x)} samples instead."
        )
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x and y must be non-empty and equally long. Got {len(x)} and {len(y)}.")
    model.to(device)
    if x.dim() == 4:
        model.to(memory_format=torch.channels_last)
    x, y = x.to(device), y.to(device)
    targets = None if targets is None else targets.to(device)
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
    predict_labels = getattr(model, "predict_labels", None)
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
                extra = () if targets is None else (targets[idx],)
                loss = criterion(logits.float(), y[idx], *extra)
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
                predicted = predict_labels(logits.detach()) if predict_labels else logits.argmax(1)
                correct += (predicted == y[idx]).sum().item()
                seen += len(idx)
                if on_progress and (result.steps % progress_every == 0 or i == steps_per_epoch - 1):
                    on_progress(Progress(epoch, result.steps, total, loss_sum / seen, correct / seen))
                if i + 1 in snap_at:
                    snap(epoch - 1 + (i + 1) / steps_per_epoch)
            if seen:
                last = epoch == config.epochs or result.stopped
                want_test = test is not None and (test_last_epoch or not last)
                test_acc = None
                if want_test:
                    tested = evaluate(model, *test)
                    test_acc = tested.accuracy
                    if on_test:
                        on_test(epoch, tested)
                result.history.append(EpochRecord(epoch, loss_sum / seen, correct / seen, test_acc))
                snap(epoch - 1 + seen / n)
            if result.stopped:
                break
    finally:
        freeze.release()
    result.seconds = time.perf_counter() - t0
    return result


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
