"""Per-server and per-session state: device, result store, session memo, URL and config file.

Session-state keys are prefixed by page ("toy_", "vis3d_", "overlap_", "layer_").

Light to import: the URL and config-file helpers need only Streamlit, so the device, the
result store, the training queue and the data checks import torch (and what the queue
brings) inside the functions that use them; a page that never trains (Home) loads none of it.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import streamlit as st

from sph_viz.app.text import plain
from sph_viz.fields import Field, parse_config_json, parse_values, to_query

if TYPE_CHECKING:
    import torch

    from sph_viz.experiments.result import ExperimentResult
    from sph_viz.results.scheduler import Scheduler, Ticket
    from sph_viz.results.store import ResultStore


@st.cache_resource
def app_device() -> torch.device:
    from sph_viz.training.device import pick_device

    return pick_device("auto")


def device_text() -> str:
    """The device line, e.g. 'CPU (2 threads)', with the thread count the queue will train with."""
    from sph_viz.training.device import describe_device
    from sph_viz.training.threads import configure_threads

    configure_threads()
    return describe_device(app_device())


@st.cache_resource
def result_store() -> ResultStore:
    """Shared by every session; entries are keyed by the full configuration."""
    from sph_viz.results.store import ResultStore

    return ResultStore()


def config_key(config: dict) -> str:
    """The result cache's key of a configuration (`sph_viz.results.store.config_key`)."""
    from sph_viz.results.store import config_key

    return config_key(config)


MEMO_SIZE = 16  # results a session keeps in memory (a CNN-Vis3D result is ~7 MiB)


def recall(memo_name: str, config: dict) -> ExperimentResult | None:
    """The result for config: this session's memo, then the disk cache; None if neither has it."""
    memo = st.session_state.setdefault(memo_name, {})
    key = config_key(config)
    if key not in memo:
        result = result_store().load(config)
        if result is None:
            return None
        remember(memo_name, result)
    return memo[key]


def remember(memo_name: str, result: ExperimentResult) -> None:
    """Keep a result in this session's memo, dropping the oldest past MEMO_SIZE."""
    memo = st.session_state.setdefault(memo_name, {})
    memo[config_key(result.config)] = result
    while len(memo) > MEMO_SIZE:
        memo.pop(next(iter(memo)))


def init_state_from_url(prefix: str, fields: Sequence[Field]) -> None:
    """Once per session and page: validated URL parameters become the widgets' start values."""
    flag = f"{prefix}_from_url"
    if flag in st.session_state:
        return
    names = {f.name for f in fields}
    raw = {k: st.query_params[k] for k in st.query_params if k in names}
    values, notes = parse_values(raw, fields)
    for name, value in values.items():
        st.session_state.setdefault(f"{prefix}_{name}", list(value) if isinstance(value, tuple) else value)
    st.session_state[flag] = notes


def show_url_notes(prefix: str) -> None:
    for note in st.session_state.get(f"{prefix}_from_url", []):
        st.warning(f"URL parameter adjusted: {plain(note)}")


def sync_url(values: dict) -> None:
    """The current configuration in the query string: shareable like TF Playground."""
    query = to_query(values)
    if dict(st.query_params) != query:
        st.query_params.from_dict(query)


def _load_uploaded_config(prefix: str, fields: Sequence[Field]) -> None:
    """on_change of the uploader: runs before the widgets exist, so it may set their values."""
    upload = st.session_state.get(f"{prefix}_config_upload")
    if upload is None:
        return
    try:
        values, notes = parse_config_json(upload.getvalue(), fields)
    except ValueError as exc:
        st.session_state[f"{prefix}_config_error"] = str(exc)
        return
    except Exception:  # a callback runs before the page, outside app.py's catch-all
        logging.getLogger("sph_viz").exception("config file %r not loaded", upload.name)
        st.session_state[f"{prefix}_config_error"] = "it could not be read (details are in the server log)."
        return
    for name, value in values.items():  # a config file is a whole configuration
        st.session_state[f"{prefix}_{name}"] = list(value) if isinstance(value, tuple) else value
    st.session_state[f"{prefix}_config_error"] = None
    st.session_state[f"{prefix}_config_notes"] = notes


def config_controls(prefix: str, fields: Sequence[Field], values: dict) -> None:
    """Download the configuration as JSON, or upload one (validated) to set the widgets."""
    with st.expander("Configuration file"):
        st.download_button(
            "Download config (JSON)",
            json.dumps(values, indent=2, default=list),
            file_name=f"sph-viz-{prefix}.json",
            mime="application/json",
            key=f"{prefix}_config_download",
            on_click="ignore",
        )
        st.file_uploader(
            "Load config (JSON, ≤ 64 KiB)",
            type=["json"],
            key=f"{prefix}_config_upload",
            max_upload_size=1,  # MB; the file itself may be 64 KiB
            on_change=_load_uploaded_config,
            args=(prefix, fields),
        )
        if err := st.session_state.get(f"{prefix}_config_error"):
            st.error(f"Config not loaded: {plain(err)}")
        for note in st.session_state.get(f"{prefix}_config_notes") or []:
            st.warning(f"Config value adjusted: {plain(note)}")


def _session_alive(owner: str) -> bool:
    """Whether the owner's session still has a browser tab connected (always, outside a served app)."""
    from streamlit.runtime import Runtime

    session_id = owner.split("#", 1)[0]
    return not Runtime.exists() or bool(Runtime.instance().is_active_session(session_id))


@st.cache_resource
def scheduler() -> Scheduler:
    """The server's one training queue (`sph_viz.results.scheduler`); torch's threads are set here, once."""
    from sph_viz.results.scheduler import Scheduler
    from sph_viz.training.threads import configure_threads

    configure_threads()
    return Scheduler(is_alive=_session_alive)


def _owner() -> str:
    """This session as the queue knows it: Streamlit's session id (for liveness) and a token of
    the session's own (AppTest gives every session the same id)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    token = st.session_state.setdefault("_queue_owner", uuid.uuid4().hex)
    return f"{ctx.session_id if ctx is not None else 'no-session'}#{token}"


def task_key(task: Callable) -> str | None:
    """The configuration key of a task bound to a run spec (`partial(spec.run, ...)`), else None."""
    spec = getattr(getattr(task, "func", task), "__self__", None)
    config = getattr(spec, "cache_config", None)
    return config_key(config) if isinstance(config, dict) else None


def start_job(key: str, tasks: dict[str, Callable], on_result=None) -> Ticket:
    """This session's request to the server's queue; runs of the same configuration are shared.

    A session has one live request: a new one replaces the previous (see `sph_viz.results.scheduler`).
    """
    ticket = scheduler().submit(
        _owner(), {name: (task_key(task), task) for name, task in tasks.items()}, on_result
    )
    st.session_state[key] = ticket
    return ticket


# ---------------------------------------------------------------- the server's own files

LOCAL_ADDRESSES = ("127.0.0.1", "localhost", "::1")
ALLOWED_DATA_ENV = "SPH_VIZ_ALLOWED_DATA"


def served_locally() -> bool:
    """True when the server listens on this computer only; no address means every interface."""
    return st.get_option("server.address") in LOCAL_ADDRESSES


def allowed_data_folders() -> list[str]:
    """Folders the person who started a served app allows: $SPH_VIZ_ALLOWED_DATA, os.pathsep-separated."""
    return [p.strip() for p in os.environ.get(ALLOWED_DATA_ENV, "").split(os.pathsep) if p.strip()]


def check_data_access(text: str) -> str:
    """text if this server may read that folder (empty: the bundled MNIST); DataError otherwise.

    Decided on the text alone, before the file system is touched, so a refusal tells a remote
    user nothing about which folders exist.
    """
    from sph_viz.data.idx import DataError, show_path

    folder = text.strip()
    if not folder or served_locally():
        return folder
    allowed = allowed_data_folders()
    if os.path.normpath(folder) in {os.path.normpath(p) for p in allowed}:
        return folder
    raise DataError(
        f"the data folder must be one of the folders this server allows ({ALLOWED_DATA_ENV}). "
        f"Got {show_path(folder)!r} instead."
    )
