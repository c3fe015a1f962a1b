"""FreezeOut (`TrainConfig.freeze_out`): the trunk's early stages stop training part-way."""

from dataclasses import replace

import pytest
import torch
from torch.nn import functional as F
from vis3d_fixtures import random_batch, spread_net

from models.prototype_net import PrototypeNet, PrototypeNetConfig
from models.vis3d import TRUNK_STAGES, CNNVis3D, Vis3DConfig
from sph_viz.experiments.result import seeded
from sph_viz.training.config import TrainConfig
from sph_viz.training.loop import train_model
from sph_viz.training.precision import training_autocast

# 96 images in batches of 16: 6 steps; stage 0 stops after 2 (round(0.34 x 6)), stage 1 after 4.
CFG = TrainConfig(epochs=1, batch_size=16, lr=3e-3, optimizer="adam", freeze_out=(0.34, 0.67))


def _stage_params(model: CNNVis3D, j: int) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.early_stages()[j].parameters()]


def _same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
    return all(torch.equal(u, v) for u, v in zip(a, b, strict=True))


@pytest.mark.parametrize("bad", [[0.5], (0.0,), (1.5,), (0.6, 0.4), (float("nan"),), (True,), ("0.5",), 0.5])
def test_train_config_refuses_bad_freeze_out(bad):
    with pytest.raises(ValueError, match="freeze_out must be a tuple of non-decreasing fractions"):
        TrainConfig(freeze_out=bad)


def test_the_stages_are_the_trunks_three_conv_pairs_in_order():
    model = CNNVis3D(Vis3DConfig("spherized"))
    convs = [
        [(m.in_channels, m.out_channels) for m in s if isinstance(m, torch.nn.Conv2d)]
        for s in model.early_stages()
    ]
    assert convs == [[(1, 32), (32, 32)], [(32, 64), (64, 64)], [(64, 128), (128, 128)]]
    assert TRUNK_STAGES[-1].stop == 20 and isinstance(
        model.trunk[20], torch.nn.Flatten
    )  # the Linear trains on


def test_each_stage_stops_at_its_step_and_gets_no_gradient_after():
    model, (x, y) = spread_net(), random_batch()
    seen: dict[int, tuple] = {}

    def on_step(done: int) -> None:  # before step done + 1, gradients in place
        grads = [[p.grad is not None for p in s.parameters()] for s in model.early_stages()]
        seen[done] = (_stage_params(model, 0), _stage_params(model, 1), _stage_params(model, 2), grads)

    train_model(model, x, y, CFG, on_step=on_step)
    assert sorted(seen) == [0, 1, 2, 3, 4, 5]
    # stage 0 has a gradient in steps 1-2 and none after; stage 1 in steps 1-4; stage 2 always
    assert [all(seen[k][3][0]) for k in range(6)] == [True, True, False, False, False, False]
    assert [any(seen[k][3][0]) for k in range(6)] == [True, True, False, False, False, False]
    assert [all(seen[k][3][1]) for k in range(6)] == [True] * 4 + [False] * 2
    assert all(all(seen[k][3][2]) for k in range(6))
    final = [_stage_params(model, j) for j in range(3)]
    assert _same(final[0], seen[2][0]) and not _same(final[0], seen[1][0])  # moved in step 2, not after
    assert _same(final[1], seen[4][1]) and not _same(final[1], seen[3][1])
    assert not _same(final[2], seen[5][2])  # the last stage trained to the end


def test_fractions_are_of_the_whole_run_across_epochs():
    model, (x, y) = spread_net(), random_batch()
    has_grad: dict[int, bool] = {}
    cfg = replace(CFG, epochs=2, batch_size=32, freeze_out=(0.67,))  # 3 steps an epoch; stops after 4

    def on_step(done: int) -> None:
        has_grad[done] = all(p.grad is not None for p in model.early_stages()[0].parameters())

    train_model(model, x, y, cfg, on_step=on_step)
    assert has_grad == {0: True, 1: True, 2: True, 3: True, 4: False, 5: False}


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_other_gradients_are_those_of_the_unfrozen_net(precision):
    model, (x, y) = spread_net(), random_batch(32)
    model.train().to(memory_format=torch.channels_last)
    x = x.contiguous(memory_format=torch.channels_last)
    autocast = training_autocast(precision, torch.device("cpu"))

    def grads() -> dict[str, torch.Tensor]:
        model.zero_grad(set_to_none=True)
        with autocast:
            logits = model(x)
        F.cross_entropy(logits.float(), y).backward()
        return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}

    full = grads()
    for p in model.early_stages()[0].parameters():
        p.requires_grad_(False)
    part = grads()
    stage0 = {f"trunk.{n}" for n, _ in model.trunk[TRUNK_STAGES[0]].named_parameters()}
    assert set(part) == set(full) - stage0 and len(stage0) == 6
    assert all(torch.equal(part[n], full[n]) for n in part)


def test_freezing_at_the_end_of_the_run_changes_nothing():
    x, y = random_batch()
    plain, late = spread_net(), spread_net()
    train_model(plain, x, y, replace(CFG, freeze_out=()))
    train_model(late, x, y, replace(CFG, freeze_out=(1.0, 1.0, 1.0)))
    a, b = plain.state_dict(), late.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_frozen_batch_norms_keep_their_running_statistics_moving():
    model, (x, y) = spread_net(), random_batch()
    bn = model.early_stages()[0][1]
    at_freeze = {}

    def on_step(done: int) -> None:
        if done == 2:
            at_freeze["mean"] = bn.running_mean.clone()

    train_model(model, x, y, CFG, on_step=on_step)
    assert not torch.equal(bn.running_mean, at_freeze["mean"])


def test_every_parameter_trains_again_after_the_run_even_when_it_fails():
    model, (x, y) = spread_net(), random_batch()
    before = {n: p.requires_grad for n, p in model.named_parameters()}
    assert before["feature.2.radius"] is False  # the sphere's fixed radius stays fixed
    train_model(model, x, y, CFG)
    assert {n: p.requires_grad for n, p in model.named_parameters()} == before

    def fail(done: int) -> None:
        if done == 5:
            raise RuntimeError("stop here")

    with pytest.raises(RuntimeError, match="stop here"):
        train_model(model, x, y, CFG, on_step=fail)
    assert {n: p.requires_grad for n, p in model.named_parameters()} == before
    calls = iter(range(100))  # Stop pressed after the fourth step: stages 0 and 1 are frozen then
    result = train_model(model, x, y, CFG, should_stop=lambda: next(calls) >= 4)
    assert result.stopped and result.steps == 4
    assert {n: p.requires_grad for n, p in model.named_parameters()} == before


def test_models_without_early_stages_and_too_many_fractions_are_refused_with_a_message():
    x, y = random_batch(16)
    proto = seeded(lambda: PrototypeNet(PrototypeNetConfig(dims=3)), 0)
    snapshots = []
    with pytest.raises(
        ValueError, match=r"freeze_out needs a model with early stages; PrototypeNet has none"
    ):
        train_model(proto, x, y, replace(CFG, batch_size=8), on_snapshot=snapshots.append)
    assert snapshots == []  # refused before any work
    with pytest.raises(ValueError, match=r"freeze_out has 4 fractions; CNNVis3D has 3 early stages"):
        train_model(spread_net(), x, y, replace(CFG, freeze_out=(0.2, 0.4, 0.6, 0.8)))
