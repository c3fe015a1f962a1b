"""GradientRecorder: closed-form gradients, the recording period, no effect on training, alpha."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from models.retention import RetentionConfig, make_retention_model
from models.table3 import Table3Config, make_table3_model
from sph_viz.nn.gradients import GradientRecorder
from sph_viz.nn.layers import Spherization


def _tiny_net() -> nn.Sequential:
    net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1)).double()
    f64 = torch.float64
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[0.5, -1.0], [2.0, 0.25]], dtype=f64))
        net[0].bias.copy_(torch.tensor([0.1, -0.2], dtype=f64))
        net[1].weight.copy_(torch.tensor([[1.5, -0.5]], dtype=f64))
        net[1].bias.copy_(torch.tensor([0.3], dtype=f64))
    return net


def test_matches_the_closed_form():
    net = _tiny_net()
    x = torch.tensor([[1.0, 2.0], [-1.0, 0.5], [3.0, -2.0]], dtype=torch.float64)
    t = torch.tensor([[1.0], [0.0], [-1.0]], dtype=torch.float64)
    recorder = GradientRecorder(net)
    nn.functional.mse_loss(net(x), t).backward()
    assert recorder.record(0)
    # by hand: h = x W1^T + b1, y = h W2^T + b2, L = mean((y - t)^2) over the N = 3 samples
    xn, tn = x.numpy(), t.numpy()
    w1, b1 = np.array([[0.5, -1.0], [2.0, 0.25]]), np.array([0.1, -0.2])
    w2, b2 = np.array([[1.5, -0.5]]), np.array([0.3])
    h = xn @ w1.T + b1  # (3, 2)
    y = h @ w2.T + b2  # (3, 1)
    dy = 2 * (y - tn) / 3  # dL/dy
    grad_w2 = dy.T @ h  # (1, 2)
    grad_w1 = (dy @ w2).T @ xn  # (2, 2)
    assert recorder.layer_names == ["0", "1"]
    assert recorder.values["0"] == [pytest.approx(np.abs(grad_w1).mean(), abs=1e-12)]
    assert recorder.values["1"] == [pytest.approx(np.abs(grad_w2).mean(), abs=1e-12)]
    assert recorder.alpha == {} and recorder.alpha_grad == {}


def test_records_every_k_steps():
    net = _tiny_net()
    recorder = GradientRecorder(net, every=3)
    x = torch.ones(4, 2, dtype=torch.float64)
    recorded = []
    for step in range(10):
        net.zero_grad()
        net(x).sum().backward()
        recorded.append(recorder.record(step))
    assert recorder.steps == [0, 3, 6, 9]
    assert recorded == [step % 3 == 0 for step in range(10)]
    arrays = recorder.as_arrays()
    assert arrays["steps"].tolist() == [0, 3, 6, 9]
    assert arrays["values"].shape == (4, 2) and arrays["alpha"].shape == (4, 0)
    np.testing.assert_array_equal(arrays["values"][:, 1], recorder.values["1"])


def _train(seed: int, with_recorder: bool) -> tuple[dict[str, torch.Tensor], GradientRecorder | None]:
    torch.manual_seed(seed)
    model = make_retention_model(RetentionConfig(net="simplefnn", variant="spherized"))
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    recorder = GradientRecorder(model, every=2) if with_recorder else None
    gen = torch.Generator().manual_seed(seed)
    for step in range(5):
        x = torch.rand(8, 1, 28, 28, generator=gen)
        y = torch.randint(0, 10, (8,), generator=gen)
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        if recorder is not None:
            recorder.record(step)
        opt.step()
    return model.state_dict(), recorder


def test_no_effect_on_training():
    plain, _ = _train(0, with_recorder=False)
    recorded, recorder = _train(0, with_recorder=True)
    assert plain.keys() == recorded.keys()
    for key in plain:
        assert torch.equal(plain[key], recorded[key]), key
    assert recorder.steps == [0, 2, 4]
    assert recorder.layer_names == ["body.fc1", "body.fc2", "classifier"]
    assert all(v > 0 for vals in recorder.values.values() for v in vals)


def test_spherization_alpha_recorded():
    torch.manual_seed(0)
    model = make_retention_model(RetentionConfig(net="simplefnn", variant="spherized", scale=5.0))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    recorder = GradientRecorder(model)
    alphas, grads = [], []
    for step in range(3):
        opt.zero_grad()
        nn.functional.cross_entropy(model(torch.rand(16, 1, 28, 28)), torch.arange(16) % 10).backward()
        alphas.append(model.act.alpha.item())
        grads.append(model.act.alpha.grad.item())
        recorder.record(step)
        opt.step()
    assert recorder.sphere_names == ["act"]
    assert recorder.alpha["act"] == alphas and recorder.alpha_grad["act"] == grads
    assert alphas[0] == 5.0 and alphas[1] == pytest.approx(5.0 - 0.5 * grads[0])
    arrays = recorder.as_arrays()
    assert arrays["alpha"].shape == arrays["alpha_grad"].shape == (3, 1)
    np.testing.assert_array_equal(arrays["alpha_grad"][:, 0], grads)


def test_frozen_alpha_and_missing_grads_are_nan():
    model = nn.Sequential(nn.Linear(3, 2), Spherization(2, scale=2.0, learn_scale=False), nn.Linear(3, 2))
    recorder = GradientRecorder(model)
    recorder.record(0)  # before any backward: no gradients yet
    assert math.isnan(recorder.values["0"][0]) and math.isnan(recorder.alpha_grad["1"][0])
    model(torch.randn(4, 3)).sum().backward()
    recorder.record(1)
    assert recorder.alpha["1"] == [2.0, 2.0] and math.isnan(recorder.alpha_grad["1"][1])
    assert recorder.values["2"][1] > 0


def test_layer_order_and_selection():
    model = make_table3_model(Table3Config(operator="spherization", dim=8))
    names = GradientRecorder(model).layer_names
    assert names[0] == "trunk.0" and names[1] == "trunk.1"  # conv, then its BatchNorm
    assert names[-2:] == ["embed", "classifier"]
    assert len(names) == 6 * 2 + 2
    chosen = GradientRecorder(model, layers=["classifier", "trunk.0"])
    assert chosen.layer_names == ["trunk.0", "classifier"]  # model order, not the given order
    assert chosen.sphere_names == ["sphere"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"every": 0}, "every must be an integer >= 1. Got 0 instead."),
        ({"layers": ["fc9"]}, "layers must name modules with a weight .*Got 'fc9' instead."),
    ],
)
def test_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GradientRecorder(_tiny_net(), **kwargs)
