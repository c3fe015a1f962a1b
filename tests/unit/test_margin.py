"""The presets' logit margin (`TrainConfig.margin`): a training loss that leaves the model alone."""

import copy
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch.nn import functional as F
from vis3d_fixtures import random_batch, spread_net

from models.prototype_net import PrototypeNet, PrototypeNetConfig
from models.vis3d import Vis3DConfig
from sph_viz.experiments.gradient_flow import vis3d_gradient_config
from sph_viz.experiments.prototypes import hpn_train_config
from sph_viz.experiments.registry import PRESETS
from sph_viz.experiments.result import seeded
from sph_viz.training.aids import margin_cross_entropy, without_training_aids
from sph_viz.training.config import TrainConfig
from sph_viz.training.loop import train_model

CFG = TrainConfig(epochs=1, batch_size=32, lr=3e-3, optimizer="adam", margin=2.0)


@pytest.mark.parametrize("bad", [-0.5, float("inf"), 101.0, False, "2"])
def test_train_config_refuses_a_bad_margin(bad):
    with pytest.raises(ValueError, match=r"margin must be in \[0, 100\]\. Got .* instead\."):
        TrainConfig(margin=bad)


@pytest.mark.parametrize("margin", [0.0, 0.5, 2.0, 7.0])
def test_loss_is_the_closed_form_row_by_row(margin):
    g = torch.Generator().manual_seed(3)
    logits = 6 * torch.randn(50, 10, generator=g, dtype=torch.float64)
    labels = torch.randint(0, 10, (50,), generator=g)
    got = margin_cross_entropy(logits, labels, margin).item()
    expected = []
    for row, y in zip(logits.numpy(), labels.numpy(), strict=True):
        shifted = row.copy()
        shifted[y] -= margin
        top = shifted.max()
        expected.append(top + np.log(np.exp(shifted - top).sum()) - shifted[y])
    assert got == pytest.approx(np.mean(expected), rel=1e-12)


def test_zero_margin_is_the_plain_cross_entropy_and_a_margin_only_raises_it():
    g = torch.Generator().manual_seed(4)
    logits, labels = torch.randn(64, 10, generator=g), torch.randint(0, 10, (64,), generator=g)
    assert torch.equal(margin_cross_entropy(logits, labels, 0.0), F.cross_entropy(logits, labels))
    losses = [margin_cross_entropy(logits, labels, m).item() for m in (0.0, 1.0, 2.0, 4.0)]
    assert losses == sorted(losses) and len(set(losses)) == 4
    # a sample whose own logit leads every other by far more than the margin costs almost nothing
    lead = torch.zeros(1, 10, dtype=torch.float64)
    lead[0, 3] = 40.0
    assert margin_cross_entropy(lead, torch.tensor([3]), 2.0).item() < 1e-12


def test_gradcheck():
    g = torch.Generator().manual_seed(5)
    logits = torch.randn(6, 10, generator=g, dtype=torch.float64, requires_grad=True)
    labels = torch.randint(0, 10, (6,), generator=g)
    assert torch.autograd.gradcheck(lambda z: margin_cross_entropy(z, labels, 2.0), (logits,))


def test_training_with_a_margin_changes_the_weights_not_the_model():
    x, y = random_batch()
    with_margin, without = spread_net(), spread_net()
    train_model(with_margin, x, y, CFG)
    train_model(without, x, y, replace(CFG, margin=0.0))
    assert with_margin.state_dict().keys() == without.state_dict().keys()
    assert not torch.equal(with_margin.classifier.weight, without.classifier.weight)


def test_training_reports_the_margined_loss_and_the_accuracy_of_the_plain_logits():
    x, y = random_batch(64)
    model = spread_net()
    with torch.no_grad():  # the one step's forward pass, as training runs it (train mode)
        logits = copy.deepcopy(model).train()(x)
    expected_loss = margin_cross_entropy(logits, y, 2.0).item()
    expected_accuracy = (logits.argmax(1) == y).float().mean().item()
    assert expected_loss > F.cross_entropy(logits, y).item() + 0.5  # the two can be told apart
    record = train_model(model, x, y, replace(CFG, batch_size=64)).history[0]
    assert record.loss == pytest.approx(expected_loss, rel=1e-5)
    assert record.accuracy == pytest.approx(expected_accuracy, abs=1e-12)


def test_a_model_with_its_own_loss_refuses_a_margin_with_a_message():
    model = seeded(lambda: PrototypeNet(PrototypeNetConfig(dims=3)), 0)
    x, y = random_batch(16)
    with pytest.raises(
        ValueError, match=r"margin > 0 needs the plain cross-entropy; PrototypeNet .*Set margin to 0\."
    ):
        train_model(model, x, y, replace(CFG, batch_size=8))


def test_presets_use_the_training_aids_and_the_head_only_runs_do_not():
    vis3d = PRESETS["vis3d"]
    freeze = {"quick": (0.6, 0.85), "fast": ()}
    for name in ("quick", "fast"):
        train = vis3d[name].train
        assert (train.aux_weight, train.margin, train.freeze_out) == (0.3, 2.0, freeze[name])
        stripped = without_training_aids(train)
        assert (stripped.aux_weight, stripped.margin, stripped.freeze_out) == (0.0, 0.0, ())
        assert replace(stripped, aux_weight=0.3, margin=2.0, freeze_out=freeze[name]) == train  # nothing else
    paper = [vis3d["paper"], *PRESETS["table3"].values()]
    assert all((p.train.aux_weight, p.train.margin, p.train.freeze_out) == (0.0, 0.0, ()) for p in paper)
    # Fig. 4 measures the gradients the classifier's own loss sends through every trunk layer
    key = vis3d_gradient_config(Vis3DConfig("spherized"), vis3d["quick"].train, every=10)
    assert (key["train"]["aux_weight"], key["train"]["margin"], key["train"]["freeze_out"]) == (0.0, 0.0, [])
    # HPN beside the spherized head: each trained by its own loss alone, every layer to the end
    hpn = hpn_train_config({"preset": "fast"})
    assert (hpn.aux_weight, hpn.margin, hpn.freeze_out) == (0.0, 0.0, ())
