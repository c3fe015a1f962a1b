"""`python -m sph_viz prototypes`: prototypes placed by Eq. 5, trained on with Eq. 1, rotated MNIST."""

from __future__ import annotations

import argparse
import json

import numpy as np

from models.vis3d import Vis3DConfig
from sph_viz.cli.progress import progress_bar
from sph_viz.data.datasets import resolve_dataset
from sph_viz.experiments.base import train_config
from sph_viz.experiments.prototypes import PROTOTYPE_FIELDS, known_min_angle, run_prototypes
from sph_viz.experiments.registry import PRESETS
from sph_viz.experiments.rotated_mnist import ROTATED_PRESETS, rotation_mae, run_rotated_mnist
from sph_viz.experiments.spherenet import DATASETS
from sph_viz.experiments.vis3d import run_vis3d
from sph_viz.fields import Field, add_arguments, arg_type
from sph_viz.figures.prototypes import (
    make_prototype_animation,
    make_prototype_figure,
    make_rotation_figure,
    snapshot_steps,
)
from sph_viz.figures.reports import vis3d_figures
from sph_viz.nn.prototypes import collapsed, min_angle_deg, optimize_prototypes, spread_prototypes
from sph_viz.results.outputs import atomic_write_bytes, write_figures, write_run
from sph_viz.training.aids import without_training_aids
from sph_viz.training.config import TrainConfig

TASKS = ("classify", "rotated", "optimize")
CLASSES = Field("classes", int, 10, 2, 1000)
DIMS = Field("dims", int, 3, 2, 1000)
STEPS = Field("steps", int, 1000, 1, 100_000)


def add_parser(sub, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    p = sub.add_parser("prototypes", parents=[common], help="hyperspherical prototype networks (HPN)")
    p.add_argument("--task", choices=TASKS, default="classify")
    p.add_argument("--dataset", choices=DATASETS, default="mnist", help="classify: the images")
    p.add_argument("--preset", default="quick", help="classify: a vis3d preset; rotated: quick")
    p.add_argument("--compare", action="store_true", help="classify: also train the spherized CNN-Vis3D head")
    add_arguments(p, [f for f in PROTOTYPE_FIELDS if f.name in ("epochs", "max_samples")])
    p.add_argument("--classes", type=arg_type(CLASSES), default=10, help="optimize: K prototypes")
    p.add_argument("--dims", type=arg_type(DIMS), default=3, help="optimize, classify: output dimensions D")
    p.add_argument("--steps", type=arg_type(STEPS), default=1000, help="optimize: gradient steps of Eq. 5")
    p.set_defaults(run=run)
    return p


def _train_config(args: argparse.Namespace, table: dict, seed: int) -> TrainConfig:
    if args.preset not in table:
        raise ValueError(
            f"--preset for --task {args.task} must be one of {', '.join(table)}. Got {args.preset!r}."
        )
    return train_config(table[args.preset], PROTOTYPE_FIELDS, vars(args), seed=seed)


def run(args: argparse.Namespace, device, progress=None) -> int:
    """One task over --seeds; prints the numbers; with --out writes runs and figures."""
    if args.task == "optimize":
        return _optimize(args)
    if args.task == "rotated":
        if args.dataset != "mnist":
            raise ValueError(f"--task rotated uses MNIST digits. Got --dataset {args.dataset} instead.")
        return _rotated(args, device, progress)
    return _classify(args, device, progress)


def _optimize(args: argparse.Namespace) -> int:
    k, d = args.classes, args.dims
    known = known_min_angle(k, d)
    print(
        f"Eq. 5, K = {k} prototypes on S^{d - 1}, {args.steps} steps; best known minimum angle: "
        + (f"{known:.2f}°" if known is not None else "not tabulated")
    )
    if d == 2:
        print("(for D = 2 the paper, and make_prototypes, use the regular K-gon instead of Eq. 5)")
    angles = []
    for seed in args.seeds:
        every = max(1, args.steps // 100)
        res = optimize_prototypes(k, d, steps=args.steps, seed=seed, record_every=every if d <= 3 else 0)
        angles.append(res.min_angle_deg)
        gap = f", {known - res.min_angle_deg:.2f}° below the best known" if known is not None else ""
        print(f"seed {seed}: min angle {res.min_angle_deg:.2f}°{gap}, Eq. 5 loss {res.losses[-1]:.4f}")
        if d > 2 and collapsed(res.prototypes):
            spread = min_angle_deg(spread_prototypes(res.prototypes, seed=seed))
            print(
                f"  Eq. 5 collapsed a pair (two classes would share one prototype); "
                f"make_prototypes trains with them spread apart: min angle {spread:.2f}°"
            )
        if args.out:
            folder = args.out / f"optimize_K{k}_D{d}_seed{seed}"
            record = {
                "classes": k,
                "dims": d,
                "steps": args.steps,
                "seed": seed,
                "known_min_angle_deg": known,
                "min_angle_deg": res.min_angle_deg,
                "prototypes": res.prototypes.tolist(),
            }
            atomic_write_bytes(folder / "prototypes.json", json.dumps(record, indent=2).encode())
            if res.snapshots:
                steps = snapshot_steps(args.steps, every, len(res.snapshots))
                write_figures(folder, {"animation": make_prototype_animation(res.snapshots, steps)})
    if len(angles) > 1:
        print(
            f"min angle over seeds: {np.mean(angles):.2f}° ± {np.std(angles):.2f}°, best {max(angles):.2f}°"
        )
    return 0


def _classify(args: argparse.Namespace, device, progress) -> int:
    spec = resolve_dataset(args.dataset)
    # each head by its own loss alone, as on the Prototypes page (`hpn_train_config`)
    configs = {
        seed: without_training_aids(_train_config(args, PRESETS["vis3d"], seed)) for seed in args.seeds
    }
    rows = []
    for seed, cfg in configs.items():
        bar = progress_bar(progress, "HPN", cfg)
        hpn = run_prototypes(cfg, dataset=args.dataset, dims=args.dims, device=device, on_progress=bar)
        row = [seed, hpn.test_accuracy, None]
        print(f"HPN seed {seed}: test {hpn.test_accuracy:.2%} ({hpn.train.seconds:.1f} s)")
        if args.out:
            figs = {}
            if args.dims == 3:
                title = f"HPN — test accuracy {hpn.test_accuracy:.2%}"
                figs["features"] = make_prototype_figure(
                    hpn.features, hpn.labels, hpn.predictions, hpn.extras["prototypes"], title=title
                )
            write_run(args.out / f"hpn_seed{seed}", hpn, device=str(device), figures=figs)
        if args.compare:
            model = Vis3DConfig("spherized", **PRESETS["vis3d"][args.preset].model)
            bar = progress_bar(progress, "spherized", cfg)
            sph = run_vis3d(model, cfg, data_dir=spec.folder, device=device, on_progress=bar)
            row[2] = sph.test_accuracy
            print(f"spherized seed {seed}: test {sph.test_accuracy:.2%} ({sph.train.seconds:.1f} s)")
            if args.out:
                write_run(
                    args.out / f"spherized_seed{seed}",
                    sph,
                    device=str(device),
                    figures=vis3d_figures(sph, "spherized"),
                )
        rows.append(row)
    hpn_acc = np.array([r[1] for r in rows])
    print(
        f"\nHPN (D = {args.dims}) test accuracy: {hpn_acc.mean():.2%} ± {hpn_acc.std():.2%} "
        f"over {len(rows)} seed(s)"
    )
    if args.compare:
        sph_acc = np.array([r[2] for r in rows])
        print(
            f"spherized CNN-Vis3D test accuracy: {sph_acc.mean():.2%} ± {sph_acc.std():.2%} "
            "(same seeds and preset)"
        )
    return 0


def _rotated(args: argparse.Namespace, device, progress) -> int:
    maes, accs = [], []
    for seed in args.seeds:
        cfg = _train_config(args, ROTATED_PRESETS, seed)
        res = run_rotated_mnist(cfg, device=device, on_progress=progress_bar(progress, "rotated MNIST", cfg))
        mae = rotation_mae(res.extras["angles_true"], res.extras["angles_predicted"])
        maes.append(mae)
        accs.append(res.test_accuracy)
        print(
            f"rotated MNIST seed {seed}: rotation MAE {mae:.2f}°, class accuracy {res.test_accuracy:.2%} "
            f"({res.train.seconds:.1f} s)"
        )
        if args.out:
            e = res.extras
            figs = {
                f"rotation_by_{mode}": make_rotation_figure(
                    res.features,
                    e["angles_true"],
                    res.labels,
                    e["digits"],
                    e["prototypes"],
                    e["upper"],
                    color_by=mode,
                    title=f"rotated MNIST — MAE {mae:.1f}°, class accuracy {res.test_accuracy:.2%}",
                )
                for mode in ("rotation", "class")
            }
            write_run(
                args.out / f"rotated_seed{seed}",
                res,
                device=str(device),
                figures=figs,
                extra={"rotation_mae_deg": mae},
            )
    print(
        f"\nrotation MAE {np.mean(maes):.2f}° ± {np.std(maes):.2f}°, class accuracy "
        f"{np.mean(accs):.2%} ± {np.std(accs):.2%} over {len(maes)} seed(s)"
    )
    return 0
