"""Layer explorer: z -> phi -> s, stage by stage, with every knob of the layer."""

import math

import streamlit as st

from sph_viz.app.exports import chart_with_export
from sph_viz.app.state import config_controls, init_state_from_url, show_url_notes, sync_url
from sph_viz.app.widgets import field_widget
from sph_viz.figures.layer import (
    compute_angle_curve,
    compute_reachable_patch,
    compute_walkthrough,
    make_angle_curve_figure,
    make_walkthrough_figure,
)
from sph_viz.settings import LAYER_FIELDS

FIELDS = {f.name: f for f in LAYER_FIELDS}
init_state_from_url("layer", LAYER_FIELDS)


def layer_controls() -> dict:
    with st.sidebar:
        st.header("Layer settings")
        return {name: field_widget("layer", FIELDS[name]) for name in ("alpha", "delta", "n", "radius")}


st.title("Layer explorer")
show_url_notes("layer")
v = layer_controls()
st.subheader("1 · Angularization  φ = (π/2 − φ_L)·σ(αz) + φ_L,   φ_L = asin(δ^(1/n))")
v["z1"] = field_widget("layer", FIELDS["z1"])
z, phi, phi_low = compute_angle_curve(v["alpha"], v["delta"], v["n"])
chart_with_export(
    make_angle_curve_figure(z, phi, phi_low, marker_z=v["z1"]), "layer-angle-curve", "layer_curve"
)
st.caption(
    f"With n = {v['n']} and δ = {v['delta']:.0e}, φ_L = {phi_low:.4g} rad "
    f"({math.degrees(phi_low):.3g}°): every angle stays in [φ_L, π/2], so ∏ sin φ ≥ δ and "
    "the last coordinate never collapses. Larger α makes the sigmoid steeper."
)
st.subheader("2 · Conversion to Cartesian: two angles → a point on the sphere in 3-D")
v["z2"] = field_widget("layer", FIELDS["z2"])
stage = compute_walkthrough((v["z1"], v["z2"]), v["alpha"], v["delta"], v["radius"])
left, right = st.columns([1, 2])
left.markdown(
    f"**z** = ({stage['z'][0]:.2f}, {stage['z'][1]:.2f})  \n"
    f"**φ** = ({stage['phi'][0]:.4f}, {stage['phi'][1]:.4f}) rad  \n"
    f"**s** = r·(cos φ₁, sin φ₁ cos φ₂, sin φ₁ sin φ₂)  \n"
    f"  = ({stage['s'][0]:.4f}, {stage['s'][1]:.4f}, {stage['s'][2]:.4f})  \n"
    f"**‖s‖** = {stage['norm']:.6f} = r"
)
left.caption(
    "The shaded octant is all a 2-D spherization can reach: angles in [φ_L, π/2] keep every "
    "coordinate positive. This section always uses n = 2 (two angles, a 3-D point)."
)
patch = compute_reachable_patch(v["alpha"], v["delta"], v["radius"])
chart_with_export(make_walkthrough_figure(stage, patch), "layer-walkthrough", "layer_sphere", right)
st.subheader("3 · Effect of r")
st.markdown(
    f"Every output has norm exactly r = {v['radius']:g}. The next layer is linear **without bias**, "
    f"so its logits are r·(w·ŝ): r scales every logit (a softmax temperature) but moves no "
    "decision. A larger r lets the softmax become confident sooner, which is why the CNN-Vis3D "
    "`fast` preset uses r = 5."
)
with st.sidebar:
    config_controls("layer", LAYER_FIELDS, v)
sync_url(v)
