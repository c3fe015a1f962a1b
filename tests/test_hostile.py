"""Issue 10: hostile input — bombs, Markdown injection, crashes at the edges, the server's files.

Each test drives a real entry point (library in a subprocess, CLI, AppTest; the browser ones
are in test_hostile_browser.py) and fails without the handling it names (checked by reverting
each handling once; see README, "What we tested").
"""

import io
import json
import logging
import struct
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
import streamlit.config
import torch
from app_helpers import open_page
from streamlit.testing.v1 import AppTest

from models.vis3d import CNNVis3D, Vis3DConfig
from sph_viz.results.checkpoints import MAX_MODEL_BYTES, inflated_limit, load_checkpoint

ROOT = Path(__file__).resolve().parent.parent
GIB = 2**30
BOMB_GIB = 3  # what the bomb inflates to; its file is ~3 MB
PAYLOAD = "[Session expired - log in again](https://example.invalid) ![t](https://example.invalid/t.png)"
J = "\u2060"  # the word joiner plain() puts after "https:" so no link is recognised


# ---------------------------------------------------------------- model files


def spherized() -> CNNVis3D:
    return CNNVis3D(Vis3DConfig("spherized"))


def saved(state: dict) -> bytes:
    buf = io.BytesIO()
    torch.save(state, buf)
    return buf.getvalue()


def make_model_bomb(path: Path, inflated_gib: int = BOMB_GIB) -> Path:
    """A real torch.save archive whose first tensor record is inflated_gib GiB of deflated zeros."""
    zeros = bytes(2**20)
    with (
        zipfile.ZipFile(io.BytesIO(saved(spherized().state_dict()))) as src,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as dst,
    ):
        for info in src.infolist():
            if "/data/" not in info.filename:
                dst.writestr(info.filename, src.read(info))
            elif not info.filename.endswith("/data/0"):
                dst.writestr(info.filename, bytes(info.file_size))  # zeros: the file stays small
            else:
                with dst.open(info.filename, "w", force_zip64=True) as member:
                    for _ in range(inflated_gib * 1024):
                        member.write(zeros)
    return path


def model_bomb_file(tmp_path_factory) -> Path:
    """The bomb, built once per test session (~20 s) and shared with the browser tests."""
    path = tmp_path_factory.getbasetemp() / "model-bomb.pt"
    if not path.exists():
        make_model_bomb(path.with_suffix(".part")).rename(path)
    return path


@pytest.fixture(scope="module")
def model_bomb(tmp_path_factory) -> Path:
    return model_bomb_file(tmp_path_factory)


CHILD = """
import resource, sys
from models.vis3d import CNNVis3D, Vis3DConfig
from sph_viz.results.checkpoints import load_checkpoint
data = open(sys.argv[1], "rb").read()
try:
    load_checkpoint(data, CNNVis3D(Vis3DConfig("spherized")))
    print("loaded")
except ValueError as exc:
    print(exc)
# VmHWM is this process's own peak; ru_maxrss carries pytest's RSS over fork and exec
print(next(int(s.split()[1]) for s in open("/proc/self/status") if s.startswith("VmHWM:")) * 1024)
"""


def load_in_child(path: Path) -> tuple[str, int]:
    """(the message, the peak resident memory in bytes) of load_checkpoint in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    message, peak = out.stdout.strip().rsplit("\n", 1)
    return message, int(peak)


def test_model_zip_bomb_is_refused_from_its_directory(model_bomb):
    inflated = sum(i.file_size for i in zipfile.ZipFile(model_bomb).infolist())
    assert model_bomb.stat().st_size < 4 * 2**20 and inflated > BOMB_GIB * GIB  # a real bomb
    message, peak = load_in_child(model_bomb)
    assert peak < GIB, f"peak {peak / 2**20:.0f} MiB"
    limit = inflated_limit(spherized()) / 2**20
    assert message == (
        f"model file would inflate to {inflated / 2**20:,.1f} MiB; the limit for this architecture "
        f"is {limit:.1f} MiB."
    )


def with_a_second_directory(data: bytes) -> bytes:
    """data plus a harmless copy of its directory where zipfile looks (just before the end record);
    the end record still points torch's reader (miniz) at the real one."""
    end = data.rindex(b"PK\x05\x06")
    size, offset = struct.unpack_from("<II", data, end + 12)
    real = data[offset : offset + size]
    huge = struct.pack("<Q", BOMB_GIB * GIB)  # the bomb's size in its zip64 extra field
    assert real.count(huge) == 1
    fake = real.replace(huge, struct.pack("<Q", 1152))
    record = bytearray(data[end:])
    struct.pack_into("<II", record, 12, len(fake), offset)
    return data[: offset + size] + fake + bytes(record)


def test_a_second_directory_cannot_hide_the_bomb(model_bomb, tmp_path):
    crafted = tmp_path / "two-directories.pt"
    crafted.write_bytes(with_a_second_directory(model_bomb.read_bytes()))
    small = [i.file_size for i in zipfile.ZipFile(crafted).infolist()]
    assert sum(small) < inflated_limit(spherized())  # zipfile's view passes the size check
    message, peak = load_in_child(crafted)
    assert peak < GIB, f"peak {peak / 2**20:.0f} MiB"
    assert message.startswith("not a plain PyTorch state_dict (refused by the safe loader: damaged zip")


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_nan_or_inf_weights_are_refused_naming_the_tensors(bad):
    state = spherized().state_dict()
    state["trunk.0.weight"][0, 0, 0, 0] = bad
    state["trunk.1.running_var"][1] = bad
    with pytest.raises(
        ValueError,
        match=r"weights must be finite. Got NaN or Inf in trunk.0.weight, trunk.1.running_var instead.",
    ):
        load_checkpoint(saved(state), spherized())


def test_legacy_and_crowded_archives_are_refused():
    state = spherized().state_dict()
    buf = io.BytesIO()
    torch.save(state, buf, _use_new_zipfile_serialization=False)  # sizes read from the stream itself
    with pytest.raises(ValueError, match="refused by the safe loader: not a zip archive"):
        load_checkpoint(buf.getvalue(), spherized())
    out = io.BytesIO()  # thousands of tiny members: zipfile would build an object for each
    with zipfile.ZipFile(io.BytesIO(saved(state))) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
        for k in range(5000):
            dst.writestr(f"archive/extra/{k}", b"")
    with pytest.raises(ValueError, match=r"refused by the safe loader: more than \d+ archive members"):
        load_checkpoint(out.getvalue(), spherized())


def test_upload_limits_agree(fresh_app, small_mnist):
    # Streamlit's MB is 10^6 bytes in a browser on Linux and macOS: the promise must fit under it
    mb = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]["maxUploadSize"]
    assert mb * 10**6 >= MAX_MODEL_BYTES
    with pytest.raises(ValueError, match="not a zip archive"):  # at the limit: read, not refused for size
        load_checkpoint(bytes(MAX_MODEL_BYTES), spherized())
    with pytest.raises(ValueError, match=f"the limit is {MAX_MODEL_BYTES // 2**20} MiB"):
        load_checkpoint(bytes(MAX_MODEL_BYTES + 1), spherized())
    at = vis3d_page(fresh_app, small_mnist)
    assert f"Load a trained model (a state_dict file, ≤ {MAX_MODEL_BYTES // 2**20} MiB)" in [
        e.label for e in at.expander
    ]


# ---------------------------------------------------------------- user text is shown as text


def test_markdown_in_the_url_is_shown_as_text(fresh_app):
    at = open_page(fresh_app, "pages/overlap.py", query={"tau": PAYLOAD, "preset": PAYLOAD})
    warnings = [w.value for w in at.warning]
    escaped = (
        f"[Session expired - log in again]\\(https\\:{J}//example.invalid\\) "
        f"![t]\\(https\\:{J}//example.invalid/t.png\\)"
    )
    assert (
        f"URL parameter adjusted: tau: '[Session expired - log in again]\\(https\\:{J}/' is not a valid "
        "float; using 1e-06."
    ) in warnings
    assert (
        f"URL parameter adjusted: preset: '{escaped}' is not one of quick, fast, paper; using 'quick'."
        in warnings
    )


def upload(at, key: str, name: str, data: bytes):
    at.file_uploader(key=key).set_value((name, data, "application/octet-stream")).run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_config_file_text_is_shown_as_text(fresh_app):
    at = open_page(fresh_app, "pages/layer.py")
    config = {"alpha": "[x](https://example.invalid)", "![t](https://example.invalid/t.png)": 1}
    upload(at, "layer_config_upload", "c.json", json.dumps(config).encode())
    notes = [w.value for w in at.warning]
    assert notes == [
        f"Config value adjusted: alpha: '[x]\\(https\\:{J}//example.invalid\\)' is not a valid float; using 1.0.",
        f"Config value adjusted: ignored unknown parameter\\(s\\): ![t]\\(https\\:{J}//example.invalid/t.png\\).",
    ]


def vis3d_page(apps, data_dir: Path | None = None, **state):
    """The CNN-Vis3D page without its first-visit training."""
    state = {"vis3d_autostarted": True, **state}
    if data_dir is not None:
        state.setdefault("vis3d_data", str(data_dir))
    return open_page(apps, "pages/vis3d.py", query={"preset": "fast"}, state=state)


def test_uploaded_models_show_their_names_as_text_and_only_the_last_four_stay(fresh_app, small_mnist):
    at = vis3d_page(fresh_app, small_mnist, vis3d_ckpt_head="spherized")
    data = saved(spherized().state_dict())
    names = [f"[m{k}](https:example.invalid).pt" for k in range(5)]
    for name in names:
        upload(at, "vis3d_ckpt_file", name, data)
        (success,) = [s.value for s in at.success]
        assert success.startswith(f"Loaded [m{name[2]}]\\(https\\:{J}example.invalid\\).pt: test accuracy")
    assert list(at.session_state["vis3d_uploaded"]) == [f"spherized · {n}" for n in names[1:]]
    at.run()
    assert at.radio(key="vis3d_head_shown").options == [  # the head chooser
        f"spherized · [m{k}]\\(https\\:{J}example.invalid\\).pt" for k in range(1, 5)
    ]
    assert any("The last 4 models loaded are shown" in c.value for c in at.caption)


# ---------------------------------------------------------------- exceptions at the edges


def test_a_failing_page_shows_a_short_message_and_logs_the_traceback(fresh_app, monkeypatch, caplog):
    def broken() -> str:
        raise RuntimeError("/srv/secret/place is gone")

    monkeypatch.setattr("sph_viz.app.state.device_text", broken)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)  # the Home page, through app.py
    with caplog.at_level(logging.ERROR, logger="sph_viz"):
        at.run()
    assert not at.exception, [e.message for e in at.exception]
    (error,) = [e.value for e in at.error]
    assert error.startswith("Something went wrong on this page") and "server log" in error
    shown = " ".join(
        e.value for kind in ("markdown", "error", "warning", "caption", "code") for e in at.get(kind)
    )
    assert "/srv/secret" not in shown and "Traceback" not in shown
    (record,) = [r for r in caplog.records if r.name == "sph_viz"]
    assert record.exc_info and "/srv/secret/place is gone" in str(record.exc_info[1])


def test_st_stop_is_not_reported_as_an_error(fresh_app, small_mnist):
    at = vis3d_page(fresh_app, small_mnist, vis3d_heads=[])
    assert [i.value for i in at.info] == ["Choose at least one head in the sidebar."]
    assert not at.error


@pytest.mark.parametrize("digits", [310, 4300])
@pytest.mark.parametrize("name", ["seed", "epochs"])
def test_huge_numbers_in_the_url_become_a_note(fresh_app, name, digits):
    at = open_page(fresh_app, "pages/vis3d.py", query={"preset": "fast", name: "9" * digits})
    notes = " ".join(w.value for w in at.warning)
    assert f"URL parameter adjusted: {name}: '{'9' * 40}' is not a valid int" in notes


def test_hostile_config_files_become_messages(fresh_app, small_mnist):
    at = vis3d_page(fresh_app, small_mnist)
    cases = [
        (b'{"seed": ' + b"9" * 4300 + b"}", "warning", "Config value adjusted: seed: 999"),
        (b'{"epochs": ' + b"9" * 310 + b"}", "warning", "Config value adjusted: epochs: 999"),
        (
            b'{"seed": ' + b"9" * 4301 + b"}",
            "error",
            "Config not loaded: Exceeds the limit \\(4300 digits\\)",
        ),
        (b'{"seed": ' + b"[" * 1000 + b"]" * 1000 + b"}", "error", "Config not loaded: config file is not"),
    ]
    for data, kind, start in cases:
        upload(at, "vis3d_config_upload", "c.json", data)
        messages = [m.value for m in getattr(at, kind)]
        assert any(m.startswith(start) for m in messages), messages
        assert all(len(m) < 1000 for m in messages)  # a 4,300-digit number is shortened


@pytest.fixture
def symlink_loop(tmp_path) -> Path:
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    return loop


@pytest.mark.parametrize("kind", ["loop", "long"])
def test_a_looping_or_over_long_data_folder_in_the_page(fresh_app, symlink_loop, kind):
    folder = str(symlink_loop) if kind == "loop" else "/tmp/" + "x" * 5000
    at = vis3d_page(fresh_app, data_dir=None, vis3d_data=folder)
    (error,) = [e.value for e in at.error]
    why = "symbolic link loop" if kind == "loop" else "the path is too long for the file system"
    assert error.startswith("Data folder not usable: ") and why in error and len(error) < 1000


def test_a_looping_data_folder_on_the_command_line(symlink_loop):
    out = subprocess.run(
        [sys.executable, "-m", "sph_viz", "vis3d", "--data", str(symlink_loop), "--epochs", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert [line for line in out.stderr.splitlines() if line.startswith("error:")] == [
        f"error: {symlink_loop}: symbolic link loop (the path leads back to itself)."
    ]


# ---------------------------------------------------------------- the server's own files


@pytest.fixture
def served_on_the_network():
    """server.address as `streamlit run app.py --server.address 0.0.0.0` sets it."""
    before = streamlit.config.get_option("server.address")
    streamlit.config.set_option("server.address", "0.0.0.0")
    yield
    streamlit.config.set_option("server.address", before)


def test_the_data_folder_field_is_off_on_a_served_app(fresh_app, served_on_the_network):
    at = vis3d_page(fresh_app, data_dir=None, vis3d_data="/no/such/folder")
    assert at.text_input(key="vis3d_data").disabled
    assert any(c.value.startswith("Off: this server is open to the network") for c in at.caption)
    assert not at.error  # the typed folder is not even looked at: the bundled MNIST is used


def test_a_served_app_reads_only_the_allowed_folders(
    fresh_app, served_on_the_network, small_mnist, monkeypatch
):
    monkeypatch.setenv("SPH_VIZ_ALLOWED_DATA", str(small_mnist))
    at = vis3d_page(fresh_app, data_dir=None, vis3d_data=str(ROOT / "data" / "mnist"))
    field = at.text_input(key="vis3d_data")
    assert not field.disabled
    for folder in (str(ROOT / "data" / "mnist"), "/no/such/folder"):  # existing or not: the same answer
        field.input(folder).run()
        (error,) = [e.value for e in at.error]
        assert "must be one of the folders this server allows \\(SPH_VIZ_ALLOWED_DATA\\)" in error
        assert "not found" not in error
    field.input(str(small_mnist) + "/").run()
    assert not at.error
