"""CPU threads: set once for the process, narrowed per thread for tiny nets.

`torch.set_num_threads` is process-wide, and torch hands each new thread the count current at
its first parallel op for that thread's life. Toggling it around a run therefore leaks into any
thread born meanwhile (a training started during a toy run trained on one core to its end).
So the process count is set once (`configure_threads`), and a tiny net narrows only its own
thread's OpenMP team (`omp_set_num_threads` is per thread) with `this_thread_limited`.
"""

from __future__ import annotations

import ctypes
import glob
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import torch

THREADS_ENV = "SPH_VIZ_THREADS"


@cache
def _openmp() -> ctypes.CDLL | None:
    """The OpenMP runtime torch was built with, if it ships one (the Linux wheels do)."""
    for path in sorted(glob.glob(os.path.join(os.path.dirname(torch.__file__), "lib", "libgomp*.so*"))):
        try:
            return ctypes.CDLL(path)
        except OSError:
            continue
    return None


@cache
def configure_threads() -> int:
    """The process's intra-op thread count, from $SPH_VIZ_THREADS (else torch's default); once."""
    value = os.environ.get(THREADS_ENV, "").strip()
    if value:
        try:
            n = int(value)
        except ValueError:
            n = 0
        if n < 1:
            raise ValueError(f"{THREADS_ENV} must be a whole number >= 1. Got {value!r} instead.")
        torch.set_num_threads(n)
    return torch.get_num_threads()


@contextmanager
def this_thread_limited(n: int = 1) -> Iterator[None]:
    """Run the block with at most n OpenMP threads on the calling thread only.

    Tiny nets (the toy task) only pay for intra-op threads: under contention they ran 17x
    slower on two threads than on one. Nothing outside this thread changes; without an OpenMP
    runtime this is a no-op.
    """
    omp = _openmp()
    if omp is None:
        yield
        return
    torch.get_num_threads()  # let torch give this thread its count first, so ours is the last word
    before = omp.omp_get_max_threads()
    omp.omp_set_num_threads(n)
    try:
        yield
    finally:
        omp.omp_set_num_threads(before)
