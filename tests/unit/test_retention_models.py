"""Table-1 nets: shapes, spherized features on the sphere, exact parameter differences."""

import pytest
import torch

from models.retention import (
    NETS,
    PAPER_TABLE1,
    RETENTION_RECIPES,
    VARIANTS,
    RetentionConfig,
    make_retention_model,
)
from sph_viz.nn.layers import Spherization

PREACT = {"simplefnn": 300, "lenet5": 84, "vgg11": 4096}


def _trainable(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _shapes(module: torch.nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    return [(k, tuple(p.shape)) for k, p in module.named_parameters()]


def _count(model: torch.nn.Module, kind: type) -> int:
    return sum(isinstance(m, kind) for m in model.modules())


@pytest.mark.parametrize("net", NETS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_shapes(net, variant):
    torch.manual_seed(0)
    model = make_retention_model(RetentionConfig(net=net, variant=variant)).eval()
    s = model.config.image_size
    assert s == (32 if net == "vgg11" else 28)
    x = torch.randn(3, 1, s, s)
    feats = model.features(x)
    n = PREACT[net]
    assert model.n_preact == n
    assert feats.shape == (3, n + 1 if variant == "spherized" else n)
    assert model(x).shape == (3, 10)
    torch.testing.assert_close(model(x), model.classifier(feats))
    if variant == "original":
        assert (feats >= 0).all()  # after ReLU
        assert model.classifier.in_features == n and model.classifier.bias is not None


@pytest.mark.parametrize("net", NETS)
def test_spherized_features_on_the_sphere(net):
    torch.manual_seed(0)
    model = make_retention_model(RetentionConfig(net=net, variant="spherized", radius=5.0)).eval()
    s = model.config.image_size
    x = torch.randn(4, 1, s, s)
    norms32 = model.features(x).norm(dim=1)
    torch.testing.assert_close(norms32, torch.full((4,), 5.0), atol=1e-4, rtol=0)  # float32, n up to 4096
    norms64 = model.double().features(x.double()).norm(dim=1)
    torch.testing.assert_close(norms64, torch.full((4,), 5.0, dtype=torch.float64), atol=1e-5, rtol=0)
    sphere = model.act
    assert isinstance(sphere, Spherization) and sphere.n_features == PREACT[net]
    assert sphere.alpha.item() == 5.0 and sphere.alpha.requires_grad and not sphere.radius.requires_grad
    assert model.classifier.bias is None and model.classifier.in_features == PREACT[net] + 1


@pytest.mark.parametrize("net", NETS)
def test_parameter_counts(net):
    original = make_retention_model(RetentionConfig(net=net))
    spherized = make_retention_model(RetentionConfig(net=net, variant="spherized"))
    n, c = PREACT[net], 10
    # everything before the classifier has the same shapes
    assert _shapes(original.body) == _shapes(spherized.body)
    # the classifier loses its C biases and gains one input dimension (C weights); alpha is new
    assert _trainable(original.classifier) == n * c + c
    assert _trainable(spherized.classifier) == (n + 1) * c
    assert _trainable(spherized) - _trainable(original) == -c + c + 1
    # the fixed radius is a parameter too (requires_grad=False)
    assert sum(p.numel() for p in spherized.parameters()) - sum(p.numel() for p in original.parameters()) == 2


def test_known_parameter_counts():
    counts = {net: _trainable(make_retention_model(RetentionConfig(net=net))) for net in NETS}
    assert counts["simplefnn"] == 784 * 500 + 500 + 500 * 300 + 300 + 300 * 10 + 10 == 545_810
    assert counts["lenet5"] == 61_706  # LeNet-5's classic count
    assert counts["vgg11"] == 28_145_610  # the official vgg11_bn_one has 2,752 more: conv biases


def test_vgg_dropout_only_in_original():
    original = make_retention_model(RetentionConfig(net="vgg11"))
    spherized = make_retention_model(RetentionConfig(net="vgg11", variant="spherized"))
    assert _count(original, torch.nn.Dropout) == 2 and _count(spherized, torch.nn.Dropout) == 1
    assert _count(original, torch.nn.AvgPool2d) == 5


def test_other_inputs():
    model = make_retention_model(RetentionConfig(net="lenet5", in_channels=3, image_size=32, n_classes=7))
    assert model(torch.randn(2, 3, 32, 32)).shape == (2, 7)
    model = make_retention_model(
        RetentionConfig(net="vgg11", variant="spherized", in_channels=3, image_size=64)
    )
    assert model(torch.randn(1, 3, 64, 64)).shape == (1, 10)


def test_tables():
    assert tuple(PAPER_TABLE1) == tuple(RETENTION_RECIPES) == NETS
    assert PAPER_TABLE1["simplefnn"]["original"]["test"] == (98.58, 0.03)
    assert PAPER_TABLE1["simplefnn"]["spherized"]["test"] == (98.65, 0.04)
    assert PAPER_TABLE1["lenet5"]["original"]["test"] == (99.10, 0.05)
    assert PAPER_TABLE1["lenet5"]["spherized"]["test"] == (99.14, 0.04)
    assert PAPER_TABLE1["vgg11"]["original"]["test"] == (94.36, 0.06)
    assert PAPER_TABLE1["vgg11"]["spherized"]["test"] == (94.34, 0.17)
    assert RETENTION_RECIPES["simplefnn"]["batch_size"] == 256 and RETENTION_RECIPES["lenet5"]["epochs"] == 20
    assert RETENTION_RECIPES["vgg11"]["lr_schedule"] == {"every": 20, "factor": 0.5}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"net": "resnet"}, "net must be one of simplefnn, lenet5, vgg11. Got 'resnet' instead."),
        ({"variant": "projected"}, "variant must be one of original, spherized. Got 'projected' instead."),
        ({"net": "vgg11", "image_size": 28}, "image_size must be an integer >= 32. Got 28 instead."),
        ({"n_classes": 0}, "n_classes must be an integer >= 1. Got 0 instead."),
        ({"scale": 0.0}, "scale must be > 0. Got 0.0 instead."),
        ({"delta": 0.0}, r"delta must be in \(0, 1\). Got 0.0 instead."),
    ],
)
def test_config_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RetentionConfig(**kwargs)
