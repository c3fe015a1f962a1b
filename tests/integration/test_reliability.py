"""Issue 4: bad input gets a clear answer, nothing is lost, nothing handed in is executed.

Each test drives a real entry point (library, CLI, a killed subprocess; the pages are in
tests/app/test_reliability_pages.py) and fails without the handling it names (checked by
reverting the handling once; see README, "What we tested").
"""

import io
import pickle
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import torch

from models.toy import ToyConfig
from models.vis3d import CNNVis3D, Vis3DConfig
from sph_viz.cli.main import main
from sph_viz.experiments.toy import TOY_FIELDS, run_toy
from sph_viz.experiments.vis3d import VIS3D_FIELDS
from sph_viz.fields import parse_config_json, parse_values
from sph_viz.results.checkpoints import load_checkpoint
from sph_viz.results.outputs import atomic_write_bytes
from sph_viz.results.store import MAGIC, ResultStore, config_key
from sph_viz.training.config import TrainConfig

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- data folders


def test_wrong_image_size_on_the_command_line(wrong_size_folder, capsys):
    assert main(["vis3d", "--data", str(wrong_size_folder), "--epochs", "1"]) == 2
    assert "CNN-Vis3D needs 28x28 images; the train images are 20x20." in capsys.readouterr().err


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


def test_tau_outside_0_1_is_refused_on_the_command_line(capsys):
    assert main(["overlap", "--tau", "0", "--from", "x"]) == 2
    assert "error: tau must be in (0, 1). Got 0.0 instead." in capsys.readouterr().err


# ---------------------------------------------------------------- interruption


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


@pytest.mark.slow  # a fresh interpreter killed mid-write, per stage
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
