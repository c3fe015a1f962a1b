"""Confusion matrices against a direct count, and their heatmap at the data level."""

import re

import numpy as np
import pytest

from sph_viz.analysis.confusion import cell_members, compute_confusion, nonempty_cells
from sph_viz.figures.confusion import make_confusion_figure
from sph_viz.figures.style import TEXT_PX


def direct_count(labels, predictions, n):
    m = np.zeros((n, n), dtype=np.int64)
    for t, p in zip(labels, predictions, strict=True):
        m[t, p] += 1
    return m


@pytest.fixture
def sample():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 10, 500)
    predictions = np.where(rng.random(500) < 0.7, labels, rng.integers(0, 10, 500))
    return labels, predictions


def test_confusion_equals_a_direct_count(sample):
    labels, predictions = sample
    m = compute_confusion(labels, predictions)
    np.testing.assert_array_equal(m, direct_count(labels, predictions, 10))
    assert m.sum() == 500
    assert compute_confusion([0, 1], [1, 1], n_classes=4).shape == (4, 4)  # unseen classes: empty rows


def test_cell_members_are_exactly_the_cell(sample):
    labels, predictions = sample
    m = compute_confusion(labels, predictions)
    for t, p, n in nonempty_cells(m):
        members = cell_members(labels, predictions, t, p)
        assert len(members) == n == m[t, p]
        assert (labels[members] == t).all() and (predictions[members] == p).all()
    assert sum(n for *_, n in nonempty_cells(m)) == 500  # every non-empty cell listed once


def test_nonempty_cells_put_errors_first_most_frequent_first():
    m = np.array([[5, 2, 0], [0, 4, 7], [1, 0, 0]])
    assert nonempty_cells(m) == [(1, 2, 7), (0, 1, 2), (2, 0, 1), (0, 0, 5), (1, 1, 4)]


@pytest.mark.parametrize(
    ("labels", "predictions", "match"),
    [
        ([0, 1], [0], "same length. Got shapes \\(2,\\) and \\(1,\\)"),
        ([0, -1], [0, 1], "labels must be non-negative integers"),
        ([0, 1], [0.5, 1.0], "predictions must be non-negative integers. Got float64"),
    ],
)
def test_confusion_refuses_bad_input(labels, predictions, match):
    with pytest.raises(ValueError, match=match):
        compute_confusion(labels, predictions)


def test_confusion_refuses_too_few_classes():
    with pytest.raises(
        ValueError, match=re.escape("n_classes must be > the largest class 3. Got 2 instead.")
    ):
        compute_confusion([3], [0], n_classes=2)


def test_heatmap_shows_counts_coloured_by_row_share(sample):
    labels, predictions = sample
    m = compute_confusion(labels, predictions)
    fig = make_confusion_figure(m, selected=(3, 5), title="confusion")
    heat, _ = fig.data
    np.testing.assert_array_equal(np.asarray(heat.text), m)  # the written numbers are the counts
    np.testing.assert_allclose(np.asarray(heat.z), m / m.sum(axis=1, keepdims=True))
    assert heat.hoverinfo == "skip"  # hover and clicks belong to the cells' points
    assert list(heat.x) == list(range(10)) and list(heat.y) == list(range(10))
    assert fig.layout.yaxis.autorange == "reversed"  # true class 0 on top, as a table reads
    (box,) = fig.layout.shapes  # the selected cell (true 3, predicted 5) outlined
    assert (box.x0, box.x1, box.y0, box.y1) == (4.5, 5.5, 2.5, 3.5)
    sizes = [
        heat.textfont.size,
        heat.colorbar.tickfont.size,
        heat.colorbar.title.font.size,
        fig.layout.font.size,
        fig.layout.xaxis.tickfont.size,
        fig.layout.yaxis.title.font.size,
        fig.layout.hoverlabel.font.size,
    ]
    assert min(sizes) >= TEXT_PX, sizes


def test_every_cell_has_one_clickable_point_naming_it(sample):
    """A click on a cell is a point selection (heatmaps send none): its customdata is the cell."""
    labels, predictions = sample
    m = direct_count(labels, predictions, 10)
    _, cells = make_confusion_figure(m).data
    assert cells.type == "scatter" and cells.mode == "markers" and cells.marker.opacity == 0
    data = np.asarray(cells.customdata)
    assert data.shape == (100, 4)
    true, predicted = data[:, 0].astype(int), data[:, 1].astype(int)
    assert sorted(zip(true.tolist(), predicted.tolist(), strict=True)) == [
        (t, p) for t in range(10) for p in range(10)
    ]
    np.testing.assert_array_equal(np.asarray(cells.x), predicted)  # drawn on the cell it names
    np.testing.assert_array_equal(np.asarray(cells.y), true)
    np.testing.assert_array_equal(data[:, 2], m[true, predicted])  # its hover count
    np.testing.assert_allclose(data[:, 3], 100 * m[true, predicted] / m.sum(axis=1)[true])


def test_heatmap_of_an_empty_row_is_zero_not_nan():
    fig = make_confusion_figure(np.array([[2, 0], [0, 0]]))
    np.testing.assert_array_equal(np.asarray(fig.data[0].z), [[1.0, 0.0], [0.0, 0.0]])
    with pytest.raises(
        ValueError, match=re.escape("matrix must be square (C, C). Got shape (2, 3) instead.")
    ):
        make_confusion_figure(np.zeros((2, 3)))
