"""Command line: `python -m sph_viz toy|vis3d|overlap ...` (see README, "Command line").

The library never prints; this module prints progress to stderr and results to stdout.
Bad input exits with status 2 and one line `error: ...`, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from models.vis3d import HEADS
from sph_viz.cli import prototypes, retention, spherenet, table3
from sph_viz.cli.progress import StepBar
from sph_viz.data.embedding import load_embedding
from sph_viz.data.idx import BUNDLED_MNIST
from sph_viz.experiments.page_fields import OVERLAP_FIELDS
from sph_viz.experiments.registry import PRESETS
from sph_viz.experiments.specs import RunSpec, make_run_specs
from sph_viz.experiments.toy import TOY_CHOICES, TOY_FIELDS
from sph_viz.experiments.vis3d import VIS3D_FIELDS
from sph_viz.fields import add_arguments
from sph_viz.figures.overlap import make_nn_cosine_histogram, make_overlap_bar_figure
from sph_viz.figures.reports import toy_figures, vis3d_figures
from sph_viz.overlap import DEFAULT_TAU, overlap_stats, validate_tau
from sph_viz.reports.format import mean_sd
from sph_viz.results.outputs import atomic_write_bytes, write_figures, write_run
from sph_viz.training.device import DEVICES, describe_device, pick_device
from sph_viz.training.loop import TrainingDiverged

COMMANDS = (table3, retention, spherenet, prototypes)
OVERLAP_HEADS = next(f.default for f in OVERLAP_FIELDS if f.name == "heads")
# Settings the command line takes from the field tables (seeds, models and data are its own flags).
CLI_SKIP = {"seed", "heads", "preset"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sph_viz", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--seeds", type=int, nargs="+", default=[0], help="one run per seed")
    common.add_argument("--device", choices=DEVICES, default="auto")
    common.add_argument("--out", type=Path, help="write metrics.json, features.npz, figures here")

    toy = sub.add_parser("toy", parents=[common], help="the 2-D toy task (Fig. 3)")
    add_arguments(toy, [f for f in TOY_FIELDS if f.name not in CLI_SKIP])
    toy.add_argument("--model", nargs="+", choices=TOY_CHOICES, default=list(TOY_CHOICES))

    mnist = argparse.ArgumentParser(add_help=False)
    mnist.add_argument("--preset", choices=PRESETS["vis3d"], default="fast")
    mnist.add_argument("--data", type=Path, default=BUNDLED_MNIST, help="an IDX folder")
    add_arguments(mnist, [f for f in VIS3D_FIELDS if f.name not in CLI_SKIP])
    vis = sub.add_parser("vis3d", parents=[common, mnist], help="CNN-Vis3D on MNIST (Fig. 5)")
    vis.add_argument("--model", nargs="+", choices=HEADS, default=["spherized"])
    ov = sub.add_parser("overlap", parents=[common, mnist], help="overlap table (Table 3)")
    ov.add_argument("--model", nargs="+", choices=HEADS, default=list(OVERLAP_HEADS))
    ov.add_argument("--tau", type=float, default=DEFAULT_TAU)
    for command in COMMANDS:
        command.add_parser(sub, common)
    ov.add_argument(
        "--from",
        "--features",
        dest="sources",
        type=Path,
        nargs="+",
        help="embeddings instead of training: run folders, features.npz or CSV files (any model's)",
    )
    return parser


def _specs(args, seed: int) -> dict[str, RunSpec]:
    """The runs one seed asks for, through the same override path as the pages."""
    experiment = "toy" if args.command == "toy" else "vis3d"
    values = {**vars(args), "seed": seed}
    preset = "paper" if experiment == "toy" else args.preset
    return make_run_specs(
        experiment, values, args.model, preset_name=preset, data_dir=getattr(args, "data", BUNDLED_MNIST)
    )


def _figures(spec: RunSpec, result) -> dict:
    return toy_figures(result, spec.name) if spec.experiment == "toy" else vis3d_figures(result, spec.name)


def _train_all(args, device) -> dict[str, list]:
    runs: dict[str, list] = {}
    specs = {seed: _specs(args, seed) for seed in args.seeds}  # every value checked before any training
    for name in args.model:
        for seed in args.seeds:
            spec = specs[seed][name]
            result = spec.run(device=device, on_progress=StepBar(f"{spec.name} seed {seed}"))
            runs.setdefault(name, []).append(result)
            if args.out:  # figures only where they are written: ~1 s of the run for 10,000 points
                figures = _figures(spec, result)
                write_run(args.out / f"{name}_seed{seed}", result, device=str(device), figures=figures)
            test = f", test {result.test_accuracy:.2%}" if result.test_accuracy is not None else ""
            print(
                f"{name} seed {seed}: train {result.train_accuracy:.2%}{test} ({result.train.seconds:.1f} s)"
            )
    return runs


def cmd_train(args, device) -> int:
    runs = _train_all(args, device)
    print(f"\n{'model':<20} {'train accuracy':>20} {'test accuracy':>20}")
    for name, results in runs.items():
        test = [r.test_accuracy for r in results if r.test_accuracy is not None]
        print(
            f"{name:<20} {mean_sd([r.train_accuracy for r in results], '.2%'):>20} "
            f"{mean_sd(test, '.2%') if test else '-':>20}"
        )
    return 0


def cmd_overlap(args, device) -> int:
    validate_tau(args.tau)  # before any training or loading
    if args.sources:
        sets = {str(p): [load_embedding(p)] for p in args.sources}
    else:
        runs = _train_all(args, device)
        sets = {n: [(r.features, r.labels, r.predictions) for r in rs] for n, rs in runs.items()}
    table, last = {}, {}
    for name, triples in sets.items():
        stats = [overlap_stats(*t, tau=args.tau) for t in triples]
        table[name] = stats
        last[name] = stats[-1]
    print(f"\noverlap at tau = {args.tau:g} (cosine >= 1 - tau), {len(args.seeds)} seed(s)")
    print(f"{'head':<22} {'# overlapping':>16} {'# errors':>12} {'ratio':>12}")
    for name, stats in table.items():
        n_o = [s.n_overlap for s in stats]
        n_e = [s.n_error for s in stats]
        ratios = [s.ratio for s in stats if s.n_overlap]
        ratio = f"{np.mean(ratios):.2%}" if ratios else "-"
        print(f"{name:<22} {mean_sd(n_o, '.1f', one='d'):>16} {mean_sd(n_e, '.1f', one='d'):>12} {ratio:>12}")
    if args.out:
        rows = {n: [s.table_row() for s in st] for n, st in table.items()}
        atomic_write_bytes(
            args.out / "overlap.json",
            json.dumps({"tau": args.tau, "heads": rows}, indent=2).encode(),
        )
        write_figures(
            args.out,
            {
                "overlap_bars": make_overlap_bar_figure(last),
                "nn_cosine": make_nn_cosine_histogram(last),
            },
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        device = pick_device(args.device)
        print(f"device: {describe_device(device)}", file=sys.stderr)
        started = time.perf_counter()
        if hasattr(args, "run"):  # the subcommands in sph_viz/commands
            code = args.run(args, device, progress=lambda s: StepBar(f"{s.name} seed {s.train.seed}"))
        else:
            code = cmd_overlap(args, device) if args.command == "overlap" else cmd_train(args, device)
        print(f"done in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        return code
    except TrainingDiverged as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 3
    except (ValueError, OSError) as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: files already written are complete.", file=sys.stderr)
        return 130
