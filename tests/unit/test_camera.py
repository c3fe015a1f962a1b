"""The page camera as nine numbers: from a browser's report and a URL to Plotly's camera, checked."""

import math
import re

import numpy as np
import plotly.graph_objects as go
import pytest

from sph_viz.fields import parse_values, to_query
from sph_viz.figures.camera import (
    CAMERA_FIELDS,
    DEFAULT,
    camera_from_values,
    camera_tag,
    camera_values,
    default_values,
    set_camera,
)


def plotly_camera(eye, center=(0, 0, 0), up=(0, 0, 1)) -> dict:
    """What Plotly's scene reports (getCamera), with its projection."""
    xyz = lambda v: dict(zip("xyz", v, strict=True))  # noqa: E731
    return {"eye": xyz(eye), "center": xyz(center), "up": xyz(up), "projection": {"type": "perspective"}}


def test_a_reported_camera_becomes_nine_rounded_values_and_back():
    eye = (1.234567891, -0.5000000004, 2.0)
    values = camera_values(plotly_camera(eye, center=(0.1, 0, -0.2)))
    assert values == {
        "eye_x": 1.2346,
        "eye_y": -0.5,
        "eye_z": 2.0,
        "center_x": 0.1,
        "center_y": 0.0,
        "center_z": -0.2,
        "up_x": 0.0,
        "up_y": 0.0,
        "up_z": 1.0,
    }
    camera, note = camera_from_values(values)
    assert note is None
    assert camera == {
        "eye": {"x": 1.2346, "y": -0.5, "z": 2.0},
        "center": {"x": 0.1, "y": 0.0, "z": -0.2},
        "up": {"x": 0.0, "y": 0.0, "z": 1.0},
    }


def test_the_url_round_trip_keeps_the_camera():
    values = camera_values(plotly_camera((0.31, -1.7, 0.9), up=(0.0, 0.6, 0.8)))
    read, notes = parse_values(to_query(values), CAMERA_FIELDS)
    assert notes == [] and read == values


def test_out_of_range_values_are_clamped_to_the_fields():
    values = camera_values(plotly_camera((500, 0, 0), center=(0, -30, 0), up=(0, 0, 3)))
    assert (values["eye_x"], values["center_y"], values["up_z"]) == (100.0, -10.0, 1.0)


@pytest.mark.parametrize(
    "camera, match",
    [
        ({"eye": {"x": 1, "y": 1}}, "a camera needs eye.z"),
        ("a string", "a camera needs eye.x"),
        (None, "a camera needs eye.x"),
        (plotly_camera((float("nan"), 1, 1)), "camera eye.x must be a finite number. Got 'nan' instead."),
        (plotly_camera(("1e999", 1, 1)), "camera eye.x must be a finite number"),
        (plotly_camera(([1], 1, 1)), "camera eye.x must be a finite number"),
    ],
)
def test_a_report_that_is_no_camera_is_refused(camera, match):
    with pytest.raises(ValueError, match=re.escape(match)):
        camera_values(camera)


@pytest.mark.parametrize(
    "changes, why",
    [
        ({"eye_x": 0, "eye_y": 0, "eye_z": 0}, "the camera's eye is at its center"),
        ({"up_x": 0, "up_y": 0, "up_z": 0}, "the camera's up vector is zero"),
        ({"eye_x": 0, "eye_y": 0, "eye_z": 2}, "the camera's up vector points along its line of sight"),
    ],
)
def test_a_camera_that_cannot_show_a_scene_becomes_the_default_and_says_why(changes, why):
    camera, note = camera_from_values(default_values() | changes)
    assert note == f"{why}; using the default view."
    assert camera == {p: dict(zip("xyz", DEFAULT[p], strict=True)) for p in DEFAULT}


def test_the_default_is_plotlys_own_camera():
    camera, note = camera_from_values(default_values())
    assert note is None
    plotly_default = go.layout.scene.Camera(
        eye={"x": 1.25, "y": 1.25, "z": 1.25}, center={"x": 0, "y": 0, "z": 0}, up={"x": 0, "y": 0, "z": 1}
    )
    assert camera == {p: dict(plotly_default[p].to_plotly_json()) for p in ("eye", "center", "up")}


def test_set_camera_puts_it_into_the_spec_and_tags_the_view():
    fig = go.Figure(go.Scatter3d(x=[0, 1], y=[0, 1], z=[0, 1]))
    camera, _ = camera_from_values(default_values() | {"eye_x": -2.0})
    spec = set_camera(fig, camera, "vis3d").to_plotly_json()["layout"]
    assert spec["scene"]["camera"]["eye"] == {"x": -2.0, "y": 1.25, "z": 1.25}
    assert spec["meta"] == camera_tag("vis3d") == "sph-viz-camera:vis3d"
    bad = {**camera, "eye": {"x": math.inf, "y": 0, "z": 0}}
    with pytest.raises(ValueError, match="camera values must be finite"):
        set_camera(fig, bad, "vis3d")
    assert np.isfinite(fig.layout.scene.camera.eye.x)  # the figure kept its good camera
