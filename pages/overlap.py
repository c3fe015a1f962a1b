"""Overlap statistics (Table 3): which samples a head can no longer tell apart."""

import numpy as np
import streamlit as st

from sph_viz.app.exports import chart_with_export
from sph_viz.app.runs import head_specs, job_panel, pending_runs, show_job_errors, start_training
from sph_viz.app.state import config_controls, init_state_from_url, show_url_notes, sync_url
from sph_viz.app.widgets import controls
from sph_viz.data import BUNDLED_MNIST, load_image_folder
from sph_viz.figures.overlap import make_nn_cosine_histogram, make_overlap_bar_figure
from sph_viz.figures.reports import sphere_radius
from sph_viz.figures.sphere import make_feature_figure
from sph_viz.overlap import OverlapStats, overlap_stats
from sph_viz.settings import OVERLAP_FIELDS
from sph_viz.store import config_key

JOB = "overlap_job"
init_state_from_url("overlap", OVERLAP_FIELDS)


@st.cache_data(max_entries=128, show_spinner=False)
def cached_stats(key: str, tau: float, _features, _labels, _predictions) -> OverlapStats:
    """Overlap statistics of one result (named by its config key) at one tau."""
    return overlap_stats(_features, _labels, _predictions, tau=tau)


def overlap_controls() -> dict:
    with st.sidebar:
        st.header("Overlap settings")
        v = controls("overlap", OVERLAP_FIELDS)
        config_controls("overlap", OVERLAP_FIELDS, v)
    return v


def group_explorer(name: str, res, stats: OverlapStats) -> None:
    if not stats.groups:
        st.success(f"{name}: no two test images overlap at this τ.")
        return
    sizes = [len(g) for g in stats.groups]
    k = st.selectbox(
        f"{name}: {len(sizes)} groups",
        range(len(sizes)),
        key=f"overlap_group_{name}",
        format_func=lambda i: (
            f"group {i + 1}: {sizes[i]} images, labels {sorted(set(res.labels[stats.groups[i]].tolist()))}"
        ),
    )
    group = stats.groups[k]
    images = load_image_folder(res.config["data_dir"])["test"].images
    shown = group[:40]
    st.image(
        [images[i].numpy() for i in shown],
        width=72,
        clamp=True,
        caption=[
            f"#{i} · {res.labels[i]}→{res.predictions[i]}"
            + (" ✗" if res.labels[i] != res.predictions[i] else "")
            for i in shown
        ],
    )
    if len(group) > len(shown):
        st.caption(f"First {len(shown)} of {len(group)} images.")
    if res.features.shape[1] in (2, 3):
        fig = make_feature_figure(
            res.features,
            res.labels,
            res.predictions,
            radius=sphere_radius(res.model),
            highlight=group,
            title=f"{name}: group {k + 1} highlighted",
        )
        st.plotly_chart(fig, key=f"overlap_fig_{name}")


st.title("Overlap statistics")
st.markdown(
    "A test image **overlaps** when the cosine similarity of its representation to another "
    "image's is ≥ 1 − τ: after projection onto the sphere the head sees one point. "
    "Errors among overlapping images are errors no classifier on that head can avoid."
)
show_url_notes("overlap")
v = overlap_controls()
sync_url(v)
specs = head_specs(v, str(BUNDLED_MNIST))
results, missing, running = pending_runs(JOB, specs)
if running:
    job_panel(JOB, str(BUNDLED_MNIST))
else:
    show_job_errors(JOB)
    if missing and st.button(
        f"▶ Train {', '.join(missing)} ({v['preset']} preset)", type="primary", key="overlap_train"
    ):
        start_training(JOB, {h: specs[h] for h in missing}, str(BUNDLED_MNIST))
        st.rerun()
if not results:
    st.info("No trained heads yet for this preset: train them here or on the CNN-Vis3D page.")
    st.stop()
stats = {
    h: cached_stats(config_key(r.config), v["tau"], r.features, r.labels, r.predictions)
    for h, r in results.items()
}
rows = [
    {
        "head": h,
        "test accuracy": results[h].test_accuracy,
        "# overlapping": s.n_overlap,
        "# errors among them": s.n_error,
        "ratio": None if np.isnan(s.ratio) else s.ratio,
        "# groups": len(s.groups),
        "largest group": max(map(len, s.groups), default=0),
        "zero vectors": s.n_zero,
    }
    for h, s in stats.items()
]
st.dataframe(
    rows,
    key="overlap_table",
    hide_index=True,
    column_config={
        "test accuracy": st.column_config.NumberColumn(format="percent"),
        "ratio": st.column_config.NumberColumn(format="percent"),
    },
)
left, right = st.columns(2)
chart_with_export(make_overlap_bar_figure(stats), "overlap-bars", "overlap_bars", left)
chart_with_export(make_nn_cosine_histogram(stats), "overlap-nn-cosine", "overlap_hist", right)
st.subheader("Overlapping groups")
for name, tab in zip(stats, st.tabs(list(stats)), strict=True):
    with tab:
        group_explorer(name, results[name], stats[name])
