"""Table-3 nets: shapes, the operator heads against closed forms, biases, the paper's table."""

import math

import pytest
import torch

from models.table3 import (
    HAS_BIAS,
    OPERATORS_T3,
    PAPER_TABLE3,
    ROLES,
    TRUNKS,
    SphereConvLinear,
    Table3Config,
    WSoftmaxCodeLinear,
    make_conv_trunk,
    make_table3_model,
    trunk_out_features,
)
from models.vis3d import make_trunk
from sph_viz.nn.layers import Spherization
from sph_viz.nn.projections import NormalizedLinear, SphereNetLinear, angular_operator

SETTINGS = {"vis3d": (1, 28), "cnn9": (3, 32)}


@pytest.mark.parametrize("trunk", TRUNKS)
@pytest.mark.parametrize("operator", OPERATORS_T3)
def test_shapes_and_features(trunk, operator):
    torch.manual_seed(0)
    c, s = SETTINGS[trunk]
    model = make_table3_model(
        Table3Config(operator=operator, trunk=trunk, in_channels=c, image_size=s)
    ).eval()
    x = torch.randn(3, c, s, s)
    feats = model.features(x)
    assert model(x).shape == (3, 10)
    torch.testing.assert_close(model(x), model.classifier(feats))
    if operator == "spherization":
        assert feats.shape == (3, 257)
        torch.testing.assert_close(feats.norm(dim=1), torch.full((3,), 5.0), atol=1e-5, rtol=0)
        assert isinstance(model.sphere, Spherization)
        assert model.sphere.alpha.item() == 5.0 and model.sphere.alpha.requires_grad
        assert not model.sphere.radius.requires_grad
    else:
        assert feats.shape == (3, 256)


def test_flat_features():
    assert trunk_out_features("vis3d", 28) == 6272
    assert trunk_out_features("cnn9", 32) == 4096
    assert Table3Config(trunk="cnn9", in_channels=3, image_size=32).flat_features == 4096
    assert make_conv_trunk("cnn9", 3)(torch.randn(1, 3, 32, 32)).shape == (1, 4096)


def test_vis3d_trunk_matches_the_existing_one():
    ours = make_conv_trunk("vis3d", 1)
    theirs = make_trunk()[:-2]  # without Linear(6272, 256) + ReLU
    assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]


def test_cnn9_parameter_count():
    model = make_table3_model(Table3Config(operator="original", trunk="cnn9", in_channels=3, image_size=32))
    convs = [(3, 128), (128, 128), (128, 128), (128, 192), (192, 192), (192, 192)]
    convs += [(192, 256), (256, 256), (256, 256)]
    expected = sum(9 * a * b + 2 * b for a, b in convs)  # bias-free conv + BN gamma, beta
    expected += 4096 * 256 + 256 + 256 * 10 + 10
    assert sum(p.numel() for p in model.parameters()) == expected == 3_859_978


@pytest.mark.parametrize("operator", OPERATORS_T3)
def test_bias_roles_and_heads(operator):
    model = make_table3_model(Table3Config(operator=operator, dim=8))
    names = [n for n, _ in model.classifier.named_parameters()]
    assert ("bias" in names) == HAS_BIAS[operator]
    role = ROLES[operator]
    expected = {
        "base": torch.nn.Linear,
        "direct": SphereConvLinear,
        "indirect": SphereNetLinear,
        "proposed": torch.nn.Linear,
    }[role]
    assert type(model.classifier) is expected
    if role == "indirect":
        assert not model.classifier.normalize_input
    assert model.classifier(torch.randn(2, 9 if role == "proposed" else 8)).shape == (2, 10)


@pytest.mark.parametrize("operator", ["sigmoid", "linear", "cosine"])
def test_direct_head_closed_form(operator):
    head = SphereConvLinear(2, 3, operator, k=0.3).double()
    with torch.no_grad():
        head.weight.copy_(torch.tensor([[3.0, 0.0], [0.0, 2.0], [1.0, 1.0]], dtype=torch.float64))
        head.bias.copy_(torch.tensor([0.3, -0.4, 0.0], dtype=torch.float64))
    x = torch.tensor([[5.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    # cos(theta) + b / ||w|| by hand: rows of x, columns of the classes
    s = 1 / math.sqrt(2)
    cos = torch.tensor(
        [[1.0 + 0.1, 0.0 - 0.2, s + 0.0], [s + 0.1, s - 0.2, 1.0 + 0.0]],
        dtype=torch.float64,
    )
    torch.testing.assert_close(head(x), angular_operator(cos, operator, 0.3))
    if operator == "cosine":
        torch.testing.assert_close(head(x)[0], torch.tensor([1.1, -0.2, s], dtype=torch.float64))
    else:  # cos >= 1 is clamped: the largest value the operator can give
        assert head(x)[0, 0].item() == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("operator", ["sigmoid", "linear", "cosine"])
def test_indirect_heads(operator):
    torch.manual_seed(1)
    x = torch.randn(4, 6, dtype=torch.float64)
    paper = SphereNetLinear(6, 3, operator, normalize_input=False).double()
    code = WSoftmaxCodeLinear(6, 3, operator).double()
    code.load_state_dict(paper.state_dict())
    w = paper.weight / paper.weight.norm(dim=1, keepdim=True)
    v = x @ w.T  # ||x|| cos(theta)
    cos = v / x.norm(dim=1, keepdim=True)
    torch.testing.assert_close(paper(x), x.norm(dim=1, keepdim=True) * angular_operator(cos, operator))
    small = x / (2 * x.norm(dim=1, keepdim=True))  # ||x|| = 1/2: no squashing
    torch.testing.assert_close(code(small), angular_operator(small @ w.T, operator))
    big = 100 * x
    out = code(big)
    assert torch.isfinite(out).all()
    if operator == "cosine":
        torch.testing.assert_close(out, big @ w.T)
    else:  # g of a squashed value: bounded by the operator's range
        assert out.abs().max() <= 1.0 + 1e-9


def test_official_code_variants():
    base = make_table3_model(Table3Config(operator="original", dim=8, official_code=True))
    assert isinstance(base.classifier, NormalizedLinear) and base.classifier.linear.bias is not None
    indirect = make_table3_model(Table3Config(operator="lw-softmax", dim=8, official_code=True))
    assert isinstance(indirect.classifier, WSoftmaxCodeLinear) and isinstance(
        indirect.embed, NormalizedLinear
    )
    direct = make_table3_model(Table3Config(operator="sigmoid", dim=8, official_code=True))
    assert isinstance(direct.classifier, SphereConvLinear) and isinstance(direct.embed, torch.nn.Linear)


def test_custom_dim_and_sphere_settings():
    model = make_table3_model(Table3Config(dim=16, radius=2.0, scale=1.5, delta=1e-4)).eval()
    feats = model.features(torch.randn(2, 1, 28, 28))
    assert feats.shape == (2, 17)
    torch.testing.assert_close(feats.norm(dim=1), torch.full((2,), 2.0))
    assert model.sphere.alpha.item() == 1.5 and model.sphere.delta == 1e-4


def test_tables_cover_every_operator():
    assert tuple(PAPER_TABLE3) == tuple(ROLES) == tuple(HAS_BIAS) == OPERATORS_T3
    assert PAPER_TABLE3["spherization"]["test_acc"] == (92.38, 0.14)
    assert PAPER_TABLE3["spherization"]["n_ovlp"] == (499, 106)
    assert PAPER_TABLE3["sigmoid"]["n_err"] == (1097, 266)
    for op, row in PAPER_TABLE3.items():
        assert row["no_bias"] == (not HAS_BIAS[op])
        err, ovlp = row["n_err"][0], row["n_ovlp"][0]
        if ovlp:  # the ratio column is mean(err / ovlp) over seeds, close to err / ovlp of the means
            assert row["ratio"][0] == pytest.approx(100 * err / ovlp, abs=1.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dim": 0}, "dim must be an integer >= 1. Got 0 instead."),
        ({"dim": 2.5}, "dim must be an integer >= 1. Got 2.5 instead."),
        ({"operator": "arcface"}, "operator must be one of original, .*Got 'arcface' instead."),
        ({"trunk": "resnet"}, "trunk must be one of vis3d, cnn9. Got 'resnet' instead."),
        ({"trunk": "cnn9", "image_size": 4}, "image_size must be an integer >= 8. Got 4 instead."),
        ({"radius": -1.0}, "radius must be > 0. Got -1.0 instead."),
        ({"k": 0.0}, "k must be > 0. Got 0.0 instead."),
        ({"delta": 1.0}, r"delta must be in \(0, 1\). Got 1.0 instead."),
    ],
)
def test_config_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Table3Config(**kwargs)
