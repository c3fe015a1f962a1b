"""Datasets: the paper's 2-D toy set and IDX image folders (MNIST, Fashion-MNIST).

The full MNIST dataset ships in `data/mnist/` (LeCun, Cortes and Burges, CC BY-SA 3.0).
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch

BUNDLED_MNIST = Path(__file__).resolve().parent.parent / "data" / "mnist"
MNIST_CREDIT = "MNIST by Yann LeCun, Corinna Cortes and Christopher J.C. Burges, licensed under CC BY-SA 3.0."
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049
SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


class DataError(ValueError):
    """A dataset file is missing or malformed; the message names the file."""


def make_toy_data(
    n_per_class: int = 100, noise: float = 0.05, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """The paper's toy task: n points near (0,0) (label 0) and n near (1,1) (label 1).

    Each point is its centre plus uniform noise in [-noise, noise]^2. Returns x (2n, 2)
    float32 and y (2n,) int64.
    """
    if isinstance(n_per_class, bool) or not isinstance(n_per_class, int) or n_per_class < 1:
        raise ValueError(f"n_per_class must be a positive integer. Got {n_per_class!r} instead.")
    if not 0.0 <= noise <= 1.0:
        raise ValueError(f"noise must be in [0, 1]. Got {noise!r} instead.")
    g = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    y = torch.arange(2).repeat_interleave(n_per_class)
    x = centres[y] + (torch.rand(2 * n_per_class, 2, generator=g) * 2 - 1) * noise
    return x, y


@dataclass(frozen=True)
class ImageSplit:
    """uint8 images (N, H, W) and int64 labels (N,)."""

    images: torch.Tensor
    labels: torch.Tensor


def _find(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    raise DataError(f"{folder / stem}[.gz]: file not found.")


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            return gzip.decompress(raw)
        return raw
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(f"{path}: damaged gzip data ({exc}).") from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc}).") from None


def parse_idx(raw: bytes, expected_magic: int, name: str) -> np.ndarray:
    """Parse an unsigned-byte IDX file (big-endian header) into a uint8 array."""
    if len(raw) == 0:
        raise DataError(f"{name}: file is empty.")
    if len(raw) < 4:
        raise DataError(f"{name}: too short for an IDX header ({len(raw)} bytes).")
    magic = int.from_bytes(raw[:4], "big")
    if magic != expected_magic:
        raise DataError(
            f"{name}: not an IDX file of this kind (magic number {magic}, expected {expected_magic})."
        )
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{name}: header truncated ({len(raw)} bytes).")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    size = int(np.prod(shape))
    if len(raw) - header != size:
        raise DataError(f"{name}: header says {shape} = {size} bytes of data, file has {len(raw) - header}.")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write a uint8 array as an IDX file (gzip-compressed when path ends in .gz)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    raw = header + array.tobytes()
    path = Path(path)
    path.write_bytes(gzip.compress(raw, mtime=0) if path.suffix == ".gz" else raw)
    return path


def _check_sums(folder: Path, stem: str, raw: bytes) -> None:
    sums = folder / "SHA256SUMS"
    if not sums.is_file():
        return
    expected = dict(line.split()[::-1] for line in sums.read_text().splitlines() if line.strip())
    if stem in expected and hashlib.sha256(raw).hexdigest() != expected[stem]:
        raise DataError(f"{folder / stem}: SHA-256 does not match {sums}.")


def load_idx_split(folder: str | Path, split: str = "train") -> ImageSplit:
    """Load one split of an IDX image folder; checks SHA256SUMS when the folder has one."""
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test'. Got {split!r} instead.")
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DataError(f"{folder}: data folder not found.")
    arrays = []
    for stem, magic in zip(SPLITS[split], (IMAGE_MAGIC, LABEL_MAGIC), strict=True):
        path = _find(folder, stem)
        raw = _read_bytes(path)
        _check_sums(folder, stem, raw)
        arrays.append(parse_idx(raw, magic, str(path)))
    images, labels = arrays  # the magic numbers fix images as 3-D and labels as 1-D
    if len(images) != len(labels):
        raise DataError(f"{folder}: {split} has {len(images)} images but {len(labels)} labels.")
    return ImageSplit(torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64)))


@lru_cache(maxsize=4)
def load_image_folder(folder: str | Path = BUNDLED_MNIST) -> dict[str, ImageSplit]:
    """Both splits of an IDX folder, loaded once per process: {'train': ..., 'test': ...}."""
    return {split: load_idx_split(folder, split) for split in SPLITS}


def normalize_images(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, H, W) -> float32 (N, 1, H, W), standardised with MNIST's mean and std."""
    return ((images.float() / 255.0 - 0.1307) / 0.3081).unsqueeze(1)
