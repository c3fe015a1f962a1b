"""Hyperspherical prototype networks (Mettes et al., 2019): classes fixed on the sphere before training."""

import streamlit as st

from sph_viz.app.exports import chart_with_export
from sph_viz.app.live import harvest, live_panel, running, show_errors, start
from sph_viz.app.state import (
    app_device,
    config_controls,
    init_state_from_url,
    recall,
    show_url_notes,
    sync_url,
)
from sph_viz.app.widgets import controls
from sph_viz.data.idx import BUNDLED_MNIST, load_image_folder
from sph_viz.experiments.prototypes import (
    PROTOTYPE_FIELDS,
    known_min_angle,
    plan_comparison,
    rotated_train_config,
)
from sph_viz.experiments.result import probe_indices
from sph_viz.experiments.rotated_mnist import rotation_mae
from sph_viz.figures.prototypes import (
    make_prototype_animation,
    make_prototype_figure,
    make_rotation_figure,
    snapshot_steps,
)
from sph_viz.figures.reports import sphere_radius
from sph_viz.figures.sphere import make_feature_figure
from sph_viz.nn.prototypes import optimize_prototypes

JOB, MEMO = "prototypes_job", "prototypes_memo"
init_state_from_url("prototypes", PROTOTYPE_FIELDS)
st.title("Hyperspherical prototypes: classes placed on the sphere before training")
show_url_notes("prototypes")
with st.sidebar:
    st.header("Prototype settings")
    v = controls("prototypes", PROTOTYPE_FIELDS)
    config_controls("prototypes", PROTOTYPE_FIELDS, v)
sync_url(v)

st.subheader("1 · Placing the prototypes (Eq. 5)")
every = max(1, v["steps"] // 60)
placed = optimize_prototypes(
    v["classes"], v["dims"], steps=v["steps"], seed=v["proto_seed"], record_every=every
)
known = known_min_angle(v["classes"], v["dims"])
c1, c2 = st.columns(2)
c1.metric("smallest angle between two prototypes", f"{placed.min_angle_deg:.2f}°")
c2.metric("best known", f"{known:.2f}°" if known is not None else "not tabulated")
if v["dims"] == 2:
    st.caption("On a circle Eq. 5 can collapse points; the paper (and training here) uses the regular K-gon.")
steps = snapshot_steps(v["steps"], every, len(placed.snapshots))
chart_with_export(make_prototype_animation(placed.snapshots, steps), "prototypes-eq5", "prototypes_anim")
st.session_state["prototypes_placed"] = placed

st.subheader("2 · Trained towards fixed prototypes, beside the spherized head")
st.caption(
    "HPN: the CNN-Vis3D trunk, Linear(256, 3), the squared cosine loss (Eq. 1) to ten prototypes placed by "
    "Eq. 5; prediction: the nearest prototype (Eq. 3). Both nets: the same preset, seed and batches."
)
RUNS = plan_comparison(v, app_device())  # name: (cache key, task)
harvest(JOB, MEMO)
results = {name: r for name, (key, _) in RUNS.items() if (r := recall(MEMO, key)) is not None}
missing = [name for name in RUNS if name not in results]
st.session_state["prototypes_shown"] = results


def draw_live(view) -> None:
    """The probe's features on the sphere while HPN or the spherized head trains."""
    if view.snapshot is None or view.current not in ("HPN", "spherized"):
        return
    labels = load_image_folder(str(BUNDLED_MNIST))["test"].labels.numpy()
    idx = probe_indices(labels, v["seed"])
    title = f"{view.current} — live, epoch {view.snapshot.epoch:.2f}"
    fig = make_feature_figure(view.snapshot.features, labels[idx], view.snapshot.predictions, title=title)
    st.plotly_chart(fig, key="prototypes_live")


if running(JOB):
    live_panel(JOB, draw_live)
else:
    show_errors(JOB)
    if missing and st.button(f"▶ Train {', '.join(missing)}", type="primary", key="prototypes_train"):
        start(JOB, {name: RUNS[name][1] for name in missing})
        st.rerun()
for col, name in zip(st.columns(2), ("HPN", "spherized"), strict=True):
    res = results.get(name)
    if res is None:
        col.info(f"{name}: not trained yet for preset {v['preset']}, seed {v['seed']}.")
        continue
    stopped = " (stopped early)" if res.train.stopped else ""
    col.metric(f"{name}: test accuracy{stopped}", f"{res.test_accuracy:.2%}")
    title = f"{name} — test accuracy {res.test_accuracy:.2%}"
    if name == "HPN":
        fig = make_prototype_figure(
            res.features, res.labels, res.predictions, res.extras["prototypes"], title=title
        )
    else:
        radius = sphere_radius(res.model)
        fig = make_feature_figure(res.features, res.labels, res.predictions, radius=radius, title=title)
    chart_with_export(fig, f"prototypes-{name}", f"prototypes_fig_{name}", where=col)

st.subheader("3 · Rotated MNIST: the class and the rotation on one sphere (HPN Fig. 5)")
st.caption(
    "Digits 2, 3, 4, 5, 7 rotated by a random angle in [0°, 180°]. Class prototypes in the xy-plane, 0° at "
    "the south pole and 180° at the north pole; one loss, Eq. 1 + Eq. 7. Own preset: "
    f"{rotated_train_config(v).max_samples or 'all'} images, {rotated_train_config(v).epochs} epochs."
)
rot = results.get("rotated MNIST")
if rot is not None:
    e = rot.extras
    mae = rotation_mae(e["angles_true"], e["angles_predicted"])
    c1, c2 = st.columns(2)
    c1.metric("rotation: mean absolute error", f"{mae:.1f}°")
    c2.metric("class accuracy", f"{rot.test_accuracy:.2%}")
    color = st.radio("colour by", ("rotation", "class"), horizontal=True, key="prototypes_color")
    fig = make_rotation_figure(
        rot.features, e["angles_true"], rot.labels, e["digits"], e["prototypes"], e["upper"], color_by=color
    )
    chart_with_export(fig, "prototypes-rotated-mnist", "prototypes_fig_rotated")
