"""Training-step throughput of CNN-Vis3D: channels-last vs the default layout, same process.

Run: python bench/bench_train.py [--steps 10] [--batch 128]
Prints samples/s for each and the ratio (channels-last / default).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch.nn import functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from models.vis3d import CNNVis3D, Vis3DConfig


def samples_per_second(channels_last: bool, steps: int, batch: int) -> float:
    torch.manual_seed(0)
    model = CNNVis3D(Vis3DConfig("spherized"))
    x, y = torch.randn(batch, 1, 28, 28), torch.randint(0, 10, (batch,))
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    for i in range(steps + 2):  # two warm-up steps
        if i == 2:
            start = time.perf_counter()
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return steps * batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    base = samples_per_second(False, args.steps, args.batch)
    fast = samples_per_second(True, args.steps, args.batch)
    print(f"threads {torch.get_num_threads()}, batch {args.batch}, {args.steps} steps")
    print(f"default layout : {base:8.0f} samples/s")
    print(f"channels-last  : {fast:8.0f} samples/s")
    print(f"ratio          : {fast / base:8.2f}x")


if __name__ == "__main__":
    main()
