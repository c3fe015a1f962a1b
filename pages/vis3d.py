"""CNN-Vis3D on MNIST (Fig. 5): train heads live, then turn the spheres around."""

import streamlit as st

from sph_viz.app.camera import camera_sync
from sph_viz.app.runs import (
    head_specs,
    job_panel,
    pending_runs,
    show_job_errors,
    start_training,
    validate_data_dir,
)
from sph_viz.app.state import (
    ALLOWED_DATA_ENV,
    allowed_data_folders,
    check_data_access,
    config_controls,
    device_text,
    init_state_from_url,
    served_locally,
    show_url_notes,
)
from sph_viz.app.text import plain
from sph_viz.app.views import checkpoint_loader, show_results
from sph_viz.app.vis3d_state import PAGE_FIELDS, PREFIX, keep_view_state, page_values, sync_page_url
from sph_viz.app.widgets import controls
from sph_viz.data.idx import DataError
from sph_viz.experiments.registry import PRESETS
from sph_viz.experiments.vis3d import OVERRIDE, VIS3D_FIELDS

JOB = "vis3d_job"
PRESET_TEXT = {name: p.description for name, p in PRESETS["vis3d"].items()}
init_state_from_url(PREFIX, PAGE_FIELDS)  # settings and view (head, sample, camera) from a shared link
keep_view_state()


def vis3d_controls() -> tuple[dict, str]:
    with st.sidebar:
        st.header("CNN-Vis3D settings")
        brief = {"preset": lambda p: f"{p} — {PRESET_TEXT[p].split(':')[0]}"}
        v = controls("vis3d", VIS3D_FIELDS, brief, group="run")
        with st.expander(OVERRIDE):
            v |= controls("vis3d", VIS3D_FIELDS, group=OVERRIDE)
        v |= controls("vis3d", VIS3D_FIELDS, group="model")
        data_text = data_folder_field()
    return v, data_text


def data_folder_field() -> str:
    """The IDX folder typed in: free on a local server; on a served one, off or limited."""
    label = "IDX data folder (empty: bundled MNIST)"
    if served_locally():
        return st.text_input(label, key="vis3d_data")
    allowed = allowed_data_folders()
    if not allowed:  # the value is ignored too: a crafted request could still send one
        st.text_input(label, key="vis3d_data", disabled=True)
        st.caption(
            "Off: this server is open to the network, and the field would read folders on it. "
            f"Whoever started it can allow folders in {ALLOWED_DATA_ENV}."
        )
        return ""
    st.caption(f"This server reads only the folders in {ALLOWED_DATA_ENV}: {plain(', '.join(allowed))}.")
    return st.text_input(label, key="vis3d_data")


st.title("CNN-Vis3D: MNIST on a sphere")
show_url_notes(PREFIX)
camera_sync(PREFIX)  # before any 3-D view: the browser's camera, reported, goes into their specs
values, data_text = vis3d_controls()
st.caption(f"Preset **{values['preset']}**: {PRESET_TEXT[values['preset']]}. Device: {device_text()}.")
try:
    data_dir = validate_data_dir(check_data_access(data_text))
except DataError as exc:
    st.error(f"Data folder not usable: {plain(exc)} Using the bundled MNIST instead.")
    data_dir = validate_data_dir("")
if not values["heads"]:
    st.info("Choose at least one head in the sidebar.")
    sync_page_url(values)
    st.stop()
specs = head_specs(values, data_dir)
results, missing, running = pending_runs(JOB, specs)
if missing and not running and not st.session_state.get("vis3d_autostarted") and values["preset"] == "quick":
    st.session_state["vis3d_autostarted"] = True  # a first visit trains the quick preset by itself
    start_training(JOB, {h: specs[h] for h in missing}, data_dir)
    running = True
if running:
    job_panel(JOB, data_dir, camera_prefix=PREFIX)
else:
    show_job_errors(JOB)
    c1, c2 = st.columns(2)
    if missing and c1.button(f"▶ Train {', '.join(missing)}", type="primary", key="vis3d_train"):
        start_training(JOB, {h: specs[h] for h in missing}, data_dir)
        st.rerun()
    if results and c2.button("↻ Retrain shown heads", key="vis3d_retrain"):
        start_training(JOB, {h: specs[h] for h in results}, data_dir)
        st.rerun()
shown = {**results, **st.session_state.get("vis3d_uploaded", {})}
if shown:
    st.session_state["vis3d_last_shown"] = shown
    st.caption("Shown: results for exactly this configuration (from this session or the disk cache).")
elif "vis3d_last_shown" in st.session_state:
    shown = st.session_state["vis3d_last_shown"]
    st.info("Nothing trained yet for this configuration: showing the last results that did train.")
if shown:
    show_results(shown, data_dir)
checkpoint_loader(values, data_dir)
with st.sidebar:  # last: the file holds the view as this run left it
    config_controls(PREFIX, PAGE_FIELDS, page_values(values))
sync_page_url(values)
