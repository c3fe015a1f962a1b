"""Issue 10 on the pages: Markdown injection, crashes at the edges, uploads, the server's files.

Each test drives a real page through AppTest (the hostile files are in
tests/integration/test_hostile_files.py, the browser ones in tests/e2e/test_hostile_browser.py) and
fails without the handling it names (checked by reverting each handling once; see README, "What we tested").
"""

import json
import logging
import tomllib
from pathlib import Path

import pytest
import streamlit.config
from app_helpers import open_page
from hostile_inputs import PAYLOAD, J, saved, spherized
from streamlit.testing.v1 import AppTest

from sph_viz.results.checkpoints import MAX_MODEL_BYTES, load_checkpoint

ROOT = Path(__file__).resolve().parents[2]


# ---------------------------------------------------------------- model files


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


@pytest.mark.parametrize("kind", ["loop", "long"])
def test_a_looping_or_over_long_data_folder_in_the_page(fresh_app, symlink_loop, kind):
    folder = str(symlink_loop) if kind == "loop" else "/tmp/" + "x" * 5000
    at = vis3d_page(fresh_app, data_dir=None, vis3d_data=folder)
    (error,) = [e.value for e in at.error]
    why = "symbolic link loop" if kind == "loop" else "the path is too long for the file system"
    assert error.startswith("Data folder not usable: ") and why in error and len(error) < 1000


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
