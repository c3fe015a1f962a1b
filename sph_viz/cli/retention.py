"""`python -m sph_viz retention`: Table 1, original vs spherized, mean ± std over seeds beside the paper."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from models.retention import NETS, PAPER_TABLE1, VARIANTS
from sph_viz.cli.progress import StepBar
from sph_viz.experiments.retention import (
    GPU_SCALE,
    RETENTION_FIELDS,
    retention_train_config,
    run_retention,
)
from sph_viz.fields import add_arguments
from sph_viz.figures.gradients import make_alpha_figure, make_gradient_flow_figure
from sph_viz.nn.gradients import GradientRecord
from sph_viz.reports.format import mean_sd, pm
from sph_viz.results.outputs import write_run
from sph_viz.results.store import ResultStore

OVERRIDES = [f for f in RETENTION_FIELDS if f.target == "train"]  # --epochs --lr --batch-size --max-samples


def add_parser(sub, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The `retention` subcommand, with the common --seeds --device --out."""
    p = sub.add_parser("retention", parents=[common], help="retention of the training ability (Table 1)")
    p.add_argument("--net", nargs="+", choices=NETS, default=["simplefnn", "lenet5"], help="Table-1 nets")
    p.add_argument("--preset", choices=("cpu", "paper"), default="cpu", help="cpu: minutes; paper: official")
    p.add_argument(
        "--dataset", help="mnist, fashion-mnist, cifar10:DIR or an IDX folder (default: the paper's)"
    )
    add_arguments(p, OVERRIDES)
    p.add_argument(
        "--record-gradients", type=int, default=0, metavar="K", help="record the gradient flow every K steps"
    )
    p.add_argument("--cache", action="store_true", help="also keep results in the app's cache (Paper page)")
    p.set_defaults(run=run)  # sph_viz.cli.main.main dispatches on it
    return p


def _figures(result) -> dict:
    rec = GradientRecord.from_extras(result.extras)
    if rec is None:
        return {}
    figs = {"gradient_flow": make_gradient_flow_figure(rec.steps, rec.values, rec.layer_names)}
    if rec.sphere_names:
        figs["alpha"] = make_alpha_figure(rec.steps, rec.alpha, rec.alpha_grad, rec.sphere_names)
    return figs


def run(args: argparse.Namespace, device, progress=None) -> int:
    """Train every (net, variant, seed); print the table; ValueError for bad input (before training)."""
    if args.record_gradients < 0:
        raise ValueError(f"--record-gradients must be >= 0. Got {args.record_gradients} instead.")
    values = {f.name: getattr(args, f.name, None) for f in OVERRIDES}
    configs = {
        (net, seed): retention_train_config(net, args.preset, values | {"seed": seed})
        for net in args.net
        for seed in args.seeds
    }
    store = ResultStore() if args.cache else None
    rows: dict[tuple[str, str], list] = {}
    for net in args.net:
        if args.preset == "paper" and GPU_SCALE[net]:
            print(f"note: {net} with the paper recipe is GPU-scale.", file=sys.stderr)
        for variant in VARIANTS:
            for seed in args.seeds:
                started = time.perf_counter()
                result = run_retention(
                    net,
                    variant,
                    configs[net, seed],
                    dataset=args.dataset,
                    device=device,
                    record_gradients_every=args.record_gradients,
                    on_progress=StepBar(f"{net} {variant} seed {seed}"),
                )
                seconds = time.perf_counter() - started  # data, training and the test evaluation
                rows.setdefault((net, variant), []).append((result, seconds))
                if store is not None and not result.train.stopped:
                    store.save(result)
                if args.out:
                    folder = Path(args.out) / f"{net}_{variant}_seed{seed}"
                    write_run(folder, result, device=str(device), figures=_figures(result))
                print(
                    f"{net} {variant} seed {seed}: train {result.train_accuracy:.2%}, "
                    f"test {result.test_accuracy:.2%} ({seconds:.1f} s)"
                )
    _print_table(rows, args)
    return 0


def _print_table(rows: dict, args) -> None:
    seeds = " ".join(map(str, args.seeds))
    print(
        f"\naccuracy % (mean ± std over seeds {seeds}; preset {args.preset}) vs the paper's Table 1 (5 seeds)"
    )
    head = ("net", "variant", "train", "test", "paper train", "paper test", "s/run")
    print(f"{head[0]:<10} {head[1]:<10} {head[2]:>14} {head[3]:>14} {head[4]:>14} {head[5]:>14} {head[6]:>7}")
    for (net, variant), runs in rows.items():
        paper = PAPER_TABLE1[net][variant]
        train = mean_sd([100 * r.train_accuracy for r, _ in runs])
        test = mean_sd([100 * r.test_accuracy for r, _ in runs])
        p_train, p_test = pm(paper["train"]), pm(paper["test"])
        secs = np.mean([s for _, s in runs])
        print(f"{net:<10} {variant:<10} {train:>14} {test:>14} {p_train:>14} {p_test:>14} {secs:>7.1f}")
    if args.dataset:
        print(f"(measured on {args.dataset}; the paper's numbers are on MNIST, Fashion-MNIST for vgg11)")
    print("train: the last epoch's running accuracy, as the official scripts report it; s/run: wall time")
