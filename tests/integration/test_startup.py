"""The app answers at once: Home draws without torch, from a NumPy twin of the layer that is
tested equal to the torch layer; the warm-up that loads torch afterwards changes nothing."""

import os
import subprocess
import sys

import pytest
from app_helpers import ROOT

HEAVY = ("torch", "scipy", "sklearn")


@pytest.mark.slow  # a fresh interpreter per page, watching what it imports
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


@pytest.mark.slow  # a fresh interpreter imports torch and runs the warm-up
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


@pytest.mark.slow  # ~9 s: a fresh interpreter imports torch, torch._dynamo and scikit-learn while it draws
def test_figures_drawn_during_the_warm_up_never_see_a_half_imported_module(tmp_path):
    """Plotly reads sys.modules["pandas"] on every figure; while another thread imports pandas it
    is half-built there (AttributeError). The app imports pandas before any page draws, so
    figures built while the warm-up imports torch and scikit-learn must all succeed."""
    # The warm-up thread gives the GIL up at each of the thousands of file reads an import makes,
    # and each time waits a whole switch interval (5 ms) before the computing loop must hand it
    # back: the loop starved the imports (120 s for a 3 s warm-up). A short interval makes the two threads take turns far more often, so the
    # half-imported states the test is about are met more often, not less; it does not wait for
    # anything.
    code = (
        "import sys\nsys.setswitchinterval(1e-4)\n"
        "import sph_viz.app\nfrom sph_viz.app import warmup\n"
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
