"""Views of CNN-Vis3D results: one head at a time or heads side by side, one camera, one sample.

Only what is on screen is drawn: a browser caps its WebGL contexts (~16 in Chromium) and every
3-D view and 2-D map holds one, so the heads are chosen, not tabbed (Streamlit renders every
tab's content at once). One head: its 3-D view beside its angle map, the map's selection, the
sample inspector, the confusion matrix, the neighbours, a replay on request, exports. Side by
side: each head's 3-D view only, one shared camera, the same sample highlighted in each.
The replay is a fragment (its slider reruns the panel, not the page); the neighbours' k and the
confusion cell are not: they are part of the page's URL and config file, which a fragment's
rerun would leave behind.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from models.vis3d import HEADS, CNNVis3D
from sph_viz.app.camera import view_camera
from sph_viz.app.compare_views import side_by_side
from sph_viz.app.confusion_views import confusion_panel
from sph_viz.app.exports import data_downloads, figure_downloads
from sph_viz.app.feature_views import SAMPLE, feature_view, sample_number, sample_text
from sph_viz.app.map_views import angle_map, selection_grid
from sph_viz.app.overlap_views import neighbour_grid
from sph_viz.app.runs import head_specs
from sph_viz.app.state import app_device
from sph_viz.app.text import plain
from sph_viz.app.vis3d_state import PREFIX, VIEWS
from sph_viz.data.idx import load_image_folder
from sph_viz.experiments.result import ExperimentResult
from sph_viz.experiments.vis3d import evaluate_vis3d
from sph_viz.figures.camera import set_camera
from sph_viz.figures.reports import sphere_radius
from sph_viz.figures.sphere import make_feature_figure
from sph_viz.results.checkpoints import MAX_MODEL_BYTES, load_checkpoint

HEAD = f"{PREFIX}_head"  # the head the page shows (URL, config file)
HEAD_RADIO = f"{PREFIX}_head_shown"  # its radio, over the heads shown now


def accuracy_text(res: ExperimentResult) -> str:
    acc = f"test accuracy **{res.test_accuracy:.2%}**, "
    acc += f"train accuracy {res.train_accuracy:.2%} (last epoch, during training)"
    if "source" in res.config:
        return f"{acc} · {plain(res.config['source'])}"
    stopped = " (stopped early)" if res.train.stopped else ""
    return f"{acc} · {res.train.steps:,} steps in {res.train.seconds:.0f} s on {res.train.device}{stopped}"


def neighbours(res: ExperimentResult, images, idx: int) -> None:
    """The inspected sample's nearest test images by cosine of the features."""
    st.subheader("Nearest neighbours")
    st.caption(f"Of sample #{idx}: cosine of its {res.features.shape[1]}-D features.")
    k = st.slider("neighbours shown (k)", 1, 24, key=f"{PREFIX}_k")
    neighbour_grid(res.features, res.labels, res.predictions, images, idx, k=k)


@st.fragment
def replay(head: str, res: ExperimentResult) -> None:
    """The probe set's representation at any stored snapshot, first to last (on request: one more
    WebGL view)."""
    snaps, probe = res.train.snapshots, res.probe_indices
    label = f"Replay training (the probe set of {len(probe):,} test images)"
    if not st.toggle(label, key=f"{PREFIX}_replay_{head}"):
        return
    k = st.select_slider(
        "snapshot",
        options=list(range(len(snaps))),
        value=len(snaps) - 1,
        format_func=lambda i: f"epoch {snaps[i].epoch:.2f}",
        key=f"{PREFIX}_snap_{head}",
    )
    fig = make_feature_figure(
        snaps[k].features,
        res.labels[probe],
        snaps[k].predictions,
        indices=probe,
        radius=sphere_radius(res.model),
        title=f"epoch {snaps[k].epoch:.2f}",
    )
    if snaps[k].features.shape[1] == 3:
        chart = f"{PREFIX}_replay_fig_{head}"
        set_camera(fig, view_camera(PREFIX, chart, (id(res), k)), PREFIX)
    st.plotly_chart(fig, key=f"{PREFIX}_replay_fig_{head}")


def show_result(head: str, res: ExperimentResult, images) -> None:
    """One head: 3-D view and map, the map's selection, the inspector, confusion, neighbours."""
    st.markdown(accuracy_text(res))
    view, beside = st.columns(2)
    with beside:  # drawn first: the 3-D view highlights what is selected on the map
        selected = angle_map(head, res, sample_key=SAMPLE)
    grid, side = st.columns([3, 1])
    with side:
        st.caption(
            "Hover a point for its index, label, prediction, norm and angles; select points on the "
            "map to see their digits; click one point, or type a number here, to inspect a sample."
        )
        idx = sample_number(len(res.labels))
        st.image(images[idx].numpy(), width=140, clamp=True)
        st.markdown(sample_text(res, idx))
    title = f"{head}: {len(res.labels):,} test images"
    subtitle = f"{len(selected):,} selected on the map" if len(selected) else f"sample #{idx} outlined"
    with view:
        fig = feature_view(f"{PREFIX}_fig_{head}", res, selected if len(selected) else [idx], title, subtitle)
    with grid:
        st.subheader("Selected on the map")
        selection_grid(selected, res.features, res.labels, res.predictions, images)
    st.subheader("Confusion matrix")
    confusion_panel(head, res, images)
    neighbours(res, images, idx)
    if res.train.snapshots:
        replay(head, res)
    exports(head, res, fig)


@st.fragment
def exports(head: str, res: ExperimentResult, spec: dict) -> None:
    """The 3-D view (HTML, PNG), the data (CSV, NPZ) and the model, on request: the figure's JSON
    for the buttons would cost every rerun ~20 ms for 10,000 points."""
    if not st.toggle("Export the view, the data or the model", key=f"{PREFIX}_export_{head}"):
        return
    figure_downloads(go.Figure(spec), f"vis3d-{head}", key=f"vis3d_exp_{head}")
    data_downloads(
        res.features, res.labels, res.predictions, res.model, f"vis3d-{head}", key=f"vis3d_dat_{head}"
    )


def _head_chosen() -> None:
    st.session_state[HEAD] = st.session_state[HEAD_RADIO]


def view_chooser(names: list[str]) -> tuple[str, str]:
    """Which head (radio) and whether side by side.

    The page's head (`vis3d_head`, from a link or a config file) is kept apart from the radio: a
    head not shown yet (still training) shows the first one instead without forgetting the wish.
    """
    wanted = st.session_state.get(HEAD)
    if wanted in names:
        st.session_state[HEAD_RADIO] = wanted
    elif st.session_state.get(HEAD_RADIO) not in names:
        st.session_state[HEAD_RADIO] = names[0]
    left, right = st.columns([3, 1])
    view = right.radio("view", list(VIEWS), key=f"{PREFIX}_view", format_func=VIEWS.get, horizontal=True)
    head = left.radio(
        "head",
        names,
        key=HEAD_RADIO,
        format_func=plain,
        horizontal=True,
        disabled=view == "side-by-side",
        on_change=_head_chosen,
    )
    return head, view


def show_results(shown: dict[str, ExperimentResult], data_dir: str) -> None:
    """The chosen head's views, or every head's 3-D view side by side."""
    head, view = view_chooser(list(shown))
    images = load_image_folder(data_dir)["test"].images
    if view == "side-by-side" and len(shown) > 1:
        side_by_side(shown, images)
    else:
        if view == "side-by-side":
            st.caption("One head is shown: choose more heads in the sidebar to see them side by side.")
        show_result(head, shown[head], images)


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
