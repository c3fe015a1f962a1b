"""Overlap statistics (Table 3): which test samples a layer can no longer tell apart."""

import streamlit as st

from models.table3 import PAPER_TABLE3
from sph_viz.app.exports import chart_with_export
from sph_viz.app.overlap_views import cached_stats, group_explorer, neighbour_panel, stats_row
from sph_viz.app.runs import head_specs, job_panel, lookup, pending_runs, show_job_errors, start_training
from sph_viz.app.state import config_controls, init_state_from_url, show_url_notes, sync_url
from sph_viz.app.text import plain
from sph_viz.app.widgets import controls
from sph_viz.data.datasets import load_dataset, resolve_dataset
from sph_viz.data.embedding import parse_embedding
from sph_viz.data.idx import BUNDLED_MNIST, load_image_folder
from sph_viz.experiments.epoch_overlaps import TAU_LADDER, nearest_ladder_tau
from sph_viz.experiments.page_fields import OVERLAP_FIELDS, OVERRIDES_GROUP
from sph_viz.experiments.specs import make_run_specs
from sph_viz.fields import groups
from sph_viz.figures.overlap import (
    make_nn_cosine_histogram,
    make_overlap_bar_figure,
    make_overlap_epochs_figure,
)
from sph_viz.figures.reports import sphere_radius
from sph_viz.reports.format import pm
from sph_viz.reports.table3 import table3_rows
from sph_viz.results.store import config_key

JOB = "overlap_job"
LAYERS = {
    "table3": "Table-3 last layer (d-D)",
    "vis3d": "CNN-Vis3D 3-D bottleneck",
    "upload": "an uploaded embedding",
}
init_state_from_url("overlap", OVERLAP_FIELDS)


def overlap_controls() -> dict:
    with st.sidebar:
        st.header("Overlap settings")
        v = controls("overlap", OVERLAP_FIELDS, {"layer": LAYERS.get}, group="")
        for title in groups(OVERLAP_FIELDS):
            with st.expander(title, expanded=title != OVERRIDES_GROUP and v["layer"] != "upload"):
                v |= controls("overlap", OVERLAP_FIELDS, group=title)
        config_controls("overlap", OVERLAP_FIELDS, v)
    return v


def train_missing(specs: dict, missing: list[str], what: str) -> None:
    if missing and st.button(
        f"▶ Train {len(missing)} missing run(s): {what}", type="primary", key="overlap_train"
    ):
        start_training(JOB, {m: specs[m] for m in missing})
        st.rerun()


def inspect(key, name, features, labels, predictions, images, radius=None) -> None:
    """Histogram, neighbours and groups of one embedding."""
    stats = cached_stats(key, v["tau"], features, labels, predictions)
    chart_with_export(make_nn_cosine_histogram({name: stats}), "overlap-nn-cosine", f"overlap_hist_{key}")
    with st.expander("Nearest neighbours of any sample (cosine in the full dimension)"):
        neighbour_panel(key, features, labels, predictions, images)
    st.subheader("Overlapping groups")
    group_explorer(key, name, features, labels, predictions, stats, images, radius)


def overrides_text() -> str:
    """The training overrides in effect (a field of the overrides group that is not 0), as text."""
    shown = [
        f"{f.title} = {v[f.name]:,}"
        for f in OVERLAP_FIELDS
        if f.group == OVERRIDES_GROUP and not f.keeps(v.get(f.name))
    ]
    return f" with {', '.join(shown)} instead of the preset's" if shown else ""


def epochs_view(runs: dict) -> None:
    """# overlapping, # errors and NC1 after every epoch, at the ladder's τ nearest the sidebar's."""
    st.subheader("Overlap as training goes")
    counted = {op: [r.extras for r in rs if "overlap_counts" in r.extras] for op, rs in runs.items()}
    counted = {op: extras for op, extras in counted.items() if extras}
    if not counted:
        st.info(
            "These runs were cached before Table-3 runs counted overlaps after every epoch: train them again."
        )
        return
    tau = nearest_ladder_tau(v["tau"])
    chart_with_export(make_overlap_epochs_figure(counted, tau), "overlap-by-epoch", "overlap_by_epoch_chart")
    st.caption(
        f"After every epoch, each run counts its test features' overlaps at τ = "
        f"{', '.join(f'{t:g}' for t in TAU_LADDER)} and their NC1 (Papyan et al. 2020: within- over "
        f"between-class spread, 0 when every class sits on one point). Shown: τ = {tau:g}, the one "
        "nearest the sidebar's τ; the band is ±1 sd over the seeds."
    )


def table3_layer() -> None:
    names = {f"{op} · seed {s}": (op, int(s)) for op in v["operators"] for s in v["seeds"]}
    specs = {}
    for label, (op, seed) in names.items():
        spec = make_run_specs(
            "table3", v | {"seed": seed}, [op], preset_name=v["recipe"], dataset=v["dataset"]
        )
        specs[label] = spec[op]
    found = lookup(specs)
    job = st.session_state.get(JOB)
    if job is not None and job.alive:
        job_panel(JOB, str(BUNDLED_MNIST))
    else:
        show_job_errors(JOB)
        train_missing(specs, [n for n in specs if n not in found], f"{v['recipe']} preset on {v['dataset']}")
    if not found:
        command = f"python -m sph_viz table3 --data {v['dataset']}"
        st.info(f"No cached run for these settings yet: train here, or run `{command}`.")
        return
    runs = {}
    for label, res in found.items():
        runs.setdefault(names[label][0], []).append(res)
    rows = []
    for r in table3_rows(runs, tau=v["tau"]):
        p = PAPER_TABLE3.get(r.operator, {})
        rows.append(
            {
                "operator": r.operator,
                "role": r.role,
                "seeds": ", ".join(map(str, r.seeds)),
                "test acc %": pm(r.test_acc, ".2f"),
                "# ovlp": pm(r.n_ovlp, ".1f"),
                "# err": pm(r.n_err, ".1f"),
                "# unavoidable": pm(r.n_unavoidable, ".1f"),
                "paper: test acc %": f"{p['test_acc'][0]:.2f}" if p else "-",
                "paper: # ovlp": f"{p['n_ovlp'][0]:.0f}" if p else "-",
                "paper: # err": f"{p['n_err'][0]:.0f}" if p else "-",
            }
        )
    # a real HTML table (at most eight rows): readable on a projector, by a screen reader and by tests;
    # st.table renders Markdown in its headers, so "# ovlp" is escaped to stay the paper's text
    st.table([{plain(k): value for k, value in row.items()} for row in rows], hide_index=True)
    st.caption(
        f"Measured: {v['dataset']}, {v['recipe']} preset{overrides_text()}, mean ± std over the seeds in "
        "the cache. Paper: "
        "CIFAR-10, CNN-9, 160 epochs, 5 seeds. Operators trained to different accuracies are not like "
        "for like: compare the counts with the accuracy beside them."
    )
    epochs_view(runs)
    label = st.selectbox("Inspect one run", list(found), key="overlap_t3_run")
    res = found[label]
    test = load_dataset(resolve_dataset(v["dataset"]))[1]
    inspect(config_key(res.config), label, res.features, res.labels, res.predictions, test.images)


def vis3d_layer() -> None:
    specs = head_specs(v, str(BUNDLED_MNIST))
    results, missing, running = pending_runs(JOB, specs)
    if running:
        job_panel(JOB, str(BUNDLED_MNIST))
    else:
        show_job_errors(JOB)
        train_missing(specs, missing, f"{v['preset']} preset")
    if not results:
        st.info("No trained heads yet for this preset: train them here or on the CNN-Vis3D page.")
        return
    st.warning(
        "On 3-D features of 10,000 images, a nearest-neighbour gap of 1 − cos ≈ 1e-6 is how dense a "
        "class cluster is (the histogram below peaks there): at τ = 1e-6 these counts measure density, "
        "not collapse. The paper counts at a 256-D layer: choose the Table-3 layer."
    )
    stats = {
        h: cached_stats(config_key(r.config), v["tau"], r.features, r.labels, r.predictions)
        for h, r in results.items()
    }
    st.dataframe(
        [stats_row(h, results[h].test_accuracy, s) for h, s in stats.items()],
        key="overlap_table",
        hide_index=True,
    )
    chart_with_export(make_overlap_bar_figure(stats), "overlap-bars", "overlap_bars")
    head = st.selectbox("Inspect one head", list(results), key="overlap_head")
    res = results[head]
    images = load_image_folder(res.config["data_dir"])["test"].images
    inspect(
        config_key(res.config),
        head,
        res.features,
        res.labels,
        res.predictions,
        images,
        sphere_radius(res.model),
    )


def upload_layer() -> None:
    upload = st.file_uploader(
        "features.npz (features, labels, predictions) or CSV", type=["npz", "csv"], key="overlap_upload"
    )
    if upload is None:
        st.info("The CLI writes features.npz with `--out`; any NPZ or CSV with those columns works.")
        return
    try:
        features, labels, predictions = parse_embedding(upload.getvalue(), "the uploaded file")
        stats = cached_stats(f"upload-{upload.file_id}", v["tau"], features, labels, predictions)
    except ValueError as exc:
        st.error("Embedding not loaded:")
        st.text(str(exc))  # the message may quote the file: shown as text, never rendered
        return
    accuracy = float((labels == predictions).mean())
    st.dataframe([stats_row("uploaded", accuracy, stats)], key="overlap_upload_table", hide_index=True)
    inspect(f"upload-{upload.file_id}", "uploaded", features, labels, predictions, None)


st.title("Overlap statistics")
st.markdown(
    "A test sample **overlaps** when the cosine similarity of its representation to another sample's "
    "is ≥ 1 − τ. A **group** is a chain of such pairs. Errors in a group whose samples all share one "
    "label could be avoided by a classifier on that layer; the **unavoidable** ones are those of groups "
    "that hold several labels (any one answer per group gets the others wrong)."
)
show_url_notes("overlap")
v = overlap_controls()
sync_url(v)
{"table3": table3_layer, "vis3d": vis3d_layer, "upload": upload_layer}[v["layer"]]()
