"""Shared fixtures: small IDX folders cut from the bundled MNIST."""

from pathlib import Path

import numpy as np
import pytest
import streamlit as st

from sph_viz.data.idx import SPLITS, load_image_folder, write_idx
from sph_viz.results import scheduler


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


@pytest.fixture
def small_mnist(tmp_path) -> Path:
    """600 training and 200 test images of MNIST, gzip-compressed."""
    return write_idx_folder(tmp_path / "small", 600, 200)


@pytest.fixture
def fresh_app(tmp_path, monkeypatch):
    """Own disk cache per test, empty Streamlit caches, and no training thread left behind."""
    monkeypatch.setenv("SPH_VIZ_CACHE_DIR", str(tmp_path / "cache"))
    st.cache_data.clear()
    st.cache_resource.clear()
    apps = []
    yield apps
    for at in apps:
        for key in ("vis3d_job", "overlap_job"):
            if key in at.session_state:
                at.session_state[key].stop()
                at.session_state[key].join(120)
    # anything a page queued and no test waited for (a first visit's autostart): cancelled, so no
    # training outlives its test and loads the machine, or the data caches, under the next ones
    for queue in list(scheduler._ALL):
        queue.shutdown()
