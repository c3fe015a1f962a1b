"""The training loop: repeatable, reports progress, stops cleanly, detects divergence."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from models.toy import ToyConfig, make_toy_model
from models.vis3d import Vis3DConfig
from sph_viz import overlap_stats
from sph_viz.analysis.collapse import nc1
from sph_viz.data.idx import load_image_folder
from sph_viz.data.toy import make_toy_data
from sph_viz.experiments.result import seeded
from sph_viz.experiments.toy import run_toy
from sph_viz.experiments.vis3d import run_vis3d
from sph_viz.training.config import TrainConfig
from sph_viz.training.loop import TrainingDiverged, _make_optimizer, evaluate, train_model

SHORT = TrainConfig(epochs=3)  # the paper's toy recipe, 3 epochs


@pytest.mark.parametrize("kind", ["original", "spherized"])
def test_toy_runs_repeat_exactly_on_cpu(kind):
    a = run_toy(ToyConfig(kind), SHORT)
    b = run_toy(ToyConfig(kind), SHORT)
    c = run_toy(ToyConfig(kind), replace(SHORT, seed=1))
    assert a.train.history_dicts() == b.train.history_dicts()
    np.testing.assert_array_equal(a.features, b.features)
    assert not np.array_equal(a.features, c.features)


def test_progress_and_snapshots():
    seen = []
    res = run_toy(ToyConfig("spherized"), replace(SHORT, snapshots_per_epoch=2), on_progress=seen.append)
    steps = [p.step for p in seen]
    assert steps == sorted(steps) and seen[-1].fraction == 1.0
    assert res.train.steps == 3 * 13  # 200 samples in batches of 16
    epochs = [s.epoch for s in res.train.snapshots]
    assert len(epochs) == 7 and epochs[::2] == [0.0, 1.0, 2.0, 3.0]
    assert all(k < e < k + 1 for k, e in enumerate(epochs[1::2]))
    assert res.train.snapshots[0].features.shape == (200, 2)
    assert set(res.train.snapshots[-1].params) == {"weight"}  # bias-free classifier
    assert res.train.snapshots[-1].state is not None


@pytest.mark.slow  # the paper's recipe: 100 epochs of each net
def test_paper_toy_recipe_learns_both_nets():
    for kind in ("original", "spherized"):
        res = run_toy(ToyConfig(kind))  # SGD lr 0.01, batch 16, 100 epochs
        assert res.train_accuracy == 1.0
        assert res.train.history[-1].loss < res.train.history[0].loss


def test_stop_request_ends_cleanly():
    x, y = make_toy_data()
    model = seeded(lambda: make_toy_model(ToyConfig("spherized")), 0)
    calls = iter(range(10_000))
    res = train_model(model, x, y, SHORT, should_stop=lambda: next(calls) >= 5)
    assert res.stopped and res.steps == 5
    assert len(res.history) == 1 and res.snapshots[-1].step == 5
    with torch.no_grad():  # the model is usable as it is: evaluate agrees with a direct count
        direct = (model.eval()(x).argmax(1) == y).double().mean().item()
    assert evaluate(model, x, y).accuracy == direct


def test_nan_loss_raises_with_the_last_good_state():
    x, y = make_toy_data()
    x[150] = float("nan")  # this sample's batch gives a NaN loss
    model = seeded(lambda: make_toy_model(ToyConfig("original")), 0)
    with pytest.raises(TrainingDiverged, match=r"the loss became nan at epoch 1, step \d+") as info:
        train_model(model, x, y, SHORT)
    assert info.value.result.steps < 13
    assert all(torch.isfinite(p).all() for p in model.parameters())  # no NaN step was taken


def test_huge_learning_rate_diverges_with_a_message(small_mnist):
    cfg = TrainConfig(epochs=1, batch_size=64, lr=10.0, optimizer="sgd")
    with pytest.raises(TrainingDiverged, match="Try a smaller learning rate"):
        run_vis3d(Vis3DConfig("original3d"), cfg, data_dir=small_mnist)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"epochs": 0}, r"epochs must be an integer in \[1, 1000\]. Got 0 instead."),
        ({"batch_size": 10**9}, r"batch_size must be an integer in \[1, 65536\]"),
        ({"lr": -0.1}, r"lr must be in \(0, 10\]. Got -0.1 instead."),
        ({"lr": float("nan")}, r"lr must be in \(0, 10\]. Got nan instead."),
        ({"optimizer": "lbfgs"}, "optimizer must be one of sgd, adam. Got 'lbfgs' instead."),
        ({"schedule": "cosine"}, "schedule must be one of constant, onecycle"),
        ({"epochs": 2.5}, "epochs must be an integer"),
    ],
)
def test_train_config_refuses_bad_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs)


def test_vis3d_dry_run_on_a_small_folder(small_mnist):
    cfg = TrainConfig(
        epochs=2,
        batch_size=64,
        lr=3e-3,
        optimizer="adam",
        schedule="onecycle",
        snapshots_per_epoch=3,
    )
    res = run_vis3d(Vis3DConfig("spherized"), cfg, data_dir=small_mnist, probe_size=50)
    assert res.features.shape == (200, 3)
    np.testing.assert_allclose(np.linalg.norm(res.features, axis=1), 5.0, rtol=1e-5)
    assert (
        res.test_accuracy == (res.predictions == res.labels).mean()
        and res.config["model"]["head"] == "spherized"
    )
    assert res.labels.tolist() == load_image_folder(small_mnist)["test"].labels.tolist()
    # the overlap bookkeeping: the test set after every epoch, counted on the τ ladder, with NC1
    first, last = (h.test_accuracy for h in res.train.history)
    assert last == res.test_accuracy and first is not None
    assert res.extras["overlap_epochs"].tolist() == [1, 2]
    assert res.extras["overlap_test_accuracy"].tolist() == [first, last]
    taus = res.extras["overlap_taus"].tolist()
    for j, tau in enumerate(taus):
        s = overlap_stats(res.features, res.labels, res.predictions, tau)
        assert res.extras["overlap_counts"][-1, j].tolist() == [s.n_overlap, s.n_error, s.n_unavoidable]
    assert res.extras["nc1"][-1] == pytest.approx(nc1(res.features, res.labels))
    assert res.train_accuracy == res.train.history[-1].accuracy  # what training measured: no second pass
    # and it changes nothing the training computes: without it, the test set is evaluated once
    plain = run_vis3d(
        Vis3DConfig("spherized"), cfg, data_dir=small_mnist, probe_size=50, overlaps_by_epoch=False
    )
    assert [h.test_accuracy for h in plain.train.history] == [None, res.test_accuracy]
    np.testing.assert_array_equal(plain.features, res.features)
    assert all(
        torch.equal(a, b)
        for a, b in zip(plain.model.state_dict().values(), res.model.state_dict().values(), strict=True)
    )
    assert "overlap_counts" not in plain.extras
    assert len(res.train.snapshots) == 7 and res.train.snapshots[0].features.shape == (50, 3)
    assert np.bincount(res.labels[res.probe_indices]).min() >= 1  # every class in the probe


def test_adam_is_fused_on_a_cpu_and_sgd_is_left_as_it_was():
    model = make_toy_model(ToyConfig("spherized"))
    adam = _make_optimizer(model, TrainConfig(optimizer="adam", lr=1e-3, weight_decay=1e-4))
    assert adam.defaults["fused"] is True and adam.defaults["weight_decay"] == 1e-4
    sgd = _make_optimizer(model, TrainConfig(optimizer="sgd", momentum=0.9))
    assert isinstance(sgd, torch.optim.SGD) and not sgd.defaults.get("fused")
