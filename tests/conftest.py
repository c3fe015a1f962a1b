"""Shared fixtures: small IDX folders cut from the bundled MNIST, awkward folders, a fresh app.

The tiers live in folders (unit/, app/, integration/, e2e/); each folder's conftest marks what
it collects (`tiers.mark_folder`). The helpers in this folder (app_helpers, idx_folders, servers, ...)
import from any tier.
"""

import os
from pathlib import Path

if os.environ.get("PYTEST_XDIST_WORKER"):
    # one worker per core (pyproject's `-n auto`): each computes on one thread, set before torch
    # loads, and so do the servers and interpreters it starts; n workers of n threads each only spin
    os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest
import streamlit as st
from idx_folders import write_idx_folder
from prepared import TINY_TEST, TINY_TRAIN, VIS3D_QUERY, vis3d_specs

from sph_viz.data.idx import write_idx
from sph_viz.experiments.result import ExperimentResult
from sph_viz.results import scheduler


@pytest.fixture
def small_mnist(tmp_path) -> Path:
    """600 training and 200 test images of MNIST, gzip-compressed."""
    return write_idx_folder(tmp_path / "small", 600, 200)


@pytest.fixture(scope="session")
def tiny_folder(tmp_path_factory) -> Path:
    """The first 600 training and 200 test images of MNIST, shared by the session (read only)."""
    return write_idx_folder(tmp_path_factory.mktemp("tiny") / "idx", TINY_TRAIN, TINY_TEST)


@pytest.fixture(scope="session")
def vis3d_results(tiny_folder) -> dict[str, ExperimentResult]:
    """Both heads of `VIS3D_QUERY` trained once on the tiny folder: what the CNN-Vis3D page trains
    for that query and that folder, under its own configuration."""
    return {head: spec.run() for head, spec in vis3d_specs(VIS3D_QUERY, tiny_folder).items()}


@pytest.fixture
def wrong_size_folder(tmp_path) -> Path:
    """An IDX folder of 20x20 images: readable, but not what CNN-Vis3D takes."""
    rng = np.random.default_rng(0)
    for stem, n in (("train", 20), ("t10k", 10)):
        write_idx(tmp_path / f"{stem}-images-idx3-ubyte", rng.integers(0, 256, (n, 20, 20)))
        write_idx(tmp_path / f"{stem}-labels-idx1-ubyte", rng.integers(0, 10, n))
    return tmp_path


@pytest.fixture
def symlink_loop(tmp_path) -> Path:
    """A symbolic link that points at itself."""
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    return loop


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
