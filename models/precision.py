"""Heads that stay float32 when training autocasts the trunk to bfloat16 (`TrainConfig.precision`)."""

from __future__ import annotations

import torch
from torch import nn


def in_float32(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """module(x) computed in float32 even inside an autocast region (x is widened if it is narrower).

    The representation a head draws (angles, a point on a sphere, cosines to prototypes) is the
    point of these nets; bfloat16's ~3 digits would put ||s|| off by ~1e-2. A head costs nothing.
    """
    with torch.autocast(x.device.type, enabled=False):
        return module(x.float())
