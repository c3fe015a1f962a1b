"""Home: what the spherization layer is, which device and data are in use, where to go.

Draws without torch (the figures come from the layer's NumPy twin); the device line follows
once the background warm-up (`sph_viz.app.warmup`) has loaded torch.
"""

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from sph_viz.app import warmup
from sph_viz.app.state import device_text
from sph_viz.data.bundled import BUNDLED_MNIST, MNIST_CREDIT
from sph_viz.figures.layer import (
    compute_angle_curve,
    compute_reachable_patch,
    compute_walkthrough,
    make_angle_curve_figure,
    make_walkthrough_figure,
)
from sph_viz.figures.toy import make_representation_figure
from sph_viz.formulas import ANGLE, ANGLE_RANGE, LOGIT, NORM

HEIGHT = 330  # px: a column of a 1280x720 screen is about 260 px wide


@st.cache_resource(show_spinner=False)
def home_figures() -> tuple[go.Figure, go.Figure, go.Figure]:
    """The three fixed figures (angle curve, point on the sphere, decision by angle); read-only."""
    z, phi, low = compute_angle_curve(1.0, 1e-6, 2)
    curve = make_angle_curve_figure(z, phi, low, band_label=False)
    curve.update_layout(height=HEIGHT, margin={"t": 30, "b": 30})
    stage = compute_walkthrough((0.5, -0.5), 1.0, 1e-6, 1.0)
    sphere = make_walkthrough_figure(stage, compute_reachable_patch(2, 1e-6, 1.0))
    sphere.update_layout(height=HEIGHT)
    sphere.update_scenes(xaxis_showticklabels=False, yaxis_showticklabels=False, zaxis_showticklabels=False)
    angles = np.concatenate([np.linspace(0.15, 0.55, 12), np.linspace(1.0, 1.4, 12)])
    points = np.stack([np.cos(angles), np.sin(angles)], 1)  # two classes on the circle
    decide = make_representation_figure(
        points, np.repeat([0, 1], 12), np.array([[1.0, -0.3], [-0.3, 1.0]]), None, radius=1.0
    )
    decide.update_layout(height=HEIGHT, margin={"t": 10, "b": 10}, showlegend=False)
    return curve, sphere, decide


@st.fragment(run_every=0.5)
def device_pending() -> None:
    """Until torch is loaded: a placeholder; then the whole page once more, with the line."""
    if warmup.torch_ready() or warmup.failed():
        st.rerun(scope="app")
    st.markdown("**Device:** checking… (torch loads in the background)")


def device_line() -> None:
    if warmup.torch_ready():  # loaded already (warm-up done, or another page): costs nothing now
        st.markdown(f"**Device:** {device_text()}")
    elif warmup.failed():
        st.markdown("**Device:** unknown (torch did not load; see the server log)")
    elif warmup.enabled():
        device_pending()
    else:
        st.markdown(f"**Device:** chosen when a page first trains ({warmup.WARMUP_ENV}=0)")


st.title("sph-viz: what a network learns when it may use only angles")
st.markdown(
    "The **spherization layer** (Kim & Kim, NeurIPS 2022) replaces an ordinary layer so that "
    "the next layer decides from **angles alone**, yet the norm is not thrown away: unlike "
    "projecting onto the sphere (L2 normalisation, SphereNet, W-Softmax), samples that differ "
    "only in length stay distinct points. (Saturated sigmoids can still pin angles to the edge "
    "of their range; the Overlap page shows where.)"
)
curve, sphere, decide = home_figures()
c1, c2, c3 = st.columns(3)
with c1:
    st.markdown("**1 · Angularize.** Each pre-activation z becomes an angle")
    st.latex(ANGLE)
    st.markdown(rf"in ${ANGLE_RANGE}$: never 0, so no coordinate of s collapses.")
    st.plotly_chart(curve, key="home_curve")
with c2:
    st.markdown(
        "**2 · Onto the sphere.** n angles become a point s on the (n+1)-sphere of "
        "radius r, computed in log space in one tensor operation; its length is always r:"
    )
    st.latex(NORM)
    st.plotly_chart(sphere, key="home_sphere")
with c3:
    st.markdown(
        "**3 · Decide by angle.** A linear layer **without bias** reads s: every "
        "decision boundary passes through the origin, so only directions matter."
    )
    st.latex(LOGIT)
    st.plotly_chart(decide, key="home_decide")
st.divider()
left, right = st.columns(2)
with left:
    device_line()
    st.markdown(
        f"**Dataset:** MNIST, bundled in `{BUNDLED_MNIST.name}/` "
        f"(60,000 training and 10,000 test images)  \n*{MNIST_CREDIT}*"
    )
with right:
    st.page_link("pages/toy.py", label="Toy task: hyperplanes, from first to last epoch", icon="✏️")
    st.page_link("pages/vis3d.py", label="CNN-Vis3D: MNIST on a sphere, live", icon="🌐")
    st.page_link("pages/overlap.py", label="Overlap statistics: what projections lose", icon="🔍")
    st.page_link("pages/layer.py", label="Layer explorer: every knob of the layer", icon="🧭")
warmup.start()  # now that the page has drawn: torch and the training pages' modules, once per server
