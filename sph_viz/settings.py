"""The one home of every run's settings: the training config, the presets, the field tables.

A new hyperparameter is one `TrainConfig` field (with `metadata={"optimizer": True}` when the
optimizer takes it by that name), its value in the presets, and one `Field` in the tables
below; the widgets, the command-line flags, the URL and the JSON file follow from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

import numpy as np

from models.names import HEADS, OPERATORS_T3, TOY_KINDS
from sph_viz.fields import KEEP, Field

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
        _check_int("epochs", self.epochs, 1, MAX_EPOCHS)
        _check_int("batch_size", self.batch_size, 1, MAX_BATCH)
        _check_int("snapshots_per_epoch", self.snapshots_per_epoch, 1, 1000)
        _check_int("seed", self.seed, 0, 2**63 - 1)
        if self.max_samples is not None:
            _check_int("max_samples", self.max_samples, 1, 2**31)
        if not (isinstance(self.lr, (int, float)) and np.isfinite(self.lr) and 0 < self.lr <= 10):
            raise ValueError(f"lr must be in (0, 10]. Got {self.lr!r} instead.")
        _check_float("weight_decay", self.weight_decay, 0, 1)
        _check_float("aux_weight", self.aux_weight, 0, 10)
        _check_float("margin", self.margin, 0, 100)
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


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{name} must be an integer in [{low}, {high}]. Got {value!r} instead.")


def _finite_number(value: object) -> bool:
    """An int or float (not a bool), neither NaN nor infinite."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and bool(np.isfinite(value))


def _check_freeze_out(value: object) -> None:
    fractions = isinstance(value, tuple) and all(_finite_number(t) and 0 < t <= 1 for t in value)
    if not (fractions and list(value) == sorted(value)):
        raise ValueError(
            "freeze_out must be a tuple of non-decreasing fractions of the run in (0, 1]. "
            f"Got {value!r} instead."
        )


def _check_float(name: str, value: object, low: float, high: float) -> None:
    if not (_finite_number(value) and low <= value <= high):
        raise ValueError(f"{name} must be in [{low}, {high}]. Got {value!r} instead.")


@dataclass(frozen=True)
class Preset:
    """A named recipe: a one-line description, model settings and a training config."""

    description: str
    model: dict
    train: TrainConfig


# The CPU presets' CNN-Vis3D: r = 5, batch-normalised pre-activations, the spread classifier init
# (spherized head only).
VIS3D_FAST_MODEL = {"radius": 5.0, "scale": 1.0, "normalize_preact": True, "classifier_init": "spread"}
# The CPU presets' training: `fast`; `quick` is one epoch of it, its trunk frozen part-way.
VIS3D_CPU_TRAIN = TrainConfig(
    epochs=2,
    batch_size=128,
    lr=1.2e-2,
    optimizer="adam",
    schedule="onecycle",
    snapshots_per_epoch=4,
    precision="bfloat16",
    aux_weight=0.3,
    margin=2.0,
)
PRESETS: dict[str, dict[str, Preset]] = {
    "toy": {
        "paper": Preset(
            "the paper's toy recipe: SGD lr 0.01, batch 16, 100 epochs",
            {},
            TrainConfig(epochs=100, batch_size=16, lr=0.01, optimizer="sgd"),
        ),
    },
    "vis3d": {
        # Issue 14 (README, "Training speed"): the conv trunk in bfloat16 where the CPU has it,
        # the classifier's rows spread over the patch every s starts in, an auxiliary read-out of
        # the trunk during training (`TrainConfig.aux_weight`), a logit margin of 2 in the training
        # loss (`TrainConfig.margin`), one-cycle Adam peaking at 1.2e-2, no test pass between
        # epochs; `quick` also stops the trunk's first two stages part-way (`TrainConfig.freeze_out`).
        # Measured on the 2-core CPU, seeds 0-4.
        "quick": Preset(
            "all 60,000 training images, 1 epoch: ~35 s on a quiet 2-core CPU, ~98.5 % accurate "
            "(the first conv layers frozen for the last 40 %)",
            dict(VIS3D_FAST_MODEL),
            replace(VIS3D_CPU_TRAIN, epochs=1, freeze_out=(0.6, 0.85)),
        ),
        "fast": Preset(
            "all 60,000 images, 2 epochs: 80-90 s per head on 2 CPU cores, ~99.0 % accurate",
            dict(VIS3D_FAST_MODEL),
            VIS3D_CPU_TRAIN,
        ),
        # The paper's CNN-Vis3D recipe: Adam 1e-3, batch 64, r = 1, alpha = 1, 20 epochs.
        "paper": Preset(
            "the paper's recipe: Adam 1e-3, batch 64, r = 1, 20 epochs (slow on a CPU)",
            {"radius": 1.0, "scale": 1.0, "normalize_preact": False},
            TrainConfig(epochs=20, batch_size=64, lr=1e-3, optimizer="adam", snapshots_per_epoch=2),
        ),
    },
}


# Table 3 (Sec. 4.3): r = alpha = 5, d = 256 in every preset; only the training differs.
TABLE3_MODEL = {"radius": 5.0, "scale": 5.0, "dim": 256}
PRESETS["table3"] = {
    # Measured on the 2-core CPU (README, "Table 3"): under a minute per run on MNIST.
    "fast": Preset(
        "20,000 training images, 1 epoch of Adam, one-cycle peaking at 3e-3, batch 128: a CPU recipe",
        TABLE3_MODEL,
        TrainConfig(
            epochs=1, batch_size=128, lr=3e-3, optimizer="adam", schedule="onecycle", max_samples=20000
        ),
    ),
    # The official comparison script: a GPU recipe (160 epochs).
    "paper": Preset(
        "the official recipe: Adam 1e-3, weight decay 5e-4, batch 128, 160 epochs, lr x0.1 at "
        "epochs 80 and 130, crop (pad 4) and flip for CIFAR: a GPU recipe",
        TABLE3_MODEL,
        TrainConfig(
            epochs=160,
            batch_size=128,
            lr=1e-3,
            optimizer="adam",
            weight_decay=5e-4,
            schedule="step",
            milestones=(80, 130),
            gamma=0.1,
            augment=True,
        ),
    ),
}


def preset(experiment: str, name: str) -> Preset:
    """The preset `name` of an experiment; ValueError naming the choices otherwise."""
    table = PRESETS[experiment]
    if name not in table:
        raise ValueError(f"preset must be one of {', '.join(table)}. Got {name!r} instead.")
    return table[name]


SPHERIZED_SLIDER = {"target": "model", "only": ("spherized",), "widget": "slider", "step": 0.1}
SEED = Field("seed", int, 0, 0, 2**31 - 1, help="random seed of weights and batch order", target="train")

TOY_MAX_EPOCHS = 500
TOY_FIELDS = (
    Field("lr", float, 0.01, 1e-4, 1.0, label="learning rate", target="train", step=0.005),
    Field("epochs", int, 100, 1, TOY_MAX_EPOCHS, target="train"),
    Field("batch_size", int, 16, 1, 200, label="batch size", target="train"),
    SEED,
    Field("noise", float, 0.05, 0.0, 0.5, label="noise (± per axis)", widget="slider", step=0.01),
    Field("radius", float, 1.0, 0.1, 20.0, label="circle radius r (spherized)", **SPHERIZED_SLIDER),
    Field("scale", float, 1.0, 0.1, 20.0, label="initial α (spherized)", **SPHERIZED_SLIDER),
)
TOY_CHOICES = TOY_KINDS
# What the Toy page shows of its runs (not how they train): in its URL and config file, not the CLI.
# The URL leaves out the defaults: the last epoch (any epoch past the end means the last) and the first tab.
TOY_TABS = ("step", "replay", "curves", "export")
TOY_VIEW_FIELDS = (
    Field("epoch", int, TOY_MAX_EPOCHS, 0, TOY_MAX_EPOCHS, help="the epoch shown (past the last: the last)"),
    Field("tab", str, "step", choices=TOY_TABS, help="the tab shown"),
)

# 0 (or "preset") keeps the preset's own value.
VIS3D_FIELDS = (
    Field("preset", str, "quick", choices=tuple(PRESETS["vis3d"])),
    Field("heads", str, ("spherized",), choices=HEADS, many=True),
    Field("epochs", int, 0, 1, 200, target="train", keep_zero=True),
    Field("lr", float, 0.0, 1e-5, 10.0, label="learning rate", target="train", keep_zero=True, step=1e-3),
    Field("optimizer", str, KEEP, choices=(KEEP, *OPTIMIZERS), target="train"),
    Field("batch_size", int, 0, 1, 2048, label="batch size", target="train", keep_zero=True),
    Field("weight_decay", float, 0.0, 0.0, 0.1, label="weight decay", target="train", step=1e-4),
    Field("max_samples", int, 0, 1, 60000, label="training images", target="train", keep_zero=True),
    Field(
        "precision",
        str,
        KEEP,
        choices=(KEEP, *PRECISIONS),
        target="train",
        help="bfloat16: the conv trunk trains in bfloat16 (about 2x faster on a CPU with AVX-512 BF16); "
        "the sphere, the head and every evaluation stay float32",
    ),
    Field(
        "radius",
        float,
        0.0,
        0.1,
        50.0,
        label="sphere radius r (spherized)",
        target="model",
        keep_zero=True,
        only=("spherized",),
    ),
    Field(
        "scale",
        float,
        0.0,
        0.1,
        20.0,
        label="initial α (spherized)",
        target="model",
        keep_zero=True,
        only=("spherized",),
    ),
    SEED,
)
TAUS = tuple(float(f"{m}e{e}") for e in range(-12, -1) for m in (1, 3))
OVERLAP_LAYERS = ("table3", "vis3d", "upload")
OVERLAP_FIELDS = (
    Field("layer", str, "table3", choices=OVERLAP_LAYERS, label="feature layer"),
    Field("tau", float, 1e-6, 1e-12, 0.5, label="τ: overlap when cosine ≥ 1 − τ", choices=TAUS, log=True),
    Field("dataset", str, "mnist", choices=("mnist", "fashion-mnist"), help="Table-3 layer: the data set"),
    Field("recipe", str, "fast", choices=tuple(PRESETS["table3"]), help="Table-3 layer: the training preset"),
    Field("operators", str, OPERATORS_T3, choices=OPERATORS_T3, many=True, help="Table-3 layer: last layers"),
    Field("seeds", str, ("0", "1", "2"), choices=tuple("01234"), many=True, help="Table-3 layer: seeds"),
    Field("preset", str, "quick", choices=tuple(PRESETS["vis3d"]), label="trained with preset"),
    Field(
        "heads",
        str,
        ("original3d", "projected", "spherenet-cosine", "wsoftmax-cosine", "spherized"),
        choices=HEADS,
        many=True,
    ),
    Field("epochs", int, 0, 1, 200, target="train", keep_zero=True),
    Field("max_samples", int, 0, 1, 60000, label="training images", target="train", keep_zero=True),
    SEED,
)
DELTAS = tuple(10.0**-k for k in range(12, 0, -1))
SLIDER = {"widget": "slider", "step": 0.1}
LAYER_FIELDS = (
    Field("alpha", float, 1.0, 0.1, 10.0, label="α (sigmoid scale)", **SLIDER),
    Field("delta", float, 1e-6, 1e-12, 0.1, label="δ (lower bound of ∏ sin φ)", choices=DELTAS, log=True),
    Field("n", int, 2, 1, 64, label="n (pre-activations)", widget="slider"),
    Field("radius", float, 1.0, 0.1, 10.0, label="radius r", **SLIDER),
    Field("z1", float, 0.5, -10.0, 10.0, label="pre-activation z₁", **SLIDER),
    Field("z2", float, -0.5, -10.0, 10.0, label="pre-activation z₂", **SLIDER),
)
TABLE3_FIELDS = (
    Field("preset", str, "fast", choices=tuple(PRESETS["table3"])),
    Field("operators", str, OPERATORS_T3, choices=OPERATORS_T3, many=True, help="last layers to compare"),
    Field(
        "dim",
        int,
        256,
        2,
        4096,
        help="d: width of the layer whose output the overlaps are counted on",
        target="model",
    ),
    Field("epochs", int, 0, 1, 500, target="train", keep_zero=True),
    Field("lr", float, 0.0, 1e-5, 10.0, label="learning rate", target="train", keep_zero=True, step=1e-3),
    Field("max_samples", int, 0, 1, 60000, label="training images", target="train", keep_zero=True),
    Field("tau", float, 1e-6, 1e-12, 0.5, label="τ: overlap when cosine ≥ 1 − τ", choices=TAUS, log=True),
    SEED,
)
FIELDS = {
    "table3": TABLE3_FIELDS,
    "toy": TOY_FIELDS,
    "vis3d": VIS3D_FIELDS,
    "overlap": OVERLAP_FIELDS,
    "layer": LAYER_FIELDS,
}
