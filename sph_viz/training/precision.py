"""Which precision a training step runs in: bfloat16 where the device computes it natively."""

from __future__ import annotations

from contextlib import nullcontext

import torch


def bfloat16_native(device: torch.device) -> bool:
    """Whether the device computes bfloat16 convolutions and matmuls itself: a CPU with AVX-512
    (oneDNN's bf16 kernels), a CUDA GPU with bf16, or another device with bf16 autocast.

    Elsewhere (an AVX2-only laptop, say) bf16 would be emulated, slower than float32.
    """
    if device.type == "cpu":
        try:
            return torch.backends.mkldnn.is_available() and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        except (AttributeError, RuntimeError):
            return False
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return torch.amp.is_autocast_available(device.type)


def training_autocast(precision: str, device: torch.device):
    """The context a training step's forward runs in: bfloat16 autocast, or nothing (float32).

    bfloat16 about halves the conv trunk's time on a CPU with AVX-512 BF16 (2.1-2.6x the
    samples/s of CNN-Vis3D's float32 default layout on the 2-core CPU, bench/bench_train.py); a
    device that does not compute bfloat16 natively (`bfloat16_native`) trains in float32.
    """
    if precision == "bfloat16" and bfloat16_native(device):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return nullcontext()
