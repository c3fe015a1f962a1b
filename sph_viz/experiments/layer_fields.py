"""The Layer explorer's field table. Torch-free, like the page: it draws with NumPy alone."""

from __future__ import annotations

from sph_viz.fields import Field

# The page draws the main group in its sidebar and z1, z2 beside steps 1 and 2.
DELTAS = tuple(10.0**-k for k in range(12, 0, -1))
SLIDER = {"widget": "slider", "step": 0.1}
LAYER_FIELDS = (
    Field("alpha", float, 1.0, 0.1, 10.0, label="α (sigmoid scale)", **SLIDER),
    Field("delta", float, 1e-6, 1e-12, 0.1, label="δ (lower bound of ∏ sin φ)", choices=DELTAS, log=True),
    Field("n", int, 2, 1, 64, label="n (pre-activations)", widget="slider"),
    Field("radius", float, 1.0, 0.1, 10.0, label="radius r", **SLIDER),
    Field("z1", float, 0.5, -10.0, 10.0, label="pre-activation z₁", **SLIDER, group="step 1"),
    Field("z2", float, -0.5, -10.0, 10.0, label="pre-activation z₂", **SLIDER, group="step 2"),
)
