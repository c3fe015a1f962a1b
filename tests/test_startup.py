"""The app answers at once: Home draws without torch, from a NumPy twin of the layer that is
tested equal to the torch layer; the warm-up that loads torch afterwards changes nothing."""

import os
import subprocess
import sys

import numpy as np
import pytest
import torch
from app_helpers import ROOT

from sph_viz.nn.layer_numpy import angularize, lower_angle, spherize
from sph_viz.nn.layers import Spherization
from sph_viz.nn.layers import lower_angle as torch_lower_angle

HEAVY = ("torch", "scipy", "sklearn")


def hostile_inputs(n: int) -> np.ndarray:
    """Wide, narrow and saturating pre-activations (N, n)."""
    g = np.random.default_rng(n)
    corners = np.stack([np.full(n, 1e4), np.full(n, -1e4), np.zeros(n), np.full(n, 800.0)])
    return np.concatenate([g.uniform(-1e4, 1e4, (300, n)), 3 * g.normal(size=(300, n)), corners])


@pytest.mark.parametrize("n", [1, 2, 3, 7, 64])
@pytest.mark.parametrize(
    ("alpha", "delta", "radius"), [(1.0, 1e-6, 1.0), (0.3, 1e-3, 2.5), (7.3, 1e-12, 0.1)]
)
def test_numpy_twin_equals_the_torch_layer(n, alpha, delta, radius):
    layer = Spherization(n, delta=delta, scale=alpha, radius=radius).double()
    # the torch layer keeps alpha and r as float32 parameters: the twin gets the same numbers
    a, r = layer.alpha.item(), layer.radius.item()
    z = hostile_inputs(n)
    with torch.no_grad():
        s_torch = layer(torch.from_numpy(z)).numpy()
        phi_torch = layer.angles(torch.from_numpy(z)).numpy()
    assert lower_angle(n, delta) == torch_lower_angle(n, delta) == layer.phi_low
    np.testing.assert_allclose(angularize(z, a, layer.phi_low), phi_torch, rtol=1e-14, atol=0)
    s = spherize(z, a, delta, r)
    np.testing.assert_allclose(s, s_torch, rtol=1e-12, atol=0)
    np.testing.assert_allclose(np.linalg.norm(s, axis=1), r, rtol=1e-12)


def test_numpy_twin_checks_its_arguments_like_the_layer():
    for kwargs, match in [
        ({"alpha": 0.0}, "scale must be > 0. Got 0.0 instead."),
        ({"radius": -1.0}, "radius must be > 0. Got -1.0 instead."),
        ({"delta": 1.0}, r"delta must be in \(0, 1\). Got 1.0 instead."),
    ]:
        with pytest.raises(ValueError, match=match):
            spherize(np.zeros((1, 2)), **kwargs)


@pytest.mark.parametrize(("page", "charts"), [(None, 3), ("pages/layer.py", 2)])
def test_pages_that_need_no_torch_draw_without_torch_scipy_or_sklearn(tmp_path, page, charts):
    """Home, and the Layer explorer opened from it, through app.py in a fresh interpreter
    (warm-up off): which heavy modules the process holds once the page has drawn."""
    switch = f"at.switch_page({page!r}).run()\nassert not at.exception, at.exception\n" if page else ""
    code = (
        "import sys\nfrom streamlit.testing.v1 import AppTest\n"
        "at = AppTest.from_file('app.py', default_timeout=120).run()\n"
        "assert not at.exception, at.exception\n"
        f"{switch}"
        f"assert len(at.get('plotly_chart')) == {charts}\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    env = {**os.environ, "SPH_VIZ_WARMUP": "0", "SPH_VIZ_CACHE_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == ""  # none of them


def test_the_warm_up_loads_what_training_needs_and_touches_no_random_state(tmp_path):
    """In a fresh interpreter: after one warm-up the training modules and torch._dynamo (which
    a process's first optimizer imports) are loaded, and torch's global generator is where it
    was (a seeded run started meanwhile gets the weights it would get alone)."""
    code = (
        "import sys\nfrom sph_viz.app import warmup\n"
        "assert 'torch' not in sys.modules and not warmup.torch_ready()\n"
        "import torch\nstate = torch.random.get_rng_state()\n"
        "warmup.start(); first = warmup._thread; warmup.start()\n"
        "assert warmup._thread is first\n"  # a second call starts nothing
        "first.join(300)\n"
        "import threading\n"
        "assert not warmup.failed() and warmup.torch_ready() and not warmup.busy()\n"
        "assert all(m in sys.modules for m in warmup.MODULES + warmup.LATER + ('torch._dynamo',))\n"
        "assert torch.equal(state, torch.random.get_rng_state())\n"
        "import gc\nassert gc.get_freeze_count() > 100_000\n"  # the imports' objects, out of the GC's way
        "print('ok')"
    )
    env = {**os.environ, "SPH_VIZ_CACHE_DIR": str(tmp_path)}
    env.pop("SPH_VIZ_WARMUP", None)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.stdout.strip() == "ok", out.stderr[-2000:]


def test_warm_up_can_be_turned_off(monkeypatch):
    from sph_viz.app import warmup

    for value, on in [("0", False), ("off", False), ("1", True), ("", True)]:
        monkeypatch.setenv(warmup.WARMUP_ENV, value)
        assert warmup.enabled() is on


def test_figures_drawn_during_the_warm_up_never_see_a_half_imported_module(tmp_path):
    """Plotly reads sys.modules["pandas"] on every figure; while another thread imports pandas it
    is half-built there (AttributeError). The app imports pandas before any page draws, so
    figures built while the warm-up imports torch and scikit-learn must all succeed."""
    code = (
        "import sys\nimport sph_viz.app\nfrom sph_viz.app import warmup\n"
        "assert 'pandas' in sys.modules and 'sklearn' not in sys.modules\n"
        "import numpy as np\nfrom sph_viz.figures.toy import make_representation_figure\n"
        "x, y = np.random.default_rng(0).random((20, 2)), np.repeat([0, 1], 10)\n"
        "warmup.start()\nn = 0\n"
        "while warmup.busy() or n == 0:\n"
        "    make_representation_figure(x, y, np.eye(2), np.ones(2)).to_json()\n"
        "    n += 1\n"
        "assert not warmup.failed() and 'sklearn' in sys.modules\n"
        "print('ok', n)"
    )
    env = {**os.environ, "SPH_VIZ_CACHE_DIR": str(tmp_path)}
    env.pop("SPH_VIZ_WARMUP", None)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.stdout.startswith("ok"), out.stderr[-3000:]
