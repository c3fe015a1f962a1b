"""The training config: every hyperparameter of a run, checked on construction.

A new hyperparameter is one field here (with `metadata={"optimizer": True}` when the optimizer
takes it by that name) and, if pages and the command line offer it, one `Field` in its
experiment's table (`sph_viz/experiments/`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from sph_viz.nn.checks import check_float, check_int, finite_number

OPTIMIZERS = ("sgd", "adam")
PRECISIONS = ("float32", "bfloat16")
SCHEDULES = ("constant", "onecycle", "step")
MAX_EPOCHS, MAX_BATCH = 1000, 65536


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 100
    batch_size: int = 16
    lr: float = 0.01
    optimizer: str = "sgd"  # "sgd" or "adam"
    schedule: str = "constant"  # "constant", "onecycle" (peak lr at 30 %, then anneal) or "step"
    milestones: tuple[int, ...] = ()  # "step": epochs after which the lr is multiplied by gamma
    gamma: float = 0.1  # "step": the factor at each milestone
    weight_decay: float = field(default=0.0, metadata={"optimizer": True})  # L2 penalty, as torch applies it
    momentum: float = 0.0  # SGD only
    augment: bool = False  # random crop (pad 4) and horizontal flip of image batches (the CIFAR recipe)
    seed: int = 0
    snapshots_per_epoch: int = 1  # representation snapshots of the probe set per epoch
    max_samples: int | None = None  # train on the first N samples (a quick preset); None: all
    # "bfloat16": training steps autocast to bfloat16 where the model allows (CNN-Vis3D: the conv
    # trunk; its head and the spherization stay float32). Evaluation and snapshots are float32.
    precision: str = "float32"
    # > 0: an auxiliary read-out during training (deep supervision, Lee et al. 2015): a linear
    # layer from the model's trunk features to the classes, its cross-entropy added to the loss
    # with this weight, discarded after training. The model, its predictions and its state_dict
    # are untouched; the loss training reports is the sum. 0: the model's own loss alone.
    aux_weight: float = 0.0
    # > 0: an additive margin on the target logit in the training loss (the additive form of the
    # large-margin softmax, as in AM-Softmax and CosFace): the cross-entropy of logits - margin *
    # onehot(label), so a sample's loss keeps falling until its own logit leads every other by
    # more than the margin. Models with their own loss refuse it. The model, its logits and its
    # predictions are untouched; the loss training reports is the margined one. 0: plain
    # cross-entropy.
    margin: float = 0.0
    # FreezeOut (Brock et al. 2017): one fraction of the run per early stage of the model
    # (`model.early_stages()`, the stage nearest the input first), after which that stage stops
    # training: its parameters get no more gradient or update, so backward stops above it and a
    # step costs less. Its batch norms go on normalising by batch statistics and updating their
    # running ones. Non-decreasing, in (0, 1]; (): every layer trains to the end.
    freeze_out: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        check_int("epochs", self.epochs, 1, MAX_EPOCHS)
        check_int("batch_size", self.batch_size, 1, MAX_BATCH)
        check_int("snapshots_per_epoch", self.snapshots_per_epoch, 1, 1000)
        check_int("seed", self.seed, 0, 2**63 - 1)
        if self.max_samples is not None:
            check_int("max_samples", self.max_samples, 1, 2**31)
        if not (finite_number(self.lr) and 0 < self.lr <= 10):
            raise ValueError(f"lr must be in (0, 10]. Got {self.lr!r} instead.")
        check_float("weight_decay", self.weight_decay, 0, 1)
        check_float("aux_weight", self.aux_weight, 0, 10)
        check_float("margin", self.margin, 0, 100)
        _check_freeze_out(self.freeze_out)
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {', '.join(OPTIMIZERS)}. Got {self.optimizer!r} instead."
            )
        if not 0 <= self.momentum < 1:
            raise ValueError(f"momentum must be in [0, 1). Got {self.momentum!r} instead.")
        if self.precision not in PRECISIONS:
            raise ValueError(
                f"precision must be one of {', '.join(PRECISIONS)}. Got {self.precision!r} instead."
            )
        if self.schedule not in SCHEDULES:
            raise ValueError(
                f"schedule must be one of {', '.join(SCHEDULES)}. Got {self.schedule!r} instead."
            )

    def optimizer_kwargs(self) -> dict:
        """The fields the optimizer takes by name (lr, and those marked `optimizer`)."""
        named = {f.name: getattr(self, f.name) for f in fields(self) if f.metadata.get("optimizer")}
        return {"lr": self.lr, **named} | ({"momentum": self.momentum} if self.optimizer == "sgd" else {})


def _check_freeze_out(value: object) -> None:
    fractions = isinstance(value, tuple) and all(finite_number(t) and 0 < t <= 1 for t in value)
    if not (fractions and list(value) == sorted(value)):
        raise ValueError(
            "freeze_out must be a tuple of non-decreasing fractions of the run in (0, 1]. "
            f"Got {value!r} instead."
        )
