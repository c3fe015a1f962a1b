"""Table 3 end to end: the experiment, its table against direct counts, the CLI, resume, Ray."""

import json
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from cifar_files import write_cifar

from models.table3 import OPERATORS_T3
from sph_viz import overlap_stats
from sph_viz.analysis.collapse import nc1
from sph_viz.cli.main import main
from sph_viz.experiments.epoch_overlaps import TAU_LADDER
from sph_viz.experiments.result import ExperimentResult
from sph_viz.experiments.specs import make_run_specs
from sph_viz.experiments.table3 import run_table3, table3_model_config
from sph_viz.reports.table3 import cached_table3_rows, markdown_table, table3_rows
from sph_viz.results.outputs import write_run
from sph_viz.results.store import ResultStore
from sph_viz.results.sweep import run_sweep
from sph_viz.training.config import TrainConfig

TINY = TrainConfig(epochs=1, batch_size=64, lr=3e-3, optimizer="adam", schedule="onecycle", max_samples=300)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from idx_folders import write_idx_folder

    folder = str(write_idx_folder(tmp_path_factory.mktemp("t3") / "idx", 300, 200))
    out = {}
    for op in ("original", "spherization"):
        cfg = table3_model_config(op, folder, dim=32)
        out[op] = [run_table3(cfg, replace(TINY, seed=s), dataset=folder) for s in (0, 1)]
    return out


def test_features_are_the_last_layers_input(runs):
    original, spherized = runs["original"][0], runs["spherization"][0]
    assert original.features.shape == (200, 32) and spherized.features.shape == (200, 33)
    np.testing.assert_allclose(np.linalg.norm(spherized.features, axis=1), 5.0, rtol=1e-5)  # r = 5
    model = spherized.model.eval()
    with torch.no_grad():  # the logits are the bias-free last layer applied to exactly these features
        logits = model.classifier(torch.from_numpy(spherized.features))
    assert (logits.argmax(1).numpy() == spherized.predictions).all()
    assert spherized.test_accuracy == (spherized.predictions == spherized.labels).mean()


def brute_force_overlaps(features, labels, predictions, tau):
    """# overlapping, # errors, # in label-mixing groups, from every pair's float64 cosine."""
    x = features.astype(np.float64)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    near = x @ x.T >= 1 - tau
    np.fill_diagonal(near, False)
    overlapping = near.any(axis=1)
    group = np.arange(len(x))  # connected components of the overlap graph, by flooding
    for _ in range(len(x)):
        new = np.where(near, group[None, :], len(x)).min(axis=1).clip(max=group)
        if (new == group).all():
            break
        group = new
    mixed = {g for g in set(group[overlapping]) if len(set(labels[group == g])) > 1}
    unavoidable = sum(int((group == g).sum()) for g in mixed)
    return int(overlapping.sum()), int((overlapping & (labels != predictions)).sum()), unavoidable


def test_overlaps_and_nc1_after_every_epoch(tmp_path):
    """Two epochs: one row per epoch and τ of the ladder in metrics.json; the last epoch's rows are
    a float64 brute force on the run's features.npz, and its test accuracy the history's."""
    from idx_folders import write_idx_folder

    folder = str(write_idx_folder(tmp_path / "idx", 300, 200))
    result = run_table3(
        table3_model_config("original", folder, dim=16), replace(TINY, epochs=2), dataset=folder
    )
    write_run(tmp_path / "run", result, device="cpu")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    rows = metrics["overlaps_by_epoch"]
    assert [(r["epoch"], r["tau"]) for r in rows] == [(e, t) for e in (1, 2) for t in TAU_LADDER]
    history = {h["epoch"]: h["test_accuracy"] for h in metrics["history"]}
    assert all(r["test_accuracy"] == pytest.approx(history[r["epoch"]]) for r in rows)
    with np.load(tmp_path / "run" / "features.npz") as npz:
        f, labels, predictions = npz["features"], npz["labels"], npz["predictions"]
    for r in rows[len(TAU_LADDER) :]:
        assert (r["n_overlap"], r["n_error"], r["n_unavoidable"]) == brute_force_overlaps(
            f, labels, predictions, r["tau"]
        )
    counts = [r["n_overlap"] for r in rows[len(TAU_LADDER) :]]
    assert counts == sorted(counts)  # a larger τ finds every overlap a smaller one finds
    assert [n["epoch"] for n in metrics["nc1_by_epoch"]] == [1, 2]
    assert metrics["nc1_by_epoch"][-1]["nc1"] == pytest.approx(nc1(f, labels))


def test_rows_equal_direct_counts(runs):
    rows = {r.operator: r for r in table3_rows(runs, tau=1e-3)}
    for op, results in runs.items():
        stats = [overlap_stats(r.features, r.labels, r.predictions, tau=1e-3) for r in results]
        n_ovlp = np.array([s.n_overlap for s in stats], dtype=float)
        assert rows[op].n_ovlp == pytest.approx((n_ovlp.mean(), n_ovlp.std()))
        acc = np.array([100 * r.test_accuracy for r in results])
        assert rows[op].test_acc == pytest.approx((acc.mean(), acc.std()))
        assert rows[op].seeds == (0, 1)
    text = markdown_table(list(rows.values()))
    assert "| paper (CIFAR-10) | proposed | Spherization | ✓ | 99.66 ± 0.05 | 92.38 ± 0.14" in text


@pytest.mark.slow  # four Table-3 runs through the command, their outputs, then the sweep again from the cache
def test_cli_writes_the_table_and_resumes_from_the_cache(tmp_path, small_mnist, capsys):
    argv = ["table3", "--data", str(small_mnist), "--operators", "original", "cw-softmax", "--dim", "16"]
    argv += [
        "--epochs",
        "1",
        "--seeds",
        "0",
        "1",
        "--out",
        str(tmp_path / "out"),
        "--cache",
        str(tmp_path / "c"),
    ]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert first.count("(cached)") == 0 and "| measured | indirect | CW-Softmax | ✓ |" in first
    doc = json.loads((tmp_path / "out" / "table3.json").read_text())
    assert [r["operator"] for r in doc["rows"]] == ["original", "cw-softmax"] and doc["seeds"] == [0, 1]
    assert (tmp_path / "out" / "table3.csv").read_text().startswith("Role,Operator,No-bias,")
    with np.load(tmp_path / "out" / "cw-softmax_seed1" / "features.npz") as npz:
        assert npz["features"].shape == (200, 16)
    assert main(argv) == 0  # a second sweep trains nothing: every run is in the cache
    assert capsys.readouterr().out.count("(cached)") == 4
    # the Paper page's lookup finds the same runs without training, and the same numbers
    store = ResultStore(tmp_path / "c")
    values = {"dim": 16, "epochs": 1}
    rows = cached_table3_rows(store=store, dataset=str(small_mnist), values=values, operators=OPERATORS_T3)
    assert [r.operator for r in rows] == ["original", "cw-softmax"]
    for row, saved in zip(rows, doc["rows"], strict=True):
        assert list(row.seeds) == saved["seeds"] == [0, 1]
        for column in ("train_acc", "test_acc", "n_err", "n_ovlp", "n_unavoidable"):
            assert list(getattr(row, column)) == pytest.approx(saved[column])
    assert cached_table3_rows(store=store, dataset=str(small_mnist), values=values, seeds=(7,)) == []


def test_bad_table3_flags(capsys):
    assert main(["table3", "--tau", "2"]) == 2
    assert "error: tau must be in (0, 1). Got 2.0 instead." in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["table3", "--operators", "arcface"])
    assert "invalid choice: 'arcface'" in capsys.readouterr().err


@pytest.mark.slow  # a full-size smoke run: 1,000 images, evaluated on Fashion-MNIST's 10,000
def test_fashion_mnist_slice_trains():
    if not Path("/usr/share/datasets/fashion-mnist").is_dir():
        pytest.skip("dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)")
    res = run_table3(
        table3_model_config("original", "fashion-mnist", dim=8),
        replace(TINY, max_samples=1000),
        dataset="fashion-mnist",
    )
    assert res.features.shape == (10_000, 8) and res.config["dataset"]["name"] == "fashion-mnist"
    assert res.test_accuracy > 0.3  # 1,000 images, one epoch: far above chance (10 %)


def test_cifar10_binary_runs_on_cnn9(tmp_path):
    write_cifar(tmp_path / "cifar", n_per_batch=8)
    cfg = table3_model_config("sw-softmax", f"cifar10:{tmp_path / 'cifar'}", dim=8)
    assert cfg.trunk == "cnn9" and cfg.in_channels == 3 and cfg.image_size == 32
    small = TrainConfig(epochs=1, batch_size=8, lr=1e-3, optimizer="adam", augment=True)
    res = run_table3(cfg, small, dataset=f"cifar10:{tmp_path / 'cifar'}")
    assert res.features.shape == (8, 8) and res.config["train"]["augment"] is True  # crop + flip for CIFAR


@pytest.mark.slow  # starts a local Ray instance (~10 s before the first task runs)
def test_a_sweep_on_local_ray_equals_the_sequential_one(tmp_path, small_mnist):
    ray = pytest.importorskip("ray")
    specs = make_run_specs(
        "table3",
        {"dim": 8, "epochs": 1, "max_samples": 128, "seed": 3},
        ["original", "spherization"],
        preset_name="fast",
        dataset=str(small_mnist),
    )
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # what each Ray task uses: the same arithmetic, the same bits
    try:
        sequential = run_sweep(list(specs.values()), store=ResultStore(tmp_path / "seq"))
    finally:
        torch.set_num_threads(before)
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    on_ray = run_sweep(list(specs.values()), store=ResultStore(tmp_path / "ray"), use_ray=True)
    assert not ray.is_initialized()  # the sweep shut down the instance it started
    assert len(list((tmp_path / "ray").glob("*.sphviz"))) == 2
    for a, b in zip(sequential, on_ray, strict=True):
        assert isinstance(b, ExperimentResult) and a.config == b.config
        np.testing.assert_array_equal(a.features, b.features)
        np.testing.assert_array_equal(a.predictions, b.predictions)
