"""SphereNet (Liu et al., 2017) against the same plain CNN: does learning on angles converge faster?"""

from functools import partial

import numpy as np
import streamlit as st

from sph_viz.app.exports import chart_with_export
from sph_viz.app.live import harvest, live_panel, running, show_errors, start
from sph_viz.app.state import (
    app_device,
    config_controls,
    device_text,
    init_state_from_url,
    recall,
    show_url_notes,
    sync_url,
)
from sph_viz.app.widgets import controls
from sph_viz.experiments.spherenet import (
    SPHERENET_FIELDS,
    SPHERENET_PRESETS,
    plan_runs,
    time_to_accuracy,
    train_seconds,
)
from sph_viz.figures.spherenet import make_spherenet_figures
from sph_viz.reports.format import k_summary, mean_sd

JOB, MEMO = "spherenet_job", "spherenet_memo"
FIGURES = {
    "loss_vs_steps": "loss vs steps",
    "loss_vs_seconds": "loss vs seconds",
    "probe_accuracy_vs_steps": "test accuracy vs steps",
    "probe_accuracy_vs_seconds": "test accuracy vs seconds",
    "learnt_k": "learnt k",
}
init_state_from_url("spherenet", SPHERENET_FIELDS)

st.title("SphereNet: convolutions that see only angles")
st.markdown(
    "Every convolution of a small CNN (3 stages, BatchNorm, ReLU) becomes a **SphereConv**: the output is "
    "g(θ), θ the angle between the kernel and the input patch. The slides claim *faster convergence*; "
    "here the same net with ordinary convolutions is the baseline, on the same data, seeds and batches."
)
show_url_notes("spherenet")
with st.sidebar:
    st.header("SphereNet settings")
    values = controls("spherenet", SPHERENET_FIELDS)
    config_controls("spherenet", SPHERENET_FIELDS, values)
sync_url(values)
st.caption(
    f"Preset **{values['preset']}**: {SPHERENET_PRESETS[values['preset']].description}. "
    f"Device: {device_text()}."
)
try:
    seeds = range(values["seed"], values["seed"] + values["n_seeds"])
    planned = plan_runs(values, values["variants"], seeds)
    keys = {p.name: p.cache_config for p in planned}
except ValueError as exc:
    st.error(f"Settings not usable: {exc}")
    st.stop()
harvest(JOB, MEMO)
results = {p.name: r for p in planned if (r := recall(MEMO, keys[p.name])) is not None}
missing = [p for p in planned if p.name not in results]
if running(JOB):
    live_panel(JOB)
else:
    show_errors(JOB)
    label = f"▶ Train {len(missing)} run(s): {', '.join(p.name for p in missing)}"
    if missing and st.button(label, type="primary", key="spherenet_train"):
        start(JOB, {p.name: partial(p.run, device=app_device()) for p in missing})
        st.rerun()
st.session_state["spherenet_shown"] = results
if not results:
    st.info("Nothing trained yet for these settings: press Train (results are cached for next time).")
    st.stop()

by_variant: dict[str, list] = {}
for p in planned:
    if p.name in results:
        by_variant.setdefault(p.variant, []).append(results[p.name])
default_target = 0.95 if values["dataset"] == "mnist" else 0.85
target = st.slider("target test accuracy (probe)", 0.5, 0.99, default_target, 0.01, key="spherenet_target")
rows = []
for variant, rs in by_variant.items():
    hits = [time_to_accuracy(r.extras, target) for r in rs]
    reached = [h for h in hits if h is not None]
    acc = np.array([r.test_accuracy for r in rs])
    rows.append(
        {
            "variant": variant,
            "seeds": len(rs),
            "test accuracy": mean_sd([r.test_accuracy for r in rs], ".2%"),
            "steps to target": f"{np.mean([h[0] for h in reached]):.0f}" if reached else "never",
            "seconds to target": f"{np.mean([h[1] for h in reached]):.1f}" if reached else "never",
            "training seconds": f"{np.mean([train_seconds(r.extras) for r in rs]):.1f}",
            "learnt k (mean ± sd)": k_summary(np.concatenate([r.extras["learnt_k"] for r in rs])),
            "stopped early": any(r.train.stopped for r in rs),
        }
    )
st.dataframe(rows, hide_index=True)
st.caption(
    "Seconds are training seconds on this machine (probe evaluations excluded); on a shared CPU they vary "
    "with the load, steps do not. Bands: ±1 sd over seeds. Loss: mean over 20 steps."
)
curves = {v: [r.extras for r in rs] for v, rs in by_variant.items()}
figs = make_spherenet_figures(curves, title=f"{values['dataset']}, preset {values['preset']}")
for tab, name in zip(st.tabs([FIGURES[n] for n in figs]), figs, strict=True):
    with tab:
        chart_with_export(figs[name], f"spherenet-{name}", f"spherenet_fig_{name}")
