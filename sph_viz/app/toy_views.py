"""The Toy page's parts: both nets trained with a live view, and what it shows (epoch, tab).

A first visit trains the two nets in the page's own run (about 1 s and 2 s on one core). Both
nets' epoch 0 is drawn before training starts (the seeded initial nets, the same numbers as
the run's first snapshot: tested), then the net in training is redrawn a few times a second,
so the first chart comes long before training ends. The epoch and the tab live in
`toy_epoch` / `toy_tab` (plain session keys, so a hidden tab's slider cannot drop them) and
from there in the URL and the config file (`TOY_VIEW_FIELDS`).
"""

from __future__ import annotations

import time

import numpy as np
import streamlit as st

from models.toy import make_toy_model
from sph_viz.app.state import recall, remember, result_store
from sph_viz.data.toy import make_toy_data
from sph_viz.experiments.result import ExperimentResult, seeded
from sph_viz.experiments.specs import RunSpec, make_run_specs
from sph_viz.experiments.toy import TOY_CHOICES, TOY_TABS
from sph_viz.figures.reports import sphere_radius, toy_panel_box
from sph_viz.figures.toy import make_representation_figure, representation_box, representation_traces
from sph_viz.training.loop import Snapshot, predict

TAB_LABELS = dict(zip(TOY_TABS, ("Step through epochs", "Replay", "Curves", "Export"), strict=True))
REP_HEIGHT, PLANE_HEIGHT = 560, 470  # px: plots about 300 px square in a column of a 1280-px screen
LIVE_EVERY_S = 0.25  # the live view's redraw interval while a net trains
# sigmoid features lie in (0, 1)^2: a fixed view for the original net's live panel
SIGMOID_BOX = representation_box(np.array([[0.0, 0.0], [1.0, 1.0]]), None)


def live_radius(spec: RunSpec) -> float | None:
    """The circle the spherized net's features lie on (None: the original's sigmoid square)."""
    return float(spec.model.radius) if spec.model.kind == "spherized" else None


def initial_snapshot(spec: RunSpec) -> Snapshot:
    """Epoch 0 of a toy run before it starts: its seeded net on its data, as `run_toy` builds them.

    Drawn before training starts, so the first chart does not wait for `train_model`'s own
    first snapshot, which comes after the process's first optimizer has imported torch._dynamo
    (seconds, once).
    """
    x, _ = make_toy_data(100, noise=spec.noise, seed=spec.data_seed)
    model = seeded(lambda: make_toy_model(spec.model), spec.train.seed)
    features, logits = predict(model, x)
    params = {k: v.detach().numpy().copy() for k, v in model.classifier.named_parameters()}
    return Snapshot(0.0, 0, features.numpy(), logits.argmax(1).numpy(), params)


class LiveView:
    """A progress bar and one panel per net, drawn while the page's run trains `todo`."""

    def __init__(self, specs: dict[str, RunSpec], todo: list[str]) -> None:
        self.specs = specs
        self.holder = st.empty()
        box = self.holder.container()
        self.bar = box.progress(0.0, "Training…")
        cols = box.columns(len(specs))
        self.panels = {kind: col.empty() for kind, col in zip(specs, cols, strict=True)}
        spec = next(iter(specs.values()))
        _, y = make_toy_data(100, noise=spec.noise, seed=spec.data_seed)
        self.labels = y.numpy()
        self.drawn_at, self.titles = -np.inf, {}
        for kind in specs:
            if kind not in todo:
                self.panels[kind].info(f"{kind}: trained before, from the cache")
        for k, kind in enumerate(todo):
            note = "training…" if k == 0 else "waits its turn"
            self.draw(kind, initial_snapshot(specs[kind]), note)

    def progress(self, index: int, kind: str, fraction: float, epoch: int) -> None:
        self.bar.progress((index + fraction) / len(self.specs), f"Training {kind}: epoch {epoch}")

    def snapshot(self, kind: str, snap: Snapshot, last_epoch: int) -> None:
        """on_snapshot of a run: draw it if it is the first, the last, or due."""
        if snap.epoch in (0, last_epoch) or time.monotonic() - self.drawn_at >= LIVE_EVERY_S:
            self.draw(kind, snap, "training…")

    def draw(self, kind: str, snap: Snapshot, note: str) -> None:
        title = f"{kind}: epoch {snap.epoch:g} ({note})"
        if self.titles.get(kind) == title:  # already shown (epoch 0, drawn before training began)
            return
        self.titles[kind], self.drawn_at = title, time.monotonic()
        radius = live_radius(self.specs[kind])
        fig = make_representation_figure(
            snap.features,
            self.labels,
            snap.params["weight"],
            snap.params.get("bias"),
            radius=radius,
            predictions=snap.predictions,
            title=title,
            box=SIGMOID_BOX if radius is None else None,
        )
        self.panels[kind].plotly_chart(fig.update_layout(height=REP_HEIGHT))

    def close(self) -> None:
        self.holder.empty()


def train_both(values: dict) -> dict[str, ExperimentResult]:
    """Both nets for these settings: from this session, the disk cache, or trained now (live)."""
    specs = make_run_specs("toy", values, TOY_CHOICES, preset_name="paper")
    results = {kind: recall("toy_memo", spec.cache_config) for kind, spec in specs.items()}
    if all(r is not None for r in results.values()):
        return results
    live = LiveView(specs, [kind for kind, res in results.items() if res is None])
    try:
        for i, (kind, spec) in enumerate(specs.items()):
            if results[kind] is not None:
                continue
            res = spec.run(
                on_progress=lambda p, i=i, kind=kind: live.progress(i, kind, p.fraction, p.epoch),
                on_snapshot=lambda s, kind=kind, last=spec.train.epochs: live.snapshot(kind, s, last),
            )
            try:
                result_store().save(res)
            except OSError as exc:
                st.warning(f"Result not saved to the disk cache ({exc}); it stays for this session.")
            remember("toy_memo", res)
            results[kind] = res
    finally:
        live.close()
    return results


def replay_frames(results: dict[str, ExperimentResult], frames: int = 50) -> tuple[dict, list[str], dict]:
    """`make_toy_animation`'s panels (each net's traces at about `frames` snapshots), labels and
    boxes: the traces `toy_representation_figure` would draw, without building a figure each."""
    stride = max(1, (len(results["original"].train.snapshots) - 1) // frames)
    panels, boxes = {}, {}
    for kind, res in results.items():
        boxes[kind], radius = toy_panel_box(res), sphere_radius(res.model)
        panels[kind] = [
            representation_traces(
                s.features,
                res.labels,
                s.params["weight"],
                s.params.get("bias"),
                box=boxes[kind],
                radius=radius,
                predictions=s.predictions,
            )
            for s in res.train.snapshots[::stride]
        ]
    labels = [f"{s.epoch:g}" for s in results["original"].train.snapshots[::stride]]
    return panels, labels, boxes


# ---------------------------------------------------------------- what the page shows


def shown_epoch(n_epochs: int) -> int:
    """The epoch on show, clamped to the run (and written back)."""
    epoch = min(max(int(st.session_state.get("toy_epoch", n_epochs)), 0), n_epochs)
    st.session_state["toy_epoch"] = epoch
    return epoch


def view_query(n_epochs: int) -> dict:
    """The view's part of the URL: only what differs from the defaults (the last epoch, the first tab)."""
    epoch = min(int(st.session_state.get("toy_epoch", n_epochs)), n_epochs)
    tab = st.session_state.get("toy_tab", TOY_TABS[0])
    return ({"epoch": epoch} if epoch != n_epochs else {}) | ({"tab": tab} if tab != TOY_TABS[0] else {})


def view_values(n_epochs: int) -> dict:
    """The whole view, for the config file."""
    epoch = min(int(st.session_state.get("toy_epoch", n_epochs)), n_epochs)
    return {"epoch": epoch, "tab": st.session_state.get("toy_tab", TOY_TABS[0])}


def step_epoch(delta: int | None, epochs: int) -> None:
    """on_click of the ⏮ / −1 / +1 buttons: None goes back to epoch 0."""
    now = st.session_state.get("toy_epoch", epochs)
    st.session_state["toy_epoch"] = 0 if delta is None else min(max(now + delta, 0), epochs)


def _slider_moved() -> None:
    st.session_state["toy_epoch"] = st.session_state["toy_epoch_slider"]


def epoch_slider(where, n_epochs: int) -> int:
    """The epoch slider, following `toy_epoch` (which buttons, the URL and config files set)."""
    st.session_state["toy_epoch_slider"] = shown_epoch(n_epochs)
    return where.slider(
        "epoch", 0, n_epochs, key="toy_epoch_slider", on_change=_slider_moved, label_visibility="collapsed"
    )


def _tab_chosen() -> None:
    label = st.session_state["toy_tabs"]
    st.session_state["toy_tab"] = next(name for name, lab in TAB_LABELS.items() if lab == label)


def toy_tabs() -> dict:
    """The page's tabs, {name: container}; only the open one's content needs to run (`.open`)."""
    tab = st.session_state.get("toy_tab", TOY_TABS[0])
    st.session_state["toy_tabs"] = TAB_LABELS[tab if tab in TAB_LABELS else TOY_TABS[0]]
    containers = st.tabs(list(TAB_LABELS.values()), key="toy_tabs", on_change=_tab_chosen)
    return dict(zip(TAB_LABELS, containers, strict=True))
