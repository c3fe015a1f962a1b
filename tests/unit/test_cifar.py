"""CIFAR-10, binary version: small fake batches written here, good and bad; pickles never opened."""

import hashlib
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from cifar_files import write_cifar

from sph_viz.data.cifar import (
    BIN_FOLDER,
    RECORD_BYTES,
    find_cifar10_folder,
    load_cifar10,
    load_cifar10_split,
)
from sph_viz.data.idx import MAX_BYTES_ENV, DataError


def test_binary_batches_load_as_n_3_32_32(tmp_path):
    written = write_cifar(tmp_path / BIN_FOLDER)
    splits = load_cifar10(tmp_path / BIN_FOLDER)
    for split, n in (("train", 15), ("test", 3)):
        images, labels = splits[split].images, splits[split].labels
        assert images.shape == (n, 3, 32, 32) and images.dtype == torch.uint8
        assert labels.shape == (n,) and labels.dtype == torch.int64
        assert np.array_equal(images.numpy(), written[split][0])
        assert labels.tolist() == written[split][1].tolist()


def test_record_layout_is_label_then_red_green_blue_planes(tmp_path):
    record = bytearray(RECORD_BYTES)
    record[0] = 7
    record[1 : 1 + 1024] = bytes([10]) * 1024  # red
    record[1 + 1024 : 1 + 2048] = bytes([20]) * 1024  # green
    record[1 + 2048 :] = bytes([30]) * 1024  # blue
    record[1 + 1024 + 1 * 32 + 2] = 99  # green, row 1, column 2
    write_cifar(tmp_path)
    (tmp_path / "test_batch.bin").write_bytes(bytes(record))
    split = load_cifar10_split(tmp_path, "test")
    assert split.labels.tolist() == [7]
    image = split.images[0]
    assert image[0].unique().tolist() == [10] and image[2].unique().tolist() == [30]
    assert image[1, 1, 2] == 99 and (image[1] == 20).sum() == 1023


def test_parent_folder_is_accepted(tmp_path):
    write_cifar(tmp_path / BIN_FOLDER)
    assert find_cifar10_folder(tmp_path) == tmp_path / BIN_FOLDER
    assert find_cifar10_folder(tmp_path / BIN_FOLDER) == tmp_path / BIN_FOLDER
    assert len(load_cifar10_split(tmp_path, "train").images) == 15


class _Trap:
    """Unpickling this makes a folder: the proof that something was unpickled."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


@pytest.mark.parametrize("layout", ["py_folder", "py_parent", "py_files"])
def test_python_version_is_refused_without_unpickling(tmp_path, layout):
    marker = tmp_path / "unpickled"
    py = tmp_path / "cifar-10-batches-py" if layout != "py_files" else tmp_path / "batches"
    py.mkdir()
    for name in (
        "data_batch_1",
        "data_batch_2",
        "data_batch_3",
        "data_batch_4",
        "data_batch_5",
        "test_batch",
    ):
        (py / name).write_bytes(pickle.dumps(_Trap(marker)))
    target = tmp_path if layout == "py_parent" else py
    with pytest.raises(
        DataError, match=r'"python version" \(pickled batches\), and sph-viz never unpickles'
    ) as info:
        load_cifar10(target)
    assert "Download the binary version (cifar-10-binary.tar.gz)" in str(info.value)
    assert str(py) in str(info.value)
    assert not marker.exists()


def _damage(folder: Path, name: str, raw: bytes | None) -> None:
    if raw is None:
        (folder / name).unlink()
    else:
        (folder / name).write_bytes(raw)


@pytest.mark.parametrize(
    ("name", "raw", "split", "match"),
    [
        (
            "data_batch_3.bin",
            bytes(2 * RECORD_BYTES + 5),
            "train",
            r"data_batch_3.bin: 6,151 bytes is not a whole number of 3,073-byte CIFAR-10 records "
            r"\(2 records and 5 bytes left over\)",
        ),
        (
            "test_batch.bin",
            bytes(RECORD_BYTES) + bytes([10]) + bytes(RECORD_BYTES - 1),
            "test",
            r"test_batch.bin: record 1 has label 10; CIFAR-10 labels are 0-9",
        ),
        ("data_batch_3.bin", None, "train", r"missing data_batch_3.bin \(the CIFAR-10 binary version has"),
        ("test_batch.bin", b"", "test", r"test_batch.bin: file is empty"),
    ],
)
def test_damaged_batches_name_the_file_and_the_problem(tmp_path, name, raw, split, match):
    write_cifar(tmp_path)
    _damage(tmp_path, name, raw)
    with pytest.raises(DataError, match=match):
        load_cifar10_split(tmp_path, split)


def test_missing_files_are_listed_together(tmp_path):
    write_cifar(tmp_path)
    for name in ("data_batch_2.bin", "data_batch_5.bin"):
        (tmp_path / name).unlink()
    with pytest.raises(DataError, match=r"missing data_batch_2.bin, data_batch_5.bin"):
        load_cifar10_split(tmp_path, "train")


def test_size_limit_covers_the_whole_split(tmp_path, monkeypatch):
    write_cifar(tmp_path)  # 5 batches of 3 records: 46,095 bytes
    monkeypatch.setenv(MAX_BYTES_ENV, "46094")
    with pytest.raises(
        DataError, match=r"the train batches hold 46,095 bytes, more than the limit of 46,094"
    ):
        load_cifar10_split(tmp_path, "train")
    monkeypatch.setenv(MAX_BYTES_ENV, "46095")
    assert len(load_cifar10_split(tmp_path, "train").images) == 15


def test_checksums_are_checked_when_present(tmp_path):
    write_cifar(tmp_path)
    raw = (tmp_path / "test_batch.bin").read_bytes()
    (tmp_path / "SHA256SUMS").write_text(f"{hashlib.sha256(raw).hexdigest()}  test_batch.bin\n")
    assert len(load_cifar10_split(tmp_path, "test").images) == 3
    (tmp_path / "test_batch.bin").write_bytes(raw[:-1] + bytes([raw[-1] ^ 1]))
    with pytest.raises(DataError, match=r"test_batch.bin: SHA-256 does not match"):
        load_cifar10_split(tmp_path, "test")


def test_folders_without_batches_and_bad_arguments(tmp_path):
    with pytest.raises(DataError, match=r"no CIFAR-10 binary batches here"):
        find_cifar10_folder(tmp_path)
    with pytest.raises(DataError, match=r"nowhere: data folder not found"):
        find_cifar10_folder(tmp_path / "nowhere")
    (tmp_path / "cifar-10-binary.tar.gz").write_bytes(b"\x1f\x8b")
    with pytest.raises(DataError, match=r"is a file, not a data folder. Extract it first"):
        find_cifar10_folder(tmp_path / "cifar-10-binary.tar.gz")
    write_cifar(tmp_path)
    with pytest.raises(ValueError, match=r"split must be 'train' or 'test'"):
        load_cifar10_split(tmp_path, "val")
