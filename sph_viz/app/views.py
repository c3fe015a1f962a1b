"""Views of CNN-Vis3D results: the 3-D figure, a sample inspector, replay, exports, uploads."""

from __future__ import annotations

import numpy as np
import streamlit as st

from models.vis3d import HEADS, CNNVis3D
from sph_viz.app.confusion_views import confusion_panel
from sph_viz.app.exports import data_downloads, figure_downloads
from sph_viz.app.map_views import angle_map, selection_grid
from sph_viz.app.overlap_views import neighbour_grid
from sph_viz.app.runs import head_specs
from sph_viz.app.state import app_device
from sph_viz.app.text import plain
from sph_viz.checkpoints import MAX_MODEL_BYTES, load_checkpoint
from sph_viz.data import load_image_folder
from sph_viz.experiments import ExperimentResult, evaluate_vis3d
from sph_viz.figures.reports import sphere_radius
from sph_viz.figures.sphere import make_feature_figure
from sph_viz.geometry import compute_sphere_angles


def sample_inspector(head: str, res: ExperimentResult, images) -> int:
    """One test image with its label, prediction, norm and angles; returns its index."""
    idx = int(st.number_input("sample #", 0, len(res.labels) - 1, key=f"vis3d_sample_{head}"))
    f = res.features[idx]
    angles = np.degrees(compute_sphere_angles(f[None]))[0]
    st.image(images[idx].numpy(), width=140, clamp=True)
    st.markdown(
        f"label **{res.labels[idx]}**, predicted **{res.predictions[idx]}**  \n"
        f"‖x‖ = {np.linalg.norm(f):.5f}, angles = {', '.join(f'{a:.2f}°' for a in angles)}"
    )
    return idx


def neighbours(head: str, res: ExperimentResult, images, idx: int) -> None:
    """The inspected sample's nearest test images by cosine of the features."""
    st.subheader("Nearest neighbours")
    st.caption(
        f"Of sample #{idx} (in the inspector above): cosine of its {res.features.shape[1]}-D features."
    )
    k = st.slider("neighbours shown (k)", 1, 24, 8, key=f"vis3d_nn_k_{head}")
    neighbour_grid(res.features, res.labels, res.predictions, images, idx, k=k)


def replay(head: str, res: ExperimentResult, radius: float | None) -> None:
    """The probe set's representation at any stored snapshot, first to last."""
    snaps, probe = res.train.snapshots, res.probe_indices
    with st.expander(f"Replay training (the probe set of {len(probe):,} test images)"):
        k = st.select_slider(
            "snapshot",
            options=list(range(len(snaps))),
            value=len(snaps) - 1,
            format_func=lambda i: f"epoch {snaps[i].epoch:.2f}",
            key=f"vis3d_snap_{head}",
        )
        fig = make_feature_figure(
            snaps[k].features,
            res.labels[probe],
            snaps[k].predictions,
            indices=probe,
            radius=radius,
            title=f"epoch {snaps[k].epoch:.2f}",
        )
        st.plotly_chart(fig, key=f"vis3d_replay_{head}")


def show_result(head: str, res: ExperimentResult, data_dir: str) -> None:
    acc = f"test accuracy **{res.test_accuracy:.2%}**, "
    acc += f"train accuracy {res.train_accuracy:.2%} (last epoch, during training)"
    if "source" in res.config:
        st.markdown(f"{acc} · {plain(res.config['source'])}")
    else:
        stopped = " (stopped early)" if res.train.stopped else ""
        train = f"{res.train.steps:,} steps in {res.train.seconds:.0f} s on {res.train.device}{stopped}"
        st.markdown(f"{acc} · {train}")
    radius = sphere_radius(res.model)
    images = load_image_folder(data_dir)["test"].images
    view, beside = st.columns(2)
    with beside:  # drawn first: the 3-D view highlights what is selected on the map
        selected = angle_map(head, res.model, res.features, res.labels, res.predictions)
    title = f"{head}: {len(res.labels):,} test images"
    if len(selected):
        title += f", {len(selected):,} selected on the map"
    fig = make_feature_figure(
        res.features,
        res.labels,
        res.predictions,
        radius=radius,
        highlight=selected if len(selected) else [st.session_state.get(f"vis3d_sample_{head}", 0)],
        title=title,
    )
    event = view.plotly_chart(fig, key=f"vis3d_fig_{head}", on_select="rerun", selection_mode="points")
    points = event.get("selection", {}).get("points", []) if event else []
    if points and points[0].get("customdata"):  # a clicked point picks the sample shown
        st.session_state[f"vis3d_sample_{head}"] = int(points[0]["customdata"][0])
    grid, side = st.columns([3, 1])
    with grid:
        st.subheader("Selected on the map")
        selection_grid(selected, res.features, res.labels, res.predictions, images)
    with side:
        st.caption(
            "Hover a point for its index, label, prediction, norm and angles; select points on "
            "the map to see their digits, or type a sample number here."
        )
        idx = sample_inspector(head, res, images)
    left, right = st.columns(2)
    with left:
        st.subheader("Confusion matrix")
        confusion_panel(head, res.features, res.labels, res.predictions, images, res.test_accuracy)
    with right:
        neighbours(head, res, images, idx)
    if res.train.snapshots:
        replay(head, res, radius)
    with st.expander("Export"):
        figure_downloads(fig, f"vis3d-{head}", key=f"vis3d_exp_{head}")
        data_downloads(
            res.features, res.labels, res.predictions, res.model, f"vis3d-{head}", key=f"vis3d_dat_{head}"
        )


MAX_UPLOADED = 4  # uploaded models a session keeps (a CNN-Vis3D result is ~7 MiB), like the memo


def keep_uploaded(name: str, result: ExperimentResult) -> None:
    """Keep an uploaded model's result in this session, dropping the oldest past MAX_UPLOADED."""
    uploaded = st.session_state.setdefault("vis3d_uploaded", {})
    uploaded.pop(name, None)  # loaded again: now the newest
    uploaded[name] = result
    while len(uploaded) > MAX_UPLOADED:
        uploaded.pop(next(iter(uploaded)))


def checkpoint_loader(values: dict, data_dir: str) -> None:
    """Evaluate an uploaded state_dict: loaded with weights_only, size- and shape-checked."""
    with st.expander(f"Load a trained model (a state_dict file, ≤ {MAX_MODEL_BYTES // 2**20} MiB)"):
        st.caption(
            "For example a model.pt written by `python -m sph_viz vis3d --out DIR`. The architecture "
            f"is the chosen head with the current preset's settings. The last {MAX_UPLOADED} models "
            "loaded are shown; another one replaces the oldest."
        )
        head = st.selectbox("architecture", HEADS, key="vis3d_ckpt_head")
        upload = st.file_uploader("model file", type=["pt", "pth"], key="vis3d_ckpt_file")
        if upload is None or st.session_state.get("vis3d_ckpt_token") == (upload.file_id, head):
            return
        st.session_state["vis3d_ckpt_token"] = (upload.file_id, head)
        model_cfg = head_specs({**values, "heads": [head]}, data_dir)[head].model
        try:
            model = load_checkpoint(upload.getvalue(), CNNVis3D(model_cfg))
            with st.spinner("Evaluating on the test set…"):
                res = evaluate_vis3d(model.to(app_device()), data_dir, source=f"uploaded {upload.name}")
        except ValueError as exc:
            st.error(f"Model not loaded: {plain(exc)}")
            return
        keep_uploaded(f"{head} · {upload.name}", res)
        st.success(f"Loaded {plain(upload.name)}: test accuracy {res.test_accuracy:.2%}.")
