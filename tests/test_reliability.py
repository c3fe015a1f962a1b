"""Issue 4: bad input gets a clear answer, nothing is lost, nothing handed in is executed.

Each test drives a real entry point (library, CLI, AppTest) and fails without the handling
it names (checked by reverting the handling once; see README, "What we tested").
"""

import io
import os
import pickle
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch
from app_helpers import PAGES, open_page

from models.toy import ToyConfig
from models.vis3d import CNNVis3D, Vis3DConfig
from sph_viz.cli.main import main
from sph_viz.data.idx import write_idx
from sph_viz.experiments.toy import TOY_FIELDS, run_toy
from sph_viz.experiments.vis3d import VIS3D_FIELDS
from sph_viz.fields import parse_config_json, parse_values
from sph_viz.results.checkpoints import load_checkpoint
from sph_viz.results.outputs import atomic_write_bytes
from sph_viz.results.store import MAGIC, ResultStore, config_key
from sph_viz.training.config import TrainConfig

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- data folders


@pytest.fixture
def wrong_size_folder(tmp_path) -> Path:
    rng = np.random.default_rng(0)
    for stem, n in (("train", 20), ("t10k", 10)):
        write_idx(tmp_path / f"{stem}-images-idx3-ubyte", rng.integers(0, 256, (n, 20, 20)))
        write_idx(tmp_path / f"{stem}-labels-idx1-ubyte", rng.integers(0, 10, n))
    return tmp_path


def test_wrong_image_size_on_the_command_line(wrong_size_folder, capsys):
    assert main(["vis3d", "--data", str(wrong_size_folder), "--epochs", "1"]) == 2
    assert "CNN-Vis3D needs 28x28 images; the train images are 20x20." in capsys.readouterr().err


@pytest.mark.parametrize("folder", ["/no/such/folder", "WRONG_SIZE"])
def test_bad_data_folder_in_the_page_says_why_and_keeps_the_bundled_data(
    fresh_app, folder, wrong_size_folder
):
    folder = str(wrong_size_folder) if folder == "WRONG_SIZE" else folder
    at = open_page(fresh_app, "pages/vis3d.py", state={"vis3d_data": folder, "vis3d_autostarted": True})
    (error,) = [e.value for e in at.error]
    assert error.startswith("Data folder not usable: ") and "Using the bundled MNIST instead." in error
    assert ("data folder not found" in error) or ("needs 28x28 images" in error)
    assert at.button(key="vis3d_train")  # the page still works, on the bundled MNIST


# ---------------------------------------------------------------- parameters


@pytest.mark.parametrize(
    ("raw", "note"),
    [
        ({"lr": "abc"}, "lr: 'abc' is not a valid float; using 0.01."),
        ({"lr": "-1"}, "lr: -1.0 is outside [0.0001, 1]; using 0.0001."),
        ({"lr": "0"}, "lr: 0.0 is outside [0.0001, 1]; using 0.0001."),
        ({"lr": "nan"}, "lr: 'nan' is not a valid float; using 0.01."),
        ({"epochs": "1e9"}, "epochs: '1e9' is not a valid int; using 100."),
        ({"epochs": "100000"}, "epochs: 100000 is outside [1, 500]; using 500."),
        ({"radius": "0"}, "radius: 0.0 is outside [0.1, 20]; using 0.1."),
        ({"batch_size": True}, "batch_size: True is not a valid int; using 16."),
        ({"colour": "red"}, "ignored unknown parameter(s): colour."),
    ],
)
def test_toy_parameters_are_clamped_or_replaced_with_a_note(raw, note):
    values, notes = parse_values(raw, TOY_FIELDS)
    assert notes == [note]
    assert set(values) == {f.name for f in TOY_FIELDS}


def test_unknown_model_names_are_refused():
    values, notes = parse_values({"heads": "spherized,cosface", "preset": "turbo"}, VIS3D_FIELDS)
    assert values["heads"] == ("spherized",) and values["preset"] == "quick"
    assert "heads: 'cosface' is not a known choice; using spherized." in notes
    assert "preset: 'turbo' is not one of quick, fast, paper; using 'quick'." in notes


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"{not json", "config file is not valid JSON"),
        (b"[1, 2]", "config file must hold a JSON object. Got list instead."),
        (b"\xff\xfe", "config file is not valid JSON"),
        (b" " * 70_000, "config file is 70,000 bytes; the limit is 65,536."),
    ],
)
def test_bad_config_files_are_refused(data, match):
    with pytest.raises(ValueError, match=match):
        parse_config_json(data, TOY_FIELDS)


@pytest.mark.parametrize("page", PAGES)
def test_junk_in_the_url_never_crashes_a_page(fresh_app, page):
    junk = {
        "lr": "<script>",
        "epochs": "-1e999",
        "tau": "2",
        "heads": "x,,y",
        "preset": "%00",
        "radius": "inf",
    }
    at = open_page(fresh_app, page, query=junk, state={"vis3d_autostarted": True})
    assert not at.exception


def test_tau_outside_0_1_is_refused_on_the_command_line(capsys):
    assert main(["overlap", "--tau", "0", "--from", "x"]) == 2
    assert "error: tau must be in (0, 1). Got 0.0 instead." in capsys.readouterr().err


# ---------------------------------------------------------------- divergence


def test_divergence_in_the_page_keeps_the_last_good_results(fresh_app, small_mnist):
    base = {"preset": "paper", "heads": "original3d", "epochs": "3", "max_samples": "600"}
    state = {"vis3d_data": str(small_mnist)}
    at = open_page(fresh_app, "pages/vis3d.py", query=base, state=state)
    at.button(key="vis3d_train").click().run()
    at.session_state["vis3d_job"].join(300)
    at.run()
    good = at.session_state["vis3d_last_shown"]["original3d"]
    at.session_state["vis3d_optimizer"] = "sgd"
    at.session_state["vis3d_lr"] = 10.0
    at.run()
    at.button(key="vis3d_train").click().run()
    at.session_state["vis3d_job"].join(300)
    at.run()
    errors = " ".join(e.value for e in at.error)
    assert (
        "original3d: training diverged: the loss became" in errors and "Try a smaller learning rate" in errors
    )
    assert "showing the last results that did train" in " ".join(i.value for i in at.info)
    assert at.session_state["vis3d_last_shown"]["original3d"] is good
    assert any(f"test accuracy **{good.test_accuracy:.2%}**" in m.value for m in at.markdown)
    assert len(list((Path(os.environ["SPH_VIZ_CACHE_DIR"])).glob("*.sphviz"))) == 1  # the good one only


# ---------------------------------------------------------------- interruption


def test_stop_keeps_the_model_and_does_not_cache_it(fresh_app, small_mnist):
    query = {"preset": "quick", "heads": "spherized", "epochs": "50", "max_samples": "600"}
    at = open_page(fresh_app, "pages/vis3d.py", query=query, state={"vis3d_data": str(small_mnist)})
    job = at.session_state["vis3d_job"]
    at.button(key="vis3d_job_stop").click().run()
    job.join(300)
    view = job.view()
    assert view.status == "stopped"
    (res,) = view.results.values()
    assert res.train.stopped and res.train.steps < 50 * 10
    assert not list(Path(os.environ["SPH_VIZ_CACHE_DIR"]).glob("*.sphviz"))  # a stopped run is not cached


@pytest.fixture(scope="module")
def toy_result():
    return run_toy(ToyConfig("spherized"), TrainConfig(epochs=2))


@pytest.mark.parametrize("damage", ["truncate", "flip", "foreign", "empty"])
def test_damaged_cache_entries_are_ignored_and_removed(tmp_path, toy_result, damage):
    store = ResultStore(tmp_path)
    path = store.save(toy_result)
    blob = path.read_bytes()
    damaged = {
        "truncate": blob[: len(blob) // 2],
        "flip": blob[:-10] + bytes([blob[-10] ^ 1]) + blob[-9:],
        "foreign": b"PK\x03\x04" + blob[4:],
        "empty": b"",
    }[damage]
    path.write_bytes(damaged)
    assert store.load(toy_result.config) is None
    assert not path.exists()
    store.save(toy_result)  # and the next save repairs it
    assert store.load(toy_result.config).train.history_dicts() == toy_result.train.history_dicts()


KILL_SCRIPT = """
import os, signal, sys
from pathlib import Path
import sph_viz.results.outputs as out
target, stage = Path(sys.argv[1]), sys.argv[2]
real_fsync, real_replace = os.fsync, os.replace
def die(*a):
    os.kill(os.getpid(), signal.SIGKILL)
if stage == "mid-write":
    out.os.fsync = die  # killed after writing, before the data is safe
else:
    out.os.replace = die  # killed after the temporary file is complete, before the rename
out.atomic_write_bytes(target, b"NEW" * 1_000_000)
"""


@pytest.mark.parametrize("stage", ["mid-write", "before-rename"])
def test_a_killed_writer_never_leaves_half_a_file(tmp_path, stage):
    target = tmp_path / "entry.sphviz"
    target.write_bytes(b"OLD")
    proc = subprocess.run([sys.executable, "-c", KILL_SCRIPT, str(target), stage], cwd=ROOT, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert target.read_bytes() == b"OLD"  # the real name still holds the complete old file


def test_a_leftover_temporary_file_is_not_an_entry(tmp_path, toy_result):
    store = ResultStore(tmp_path)
    path = store.path(toy_result.config)
    (tmp_path / f".{path.name}.abc.tmp").write_bytes(MAGIC + b"half")
    assert store.load(toy_result.config) is None


def test_interrupted_write_cleans_up(tmp_path, monkeypatch):
    target = tmp_path / "x.bin"
    monkeypatch.setattr(
        "sph_viz.results.outputs.os.replace", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt)
    )
    with pytest.raises(KeyboardInterrupt):
        atomic_write_bytes(target, b"data")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- model files


class CreatesAFile:
    """Unpickling this runs open(path, 'w'): a crafted pickle with a visible side effect."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # the raw pickle's own protocol
@pytest.mark.parametrize("as_torch_file", [True, False])
def test_crafted_pickle_is_refused_and_has_no_effect(tmp_path, as_torch_file):
    marker = tmp_path / "pwned.txt"
    payload = {"trunk.0.weight": CreatesAFile(marker)}
    buf = io.BytesIO()
    torch.save(payload, buf) if as_torch_file else pickle.dump(payload, buf)
    data = buf.getvalue()
    # the payload is live: plain unpickling would create the file
    proof = tmp_path / "proof.txt"
    pickle.loads(pickle.dumps({"x": CreatesAFile(proof)}))
    assert proof.exists()
    with pytest.raises(ValueError, match="refused by the safe loader"):
        load_checkpoint(data, CNNVis3D(Vis3DConfig("spherized")))
    assert not marker.exists()


def test_model_file_limits_and_architecture():
    model = CNNVis3D(Vis3DConfig("spherized"))
    with pytest.raises(ValueError, match=r"model file is 2.0 MiB; the limit is 1 MiB"):
        load_checkpoint(b"0" * 2 * 2**20, model, max_bytes=2**20)
    buf = io.BytesIO()
    torch.save(CNNVis3D(Vis3DConfig("original2d")).state_dict(), buf)
    with pytest.raises(ValueError, match=r"state_dict does not fit this architecture: .*wrong shape"):
        load_checkpoint(buf.getvalue(), model)
    buf = io.BytesIO()
    torch.save(torch.zeros(3), buf)
    with pytest.raises(ValueError, match="does not hold a state_dict"):
        load_checkpoint(buf.getvalue(), model)
    buf = io.BytesIO()
    torch.save(CNNVis3D(Vis3DConfig("spherized", radius=2.0)).state_dict(), buf)
    loaded = load_checkpoint(buf.getvalue(), model)  # the real thing loads, radius included
    assert loaded.feature[-1].radius.item() == 2.0


# ---------------------------------------------------------------- concurrency


def test_two_sessions_keep_their_own_results(fresh_app, small_mnist):
    common = {"preset": "quick", "heads": "spherized", "epochs": "1", "max_samples": "300"}
    state = {"vis3d_data": str(small_mnist)}
    a = open_page(fresh_app, "pages/vis3d.py", query={**common, "radius": "2"}, state=state)
    b = open_page(fresh_app, "pages/vis3d.py", query={**common, "radius": "7"}, state=state)
    assert a.session_state["vis3d_job"] is not b.session_state["vis3d_job"]  # both train at once
    for at in (a, b):
        at.session_state["vis3d_job"].join(300)
        at.run()
    ra, rb = (at.session_state["vis3d_last_shown"]["spherized"] for at in (a, b))
    assert np.allclose(np.linalg.norm(ra.features, axis=1), 2.0, rtol=1e-5)
    assert np.allclose(np.linalg.norm(rb.features, axis=1), 7.0, rtol=1e-5)
    assert len(list(Path(os.environ["SPH_VIZ_CACHE_DIR"]).glob("*.sphviz"))) == 2


def test_a_cached_result_is_shared_only_for_the_same_configuration(toy_result, tmp_path):
    store = ResultStore(tmp_path)
    store.save(toy_result)
    same = {**toy_result.config}
    other = {**toy_result.config, "noise": 0.06}
    assert config_key(same) == config_key(toy_result.config) and store.load(same) is not None
    assert config_key(other) != config_key(toy_result.config) and store.load(other) is None


# ---------------------------------------------------------------- serving


def test_server_listens_on_localhost_by_default():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"
    assert config["server"]["maxUploadSize"] <= 64
