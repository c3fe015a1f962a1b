"""Fig. 5, CNN-Vis3D: a conv trunk, a 2- or 3-D feature layer and one of the heads (original,
projected, SphereNet, W-Softmax, spherized), trained on an IDX folder (MNIST by default) and
evaluated on its test split.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from models.names import HEADS
from models.vis3d import CNNVis3D, Vis3DConfig
from sph_viz.data.idx import BUNDLED_MNIST, DataError, data_folder, load_image_folder, normalize_images
from sph_viz.experiments.base import MAX_SAMPLES, SEED, Experiment, Preset
from sph_viz.experiments.result import PROBE_SIZE, ExperimentResult, plain_config, probe_indices
from sph_viz.experiments.skeleton import Data, fit
from sph_viz.fields import KEEP, Field
from sph_viz.training.config import OPTIMIZERS, PRECISIONS, TrainConfig
from sph_viz.training.loop import Progress, TrainResult, evaluate

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
PRESETS = {
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
}

# 0 (or "preset") keeps the preset's own value. The page draws the groups run, OVERRIDE (an expander), model.
OVERRIDE = "Override the preset (0 = keep)"
VIS3D_FIELDS = (
    Field("preset", str, "quick", choices=tuple(PRESETS), group="run"),
    Field("heads", str, ("spherized",), choices=HEADS, many=True, group="run"),
    Field("epochs", int, 0, 1, 200, target="train", keep_zero=True, group=OVERRIDE),
    Field(
        "lr",
        float,
        0.0,
        1e-5,
        10.0,
        label="learning rate",
        target="train",
        keep_zero=True,
        step=1e-3,
        group=OVERRIDE,
    ),
    Field("optimizer", str, KEEP, choices=(KEEP, *OPTIMIZERS), target="train", group=OVERRIDE),
    Field("batch_size", int, 0, 1, 2048, label="batch size", target="train", keep_zero=True, group=OVERRIDE),
    Field(
        "weight_decay", float, 0.0, 0.0, 0.1, label="weight decay", target="train", step=1e-4, group=OVERRIDE
    ),
    replace(MAX_SAMPLES, group=OVERRIDE),
    Field(
        "precision",
        str,
        KEEP,
        choices=(KEEP, *PRECISIONS),
        target="train",
        help="bfloat16: the conv trunk trains in bfloat16 (about 2x faster on a CPU with AVX-512 BF16); "
        "the sphere, the head and every evaluation stay float32",
        group=OVERRIDE,
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
        group="model",
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
        group=OVERRIDE,
    ),
    replace(SEED, group="model"),
)


def vis3d_config_dict(
    model_config: Vis3DConfig, train_config: TrainConfig, data_dir: str | Path = BUNDLED_MNIST
) -> dict:
    """Everything that determines a CNN-Vis3D run (the result-cache key)."""
    return plain_config(
        {
            "experiment": "vis3d",
            "model": asdict(model_config),
            "train": asdict(train_config),
            "data_dir": str(Path(data_dir).expanduser().resolve()),
        }
    )


def load_vis3d_data(data_dir: str | Path = BUNDLED_MNIST, n_classes: int = 10):
    """The (train, test) splits of an IDX folder, checked for what CNN-Vis3D needs."""
    # data_folder first: it names a missing folder, a symlink loop or an over-long path as a
    # DataError, where resolve() raises RuntimeError (Python 3.11) or OSError
    splits = load_image_folder(str(data_folder(data_dir).resolve()))
    train, test = splits["train"], splits["test"]
    for name, split in splits.items():
        if tuple(split.images.shape[1:]) != (28, 28):
            raise DataError(
                f"{data_dir}: CNN-Vis3D needs 28x28 images; the {name} images are "
                f"{split.images.shape[1]}x{split.images.shape[2]}."
            )
        if len(split.labels) and int(split.labels.max()) >= n_classes:
            raise DataError(
                f"{data_dir}: {name} labels go up to {int(split.labels.max())}; "
                f"the model has {n_classes} classes."
            )
    return train, test


def evaluate_vis3d(
    model: CNNVis3D, data_dir: str | Path = BUNDLED_MNIST, *, source: str = "checkpoint"
) -> ExperimentResult:
    """A trained CNN-Vis3D (e.g. a loaded checkpoint) evaluated on the test split.

    There is no training history; the train accuracy is measured on the training split.
    """
    train, test = load_vis3d_data(data_dir, model.config.n_classes)
    ev = evaluate(model, normalize_images(test.images), test.labels)
    config = {
        "experiment": "vis3d",
        "model": asdict(model.config),
        "source": source,
        "data_dir": str(Path(data_dir).expanduser().resolve()),
    }
    return ExperimentResult(
        model=model,
        train=TrainResult(device=str(next(model.parameters()).device)),
        features=ev.features,
        labels=test.labels.numpy(),
        predictions=ev.predictions,
        train_accuracy=evaluate(model, normalize_images(train.images), train.labels).accuracy,
        test_accuracy=ev.accuracy,
        config=config,
        probe_indices=np.arange(0),
    )


def run_vis3d(
    model_config: Vis3DConfig,
    train_config: TrainConfig,
    *,
    data_dir: str | Path = BUNDLED_MNIST,
    device: torch.device | str = "cpu",
    probe_size: int = PROBE_SIZE,
    on_progress: Callable[[Progress], None] | None = None,
    test_each_epoch: bool = False,
    overlaps_by_epoch: bool = True,
    **callbacks,
) -> ExperimentResult:
    """Train CNN-Vis3D on an IDX folder; evaluate on its test split (the eval set).

    `overlaps_by_epoch` (the default) evaluates the test set after every epoch and counts its
    overlaps on the τ ladder and NC1 (`EpochOverlaps`); without it the test set is evaluated once,
    after training, and `test_each_epoch` adds a pass after every epoch before the last (the code
    path before issue 14, kept for bench/bench_speed.py). Training is the same either way.
    """
    train, test = load_vis3d_data(data_dir, model_config.n_classes)
    data = Data(normalize_images(train.images), train.labels, normalize_images(test.images), test.labels)
    # The test set is evaluated after every epoch for the overlap bookkeeping (issue 27: the test
    # features' overlaps on the τ ladder and NC1 per epoch): 10,000 float32 images cost ~4 s each
    # time on a 2-core CPU, for each epoch but the last (the final evaluation gives the last), and
    # the counts ~1.5 s per epoch on 3-D features. The quick preset's one epoch adds the counts only.
    # The train accuracy is the running one: a second pass over up to 60,000 images to re-measure
    # it cost about 38 s of a 245 s `vis3d` run (issue 14).
    return fit(
        lambda: CNNVis3D(model_config),
        data,
        train_config,
        vis3d_config_dict(model_config, train_config, data_dir),
        probe_idx=probe_indices(test.labels.numpy(), train_config.seed, probe_size),
        device=device,
        test_each_epoch=test_each_epoch,
        overlaps_by_epoch=overlaps_by_epoch,
        on_progress=on_progress,
        **callbacks,
    )


def _model_config(name: str, model: dict, options: dict) -> Vis3DConfig:
    return Vis3DConfig(head=name, **model)


EXPERIMENT = Experiment(
    name="vis3d",
    presets=PRESETS,
    fields=VIS3D_FIELDS,
    build_model=lambda model: CNNVis3D(Vis3DConfig(**model)),
    default_preset="quick",
    model_config=_model_config,
    options=("data_dir",),
    cache_config=vis3d_config_dict,
    run=run_vis3d,
)
