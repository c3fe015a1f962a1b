"""Cancelling a run from outside its thread: a per-thread check that long loops call.

The scheduler installs a check on the worker thread that runs a training; `train_model` calls
`cancellation_point()` before every step and `predict` before every batch, so a cancelled run
(server shutdown, every viewer gone) ends within one step, with nothing saved. A plain Stop is
different: training ends early and the model is kept (`should_stop`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Cancelled(Exception):
    """The run was cancelled; nothing it computed is kept."""


_local = threading.local()


def cancellation_point() -> None:
    """Raise `Cancelled` if the run on this thread has been cancelled; cheap otherwise."""
    check = getattr(_local, "check", None)
    if check is not None and check():
        raise Cancelled("cancelled")


@contextmanager
def cancellable(is_cancelled: Callable[[], bool]) -> Iterator[None]:
    """Within the block, `cancellation_point()` on this thread raises once is_cancelled() is true."""
    before = getattr(_local, "check", None)
    _local.check = is_cancelled
    try:
        yield
    finally:
        _local.check = before
