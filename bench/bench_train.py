"""Throughput of CNN-Vis3D (spherized head), each figure against a baseline in the same process.

Run: python bench/bench_train.py [--steps 20] [--batch 128]
Prints samples/s of
- a training step: the default layout in float32 with the paper's ReLU-then-pool order
  (baseline), channels-last float32, channels-last with the trunk in bfloat16
  (`TrainConfig.precision="bfloat16"`), then with fused Adam, then with the trunk's max-pools
  before their ReLUs (`models.vis3d.make_trunk`), then with glibc keeping freed buffers
  (`sph_viz.training.allocator`, process-wide and irreversible: measured last): what `train_model` runs;
  then that step with the trunk's first 1, 2, 3 stages frozen (`TrainConfig.freeze_out`);
- evaluation (`sph_viz.training.loop.predict`, float32, no grad) at batch 1000 (baseline) and 256, and
  at 256 with the buffers kept.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from models.vis3d import CNNVis3D, Vis3DConfig, make_trunk
from sph_viz.experiments.result import seeded
from sph_viz.training.allocator import keep_freed_buffers
from sph_viz.training.loop import predict
from sph_viz.training.precision import training_autocast

WARMUP = 3


def train_rate(
    layout: str,
    precision: str,
    steps: int,
    batch: int,
    *,
    fused: bool = False,
    pool_first: bool = False,
    frozen: int = 0,
) -> float:
    """Samples/s of full training steps (forward, backward, Adam) on random images; `frozen`: the
    first that many of the trunk's stages without gradients, as `TrainConfig.freeze_out` leaves them."""
    model = seeded(lambda: CNNVis3D(Vis3DConfig("spherized")), 0)
    if not pool_first:  # the paper's order, the same weights
        trunk = make_trunk(pool_before_relu=False)
        trunk.load_state_dict(model.trunk.state_dict())
        model.trunk = trunk
    x, y = torch.randn(batch, 1, 28, 28), torch.randint(0, 10, (batch,))
    if layout == "channels_last":
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    for stage in model.early_stages()[:frozen]:
        stage.requires_grad_(False)
    # frozen parameters stay in the optimizer, as in `train_model`: with no gradient Adam skips them
    opt = torch.optim.Adam(model.parameters(), 1e-3, fused=fused or None)
    autocast = training_autocast(precision, torch.device("cpu"))
    for i in range(steps + WARMUP):
        if i == WARMUP:
            start = time.perf_counter()
        with autocast:
            logits = model(x)
        loss = F.cross_entropy(logits.float(), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return steps * batch / (time.perf_counter() - start)


def eval_rate(batch: int, n: int) -> float:
    """Samples/s of `predict` (eval mode, float32) over n images in batches of `batch`."""
    model = seeded(lambda: CNNVis3D(Vis3DConfig("spherized")), 0).to(memory_format=torch.channels_last)
    x = torch.randn(n, 1, 28, 28)
    predict(model, x[:batch], batch_size=batch)  # warm-up
    start = time.perf_counter()
    predict(model, x, batch_size=batch)
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--eval-images", type=int, default=4000)
    args = parser.parse_args()
    print(f"threads {torch.get_num_threads()}, batch {args.batch}, {args.steps} steps after {WARMUP} warm-up")
    base = train_rate("default", "float32", args.steps, args.batch)
    rows = [
        ("train: default layout, float32 (baseline)", base, base),
        (
            "train: channels-last, float32",
            train_rate("channels_last", "float32", args.steps, args.batch),
            base,
        ),
        (
            "train: channels-last, bfloat16 trunk",
            train_rate("channels_last", "bfloat16", args.steps, args.batch),
            base,
        ),
        (
            "train: ... + fused Adam",
            train_rate("channels_last", "bfloat16", args.steps, args.batch, fused=True),
            base,
        ),
        (
            "train: ... + max-pool before ReLU",
            train_rate("channels_last", "bfloat16", args.steps, args.batch, fused=True, pool_first=True),
            base,
        ),
    ]
    e_base = eval_rate(1000, args.eval_images)
    e_256 = eval_rate(256, args.eval_images)
    keep_freed_buffers()  # from here on, for the rest of the process
    rows += [
        (
            "train: ... + glibc keeps freed buffers",
            train_rate("channels_last", "bfloat16", args.steps, args.batch, fused=True, pool_first=True),
            base,
        ),
        *(
            (
                f"train: ... with the trunk's first {k} stage{'s' * (k > 1)} frozen",
                train_rate(
                    "channels_last", "bfloat16", args.steps, args.batch, fused=True, pool_first=True, frozen=k
                ),
                base,
            )
            for k in (1, 2, 3)
        ),
        ("eval: batch 1000 (baseline)", e_base, e_base),
        ("eval: batch 256", e_256, e_base),
        ("eval: batch 256, glibc keeps freed buffers", eval_rate(256, args.eval_images), e_base),
    ]
    for name, rate, ref in rows:
        print(f"{name:48s} {rate:8.0f} samples/s   {rate / ref:5.2f}x")


if __name__ == "__main__":
    main()
