"""SphereConv2d / SphereConvLinear against the angle computed directly from unfolded patches."""

import math

import pytest
import torch
from torch.nn import functional as F

from sph_viz.nn.projections import angular_operator
from sph_viz.nn.sphereconv import LEARNABLE, OPERATORS, SphereConv2d, SphereConvLinear, sigmoid_operator

K_START = {"learnable": 0.5, "learnable-official": 0.75}


def direct_cosines(x, weight, stride, padding, groups):
    """cos(patch, kernel) per group from F.unfold: (B, out, L), the brute-force reference."""
    out_ch, _, kh, kw = weight.shape
    cols = []
    for g, xg in enumerate(x.chunk(groups, dim=1)):
        patches = F.unfold(xg, (kh, kw), padding=padding, stride=stride)  # (B, in/g*kh*kw, L)
        w = weight[g * out_ch // groups : (g + 1) * out_ch // groups].flatten(1)  # (out/g, in/g*kh*kw)
        cols.append(F.normalize(w, dim=1) @ F.normalize(patches, dim=1))  # (B, out/g, L)
    return torch.cat(cols, dim=1)


@pytest.mark.parametrize("operator", OPERATORS)
def test_conv_equals_operator_of_direct_cosine(operator):
    torch.manual_seed(0)
    conv = SphereConv2d(4, 6, 3, stride=2, padding=1, groups=2, operator=operator).double()
    x = torch.randn(2, 4, 9, 7, dtype=torch.float64)
    out = conv(x)
    assert out.shape == (2, 6, 5, 4)
    cos = direct_cosines(x, conv.weight, stride=2, padding=1, groups=2)
    k = K_START.get(operator, 0.3)  # learnable starts at the slides' 0.5, the official form at 0.75
    expected = angular_operator(cos, "sigmoid" if operator in LEARNABLE else operator, k)
    # eps = 1e-4 on the squared norm of patches of norm ~3 moves cos by ~1e-5 relative
    torch.testing.assert_close(out.flatten(2), expected, atol=2e-5, rtol=0)


def test_conv_ignores_input_and_kernel_scale():
    torch.manual_seed(1)
    conv = SphereConv2d(3, 5, 3, padding=1)
    x = torch.randn(2, 3, 8, 8)
    out = conv(x)
    with torch.no_grad():
        conv.weight.mul_(7.0)
    torch.testing.assert_close(conv(10.0 * x), out, atol=1e-5, rtol=0)


@pytest.mark.parametrize("operator", OPERATORS)
def test_zero_patches_give_finite_values_and_gradients(operator):
    torch.manual_seed(2)
    conv = SphereConv2d(2, 4, 3, padding=1, operator=operator)
    x = torch.randn(1, 2, 8, 8)
    x[:, :, 2:7, 2:7] = 0.0  # the patch centred at (4, 4) is all zeros
    x.requires_grad_(True)
    out = conv(x)
    torch.testing.assert_close(out[0, :, 4, 4], torch.zeros(4), atol=1e-6, rtol=0)  # theta = 90°
    out.square().sum().backward()
    assert torch.isfinite(out).all()
    assert torch.isfinite(x.grad).all() and torch.isfinite(conv.weight.grad).all()
    zeros = torch.zeros(1, 2, 5, 5, requires_grad=True)  # every patch zero, padding too
    conv(zeros).sum().backward()
    assert torch.isfinite(zeros.grad).all()


@pytest.mark.parametrize("operator", OPERATORS)
def test_values_in_unit_interval(operator):
    torch.manual_seed(3)
    conv = SphereConv2d(3, 8, 3, padding=1, operator=operator)
    with torch.no_grad():
        conv.weight[0] = 1.0  # a kernel parallel to a constant patch: cos = 1 up to rounding
    x = torch.cat([torch.ones(1, 3, 6, 6), 100.0 * torch.randn(3, 3, 6, 6)])
    out = conv(x)
    assert out.min() >= -1.0 and out.max() <= 1.0
    assert out[0, 0, 2, 2] > 0.99  # the constant patch meets the constant kernel (eps: theta ~ 2e-3)


def test_learnable_k_gets_gradients_and_stays_positive():
    torch.manual_seed(4)
    conv = SphereConv2d(3, 5, 3, operator="learnable")
    torch.testing.assert_close(conv.g.learnt_k(), torch.full((5,), 0.5))
    conv(torch.randn(2, 3, 6, 6)).square().sum().backward()
    assert conv.g.raw_k.grad.shape == (5,)
    assert (conv.g.raw_k.grad.abs() > 0).all()
    with torch.no_grad():
        conv.g.raw_k.fill_(-200.0)  # the softplus underflows to 0; K_MIN keeps k positive
    assert (conv.g.learnt_k() > 0).all()
    assert torch.isfinite(conv(torch.randn(1, 3, 6, 6))).all()


def test_official_learnable_k_is_the_tf_codes_form():
    """wy1iu/SphereNet's "lr_sigmoid": k = |raw| + 0.05, raw from 0.7; its g written out as there."""
    torch.manual_seed(5)
    conv = SphereConv2d(3, 4, 3, operator="learnable-official").double()
    torch.testing.assert_close(conv.g.learnt_k(), torch.full((4,), 0.75, dtype=torch.float64))
    with torch.no_grad():
        conv.g.raw_k.copy_(torch.tensor([0.7, -0.3, 1.2, -0.01], dtype=torch.float64))
    k = conv.g.raw_k.detach().abs() + 0.05
    x = torch.randn(2, 3, 5, 5, dtype=torch.float64)
    theta = torch.acos(direct_cosines(x, conv.weight, stride=1, padding=0, groups=1))  # (B, out, L)
    kk = k.view(1, -1, 1)
    coeff = (1 + torch.exp(-math.pi / (2 * kk))) / (1 - torch.exp(-math.pi / (2 * kk)))
    official = (
        coeff
        * (1 - torch.exp(theta / kk - math.pi / (2 * kk)))
        / (1 + torch.exp(theta / kk - math.pi / (2 * kk)))
    )
    torch.testing.assert_close(conv(x).flatten(2), official, atol=2e-5, rtol=0)
    conv(x).sum().backward()  # |raw| passes sign(raw) times dg/dk: a negative raw learns too
    assert (conv.g.raw_k.grad != 0).all()
    assert torch.autograd.gradcheck(
        lambda raw: (raw.abs() + 0.05).sum(), conv.g.raw_k.detach().clone().requires_grad_()
    )


def test_sigmoid_operator_matches_slides_formula():
    theta = torch.linspace(0, math.pi, 7, dtype=torch.float64)
    k = 0.5
    slides = (
        (1 + math.exp(-math.pi / (2 * k)))
        / (1 - math.exp(-math.pi / (2 * k)))
        * (1 - torch.exp(theta / k - math.pi / (2 * k)))
        / (1 + torch.exp(theta / k - math.pi / (2 * k)))
    )
    torch.testing.assert_close(sigmoid_operator(theta, torch.tensor(k, dtype=torch.float64)), slides)


@pytest.mark.parametrize("operator", OPERATORS)
def test_gradcheck_conv(operator):
    """Gradients w.r.t. the input, the kernel and (learnable) k against finite differences, float64."""
    torch.manual_seed(5)
    conv = SphereConv2d(2, 4, 2, padding=1, groups=2, operator=operator).double()
    x = torch.randn(1, 2, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(conv, (x,))
    params = {"weight": conv.weight.detach().clone().requires_grad_(True)}
    if operator in LEARNABLE:
        params["g.raw_k"] = conv.g.raw_k.detach().clone().requires_grad_(True)

    def f(*values):
        return torch.func.functional_call(conv, dict(zip(params, values, strict=True)), (x.detach(),))

    assert torch.autograd.gradcheck(f, tuple(params.values()))


@pytest.mark.parametrize("operator", OPERATORS)
def test_linear_equals_operator_of_cosine(operator):
    torch.manual_seed(7)
    layer = SphereConvLinear(5, 3, operator).double()
    x = torch.randn(4, 5, dtype=torch.float64)
    cos = F.normalize(x, dim=1) @ F.normalize(layer.weight, dim=1).T
    k = K_START.get(operator, 0.3)
    expected = angular_operator(cos, "sigmoid" if operator in LEARNABLE else operator, k)
    torch.testing.assert_close(layer(x), expected, atol=2e-5, rtol=0)
    x = x.requires_grad_(True)
    assert torch.autograd.gradcheck(layer, (x,))
    zero = torch.zeros(2, 5, dtype=torch.float64, requires_grad=True)
    layer(zero).sum().backward()
    assert torch.isfinite(zero.grad).all()


def test_errors():
    with pytest.raises(
        ValueError,
        match=r"operator must be one of linear, cosine, sigmoid, learnable, learnable-official. Got 'tanh' instead.",
    ):
        SphereConv2d(2, 2, 3, operator="tanh")
    with pytest.raises(ValueError, match=r"k must be > 0. Got -1.0 instead."):
        SphereConvLinear(2, 2, "sigmoid", k=-1.0)
    with pytest.raises(
        ValueError, match=r"in_ch and out_ch must be divisible by groups. Got 3, 4 and 2 instead."
    ):
        SphereConv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match=r"eps must be > 0. Got 0.0 instead."):
        SphereConv2d(2, 2, 3, eps=0.0)
