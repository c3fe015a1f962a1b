"""CNN-Vis3D on MNIST (Fig. 5): train heads live, then turn the spheres around."""

import numpy as np
import streamlit as st

from models.vis3d import HEADS
from pages.common import (
    config_controls,
    data_downloads,
    device_text,
    figure_downloads,
    init_state_from_url,
    show_url_notes,
    sync_url,
)
from pages.mnist_runs import (
    harvest,
    head_specs,
    job_panel,
    lookup,
    show_job_errors,
    start_training,
    validate_data_dir,
)
from sph_viz.data import DataError, load_image_folder
from sph_viz.figures_sphere import make_feature_figure
from sph_viz.geometry import compute_sphere_angles
from sph_viz.params import VIS3D_FIELDS
from sph_viz.reports import sphere_radius

JOB = "vis3d_job"
init_state_from_url("vis3d", VIS3D_FIELDS)
PRESET_TEXT = {
    "quick": "12,000 training images, 2 epochs: under a minute on a 2-core CPU",
    "fast": "all 60,000 images, 3 epochs (~99 % test accuracy; ~3 min per head on 2 CPU cores)",
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
            v["lr"] = st.number_input("learning rate", 0.0, 0.1, step=1e-3, format="%.4f", key="vis3d_lr")
            v["batch"] = int(st.number_input("batch size", 0, 2048, key="vis3d_batch"))
            v["max_samples"] = int(
                st.number_input("training images", 0, 60000, step=1000, key="vis3d_max_samples")
            )
        v["radius"] = st.slider("sphere radius r (spherized)", 0.1, 50.0, step=0.1, key="vis3d_radius")
        v["seed"] = int(st.number_input("seed", 0, 2**31 - 1, key="vis3d_seed"))
        data_text = st.text_input("IDX data folder (empty: bundled MNIST)", key="vis3d_data")
        config_controls("vis3d", VIS3D_FIELDS, v)
    return v, data_text


def sample_inspector(head: str, res, images) -> None:
    """One test image with its label, prediction, norm and angles."""
    key = f"vis3d_sample_{head}"
    idx = int(st.number_input("sample #", 0, len(res.labels) - 1, key=key))
    f = res.features[idx]
    angles = np.degrees(compute_sphere_angles(f[None]))[0]
    st.image(images[idx].numpy(), width=140, clamp=True)
    st.markdown(
        f"label **{res.labels[idx]}**, predicted **{res.predictions[idx]}**  \n"
        f"‖x‖ = {np.linalg.norm(f):.5f}, angles = {', '.join(f'{a:.2f}°' for a in angles)}"
    )


def show_result(head: str, res, data_dir: str) -> None:
    acc = f"test accuracy **{res.test_accuracy:.2%}**, train accuracy {res.train_accuracy:.2%}"
    stopped = " (stopped early)" if res.train.stopped else ""
    st.markdown(
        f"{acc} · {res.train.steps:,} steps in {res.train.seconds:.0f} s on {res.train.device}{stopped}"
    )
    radius = sphere_radius(res.model)
    images = load_image_folder(data_dir)["test"].images
    main, side = st.columns([3, 1])
    sel_key = f"vis3d_fig_{head}"
    highlight = [st.session_state.get(f"vis3d_sample_{head}", 0)]
    fig = make_feature_figure(
        res.features,
        res.labels,
        res.predictions,
        radius=radius,
        highlight=highlight,
        title=f"{head}: {len(res.labels):,} test images",
    )
    event = main.plotly_chart(fig, key=sel_key, on_select="rerun", selection_mode="points")
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    if points and points[0].get("customdata"):
        st.session_state[f"vis3d_sample_{head}"] = int(points[0]["customdata"][0])
    with side:
        st.caption(
            "Hover a point for its index, label, prediction, norm and angles; "
            "click one (or type its number) to see the digit."
        )
        sample_inspector(head, res, images)
    with st.expander("Replay training (the probe set of 2,000 test images)"):
        snaps = res.train.snapshots
        k = st.select_slider(
            "snapshot",
            options=list(range(len(snaps))),
            value=len(snaps) - 1,
            format_func=lambda i: f"epoch {snaps[i].epoch:.2f}",
            key=f"vis3d_snap_{head}",
        )
        probe = res.probe_indices
        st.plotly_chart(
            make_feature_figure(
                snaps[k].features,
                res.labels[probe],
                snaps[k].predictions,
                indices=probe,
                radius=radius,
                title=f"epoch {snaps[k].epoch:.2f}",
            ),
            key=f"vis3d_replay_{head}",
        )
    with st.expander("Export"):
        figure_downloads(fig, f"vis3d-{head}", key=f"vis3d_exp_{head}")
        data_downloads(
            res.features,
            res.labels,
            res.predictions,
            res.model,
            f"vis3d-{head}",
            key=f"vis3d_dat_{head}",
        )


st.title("CNN-Vis3D: MNIST on a sphere")
show_url_notes("vis3d")
values, data_text = vis3d_controls()
sync_url({k: v for k, v in values.items()})
st.caption(f"Preset **{values['preset']}**: {PRESET_TEXT[values['preset']]}. Device: {device_text()}.")
try:
    data_dir = validate_data_dir(data_text)
except DataError as exc:
    st.error(f"Data folder not usable: {exc} Using the bundled MNIST instead.")
    data_dir = validate_data_dir("")
if not values["heads"]:
    st.info("Choose at least one head in the sidebar.")
    st.stop()
harvest(JOB)
specs = head_specs(values, data_dir)
results = lookup(specs)
missing = [h for h in specs if h not in results]
job = st.session_state.get(JOB)
running = job is not None and job.alive
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
if results:
    st.caption("Shown: results for exactly this configuration (from this session or the disk cache).")
    for tab, head in zip(st.tabs(list(results)), results, strict=True):
        with tab:
            show_result(head, results[head], data_dir)
