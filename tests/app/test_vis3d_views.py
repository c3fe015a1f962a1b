"""The CNN-Vis3D page's views through AppTest: one head or side by side, one sample, one camera,
a map click and a confusion-matrix click choosing samples; all of it in the URL and the config file.

Two heads are trained once for the session (600 images, 1 epoch, 200 test images: `vis3d_results`)
and put into each test's own cache; each test opens the page afresh on them.
"""

import json

import numpy as np
import pytest
from app_helpers import captioned_indices, decode, figures, image_captions, open_page, title
from prepared import VIS3D_QUERY

from sph_viz.app.vis3d_state import PAGE_FIELDS
from sph_viz.fields import parse_values
from sph_viz.figures.camera import DEFAULT, camera_values

QUERY = VIS3D_QUERY  # the prepared heads' settings
CAMERA = {
    "eye": {"x": -1.7, "y": 0.4, "z": 0.9},
    "center": {"x": 0.1, "y": 0.0, "z": -0.05},
    "up": {"x": 0.0, "y": 0.0, "z": 1.0},
}
DEFAULT_CAMERA = {p: dict(zip("xyz", DEFAULT[p], strict=True)) for p in DEFAULT}


@pytest.fixture
def page(fresh_app, inject, vis3d_results, tiny_folder):
    """Opens the page on the two prepared heads (found in this test's cache: nothing trains)."""
    inject(*vis3d_results.values())

    def open_(query=None, **state):
        at = open_page(
            fresh_app,
            "pages/vis3d.py",
            query={**QUERY, **(query or {})},
            state={"vis3d_data": str(tiny_folder), **state},
        )
        assert "vis3d_job" not in at.session_state
        assert not at.exception, [e.message for e in at.exception]
        return at

    return open_


def results(at) -> dict:
    return {r.config["model"]["head"]: r for r in at.session_state["mnist_memo"].values()}


def scenes(at) -> list[dict]:
    return [f for f in figures(at) if any(t["type"] == "scatter3d" for t in f["data"])]


def outlined(fig: dict) -> list[int]:
    (mark,) = [t for t in fig["data"] if t["name"] == "selected"]
    return sorted(int(s.split()[1]) for s in mark["text"])


def url_camera(camera: dict) -> dict:
    return {k: f"{v:g}" for k, v in camera_values(camera).items()}


def page_url(at) -> dict:
    values, notes = parse_values(dict(at.query_params), PAGE_FIELDS)
    assert notes == [], notes
    return values


def test_a_shared_link_restores_head_sample_and_camera_in_the_spec(page):
    at = page({"head": "projected", "sample": "17", **url_camera(CAMERA)})
    assert at.radio(key="vis3d_head_shown").value == "projected"
    assert at.number_input(key="vis3d_sample").value == 17
    (view,) = scenes(at)  # one head at a time: one 3-D view
    assert title(view) == "projected: 200 test images"
    assert view["layout"]["scene"]["camera"] == CAMERA  # the link's camera, in the spec itself
    assert view["layout"]["meta"] == "sph-viz-camera:vis3d"  # found and reported by the component
    assert outlined(view) == [17]
    mark = next(t for t in view["data"] if t["name"] == "selected")
    res = results(at)["projected"]
    np.testing.assert_allclose([decode(mark[a])[0] for a in "xyz"], res.features[17], rtol=1e-6)
    url = page_url(at)  # and the URL still holds it all
    assert (url["head"], url["sample"]) == ("projected", 17)
    assert {k: url[k] for k in camera_values(CAMERA)} == camera_values(CAMERA)


def test_one_head_draws_one_scene_and_one_map_and_switching_heads_keeps_sample_and_camera(page):
    at = page({"sample": "3", **url_camera(CAMERA)})
    webgl = [f for f in figures(at) if {t["type"] for t in f["data"]} & {"scatter3d", "scattergl"}]
    assert sorted(title(f).split(":")[0] for f in webgl) == ["spherized", "spherized"]  # view + map
    at.radio(key="vis3d_head_shown").set_value("projected").run()
    (view,) = scenes(at)
    assert title(view).startswith("projected") and outlined(view) == [3]
    assert view["layout"]["scene"]["camera"] == CAMERA
    assert [title(f) for f in figures(at) if "map of" in title(f)] == ["projected: map of directions"]


def test_side_by_side_shows_every_head_with_one_camera_and_the_same_sample(page):
    at = page({"view": "side-by-side", "sample": "42", **url_camera(CAMERA)})
    views = scenes(at)
    assert [title(v) for v in views] == ["spherized: 200 test images", "projected: 200 test images"]
    for v in views:
        assert v["layout"]["scene"]["camera"] == CAMERA
        assert v["layout"]["title"]["subtitle"]["text"] == "sample #42 outlined"
        assert outlined(v) == [42]
    assert not [f for f in figures(at) if "map of" in title(f) or "confusion" in title(f)]  # 3-D views only
    (table,) = [d.value for d in at.dataframe if "head" in d.value.columns]
    res = results(at)
    assert list(table["head"]) == ["spherized", "projected"]
    assert list(table["predicted"]) == [int(res[h].predictions[42]) for h in table["head"]]
    norms = [float(np.sqrt(np.sum(res[h].features[42].astype(np.float64) ** 2))) for h in table["head"]]
    np.testing.assert_allclose(table["‖x‖"], norms, rtol=1e-6)
    assert page_url(at)["view"] == "side-by-side"


def test_view_state_outlives_runs_that_do_not_draw_its_widgets(page):
    at = page()
    at.slider(key="vis3d_k").set_value(5).run()
    at.radio(key="vis3d_head_shown").set_value("projected").run()
    at.radio(key="vis3d_view").set_value("side-by-side").run()  # no neighbours slider drawn here
    at.radio(key="vis3d_view").set_value("one").run()
    assert at.slider(key="vis3d_k").value == 5
    assert at.radio(key="vis3d_head_shown").value == "projected"
    assert page_url(at)["k"] == 5


def test_a_camera_report_goes_into_the_url_and_the_next_specs_without_remounting_the_view(page):
    at = page({"sample": "9"})
    (before,) = scenes(at)
    assert before["layout"]["scene"]["camera"] == DEFAULT_CAMERA
    reported = {
        "eye": {"x": 0.123456, "y": -2.2, "z": 0.5},
        "center": {"x": 0, "y": 0, "z": 0},
        "up": {"x": 0, "y": 0, "z": 1},
    }
    at.session_state["vis3d_camera_sync"] = {"camera": reported}  # what the component sends
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    url = page_url(at)
    assert (url["eye_x"], url["eye_y"], url["eye_z"]) == (0.1235, -2.2, 0.5)  # rounded to 1e-4
    (same,) = scenes(at)
    assert same == before  # the spec the browser holds, unchanged: the view stays, already turned
    at.number_input(key="vis3d_sample").set_value(10).run()  # a rerun that redraws the view
    (after,) = scenes(at)
    assert after["layout"]["scene"]["camera"]["eye"] == {"x": 0.1235, "y": -2.2, "z": 0.5}
    assert after["layout"]["scene"]["camera"]["center"] == {"x": 0.0, "y": 0.0, "z": 0.0}
    at.run()  # the same report again is no new report: a camera set since then stays
    assert page_url(at)["eye_x"] == 0.1235


def test_a_config_file_sets_the_view_and_the_camera(page):
    at = page()
    # a config file is a whole configuration: the run's settings too (else the defaults' run would train)
    run = {"preset": "quick", "heads": ["spherized", "projected"], "epochs": 1, "max_samples": 600}
    config = {**run, "head": "projected", "view": "one", "sample": 11, "k": 3, **camera_values(CAMERA)}
    at.file_uploader(key="vis3d_config_upload").set_value(
        ("c.json", json.dumps(config).encode(), "application/json")
    ).run()
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert "vis3d_job" not in at.session_state  # the same run: found in the cache
    (view,) = scenes(at)
    assert title(view).startswith("projected") and outlined(view) == [11]
    assert view["layout"]["scene"]["camera"] == CAMERA
    assert at.slider(key="vis3d_k").value == 3


def test_a_map_click_moves_the_inspector_and_a_typed_number_wins_afterwards(page):
    at = page()
    res = results(at)["spherized"]
    (amap,) = [f for f in figures(at) if "map of" in title(f)]
    trace = amap["data"][2]
    sample = int(decode(trace["customdata"])[4, 0])
    point = {"curve_number": 2, "point_index": 4, "customdata": {"0": sample, "1": 0, "2": 0, "3": 0}}
    at.session_state["vis3d_map_spherized"] = {
        "selection": {"points": [point], "point_indices": [4], "box": [], "lasso": []}
    }
    at.run()
    assert at.number_input(key="vis3d_sample").value == sample  # the click moved the inspector
    assert f"label **{res.labels[sample]}**, predicted **{res.predictions[sample]}**" in " ".join(
        m.value for m in at.markdown
    )
    other = (sample + 1) % len(res.labels)
    at.number_input(key="vis3d_sample").set_value(other).run()  # typed afterwards: the latest wins
    assert at.number_input(key="vis3d_sample").value == other
    assert page_url(at)["sample"] == other


def test_a_click_on_a_confusion_cell_shows_exactly_that_cells_samples(page):
    at = page()
    res = results(at)["spherized"]
    counted = np.zeros((10, 10), dtype=np.int64)
    np.add.at(counted, (res.labels, res.predictions), 1)
    t, p = max(((i, j) for i in range(10) for j in range(10) if i != j), key=lambda c: (counted[c], c))
    assert counted[t, p] > 0
    row = {"0": t, "1": p, "2": int(counted[t, p]), "3": 0}
    point = {"curve_number": 1, "point_index": 10 * t + p, "customdata": row}
    at.session_state["vis3d_cm_spherized"] = {
        "selection": {"points": [point], "point_indices": [10 * t + p], "box": [], "lasso": []}
    }
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="vis3d_cell").value == f"{t}-{p}"
    expected = np.flatnonzero((res.labels == t) & (res.predictions == p))
    captions = [c for c in image_captions(at, "‖x‖") if "‖x‖" in c]
    assert captioned_indices(captions) == expected[:40].tolist()
    (heat,) = [f for f in figures(at) if f["data"][0]["type"] == "heatmap"]
    np.testing.assert_array_equal(decode(heat["data"][0]["text"]), counted)  # against a direct count
    (box,) = heat["layout"]["shapes"]
    assert (box["x0"], box["y0"]) == (p - 0.5, t - 0.5)
    assert page_url(at)["cell"] == f"{t}-{p}"


@pytest.mark.parametrize(
    "query, message",
    [
        ({"sample": "5000"}, "Sample #5000 is past the last test image; showing #199."),
        ({"eye_x": "0", "eye_y": "0", "eye_z": "0"}, "Camera adjusted: the camera's eye is at its center"),
        ({"eye_x": "nan"}, "URL parameter adjusted: eye_x: 'nan' is not a valid float; using 1.25."),
        ({"head": "cosface"}, "URL parameter adjusted: head: 'cosface' is not one of"),
    ],
)
def test_bad_view_values_in_a_link_become_a_note(page, query, message):
    at = page(query)
    assert any(w.value.startswith(message) for w in at.warning), [w.value for w in at.warning]
    assert len(scenes(at)) == 1  # and the page still shows its view
