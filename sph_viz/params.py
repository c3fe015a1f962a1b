"""Page configurations as validated parameters: from a URL query string or a JSON file.

Every value from outside passes through `parse_params`: a non-number, an unknown choice
or an out-of-range value is replaced (default) or clamped, and a note says which value
and why. Nothing from outside is ever evaluated.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from models.vis3d import HEADS

MAX_CONFIG_BYTES = 64 * 1024


@dataclass(frozen=True)
class Field:
    name: str
    kind: type  # float, int or str
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] | None = None
    many: bool = False  # a comma-separated list of choices


TOY_FIELDS = (
    Field("lr", float, 0.01, 1e-4, 1.0),
    Field("epochs", int, 100, 1, 500),
    Field("batch", int, 16, 1, 200),
    Field("seed", int, 0, 0, 2**31 - 1),
    Field("noise", float, 0.05, 0.0, 0.5),
    Field("radius", float, 1.0, 0.1, 20.0),
    Field("scale", float, 1.0, 0.1, 20.0),
)
VIS3D_FIELDS = (
    Field("preset", str, "quick", choices=("quick", "fast", "paper")),
    Field("heads", str, ("spherized",), choices=HEADS, many=True),
    Field("epochs", int, 0, 0, 50),  # 0: the preset's own
    Field("lr", float, 0.0, 0.0, 10.0),  # 0: the preset's own
    Field("optimizer", str, "preset", choices=("preset", "adam", "sgd")),
    Field("batch", int, 0, 0, 2048),  # 0: the preset's own
    Field("radius", float, 5.0, 0.1, 50.0),
    Field("max_samples", int, 0, 0, 60000),  # 0: the preset's own
    Field("seed", int, 0, 0, 2**31 - 1),
)
OVERLAP_FIELDS = (Field("tau", float, 1e-6, 1e-12, 0.5),)


def _convert(field: Field, raw: Any) -> tuple[Any, str | None]:
    name = field.name
    if field.many:
        items = (
            raw.split(",") if isinstance(raw, str) else list(raw) if isinstance(raw, (list, tuple)) else [raw]
        )
        items = [str(i).strip() for i in items if str(i).strip()]
        bad = [i for i in items if i not in field.choices]
        good = tuple(dict.fromkeys(i for i in items if i in field.choices))
        if bad or not good:
            note = f"{name}: {', '.join(map(repr, bad)) or 'nothing'} is not a known choice"
            return (good or field.default), f"{note}; using {', '.join(good or field.default)}."
        return good, None
    if field.choices is not None:
        if raw in field.choices:
            return raw, None
        return (
            field.default,
            f"{name}: {raw!r} is not one of {', '.join(field.choices)}; using {field.default!r}.",
        )
    try:
        if isinstance(raw, bool):
            raise ValueError
        value = float(raw) if field.kind is float else int(str(raw).strip())
        if not math.isfinite(value):
            raise ValueError
    except (TypeError, ValueError):
        return (
            field.default,
            f"{name}: {raw!r} is not a valid {field.kind.__name__}; using {field.default}.",
        )
    clamped = min(max(value, field.low), field.high)
    if clamped != value:
        return (
            clamped,
            f"{name}: {value} is outside [{field.low:g}, {field.high:g}]; using {clamped:g}.",
        )
    return value, None


def parse_params(raw: Mapping[str, Any], fields: Sequence[Field]) -> tuple[dict[str, Any], list[str]]:
    """Validated values for every field (defaults where absent) and notes on what was changed."""
    values, notes = {}, []
    for field in fields:
        if field.name not in raw:
            values[field.name] = field.default
            continue
        values[field.name], note = _convert(field, raw[field.name])
        if note:
            notes.append(note)
    unknown = sorted(set(raw) - {f.name for f in fields})
    if unknown:
        notes.append(f"ignored unknown parameter(s): {', '.join(unknown[:5])}.")
    return values, notes


def to_query(values: Mapping[str, Any]) -> dict[str, str]:
    """Values as URL query strings (lists comma-separated)."""
    return {
        k: ",".join(v) if isinstance(v, (list, tuple)) else f"{v:g}" if isinstance(v, float) else str(v)
        for k, v in values.items()
    }


def parse_config_json(data: bytes, fields: Sequence[Field]) -> tuple[dict[str, Any], list[str]]:
    """An uploaded JSON config: size-checked, parsed as plain JSON, then validated."""
    if len(data) > MAX_CONFIG_BYTES:
        raise ValueError(f"config file is {len(data):,} bytes; the limit is {MAX_CONFIG_BYTES:,}.")
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"config file is not valid JSON ({exc}).") from None
    if not isinstance(raw, dict):
        raise ValueError(f"config file must hold a JSON object. Got {type(raw).__name__} instead.")
    return parse_params(raw, fields)
