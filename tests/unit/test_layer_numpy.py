"""The NumPy twin of the spherization layer (what Home draws with, before torch is loaded) equals
the torch layer, and checks its arguments the same way."""

import numpy as np
import pytest
import torch

from sph_viz.nn.layer_numpy import angularize, lower_angle, spherize
from sph_viz.nn.layers import Spherization
from sph_viz.nn.layers import lower_angle as torch_lower_angle


def hostile_inputs(n: int) -> np.ndarray:
    """Wide, narrow and saturating pre-activations (N, n)."""
    g = np.random.default_rng(n)
    corners = np.stack([np.full(n, 1e4), np.full(n, -1e4), np.zeros(n), np.full(n, 800.0)])
    return np.concatenate([g.uniform(-1e4, 1e4, (300, n)), 3 * g.normal(size=(300, n)), corners])


@pytest.mark.parametrize("n", [1, 2, 3, 7, 64])
@pytest.mark.parametrize(
    ("alpha", "delta", "radius"), [(1.0, 1e-6, 1.0), (0.3, 1e-3, 2.5), (7.3, 1e-12, 0.1)]
)
def test_numpy_twin_equals_the_torch_layer(n, alpha, delta, radius):
    layer = Spherization(n, delta=delta, scale=alpha, radius=radius).double()
    # the torch layer keeps alpha and r as float32 parameters: the twin gets the same numbers
    a, r = layer.alpha.item(), layer.radius.item()
    z = hostile_inputs(n)
    with torch.no_grad():
        s_torch = layer(torch.from_numpy(z)).numpy()
        phi_torch = layer.angles(torch.from_numpy(z)).numpy()
    assert lower_angle(n, delta) == torch_lower_angle(n, delta) == layer.phi_low
    np.testing.assert_allclose(angularize(z, a, layer.phi_low), phi_torch, rtol=1e-14, atol=0)
    s = spherize(z, a, delta, r)
    np.testing.assert_allclose(s, s_torch, rtol=1e-12, atol=0)
    np.testing.assert_allclose(np.linalg.norm(s, axis=1), r, rtol=1e-12)


def test_numpy_twin_checks_its_arguments_like_the_layer():
    for kwargs, match in [
        ({"alpha": 0.0}, "scale must be > 0. Got 0.0 instead."),
        ({"radius": -1.0}, "radius must be > 0. Got -1.0 instead."),
        ({"delta": 1.0}, r"delta must be in \(0, 1\). Got 1.0 instead."),
    ]:
        with pytest.raises(ValueError, match=match):
            spherize(np.zeros((1, 2)), **kwargs)
