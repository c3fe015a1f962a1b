"""One entry point for dataset names; per-dataset standardisation; crop-and-flip augmentation."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from cifar_files import write_cifar

from sph_viz.data.cifar import BIN_FOLDER, CIFAR10_CREDIT
from sph_viz.data.datasets import (
    FASHION_MNIST_DIR,
    FASHION_MNIST_ENV,
    DatasetSpec,
    augment_crop_flip,
    load_dataset,
    normalize,
    resolve_dataset,
)
from sph_viz.data.idx import (
    BUNDLED_MNIST,
    MNIST_CREDIT,
    DataError,
    load_image_folder,
    normalize_images,
    write_idx,
)


def test_mnist_is_the_bundled_copy_and_shares_its_cache():
    spec = resolve_dataset(" MNIST ")
    assert spec == DatasetSpec(
        "mnist", "idx", BUNDLED_MNIST.resolve(), 1, (28, 28), 10, (0.1307,), (0.3081,), MNIST_CREDIT
    )
    train, test = load_dataset("mnist")
    assert train.images.shape == (60000, 28, 28) and test.images.shape == (10000, 28, 28)
    assert load_dataset(spec)[0] is train
    assert load_image_folder(str(BUNDLED_MNIST.resolve()))["train"] is train  # one copy per process
    assert resolve_dataset(str(BUNDLED_MNIST)) == spec  # the path of the bundled folder is MNIST too


def test_one_copy_even_after_other_folders_evicted_it(tmp_path):
    """load_dataset and load_image_folder never hold two copies of a folder's images."""
    from idx_folders import write_idx_folder

    load_dataset("mnist")
    for i in range(5):  # more folders than load_image_folder's cache keeps: MNIST is evicted
        load_image_folder(str(write_idx_folder(tmp_path / f"f{i}", 20, 10)))
    train = load_dataset("mnist")[0]  # loaded again, once
    assert load_image_folder(str(BUNDLED_MNIST.resolve()))["train"] is train


def test_mnist_normalisation_is_unchanged():
    images = load_dataset("mnist")[1].images[:50]
    x = normalize("mnist", images)
    assert x.shape == (50, 1, 28, 28) and x.dtype == torch.float32
    assert torch.equal(x, normalize_images(images))


@pytest.mark.skipif(
    not FASHION_MNIST_DIR.is_dir(), reason=f"{FASHION_MNIST_DIR} absent (dataset-fashion-mnist)"
)
def test_fashion_mnist_from_the_debian_package(monkeypatch):
    monkeypatch.delenv(FASHION_MNIST_ENV, raising=False)
    spec = resolve_dataset("fashion-mnist")
    assert (spec.name, spec.kind, spec.folder, spec.channels, spec.size, spec.n_classes) == (
        "fashion-mnist",
        "idx",
        FASHION_MNIST_DIR.resolve(),
        1,
        (28, 28),
        10,
    )
    assert (spec.mean, spec.std) == ((0.2860,), (0.3530,)) and "Zalando" in spec.credit
    train, test = load_dataset(spec)
    assert train.images.shape == (60000, 28, 28) and test.images.shape == (10000, 28, 28)
    assert train.labels.bincount().tolist() == [6000] * 10  # Fashion-MNIST is balanced
    assert test.labels.bincount().tolist() == [1000] * 10
    assert resolve_dataset(str(FASHION_MNIST_DIR)) == spec
    x = normalize(spec, train.images[:1000])
    assert abs(float(x.mean())) < 0.15 and abs(float(x.std()) - 1) < 0.15


def test_fashion_mnist_folder_can_be_moved_and_its_absence_says_how_to_get_it(tmp_path, monkeypatch):
    folder = tmp_path / "fashion"
    folder.mkdir()
    for split, n in (("train", 6), ("t10k", 4)):
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", np.full((n, 28, 28), 9))
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", np.arange(n))
    monkeypatch.setenv(FASHION_MNIST_ENV, str(folder))
    spec = resolve_dataset("fashion-mnist")
    assert spec.folder == folder.resolve() and spec.mean == (0.2860,)
    assert len(load_dataset(spec)[0].images) == 6
    monkeypatch.setenv(FASHION_MNIST_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(
        DataError,
        match=r"nowhere: Fashion-MNIST not found. Install it with `apt-get install dataset-fashion-mnist`",
    ):
        resolve_dataset("fashion-mnist")


def test_cifar10_resolves_loads_and_standardises_per_channel(tmp_path):
    written = write_cifar(tmp_path / BIN_FOLDER, n_per_batch=2)
    spec = resolve_dataset(f"cifar10:{tmp_path}")
    assert spec == DatasetSpec(
        "cifar10",
        "cifar10",
        (tmp_path / BIN_FOLDER).resolve(),
        3,
        (32, 32),
        10,
        (0.4914, 0.4822, 0.4465),
        (0.2470, 0.2435, 0.2616),
        CIFAR10_CREDIT,
    )
    train, test = load_dataset(spec)
    assert train.images.shape == (10, 3, 32, 32) and test.images.shape == (2, 3, 32, 32)
    assert np.array_equal(test.images.numpy(), written["test"][0])
    images = torch.zeros(2, 3, 32, 32, dtype=torch.uint8)
    images[1] = 255
    x = normalize(spec, images)
    mean, std = torch.tensor(spec.mean), torch.tensor(spec.std)
    torch.testing.assert_close(x[0, :, 5, 7], -mean / std)
    torch.testing.assert_close(x[1, :, 5, 7], (1 - mean) / std)
    with pytest.raises(ValueError, match=r"cifar10 images must be \(N, 3, H, W\)"):
        normalize(spec, images[:, 0])


def test_any_other_string_is_an_idx_folder(tmp_path):
    rng = np.random.default_rng(1)
    for split, n in (("train", 8), ("t10k", 5)):
        write_idx(tmp_path / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (n, 20, 24)))
        write_idx(tmp_path / f"{split}-labels-idx1-ubyte", np.arange(n) + 7)  # labels up to 14
    spec = resolve_dataset(str(tmp_path))
    assert (spec.kind, spec.folder, spec.channels, spec.size, spec.n_classes) == (
        "idx",
        tmp_path.resolve(),
        1,
        (20, 24),
        15,
    )
    assert spec.mean == (0.1307,) and tmp_path.name in spec.credit
    assert load_dataset(str(tmp_path))[0].images.shape == (8, 20, 24)


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("", r"the dataset name is empty. Use mnist, fashion-mnist, cifar10:DIR or the path"),
        ("cifar10", r"CIFAR-10 needs its folder: cifar10:DIR"),
        ("cifar10:/no/such/folder", r"/no/such/folder: data folder not found"),
        ("/no/such/folder", r"/no/such/folder: data folder not found"),
        ("x" * 5000, r"the path is too long"),
    ],
)
def test_bad_names_are_data_errors(spec, match):
    with pytest.raises(DataError, match=match):
        resolve_dataset(spec)


def test_symlink_loop_is_a_data_error_not_a_runtime_error(tmp_path):
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    for spec in (str(tmp_path / "loop"), f"cifar10:{tmp_path / 'loop'}"):
        with pytest.raises(DataError, match=r"loop: symbolic link loop"):
            resolve_dataset(spec)


# ---------------------------------------------------------------- augmentation


def _expected(x: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    """The documented recipe, one image at a time: pad, slice, torch.flip."""
    b, _, h, w = x.shape
    offsets = torch.randint(0, 2 * padding + 1, (2, b), generator=generator)
    flips = torch.rand(b, generator=generator) < 0.5
    padded = F.pad(x, (padding,) * 4)
    out = []
    for i in range(b):
        dy, dx = int(offsets[0, i]), int(offsets[1, i])
        crop = padded[i, :, dy : dy + h, dx : dx + w]
        out.append(torch.flip(crop, dims=[-1]) if flips[i] else crop)
    return torch.stack(out)


def test_augmentation_matches_pad_crop_and_torch_flip():
    x = torch.randn(64, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    out = augment_crop_flip(x, torch.Generator().manual_seed(5))
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.equal(out, _expected(x, torch.Generator().manual_seed(5)))
    flips = torch.Generator().manual_seed(5)
    torch.randint(0, 9, (2, 64), generator=flips)
    assert 0 < int((torch.rand(64, generator=flips) < 0.5).sum()) < 64  # both cases were exercised


def test_augmentation_is_deterministic_under_a_seed():
    x = torch.randn(16, 1, 28, 28)
    a = augment_crop_flip(x, torch.Generator().manual_seed(1))
    assert torch.equal(a, augment_crop_flip(x, torch.Generator().manual_seed(1)))
    assert not torch.equal(a, augment_crop_flip(x, torch.Generator().manual_seed(2)))


def test_flip_flips():
    """With no padding the only change is the flip: each image is itself or torch.flip of itself."""
    x = torch.arange(8 * 2 * 5 * 6, dtype=torch.float32).reshape(8, 2, 5, 6)
    g = torch.Generator().manual_seed(3)
    state = g.get_state()
    out = augment_crop_flip(x, g, padding=0)
    g.set_state(state)
    torch.randint(0, 1, (2, 8), generator=g)
    flips = torch.rand(8, generator=g) < 0.5
    assert 0 < int(flips.sum()) < 8
    for i in range(8):
        assert torch.equal(out[i], torch.flip(x[i], dims=[-1]) if flips[i] else x[i])


def test_crop_shifts_by_at_most_four_pixels_and_uses_every_shift():
    b, h, w, r, c = 2000, 32, 32, 13, 10
    x = torch.zeros(b, 1, h, w)
    x[:, 0, r, c] = 1.0
    out = augment_crop_flip(x, torch.Generator().manual_seed(0))
    assert (out.flatten(1).sum(1) == 1).all()  # the dot is never cropped away at 4 pixels from the edge
    where = (out[:, 0] == 1).nonzero()
    rows, cols = where[:, 1], where[:, 2]
    dy = rows - r
    dx = torch.minimum((cols - c).abs(), (cols - (w - 1 - c)).abs())  # flipped dots mirror the column
    assert dy.abs().max() <= 4 and dx.max() <= 4
    assert sorted(set(dy.tolist())) == list(range(-4, 5))
    flipped = (cols - (w - 1 - c)).abs() <= 4
    assert 0.4 < float(flipped.float().mean()) < 0.6


def test_augmentation_refuses_bad_input():
    with pytest.raises(ValueError, match=r"expects \(B, C, H, W\)"):
        augment_crop_flip(torch.zeros(3, 8, 8), torch.Generator())
    with pytest.raises(ValueError, match=r"padding must be a non-negative integer"):
        augment_crop_flip(torch.zeros(1, 1, 8, 8), torch.Generator(), padding=-1)
