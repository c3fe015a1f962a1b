"""What the per-epoch overlap bookkeeping (overlaps on the τ ladder and NC1) costs a Table-3 run.

Run: python bench/bench_epoch_overlaps.py [--max-samples 6000] [--epochs 2] [--rounds 2]
     python bench/bench_epoch_overlaps.py --experiment vis3d --max-samples 0 (the quick preset)
Baseline: the same run in the same process with the bookkeeping off (`run_table3(...,
overlaps_by_epoch=False)`: the test set evaluated after every epoch, nothing counted), alternated
with the run that keeps it (B, T, T, B, ...). Both train the same net on the same images with the
same seed (CPU runs repeat exactly) and evaluate on MNIST's 10,000 test images. Prints each
run's wall time, the ratio (with / without, median over the rounds), the bookkeeping's seconds
per epoch, the CPU class (`torch.backends.cpu.get_cpu_capability()`) and the load. The ratio
falls as an epoch trains on more images: the bookkeeping is about the same seconds every epoch
(six overlap counts and NC1 on 10,000 x 256 features).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models.vis3d import Vis3DConfig
from sph_viz.experiments.registry import EXPERIMENTS
from sph_viz.experiments.table3 import run_table3, table3_model_config
from sph_viz.experiments.vis3d import run_vis3d
from sph_viz.training.config import TrainConfig


def one_run(
    max_samples: int, epochs: int, bookkeeping: bool, experiment: str = "table3"
) -> tuple[float, float]:
    """Wall seconds of one run and its test accuracy: Table 3 (operator original, Adam 1e-3, batch
    128), or CNN-Vis3D's spherized head on its quick preset (`--experiment vis3d`: the preset's
    own epochs; --max-samples 0 keeps its images)."""
    t0 = time.perf_counter()
    if experiment == "vis3d":
        quick = EXPERIMENTS["vis3d"].preset("quick")
        train = quick.train if not max_samples else replace(quick.train, max_samples=max_samples)
        result = run_vis3d(Vis3DConfig("spherized", **quick.model), train, overlaps_by_epoch=bookkeeping)
    else:
        config = TrainConfig(
            epochs=epochs, batch_size=128, lr=1e-3, optimizer="adam", max_samples=max_samples
        )
        model = table3_model_config("original", "mnist")
        result = run_table3(model, config, dataset="mnist", overlaps_by_epoch=bookkeeping)
    return time.perf_counter() - t0, result.test_accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-samples", type=int, default=6000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--experiment", choices=("table3", "vis3d"), default="table3")
    args = parser.parse_args()
    print(f"CPU class: {torch.backends.cpu.get_cpu_capability()}, threads {torch.get_num_threads()}")
    one_run(300, 1, True, args.experiment)  # warm-up: data loading and first-call costs out of the timings
    base, this = [], []
    for r in range(args.rounds):
        order = (False, True) if r % 2 == 0 else (True, False)
        for keep in order:
            seconds, acc = one_run(args.max_samples, args.epochs, keep, args.experiment)
            (this if keep else base).append(seconds)
            print(f"round {r}: {'with' if keep else 'without'} bookkeeping {seconds:.1f} s, test {acc:.2%}")
    ratio = statistics.median(t / b for t, b in zip(this, base, strict=True))
    per_epoch = (statistics.median(this) - statistics.median(base)) / args.epochs
    print(
        f"{args.experiment}, {args.max_samples} images x {args.epochs} epochs: "
        f"without {statistics.median(base):.1f} s, "
        f"with {statistics.median(this):.1f} s, ratio {ratio:.3f} ({per_epoch:.2f} s per epoch); "
        f"load {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
