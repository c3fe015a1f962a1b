"""Models and projection heads: shapes, norms, bias-freeness and the SphereNet operators."""

import math

import pytest
import torch

from models.toy import ToyConfig, make_toy_model
from models.vis3d import HEADS, CNNVis3D, Vis3DConfig, make_trunk
from sph_viz.nn.projections import NormalizedLinear, SphereNetLinear, angular_operator
from sph_viz.training.precision import training_autocast


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


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_vis3d_trunk_pools_before_relu_exactly_as_the_paper_order(precision):
    """Max-pool then ReLU is ReLU then max-pool: same outputs, same gradients, bit for bit, and
    the same state_dict keys (the modules moved hold no parameters). The reference holds its own
    copy of the weights."""
    torch.manual_seed(0)
    model = CNNVis3D(Vis3DConfig("spherized"))
    trunk = model.trunk.train()
    reference = make_trunk(pool_before_relu=False)
    reference.load_state_dict(trunk.state_dict())
    reference.train()
    kinds = [type(m).__name__ for m in trunk]
    assert kinds.count("MaxPool2d") == 2
    assert all(kinds[kinds.index("MaxPool2d", k) + 1] == "ReLU" for k in (0, 6))
    assert [type(m).__name__ for m in reference] != kinds  # the reference really is the other order
    assert list(trunk.state_dict()) == list(reference.state_dict())
    x = torch.randn(8, 1, 28, 28).contiguous(memory_format=torch.channels_last)
    grads = []
    for net in (trunk, reference):
        net.to(memory_format=torch.channels_last).zero_grad()
        with training_autocast(precision, torch.device("cpu")):  # the training step's forward
            out = net(x).float()
        (out * torch.linspace(-1, 1, out.shape[1])).sum().backward()
        grads.append((out.detach(), [p.grad.clone() for p in net.parameters()]))
    (out_a, grads_a), (out_b, grads_b) = grads
    assert out_a.abs().sum() > 0
    assert torch.equal(out_a, out_b)
    assert all(torch.equal(a, b) for a, b in zip(grads_a, grads_b, strict=True))
