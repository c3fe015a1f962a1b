"""Writing a run to disk: metrics.json, features.npz, model.pt and HTML figures.

Every file is written to a temporary name in the same folder and renamed into place, so
an interrupted write never leaves a half-written file under the real name.
"""

from __future__ import annotations

import io
import json
import math
import os
import platform
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np
import plotly
import plotly.graph_objects as go
import torch
from plotly.offline import get_plotlyjs

import sph_viz
from sph_viz.experiments.epoch_overlaps import nc1_by_epoch, overlaps_by_epoch
from sph_viz.experiments.result import ExperimentResult


def library_versions() -> dict[str, str]:
    """Versions of what computed a run (read from the installed metadata, nothing imported)."""
    dist = {"torch": "torch", "numpy": "numpy", "scipy": "scipy", "scikit-learn": "scikit-learn"}
    return {
        "python": platform.python_version(),
        "sph_viz": sph_viz.__version__,
        **{name: metadata.version(package) for name, package in dist.items()},
        "plotly": plotly.__version__,
    }


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write data to path via a temporary file and a rename (atomic on one filesystem)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def json_safe(value):
    """value with NaN/Inf as None and numpy scalars as Python numbers (strict JSON)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def metrics_dict(result: ExperimentResult, device: str, extra: dict | None = None) -> dict:
    """What metrics.json holds: accuracies, full config, seed, device, versions, history, and for a
    run with the bookkeeping `overlaps_by_epoch` and `nc1_by_epoch` (`experiments.epoch_overlaps`)."""
    out = {
        "train_accuracy": result.train_accuracy,
        "config": result.config,
        "seed": result.config["train"]["seed"],
        "device": device,
        "steps": result.train.steps,
        "train_seconds": round(result.train.seconds, 3),
        "stopped_early": result.train.stopped,
        "history": result.train.history_dicts(),
        "versions": library_versions(),
    }
    if result.test_accuracy is not None:
        out["test_accuracy"] = result.test_accuracy
    rows = overlaps_by_epoch(result.extras)  # Table 3's bookkeeping: one row per epoch and τ
    if rows:
        out["overlaps_by_epoch"] = rows
        out["nc1_by_epoch"] = nc1_by_epoch(result.extras)
    out.update(extra or {})
    return json_safe(out)


def features_npz_bytes(features: np.ndarray, labels: np.ndarray, predictions: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, features=features, labels=labels, predictions=predictions)
    return buf.getvalue()


def state_dict_bytes(model: torch.nn.Module) -> bytes:
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.getvalue()


def write_run(
    out_dir: str | Path,
    result: ExperimentResult,
    *,
    device: str,
    figures: dict[str, go.Figure] | None = None,
    extra: dict | None = None,
) -> Path:
    """Write one run's files into out_dir; returns the folder."""
    out_dir = Path(out_dir)
    metrics = json.dumps(metrics_dict(result, device, extra), indent=2)
    atomic_write_bytes(out_dir / "metrics.json", metrics.encode())
    npz = features_npz_bytes(result.features, result.labels, result.predictions)
    atomic_write_bytes(out_dir / "features.npz", npz)
    atomic_write_bytes(out_dir / "model.pt", state_dict_bytes(result.model))
    write_figures(out_dir, figures or {})
    return out_dir


def write_figures(out_dir: str | Path, figures: dict[str, go.Figure]) -> None:
    """Each figure as NAME.html beside one local plotly.min.js: they open offline."""
    out_dir = Path(out_dir)
    if figures and not (out_dir / "plotly.min.js").is_file():
        atomic_write_bytes(out_dir / "plotly.min.js", get_plotlyjs().encode())
    for name, fig in figures.items():
        html = fig.to_html(include_plotlyjs="directory", full_html=True)
        atomic_write_bytes(out_dir / f"{name}.html", html.encode())
