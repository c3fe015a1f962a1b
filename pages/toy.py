"""Toy task (Fig. 3): original vs spherized on 2-D data, epoch by epoch."""

import streamlit as st

from sph_viz.analysis.geometry import compute_crossing, compute_decision_grid
from sph_viz.app.exports import chart_with_export, data_downloads
from sph_viz.app.state import config_controls, config_key, init_state_from_url, show_url_notes, sync_url
from sph_viz.app.toy_views import (
    PLANE_HEIGHT,
    REP_HEIGHT,
    epoch_slider,
    replay_frames,
    step_epoch,
    toy_tabs,
    train_both,
    view_query,
    view_values,
)
from sph_viz.app.widgets import controls
from sph_viz.experiments.registry import build_model
from sph_viz.experiments.toy import TOY_CHOICES, TOY_FIELDS, TOY_VIEW_FIELDS
from sph_viz.figures.reports import TOY_INPUT_BOX, toy_inputs, toy_panel_box, toy_representation_figure
from sph_viz.figures.toy import make_curves_figure, make_input_plane_figure, make_toy_animation
from sph_viz.training.loop import TrainingDiverged

init_state_from_url("toy", TOY_FIELDS + TOY_VIEW_FIELDS)


def toy_controls() -> dict:
    with st.sidebar:
        st.header("Toy task settings")
        v = controls("toy", TOY_FIELDS)
        config_controls("toy", TOY_FIELDS + TOY_VIEW_FIELDS, v | view_values(v["epochs"]))
    return v


@st.cache_resource(max_entries=16, show_spinner=False)
def replay_figure(keys: tuple[str, ...], _results: dict):
    """The side-by-side animation (about 50 frames); built once per pair of configurations, shared
    read-only (a cached copy would be unpickled on every rerun)."""
    panels, labels, boxes = replay_frames(_results)
    return make_toy_animation(panels, labels, boxes=boxes)


def step_view(results: dict, n_epochs: int) -> None:
    c = st.columns([1, 1, 1, 6])
    c[0].button("⏮ reset", on_click=step_epoch, args=(None, n_epochs), key="toy_reset")
    c[1].button("◀ −1", on_click=step_epoch, args=(-1, n_epochs), key="toy_back")
    c[2].button("+1 ▶", on_click=step_epoch, args=(1, n_epochs), key="toy_forward")
    epoch = epoch_slider(c[3], n_epochs)
    cols = st.columns(2)
    for col, kind in zip(cols, TOY_CHOICES, strict=True):
        res = results[kind]
        snap = res.train.snapshots[epoch]
        box = toy_panel_box(res)
        rep = toy_representation_figure(res, snap, title=f"{kind}: representation, epoch {epoch}", box=box)
        rep.update_layout(height=REP_HEIGHT)
        chart_with_export(rep, f"toy-{kind}-representation-epoch{epoch}", f"toy_rep_{kind}", col)
        w, b = snap.params["weight"], snap.params.get("bias")
        cross = compute_crossing(w, b)
        where = "parallel: they never cross" if cross is None else f"at ({cross[0]:.3f}, {cross[1]:.3f})"
        origin = " — the origin, as a bias-free layer must" if b is None else ""
        col.markdown(
            f"Hyperplanes w₁, w₂ cross **{where}**{origin}. Accuracy at this epoch: "
            f"**{(snap.predictions == res.labels).mean():.0%}**."
        )
        model = build_model(res.config)
        model.load_state_dict(snap.state)
        grid = compute_decision_grid(model, TOY_INPUT_BOX, resolution=90)
        plane = make_input_plane_figure(toy_inputs(res), res.labels, grid, title=f"{kind}: input plane")
        plane.update_layout(height=PLANE_HEIGHT)
        chart_with_export(plane, f"toy-{kind}-input-plane-epoch{epoch}", f"toy_plane_{kind}", col)


st.title("Toy task: 2-D data, two nets")
st.caption(
    "100 points near (0,0) and 100 near (1,1). Original: Linear(2,2) → sigmoid → Linear(2,2). "
    "Spherized: Linear(2,1) → circle of radius r → bias-free Linear(2,2)."
)
show_url_notes("toy")
values = toy_controls()
sync_url(values | view_query(values["epochs"]))
try:
    results = train_both(values)
    st.session_state["toy_last_good"] = (values, results)
except (TrainingDiverged, ValueError) as exc:
    st.error(f"Training stopped: {exc}")
    if "toy_last_good" not in st.session_state:
        st.stop()
    shown, results = st.session_state["toy_last_good"]
    st.info(f"Showing the last good results (learning rate {shown['lr']}, {shown['epochs']} epochs).")

n_epochs = len(results["original"].train.snapshots) - 1
tabs = toy_tabs()
if tabs["step"].open:
    with tabs["step"]:
        step_view(results, n_epochs)
if tabs["replay"].open:
    with tabs["replay"]:
        st.caption("Plays in your browser: ▶ Play / ❚❚ Pause, or drag the epoch slider.")
        keys = tuple(config_key(r.config) for r in results.values())
        st.plotly_chart(replay_figure(keys, results), key="toy_animation")
if tabs["curves"].open:
    with tabs["curves"]:
        curves = make_curves_figure({k: r.train.history_dicts() for k, r in results.items()})
        chart_with_export(curves, "toy-curves", "toy_curves")
if tabs["export"].open:
    with tabs["export"]:
        st.caption("Each figure has its own ⬇ Export figure button (HTML, PNG). Data and models:")
        for kind, res in results.items():
            st.subheader(kind)
            data_downloads(
                res.features, res.labels, res.predictions, res.model, f"toy-{kind}", key=f"toy_data_{kind}"
            )
