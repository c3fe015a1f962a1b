"""Sweeps of independent runs (operator x seed): one after another, or in parallel on Ray.

Every finished run goes into the result cache under its full configuration, so a sweep that
is interrupted resumes where it stopped and a run already cached is never trained again.
Ray (optional, `pip install ray`) runs the missing ones as tasks on a local instance or a
cluster; each task trains with one intra-op thread and writes into the same cache folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from sph_viz.experiments.result import ExperimentResult
from sph_viz.experiments.specs import RunSpec
from sph_viz.results.store import ResultStore

ROOT = Path(__file__).resolve().parents[2]  # the repository: sph_viz/results/sweep.py
Done = Callable[[RunSpec, ExperimentResult, bool], None]  # (spec, result, was it cached?)


def _train_and_store(spec: RunSpec, cache_root: str, threads: int) -> str:
    """One run inside a Ray worker: train on the CPU, store the result, return its cache path."""
    torch.set_num_threads(threads)  # a worker process of its own: this changes no one else's setting
    result = spec.run(device="cpu")
    return str(ResultStore(cache_root).save(result))


def run_sweep(
    specs: Sequence[RunSpec],
    *,
    store: ResultStore,
    device: torch.device | str = "cpu",
    ray_address: str | None = None,
    use_ray: bool = False,
    on_done: Done | None = None,
    progress: Callable[[RunSpec], Callable] | None = None,
) -> list[ExperimentResult]:
    """A result per spec, in order: from the cache, else trained (sequentially or on Ray) and stored."""
    results: dict[int, ExperimentResult] = {}
    missing = []
    for i, spec in enumerate(specs):
        cached = store.load(spec.cache_config)
        if cached is None:
            missing.append(i)
        else:
            results[i] = cached
            if on_done:
                on_done(spec, cached, True)
    if use_ray and missing:
        for i, result in _run_on_ray([specs[i] for i in missing], missing, store, ray_address):
            results[i] = result
            if on_done:
                on_done(specs[i], result, False)
    else:
        for i in missing:
            callbacks = {"on_progress": progress(specs[i])} if progress else {}
            result = specs[i].run(device=device, **callbacks)
            store.save(result)
            results[i] = result
            if on_done:
                on_done(specs[i], result, False)
    return [results[i] for i in range(len(specs))]


def _run_on_ray(specs: list[RunSpec], indices: list[int], store: ResultStore, address: str | None):
    """(index, result) as each Ray task finishes."""
    try:
        import ray
    except ImportError:
        raise ValueError("--ray needs Ray: pip install ray (see README, 'Dependencies').") from None
    if address:  # a cluster gets this repository as its working directory
        env = {"working_dir": str(ROOT), "excludes": [".venv", ".git", "runs", "out"]}
    else:  # a local instance imports it from here
        env = {"env_vars": {"PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}}
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, runtime_env=env, include_dashboard=False, log_to_driver=False)
    try:
        task = ray.remote(num_cpus=1)(_train_and_store)
        pending = {
            task.remote(spec, str(store.root), 1): (i, spec) for i, spec in zip(indices, specs, strict=True)
        }
        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            i, spec = pending.pop(ref)
            ray.get(ref)  # re-raises a task's error here
            result = store.load(spec.cache_config)
            if result is None:
                raise RuntimeError(
                    f"a Ray task for {spec.name} finished but its result is not in {store.root}."
                )
            yield i, result
    finally:
        if started_here:
            ray.shutdown()
