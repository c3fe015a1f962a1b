"""The dashboard through Streamlit's AppTest: every page, prepared results or tiny trainings, figures
checked as data."""

import numpy as np
import pytest
from app_helpers import PAGES, captioned_indices, decode, figures, image_captions, open_page, title
from prepared import TINY_TEST, filed_under, overlap_table3_specs, overlap_vis3d_specs

from sph_viz import overlap_stats
from sph_viz.experiments.result import ExperimentResult

TABLE3_QUERY = {
    "layer": "table3",
    "operators": "original,spherization",
    "seeds": "0",
    "max_samples": "64",
    "tau": "1e-3",
}


@pytest.mark.parametrize("page", PAGES)
def test_every_page_loads(fresh_app, page):
    at = open_page(fresh_app, page, state={"vis3d_autostarted": True})
    assert at.title[0].value


def test_toy_page_trains_and_draws_both_nets(fresh_app):
    at = open_page(fresh_app, "pages/toy.py", query={"epochs": "5", "radius": "2"})
    assert at.session_state["toy_epoch"] == 5
    reps = [f for f in figures(at) if "representation" in title(f)]
    assert len(reps) == 2
    spherized = reps[1]
    for fig in reps:  # 200 points in two class traces
        points = [t for t in fig["data"] if t["name"].startswith("class")]
        assert sum(len(decode(t["x"])) for t in points) == 200
    circle = next(t for t in spherized["data"] if t["name"].startswith("circle"))
    np.testing.assert_allclose(np.hypot(decode(circle["x"]), decode(circle["y"])), 2.0)
    pts = np.concatenate(
        [
            np.stack([decode(t["x"]), decode(t["y"])], 1)
            for t in spherized["data"]
            if t["name"].startswith("class")
        ]
    )
    np.testing.assert_allclose(np.linalg.norm(pts, axis=1), 2.0, rtol=1e-5)  # on the circle
    for t in spherized["data"]:  # every hyperplane of the bias-free head passes through (0, 0)
        if t.get("mode") == "lines" and not t["name"].startswith("circle"):
            x, y = decode(t["x"]), decode(t["y"])
            assert abs(x[0] * y[1] - x[1] * y[0]) < 1e-6
    cross = next(t for t in spherized["data"] if t["name"] == "hyperplanes cross")
    assert np.allclose([decode(cross["x"])[0], decode(cross["y"])[0]], 0, atol=1e-9)
    text = " ".join(m.value for m in at.markdown)
    assert "the origin, as a bias-free layer must" in text
    res = at.session_state["toy_last_good"][1]["original"]
    w, b = res.train.snapshots[-1].params["weight"], res.train.snapshots[-1].params["bias"]
    cross = np.linalg.solve(w.astype(float), -b.astype(float))
    assert np.linalg.norm(cross) > 1e-3  # the original net's hyperplanes miss the origin
    assert f"at ({cross[0]:.3f}, {cross[1]:.3f})" in text


def test_toy_epoch_buttons(fresh_app):
    at = open_page(fresh_app, "pages/toy.py", query={"epochs": "4"})
    at.button(key="toy_reset").click().run()
    assert at.session_state["toy_epoch"] == 0
    at.button(key="toy_forward").click().run()
    at.button(key="toy_forward").click().run()
    assert at.session_state["toy_epoch"] == 2
    fig = next(f for f in figures(at) if "spherized: representation" in title(f))
    assert "epoch 2" in fig["layout"]["title"]["text"]


def test_toy_results_come_from_the_cache_on_rerun(fresh_app):
    at = open_page(fresh_app, "pages/toy.py", query={"epochs": "3"})
    first = at.session_state["toy_last_good"][1]["spherized"]
    again = open_page(fresh_app, "pages/toy.py", query={"epochs": "3"})  # a new session
    second = again.session_state["toy_last_good"][1]["spherized"]
    assert second is not first  # loaded from disk, not shared in memory
    np.testing.assert_array_equal(second.features, first.features)


def test_bad_url_values_are_adjusted_with_a_message(fresh_app):
    at = open_page(fresh_app, "pages/toy.py", query={"lr": "fast", "epochs": "-4", "batch_size": "99999"})
    warnings = " ".join(w.value for w in at.warning)
    assert "lr: 'fast' is not a valid float; using 0.01." in warnings
    assert "epochs: -4 is outside [1, 500]; using 1." in warnings
    assert "batch_size: 99999 is outside [1, 200]; using 200." in warnings
    assert at.session_state["toy_lr"] == 0.01


def test_vis3d_trains_in_the_background_and_shows_the_sphere(fresh_app, small_mnist):
    state = {"vis3d_data": str(small_mnist)}
    query = {
        "preset": "quick",
        "heads": "spherized,projected",
        "epochs": "1",
        "max_samples": "600",
        "radius": "3",
    }
    at = open_page(fresh_app, "pages/vis3d.py", query=query, state=state)
    job = at.session_state["vis3d_job"]  # started on the first visit
    job.join(300)
    assert job.view().status == "done"
    at.run()
    res = at.session_state["mnist_memo"]
    spherized = next(r for r in res.values() if r.config["model"]["head"] == "spherized")
    np.testing.assert_allclose(np.linalg.norm(spherized.features, axis=1), 3.0, rtol=1e-5)
    fig = next(f for f in figures(at) if title(f).startswith("spherized"))
    points = [t for t in fig["data"] if t["type"] == "scatter3d" and t["name"] in list("0123456789")]
    assert sum(len(decode(t["x"])) for t in points) == 200  # every test image of the folder
    xyz = np.concatenate([np.stack([decode(t[a]) for a in "xyz"], 1) for t in points])
    np.testing.assert_allclose(np.linalg.norm(xyz, axis=1), 3.0, rtol=1e-5)
    assert any(t["name"] == "sphere r=3" for t in fig["data"])
    markdown = " ".join(m.value for m in at.markdown)
    assert f"test accuracy **{spherized.test_accuracy:.2%}**" in markdown


def test_overlap_numbers_equal_overlap_stats(fresh_app, inject, vis3d_results):
    query = {"tau": "1e-3", "layer": "vis3d"}
    state = {"overlap_heads": ["projected", "spherized"], "overlap_epochs": 1, "overlap_max_samples": 600}
    # the heads the page asks for, prepared on the tiny folder (its first 200 test images are the
    # bundled MNIST's first 200, which the page shows beside the groups)
    specs = overlap_vis3d_specs(query | {"heads": "projected,spherized", "epochs": "1", "max_samples": "600"})
    inject(*(filed_under(vis3d_results[head], spec.cache_config) for head, spec in specs.items()))
    at = open_page(fresh_app, "pages/overlap.py", query=query, state=state)
    assert "overlap_job" not in at.session_state  # found in the cache: nothing trains
    table = at.dataframe[0].value
    results = {r.config["model"]["head"]: r for r in at.session_state["mnist_memo"].values()}
    assert list(table["head"]) == ["projected", "spherized"]
    for _, row in table.iterrows():
        r = results[row["head"]]
        expected = overlap_stats(r.features, r.labels, r.predictions, tau=1e-3)
        assert row["# overlapping"] == expected.n_overlap
        assert row["# errors among them"] == expected.n_error
        assert row["# groups"] == len(expected.groups)
    bars = next(f for f in figures(at) if f["data"][0]["type"] == "bar")
    assert list(decode(bars["data"][0]["y"])) == list(table["# overlapping"])


@pytest.fixture(scope="session")
def table3_results(tiny_folder) -> dict[str, ExperimentResult]:
    """The two Table-3 runs of TABLE3_QUERY, trained once on the tiny folder, filed under the page's keys."""
    runs = overlap_table3_specs(TABLE3_QUERY, dataset=str(tiny_folder))
    return {
        label: filed_under(runs[label].run(), spec.cache_config)
        for label, spec in overlap_table3_specs(TABLE3_QUERY).items()
    }


def test_overlap_page_on_the_table3_layer_equals_the_core(fresh_app, inject, table3_results):
    """Two tiny Table-3 runs appear in the cache while the page is open; then checks the table
    against table3_rows."""
    from sph_viz.reports.table3 import table3_rows

    at = open_page(fresh_app, "pages/overlap.py", query=TABLE3_QUERY)
    assert "No cached run" in " ".join(i.value for i in at.info)
    inject(*table3_results.values())  # as a training from the page would leave them
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert "overlap_job" not in at.session_state
    table = at.table[0].value
    memo = at.session_state["mnist_memo"].values()
    runs = {r.config["model"]["operator"]: [r] for r in memo if r.config["experiment"] == "table3"}
    expected = {r.operator: r for r in table3_rows(runs, tau=1e-3)}
    assert list(table["operator"]) == ["original", "spherization"]
    for _, row in table.iterrows():
        e = expected[row["operator"]]
        assert row[r"\# ovlp"] == f"{e.n_ovlp[0]:.1f} ± {e.n_ovlp[1]:.1f}"  # escaped: not a heading
        assert row["test acc %"] == f"{e.test_acc[0]:.2f} ± {e.test_acc[1]:.2f}"
    assert runs["spherization"][0].features.shape == (TINY_TEST, 257)  # the 256-D layer, on the sphere
    caption = " ".join(c.value for c in at.caption)  # the overrides in effect, beside the preset
    assert "fast preset with training images = 64 instead of the preset's" in caption  # max_samples=64
    # overlap as training goes: at the ladder's τ nearest the page's (1e-3), each run's own counts
    fig = next(f for f in figures(at) if title(f).startswith("Overlap as training goes"))
    assert "τ = 0.001" in title(fig)
    for op, (r,) in runs.items():
        lines = [
            t
            for t in fig["data"]
            if t.get("name") == f"{op} (1 seed)" or (t.get("legendgroup") == op and t.get("mode"))
        ]
        counts = r.extras["overlap_counts"][:, list(r.extras["overlap_taus"]).index(1e-3)]
        assert [list(decode(t["y"])) for t in lines] == [
            list(counts[:, 0]),
            list(counts[:, 1]),
            list(r.extras["nc1"]),
        ]


def spherized_page(apps, inject, vis3d_results, tiny_folder):
    """The CNN-Vis3D page on the prepared spherized head (found in the cache: nothing trains)."""
    inject(vis3d_results["spherized"])
    query = {"preset": "quick", "heads": "spherized", "epochs": "1", "max_samples": "600"}
    at = open_page(apps, "pages/vis3d.py", query=query, state={"vis3d_data": str(tiny_folder)})
    assert "vis3d_job" not in at.session_state
    return at


def test_vis3d_confusion_matrix_and_its_cells(fresh_app, inject, vis3d_results, tiny_folder):
    at = spherized_page(fresh_app, inject, vis3d_results, tiny_folder)
    assert not at.exception, [e.message for e in at.exception]
    (res,) = at.session_state["mnist_memo"].values()
    labels, predictions = res.labels, res.predictions
    counted = np.zeros((10, 10), dtype=np.int64)
    np.add.at(counted, (labels, predictions), 1)
    (heat,) = [f for f in figures(at) if f["data"][0]["type"] == "heatmap"]
    np.testing.assert_array_equal(decode(heat["data"][0]["text"]), counted)
    assert f"test accuracy {res.test_accuracy:.2%}" in title(heat)

    cells = list(zip(*np.nonzero(counted), strict=True))
    largest = {
        kind: max((c for c in cells if (c[0] == c[1]) == kind), key=lambda c: (counted[c], c))
        for kind in (False, True)
    }
    for t, p in largest.values():  # the largest error cell and the largest correct one
        at.selectbox(key="vis3d_cell").set_value(f"{t}-{p}").run()
        expected = np.flatnonzero((labels == t) & (predictions == p))
        captions = image_captions(at, "‖x‖")
        assert captioned_indices(captions) == expected[:40].tolist()
        norms = np.linalg.norm(res.features[expected[:40]], axis=1)
        assert [c.split("‖x‖ ")[1] for c in captions] == [f"{n:.4g}" for n in norms]
        (heat,) = [f for f in figures(at) if f["data"][0]["type"] == "heatmap"]
        (box,) = heat["layout"]["shapes"]
        assert (box["x0"], box["y0"]) == (p - 0.5, t - 0.5)  # the chosen cell outlined


def test_vis3d_nearest_neighbours_by_cosine(fresh_app, inject, vis3d_results, tiny_folder):
    at = spherized_page(fresh_app, inject, vis3d_results, tiny_folder)
    (res,) = at.session_state["mnist_memo"].values()
    at.number_input(key="vis3d_sample").set_value(17).run()
    at.slider(key="vis3d_k").set_value(5).run()
    assert not at.exception, [e.message for e in at.exception]
    x = res.features.astype(np.float64)
    units = x / np.linalg.norm(x, axis=1, keepdims=True)
    cos = units @ units[17]  # brute force: every test image against sample 17
    others = np.delete(np.arange(len(cos)), 17)
    best = others[np.argsort(-cos[others], kind="stable")[:5]]
    (table,) = [d.value for d in at.dataframe if "cosine" in d.value.columns]
    np.testing.assert_allclose(table["cosine"], cos[best], rtol=0, atol=1e-12)
    np.testing.assert_allclose(cos[table["sample"]], table["cosine"], rtol=0, atol=1e-12)
    assert captioned_indices(image_captions(at, "itself")) == [17, *table["sample"]]


def test_vis3d_angle_map_selection_shows_those_digits_and_highlights_them(
    fresh_app, inject, vis3d_results, tiny_folder
):
    at = spherized_page(fresh_app, inject, vis3d_results, tiny_folder)
    assert not at.exception, [e.message for e in at.exception]
    (res,) = at.session_state["mnist_memo"].values()
    (amap,) = [f for f in figures(at) if "map of" in title(f)]
    assert {t["type"] for t in amap["data"]} == {"scattergl"}
    # what the browser would send for a box: every point of the map inside it, as Streamlit stores it
    points, samples = [], []
    # a box over the map's left half (split at the median φ₁, so it holds some samples, not all)
    cut = np.median(np.concatenate([decode(t["x"]) for t in amap["data"]]))
    for curve, t in enumerate(amap["data"]):
        x, ids = decode(t["x"]), decode(t["customdata"])[:, 0].astype(int)
        phi = np.degrees(np.arctan2(np.linalg.norm(res.features[ids, 1:], axis=1), res.features[ids, 0]))
        np.testing.assert_allclose(x, phi, atol=1e-4)  # the map's φ₁ is the sample's own
        for k in np.flatnonzero(x < cut):
            row = [float(ids[k]), 0, 0, 0]  # a browser sends a typed-array row as {"0": ..., "1": ...}
            row = dict(zip("0123", row, strict=True)) if len(points) % 2 else row
            points.append({"curve_number": curve, "point_index": int(k), "customdata": row})
            samples.append(int(ids[k]))
    assert 0 < len(samples) < len(res.labels)
    selection = {
        "points": points,
        "point_indices": [p["point_index"] for p in points],
        "box": [],
        "lasso": [],
    }
    at.session_state["vis3d_map_spherized"] = {"selection": selection}
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    expected = sorted(samples)
    # the map's grid comes before the confusion cell's, which also writes ‖x‖
    grid = next(el for el in at.get("image") if any("‖x‖" in im.caption for im in el.proto.imgs))
    captions = [im.caption for im in grid.proto.imgs]
    assert captioned_indices(captions) == expected[:40]
    norms = np.linalg.norm(res.features[expected[:40]], axis=1)
    assert [c.split("‖x‖ ")[1] for c in captions] == [f"{n:.4g}" for n in norms]
    assert any(f"**{len(expected):,}** sample" in m.value for m in at.markdown)
    (view,) = [f for f in figures(at) if title(f).startswith(f"spherized: {len(res.labels):,} test images")]
    (mark,) = [t for t in view["data"] if t["name"] == "selected"]
    assert sorted(int(s.split()[1]) for s in mark["text"]) == expected
    np.testing.assert_allclose(decode(mark["x"]), res.features[sorted(expected), 0], rtol=1e-6)
    assert view["layout"]["title"]["subtitle"]["text"] == f"{len(expected):,} selected on the map"
