"""Issue 14's figures in one run, each against the code path it replaces, then the absolute figure.

Run: python bench/bench_speed.py [--seeds 0 1 2] [--only steps train cli app pages gpu]
     [--baseline-commit a42369c] [--from-row N] [--chains fast quick]
Sections (--only picks some; all by default):
- steps: the `quick` preset per seed on the code path before the step speed-ups (the trunk's
  ReLU before its max-pool, glibc's default allocator thresholds), then on today's (max-pool
  first, freed buffers kept: `sph_viz.training.allocator`), in that order in this process (the allocator
  setting is process-wide and cannot be undone). Same images, same test accuracy expected.
- train: the spherized CNN-Vis3D head on the bundled MNIST, for the `fast` and `quick` presets a
  chain of recipes from the one before issue 14 to today's preset, each row adding one change to
  the row above. Per seed the rows run one after another in this process (so drift in the
  machine's speed reaches every row alike). Printed per row: test accuracy (a full float32
  evaluation of the 10,000 test images) as mean ± sd over the seeds and its minimum, training
  seconds (`TrainResult.seconds`: steps, probe snapshots and any test pass between epochs; not
  data loading or the final evaluation) as the median, and the ratio baseline / row.
- cli: wall time of `python -m sph_viz vis3d` over the training time it reports, for this tree
  and for the tree at --baseline-commit (exported with `git archive`), one after the other.
- app: bench/bench_app.py (cold start to Home, the Toy page's first chart, page reruns, Home's
  imports) against the baseline commit.
- pages: bench/bench_vis3d_page.py (each widget's rerun on 10,000 points, on the CNN-Vis3D page
  and on the Overlap page) against it.
- gpu: the `paper` preset's 20 epochs on a CUDA device with the whole dataset resident there
  (skipped without CUDA).
Quote the machine's load (`uptime`) with the figures: these are wall-clock times.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import torch  # noqa: E402

import models.vis3d  # noqa: E402
import sph_viz.training.loop  # noqa: E402
from models.vis3d import Vis3DConfig  # noqa: E402
from sph_viz.experiments.registry import PRESETS  # noqa: E402
from sph_viz.experiments.vis3d import run_vis3d  # noqa: E402
from sph_viz.training.config import TrainConfig  # noqa: E402

GOALS = {"fast": (0.990, 90.0), "quick": (0.985, 40.0)}  # test accuracy at least, training seconds at most
MODEL_BEFORE = {"radius": 5.0, "scale": 1.0, "normalize_preact": True}  # torch's init of the classifier


BEFORE = {  # the presets before issue 14 (settings.py at a42369c)
    "fast": TrainConfig(
        epochs=3, batch_size=128, lr=3e-3, optimizer="adam", schedule="onecycle", snapshots_per_epoch=8
    ),
    "quick": TrainConfig(
        epochs=2,
        batch_size=64,
        lr=6e-3,
        optimizer="adam",
        schedule="onecycle",
        snapshots_per_epoch=4,
        max_samples=12000,
    ),
}
# Each step: (what it adds, model changes, training changes, a test pass between epochs after it).
STEPS = {
    "fast": [
        ("+ bfloat16 conv trunk", {}, {"precision": "bfloat16"}, True),
        (
            "+ 2 epochs, 4 snapshots per epoch, no test pass between",
            {},
            {"epochs": 2, "snapshots_per_epoch": 4},
            False,
        ),
    ],
    "quick": [
        ("+ bfloat16 conv trunk", {}, {"precision": "bfloat16"}, True),
        (
            "+ 50,000 images, 1 epoch, batch 128",
            {},
            {"max_samples": 50000, "epochs": 1, "batch_size": 128},
            False,
        ),
    ],
}
STEPS_AFTER = [
    ("+ spread classifier init", {"classifier_init": "spread"}, {}, False),
    ("+ peak lr 8e-3 (the preset at b6eb84b)", {}, {"lr": 8e-3}, False),
    ("+ auxiliary read-out of the trunk, weight 0.3", {}, {"aux_weight": 0.3}, False),
    ("+ peak lr 1.2e-2", {}, {"lr": 1.2e-2}, False),
]
STEPS_LAST = {"quick": [("+ all 60,000 images", {}, {"max_samples": None}, False)]}
STEPS_MARGIN = [("+ logit margin 2 in the training loss", {}, {"margin": 2.0}, False)]
STEPS_FREEZE = {
    "fast": [],  # 3 epochs with the stages frozen after 25 / 45 / 70 %: no better (README)
    "quick": [
        (
            "+ the trunk's first two stages frozen after 60 / 85 % (FreezeOut)",
            {},
            {"freeze_out": (0.6, 0.85)},
            False,
        )
    ],
}


def chain(name: str) -> list[tuple[str, dict, TrainConfig, bool]]:
    """(what the row adds, model settings, training config, a test pass between epochs) from the
    recipe before issue 14 to today's preset, which the last row must be."""
    model, train = dict(MODEL_BEFORE), BEFORE[name]
    rows = [("before: the preset at a42369c (float32, torch's init)", model, train, True)]
    steps = STEPS[name] + STEPS_AFTER + STEPS_LAST.get(name, []) + STEPS_MARGIN + STEPS_FREEZE[name]
    for label, m, t, between in steps:
        model, train = model | m, replace(train, **t)
        rows.append((label, model, train, between))
    rows[-1] = (f"{rows[-1][0]} (= the preset)", *rows[-1][1:])
    preset = PRESETS["vis3d"][name]
    assert (model, train) == (preset.model, preset.train), f"the chain does not end at the {name} preset"
    return rows


def _mean_sd(values: list[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.2f} ± {sd:.2f}"


def machine_speed() -> str:
    """The machine's speed now, for scaling the seconds: samples/s of a bf16 channels-last
    training step of CNN-Vis3D (bench/bench_train.py's figure; 1,500 on a quiet 2-core machine)."""
    from bench_train import train_rate

    return f"{train_rate('channels_last', 'bfloat16', steps=10, batch=128):.0f} samples/s"


def bench_train(seeds: list[int], from_row: int = 0, chains: tuple[str, ...] = tuple(GOALS)) -> None:
    print(f"== train (spherized CNN-Vis3D, bundled MNIST, {torch.get_num_threads()} threads, seeds {seeds})")
    print(f"  machine speed at start: {machine_speed()}", flush=True)
    for name in chains:
        goal_acc, goal_s = GOALS[name]
        rows = chain(name)[from_row:]
        if from_row:
            print(f"  {name}: from row {from_row}; the baseline of the ratios is: {rows[0][0]}")
        acc: list[list[float]] = [[] for _ in rows]
        secs: list[list[float]] = [[] for _ in rows]
        for seed in seeds:
            for k, (label, model, cfg, between) in enumerate(rows):
                res = run_vis3d(  # the training's code path: the overlap bookkeeping has its own bench
                    Vis3DConfig("spherized", **model),
                    replace(cfg, seed=seed),
                    test_each_epoch=between,
                    overlaps_by_epoch=False,
                )
                acc[k].append(res.test_accuracy * 100)
                secs[k].append(res.train.seconds)
                print(
                    f"  {name} seed {seed} | {label}: test {res.test_accuracy:.2%}, "
                    f"training {res.train.seconds:.1f} s",
                    flush=True,
                )
        base = statistics.median(secs[0])
        print(f"  {name}: {'row':64s} {'test acc % (min)':>22s} {'training s':>11s} {'speed-up':>9s}")
        for (label, *_), a, s in zip(rows, acc, secs, strict=True):
            med = statistics.median(s)
            print(f"  {name}: {label:64s} {_mean_sd(a):>15s} ({min(a):.2f}) {med:10.1f}  {base / med:7.2f}x")
        held = min(acc[-1]) >= goal_acc * 100 and max(secs[-1]) <= goal_s
        print(
            f"  {name}: goal >= {goal_acc:.1%} in <= {goal_s:.0f} s on every seed: "
            f"{'met' if held else 'NOT met'} (worst seed {min(acc[-1]):.2f} %, slowest {max(secs[-1]):.1f} s)"
        )
        print(f"  machine speed after {name}: {machine_speed()}", flush=True)


def bench_steps(seeds: list[int]) -> None:
    """The `quick` preset on the step's code path before and after its speed-ups, per seed."""
    print(f"== steps: the quick preset, code path before / now, seeds {seeds}")
    quick = PRESETS["vis3d"]["quick"]
    make_trunk, keep = models.vis3d.make_trunk, sph_viz.training.loop.keep_freed_buffers
    before = {"trunk": lambda: make_trunk(pool_before_relu=False), "keep": lambda: False}
    rows: dict[str, list[tuple[float, float]]] = {"before": [], "now": []}
    for label in rows:
        for seed in seeds:
            # Only the "before" rows swap in the old code path; nothing is swapped for "now".
            models.vis3d.make_trunk = before["trunk"] if label == "before" else make_trunk
            sph_viz.training.loop.keep_freed_buffers = before["keep"] if label == "before" else keep
            res = run_vis3d(
                Vis3DConfig("spherized", **quick.model),
                replace(quick.train, seed=seed),
                overlaps_by_epoch=False,
            )
            acc, secs = res.test_accuracy * 100, res.train.seconds
            rows[label].append((acc, secs))
            print(f"  {label} seed {seed}: test {acc:.2f} %, training {secs:.1f} s", flush=True)
    models.vis3d.make_trunk, sph_viz.training.loop.keep_freed_buffers = make_trunk, keep
    base = statistics.median(s for _, s in rows["before"])
    for label, values in rows.items():
        med = statistics.median(s for _, s in values)
        accs = [a for a, _ in values]
        print(f"  {label:7s} test {_mean_sd(accs)} %, training {med:.1f} s (median), {base / med:.3f}x")


def _cli_run(tree: Path) -> tuple[float, float, str]:
    """Wall seconds of `python -m sph_viz vis3d` in tree, the training seconds it printed, its line."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "sph_viz", "vis3d"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    wall = time.perf_counter() - start
    line = next(x for x in out.splitlines() if x.startswith("spherized seed"))
    return wall, float(re.search(r"\(([\d.]+) s\)", line).group(1)), line


def baseline_tree(commit: str, into: str) -> Path:
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", into], input=archive.stdout, check=True)
    return Path(into)


def bench_cli(baseline_commit: str) -> None:
    print(f"== cli: python -m sph_viz vis3d (this tree, then {baseline_commit})")
    with tempfile.TemporaryDirectory() as tmp:
        for label, tree in (("now", ROOT), ("baseline", baseline_tree(baseline_commit, tmp))):
            wall, train, line = _cli_run(tree)
            print(f"  {label:8s} wall {wall:.1f} s, training {train:.1f} s: {wall / train:.2f}x  ({line})")


def bench_script(script: str, baseline_commit: str, *args: str) -> None:
    print(f"== {script} {' '.join(args)} (baseline {baseline_commit})", flush=True)
    cmd = [sys.executable, str(ROOT / "bench" / script), "--base", baseline_commit, *args]
    subprocess.run(cmd, check=True)


def bench_gpu() -> None:
    print("== gpu: the paper preset (20 epochs), data resident on the device")
    if not torch.cuda.is_available():
        print("  no CUDA device here: skipped")
        return
    paper = PRESETS["vis3d"]["paper"]
    res = run_vis3d(Vis3DConfig("spherized", **paper.model), paper.train, device="cuda")
    print(
        f"  {torch.cuda.get_device_name()}: test {res.test_accuracy:.2%}, training {res.train.seconds:.1f} s "
        f"({res.train.steps:,} steps)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    sections = ("steps", "train", "cli", "app", "pages", "gpu")
    parser.add_argument("--only", nargs="+", choices=sections, default=sections)
    parser.add_argument("--baseline-commit", default="a42369c")
    parser.add_argument(
        "--from-row",
        type=int,
        default=0,
        help="train: start each chain at row N (0: the recipe before issue 14; -2: its last two rows), "
        "the ratios' baseline",
    )
    parser.add_argument(
        "--chains", nargs="+", choices=tuple(GOALS), default=tuple(GOALS), help="train: which presets"
    )
    args = parser.parse_args()
    shortest = min(len(chain(name)) for name in GOALS)
    if not -shortest <= args.from_row < shortest:
        parser.error(f"--from-row must be in [{-shortest}, {shortest - 1}]. Got {args.from_row} instead.")
    print(f"load average {os.getloadavg()[0]:.2f} at start, {os.cpu_count()} CPUs")
    if "steps" in args.only:
        bench_steps(args.seeds)
    if "train" in args.only:
        bench_train(args.seeds, args.from_row, tuple(args.chains))
    if "cli" in args.only:
        bench_cli(args.baseline_commit)
    if "app" in args.only:
        bench_script("bench_app.py", args.baseline_commit)
    if "pages" in args.only:
        for page in ("vis3d", "overlap"):
            bench_script("bench_vis3d_page.py", args.baseline_commit, "--page", page)
    if "gpu" in args.only:
        bench_gpu()
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
