"""Fake CIFAR-10 folders (binary version): records written here, never downloaded."""

from pathlib import Path

import numpy as np

from sph_viz.data.cifar import CIFAR10_SPLITS


def _records(rng, n: int) -> tuple[bytes, np.ndarray, np.ndarray]:
    """n records: label byte, then R, G, B planes of 32x32, row-major."""
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 256, (n, 3, 32, 32)).astype(np.uint8)
    raw = np.concatenate([labels[:, None], images.reshape(n, -1)], axis=1).tobytes()
    return raw, images, labels


def write_cifar(
    folder: Path, n_per_batch: int = 3, seed: int = 0
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """A fake binary-version folder; returns the images and labels written for each split."""
    folder.mkdir(parents=True, exist_ok=True)
    rng, written = np.random.default_rng(seed), {}
    for split, names in CIFAR10_SPLITS.items():
        parts = []
        for name in names:
            raw, images, labels = _records(rng, n_per_batch)
            (folder / name).write_bytes(raw)
            parts.append((images, labels))
        written[split] = (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
    return written
