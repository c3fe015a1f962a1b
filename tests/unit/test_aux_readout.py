"""The presets' auxiliary read-out (`TrainConfig.aux_weight`): a training aid that leaves the model alone."""

from dataclasses import replace

import pytest
import torch
from torch.nn import functional as F
from vis3d_fixtures import random_batch, spread_net

from models.toy import ToyConfig, make_toy_model
from sph_viz.training.aids import AuxReadout
from sph_viz.training.config import TrainConfig
from sph_viz.training.loop import train_model

CFG = TrainConfig(epochs=1, batch_size=32, lr=3e-3, optimizer="adam", aux_weight=0.3)


@pytest.mark.parametrize("bad", [-0.1, float("nan"), 11.0, True, "0.3"])
def test_train_config_refuses_bad_aux_weight(bad):
    with pytest.raises(ValueError, match=r"aux_weight must be in \[0, 10\]\. Got .* instead\."):
        TrainConfig(aux_weight=bad)


def test_loss_is_the_weighted_cross_entropy_of_a_linear_readout_of_the_trunk():
    model, (x, y) = spread_net().eval(), random_batch(16)
    readout = AuxReadout(model, CFG, torch.device("cpu"))
    with readout.capturing():
        logits = model(x)
    assert not model.trunk._forward_hooks  # the hook lives for one forward pass only
    aux = readout.loss(y)
    with torch.no_grad():
        expected = 0.3 * F.cross_entropy(readout.layer(model.trunk(x)), y)
    torch.testing.assert_close(aux.detach(), expected, rtol=1e-6, atol=0)
    assert readout.layer.in_features == 256 and readout.layer.out_features == 10
    # it reaches the trunk and itself, never the head: the classifier's gradient is CE's alone
    (F.cross_entropy(logits, y) + aux).backward()
    with_aux = model.classifier.weight.grad.clone()
    assert readout.layer.weight.grad.abs().sum() > 0
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    torch.testing.assert_close(model.classifier.weight.grad, with_aux, rtol=1e-6, atol=1e-9)


def test_readout_leaves_the_model_and_its_state_dict_alone():
    x, y = random_batch()
    cpu = torch.device("cpu")
    a, b = (AuxReadout(spread_net(), CFG, cpu).layer.weight for _ in range(2))
    assert torch.equal(a, b)  # its own generator (seed + 2): repeatable
    assert not torch.equal(a, AuxReadout(spread_net(), replace(CFG, seed=1), cpu).layer.weight)
    with_aux, without = spread_net(), spread_net()
    assert all(torch.equal(p, q) for p, q in zip(with_aux.parameters(), without.parameters(), strict=True))
    train_model(with_aux, x, y, CFG)
    train_model(without, x, y, replace(CFG, aux_weight=0.0))
    assert with_aux.state_dict().keys() == without.state_dict().keys()  # checkpoints load either way
    assert not with_aux.trunk._forward_hooks
    trunk_a, trunk_b = with_aux.trunk[0].weight, without.trunk[0].weight
    assert not torch.equal(trunk_a, trunk_b)  # the read-out did train the trunk


def test_readout_does_not_draw_from_the_global_generator():
    model = spread_net()
    torch.manual_seed(5)
    AuxReadout(model, CFG, torch.device("cpu"))
    after = torch.rand(3)
    torch.manual_seed(5)
    assert torch.equal(after, torch.rand(3))


def test_a_model_without_a_trunk_is_refused_with_a_message():
    toy = make_toy_model(ToyConfig("spherized"))
    x, y = torch.randn(8, 2), torch.randint(0, 2, (8,))
    with pytest.raises(
        ValueError, match=r"aux_weight > 0 needs a model with a `trunk`.*Set aux_weight to 0\."
    ):
        train_model(toy, x, y, replace(CFG, batch_size=4))
