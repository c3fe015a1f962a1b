"""The paper's 2-D toy task (Fig. 3): two classes of points near (0, 0) and (1, 1)."""

from __future__ import annotations

import torch


def make_toy_data(
    n_per_class: int = 100, noise: float = 0.05, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """The paper's toy task: n points near (0,0) (label 0) and n near (1,1) (label 1).

    Each point is its centre plus uniform noise in [-noise, noise]^2. Returns x (2n, 2)
    float32 and y (2n,) int64.
    """
    if isinstance(n_per_class, bool) or not isinstance(n_per_class, int) or n_per_class < 1:
        raise ValueError(f"n_per_class must be a positive integer. Got {n_per_class!r} instead.")
    if not 0.0 <= noise <= 1.0:
        raise ValueError(f"noise must be in [0, 1]. Got {noise!r} instead.")
    g = torch.Generator().manual_seed(seed)
    centres = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    y = torch.arange(2).repeat_interleave(n_per_class)
    x = centres[y] + (torch.rand(2 * n_per_class, 2, generator=g) * 2 - 1) * noise
    return x, y
