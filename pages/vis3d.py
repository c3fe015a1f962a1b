"""CNN-Vis3D on MNIST (Fig. 5): train heads live, then turn the spheres around."""

import streamlit as st

from models.vis3d import HEADS
from pages.common import (
    config_controls,
    device_text,
    init_state_from_url,
    show_url_notes,
    sync_url,
)
from pages.mnist_runs import (
    head_specs,
    job_panel,
    pending_runs,
    show_job_errors,
    start_training,
    validate_data_dir,
)
from pages.vis3d_views import checkpoint_loader, show_result
from sph_viz.data import DataError
from sph_viz.params import VIS3D_FIELDS

JOB = "vis3d_job"
init_state_from_url("vis3d", VIS3D_FIELDS)
PRESET_TEXT = {
    "quick": "12,000 training images, 2 epochs: under a minute on a 2-core CPU",
    "fast": "all 60,000 images, 3 epochs (~99 % test accuracy; ~2 min per head on 2 CPU cores)",
    "paper": "the paper's recipe: Adam 1e-3, batch 64, r = 1, 20 epochs (slow on a CPU)",
}


def vis3d_controls() -> tuple[dict, str]:
    with st.sidebar:
        st.header("CNN-Vis3D settings")
        v = {
            "preset": st.selectbox(
                "preset",
                list(PRESET_TEXT),
                key="vis3d_preset",
                format_func=lambda p: f"{p} — {PRESET_TEXT[p].split(':')[0]}",
            ),
            "heads": st.multiselect("heads", HEADS, key="vis3d_heads"),
        }
        with st.expander("Override the preset (0 = keep)"):
            v["epochs"] = int(st.number_input("epochs", 0, 50, key="vis3d_epochs"))
            v["lr"] = st.number_input("learning rate", 0.0, 10.0, step=1e-3, format="%.4f", key="vis3d_lr")
            v["optimizer"] = st.selectbox("optimizer", ["preset", "adam", "sgd"], key="vis3d_optimizer")
            v["batch"] = int(st.number_input("batch size", 0, 2048, key="vis3d_batch"))
            v["max_samples"] = int(
                st.number_input("training images", 0, 60000, step=1000, key="vis3d_max_samples")
            )
        v["radius"] = st.slider("sphere radius r (spherized)", 0.1, 50.0, step=0.1, key="vis3d_radius")
        v["seed"] = int(st.number_input("seed", 0, 2**31 - 1, key="vis3d_seed"))
        data_text = st.text_input("IDX data folder (empty: bundled MNIST)", key="vis3d_data")
        config_controls("vis3d", VIS3D_FIELDS, v)
    return v, data_text


st.title("CNN-Vis3D: MNIST on a sphere")
show_url_notes("vis3d")
values, data_text = vis3d_controls()
sync_url(values)
st.caption(f"Preset **{values['preset']}**: {PRESET_TEXT[values['preset']]}. Device: {device_text()}.")
try:
    data_dir = validate_data_dir(data_text)
except DataError as exc:
    st.error(f"Data folder not usable: {exc} Using the bundled MNIST instead.")
    data_dir = validate_data_dir("")
if not values["heads"]:
    st.info("Choose at least one head in the sidebar.")
    st.stop()
specs = head_specs(values, data_dir)
results, missing, running = pending_runs(JOB, specs)
if missing and not running and not st.session_state.get("vis3d_autostarted") and values["preset"] == "quick":
    st.session_state["vis3d_autostarted"] = True  # a first visit trains the quick preset by itself
    start_training(JOB, {h: specs[h] for h in missing}, data_dir)
    running = True
if running:
    job_panel(JOB, data_dir)
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
    for tab, head in zip(st.tabs(list(shown)), shown, strict=True):
        with tab:
            show_result(head, shown[head], data_dir)
checkpoint_loader(values, data_dir)
