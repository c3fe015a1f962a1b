"""Layer explorer: z -> phi -> s, stage by stage, with every knob of the layer."""

import math

import streamlit as st

from sph_viz.app.exports import chart_with_export
from sph_viz.app.state import config_controls, init_state_from_url, show_url_notes, sync_url
from sph_viz.app.widgets import controls
from sph_viz.experiments.layer_fields import LAYER_FIELDS
from sph_viz.figures.layer import (
    compute_angle_curve,
    compute_reachable_patch,
    compute_walkthrough,
    make_angle_curve_figure,
    make_walkthrough_figure,
    walkthrough_inputs,
)
from sph_viz.formulas import ANGLE, ANGLE_RANGE, CARTESIAN, LOGIT, LOWER_ANGLE, NORM

init_state_from_url("layer", LAYER_FIELDS)


def vector(values, fmt: str, shown: int = 6) -> str:
    """(a, b, c, …, z): at most `shown` leading values and the last one."""
    parts = [format(x, fmt) for x in values]
    if len(parts) > shown + 1:
        parts = [*parts[:shown], "…", parts[-1]]
    return f"({', '.join(parts)})"


def layer_controls() -> dict:
    with st.sidebar:
        st.header("Layer settings")
        return controls("layer", LAYER_FIELDS, group="")


st.title("Layer explorer")
show_url_notes("layer")
v = layer_controls()
st.subheader("1 · Angularization: each pre-activation z becomes an angle φ")
st.latex(rf"{ANGLE} \in {ANGLE_RANGE},\qquad {LOWER_ANGLE}")
v |= controls("layer", LAYER_FIELDS, group="step 1")
z, phi, phi_low = compute_angle_curve(v["alpha"], v["delta"], v["n"])
chart_with_export(
    make_angle_curve_figure(z, phi, phi_low, marker_z=v["z1"]), "layer-angle-curve", "layer_curve"
)
st.caption(
    f"With n = {v['n']} and δ = {v['delta']:.0e}, φ_L = {phi_low:.4g} rad "
    f"({math.degrees(phi_low):.3g}°): every angle stays in [φ_L, π/2], so ∏ sin φ ≥ δ and "
    "the last coordinate never collapses. Larger α makes the sigmoid steeper."
)
st.subheader("2 · Conversion to Cartesian: n angles → a point s on the sphere in n+1 dimensions")
v |= controls("layer", LAYER_FIELDS, group="step 2")
n = v["n"]
stage = compute_walkthrough(walkthrough_inputs(v["z1"], v["z2"], n), v["alpha"], v["delta"], v["radius"])
st.latex(rf"{CARTESIAN},\qquad {NORM}")
left, right = st.columns([1, 2])
left.markdown(
    f"n = {n}: **z** = {vector(stage['z'], '.2f')}  \n"
    f"**φ** = {vector(stage['phi'], '.4f')} rad, each in [φ_L, π/2] = [{stage['phi_low']:.4g}, 1.571]  \n"
    f"**s** = {vector(stage['s'], '.4f')}  \n"
    f"**‖s‖** = {stage['norm']:.6f} = r;  last coordinate s{n + 1} = r·∏ sin φ = "
    f"{stage['s'][-1]:.4g} ≥ r·δ"
)
left.caption(
    ("z₃ … zₙ are 0 (their angles sit mid-range). " if n > 2 else "")
    + ("With n = 1 there is no z₂: s is a point on a circle. " if n == 1 else "")
    + "The 3-D view shows s as (s₁, s₂, ‖(s₃ … sₙ₊₁)‖): the same distance r from the origin and "
    "the same φ₁, φ₂. The shaded patch is all it can reach: angles in [φ_L, π/2] keep every "
    "coordinate positive."
)
patch = compute_reachable_patch(n, v["delta"], v["radius"])
chart_with_export(make_walkthrough_figure(stage, patch), "layer-walkthrough", "layer_sphere", right)
st.subheader("3 · Effect of r")
st.latex(rf"{LOGIT}\qquad \text{{(no bias)}}")
st.markdown(
    f"Every output has norm exactly r = {v['radius']:g}. The next layer is linear **without bias**, "
    "so r scales every logit (a softmax temperature) but moves no "
    "decision. A larger r lets the softmax become confident sooner, which is why the CNN-Vis3D "
    "`fast` preset uses r = 5."
)
with st.sidebar:
    config_controls("layer", LAYER_FIELDS, v)
sync_url(v)
