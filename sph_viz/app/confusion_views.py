"""A head's confusion matrix, a cell chosen from a list, and that cell's digits."""

from __future__ import annotations

import numpy as np
import streamlit as st

from sph_viz.app.overlap_views import image_grid
from sph_viz.confusion import cell_members, compute_confusion, nonempty_cells
from sph_viz.figures.confusion import make_confusion_figure

MAX_SHOWN = 40  # digits drawn for one cell; a diagonal cell holds up to ~1,100 of 10,000


def cell_name(true: int, predicted: int) -> str:
    return f"{true} → {predicted}"


def confusion_panel(key: str, features, labels, predictions, images, accuracy: float | None) -> None:
    """The heatmap, a "true → predicted" choice of its non-empty cells, and the chosen samples."""
    matrix = compute_confusion(labels, predictions)
    cells = {cell_name(t, p): (t, p, n) for t, p, n in nonempty_cells(matrix)}
    choice = st.selectbox(
        "cell (true → predicted): errors first, most frequent first",
        list(cells),
        key=f"vis3d_cell_{key}",
        format_func=lambda c: f"{c}: {cells[c][2]:,} sample{'s' * (cells[c][2] != 1)}",
    )
    true, predicted, _ = cells[choice]
    title = "confusion matrix" + (f", test accuracy {accuracy:.2%}" if accuracy is not None else "")
    st.plotly_chart(
        make_confusion_figure(matrix, selected=(true, predicted), title=title), key=f"vis3d_cm_{key}"
    )
    st.caption(
        "Choose a cell in the list above: Streamlit 1.67 passes no clicks on a heatmap to the app "
        "(it forwards selections of scatter-like traces and clicks on sunburst/treemap sectors "
        "only), so clicking a cell selects nothing."
    )
    members = cell_members(labels, predictions, true, predicted)
    shown = members[:MAX_SHOWN]
    norms = np.linalg.norm(np.asarray(features)[shown], axis=1)
    st.markdown(f"**{len(members):,}** test images of digit {true} predicted as {predicted}:")
    image_grid(images, shown, labels, predictions, [f"‖x‖ {n:.4g}" for n in norms])
    if len(members) > MAX_SHOWN:
        st.caption(f"First {MAX_SHOWN} of {len(members):,} samples, by index.")
