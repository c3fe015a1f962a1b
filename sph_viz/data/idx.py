"""Datasets: the paper's 2-D toy set and IDX image folders (MNIST, Fashion-MNIST).

The full MNIST dataset ships in `data/mnist/` (LeCun, Cortes and Burges, CC BY-SA 3.0).

Files are read by streaming with a cap: the IDX header is read first, the size it promises is
checked against `max_dataset_bytes()`, and never more than header + promised size + 1 bytes are
decompressed, so a small gzip bomb cannot fill the memory.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import math
import os
import stat
import zlib
from dataclasses import dataclass
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch

from sph_viz.data.bundled import BUNDLED_MNIST, MNIST_CREDIT  # noqa: F401 (re-exported)

IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049
SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
MAX_DATASET_BYTES = 1 << 30  # 1 GiB; the environment variable below overrides it
MAX_BYTES_ENV = "SPH_VIZ_MAX_DATASET_BYTES"
SUMS_NAME = "SHA256SUMS"
_CHUNK = 1 << 20
_MAX_SUMS_BYTES = 1 << 20
_MAX_SHOWN_PATH = 200


class DataError(ValueError):
    """A dataset file is missing or malformed; the message names the file."""


@dataclass(frozen=True)
class ImageSplit:
    """uint8 images (N, H, W) (or (N, C, H, W) for colour sets) and int64 labels (N,)."""

    images: torch.Tensor
    labels: torch.Tensor


# ---------------------------------------------------------------- limits and paths


def max_dataset_bytes() -> int:
    """The ceiling on a dataset's size in bytes: MAX_DATASET_BYTES or $SPH_VIZ_MAX_DATASET_BYTES."""
    raw = os.environ.get(MAX_BYTES_ENV, "").strip()
    if not raw:
        return MAX_DATASET_BYTES
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise DataError(f"{MAX_BYTES_ENV} must be a positive whole number of bytes. Got {raw!r} instead.")
    return value


def show_path(path: str | Path) -> str:
    """The path as text for a message, shortened in the middle when it is very long."""
    text = str(path)
    if len(text) <= _MAX_SHOWN_PATH:
        return text
    half = _MAX_SHOWN_PATH // 2
    return f"{text[:half]}…{text[-half:]} ({len(text):,} characters)"


def explain_os_error(exc: BaseException, what: str) -> str:
    """Plain words for an OSError (or a ValueError from a NUL in a path)."""
    if isinstance(exc, ValueError):
        return "the path contains a NUL character."
    code = getattr(exc, "errno", None)
    if code == errno.ENOENT:
        return f"{what} not found."
    if code == errno.ENOTDIR:
        return f"{what} not found (a part of the path is a file, not a folder)."
    if code == errno.ELOOP:
        return "symbolic link loop (the path leads back to itself)."
    if code == errno.ENAMETOOLONG:
        return "the path is too long for the file system."
    if code in (errno.EACCES, errno.EPERM):
        return f"permission denied; check the {what}'s permissions."
    return f"cannot read ({getattr(exc, 'strerror', None) or exc})."


def data_folder(folder: str | Path) -> Path:
    """`folder` as a Path once it is known to be an existing, reachable folder; DataError otherwise."""
    try:
        path = Path(folder).expanduser()
    except RuntimeError as exc:  # "~" when no home folder can be found
        raise DataError(f"{show_path(folder)}: {exc}.") from None
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError) as exc:
        raise DataError(f"{show_path(path)}: {explain_os_error(exc, 'data folder')}") from None
    if not stat.S_ISDIR(mode):
        hint = " Extract it first." if path.name.endswith((".tar.gz", ".tgz", ".tar", ".zip")) else ""
        raise DataError(f"{show_path(path)}: is a file, not a data folder.{hint}")
    try:
        os.stat(os.path.join(path, "."))  # needs permission to look inside the folder
    except OSError as exc:
        raise DataError(f"{show_path(path)}: {explain_os_error(exc, 'data folder')}") from None
    return path


def regular_file(path: Path) -> Path | None:
    """`path` if it is a regular file, None if it does not exist; DataError for anything else."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise DataError(f"{show_path(path)}: {explain_os_error(exc, 'file')}") from None
    if not stat.S_ISREG(mode):
        raise DataError(f"{show_path(path)}: not a regular file.")
    return path


def _find(folder: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz"):
        if (path := regular_file(folder / name)) is not None:
            return path
    raise DataError(f"{show_path(folder / stem)}[.gz]: file not found.")


# ---------------------------------------------------------------- checksums


def read_checksums(folder: Path) -> dict[str, str]:
    """{file name: sha256 hex} from the folder's SHA256SUMS (`sha256sum` format); {} without one."""
    path = folder / SUMS_NAME
    if regular_file(path) is None:
        return {}
    try:
        with open(path, "rb") as f:
            raw = f.read(_MAX_SUMS_BYTES + 1)
    except OSError as exc:
        raise DataError(f"{show_path(path)}: {explain_os_error(exc, 'file')}") from None
    if len(raw) > _MAX_SUMS_BYTES:
        raise DataError(f"{show_path(path)}: larger than {_MAX_SUMS_BYTES:,} bytes; not a checksum list.")
    sums = {}
    for number, line in enumerate(raw.decode("utf-8", "replace").splitlines(), start=1):
        fields = line.split(maxsplit=1)
        if not fields:
            continue
        if len(fields) != 2 or len(fields[0]) != 64:
            raise DataError(f"{show_path(path)}: line {number} is not '<sha256>  <file name>'.")
        sums[fields[1].strip().removeprefix("*")] = fields[0].lower()
    return sums


def verify_checksum(folder: Path, name: str, digest: str, sums: dict[str, str]) -> None:
    """DataError when SHA256SUMS lists `name` with another hash than `digest`."""
    if name in sums and digest != sums[name]:
        raise DataError(
            f"{show_path(folder / name)}: SHA-256 does not match {show_path(folder / SUMS_NAME)}."
        )


# ---------------------------------------------------------------- IDX files


def _read_idx_stream(stream: BinaryIO, expected_magic: int, name: str, digest) -> np.ndarray:
    """Read one IDX file from a stream: header first, then at most the promised bytes + 1."""
    head = stream.read(4)
    if not head:
        raise DataError(f"{name}: file is empty.")
    if len(head) < 4:
        raise DataError(f"{name}: too short for an IDX header ({len(head)} bytes).")
    magic = int.from_bytes(head, "big")
    if magic != expected_magic:
        raise DataError(
            f"{name}: not an IDX file of this kind (magic number {magic}, expected {expected_magic})."
        )
    ndim = head[3]
    dims = stream.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise DataError(f"{name}: header truncated ({4 + len(dims)} bytes).")
    shape = tuple(int.from_bytes(dims[4 * i : 4 * i + 4], "big") for i in range(ndim))
    size, limit = math.prod(shape), max_dataset_bytes()  # Python ints: a huge product cannot wrap
    if size > limit:
        raise DataError(
            f"{name}: header promises {shape} = {size:,} bytes of data, more than the limit of "
            f"{limit:,} bytes on a dataset's size (set {MAX_BYTES_ENV} to raise it)."
        )
    digest.update(head + dims)
    data = np.empty(size, dtype=np.uint8)  # pages are touched only as data arrives
    view, got = memoryview(data), 0
    while got < size:
        n = stream.readinto(view[got : got + _CHUNK])
        if not n:
            break
        digest.update(view[got : got + n])
        got += n
    if got < size:
        raise DataError(f"{name}: header says {shape} = {size} bytes of data, file has {got}.")
    if stream.read(1):
        raise DataError(
            f"{name}: header says {shape} = {size} bytes of data, file has more "
            f"(data goes on past byte {4 + len(dims) + size:,})."
        )
    return data.reshape(shape)


def read_idx(path: str | Path, expected_magic: int) -> tuple[np.ndarray, str]:
    """Stream one IDX file (gzip or not) with the size cap; returns (uint8 array, sha256 hex).

    The hash is of the uncompressed bytes, as listed in SHA256SUMS.
    """
    path, digest = Path(path), hashlib.sha256()
    try:
        with open(path, "rb") as f:
            if f.read(2) == b"\x1f\x8b":
                f.seek(0)
                with gzip.GzipFile(fileobj=f, mode="rb") as gz:
                    return _read_idx_stream(gz, expected_magic, show_path(path), digest), digest.hexdigest()
            f.seek(0)
            return _read_idx_stream(f, expected_magic, show_path(path), digest), digest.hexdigest()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DataError(f"{show_path(path)}: damaged gzip data ({exc}).") from None
    except (OSError, ValueError) as exc:
        if isinstance(exc, DataError):
            raise
        raise DataError(f"{show_path(path)}: {explain_os_error(exc, 'file')}") from None


def parse_idx(raw: bytes, expected_magic: int, name: str) -> np.ndarray:
    """Parse an unsigned-byte IDX file (big-endian header) held in memory into a uint8 array."""
    return _read_idx_stream(BytesIO(raw), expected_magic, name, hashlib.sha256())


def write_idx(path: str | Path, array: np.ndarray) -> Path:
    """Write a uint8 array as an IDX file (gzip-compressed when path ends in .gz)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    raw = header + array.tobytes()
    path = Path(path)
    path.write_bytes(gzip.compress(raw, mtime=0) if path.suffix == ".gz" else raw)
    return path


def load_idx_split(folder: str | Path, split: str = "train") -> ImageSplit:
    """Load one split of an IDX image folder: images uint8 (N, H, W), labels int64 (N,).

    Checks SHA256SUMS when the folder has one; each file is capped by `max_dataset_bytes()`.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test'. Got {split!r} instead.")
    folder = data_folder(folder)
    sums = read_checksums(folder)
    arrays = []
    for stem, magic in zip(SPLITS[split], (IMAGE_MAGIC, LABEL_MAGIC), strict=True):
        array, digest = read_idx(_find(folder, stem), magic)
        verify_checksum(folder, stem, digest, sums)
        arrays.append(array)
    images, labels = arrays  # the magic numbers fix images as 3-D and labels as 1-D
    if len(images) != len(labels):
        raise DataError(f"{show_path(folder)}: {split} has {len(images)} images but {len(labels)} labels.")
    if len(images) == 0:
        raise DataError(f"{show_path(folder)}: the {split} split holds no images.")
    return ImageSplit(torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64)))


@lru_cache(maxsize=4)
def load_image_folder(folder: str | Path = BUNDLED_MNIST) -> dict[str, ImageSplit]:
    """Both splits of an IDX folder, loaded once per process: {'train': ..., 'test': ...}."""
    return {split: load_idx_split(folder, split) for split in SPLITS}


def normalize_images(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, H, W) -> float32 (N, 1, H, W), standardised with MNIST's mean and std."""
    return ((images.float() / 255.0 - 0.1307) / 0.3081).unsqueeze(1)
