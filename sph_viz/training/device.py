"""Pick the compute device: CUDA, then Apple MPS, then the CPU, unless told otherwise."""

from __future__ import annotations

import torch

DEVICES = ("auto", "cpu", "cuda", "mps")


def pick_device(name: str = "auto") -> torch.device:
    """'auto' -> the best available device; a named one must be available."""
    if name not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}. Got {name!r} instead.")
    cuda, mps = torch.cuda.is_available(), torch.backends.mps.is_available()
    if name == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if (name == "cuda" and not cuda) or (name == "mps" and not mps):
        raise ValueError(f"device {name!r} is not available on this machine. Use 'auto' or 'cpu'.")
    return torch.device(name)


def describe_device(device: torch.device) -> str:
    """A one-line human description, e.g. 'CUDA (NVIDIA H100)' or 'CPU (2 threads)'."""
    if device.type == "cuda":
        return f"CUDA ({torch.cuda.get_device_name(device)})"
    if device.type == "mps":
        return "Apple MPS"
    return f"CPU ({torch.get_num_threads()} threads)"
