"""Small IDX folders cut from the bundled MNIST (the first images of each split)."""

from pathlib import Path

import numpy as np

from sph_viz.data.idx import SPLITS, load_image_folder, write_idx


def write_idx_folder(folder: Path, n_train: int, n_test: int, gz: bool = True) -> Path:
    """The first n images of each bundled MNIST split, as an IDX folder."""
    folder.mkdir(parents=True, exist_ok=True)
    mnist = load_image_folder()
    suffix = ".gz" if gz else ""
    for split, n in (("train", n_train), ("test", n_test)):
        images, labels = SPLITS[split]
        write_idx(folder / (images + suffix), mnist[split].images[:n].numpy())
        write_idx(folder / (labels + suffix), mnist[split].labels[:n].numpy().astype(np.uint8))
    return folder
