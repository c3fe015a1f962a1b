"""Layer explorer through AppTest: every section follows n, checked against the closed forms."""

import base64
import json
import math

import numpy as np
from app_helpers import open_page

from sph_viz.experiments.layer_fields import LAYER_FIELDS
from sph_viz.fields import parse_values
from sph_viz.formulas import ANGLE, CARTESIAN, LOGIT, NORM


def decode(value):
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"])
    return np.asarray(value, dtype=float)


def figure(at, key: str) -> dict:
    return next(json.loads(el.proto.spec) for el in at.get("plotly_chart") if el.proto.id.endswith(key))


def closed_form(n, delta, alpha, radius, z):
    """phi_L, phi (n,) and s (n+1,) written out: phi_L = asin(delta^(1/n)), s_k = r cos phi_k prod sin."""
    phi_low = math.asin(delta ** (1 / n))
    phi = (math.pi / 2 - phi_low) / (1 + np.exp(-alpha * np.asarray(z))) + phi_low
    s = [radius * math.cos(phi[k]) * np.prod(np.sin(phi[:k])) for k in range(n)]
    return phi_low, phi, np.array([*s, radius * np.prod(np.sin(phi))])


def shown(values, fmt: str) -> str:
    """As the page prints a vector: up to 7 values, else the first 6, '…' and the last."""
    parts = [format(x, fmt) for x in values]
    return f"({', '.join(parts if len(parts) <= 7 else [*parts[:6], '…', parts[-1]])})"


def check_sections(at, n, delta, alpha, radius, z1, z2):
    z = [z1, z2, *[0.0] * (n - 2)][:n]
    phi_low, phi, s = closed_form(n, delta, alpha, radius, z)
    # Section 1: the caption, the dotted line and the curve's floor all give this n's phi_L.
    assert f"φ_L = {phi_low:.4g} rad" in " ".join(c.value for c in at.caption)
    curve = figure(at, "layer_curve")
    assert f"φ_L = {phi_low:.3g}" in [a["text"] for a in curve["layout"]["annotations"]]
    line = next(t for t in curve["data"] if t["name"] == "φ(z)")
    np.testing.assert_allclose(decode(line["y"]).min(), phi_low, atol=1e-3)
    # Section 2: the printed angles and coordinates are this n's.
    text = " ".join(m.value for m in at.markdown)
    assert f"each in [φ_L, π/2] = [{phi_low:.4g}, 1.571]" in text
    assert f"**φ** = {shown(phi, '.4f')} rad" in text
    assert f"= {shown(s, '.4f')}" in text
    # ... and so is the 3-D view: the point (s1, s2, |s3..|), the patch's edge at phi_1 = phi_L.
    sphere = figure(at, "layer_sphere")
    point = next(t for t in sphere["data"] if t["name"] == "s")
    end = [decode(point[a])[-1] for a in "xyz"]
    np.testing.assert_allclose(end, [s[0], s[1], np.linalg.norm(s[2:])], rtol=1e-9, atol=1e-12)
    patch = next(t for t in sphere["data"] if t["name"] == "reachable")
    np.testing.assert_allclose(decode(patch["x"]).max(), radius * math.cos(phi_low))


def test_every_section_uses_the_n_of_the_slider(fresh_app):
    query = {"n": "5", "delta": "1e-06", "alpha": "2", "radius": "3", "z1": "1.5", "z2": "-2"}
    at = open_page(fresh_app, "pages/layer.py", query=query)
    assert at.session_state["layer_n"] == 5
    assert math.asin(1e-6 ** (1 / 5)) > 60 * math.asin(1e-6 ** (1 / 2))  # n = 2 would be far off
    check_sections(at, n=5, delta=1e-6, alpha=2.0, radius=3.0, z1=1.5, z2=-2.0)


def test_moving_the_slider_moves_every_section(fresh_app):
    at = open_page(fresh_app, "pages/layer.py")
    at.slider(key="layer_n").set_value(9).run()
    assert not at.exception
    check_sections(at, n=9, delta=1e-6, alpha=1.0, radius=1.0, z1=0.5, z2=-0.5)
    assert dict(at.query_params)["n"] == "9"


def test_an_uploaded_config_sets_every_section_and_the_url(fresh_app):
    at = open_page(fresh_app, "pages/layer.py")
    config = {"alpha": 3.0, "delta": 1e-3, "n": 7, "radius": 2.0, "z1": -1.0, "z2": 2.5}
    data = json.dumps(config).encode()
    at.file_uploader(key="layer_config_upload").set_value(("c.json", data, "application/json")).run()
    assert not at.exception, [e.message for e in at.exception]
    check_sections(at, n=7, delta=1e-3, alpha=3.0, radius=2.0, z1=-1.0, z2=2.5)
    assert parse_values(dict(at.query_params), LAYER_FIELDS) == (config, [])


def test_n_of_one_draws_an_arc_in_the_plane(fresh_app):
    at = open_page(fresh_app, "pages/layer.py", query={"n": "1"})
    sphere = figure(at, "layer_sphere")
    assert sphere["layout"]["scene"]["zaxis"]["title"]["text"] == "0 (n = 1)"
    patch = next(t for t in sphere["data"] if t["name"] == "reachable")
    assert np.all(decode(patch["z"]) == 0)
    check_sections(at, n=1, delta=1e-6, alpha=1.0, radius=1.0, z1=0.5, z2=-0.5)


def test_home_and_the_layer_explorer_typeset_their_formulas(fresh_app):
    for page, expected in (
        ("pages/home.py", (ANGLE, NORM, LOGIT)),
        ("pages/layer.py", (ANGLE, CARTESIAN, LOGIT)),
    ):
        at = open_page(fresh_app, page)
        shown = " ".join(x.value for x in at.latex)
        assert all(f in shown for f in expected), page
        assert "σ(αz)" not in " ".join(m.value for m in [*at.markdown, *at.subheader])  # not as plain text
