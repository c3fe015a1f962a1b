"""Load torch and the training pages' modules in the background, after a page has drawn.

Home needs no torch, so it draws at once; then one thread per server imports what the pages
that train need (torch, the run specs, the queue, the figures) and runs one tiny SGD step,
so that the next page does not wait for them. That step matters most: a process's first
optimizer imports `torch._dynamo`, measured at 3.8 s on a 2-core CPU, once.

The thread makes no Streamlit call and touches no global random state (the step is on zero
tensors), so it cannot change a seeded run started meanwhile. `SPH_VIZ_WARMUP=0` turns it
off (then the first page that trains loads torch itself). Last, it freezes the objects the
imports made out of the garbage collector's way (`_settle`).
"""

from __future__ import annotations

import atexit
import gc
import importlib
import logging
import os
import sys
import threading

WARMUP_ENV = "SPH_VIZ_WARMUP"
# What the Toy page (the next stop of most visits) and the queue need, in that order.
MODULES = (
    "torch",
    "sph_viz.experiments.specs",
    "sph_viz.figures.reports",
    "sph_viz.results.store",
    "sph_viz.results.scheduler",
    "sph_viz.app.exports",
    "sph_viz.app.live",
)
# Then what other pages' first runs import: scikit-learn (subsampled views; the baseline loaded
# it on Home). Never a module Plotly peeks at in sys.modules (pandas: see sph_viz/app/__init__).
LATER = ("sklearn.model_selection",)

_lock = threading.Lock()
_thread: threading.Thread | None = None
_failed = threading.Event()
_torch_loaded = threading.Event()


def enabled() -> bool:
    """False when $SPH_VIZ_WARMUP is 0, off, false or no."""
    return os.environ.get(WARMUP_ENV, "1").strip().lower() not in ("0", "off", "false", "no")


def _first_step() -> None:
    """One forward, backward and SGD step of a 2-2 net on zero tensors (no random numbers)."""
    import torch
    from torch.nn import functional as F

    w = torch.zeros(2, 2, requires_grad=True)
    loss = F.cross_entropy(torch.sigmoid(torch.zeros(4, 2) @ w), torch.zeros(4, dtype=torch.long))
    optimizer = torch.optim.SGD([w], lr=0.01)  # the first optimizer of a process imports torch._dynamo
    loss.backward()
    optimizer.step()


def _settle() -> None:
    """Move what the imports left (about 400,000 objects with torch._dynamo) out of the cyclic
    garbage collector's way (`gc.freeze`, after one collection): its full passes walked them all,
    again and again; measured on a real server, a SphereNet or Paper page rerun took 0.30 s
    with them, 0.21 s without the warm-up, 0.05 s frozen. Frozen objects are still freed by
    reference counting; only cycles among them (module-level, long-lived) are never collected."""
    gc.collect()
    gc.freeze()


def _warm() -> None:
    try:
        from sph_viz.training.threads import configure_threads  # imports torch

        configure_threads()
        _torch_loaded.set()  # enough for the device line; the rest is for the next page
        for name in MODULES:
            importlib.import_module(name)
        _first_step()
        for name in LATER:
            importlib.import_module(name)
        _settle()
    except Exception:  # the pages still import what they need; this only saves them the wait
        _failed.set()
        logging.getLogger("sph_viz").exception("warm-up failed")


def start() -> None:
    """Start the warm-up once per process (no-op when it ran, runs, or is turned off)."""
    global _thread
    if not enabled():
        return
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_warm, name="sph-viz-warmup", daemon=True)
            _thread.start()
            atexit.register(_thread.join, 60)  # never leave the interpreter while inside torch


def busy() -> bool:
    """True while the warm-up thread runs."""
    return _thread is not None and _thread.is_alive()


def failed() -> bool:
    return _failed.is_set()


def torch_ready() -> bool:
    """torch is imported in this process: by the warm-up, or by another page with no warm-up running."""
    return _torch_loaded.is_set() or ("torch" in sys.modules and not busy())
