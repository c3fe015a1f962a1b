"""SphereNet runs for real on tiny MNIST slices: curves, learnt k, the cache round trip, figures, the CLI."""

import argparse
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from idx_folders import write_idx_folder

from sph_viz.cli import spherenet as spherenet_command
from sph_viz.data.datasets import load_dataset, normalize
from sph_viz.experiments.registry import build_model
from sph_viz.experiments.result import ExperimentResult
from sph_viz.experiments.spherenet import (
    build_spherenet_model,
    plan_runs,
    run_spherenet,
    spherenet_config_dict,
    spherenet_train_config,
    time_to_accuracy,
)
from sph_viz.figures.spherenet import compute_curve_band, make_curve_figure, make_spherenet_figures, smooth
from sph_viz.results.store import ResultStore
from sph_viz.training.config import TrainConfig
from sph_viz.training.curves import CurveRecorder
from sph_viz.training.loop import Progress, Snapshot, evaluate

TINY = TrainConfig(epochs=1, batch_size=64, lr=1e-3, optimizer="adam", snapshots_per_epoch=2, max_samples=256)


@pytest.fixture(scope="module")
def tiny_mnist(tmp_path_factory) -> str:
    """600 training and 200 test images of MNIST: the run's whole test set is small."""
    return str(write_idx_folder(tmp_path_factory.mktemp("spherenet") / "idx", 600, 200))


# On the tiny folder, and once (slow) on MNIST itself: its 10,000 test images, as the page uses.
@pytest.fixture(scope="module", params=["tiny", pytest.param("mnist", marks=pytest.mark.slow)])
def learnable(request) -> ExperimentResult:
    dataset = request.getfixturevalue("tiny_mnist") if request.param == "tiny" else "mnist"
    return run_spherenet("sphere", "learnable", TINY, dataset=dataset, probe_size=200)


def on_mnist(result: ExperimentResult) -> bool:
    return result.config["dataset"] == "mnist"


def evaluated_split(result: ExperimentResult):
    """The test split the run was evaluated on."""
    return load_dataset("mnist" if on_mnist(result) else result.config["data_dir"])[1]


def test_curves_have_one_entry_per_step_and_per_probe_evaluation(learnable):
    e, res = learnable.extras, learnable
    assert res.train.steps == 4  # 256 images, batches of 64
    np.testing.assert_array_equal(e["steps"], [1, 2, 3, 4])
    for key in ("seconds", "loss", "accuracy"):
        assert e[key].shape == (4,)
    assert np.all(np.diff(e["seconds"]) > 0) and e["seconds"][0] > 0
    # the recovered per-batch losses average to the epoch's mean loss (equal batches)
    assert e["loss"].mean() == pytest.approx(res.train.history[0].loss, rel=1e-9)
    assert e["accuracy"].mean() == pytest.approx(res.train.history[0].accuracy, rel=1e-9)
    # probe: before training, after step 2 (snapshots_per_epoch=2), at the end of the epoch
    np.testing.assert_array_equal(e["probe_steps"], [0, 2, 4])
    assert e["probe_seconds"][0] == 0 and np.all(np.diff(e["probe_seconds"]) > 0)
    assert e["probe_seconds"][-1] == pytest.approx(e["seconds"][-1])  # evaluation time is not counted


def test_probe_accuracy_is_the_final_models_accuracy_on_the_probe(learnable):
    test = evaluated_split(learnable)
    idx = learnable.probe_indices
    assert len(idx) == 200
    ev = evaluate(learnable.model, normalize("mnist", test.images[idx]), test.labels[idx])
    assert learnable.extras["probe_accuracy"][-1] == ev.accuracy
    assert learnable.test_accuracy == (learnable.predictions == learnable.labels).mean()
    assert learnable.features.shape == (10000 if on_mnist(learnable) else 200, 128)


def test_learnt_k_one_per_kernel_and_moved_from_its_start(learnable):
    k = learnable.extras["learnt_k"]
    assert k.shape == (32 + 64 + 128,)
    assert np.all(k > 0) and not np.allclose(k, 0.5)


def test_round_trip_through_the_payload_and_the_store(learnable, tmp_path):
    buf = io.BytesIO()
    torch.save(learnable.to_payload(), buf)
    back = ExperimentResult.from_payload(
        torch.load(io.BytesIO(buf.getvalue()), weights_only=True), build_model
    )
    assert set(back.extras) == set(learnable.extras)
    for key, value in learnable.extras.items():
        np.testing.assert_array_equal(back.extras[key], value)
    x = torch.randn(3, 1, 28, 28)
    learnable.model.eval()
    torch.testing.assert_close(back.model(x), learnable.model(x))
    store = ResultStore(tmp_path)
    store.save(learnable)
    config = spherenet_config_dict("sphere", "learnable", TINY, learnable.config["data_dir"], probe_size=200)
    assert config == learnable.config
    assert store.load(config) is not None


def test_plain_net_has_no_k_and_builds_by_name():
    cfg = TrainConfig(epochs=1, batch_size=128, lr=1e-3, optimizer="adam", max_samples=256)
    res = run_spherenet("plain", "cosine", cfg, probe_size=100)
    assert res.extras["learnt_k"].shape == (0,)
    model = build_spherenet_model(json.loads(json.dumps(res.config["model"])))  # lists, as from the cache
    assert model.config == res.model.config


def test_recorder_recovers_batches_and_leaves_out_evaluation_time():
    times = iter([10.0, 11.0, 12.0, 14.0, 15.0])  # snapshot, step 1, step 2, snapshot (1 s eval), step 3
    rec = CurveRecorder(n=5, batch_size=2, probe_labels=np.array([0, 1]), clock=lambda: next(times))
    snap = Snapshot(0.0, 0, np.zeros((2, 1)), np.array([0, 0]), {})
    rec.on_snapshot(snap)
    rec.on_progress(Progress(1, 1, 3, loss=4.0, accuracy=0.5))  # batch 1: loss 4, acc 1/2
    rec.on_progress(Progress(1, 2, 3, loss=3.0, accuracy=0.75))  # batch 2: loss 2, acc 1
    rec.on_snapshot(Snapshot(0.5, 2, np.zeros((2, 1)), np.array([0, 1]), {}))
    rec.on_progress(Progress(1, 3, 3, loss=2.6, accuracy=0.6))  # batch 3 (1 image): loss 1, acc 0
    c = rec.arrays()
    np.testing.assert_allclose(c["loss"], [4.0, 2.0, 1.0])
    np.testing.assert_allclose(c["accuracy"], [0.5, 1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(c["seconds"], [1.0, 2.0, 3.0])  # 15 - 10 - (14 - 12)
    np.testing.assert_allclose(c["probe_seconds"], [0.0, 2.0])
    np.testing.assert_allclose(c["probe_accuracy"], [0.5, 1.0])


def test_bands_are_mean_and_sd_over_runs():
    a = {"steps": np.arange(1, 5), "seconds": np.array([1.0, 2, 3, 4]), "loss": np.array([4.0, 3, 2, 1])}
    b = {"steps": np.arange(1, 5), "seconds": np.array([2.0, 4, 6, 8]), "loss": np.array([2.0, 1, 1, 1])}
    band = compute_curve_band([a, b], "steps", "loss")
    np.testing.assert_allclose(band.mean, [3, 2, 1.5, 1])
    np.testing.assert_allclose(band.high - band.mean, [1, 1, 0.5, 0])
    t = compute_curve_band([a, b], "seconds", "loss", points=4)
    np.testing.assert_allclose(t.x, [2, 8 / 3, 10 / 3, 4])  # where both runs have data
    np.testing.assert_allclose(
        t.mean, (np.interp(t.x, a["seconds"], a["loss"]) + np.interp(t.x, b["seconds"], b["loss"])) / 2
    )
    np.testing.assert_allclose(smooth(np.array([1.0, 3, 5, 7]), 2), [1, 2, 4, 6])
    fig = make_curve_figure({"plain": band}, x="steps", y="loss")
    line = next(t for t in fig.data if t.showlegend is not False)  # the mean, not the band
    np.testing.assert_allclose(line.y, band.mean)
    with pytest.raises(ValueError, match=re.escape("x must be one of steps, seconds. Got 'epochs' instead.")):
        compute_curve_band([a], "epochs", "loss")


def test_figures_from_results(learnable):
    figs = make_spherenet_figures({"sphere-learnable": [learnable.extras]}, window=2)
    assert set(figs) == {
        "loss_vs_steps",
        "loss_vs_seconds",
        "probe_accuracy_vs_steps",
        "probe_accuracy_vs_seconds",
        "learnt_k",
    }
    np.testing.assert_array_equal(figs["learnt_k"].data[0].x, learnable.extras["learnt_k"])
    acc = next(t for t in figs["probe_accuracy_vs_steps"].data if t.showlegend is not False)
    np.testing.assert_array_equal(acc.y, learnable.extras["probe_accuracy"])


def test_k_histogram_marks_where_each_form_starts(learnable):
    """Ours starts every k at the slides' 0.5, the official form at 0.75: one dashed line each."""
    official = {**learnable.extras, "learnt_k": np.full(8, 0.75)}
    plain = {k: v for k, v in learnable.extras.items() if k != "learnt_k"}  # no k to mark
    curves = {
        "plain": [plain],
        "sphere-learnable": [learnable.extras],
        "sphere-learnable-official": [official],
    }
    figs = make_spherenet_figures(curves, window=2)
    assert sorted(shape.x0 for shape in figs["learnt_k"].layout.shapes) == [0.5, 0.75]
    only_ours = make_spherenet_figures({"sphere-learnable": [learnable.extras]}, window=2)
    assert [shape.x0 for shape in only_ours["learnt_k"].layout.shapes] == [0.5]


def test_time_to_accuracy_and_plans():
    e = {"probe_accuracy": np.array([0.1, 0.8, 0.96, 0.97]), "probe_steps": np.array([0, 5, 10, 15])}
    e["probe_seconds"] = np.array([0.0, 1.0, 2.0, 3.0])
    assert time_to_accuracy(e, 0.95) == (10, 2.0)
    assert time_to_accuracy(e, 0.99) is None
    plans = plan_runs({"preset": "quick", "epochs": 2, "lr": 0}, ["plain", "sphere-sigmoid"], [3, 4])
    assert [p.name for p in plans] == [
        "plain · seed 3",
        "plain · seed 4",
        "sphere-sigmoid · seed 3",
        "sphere-sigmoid · seed 4",
    ]
    assert plans[0].train.epochs == 2 and plans[0].train.lr == 1e-3 and plans[1].train.seed == 4
    with pytest.raises(ValueError, match="variant must be one of plain, sphere-linear"):
        plan_runs({}, ["sphere-relu"], [0])
    with pytest.raises(
        ValueError, match=re.escape("dataset must be one of mnist, fashion-mnist. Got 'cifar' instead.")
    ):
        plan_runs({"dataset": "cifar"}, ["plain"], [0])
    with pytest.raises(ValueError, match=re.escape("preset must be one of quick, full. Got 'slow' instead.")):
        spherenet_train_config({"preset": "slow"})


def parse(argv: list[str]) -> argparse.Namespace:
    """The CLI's parser shape (sph_viz/cli/main.py: `sub` and the `common` parent)."""
    parser = argparse.ArgumentParser(prog="python -m sph_viz")
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--seeds", type=int, nargs="+", default=[0])
    common.add_argument("--device", default="cpu")
    common.add_argument("--out", type=Path)
    spherenet_command.add_parser(sub, common)
    return parser.parse_args(argv)


@pytest.mark.slow  # four runs, each evaluated on MNIST's 10,000 test images (the command takes no folder)
def test_cli_trains_writes_and_prints(tmp_path, capsys):
    argv = ["spherenet", "--max-samples", "256", "--epochs", "1", "--seeds", "0", "1", "--out", str(tmp_path)]
    args = parse([*argv, "--variants", "plain", "sphere-learnable", "--target", "0.2"])
    assert args.run(args, "cpu") == 0
    out = capsys.readouterr().out
    assert "plain · seed 1: test" in out and "±" in out and "kernels" in out
    metrics = json.loads((tmp_path / "sphere-learnable_seed1" / "metrics.json").read_text())
    assert metrics["config"]["train"]["max_samples"] == 256 and metrics["config"]["train"]["seed"] == 1
    with np.load(tmp_path / "sphere-learnable_seed1" / "curves.npz") as npz:
        assert npz["loss"].shape == (4,) and npz["learnt_k"].shape == (224,)
    for name in ("loss_vs_steps", "probe_accuracy_vs_seconds", "learnt_k"):
        assert (tmp_path / f"{name}.html").is_file()


def test_cli_refuses_bad_input():
    with pytest.raises(SystemExit):
        parse(["spherenet", "--variants", "sphere-relu"])
    args = parse(["spherenet", "--target", "1.5"])
    with pytest.raises(ValueError, match="--target must be in"):
        args.run(args, "cpu")
