"""Paper: each of the paper's results this tool can reach, the paper's numbers, ours, and a verdict."""

import pandas as pd
import streamlit as st

from sph_viz.app.exports import chart_with_export
from sph_viz.app.live import live_panel
from sph_viz.app.state import app_device, device_text, result_store, start_job
from sph_viz.figures.gradients import (
    make_alpha_figure,
    make_gradient_comparison_figure,
    make_gradient_histogram_figure,
)
from sph_viz.reports.claims import NOT_RUN, assess, missing_tasks, store_fingerprint
from sph_viz.reports.paper import CLAIMS, SEEDS

JOB = "paper_job"
BY_KEY = {c.key: c for c in CLAIMS}


@st.cache_data(max_entries=64, show_spinner=False)
def claim_status(key: str, fingerprint: tuple):
    """A claim's status; recomputed only when the cache's entries change (the fingerprint)."""
    return assess(BY_KEY[key], result_store())


def run_missing(claim) -> None:
    store = result_store()
    tasks = missing_tasks(claim, store, app_device())
    start_job(
        JOB, {f"{claim.key} {name}": t for name, t in tasks.items()}, on_result=lambda _, r: store.save(r)
    )


st.title("The paper's claims, checked here")
st.caption(
    f"Measured numbers come from the result cache: seeds {', '.join(map(str, SEEDS))} of each claim's "
    f"recipe. Each claim's rule says when it agrees. Device: {device_text()}."
)
fingerprint = store_fingerprint(result_store())
statuses = {c.key: claim_status(c.key, fingerprint) for c in CLAIMS}
table = pd.DataFrame(
    [
        {
            "result": c.result,
            "paper": c.paper,
            "measured": statuses[c.key].measured,
            "recipe": statuses[c.key].recipe.split(":")[0],
            "seeds": ", ".join(map(str, statuses[c.key].seeds)) or "-",
            "verdict": statuses[c.key].verdict,
        }
        for c in CLAIMS
    ]
)
st.dataframe(table, hide_index=True, key="paper_table")
job = st.session_state.get(JOB)
running = job is not None and job.alive
if running:
    live_panel(JOB)
elif job is not None:
    for name, message in job.view().errors.items():
        st.error(f"{name}: {message}")

for claim in CLAIMS:
    status = statuses[claim.key]
    with st.expander(f"{claim.result} — {status.verdict}"):
        st.markdown(
            f"**Paper:** {claim.paper}  \n**Measured:** {status.measured}  \n**Recipe:** {status.recipe}  \n"
            f"**Rule:** {claim.rule}  \n**Why:** {status.reason}"
        )
        if status.verdict == NOT_RUN and not running and claim.lookup is None and status.total:
            label = f"▶ Run the {status.total - status.found} missing runs in the background"
            if st.button(label, key=f"paper_run_{claim.key}"):
                run_missing(claim)
                st.rerun()

st.header("Gradient flow (Fig. 4)")
fig4_first = sorted(CLAIMS, key=lambda c: not c.key.startswith("fig4"))
recorded = {c.result: c.key for c in fig4_first if statuses[c.key].gradients}
if not recorded:
    st.info("No gradient-flow record cached yet: run a Fig. 4 claim above.")
    st.stop()
key = recorded[st.selectbox("Runs", list(recorded), key="paper_gradients")]
records = statuses[key].gradients
st.caption(f"Seed {SEEDS[0]} of the {statuses[key].recipe.split(':')[0]} recipe, recorded every few steps.")
fig = make_gradient_comparison_figure(records, title="mean |grad W| per layer")
chart_with_export(fig, f"{key}-gradient-flow", "paper_flow")
chart_with_export(make_gradient_histogram_figure(records), f"{key}-histogram", "paper_hist")
for group, rec in records.items():
    if rec.sphere_names:
        fig = make_alpha_figure(rec.steps, rec.alpha, rec.alpha_grad, rec.sphere_names, title=f"{group}: α")
        chart_with_export(fig, f"{key}-{group}-alpha", f"paper_alpha_{group}")
