"""Safe loading of model files a user hands in: size-limited, weights only, shapes checked.

`torch.load(weights_only=True)` refuses anything but tensors and plain containers, so no
code in a file runs on load.
"""

from __future__ import annotations

import io

import torch
from torch import nn

MAX_MODEL_BYTES = 64 * 2**20  # CNN-Vis3D's state_dict is ~7 MiB


def load_checkpoint(data: bytes, model: nn.Module, max_bytes: int = MAX_MODEL_BYTES) -> nn.Module:
    """Load a state_dict file into model, safely: size-limited, weights only, shapes checked."""
    if len(data) > max_bytes:
        raise ValueError(
            f"model file is {len(data) / 2**20:.1f} MiB; the limit is {max_bytes / 2**20:.0f} MiB."
        )
    try:
        state = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except Exception as exc:
        reason = str(exc).splitlines()[0][:200]
        raise ValueError(f"not a plain PyTorch state_dict (refused by the safe loader: {reason}).") from None
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise ValueError("the file does not hold a state_dict (a mapping of names to tensors).")
    expected = model.state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    wrong = [k for k in expected if k in state and state[k].shape != expected[k].shape]
    if missing or unexpected or wrong:
        parts = [
            f"missing {missing[:3]}" if missing else "",
            f"unexpected {unexpected[:3]}" if unexpected else "",
            f"wrong shape {wrong[:3]}" if wrong else "",
        ]
        raise ValueError(
            "state_dict does not fit this architecture: " + "; ".join(p for p in parts if p) + "."
        )
    model.load_state_dict(state)
    return model
