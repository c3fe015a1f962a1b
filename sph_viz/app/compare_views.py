"""CNN-Vis3D heads side by side: each head's 3-D view, one camera, the same sample outlined in each.

Only the 3-D views (one WebGL context each, at most MAX_SIDE_BY_SIDE): no maps beside them.
"""

from __future__ import annotations

import math

import numpy as np
import streamlit as st

from sph_viz.app.feature_views import angles_text, feature_view, sample_number
from sph_viz.app.text import plain
from sph_viz.app.vis3d_state import PREFIX
from sph_viz.experiments.result import ExperimentResult

MAX_SIDE_BY_SIDE = 6  # 3-D views at once, in rows of up to three


def rows(names: list[str], per_row: int = 3) -> list[list[str]]:
    """Names in rows of (nearly) equal length, at most per_row each (4 -> 2 + 2, 5 -> 3 + 2)."""
    if not names:
        return []
    width = math.ceil(len(names) / math.ceil(len(names) / per_row))
    return [names[i : i + width] for i in range(0, len(names), width)]


def side_by_side(shown: dict[str, ExperimentResult], images) -> None:
    """The first MAX_SIDE_BY_SIDE heads' 3-D views and the inspected sample in each head."""
    names = list(shown)[:MAX_SIDE_BY_SIDE]
    if len(shown) > len(names):
        st.caption(
            f"The first {len(names)} of {len(shown)} heads: a browser keeps only so many 3-D views; "
            "choose fewer heads in the sidebar to compare others."
        )
    side, _ = st.columns([1, 3])
    with side:
        idx = sample_number(min(len(shown[name].labels) for name in names))
    for row in rows(names):
        for col, name in zip(st.columns(len(row)), row, strict=True):
            res = shown[name]
            with col:
                st.markdown(f"**{plain(name)}**: test accuracy {res.test_accuracy:.2%}")
                feature_view(
                    f"{PREFIX}_side_{name}",
                    res,
                    [idx],
                    f"{name}: {len(res.labels):,} test images",
                    subtitle=f"sample #{idx} outlined",
                )
    st.subheader(f"Sample #{idx} in each head")
    st.image(
        images[idx].numpy(), width=140, clamp=True, caption=f"#{idx}, label {shown[names[0]].labels[idx]}"
    )
    st.dataframe(
        {
            "head": names,
            "predicted": [int(shown[h].predictions[idx]) for h in names],
            "‖x‖": [float(np.linalg.norm(shown[h].features[idx])) for h in names],
            "angles (°)": [angles_text(shown[h].features[idx], unit="") for h in names],
        },
        hide_index=True,
    )
