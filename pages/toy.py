"""Toy task (Fig. 3): original vs spherized on 2-D data, epoch by epoch."""

import streamlit as st

from sph_viz.app.exports import chart_with_export, data_downloads
from sph_viz.app.state import (
    config_controls,
    init_state_from_url,
    recall,
    remember,
    result_store,
    show_url_notes,
    sync_url,
)
from sph_viz.app.widgets import controls
from sph_viz.experiments import build_model
from sph_viz.figures.reports import TOY_INPUT_BOX, toy_inputs, toy_panel_box, toy_representation_figure
from sph_viz.figures.toy import make_curves_figure, make_input_plane_figure, make_toy_animation
from sph_viz.geometry import compute_crossing, compute_decision_grid
from sph_viz.settings import TOY_CHOICES, TOY_FIELDS
from sph_viz.specs import make_run_specs
from sph_viz.store import config_key
from sph_viz.train import TrainingDiverged

init_state_from_url("toy", TOY_FIELDS)


def toy_controls() -> dict:
    with st.sidebar:
        st.header("Toy task settings")
        v = controls("toy", TOY_FIELDS)
        config_controls("toy", TOY_FIELDS, v)
    return v


def train_both(v: dict) -> dict:
    """Both nets for these settings: from this session, the disk cache, or trained now."""
    results, bar = {}, None
    specs = make_run_specs("toy", v, TOY_CHOICES, preset_name="paper")
    for i, (kind, spec) in enumerate(specs.items()):
        res = recall("toy_memo", spec.cache_config)
        if res is None:
            bar = bar or st.progress(0.0, "Training…")

            def progress(p, i=i, kind=kind, bar=bar):
                bar.progress((i + p.fraction) / 2, f"Training {kind}: epoch {p.epoch}")

            res = spec.run(on_progress=progress)
            try:
                result_store().save(res)
            except OSError as exc:
                st.warning(f"Result not saved to the disk cache ({exc}); it stays for this session.")
            remember("toy_memo", res)
        results[kind] = res
    if bar:
        bar.empty()
    return results


@st.cache_data(max_entries=16, show_spinner=False)
def replay_figure(keys: tuple[str, ...], _results: dict):
    """The side-by-side animation (about 50 frames); built once per pair of configurations."""
    results = _results
    stride = max(1, (len(results["original"].train.snapshots) - 1) // 50)
    panels = {}
    for kind, res in results.items():
        box = toy_panel_box(res)
        panels[kind] = [toy_representation_figure(res, s, box=box) for s in res.train.snapshots[::stride]]
    labels = [f"{s.epoch:g}" for s in results["original"].train.snapshots[::stride]]
    return make_toy_animation(panels, labels)


def step_epoch(delta: int | None, epochs: int) -> None:
    now = st.session_state.get("toy_epoch", epochs)
    st.session_state["toy_epoch"] = 0 if delta is None else min(max(now + delta, 0), epochs)


st.title("Toy task: 2-D data, two nets")
st.caption(
    "100 points near (0,0) and 100 near (1,1). Original: Linear(2,2) → sigmoid → Linear(2,2). "
    "Spherized: Linear(2,1) → circle of radius r → bias-free Linear(2,2)."
)
show_url_notes("toy")
values = toy_controls()
sync_url(values)
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
st.session_state["toy_epoch"] = min(st.session_state.get("toy_epoch", n_epochs), n_epochs)
step_tab, replay_tab, curves_tab, export_tab = st.tabs(["Step through epochs", "Replay", "Curves", "Export"])
with step_tab:
    c = st.columns([1, 1, 1, 6])
    c[0].button("⏮ reset", on_click=step_epoch, args=(None, n_epochs), key="toy_reset")
    c[1].button("◀ −1", on_click=step_epoch, args=(-1, n_epochs), key="toy_back")
    c[2].button("+1 ▶", on_click=step_epoch, args=(1, n_epochs), key="toy_forward")
    epoch = c[3].slider("epoch", 0, n_epochs, key="toy_epoch", label_visibility="collapsed")
    cols = st.columns(2)
    for col, kind in zip(cols, TOY_CHOICES, strict=True):
        res = results[kind]
        snap = res.train.snapshots[epoch]
        box = toy_panel_box(res)
        rep = toy_representation_figure(res, snap, title=f"{kind}: representation, epoch {epoch}", box=box)
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
        chart_with_export(plane, f"toy-{kind}-input-plane-epoch{epoch}", f"toy_plane_{kind}", col)
with replay_tab:
    st.caption("Plays in your browser: ▶ Play / ❚❚ Pause, or drag the epoch slider.")
    st.plotly_chart(
        replay_figure(tuple(config_key(r.config) for r in results.values()), results), key="toy_animation"
    )
with curves_tab:
    curves = make_curves_figure({k: r.train.history_dicts() for k, r in results.items()})
    chart_with_export(curves, "toy-curves", "toy_curves")
with export_tab:
    st.caption("Each figure has its own ⬇ Export figure button (HTML, PNG). Data and models:")
    for kind, res in results.items():
        st.subheader(kind)
        data_downloads(
            res.features, res.labels, res.predictions, res.model, f"toy-{kind}", key=f"toy_data_{kind}"
        )
