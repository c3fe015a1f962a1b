"""SphereCNN (sphere vs plain) and PrototypeNet: shapes, parameter counts, one learning step."""

from itertools import pairwise

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from models.prototype_net import PrototypeNet, PrototypeNetConfig
from models.spherenet import SphereCNN, SphereNetConfig, learnt_k
from sph_viz.nn.prototypes import predict_class, prototype_cosines, prototype_loss, rotated_mnist_prototypes
from sph_viz.nn.sphereconv import OPERATORS, SphereConv2d

VARIANTS = [("plain", "cosine"), *(("sphere", op) for op in OPERATORS)]


def n_params(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(("conv", "operator"), VARIANTS)
def test_spherecnn_shapes(conv, operator):
    torch.manual_seed(0)
    model = SphereCNN(SphereNetConfig(conv=conv, operator=operator)).eval()
    x = torch.randn(3, 1, 28, 28)
    assert model.features(x).shape == (3, 128)
    assert model(x).shape == (3, 10)
    torch.testing.assert_close(model(x), model.classifier(model.features(x)))
    n_sphere = sum(isinstance(m, SphereConv2d) for m in model.modules())
    assert n_sphere == (3 if conv == "sphere" else 0)


def test_spherecnn_other_input_size():
    model = SphereCNN(SphereNetConfig(in_channels=3, image_size=32, channels=(8, 16), n_classes=4)).eval()
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 4)


@pytest.mark.parametrize("batch_norm", [True, False])
def test_parameter_counts(batch_norm):
    """Same kernels and biases; only the learnable operator adds k, one per output channel."""
    channels = (32, 64, 128)
    plain = n_params(SphereCNN(SphereNetConfig(conv="plain", batch_norm=batch_norm)))
    convs = sum(c_out * c_in * 9 for c_in, c_out in pairwise((1, *channels)))
    per_channel = 2 if batch_norm else 1  # BN's weight and bias, or the conv bias
    assert plain == convs + per_channel * sum(channels) + 128 * 10 + 10
    for operator in ("linear", "cosine", "sigmoid"):
        assert n_params(SphereCNN(SphereNetConfig(operator=operator, batch_norm=batch_norm))) == plain
    learnable = SphereCNN(SphereNetConfig(operator="learnable", batch_norm=batch_norm))
    assert n_params(learnable) == plain + sum(channels)  # 224 values of k


@pytest.mark.parametrize(("conv", "operator"), VARIANTS)
def test_one_sgd_step_reduces_loss(conv, operator):
    torch.manual_seed(0)
    model = SphereCNN(SphereNetConfig(conv=conv, operator=operator, channels=(8, 16, 16)))
    x, y = torch.randn(8, 1, 28, 28), torch.arange(8) % 10
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    before = F.cross_entropy(model(x), y)
    before.backward()
    optimizer.step()
    with torch.no_grad():
        after = F.cross_entropy(model(x), y)  # train mode: the same batch statistics
    assert after < before


def test_learnt_k():
    model = SphereCNN(SphereNetConfig(operator="learnable"))
    ks = learnt_k(model)
    assert ks.shape == (224,) and ks.dtype == np.float64
    np.testing.assert_allclose(ks, 0.5, rtol=1e-6)
    assert learnt_k(SphereCNN(SphereNetConfig(operator="sigmoid"))).shape == (0,)


def test_spherenet_config_errors():
    with pytest.raises(ValueError, match=r"conv must be one of sphere, plain. Got 'fancy' instead."):
        SphereNetConfig(conv="fancy")
    with pytest.raises(
        ValueError,
        match=r"operator must be one of linear, cosine, sigmoid, learnable, learnable-official. Got 'relu' instead.",
    ):
        SphereNetConfig(operator="relu")
    with pytest.raises(ValueError, match=r"image_size must be >= 8 for 3 stages. Got 4 instead."):
        SphereNetConfig(image_size=4)


@pytest.mark.parametrize("dims", [2, 3, 5])
def test_prototype_net_shapes(dims):
    torch.manual_seed(0)
    model = PrototypeNet(PrototypeNetConfig(dims=dims)).eval()
    x = torch.randn(4, 1, 28, 28)
    z = model.features(x)
    assert z.shape == (4, dims)
    torch.testing.assert_close(z.norm(dim=1), torch.ones(4))
    out = model(x)
    assert out.shape == (4, 10)
    assert out.abs().max() <= 1.0 + 1e-6
    torch.testing.assert_close(out, model.classifier(z))
    assert model.prototypes.shape == (10, dims)


def test_prototypes_are_fixed_buffers():
    model = PrototypeNet()
    names = [n for n, _ in model.named_parameters()]
    assert not any("prototypes" in n for n in names)
    assert all(p is not model.prototypes for p in model.parameters())
    assert "classifier.prototypes" in model.state_dict()
    assert list(model.classifier.parameters()) == []
    torch.testing.assert_close(model.prototypes.norm(dim=1), torch.ones(10))


def test_loss_is_eq1_and_reaches_the_trunk():
    torch.manual_seed(0)
    model = PrototypeNet(PrototypeNetConfig(reduction="sum"))
    x, y = torch.randn(6, 1, 28, 28), torch.arange(6)
    out = model(x)
    loss = model.loss(out, y)
    torch.testing.assert_close(loss, prototype_loss(model.embed(x), model.prototypes, y))
    loss.backward()
    first_conv = model.trunk[0]
    assert first_conv.weight.grad is not None and first_conv.weight.grad.abs().sum() > 0
    assert model.output.weight.grad.abs().sum() > 0
    mean_model = PrototypeNet(PrototypeNetConfig(reduction="mean"))
    mean_model.load_state_dict(model.state_dict())
    torch.testing.assert_close(mean_model.loss(mean_model(x), y), loss / 6)


def test_predict_is_argmax_cosine():
    torch.manual_seed(1)
    model = PrototypeNet().eval()
    x = torch.randn(16, 1, 28, 28)
    z = model.embed(x)
    torch.testing.assert_close(model(x), prototype_cosines(z, model.prototypes))
    torch.testing.assert_close(model(x).argmax(1), predict_class(z, model.prototypes))


def test_one_sgd_step_on_eq1_reduces_loss():
    torch.manual_seed(0)
    model = PrototypeNet()
    x, y = torch.randn(8, 1, 28, 28), torch.arange(8)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    before = model.loss(model(x), y)
    before.backward()
    optimizer.step()
    with torch.no_grad():
        assert model.loss(model(x), y) < before


def test_custom_prototypes():
    joint = rotated_mnist_prototypes()
    model = PrototypeNet(PrototypeNetConfig(dims=3, n_classes=5), prototypes=joint.classes)
    torch.testing.assert_close(model.prototypes, torch.tensor(joint.classes, dtype=torch.float32))
    with pytest.raises(ValueError, match=r"prototypes must have shape \(10, 3\). Got \(5, 3\) instead."):
        PrototypeNet(PrototypeNetConfig(), prototypes=joint.classes)
    with pytest.raises(ValueError, match=r"reduction must be one of sum, mean. Got 'max' instead."):
        PrototypeNetConfig(reduction="max")
    assert isinstance(model.classifier, nn.Module)


@pytest.mark.parametrize(
    "make", [lambda: SphereCNN(SphereNetConfig(operator="learnable", channels=(8, 8, 16))), PrototypeNet]
)
def test_project_training_loop_runs(make):
    """`train_model` needs `features`, `classifier` and channels_last support; k moves as it learns."""
    from sph_viz.training.loop import TrainConfig, train_model

    torch.manual_seed(0)
    model = make()
    k_before = learnt_k(model)
    x, y = torch.rand(32, 1, 28, 28), torch.arange(32) % 10
    result = train_model(model, x, y, TrainConfig(epochs=1, batch_size=16, lr=0.05), probe=x[:5])
    assert result.steps == 2 and np.isfinite(result.history[0].loss)
    assert result.snapshots[-1].features.shape == (5, model.features(x[:1]).shape[1])
    if k_before.size:
        assert not np.allclose(learnt_k(model), k_before)
