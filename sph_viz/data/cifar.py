"""CIFAR-10, binary version: 60,000 colour images of 32x32 in 10 classes.

The binary version is a folder `cifar-10-batches-bin/` with `data_batch_1.bin` … `data_batch_5.bin`
(training, 10,000 images each) and `test_batch.bin`. Each file is a sequence of 3,073-byte records:
one label byte (0-9), then 3,072 pixel bytes: 1,024 red, 1,024 green, 1,024 blue, each plane a
row-major 32x32 image. The "python version" holds pickles; this module never unpickles anything.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch

from sph_viz.data.idx import (
    MAX_BYTES_ENV,
    DataError,
    ImageSplit,
    data_folder,
    explain_os_error,
    max_dataset_bytes,
    read_checksums,
    regular_file,
    show_path,
    verify_checksum,
)

CIFAR10_CREDIT = (
    "CIFAR-10 by Alex Krizhevsky, Vinod Nair and Geoffrey Hinton "
    "(Learning Multiple Layers of Features from Tiny Images, 2009)."
)
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar.html"
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
BIN_FOLDER, PY_FOLDER = "cifar-10-batches-bin", "cifar-10-batches-py"
CIFAR10_SPLITS = {
    "train": tuple(f"data_batch_{i}.bin" for i in range(1, 6)),
    "test": ("test_batch.bin",),
}
IMAGE_SHAPE = (3, 32, 32)
RECORD_BYTES = 1 + 3 * 32 * 32  # 3,073
_CHUNK_RECORDS = 4096


def _exists(path: Path) -> bool:
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return False
    except (OSError, ValueError) as exc:
        raise DataError(f"{show_path(path)}: {explain_os_error(exc, 'file')}") from None
    return True


def _python_version(folder: Path) -> DataError:
    return DataError(
        f'{show_path(folder)}: this is the CIFAR-10 "python version" (pickled batches), and sph-viz '
        f"never unpickles files. Download the binary version (cifar-10-binary.tar.gz) from "
        f"{CIFAR10_URL}, extract it and pass its {BIN_FOLDER} folder."
    )


def find_cifar10_folder(folder: str | Path) -> Path:
    """The folder holding the binary batches: `folder` itself or its `cifar-10-batches-bin/`."""
    folder = data_folder(folder)
    if folder.name == PY_FOLDER:
        raise _python_version(folder)
    if _exists(folder / BIN_FOLDER):
        return data_folder(folder / BIN_FOLDER)
    if any(regular_file(folder / name) for name in ("data_batch_1.bin", "test_batch.bin")):
        return folder
    if _exists(folder / PY_FOLDER):
        raise _python_version(folder / PY_FOLDER)
    if _exists(folder / "data_batch_1") or _exists(folder / "test_batch"):
        raise _python_version(folder)
    raise DataError(
        f"{show_path(folder)}: no CIFAR-10 binary batches here (expected data_batch_1.bin … "
        f"data_batch_5.bin and test_batch.bin, or a {BIN_FOLDER} folder)."
    )


def _batch_files(folder: Path, split: str) -> list[tuple[Path, int]]:
    """(path, size in bytes) of each batch of the split, checked for presence and whole records."""
    found, missing = [], []
    for name in CIFAR10_SPLITS[split]:
        path = regular_file(folder / name)
        if path is None:
            missing.append(name)
        else:
            found.append(path)
    if missing:
        raise DataError(
            f"{show_path(folder)}: missing {', '.join(missing)} (the CIFAR-10 binary version has "
            f"data_batch_1.bin … data_batch_5.bin and test_batch.bin)."
        )
    files = []
    for path in found:
        try:
            size = os.stat(path).st_size
        except OSError as exc:
            raise DataError(f"{show_path(path)}: {explain_os_error(exc, 'file')}") from None
        if size == 0:
            raise DataError(f"{show_path(path)}: file is empty.")
        if size % RECORD_BYTES:
            raise DataError(
                f"{show_path(path)}: {size:,} bytes is not a whole number of 3,073-byte CIFAR-10 "
                f"records ({size // RECORD_BYTES:,} records and {size % RECORD_BYTES:,} bytes left over)."
            )
        files.append((path, size))
    return files


def _read_batch(path: Path, n_records: int, images: np.ndarray, labels: np.ndarray) -> str:
    """Read n records into images (n, 3072) and labels (n,); returns the file's sha256 hex."""
    digest, buf, done = hashlib.sha256(), np.empty((_CHUNK_RECORDS, RECORD_BYTES), np.uint8), 0
    try:
        with open(path, "rb") as f:
            while done < n_records:
                k = min(_CHUNK_RECORDS, n_records - done)
                view = memoryview(buf.reshape(-1))[: k * RECORD_BYTES]
                got = 0
                while got < len(view) and (n := f.readinto(view[got:])):
                    got += n
                if got < len(view):
                    raise DataError(f"{show_path(path)}: file shrank while it was being read.")
                digest.update(view)
                images[done : done + k], labels[done : done + k] = buf[:k, 1:], buf[:k, 0]
                done += k
            if f.read(1):
                raise DataError(f"{show_path(path)}: file grew while it was being read.")
    except OSError as exc:
        raise DataError(f"{show_path(path)}: {explain_os_error(exc, 'file')}") from None
    bad = np.flatnonzero(labels[:n_records] > 9)
    if bad.size:
        raise DataError(
            f"{show_path(path)}: record {int(bad[0]):,} has label {int(labels[bad[0]])}; "
            f"CIFAR-10 labels are 0-9."
        )
    return digest.hexdigest()


def load_cifar10_split(folder: str | Path, split: str = "train") -> ImageSplit:
    """One split of the CIFAR-10 binary version: images uint8 (N, 3, 32, 32), labels int64 (N,).

    `folder` is `cifar-10-batches-bin/` or its parent. Checks SHA256SUMS when the folder has one;
    the split's total size is capped by `max_dataset_bytes()` before anything is read.
    """
    if split not in CIFAR10_SPLITS:
        raise ValueError(f"split must be 'train' or 'test'. Got {split!r} instead.")
    folder = find_cifar10_folder(folder)
    files = _batch_files(folder, split)
    total, limit = sum(size for _, size in files), max_dataset_bytes()
    if total > limit:
        raise DataError(
            f"{show_path(folder)}: the {split} batches hold {total:,} bytes, more than the limit of "
            f"{limit:,} bytes on a dataset's size (set {MAX_BYTES_ENV} to raise it)."
        )
    sums = read_checksums(folder)
    n = total // RECORD_BYTES
    images, labels = np.empty((n, RECORD_BYTES - 1), np.uint8), np.empty(n, np.uint8)
    start = 0
    for path, size in files:
        stop = start + size // RECORD_BYTES
        digest = _read_batch(path, stop - start, images[start:stop], labels[start:stop])
        verify_checksum(folder, path.name, digest, sums)
        start = stop
    return ImageSplit(
        torch.from_numpy(images.reshape(n, *IMAGE_SHAPE)), torch.from_numpy(labels.astype(np.int64))
    )


def load_cifar10(folder: str | Path) -> dict[str, ImageSplit]:
    """Both splits of the CIFAR-10 binary version: {'train': 50,000 images, 'test': 10,000}."""
    return {split: load_cifar10_split(folder, split) for split in CIFAR10_SPLITS}
