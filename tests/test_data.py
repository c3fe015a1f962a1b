"""Datasets: the toy set, the bundled MNIST and IDX folders, good and bad."""

import gzip
import hashlib
import shutil

import numpy as np
import pytest
import torch

from sph_viz.data import (
    BUNDLED_MNIST,
    DataError,
    load_idx_split,
    load_image_folder,
    make_toy_data,
    normalize_images,
    write_idx,
)


def test_toy_data_is_the_papers_task():
    x, y = make_toy_data(100, noise=0.05, seed=3)
    assert x.shape == (200, 2) and y.tolist() == [0] * 100 + [1] * 100
    assert (x[:100].abs() <= 0.05).all()
    assert ((x[100:] - 1).abs() <= 0.05).all()
    torch.testing.assert_close(make_toy_data(100, 0.05, seed=3)[0], x)
    assert not torch.equal(make_toy_data(100, 0.05, seed=4)[0], x)


@pytest.mark.parametrize(
    ("kwargs", "match"), [({"n_per_class": 0}, "n_per_class"), ({"noise": -0.1}, "noise")]
)
def test_toy_data_refuses_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_toy_data(**kwargs)


def test_bundled_mnist_is_complete_and_verified():
    mnist = load_image_folder()
    assert mnist["train"].images.shape == (60000, 28, 28)
    assert mnist["test"].images.shape == (10000, 28, 28)
    assert mnist["train"].images.dtype == torch.uint8
    # canonical class counts of the MNIST training set
    assert mnist["train"].labels.bincount().tolist() == [
        5923,
        6742,
        5958,
        6131,
        5842,
        5421,
        5918,
        6265,
        5851,
        5949,
    ]
    assert mnist["test"].labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    # the checksum file is real: it matches the files independently
    sums = dict(line.split()[::-1] for line in (BUNDLED_MNIST / "SHA256SUMS").read_text().splitlines())
    raw = gzip.decompress((BUNDLED_MNIST / "t10k-labels-idx1-ubyte.gz").read_bytes())
    assert hashlib.sha256(raw).hexdigest() == sums["t10k-labels-idx1-ubyte"]


def test_normalize_images_shape_and_scale():
    x = normalize_images(torch.tensor([[[0, 255]]], dtype=torch.uint8))
    assert x.shape == (1, 1, 1, 2)
    torch.testing.assert_close(x.flatten(), torch.tensor([-0.1307 / 0.3081, (1 - 0.1307) / 0.3081]))


def test_plain_idx_folder_loads(tmp_path):
    """Fashion-MNIST and friends: same format, uncompressed files work too."""
    rng = np.random.default_rng(0)
    imgs, labels = rng.integers(0, 256, (7, 28, 28)), rng.integers(0, 10, 7)
    write_idx(tmp_path / "train-images-idx3-ubyte", imgs)
    write_idx(tmp_path / "train-labels-idx1-ubyte", labels)
    split = load_idx_split(tmp_path, "train")
    assert split.images.numpy().tolist() == imgs.tolist()
    assert split.labels.tolist() == labels.tolist()


def _one_split(tmp_path, images: bytes, labels: bytes):
    (tmp_path / "train-images-idx3-ubyte").write_bytes(images)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(labels)


def _idx(magic: int, shape, data: bytes | None = None) -> bytes:
    head = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in shape)
    return head + (data if data is not None else bytes(int(np.prod(shape))))


GOOD_IMAGES, GOOD_LABELS = _idx(2051, (3, 28, 28)), _idx(2049, (3,))


@pytest.mark.parametrize(
    ("images", "labels", "match"),
    [
        (b"", GOOD_LABELS, r"train-images-idx3-ubyte: file is empty"),
        (
            _idx(2049, (3, 28, 28)),
            GOOD_LABELS,
            r"train-images-idx3-ubyte: not an IDX file of this kind \(magic number 2049, expected 2051\)",
        ),
        (b"hello,world\n1,2,3\n", GOOD_LABELS, r"train-images-idx3-ubyte: not an IDX file"),
        (
            GOOD_IMAGES[:-10],
            GOOD_LABELS,
            r"train-images-idx3-ubyte: header says \(3, 28, 28\) = 2352 bytes of data, file has 2342",
        ),
        (GOOD_IMAGES, _idx(2049, (4,)), r"train has 3 images but 4 labels"),
        (GOOD_IMAGES[:10], GOOD_LABELS, r"train-images-idx3-ubyte: header truncated"),
        (_idx(2050, (3, 784)), GOOD_LABELS, r"magic number 2050, expected 2051"),
    ],
)
def test_malformed_files_name_the_file_and_the_problem(tmp_path, images, labels, match):
    _one_split(tmp_path, images, labels)
    with pytest.raises(DataError, match=match):
        load_idx_split(tmp_path, "train")


def test_truncated_gzip_is_reported(tmp_path):
    data = gzip.compress(GOOD_IMAGES)
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(data[: len(data) // 2])
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(GOOD_LABELS)
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: damaged gzip data"):
        load_idx_split(tmp_path, "train")


def test_missing_folder_and_file(tmp_path):
    with pytest.raises(DataError, match=r"nowhere: data folder not found"):
        load_idx_split(tmp_path / "nowhere")
    (tmp_path / "train-images-idx3-ubyte").write_bytes(GOOD_IMAGES)
    with pytest.raises(DataError, match=r"train-labels-idx1-ubyte\[.gz\]: file not found"):
        load_idx_split(tmp_path, "train")


def test_checksum_mismatch_is_detected(tmp_path):
    folder = tmp_path / "mnist"
    shutil.copytree(BUNDLED_MNIST, folder)
    labels = gzip.decompress((folder / "t10k-labels-idx1-ubyte.gz").read_bytes())
    tampered = labels[:-1] + bytes([(labels[-1] + 1) % 10])  # one label changed
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(tampered))
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte: SHA-256 does not match"):
        load_idx_split(folder, "test")
    load_idx_split(BUNDLED_MNIST, "test")  # the bundled copy is untouched and still loads


def test_bad_split_name():
    with pytest.raises(ValueError, match=r"split must be 'train' or 'test'. Got 'val' instead."):
        load_idx_split(BUNDLED_MNIST, "val")
