"""A seeded CNN-Vis3D and a random MNIST-shaped batch, for the tests of the training aids."""

import torch

from models.vis3d import CNNVis3D, Vis3DConfig
from sph_viz.experiments.result import seeded


def spread_net() -> CNNVis3D:
    """The spherized CNN-Vis3D with the spread classifier init, seed 0 (the same net each call)."""
    return seeded(lambda: CNNVis3D(Vis3DConfig("spherized", classifier_init="spread")), 0)


def random_batch(n: int = 96) -> tuple[torch.Tensor, torch.Tensor]:
    """n Gaussian 1x28x28 images and labels in 0..9, from a generator seeded with 1."""
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)
