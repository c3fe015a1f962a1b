"""The command line, run for real: files written, tables printed, errors without tracebacks."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sph_viz import overlap_stats
from sph_viz.cli.main import main

ROOT = Path(__file__).resolve().parents[2]


def test_toy_writes_every_output(tmp_path, capsys):
    assert main(["toy", "--epochs", "2", "--seeds", "0", "1", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "original" in out and "spherized" in out and "±" in out  # mean ± std over seeds
    run = tmp_path / "spherized_seed1"
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["seed"] == 1 and metrics["config"]["train"]["epochs"] == 2
    assert {"train_accuracy", "device", "versions", "history"} <= set(metrics)
    assert "test_accuracy" not in metrics  # the toy task has no test set
    with np.load(run / "features.npz") as npz:
        assert npz["features"].shape == (200, 2) and npz["labels"].shape == (200,)
        np.testing.assert_allclose(np.linalg.norm(npz["features"], axis=1), 1.0, rtol=1e-5)
    for name in ("representation_first", "representation_last", "input_plane"):
        html = (run / f"{name}.html").read_text()
        assert 'src="plotly.min.js"' in html and "cdn" not in html  # opens offline
    assert (run / "plotly.min.js").stat().st_size > 1_000_000
    assert not list(tmp_path.rglob("*.tmp"))  # nothing half-written left behind


def test_vis3d_and_overlap_from_files(tmp_path, small_mnist, capsys):
    args = ["--data", str(small_mnist), "--epochs", "1", "--preset", "quick"]
    assert main(["vis3d", "--model", "spherized", "projected", *args, "--out", str(tmp_path)]) == 0
    metrics = json.loads((tmp_path / "spherized_seed0" / "metrics.json").read_text())
    with np.load(tmp_path / "spherized_seed0" / "features.npz") as npz:
        assert metrics["test_accuracy"] == (npz["predictions"] == npz["labels"]).mean()
        assert npz["features"].shape == (200, 3)
    assert metrics["config"]["model"]["radius"] == 5.0 and metrics["config"]["train"]["epochs"] == 1
    capsys.readouterr()
    sources = [str(tmp_path / "spherized_seed0"), str(tmp_path / "projected_seed0")]
    assert main(["overlap", "--from", *sources, "--tau", "1e-4", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    table = json.loads((tmp_path / "overlap.json").read_text())
    with np.load(tmp_path / "projected_seed0" / "features.npz") as npz:
        expected = overlap_stats(npz["features"], npz["labels"], npz["predictions"], tau=1e-4)
    row = table["heads"][sources[1]][0]
    assert row["n_overlap"] == expected.n_overlap and row["n_error"] == expected.n_error
    assert f"{expected.n_overlap:>16}" in printed
    assert (tmp_path / "overlap_bars.html").is_file() and (tmp_path / "nn_cosine.html").is_file()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["toy", "--lr", "-1"], "argument --lr: must be in [0.0001, 1]. Got '-1' instead."),
        (["toy", "--epochs", "0"], "argument --epochs: must be in [1, 500]. Got '0' instead."),
        (["toy", "--batch-size", "1e999"], "argument --batch-size: must be a number. Got '1e999' instead."),
        (["vis3d", "--optimizer", "lbfgs"], "argument --optimizer: invalid choice: 'lbfgs'"),
        (["toy", "--lr", "fast"], "argument --lr: must be a number. Got 'fast' instead."),
        (["toy", "--model", "huge"], "argument --model: invalid choice: 'huge'"),
        (["vis3d", "--radius", "-1"], "argument --radius: must be in [0.1, 50]. Got '-1' instead."),
    ],
)
def test_bad_flags_exit_2_with_a_message(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["vis3d", "--data", "/no/such/folder"], "error: /no/such/folder: data folder not found."),
        (
            ["overlap", "--from", "/no/such/run", "--tau", "0.5"],
            "error: /no/such/run: cannot read (No such file or directory).",
        ),
        (
            ["overlap", "--tau", "2", "--from", "x"],
            "error: tau must be in (0, 1). Got 2.0 instead.",
        ),
        (["toy", "--device", "cuda"], "error: device 'cuda' is not available on this machine."),
    ],
)
def test_bad_values_exit_2_without_traceback(argv, message, capsys):
    if "cuda" in argv and __import__("torch").cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_divergence_exits_3_with_advice(small_mnist, capsys):
    argv = [
        "vis3d",
        "--model",
        "original3d",
        "--data",
        str(small_mnist),
        "--epochs",
        "1",
        "--lr",
        "10",
        "--optimizer",
        "sgd",
        "--preset",
        "paper",
    ]
    assert main(argv) == 3
    assert "training diverged" in capsys.readouterr().err


@pytest.mark.slow  # `python -m sph_viz` in a fresh interpreter
def test_module_entry_point():
    proc = subprocess.run(
        [sys.executable, "-m", "sph_viz", "toy", "--model", "spherized", "--epochs", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    device = "CUDA" if __import__("torch").cuda.is_available() else "CPU"
    assert "spherized seed 0: train" in proc.stdout and f"device: {device}" in proc.stderr
