"""Table-1 runs: features on the sphere, parameters, gradient records that round-trip and change nothing."""

import argparse
import io
import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from models.retention import PAPER_TABLE1, RETENTION_RECIPES
from models.vis3d import Vis3DConfig
from sph_viz.cli import retention as retention_command
from sph_viz.cli.main import main
from sph_viz.data.datasets import resolve_dataset
from sph_viz.experiments.registry import build_model
from sph_viz.experiments.result import ExperimentResult
from sph_viz.experiments.retention import (
    RETENTION_PRESETS,
    prepare_images,
    retention_train_config,
    run_gradient_flow,
    run_retention,
)
from sph_viz.experiments.vis3d import run_vis3d
from sph_viz.nn.gradients import GradientRecord
from sph_viz.results.store import ResultStore
from sph_viz.training.config import TrainConfig

TINY = TrainConfig(epochs=1, batch_size=32, lr=1e-3, optimizer="adam", max_samples=256, seed=3)


def _params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize(("net", "n"), [("simplefnn", 300), ("lenet5", 84)])
def test_features_on_the_sphere_and_parameters(net, n):
    sph = run_retention(net, "spherized", TINY)
    orig = run_retention(net, "original", TINY)
    assert sph.features.shape == (10000, n + 1) and orig.features.shape == (10000, n)
    np.testing.assert_allclose(np.linalg.norm(sph.features, axis=1), 5.0, atol=1e-4, rtol=0)
    assert (orig.features >= 0).all()  # after the ReLU the spherization layer replaces
    # -C bias of the old classifier, +C for the extra input dimension, +1 for alpha
    assert _params(sph.model) - _params(orig.model) == 1
    assert sph.test_accuracy == (sph.predictions == sph.labels).mean()
    assert sph.train_accuracy == sph.train.history[-1].accuracy  # the running accuracy, no second pass
    assert sph.config["experiment"] == "retention" and sph.config["dataset"]["name"] == "mnist"
    assert sph.config["train"]["max_samples"] == 256 and "gradients_every" not in sph.config
    assert len(sph.train.snapshots) == 2  # first and last only


def test_recording_changes_nothing_and_round_trips(tmp_path):
    plain = run_retention("simplefnn", "spherized", TINY)
    recorded = run_retention("simplefnn", "spherized", TINY, record_gradients_every=3)
    for key, value in plain.model.state_dict().items():
        assert torch.equal(value, recorded.model.state_dict()[key]), key
    np.testing.assert_array_equal(plain.features, recorded.features)
    assert plain.train.history_dicts() == recorded.train.history_dicts()
    assert plain.extras == {} and recorded.config["gradients_every"] == 3

    rec = GradientRecord.from_extras(recorded.extras)
    assert rec.steps.tolist() == [0, 3, 6]  # 256 / 32 = 8 steps
    assert rec.layer_names == ("body.fc1", "body.fc2", "classifier") and rec.sphere_names == ("act",)
    assert rec.values.shape == (3, 3) and (rec.values > 0).all()
    assert rec.alpha[0, 0] == 5.0 and np.isfinite(rec.alpha_grad).all()

    payload = torch.load(io.BytesIO(_saved(recorded.to_payload())), weights_only=True)
    back = ExperimentResult.from_payload(payload, build_model)
    again = GradientRecord.from_extras(back.extras)
    assert again.layer_names == rec.layer_names and again.every == 3
    for name in ("steps", "values", "alpha", "alpha_grad"):
        np.testing.assert_array_equal(getattr(again, name), getattr(rec, name))
    store = ResultStore(tmp_path)
    store.save(recorded)
    loaded = store.load(recorded.config)
    assert loaded.test_accuracy == recorded.test_accuracy
    torch.testing.assert_close(loaded.model.state_dict(), recorded.model.state_dict(), rtol=0, atol=0)


def _saved(payload: dict) -> bytes:
    buf = io.BytesIO()
    torch.save(payload, buf)
    return buf.getvalue()


def test_gradient_flow_on_vis3d_trains_as_run_vis3d(small_mnist):
    cfg = Vis3DConfig(head="spherized")
    train = TrainConfig(epochs=1, batch_size=64, lr=3e-3, optimizer="adam", seed=1)
    reference = run_vis3d(cfg, train, data_dir=small_mnist)
    recorded = run_gradient_flow(cfg, train, every=4, dataset=small_mnist)
    for key, value in reference.model.state_dict().items():
        assert torch.equal(value, recorded.model.state_dict()[key]), key
    assert recorded.test_accuracy == reference.test_accuracy
    rec = GradientRecord.from_extras(recorded.extras)
    assert rec.steps.tolist() == [0, 4, 8]  # 600 / 64 = 10 steps
    assert rec.layer_names[0] == "trunk.0" and rec.layer_names[-1] == "classifier"
    assert rec.sphere_names == ("feature.2",)
    assert recorded.config["gradients_every"] == 4 and recorded.config["experiment"] == "vis3d"


def test_presets_are_the_official_recipes():
    for net, recipe in RETENTION_RECIPES.items():
        paper = RETENTION_PRESETS[net]["paper"].train
        assert (paper.epochs, paper.batch_size, paper.lr, paper.optimizer) == (
            recipe["epochs"],
            recipe["batch_size"],
            recipe["lr"],
            recipe["optimizer"],
        )
        assert paper.weight_decay == recipe["weight_decay"]
    vgg = RETENTION_PRESETS["vgg11"]["paper"].train
    # fmnist.py halves the lr before epochs 20, 40, 60, 80 (1-based): after 19, 39, 59, 79 done
    assert vgg.milestones == (19, 39, 59, 79, 99) and vgg.gamma == 0.5 and vgg.schedule == "step"
    assert vgg.momentum == 0.9 and vgg.augment
    cpu = RETENTION_PRESETS["simplefnn"]["cpu"].train
    assert replace(cpu, epochs=100) == RETENTION_PRESETS["simplefnn"]["paper"].train


def test_overrides_and_errors():
    assert retention_train_config("lenet5", "cpu", {"epochs": 0}).epochs == 3  # 0 keeps the preset's
    cfg = retention_train_config("lenet5", "cpu", {"epochs": 2, "lr": 0.0, "seed": 4})
    assert (cfg.epochs, cfg.lr, cfg.seed) == (2, 1e-3, 4)
    with pytest.raises(ValueError, match=r"preset must be one of paper, cpu. Got 'fast' instead."):
        retention_train_config("lenet5", "fast")
    with pytest.raises(
        ValueError, match=r"net must be one of simplefnn, lenet5, vgg11. Got 'vgg16' instead."
    ):
        retention_train_config("vgg16", "cpu")
    with pytest.raises(ValueError, match=r"record_gradients_every must be >= 0. Got -1 instead."):
        run_retention("simplefnn", "original", TINY, record_gradients_every=-1)


def test_vgg_images_are_resized_and_standardised():
    spec = resolve_dataset("mnist")
    images = torch.randint(0, 256, (4, 28, 28), dtype=torch.uint8)
    x = prepare_images("vgg11", spec, images)
    assert x.shape == (4, 1, 32, 32) and x.dtype == torch.float32
    full = torch.full((1, 28, 28), 255, dtype=torch.uint8)  # constant stays constant under bilinear
    torch.testing.assert_close(
        prepare_images("vgg11", spec, full), torch.full((1, 1, 32, 32), (1 - 0.1307) / 0.3081)
    )
    plain = prepare_images("lenet5", spec, images)
    torch.testing.assert_close(plain, images.float().unsqueeze(1) / 255)  # ToTensor only


def _parser() -> argparse.ArgumentParser:
    """As sph_viz.cli.main.build_parser makes it: a `common` parent with --seeds --device --out."""
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--seeds", type=int, nargs="+", default=[0])
    common.add_argument("--device", default="auto")
    common.add_argument("--out")
    retention_command.add_parser(sub, common)
    return parser


@pytest.mark.slow  # four runs, each evaluated on MNIST's 10,000 test images
def test_command_prints_mean_std_beside_the_paper(tmp_path, capsys):
    argv = ["retention", "--net", "simplefnn", "--epochs", "1", "--max-samples", "256", "--seeds", "0", "1"]
    args = _parser().parse_args([*argv, "--out", str(tmp_path), "--record-gradients", "4"])
    assert retention_command.run(args, "cpu") == 0
    out = capsys.readouterr().out
    p = PAPER_TABLE1["simplefnn"]
    assert f"{p['original']['test'][0]:.2f} ± {p['original']['test'][1]:.2f}" in out  # 98.58 ± 0.03
    assert f"{p['spherized']['test'][0]:.2f} ± {p['spherized']['test'][1]:.2f}" in out  # 98.65 ± 0.04
    row = next(line for line in out.splitlines() if line.startswith("simplefnn  spherized"))
    metrics = [
        json.loads((tmp_path / f"simplefnn_spherized_seed{s}" / "metrics.json").read_text()) for s in (0, 1)
    ]
    tests = 100 * np.array([m["test_accuracy"] for m in metrics])
    assert f"{tests.mean():.2f} ± {tests.std():.2f}" in row
    assert metrics[1]["seed"] == 1 and metrics[1]["config"]["gradients_every"] == 4
    assert (tmp_path / "simplefnn_spherized_seed0" / "gradient_flow.html").is_file()
    assert (tmp_path / "simplefnn_spherized_seed0" / "alpha.html").is_file()
    assert not (tmp_path / "simplefnn_original_seed0" / "alpha.html").exists()


def test_command_errors():
    with pytest.raises(SystemExit):  # argparse refuses out-of-range values itself
        _parser().parse_args(["retention", "--epochs", "-3"])
    args = _parser().parse_args(["retention", "--record-gradients", "-2"])
    with pytest.raises(ValueError, match=r"--record-gradients must be >= 0. Got -2 instead."):
        retention_command.run(args, "cpu")


def test_wired_into_the_command_line(capsys):
    argv = ["retention", "--net", "simplefnn", "--epochs", "1", "--max-samples", "64", "--device", "cpu"]
    assert main(argv) == 0
    assert "simplefnn  spherized" in capsys.readouterr().out
    assert main(["retention", "--record-gradients", "-1", "--device", "cpu"]) == 2
    assert "error: --record-gradients must be >= 0. Got -1 instead." in capsys.readouterr().err
