"""Home: what the spherization layer is, which device and data are in use, where to go."""

import streamlit as st

from pages.common import device_text
from sph_viz.data import BUNDLED_MNIST, MNIST_CREDIT
from sph_viz.figures_layer import (
    compute_angle_curve,
    compute_reachable_patch,
    compute_walkthrough,
    make_angle_curve_figure,
    make_walkthrough_figure,
)

st.title("sph-viz: what a network learns when it may use only angles")
st.markdown(
    "The **spherization layer** (Kim & Kim, NeurIPS 2022) replaces an ordinary layer so that "
    "the next layer decides from **angles alone**, yet no information is thrown away: unlike "
    "projecting onto the sphere (L2 normalisation, SphereNet, W-Softmax), distinct samples stay "
    "distinct points."
)
c1, c2, c3 = st.columns(3)
with c1:
    st.markdown(
        "**1 · Angularize.** Each pre-activation z becomes an angle "
        "φ = (π/2 − φ_L)·σ(αz) + φ_L in [φ_L, π/2]."
    )
    z, phi, low = compute_angle_curve(1.0, 1e-6, 2)
    fig = make_angle_curve_figure(z, phi, low)
    fig.update_layout(height=250, margin={"t": 10, "b": 30})
    st.plotly_chart(fig, key="home_curve")
with c2:
    st.markdown(
        "**2 · Onto the sphere.** n angles become a point s on the (n+1)-sphere of "
        "radius r, computed in log space in one tensor operation; ‖s‖ = r always."
    )
    stage = compute_walkthrough((0.5, -0.5), 1.0, 1e-6, 1.0)
    fig = make_walkthrough_figure(stage, compute_reachable_patch(1.0, 1e-6, 1.0))
    fig.update_layout(height=250)
    st.plotly_chart(fig, key="home_sphere")
with c3:
    st.markdown(
        "**3 · Decide by angle.** A linear layer **without bias** reads s: every "
        "decision boundary passes through the origin, so only directions matter."
    )
    st.markdown("Logit *j* = r · ‖w_j‖ · cos(angle between s and w_j)")
st.divider()
left, right = st.columns(2)
left.markdown(
    f"**Device:** {device_text()}  \n**Dataset:** MNIST, bundled in `{BUNDLED_MNIST.name}/` "
    f"(60,000 training and 10,000 test images)  \n*{MNIST_CREDIT}*"
)
with right:
    st.page_link("pages/toy.py", label="Toy task: hyperplanes, from first to last epoch", icon="✏️")
    st.page_link("pages/vis3d.py", label="CNN-Vis3D: MNIST on a sphere, live", icon="🌐")
    st.page_link("pages/overlap.py", label="Overlap statistics: what projections lose", icon="🔍")
    st.page_link("pages/layer.py", label="Layer explorer: every knob of the layer", icon="🧭")
