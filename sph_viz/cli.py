"""Command line: `python -m sph_viz toy|vis3d|overlap ...` (see README, "Command line").

The library never prints; this module prints progress to stderr and results to stdout.
Bad input exits with status 2 and one line `error: ...`, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from models.toy import TOY_MODELS, ToyConfig
from models.vis3d import HEADS
from sph_viz.data import BUNDLED_MNIST
from sph_viz.device import DEVICES, describe_device, pick_device
from sph_viz.experiments import TOY_TRAIN, VIS3D_PRESETS, run_toy, run_vis3d, vis3d_preset
from sph_viz.figures_overlap import make_nn_cosine_histogram, make_overlap_bar_figure
from sph_viz.outputs import atomic_write_bytes, load_features_npz, write_figures, write_run
from sph_viz.overlap import DEFAULT_TAU, overlap_stats, validate_tau
from sph_viz.reports import toy_figures, vis3d_figures
from sph_viz.train import OPTIMIZERS, Progress, TrainingDiverged

OVERLAP_HEADS = ("original3d", "projected", "spherenet-cosine", "wsoftmax-cosine", "spherized")


class ProgressBar:
    """A one-line bar on stderr; on a non-terminal, a line every 10 %."""

    def __init__(self, label: str, stream=sys.stderr) -> None:
        self.label, self.stream, self.last_decile = label, stream, -1
        self.tty = stream.isatty()

    def __call__(self, p: Progress) -> None:
        frac = p.fraction
        text = f"{self.label} epoch {p.epoch} loss {p.loss:.4f} acc {p.accuracy:.2%}"
        if self.tty:
            bar = "#" * int(30 * frac) + "-" * (30 - int(30 * frac))
            self.stream.write(f"\r[{bar}] {frac:6.1%} {text}")
            if p.step == p.total_steps:
                self.stream.write("\n")
        elif int(frac * 10) > self.last_decile:
            self.last_decile = int(frac * 10)
            self.stream.write(f"{frac:6.1%} {text}\n")
        self.stream.flush()


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number. Got {text!r} instead.") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be > 0. Got {text!r} instead.")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sph_viz", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--seeds", type=int, nargs="+", default=[0], help="one run per seed")
    common.add_argument("--device", choices=DEVICES, default="auto")
    common.add_argument("--out", type=Path, help="write metrics.json, features.npz, figures here")
    common.add_argument("--epochs", type=int)
    common.add_argument("--lr", type=_positive_float)
    common.add_argument("--batch-size", type=int)
    common.add_argument("--optimizer", choices=OPTIMIZERS)
    common.add_argument("--radius", type=_positive_float, help="sphere radius r")
    common.add_argument("--scale", type=_positive_float, help="initial alpha")

    toy = sub.add_parser("toy", parents=[common], help="the 2-D toy task (Fig. 3)")
    toy.add_argument("--model", nargs="+", choices=TOY_MODELS, default=list(TOY_MODELS))
    toy.add_argument("--noise", type=float, default=0.05)

    mnist = argparse.ArgumentParser(add_help=False)
    mnist.add_argument("--preset", choices=VIS3D_PRESETS, default="fast")
    mnist.add_argument("--data", type=Path, default=BUNDLED_MNIST, help="an IDX folder")
    mnist.add_argument("--max-samples", type=int, help="train on the first N images")
    vis = sub.add_parser("vis3d", parents=[common, mnist], help="CNN-Vis3D on MNIST (Fig. 5)")
    vis.add_argument("--model", nargs="+", choices=HEADS, default=["spherized"])
    ov = sub.add_parser("overlap", parents=[common, mnist], help="overlap table (Table 3)")
    ov.add_argument("--model", nargs="+", choices=HEADS, default=list(OVERLAP_HEADS))
    ov.add_argument("--tau", type=float, default=DEFAULT_TAU)
    ov.add_argument(
        "--from",
        dest="sources",
        type=Path,
        nargs="+",
        help="use features.npz from earlier vis3d runs instead of training",
    )
    return parser


def _train_overrides(args) -> dict:
    names = {"epochs": "epochs", "lr": "lr", "batch_size": "batch_size", "optimizer": "optimizer"}
    out = {k: getattr(args, a) for a, k in names.items() if getattr(args, a) is not None}
    if getattr(args, "max_samples", None) is not None:
        out["max_samples"] = args.max_samples
    return out


def _model_overrides(args) -> dict:
    return {k: getattr(args, k) for k in ("radius", "scale") if getattr(args, k) is not None}


def _run_one(args, name: str, seed: int, device):
    if args.command == "toy":
        model_cfg = ToyConfig(kind=name, **_model_overrides(args))
        train_cfg = replace(TOY_TRAIN, seed=seed, **_train_overrides(args))
        result = run_toy(
            model_cfg,
            train_cfg,
            noise=args.noise,
            device=device,
            on_progress=ProgressBar(f"{name} seed {seed}"),
        )
        return result, toy_figures(result, name)
    model_cfg, train_cfg = vis3d_preset(args.preset, name)
    model_cfg = replace(model_cfg, **_model_overrides(args))
    train_cfg = replace(train_cfg, seed=seed, **_train_overrides(args))
    result = run_vis3d(
        model_cfg,
        train_cfg,
        data_dir=args.data,
        device=device,
        on_progress=ProgressBar(f"{name} seed {seed}"),
    )
    return result, vis3d_figures(result, name)


def _mean_std(values: list[float]) -> str:
    a = np.asarray(values, dtype=float)
    return f"{a.mean():.2%} ± {a.std():.2%}" if len(a) > 1 else f"{a[0]:.2%}"


def _train_all(args, device) -> dict[str, list]:
    runs: dict[str, list] = {}
    for name in args.model:
        for seed in args.seeds:
            result, figures = _run_one(args, name, seed, device)
            runs.setdefault(name, []).append(result)
            if args.out:
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
            f"{name:<20} {_mean_std([r.train_accuracy for r in results]):>20} "
            f"{_mean_std(test) if test else '-':>20}"
        )
    return 0


def cmd_overlap(args, device) -> int:
    validate_tau(args.tau)  # before any training or loading
    if args.sources:
        sets = {str(p): [load_features_npz(p)] for p in args.sources}
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
        print(f"{name:<22} {_count(n_o):>16} {_count(n_e):>12} {ratio:>12}")
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


def _count(values: list[int]) -> str:
    a = np.asarray(values, dtype=float)
    return f"{a.mean():.1f} ± {a.std():.1f}" if len(a) > 1 else str(values[0])


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        device = pick_device(args.device)
        print(f"device: {describe_device(device)}", file=sys.stderr)
        started = time.perf_counter()
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
