"""A head's confusion matrix: a click on a cell (or the list) chooses it, and that cell's digits show."""

from __future__ import annotations

import numpy as np
import streamlit as st

from sph_viz.analysis.confusion import cell_members, compute_confusion, nonempty_cells
from sph_viz.app.memo import derived
from sph_viz.app.overlap_views import image_grid
from sph_viz.experiments.result import ExperimentResult
from sph_viz.figures.confusion import make_confusion_figure

MAX_SHOWN = 40  # digits drawn for one cell; a diagonal cell holds up to ~1,100 of 10,000
CELL = "vis3d_cell"  # the chosen cell, "true-predicted" (the page's URL and config field)


def cell_name(true: int, predicted: int) -> str:
    return f"{true}-{predicted}"


def cell_text(true: int, predicted: int, n: int) -> str:
    return f"{true} → {predicted}: {n:,} sample{'s' * (n != 1)}"


def clicked_cell(chart_key: str) -> str | None:
    """The cell a click on the matrix selected ("true-predicted"), or None: the one selected
    point of the cells' trace (trace 1), from the chart's state as the browser sent it."""
    points = (st.session_state.get(chart_key) or {}).get("selection", {}).get("points", [])
    rows = [p.get("customdata") for p in points if p.get("curve_number") == 1]
    if len(rows) != 1 or rows[0] is None:
        return None
    row = rows[0]  # a browser sends a typed-array row as {"0": ..., "1": ...}
    true, predicted = (row["0"], row["1"]) if isinstance(row, dict) else row[:2]
    return cell_name(int(true), int(predicted))


def follow_click(chart_key: str) -> None:
    """A new click on a cell chooses it (latest action wins: a click is taken once, when the
    chart's selection changes, so choosing from the list afterwards stays); before the list."""
    cell = clicked_cell(chart_key)
    if cell is not None and cell != st.session_state.get(f"{chart_key}_seen"):
        st.session_state[CELL] = cell
    st.session_state[f"{chart_key}_seen"] = cell


def _cells(res: ExperimentResult) -> tuple[np.ndarray, dict[str, tuple[int, int, int]]]:
    matrix = compute_confusion(res.labels, res.predictions)
    return matrix, {cell_name(t, p): (t, p, n) for t, p, n in nonempty_cells(matrix)}


def _figure(matrix: np.ndarray, selected: tuple[int, int], title: str):
    """The matrix without its colour bar: in half a page the cells need the width (the colour is
    each row's share, said in every cell's hover)."""
    return make_confusion_figure(matrix, selected=selected, title=title).update_traces(
        showscale=False, selector={"type": "heatmap"}
    )


def confusion_panel(key: str, res: ExperimentResult, images) -> None:
    """The matrix (click a cell), the same cells as a list (errors first), and the cell's samples."""
    labels, predictions, accuracy = res.labels, res.predictions, res.test_accuracy
    matrix, cells = derived(res, "confusion", lambda: _cells(res))
    chart_key = f"vis3d_cm_{key}"
    follow_click(chart_key)
    if st.session_state.get(CELL) not in cells:  # "auto", or a cell this head leaves empty
        st.session_state[CELL] = next(iter(cells))
    true, predicted, _ = cells[st.session_state[CELL]]
    title = "confusion matrix" + (f", test accuracy {accuracy:.2%}" if accuracy is not None else "")
    fig = derived(
        res,
        ("confusion_figure", true, predicted),
        lambda: _figure(matrix, (true, predicted), title),
    )
    matrix_column, cell_column = st.columns([3, 2])
    matrix_column.plotly_chart(fig, key=chart_key, on_select="rerun", selection_mode="points")
    choice = cell_column.selectbox(
        "cell (true → predicted): click one above, or choose here (errors first, most frequent first)",
        list(cells),
        key=CELL,
        format_func=lambda c: cell_text(*cells[c]),
    )
    true, predicted, _ = cells[choice]
    members = cell_members(labels, predictions, true, predicted)
    shown = members[:MAX_SHOWN]
    norms = np.linalg.norm(res.features[shown], axis=1)
    with cell_column:
        st.markdown(f"**{len(members):,}** test images of digit {true} predicted as {predicted}:")
        image_grid(images, shown, labels, predictions, [f"‖x‖ {n:.4g}" for n in norms])
        if len(members) > MAX_SHOWN:
            st.caption(f"First {MAX_SHOWN} of {len(members):,} samples, by index.")
