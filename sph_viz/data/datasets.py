"""One entry point for the dataset names users type: mnist, fashion-mnist, cifar10:DIR or an IDX folder.

Typical use:

spec = resolve_dataset("fashion-mnist")
train, test = load_dataset(spec)          # loaded once per process
x = normalize(spec, train.images)         # float32 (N, C, H, W)
x = augment_crop_flip(x[:128], generator) # for colour sets: random crop and horizontal flip
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F

from sph_viz.data.cifar import CIFAR10_CREDIT, find_cifar10_folder, load_cifar10
from sph_viz.data.idx import (
    BUNDLED_MNIST,
    MNIST_CREDIT,
    DataError,
    ImageSplit,
    data_folder,
    explain_os_error,
    load_image_folder,
    show_path,
)

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")  # Debian package dataset-fashion-mnist
FASHION_MNIST_ENV = "SPH_VIZ_FASHION_MNIST_DIR"
FASHION_MNIST_CREDIT = (
    "Fashion-MNIST by Han Xiao, Kashif Rasul and Roland Vollgraf (Zalando Research), MIT licence."
)
MNIST_STATS = ((0.1307,), (0.3081,))
FASHION_MNIST_STATS = ((0.2860,), (0.3530,))
CIFAR10_STATS = ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616))
_HELP = "Use mnist, fashion-mnist, cifar10:DIR or the path of an IDX image folder."


@dataclass(frozen=True)
class DatasetSpec:
    """What a model needs to know about a dataset before loading it.

    kind: 'idx' (images (N, H, W)) or 'cifar10' (images (N, 3, H, W)); folder: absolute path;
    channels C and size (H, W) of one image; mean and std of pixel/255, one per channel.
    """

    name: str
    kind: Literal["idx", "cifar10"]
    folder: Path
    channels: int
    size: tuple[int, int]
    n_classes: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    credit: str


def _absolute(folder: Path) -> Path:
    try:
        return folder.resolve()
    except (OSError, RuntimeError) as exc:  # Python 3.11 raises RuntimeError on a symlink loop
        raise DataError(f"{show_path(folder)}: {explain_os_error(exc, 'data folder')}") from None


def _mnist(folder: Path) -> DatasetSpec:
    return DatasetSpec("mnist", "idx", folder, 1, (28, 28), 10, *MNIST_STATS, MNIST_CREDIT)


def _fashion(folder: Path) -> DatasetSpec:
    return DatasetSpec(
        "fashion-mnist", "idx", folder, 1, (28, 28), 10, *FASHION_MNIST_STATS, FASHION_MNIST_CREDIT
    )


def fashion_mnist_folder() -> Path:
    """$SPH_VIZ_FASHION_MNIST_DIR, else the Debian package's folder; DataError when it is absent."""
    folder = Path(os.environ.get(FASHION_MNIST_ENV) or FASHION_MNIST_DIR)
    try:
        os.stat(folder)
    except (FileNotFoundError, NotADirectoryError):
        raise DataError(
            f"{show_path(folder)}: Fashion-MNIST not found. Install it with "
            f"`apt-get install dataset-fashion-mnist`, set {FASHION_MNIST_ENV} to its folder, "
            f"or pass the path of an IDX folder that holds it."
        ) from None
    except (OSError, ValueError):
        pass  # data_folder below words the problem
    return _absolute(data_folder(folder))


def _idx_folder(folder: Path) -> DatasetSpec:
    """A plain IDX folder: read once (cached) to learn its image size and number of classes."""
    if folder == _absolute(BUNDLED_MNIST):
        return _mnist(folder)
    try:
        if folder == fashion_mnist_folder():
            return _fashion(folder)
    except DataError:
        pass  # no Fashion-MNIST on this machine: the folder is some other IDX set
    splits = load_image_folder(str(folder))
    train, test = splits["train"], splits["test"]
    if train.images.shape[1:] != test.images.shape[1:]:
        raise DataError(
            f"{show_path(folder)}: train images are {tuple(train.images.shape[1:])} but test images "
            f"are {tuple(test.images.shape[1:])}."
        )
    h, w = train.images.shape[1:]
    n_classes = int(max(train.labels.max(), test.labels.max())) + 1
    credit = f"IDX image folder {folder.name}: credit its authors as its licence asks."
    return DatasetSpec(folder.name, "idx", folder, 1, (h, w), n_classes, *MNIST_STATS, credit)


def resolve_dataset(spec: str) -> DatasetSpec:
    """The DatasetSpec for a name users type.

    'mnist' (the bundled copy), 'fashion-mnist' (the Debian package folder, or
    $SPH_VIZ_FASHION_MNIST_DIR), 'cifar10:DIR' (the binary version), anything else an IDX folder.
    A plain IDX folder is read here (once per process) to learn its size and classes; it is
    standardised with MNIST's mean and std.
    """
    if not isinstance(spec, str):
        raise DataError(f"a dataset is named by a string. Got {spec!r} instead. {_HELP}")
    text = spec.strip()
    key = text.lower()
    if not text:
        raise DataError(f"the dataset name is empty. {_HELP}")
    if key == "mnist":
        return _mnist(_absolute(data_folder(BUNDLED_MNIST)))
    if key in ("fashion-mnist", "fashion_mnist", "fashionmnist"):
        return _fashion(fashion_mnist_folder())
    if key in ("cifar10", "cifar-10", "cifar10:"):
        raise DataError(f"{text}: CIFAR-10 needs its folder: cifar10:DIR (the binary version).")
    if key.startswith("cifar10:"):
        folder = _absolute(find_cifar10_folder(text[len("cifar10:") :]))
        return DatasetSpec("cifar10", "cifar10", folder, 3, (32, 32), 10, *CIFAR10_STATS, CIFAR10_CREDIT)
    return _idx_folder(_absolute(data_folder(text)))


@lru_cache(maxsize=4)
def _load_cifar10(folder: Path) -> dict[str, ImageSplit]:
    return load_cifar10(folder)


def _load(spec: DatasetSpec) -> tuple[ImageSplit, ImageSplit]:
    """One copy per process: IDX folders through `load_image_folder`'s cache (which experiments.py
    shares; a second cache here could keep a copy that one has evicted), CIFAR-10 through its own."""
    if spec.kind == "cifar10":
        splits, shape = _load_cifar10(spec.folder), (spec.channels, *spec.size)
    else:
        splits, shape = load_image_folder(str(spec.folder)), spec.size
    for split, data in splits.items():
        if tuple(data.images.shape[1:]) != tuple(shape):
            raise DataError(
                f"{show_path(spec.folder)}: {spec.name} {split} images should be {tuple(shape)}; "
                f"they are {tuple(data.images.shape[1:])}."
            )
        if int(data.labels.max()) >= spec.n_classes:
            raise DataError(
                f"{show_path(spec.folder)}: {spec.name} {split} labels go up to {int(data.labels.max())}; "
                f"expected 0-{spec.n_classes - 1}."
            )
    return splits["train"], splits["test"]


def load_dataset(spec: DatasetSpec | str) -> tuple[ImageSplit, ImageSplit]:
    """(train, test) of a dataset, loaded once per process and checked against its spec."""
    return _load(resolve_dataset(spec) if isinstance(spec, str) else spec)


def normalize(spec: DatasetSpec | str, images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, H, W) or (N, C, H, W) -> float32 (N, C, H, W): (x / 255 - mean[c]) / std[c]."""
    spec = resolve_dataset(spec) if isinstance(spec, str) else spec
    if images.dtype != torch.uint8:
        raise ValueError(f"normalize expects uint8 images. Got {images.dtype} instead.")
    if images.ndim == 3 and spec.channels == 1:
        images = images.unsqueeze(1)
    if images.ndim != 4 or images.shape[1] != spec.channels:
        raise ValueError(
            f"{spec.name} images must be (N, {spec.channels}, H, W). Got {tuple(images.shape)} instead."
        )
    mean = torch.tensor(spec.mean, dtype=torch.float32, device=images.device).view(1, -1, 1, 1)
    std = torch.tensor(spec.std, dtype=torch.float32, device=images.device).view(1, -1, 1, 1)
    return images.float().div_(255.0).sub_(mean).div_(std)


def augment_crop_flip(x: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    """Random crop with zero padding and random horizontal flip: (B, C, H, W) -> (B, C, H, W).

    Draws from `generator`, in this order: offsets = randint(0, 2 * padding + 1, (2, B)) (row
    and column of each crop in the padded image), then flips = rand(B) < 0.5. Image b becomes
    padded[b, :, dy:dy + H, dx:dx + W], mirrored left-right where flips[b]; so each image moves by
    at most `padding` pixels. One gather for the whole batch; the same generator state gives the
    same result. The generator may live on the CPU while x is on an accelerator.
    """
    if x.ndim != 4:
        raise ValueError(f"augment_crop_flip expects (B, C, H, W). Got {tuple(x.shape)} instead.")
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ValueError(f"padding must be a non-negative integer. Got {padding!r} instead.")
    b, _, h, w = x.shape
    offsets = torch.randint(0, 2 * padding + 1, (2, b), generator=generator, device=generator.device)
    flips = torch.rand(b, generator=generator, device=generator.device) < 0.5
    offsets, flips = offsets.to(x.device), flips.to(x.device)
    cols = torch.arange(w, device=x.device).expand(b, w)
    cols = torch.where(flips[:, None], w - 1 - cols, cols) + offsets[1, :, None]  # (B, W)
    rows = torch.arange(h, device=x.device) + offsets[0, :, None]  # (B, H)
    padded = F.pad(x, (padding, padding, padding, padding))
    batch = torch.arange(b, device=x.device)[:, None, None]
    out = padded[batch, :, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous()
