"""A disk cache of trained results.

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
from pathlib import Path

import torch

from sph_viz.experiments.registry import build_model
from sph_viz.experiments.result import ExperimentResult
from sph_viz.results.outputs import atomic_write_bytes

MAGIC = b"SPHVIZ02"  # 02: results round-trip by their own payload methods


def default_cache_dir() -> Path:
    if os.environ.get("SPH_VIZ_CACHE_DIR"):
        return Path(os.environ["SPH_VIZ_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "sph-viz"


def config_key(config: dict) -> str:
    """A stable name for a configuration: equal configs, equal keys."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def encode_result(result: ExperimentResult) -> bytes:
    buf = io.BytesIO()
    torch.save(result.to_payload(), buf)
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
        return ExperimentResult.from_payload(torch.load(io.BytesIO(payload), weights_only=True), build_model)
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
