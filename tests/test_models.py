"""Models and projection heads: shapes, norms, bias-freeness and the SphereNet operators."""

import math

import pytest
import torch

from models.toy import ToyConfig, make_toy_model
from models.vis3d import HEADS, CNNVis3D, Vis3DConfig
from sph_viz.projections import NormalizedLinear, SphereNetLinear, angular_operator


def test_toy_models():
    x = torch.rand(10, 2)
    original = make_toy_model(ToyConfig("original"))
    spherized = make_toy_model(ToyConfig("spherized", radius=2.0))
    assert original(x).shape == spherized(x).shape == (10, 2)
    assert spherized.classifier.bias is None and spherized.hidden.bias is None
    assert spherized.hidden.out_features == 1  # one pre-activation onto the circle
    torch.testing.assert_close(spherized.features(x).norm(dim=1), torch.full((10,), 2.0))
    assert ((original.features(x) > 0) & (original.features(x) < 1)).all()  # sigmoid


def test_unknown_toy_model():
    with pytest.raises(ValueError, match=r"toy model must be one of original, spherized. Got 'big' instead."):
        make_toy_model(ToyConfig("big"))


@pytest.mark.parametrize("head", HEADS)
def test_vis3d_heads(head):
    torch.manual_seed(0)
    model = CNNVis3D(Vis3DConfig(head=head)).eval()
    x = torch.randn(4, 1, 28, 28)
    feats = model.features(x)
    assert model(x).shape == (4, 10)
    assert feats.shape == (4, 2 if head == "original2d" else 3)
    norms = feats.norm(dim=1)
    if head == "spherized":
        torch.testing.assert_close(norms, torch.full((4,), 5.0))
        assert model.classifier.bias is None
    if head == "projected" or head.startswith("spherenet"):
        torch.testing.assert_close(norms, torch.ones(4))


def test_unknown_head():
    with pytest.raises(ValueError, match=r"head must be one of .*Got 'cosface' instead."):
        Vis3DConfig(head="cosface")


@pytest.mark.parametrize("operator", ["linear", "cosine", "sigmoid"])
def test_operators_at_known_angles(operator):
    cos = torch.tensor([1.0, 0.0, -1.0], dtype=torch.float64)
    g = angular_operator(cos, operator)
    torch.testing.assert_close(g, torch.tensor([1.0, 0.0, -1.0], dtype=torch.float64), atol=1e-3, rtol=0)
    theta = math.pi / 3
    expected = {
        "linear": 1 - 2 * theta / math.pi,
        "cosine": math.cos(theta),
        "sigmoid": (1 + math.exp(-math.pi / 0.6))
        / (1 - math.exp(-math.pi / 0.6))
        * (1 - math.exp(theta / 0.3 - math.pi / 0.6))
        / (1 + math.exp(theta / 0.3 - math.pi / 0.6)),
    }[operator]
    got = angular_operator(torch.tensor(math.cos(theta), dtype=torch.float64), operator)
    assert got.item() == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("operator", ["linear", "cosine", "sigmoid"])
@pytest.mark.parametrize("normalize_input", [True, False])
def test_gradients_finite_when_x_parallel_to_w(operator, normalize_input):
    head = SphereNetLinear(3, 2, operator, normalize_input=normalize_input)
    x = torch.stack([head.weight[0].detach() * 3.0, -head.weight[1].detach()]).requires_grad_()
    head(x).sum().backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(head.weight.grad).all()


def test_projections_lose_the_norm_and_wsoftmax_keeps_it():
    x = torch.randn(5, 3)
    for head in (NormalizedLinear(3, 4), SphereNetLinear(3, 4, "sigmoid")):
        torch.testing.assert_close(head(2.5 * x), head(x))
    w_softmax = SphereNetLinear(3, 4, "cosine", normalize_input=False)
    torch.testing.assert_close(w_softmax(2.5 * x), 2.5 * w_softmax(x))
    assert NormalizedLinear(3, 4, bias=False).linear.bias is None


def test_unknown_operator():
    with pytest.raises(
        ValueError, match=r"operator must be one of linear, cosine, sigmoid. Got 'arc' instead."
    ):
        SphereNetLinear(3, 2, "arc")
