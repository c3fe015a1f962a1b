"""A disk cache of trained results, and safe loading of model files.

Entries live under a user cache folder (`SPH_VIZ_CACHE_DIR`, else `$XDG_CACHE_HOME/sph-viz`,
else `~/.cache/sph-viz`), one file per configuration, named by a hash of the config.
Each file is `MAGIC + sha256(payload) + payload`, written to a temporary name and
renamed, so a reader never sees half a file; a damaged entry fails its checksum and is
ignored (and removed), never loaded. Payloads are read with `torch.load(weights_only=True)`,
which refuses anything but tensors and plain containers: no code runs on load.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.toy import ToyConfig, make_toy_model
from models.vis3d import CNNVis3D, Vis3DConfig
from sph_viz.experiments import ExperimentResult
from sph_viz.outputs import atomic_write_bytes
from sph_viz.train import EpochRecord, Snapshot, TrainResult

MAGIC = b"SPHVIZ01"
MAX_MODEL_BYTES = 64 * 2**20  # CNN-Vis3D's state_dict is ~7 MiB


def default_cache_dir() -> Path:
    if os.environ.get("SPH_VIZ_CACHE_DIR"):
        return Path(os.environ["SPH_VIZ_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "sph-viz"


def config_key(config: dict) -> str:
    """A stable name for a configuration: equal configs, equal keys."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def build_model(config: dict) -> nn.Module:
    """An untrained model of the architecture a result's config describes."""
    if config.get("experiment") == "toy":
        return make_toy_model(ToyConfig(**config["model"]))
    return CNNVis3D(Vis3DConfig(**config["model"]))


def _t(a) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a))


def _pack(result: ExperimentResult) -> dict:
    snaps = [
        {
            "epoch": s.epoch,
            "step": s.step,
            "features": _t(s.features),
            "predictions": _t(s.predictions),
            "params": {k: _t(v) for k, v in s.params.items()},
            "state": s.state,
        }
        for s in result.train.snapshots
    ]
    return {
        "config": json.dumps(result.config, sort_keys=True),
        "state_dict": result.model.state_dict(),
        "features": _t(result.features),
        "labels": _t(result.labels),
        "predictions": _t(result.predictions),
        "probe_indices": _t(result.probe_indices),
        "train_accuracy": result.train_accuracy,
        "test_accuracy": result.test_accuracy,
        "history": json.dumps([asdict(h) for h in result.train.history]),
        "train": {
            "steps": result.train.steps,
            "seconds": result.train.seconds,
            "stopped": result.train.stopped,
            "device": result.train.device,
        },
        "snapshots": snaps,
    }


def _unpack(payload: dict) -> ExperimentResult:
    config = json.loads(payload["config"])
    model = build_model(config)
    model.load_state_dict(payload["state_dict"])
    model.eval()
    snaps = [
        Snapshot(
            s["epoch"],
            s["step"],
            s["features"].numpy(),
            s["predictions"].numpy(),
            {k: v.numpy() for k, v in s["params"].items()},
            s["state"],
        )
        for s in payload["snapshots"]
    ]
    train = TrainResult(
        history=[EpochRecord(**h) for h in json.loads(payload["history"])],
        snapshots=snaps,
        **payload["train"],
    )
    return ExperimentResult(
        model,
        train,
        payload["features"].numpy(),
        payload["labels"].numpy(),
        payload["predictions"].numpy(),
        payload["train_accuracy"],
        payload["test_accuracy"],
        config,
        payload["probe_indices"].numpy(),
    )


def encode_result(result: ExperimentResult) -> bytes:
    buf = io.BytesIO()
    torch.save(_pack(result), buf)
    payload = buf.getvalue()
    return MAGIC + hashlib.sha256(payload).digest() + payload


def decode_result(blob: bytes) -> ExperimentResult:
    """The inverse of encode_result; ValueError for anything damaged or foreign."""
    if blob[:8] != MAGIC:
        raise ValueError("not an sph-viz cache entry.")
    digest, payload = blob[8:40], blob[40:]
    if hashlib.sha256(payload).digest() != digest:
        raise ValueError("checksum mismatch: the entry is damaged.")
    try:
        return _unpack(torch.load(io.BytesIO(payload), weights_only=True))
    except Exception as exc:
        raise ValueError(f"unreadable entry ({type(exc).__name__}: {exc}).") from None


class ResultStore:
    """Results on disk, keyed by configuration."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()

    def path(self, config: dict) -> Path:
        return self.root / f"{config_key(config)}.sphviz"

    def save(self, result: ExperimentResult) -> Path:
        path = self.path(result.config)
        atomic_write_bytes(path, encode_result(result))
        return path

    def load(self, config: dict) -> ExperimentResult | None:
        """The stored result for config; None when absent or damaged (a damaged file is removed)."""
        path = self.path(config)
        try:
            blob = path.read_bytes()
        except OSError:
            return None
        try:
            result = decode_result(blob)
        except ValueError:
            path.unlink(missing_ok=True)
            return None
        return result if result.config == json.loads(json.dumps(config, default=str)) else None


def load_checkpoint(data: bytes, model: nn.Module, max_bytes: int = MAX_MODEL_BYTES) -> nn.Module:
    """Load a state_dict file into model, safely: size-limited, weights only, shapes checked."""
    if len(data) > max_bytes:
        raise ValueError(
            f"model file is {len(data) / 2**20:.1f} MiB; the limit is {max_bytes / 2**20:.0f} MiB."
        )
    try:
        state = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except Exception as exc:
        reason = str(exc).splitlines()[0][:200]
        raise ValueError(f"not a plain PyTorch state_dict (refused by the safe loader: {reason}).") from None
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise ValueError("the file does not hold a state_dict (a mapping of names to tensors).")
    expected = model.state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    wrong = [k for k in expected if k in state and state[k].shape != expected[k].shape]
    if missing or unexpected or wrong:
        parts = [
            f"missing {missing[:3]}" if missing else "",
            f"unexpected {unexpected[:3]}" if unexpected else "",
            f"wrong shape {wrong[:3]}" if wrong else "",
        ]
        raise ValueError(
            "state_dict does not fit this architecture: " + "; ".join(p for p in parts if p) + "."
        )
    model.load_state_dict(state)
    return model
