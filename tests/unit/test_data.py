"""Datasets: the toy set, the bundled MNIST and IDX folders, good and bad."""

import ctypes
import gzip
import hashlib
import os
import shutil
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

from sph_viz.data.idx import (
    BUNDLED_MNIST,
    MAX_BYTES_ENV,
    MAX_DATASET_BYTES,
    DataError,
    load_idx_split,
    load_image_folder,
    max_dataset_bytes,
    normalize_images,
    parse_idx,
    write_idx,
)
from sph_viz.data.toy import make_toy_data


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


# ---------------------------------------------------------------- size caps and decompression bombs

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import sys
from sph_viz.data.idx import DataError, load_idx_split
def peak():  # VmHWM is this process's own peak; ru_maxrss carries pytest's RSS over fork and exec
    return next(int(s.split()[1]) for s in open("/proc/self/status") if s.startswith("VmHWM:")) * 1024
before = peak()
for folder in sys.argv[1:]:
    try:
        load_idx_split(folder, "train")
        print("loaded")
    except DataError as exc:
        print(exc)
print(before, peak())
"""


def _load_in_child(*folders, env=None, drop_root=False) -> tuple[list[str], int, int]:
    """Load each folder in a fresh Python; returns (messages, peak RSS before, peak RSS after)."""
    preexec = None
    if drop_root and os.geteuid() == 0:  # root reads anything; drop that power for the child only
        libc = ctypes.CDLL(None, use_errno=True)

        def preexec():
            for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
                if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
                    raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")

    try:
        result = subprocess.run(
            [sys.executable, "-c", CHILD, *map(str, folders)],
            cwd=ROOT,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            preexec_fn=preexec,
            check=True,
        )
    except subprocess.SubprocessError as exc:
        if drop_root and not isinstance(exc, subprocess.CalledProcessError):
            pytest.skip(f"cannot drop root's permission override here ({exc})")
        raise
    *messages, rss = result.stdout.strip().splitlines()
    before, after = map(int, rss.split())
    return messages, before, after


def _gzip_bomb(path: Path, head: bytes, n_zeros: int) -> Path:
    """A real gzip file of head + n_zeros zero bytes, ~1 KB per MiB of zeros, built in 1 MiB chunks.

    After a full flush the deflate stream starts afresh, so every 1 MiB chunk of zeros compresses
    to the same bytes: compress one, write it n_zeros / 1 MiB times, and keep the CRC up to date.
    """
    chunk = bytes(1 << 20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate; the gzip wrapper is written here
    first = deflate.compress(head) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(chunk) + deflate.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(head)
    with open(path, "wb") as f:
        f.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + first)
        for _ in range(n_zeros // len(chunk)):
            f.write(block)
            crc = zlib.crc32(chunk, crc)
        f.write(deflate.flush())
        f.write(struct.pack("<II", crc, (len(head) + n_zeros) & 0xFFFFFFFF))
    return path


@pytest.mark.slow  # loads in a fresh interpreter to measure its peak memory
def test_gzip_bomb_fails_fast_in_little_memory(tmp_path):
    """10 images promised, 2 GiB of zeros behind them in a ~2 MB file: refused after 7,857 bytes."""
    head = _idx(2051, (10, 28, 28))
    bomb = _gzip_bomb(tmp_path / "train-images-idx3-ubyte.gz", head, 2 << 30)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(10))
    assert bomb.stat().st_size < 3_000_000
    # it is a real bomb: the stream is valid and decompresses to head + zeros
    start = zlib.decompressobj(31).decompress(bomb.read_bytes()[:70_000], 64 << 20)
    assert len(start) == 64 << 20 and start[: len(head)] == head and not any(start[len(head) :])
    messages, before, after = _load_in_child(tmp_path)
    assert messages == [
        f"{bomb}: header says (10, 28, 28) = 7840 bytes of data, file has more (data goes on past byte 7,856)."
    ]
    assert after < 1 << 30, f"peak RSS {after / 2**20:.0f} MiB (before loading: {before / 2**20:.0f} MiB)"


@pytest.mark.slow  # loads in a fresh interpreter to measure its peak memory
@pytest.mark.parametrize("gz", [False, True])
def test_header_promising_too_much_is_refused_before_reading_on(tmp_path, gz):
    """2.5 million images promised, 100 bytes given: refused at the header, whatever follows."""
    raw = _idx(2051, (2_500_000, 28, 28), bytes(range(100)))
    name = "train-images-idx3-ubyte" + (".gz" if gz else "")
    (tmp_path / name).write_bytes(gzip.compress(raw) if gz else raw)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(10))
    with pytest.raises(
        DataError,
        match=rf"{name}: header promises \(2500000, 28, 28\) = 1,960,000,000 bytes of data, more than "
        r"the limit of 1,073,741,824 bytes on a dataset's size \(set SPH_VIZ_MAX_DATASET_BYTES to raise it\)",
    ):
        load_idx_split(tmp_path, "train")
    # with the limit raised, the short file is found short without 2 GB ever being filled
    messages, _, after = _load_in_child(tmp_path, env={MAX_BYTES_ENV: str(4 << 30)})
    assert messages == [
        f"{tmp_path / name}: header says (2500000, 28, 28) = 1960000000 bytes of data, file has 100."
    ]
    assert after < 1 << 30


def test_huge_header_products_do_not_wrap(tmp_path):
    """65536^4 = 2^64 wraps to 0 in int64; Python ints keep it, and the limit refuses it."""
    head = bytes([0, 0, 8, 4]) + (65536).to_bytes(4, "big") * 4
    with pytest.raises(DataError, match=r"x: header promises \(65536, 65536, 65536, 65536\) = 18,446,744"):
        parse_idx(head, 0x0804, "x")
    biggest = _idx(2051, (2**32 - 1,) * 3, b"")
    with pytest.raises(DataError, match=r"= 79,228,162,458,924,105,385,300,197,375 bytes of data, more than"):
        parse_idx(biggest, 2051, "y")


def test_size_limit_is_configurable(tmp_path, monkeypatch):
    _one_split(tmp_path, GOOD_IMAGES, GOOD_LABELS)
    assert max_dataset_bytes() == MAX_DATASET_BYTES == 1 << 30
    monkeypatch.setenv(MAX_BYTES_ENV, "2000")
    with pytest.raises(DataError, match=r"= 2,352 bytes of data, more than the limit of 2,000 bytes"):
        load_idx_split(tmp_path, "train")
    monkeypatch.setenv(MAX_BYTES_ENV, "2352")
    assert len(load_idx_split(tmp_path, "train").images) == 3
    monkeypatch.setenv(MAX_BYTES_ENV, "lots")
    with pytest.raises(
        DataError, match=r"SPH_VIZ_MAX_DATASET_BYTES must be a positive whole number of bytes"
    ):
        load_idx_split(tmp_path, "train")


def test_trailing_data_is_refused(tmp_path):
    _one_split(tmp_path, GOOD_IMAGES + b"\x00", GOOD_LABELS)
    with pytest.raises(DataError, match=r"file has more \(data goes on past byte 2,368\)"):
        load_idx_split(tmp_path, "train")
    (tmp_path / "train-images-idx3-ubyte").unlink()
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(GOOD_IMAGES) + b"junk")
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: damaged gzip data"):
        load_idx_split(tmp_path, "train")


def test_empty_split_is_refused(tmp_path):
    _one_split(tmp_path, _idx(2051, (0, 28, 28)), _idx(2049, (0,)))
    with pytest.raises(DataError, match=r"the train split holds no images"):
        load_idx_split(tmp_path, "train")


def test_streamed_checksums_accept_the_binary_marker_and_refuse_junk(tmp_path):
    folder = tmp_path / "mnist"
    shutil.copytree(BUNDLED_MNIST, folder)
    lines = (folder / "SHA256SUMS").read_text().splitlines()
    (folder / "SHA256SUMS").write_text("\n".join(h + " *" + n for h, n in (ln.split() for ln in lines)))
    assert len(load_idx_split(folder, "test").images) == 10000
    (folder / "SHA256SUMS").write_text("not a checksum line\n")
    with pytest.raises(DataError, match=r"SHA256SUMS: line 1 is not '<sha256>  <file name>'"):
        load_idx_split(folder, "test")


def test_loaded_folders_are_cached_and_writable():
    assert load_image_folder() is load_image_folder()
    split = load_idx_split(BUNDLED_MNIST, "test")
    assert split.images.numpy().flags.writeable and split.labels.dtype == torch.int64


# ---------------------------------------------------------------- awkward paths


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda p: (p / "loop").symlink_to(p / "loop") or p / "loop", r"loop: symbolic link loop"),
        (
            lambda p: ((p / "a").symlink_to(p / "b"), (p / "b").symlink_to(p / "a")) and p / "a" / "x",
            r"a/x: symbolic link loop",
        ),
        (lambda p: p / ("x" * 5000), r"the path is too long for the file system"),
        (lambda p: p.joinpath(*["d" * 99] * 50), r"the path is too long for the file system"),
        (lambda p: p / "a\0b", r"the path contains a NUL character"),
        (lambda p: _one_file(p / "notes.txt"), r"notes.txt: is a file, not a data folder\.$"),
        (
            lambda p: _one_file(p / "mnist.tar.gz"),
            r"mnist.tar.gz: is a file, not a data folder. Extract it first",
        ),
        (
            lambda p: p / "file" / "sub" if _one_file(p / "file") else None,
            r"file/sub: data folder not found \(a part",
        ),
    ],
)
def test_awkward_folders_are_data_errors(tmp_path, make, match):
    folder = make(tmp_path)
    with pytest.raises(DataError, match=match) as info:
        load_idx_split(folder, "train")
    assert len(str(info.value)) < 500  # a 5,000-character path is shortened in the message
    with pytest.raises(DataError, match=match):
        load_image_folder(folder)


def _one_file(path: Path) -> Path:
    path.write_text("hello")
    return path


def test_data_files_that_are_not_regular_files(tmp_path):
    (tmp_path / "train-images-idx3-ubyte").mkdir()
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte: not a regular file"):
        load_idx_split(tmp_path, "train")
    (tmp_path / "train-images-idx3-ubyte").rmdir()
    os.mkfifo(tmp_path / "train-images-idx3-ubyte")  # opening it would wait for a writer forever
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte: not a regular file"):
        load_idx_split(tmp_path, "train")


@pytest.mark.slow  # loads in a fresh interpreter without root
def test_permission_errors_are_data_errors(tmp_path):
    locked, unreadable = tmp_path / "locked", tmp_path / "unreadable"
    for folder in (locked, unreadable):
        folder.mkdir()
        _one_split(folder, GOOD_IMAGES, GOOD_LABELS)
    (unreadable / "train-images-idx3-ubyte").chmod(0)
    locked.chmod(0)
    try:
        messages, _, _ = _load_in_child(locked, unreadable, drop_root=True)
    finally:
        locked.chmod(0o755)
    assert messages == [
        f"{locked}: permission denied; check the data folder's permissions.",
        f"{unreadable / 'train-images-idx3-ubyte'}: permission denied; check the file's permissions.",
    ]
