"""Any embedding from a file: NPZ (`features`, `labels`, `predictions`) or CSV, checked before use.

NPZ files are read with `allow_pickle=False` (an object array cannot execute anything then);
CSV files are parsed as numbers only. Both are size-limited.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

MAX_EMBEDDING_BYTES = 200 * 2**20  # 60,000 x 256 float64 is ~117 MiB
MAX_ROWS = 200_000


def parse_embedding(data: bytes, name: str = "file") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features (N, d) float, labels (N,), predictions (N,)) from NPZ or CSV bytes; ValueError if bad.

    A CSV has a header row; its columns `label` and `prediction` (or `predictions`) are the
    labels and predictions, an `index` column is ignored, every other column is a feature.
    """
    if len(data) > MAX_EMBEDDING_BYTES:
        raise ValueError(f"{name}: {len(data):,} bytes; the limit is {MAX_EMBEDDING_BYTES:,}.")
    if data[:4] == b"PK\x03\x04":
        return _from_npz(data, name)
    return _from_csv(data, name)


def load_embedding(path: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """parse_embedding of a file on disk (a run folder means its features.npz)."""
    path = Path(path)
    if path.is_dir():
        path = path / "features.npz"
    try:
        size = path.stat().st_size
        if size > MAX_EMBEDDING_BYTES:
            raise ValueError(f"{path}: {size:,} bytes; the limit is {MAX_EMBEDDING_BYTES:,}.")
        data = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc.strerror or exc}).") from None
    return parse_embedding(data, str(path))


def _from_npz(data: bytes, name: str):
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            missing = [k for k in ("features", "labels", "predictions") if k not in npz.files]
            if missing:
                raise ValueError(
                    f"{name}: the NPZ has no {', '.join(missing)} (it has {', '.join(npz.files)})."
                )
            for key in ("features", "labels", "predictions"):  # sizes from the headers, before reading
                if npz.zip.getinfo(f"{key}.npy").file_size > MAX_EMBEDDING_BYTES:
                    raise ValueError(f"{name}: {key} inflates past {MAX_EMBEDDING_BYTES:,} bytes.")
            arrays = npz["features"], npz["labels"], npz["predictions"]
    except (OSError, KeyError, EOFError) as exc:
        raise ValueError(f"{name}: not a readable NPZ ({exc}).") from None
    except ValueError as exc:
        if str(exc).startswith(name):
            raise
        raise ValueError(f"{name}: not a plain-array NPZ ({exc}).") from None
    return _checked(*arrays, name=name)


def _from_csv(data: bytes, name: str):
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{name}: neither an NPZ nor a UTF-8 CSV file.") from None
    lines = text.splitlines()
    if len(lines) < 2:
        raise ValueError(f"{name}: a CSV needs a header row and at least one data row.")
    if len(lines) > MAX_ROWS + 1:
        raise ValueError(f"{name}: {len(lines) - 1:,} rows; the limit is {MAX_ROWS:,}.")
    header = [h.strip().lower() for h in lines[0].split(",")]
    label_col = _column(header, ("label", "labels"), name)
    pred_col = _column(header, ("prediction", "predictions"), name)
    feature_cols = [i for i, h in enumerate(header) if i not in (label_col, pred_col) and h != "index"]
    try:
        table = np.loadtxt(io.StringIO(text), delimiter=",", skiprows=1, ndmin=2, dtype=np.float64)
    except ValueError as exc:
        raise ValueError(f"{name}: every CSV cell must be a number ({exc}).") from None
    if table.shape[1] != len(header):
        raise ValueError(f"{name}: rows have {table.shape[1]} values but the header names {len(header)}.")
    return _checked(table[:, feature_cols], table[:, label_col], table[:, pred_col], name=name)


def _column(header: list[str], names: tuple[str, ...], file: str) -> int:
    for n in names:
        if n in header:
            return header.index(n)
    raise ValueError(f"{file}: the CSV header has no {names[0]!r} column. Got {', '.join(header)} instead.")


def _checked(features, labels, predictions, *, name: str):
    features = np.asarray(features)
    if features.ndim != 2 or len(features) == 0 or features.shape[1] == 0:
        raise ValueError(
            f"{name}: features must have shape (N, d) with N, d >= 1. Got {features.shape} instead."
        )
    if not np.issubdtype(features.dtype, np.number) or np.issubdtype(features.dtype, np.complexfloating):
        raise ValueError(f"{name}: features must be real numbers. Got {features.dtype} instead.")
    out = [features.astype(np.float64, copy=False)]
    for key, a in (("labels", labels), ("predictions", predictions)):
        a = np.asarray(a)
        if a.shape != (len(features),):
            raise ValueError(f"{name}: {key} must have shape ({len(features)},). Got {a.shape} instead.")
        if a.dtype.kind == "f":
            if not np.all(np.isfinite(a)) or not np.all(a == np.round(a)):
                raise ValueError(f"{name}: {key} must be whole numbers.")
            a = a.astype(np.int64)
        if a.dtype.kind not in "iub":
            raise ValueError(f"{name}: {key} must be integers. Got {a.dtype} instead.")
        out.append(a.astype(np.int64))
    return tuple(out)
