"""The spherization layer against closed forms, the paper's formula and autograd."""

import math

import pytest
import torch

from sph_viz import Spherization
from sph_viz.nn.layers import (
    SphericalLinear,
    cartesian_to_angles,
    lower_angle,
    spherize_reference,
    tensor_trick_matrices,
)

DIMS = [1, 2, 3, 7, 64, 512]


def extreme_inputs(n: int, dtype: torch.dtype) -> torch.Tensor:
    g = torch.Generator().manual_seed(n)
    wide = torch.empty(500, n, dtype=torch.float64).uniform_(-1e4, 1e4, generator=g)
    narrow = torch.randn(500, n, generator=g, dtype=torch.float64) * 3
    corners = torch.stack([torch.full((n,), 1e4), torch.full((n,), -1e4), torch.zeros(n)])
    return torch.cat([wide, narrow, corners.double()]).to(dtype)


@pytest.mark.parametrize("n", DIMS)
@pytest.mark.parametrize(("dtype", "rtol"), [(torch.float32, 1e-5), (torch.float64, 1e-12)])
def test_norm_equals_radius(n, dtype, rtol):
    layer = Spherization(n, radius=2.5).to(dtype)
    s = layer(extreme_inputs(n, dtype))
    assert s.shape[-1] == n + 1
    torch.testing.assert_close(s.norm(dim=-1), torch.full((len(s),), 2.5, dtype=dtype), rtol=rtol, atol=0)


@pytest.mark.parametrize("n", DIMS)
def test_last_coordinate_never_collapses(n):
    layer = Spherization(n, radius=3.0)
    s = layer(extreme_inputs(n, torch.float32))
    # s_{n+1} = r prod sin(phi) >= r * delta
    assert s[:, -1].min().item() >= 3.0 * 1e-6 * (1 - 1e-5)
    assert (s >= 0).all()  # angles in [phi_L, pi/2] keep s in the positive orthant


@pytest.mark.parametrize("n", [1, 2, 5, 32])
def test_angles_in_range_and_recovered_by_inverse_map(n):
    layer = Spherization(n, scale=0.7).double()
    z = torch.randn(300, n, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 4
    phi = layer.angles(z)
    assert (phi >= lower_angle(n)).all() and (phi <= math.pi / 2).all()
    torch.testing.assert_close(cartesian_to_angles(layer(z)), phi, rtol=0, atol=1e-10)


@pytest.mark.parametrize("n", [1, 2, 3, 16])
def test_tensor_trick_equals_product_formula(n):
    layer = Spherization(n, radius=1.7, scale=1.3).double()
    z = torch.randn(200, n, dtype=torch.float64, generator=torch.Generator().manual_seed(2)) * 2
    phi = layer.angles(z)
    r = layer.radius.item()  # 1.7 rounded to float32 when the parameter was made
    # The paper's formula, literally: s = r exp(W_phi^T log sin(phi') + log cos(phi' + b)).
    expand, w_phi, bias = tensor_trick_matrices(n)
    phi_p = phi @ expand
    literal = r * torch.exp(torch.log(torch.sin(phi_p)) @ w_phi + torch.log(torch.cos(phi_p + bias)))
    reference = spherize_reference(phi, radius=r)
    torch.testing.assert_close(literal, reference, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(layer(z), reference, rtol=1e-12, atol=1e-14)


def test_circle_closed_form():
    """n = 1: s = r (cos phi, sin phi)."""
    layer = Spherization(1, radius=2.0).double()
    z = torch.linspace(-6, 6, 50, dtype=torch.float64)[:, None]
    phi = layer.angles(z)[:, 0]
    torch.testing.assert_close(layer(z), 2.0 * torch.stack([phi.cos(), phi.sin()], 1))


def test_gradcheck_float64():
    layer = Spherization(3, scale=0.8, radius=1.5, learn_radius=True).double()
    z = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)

    def f(z, alpha, radius):
        return torch.func.functional_call(layer, {"alpha": alpha, "radius": radius}, (z,))

    alpha = layer.alpha.detach().clone().requires_grad_()
    radius = layer.radius.detach().clone().requires_grad_()
    assert torch.autograd.gradcheck(f, (z, alpha, radius))
    assert torch.autograd.gradgradcheck(f, (z, alpha, radius))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("magnitude", [1e4, 1e6, 1e30])
def test_no_nan_or_inf_at_extremes(dtype, magnitude):
    layer = Spherization(4, learn_radius=True).to(dtype)
    z = torch.tensor([[magnitude, -magnitude, 0.0, magnitude], [-magnitude] * 4], dtype=dtype)
    z.requires_grad_()
    s = layer(z)
    (s * torch.arange(1.0, 6.0, dtype=dtype)).sum().backward()
    assert torch.isfinite(s).all()
    for grad in (z.grad, layer.alpha.grad, layer.radius.grad):
        assert torch.isfinite(grad).all()


def test_conv_maps_over_channels():
    layer = Spherization(4, channel_dim=1)
    x = torch.randn(2, 4, 5, 6)
    s = layer(x)
    assert s.shape == (2, 5, 5, 6)
    flat = Spherization(4)(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    torch.testing.assert_close(s, flat)


def test_spherical_linear_has_no_bias_and_is_angle_only():
    head = SphericalLinear(2, 10, radius=5.0)
    assert head.linear.bias is None
    # Decisions depend on angles alone: zero logits when s is zero is impossible, and
    # doubling r doubles every logit without moving any decision.
    z = torch.randn(64, 2)
    logits = head(z)
    head.sphere.radius.data.fill_(10.0)
    torch.testing.assert_close(head(z), 2 * logits)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_features": 0}, "n_features must be a positive integer. Got 0 instead."),
        ({"n_features": 2, "radius": -1.0}, r"radius must be > 0. Got -1.0 instead."),
        ({"n_features": 2, "delta": 1.5}, r"delta must be in \(0, 1\). Got 1.5 instead."),
        ({"n_features": 2, "scale": 0.0}, r"scale must be > 0. Got 0.0 instead."),
    ],
)
def test_bad_arguments_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Spherization(**kwargs)


def test_wrong_feature_count_is_refused():
    with pytest.raises(ValueError, match=r"expected 3 features in the last dimension. Got shape \(4, 2\)"):
        Spherization(3)(torch.zeros(4, 2))
