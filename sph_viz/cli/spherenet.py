"""`python -m sph_viz spherenet`: SphereNet against the same plain CNN, curves over seeds, learnt k."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import numpy as np

from sph_viz.cli.progress import progress_bar
from sph_viz.experiments.result import ExperimentResult
from sph_viz.experiments.spherenet import (
    DATASETS,
    SPHERENET_FIELDS,
    SPHERENET_PRESETS,
    VARIANTS,
    plan_runs,
    time_to_accuracy,
    train_seconds,
)
from sph_viz.fields import add_arguments
from sph_viz.figures.spherenet import make_spherenet_figures
from sph_viz.reports.format import k_summary, mean_sd
from sph_viz.results.outputs import atomic_write_bytes, write_figures, write_run


def add_parser(sub, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p = sub.add_parser("spherenet", parents=[common], help="SphereNet vs the same plain CNN: convergence, k")
    p.add_argument("--preset", choices=SPHERENET_PRESETS, default="quick")
    p.add_argument("--dataset", choices=DATASETS, default="mnist")
    p.add_argument("--variants", nargs="+", choices=VARIANTS, default=["plain", "sphere-cosine"])
    p.add_argument(
        "--target", type=float, default=0.95, help="report steps and seconds to this probe test accuracy"
    )
    add_arguments(p, [f for f in SPHERENET_FIELDS if f.target == "train" and f.name != "seed"])
    p.set_defaults(run=run)
    return p


def run(args: argparse.Namespace, device, progress=None) -> int:
    """Train every variant for every seed; print the table; with --out write runs and figures."""
    if not 0 < args.target <= 1:
        raise ValueError(f"--target must be in (0, 1]. Got {args.target} instead.")
    planned = plan_runs(vars(args), args.variants, args.seeds)  # every value checked before training
    runs: dict[str, list[ExperimentResult]] = {}
    for p in planned:
        result = p.run(device=device, on_progress=progress_bar(progress, p.variant, p.train))
        runs.setdefault(p.variant, []).append(result)
        e = result.extras
        print(
            f"{p.name}: test {result.test_accuracy:.2%}, "
            f"{result.train.steps} steps in {train_seconds(e):.1f} s"
            + (f", k {k_summary(e['learnt_k'])}" if len(e["learnt_k"]) else "")
        )
        if args.out:
            folder = write_run(args.out / f"{p.variant}_seed{p.seed}", result, device=str(device))
            _write_curves(folder / "curves.npz", e)
    print(
        f"\n{args.dataset}, preset {args.preset}, {len(args.seeds)} seed(s); "
        f"to {args.target:.0%} probe accuracy:"
    )
    print(
        f"{'variant':<18} {'test accuracy':>17} {'steps to target':>17} {'s to target':>14} {'train s':>9}  k"
    )
    for variant, results in runs.items():
        hits = [time_to_accuracy(r.extras, args.target) for r in results]
        reached = [h for h in hits if h is not None]
        steps = mean_sd([h[0] for h in reached], ".0f") if reached else "never"
        secs = mean_sd([h[1] for h in reached], ".1f") if reached else "never"
        if reached and len(reached) < len(hits):
            steps, secs = f"{steps} ({len(reached)}/{len(hits)})", f"{secs} ({len(reached)}/{len(hits)})"
        ks = np.concatenate([r.extras["learnt_k"] for r in results])
        print(
            f"{variant:<18} {mean_sd([r.test_accuracy for r in results], '.2%'):>17} {steps:>17} {secs:>14} "
            f"{mean_sd([train_seconds(r.extras) for r in results], '.1f'):>9}  {k_summary(ks)}"
        )
    if args.out:
        curves = {v: [r.extras for r in rs] for v, rs in runs.items()}
        write_figures(args.out, make_spherenet_figures(curves, title=f"{args.dataset}, preset {args.preset}"))
    return 0


def _write_curves(path: Path, extras: dict) -> None:
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: np.asarray(v) for k, v in extras.items()})
    atomic_write_bytes(path, buf.getvalue())
