"""HPN runs for real on tiny MNIST slices: prototypes on S², rotated MNIST, figures, the CLI."""

import argparse
import io
import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from idx_folders import write_idx_folder

from models.prototype_net import JointPrototypeNet, PrototypeNetConfig
from sph_viz.cli import prototypes as prototypes_command
from sph_viz.data.datasets import load_dataset, normalize
from sph_viz.experiments.prototypes import (
    hpn_train_config,
    known_min_angle,
    prototype_config_dict,
    run_prototypes,
)
from sph_viz.experiments.registry import PRESETS, build_model
from sph_viz.experiments.result import ExperimentResult
from sph_viz.experiments.rotated_mnist import (
    make_rotated_mnist,
    rotate_images,
    rotated_split,
    rotation_mae,
    run_rotated_mnist,
)
from sph_viz.figures.prototypes import (
    make_prototype_animation,
    make_prototype_figure,
    make_rotation_figure,
    snapshot_steps,
)
from sph_viz.nn.prototypes import (
    make_prototypes,
    min_angle_deg,
    optimize_prototypes,
    rotated_mnist_prototypes,
)
from sph_viz.training.cancel import Cancelled, cancellable
from sph_viz.training.config import TrainConfig
from sph_viz.training.loop import train_model

TINY = TrainConfig(epochs=1, batch_size=64, lr=3e-3, optimizer="adam", snapshots_per_epoch=2, max_samples=256)


def round_trip(result: ExperimentResult) -> ExperimentResult:
    buf = io.BytesIO()
    torch.save(result.to_payload(), buf)
    return ExperimentResult.from_payload(
        torch.load(io.BytesIO(buf.getvalue()), weights_only=True), build_model
    )


# ---- rotation ----


def test_a_pixel_right_of_centre_goes_above_it_at_90_degrees():
    img = torch.zeros(1, 28, 28, dtype=torch.uint8)
    img[0, 13, 21] = 200  # centre (13.5, 13.5): 7.5 px right, 0.5 px up
    out = rotate_images(img, torch.tensor([90.0]))[0]
    assert out[6, 13] == 200 and out.sum() == 200  # 7.5 px up, 0.5 px left: counter-clockwise


def test_right_angles_are_exact_permutations():
    imgs = torch.randint(0, 256, (3, 28, 28), dtype=torch.uint8)
    out = rotate_images(imgs, torch.tensor([90.0, 180.0, 0.0]))
    torch.testing.assert_close(out[0], torch.rot90(imgs[0], 1, (0, 1)))  # counter-clockwise as displayed
    torch.testing.assert_close(out[1], torch.flip(imgs[1], (0, 1)))
    torch.testing.assert_close(out[2], imgs[2])


def test_rotated_set_keeps_the_digits_and_rotates_each_by_its_angle():
    # seeded: drawn from the global generator, these images depended on the tests run before
    images = torch.randint(0, 256, (6, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 2, 3, 7, 9, 2])
    rot = make_rotated_mnist(images, labels, seed=3)
    np.testing.assert_array_equal(rot.indices, [1, 2, 3, 5])
    np.testing.assert_array_equal(rot.classes, [0, 1, 4, 0])  # positions in (2, 3, 4, 5, 7)
    assert rot.angles.min() >= 0 and rot.angles.max() <= 180
    torch.testing.assert_close(rot.images, rotate_images(images[rot.indices], rot.angles))
    torch.testing.assert_close(make_rotated_mnist(images, labels, seed=3).angles, rot.angles)
    assert not torch.equal(make_rotated_mnist(images, labels, seed=4).angles, rot.angles)
    with pytest.raises(ValueError, match="digits must be distinct"):
        make_rotated_mnist(images, labels, digits=(2, 2))


def test_joint_loss_is_eq1_plus_eq7():
    joint = rotated_mnist_prototypes()
    z = torch.randn(8, 3, dtype=torch.float64)
    classes = torch.randint(0, 5, (8,))
    targets = torch.rand(8, dtype=torch.float64) * 2 - 1
    u = z / z.norm(dim=1, keepdim=True)
    p = torch.as_tensor(joint.classes)[classes]
    expected = ((1 - (u * p).sum(1)) ** 2).mean() + ((targets - u[:, 2]) ** 2).mean()
    model = JointPrototypeNet(PrototypeNetConfig(dims=3, n_classes=5))
    torch.testing.assert_close(model.loss(z, classes, targets), expected)
    np.testing.assert_array_equal(
        model.predict_labels(z).numpy(), (u @ torch.as_tensor(joint.classes).T).argmax(1).numpy()
    )


# A full-size smoke run (slow): every 2, 3, 4, 5 and 7 of MNIST rotated, the test digits evaluated.
# (The Prototypes page's test runs rotated MNIST on a tiny folder's digits.)
@pytest.fixture(scope="module", params=[pytest.param("mnist", marks=pytest.mark.slow)])
def rotated() -> ExperimentResult:
    return run_rotated_mnist(TINY, probe_size=200)


def test_rotated_mae_and_accuracy_against_a_direct_computation(rotated):
    e = rotated.extras
    test = rotated_split("test", 1)  # data_seed 0: the test digits are rotated with seed 1
    np.testing.assert_array_equal(e["angles_true"], test.angles.double().numpy())
    with torch.no_grad():
        rotated.model.eval()
        z = rotated.model.embed(normalize("mnist", test.images)).double()
    angle = (z[:, 2] / z.norm(dim=1) + 1) * 90  # cos to the north pole, mapped to [0°, 180°]
    direct = (angle - test.angles.double()).abs().mean().item()
    assert rotation_mae(e["angles_true"], e["angles_predicted"]) == pytest.approx(direct, abs=1e-3)
    xy = z @ torch.as_tensor(rotated_mnist_prototypes().classes).T  # (N, 5): Eq. 3 up to a positive factor
    np.testing.assert_array_equal(rotated.predictions, xy.argmax(1).numpy())
    assert rotated.test_accuracy == (rotated.predictions == rotated.labels).mean()
    mnist_labels = load_dataset("mnist")[1].labels[test.indices].numpy()
    np.testing.assert_array_equal(e["digits"][rotated.labels], mnist_labels)


def test_rotated_curves_and_round_trip(rotated):
    e = rotated.extras
    np.testing.assert_array_equal(e["steps"], [1, 2, 3, 4])
    np.testing.assert_array_equal(e["probe_steps"], [0, 2, 4])
    assert np.all(np.diff(e["seconds"]) > 0)
    back = round_trip(rotated)
    np.testing.assert_array_equal(back.extras["angles_predicted"], e["angles_predicted"])
    torch.testing.assert_close(back.model.prototypes, rotated.model.prototypes)


def test_joint_training_stops_when_asked_and_is_cancellable():
    """The joint task trains in the one loop: Stop and the server's cancellation reach it."""
    rot = rotated_split("train", 0)
    model = JointPrototypeNet(PrototypeNetConfig(dims=3, n_classes=5))
    x = normalize("mnist", rot.images[:64])
    targets = torch.zeros(64)
    res = train_model(model, x, rot.classes[:64], TINY, targets=targets, should_stop=lambda: True)
    assert res.stopped and res.steps == 0 and res.history == []
    steps: list[int] = []
    small_batches = replace(TINY, batch_size=16)  # 4 steps

    with pytest.raises(Cancelled), cancellable(lambda: len(steps) >= 2):
        train_model(model, x, rot.classes[:64], small_batches, targets=targets, on_step=steps.append)
    assert steps == [0, 1]  # cancelled at the next step, not after the run


def test_targets_need_a_model_with_its_own_loss_and_one_per_sample():
    x, y = torch.zeros(8, 1, 28, 28), torch.zeros(8, dtype=torch.long)
    model = JointPrototypeNet(PrototypeNetConfig(dims=3, n_classes=5))
    with pytest.raises(
        ValueError, match=r"one target per sample\. Got JointPrototypeNet and 3 targets for 8"
    ):
        train_model(model, x, y, TINY, targets=torch.zeros(3))


# ---- HPN on CNN-Vis3D ----


# On a tiny MNIST folder (its 200 test images), and once (slow) on MNIST's 10,000, as the page uses.
@pytest.fixture(scope="module", params=["tiny", pytest.param("mnist", marks=pytest.mark.slow)])
def hpn(request, tmp_path_factory) -> ExperimentResult:
    if request.param == "tiny":
        dataset = str(write_idx_folder(tmp_path_factory.mktemp("hpn") / "idx", 600, 200))
    else:
        dataset = "mnist"
    return run_prototypes(TINY, dataset=dataset, probe_size=200)


def test_hpn_features_on_the_sphere_and_predictions_by_eq3(hpn):
    p = hpn.extras["prototypes"]
    assert p.shape == (10, 3) and min_angle_deg(p) > 65
    np.testing.assert_allclose(np.linalg.norm(hpn.features, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(hpn.predictions, (hpn.features @ p.T).argmax(1))
    assert hpn.test_accuracy == (hpn.predictions == hpn.labels).mean()
    dataset = "mnist" if hpn.config["dataset"] == "mnist" else hpn.config["data_dir"]
    assert hpn.config == prototype_config_dict(TINY, dataset)
    back = round_trip(hpn)
    np.testing.assert_array_equal(back.extras["prototypes"], p)
    x = torch.randn(2, 1, 28, 28)
    hpn.model.eval()
    torch.testing.assert_close(back.model(x), hpn.model(x))


def test_known_optima():
    assert known_min_angle(10, 3) == pytest.approx(66.15, abs=0.01)
    assert known_min_angle(5, 2) == 72.0
    assert known_min_angle(4, 3) == pytest.approx(109.47, abs=0.01)  # the simplex
    assert known_min_angle(30, 3) is None
    with pytest.raises(ValueError, match=re.escape("n_classes and dims must be >= 2. Got 1 and 3 instead.")):
        known_min_angle(1, 3)
    # 0 keeps the preset's own value: CNN-Vis3D's quick preset, the recipe HPN is compared on
    quick = hpn_train_config({"preset": "quick", "max_samples": 0, "epochs": 0, "seed": 2})
    assert quick.epochs == PRESETS["vis3d"]["quick"].train.epochs == 1 and quick.seed == 2
    assert quick.max_samples is PRESETS["vis3d"]["quick"].train.max_samples is None  # all 60,000


# ---- figures ----


def test_animation_has_a_frame_per_snapshot_with_its_angle():
    res = optimize_prototypes(10, 3, steps=100, record_every=25)
    steps = snapshot_steps(100, 25, len(res.snapshots))
    assert steps == [0, 25, 50, 75, 100]
    fig = make_prototype_animation(res.snapshots, steps)
    assert [f.name for f in fig.frames] == ["0", "25", "50", "75", "100"]
    last = fig.frames[-1]
    np.testing.assert_allclose(last.data[1].x, res.prototypes[:, 0])
    assert f"{res.min_angle_deg:.2f}°" in last.layout.title.text
    assert len(fig.layout.sliders[0].steps) == 5
    with pytest.raises(ValueError, match="expected 5 snapshots"):
        snapshot_steps(100, 25, 4)


def test_rotation_figure_switches_colouring(rotated):
    e = rotated.extras
    args = (rotated.features, e["angles_true"], rotated.labels, e["digits"], e["prototypes"], e["upper"])
    fig = make_rotation_figure(*args, color_by="class")
    by_rotation = next(t for t in fig.data if t.name == "by rotation")
    np.testing.assert_array_equal(by_rotation.marker.color, e["angles_true"])
    assert by_rotation.visible is False and next(t for t in fig.data if t.name == "digit 7").visible
    buttons = fig.layout.updatemenus[0].buttons
    assert buttons[0].args[0]["visible"][1] is True and buttons[1].args[0]["visible"][1] is False
    with pytest.raises(ValueError, match="color_by must be one of rotation, class"):
        make_rotation_figure(*args, color_by="norm")


def test_prototype_figure_draws_the_prototypes(hpn):
    fig = make_prototype_figure(hpn.features, hpn.labels, hpn.predictions, hpn.extras["prototypes"])
    protos = next(t for t in fig.data if t.name == "prototypes")
    np.testing.assert_allclose(protos.z, hpn.extras["prototypes"][:, 2])


# ---- the command ----


def parse(argv: list[str]) -> argparse.Namespace:
    """The CLI's parser shape (sph_viz/cli/main.py: `sub` and the `common` parent)."""
    parser = argparse.ArgumentParser(prog="python -m sph_viz")
    sub = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--seeds", type=int, nargs="+", default=[0])
    common.add_argument("--device", default="cpu")
    common.add_argument("--out", type=Path)
    prototypes_command.add_parser(sub, common)
    return parser.parse_args(argv)


def test_cli_optimize_prints_the_angle_against_the_optimum(tmp_path, capsys):
    args = parse(
        ["prototypes", "--task", "optimize", "--classes", "10", "--dims", "3", "--out", str(tmp_path)]
    )
    assert args.run(args, "cpu") == 0
    out = capsys.readouterr().out
    expected = optimize_prototypes(10, 3, seed=0).min_angle_deg
    assert f"min angle {expected:.2f}°" in out and "best known minimum angle: 66.15°" in out
    folder = tmp_path / "optimize_K10_D3_seed0"
    record = json.loads((folder / "prototypes.json").read_text())
    assert record["min_angle_deg"] == pytest.approx(expected)
    assert (folder / "animation.html").is_file()
    assert "collapsed" not in out  # K = 10 keeps Eq. 5's prototypes


def test_cli_optimize_says_when_eq5_collapses_and_what_trains_instead(capsys):
    args = parse(["prototypes", "--task", "optimize", "--classes", "100", "--dims", "3", "--seeds", "0"])
    assert args.run(args, "cpu") == 0
    out = capsys.readouterr().out
    spread = min_angle_deg(make_prototypes(100, 3, seed=0))
    assert "seed 0: min angle 0.00°" in out  # Eq. 5's own result
    assert (
        f"Eq. 5 collapsed a pair (two classes would share one prototype); make_prototypes trains with them spread apart: min angle {spread:.2f}°"
        in out
    )


@pytest.mark.slow  # HPN, the spherized head and rotated MNIST, each evaluated on the full test digits
def test_cli_classify_and_rotated(tmp_path, capsys):
    tiny = ["--epochs", "1", "--max-samples", "256", "--out", str(tmp_path)]
    args = parse(["prototypes", "--task", "classify", "--compare", *tiny])
    assert args.run(args, "cpu") == 0
    out = capsys.readouterr().out
    hpn = json.loads((tmp_path / "hpn_seed0" / "metrics.json").read_text())
    sph = json.loads((tmp_path / "spherized_seed0" / "metrics.json").read_text())
    assert f"HPN seed 0: test {hpn['test_accuracy']:.2%}" in out
    assert f"spherized seed 0: test {sph['test_accuracy']:.2%}" in out
    assert hpn["config"]["train"] == sph["config"]["train"]  # same preset and seed
    assert hpn["config"]["train"]["aux_weight"] == 0.0  # each head by its own loss, as on the page
    assert (tmp_path / "hpn_seed0" / "features.html").is_file()
    args = parse(["prototypes", "--task", "rotated", *tiny])
    assert args.run(args, "cpu") == 0
    metrics = json.loads((tmp_path / "rotated_seed0" / "metrics.json").read_text())
    assert f"rotation MAE {metrics['rotation_mae_deg']:.2f}°" in capsys.readouterr().out
    assert (tmp_path / "rotated_seed0" / "rotation_by_class.html").is_file()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--task", "rotated", "--dataset", "fashion-mnist"], "--task rotated uses MNIST digits"),
        (["--task", "rotated", "--preset", "fast"], "--preset for --task rotated must be one of quick"),
        (["--task", "classify", "--preset", "slow"], "--preset for --task classify must be one of quick"),
    ],
)
def test_cli_refuses_bad_input(argv, message):
    args = parse(["prototypes", *argv])
    with pytest.raises(ValueError, match=re.escape(message)):
        args.run(args, "cpu")
