"""Views of overlap statistics for any embedding: the table row, the PCA view, neighbours, groups."""

from __future__ import annotations

import numpy as np
import streamlit as st

from sph_viz.figures.overlap import compute_direction_pca
from sph_viz.figures.sphere import make_feature_figure
from sph_viz.overlap import OverlapStats, nearest_neighbours, overlap_stats


@st.cache_data(max_entries=128, show_spinner=False)
def cached_stats(key: str, tau: float, _features, _labels, _predictions) -> OverlapStats:
    """Overlap statistics of one embedding (named by key) at one tau."""
    return overlap_stats(_features, _labels, _predictions, tau=tau)


@st.cache_data(max_entries=32, show_spinner=False)
def cached_pca(key: str, _features) -> tuple[np.ndarray, np.ndarray]:
    return compute_direction_pca(_features)


def stats_row(name: str, accuracy: float | None, s: OverlapStats) -> dict:
    """One table row: the paper's columns, then what a group is made of."""
    return {
        "head": name,
        "test accuracy": accuracy,
        "# overlapping": s.n_overlap,
        "# errors among them": s.n_error,
        "ratio": None if np.isnan(s.ratio) else s.ratio,
        "# unavoidable errors": s.n_unavoidable_errors,
        "# groups": len(s.groups),
        "largest group": max(map(len, s.groups), default=0),
        "widest group (°)": float(s.group_span_deg.max()) if len(s.groups) else 0.0,
        "zero vectors": s.n_zero,
    }


def image_grid(images, indices, labels, predictions, extra: list[str] | None = None) -> None:
    """Test images by index, each captioned '#i · label→prediction' (✗ when wrong) and its `extra`."""
    if images is None:
        st.caption("No images for this embedding: " + ", ".join(f"#{i}" for i in indices[:40]))
        return
    st.image(
        [images[i].numpy() if hasattr(images[i], "numpy") else images[i] for i in indices],
        width=72,
        clamp=True,
        caption=[
            f"#{i} · {labels[i]}→{predictions[i]}"
            + (" ✗" if labels[i] != predictions[i] else "")
            + (f" · {extra[j]}" if extra else "")
            for j, i in enumerate(indices)
        ],
    )


def group_explorer(key: str, name: str, features, labels, predictions, stats: OverlapStats, images, radius):
    """Pick a group: its images, its labels, its angular span, highlighted in a 3-D view."""
    if not stats.groups:
        st.success(f"{name}: no two test samples overlap at this τ.")
        return
    sizes = [len(g) for g in stats.groups]
    k = st.selectbox(
        f"{name}: {len(sizes)} groups (a group is a chain of pairs within τ, not one point)",
        range(len(sizes)),
        key=f"overlap_group_{key}",
        format_func=lambda i: (
            f"group {i + 1}: {sizes[i]} samples, spans {stats.group_span_deg[i]:.3g}°, "
            f"labels {sorted(set(labels[stats.groups[i]].tolist()))}"
        ),
    )
    group = stats.groups[k]
    image_grid(images, group[:40], labels, predictions)
    if len(group) > 40:
        st.caption(f"First 40 of {len(group)} samples.")
    draw_features(key, name, features, labels, predictions, radius, highlight=group, title=f"group {k + 1}")


def draw_features(key, name, features, labels, predictions, radius, *, highlight=(), title=""):
    """The embedding in 3-D: as it is when it has 2 or 3 dimensions, else through PCA of directions."""
    if features.shape[1] in (2, 3):
        fig = make_feature_figure(
            features, labels, predictions, radius=radius, highlight=highlight, title=f"{name}: {title}"
        )
    else:
        coords, ratio = cached_pca(key, features)
        fig = make_feature_figure(
            coords, labels, predictions, highlight=highlight, title=f"{name}: {title}, PCA of directions"
        )
        st.caption(
            f"{features.shape[1]}-D features drawn through PCA of their directions x/‖x‖ "
            f"({ratio.sum():.0%} of the variance in 3 components). Points that look close here "
            "may be far apart in the full dimension; overlaps are counted there, not here."
        )
    st.plotly_chart(fig, key=f"overlap_fig_{key}")


def neighbour_panel(key: str, features, labels, predictions, images, k: int = 8) -> None:
    """Any sample's k nearest samples by cosine in the full dimension."""
    idx = int(st.number_input("sample #", 0, len(features) - 1, key=f"overlap_nn_{key}"))
    neighbour_grid(features, labels, predictions, images, idx, k=k)


def neighbour_grid(features, labels, predictions, images, idx: int, k: int = 8) -> None:
    """Sample idx and its k nearest samples by cosine: their images, then a table of exact cosines."""
    ids, cos = nearest_neighbours(features, idx, k=k)
    st.markdown(
        f"Sample **#{idx}** (label {labels[idx]}, predicted {predictions[idx]}) and its {len(ids)} nearest:"
    )
    image_grid(
        images,
        np.concatenate([[idx], ids]),
        labels,
        predictions,
        ["itself", *[f"1−cos {1 - c:.1e}" for c in cos]],
    )
    st.dataframe(
        {
            "sample": ids,
            "label": np.asarray(labels)[ids],
            "predicted": np.asarray(predictions)[ids],
            "cosine": cos,
            "1 − cosine": 1 - cos,
            "angle (°)": np.degrees(np.arccos(cos)),
        },
        hide_index=True,
        column_config={"cosine": st.column_config.NumberColumn(format="%.9f")},
    )
