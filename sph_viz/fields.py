"""Settings as a table of fields: one `Field` per value, read from anywhere outside.

A `Field` holds a setting's name (the config dataclass's own field name), type, bounds,
choices and help text, once. From it come the dashboard's widgets, the command line's
flags, the URL query string and the JSON config file; every value from outside passes
through `parse_values` (lenient: clamp or replace, with a note) or `arg_type` (strict: the
command line refuses). Nothing from outside is ever evaluated.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MAX_CONFIG_BYTES = 64 * 1024
KEEP = "preset"  # the choice that keeps the preset's own value


@dataclass(frozen=True)
class Field:
    """One setting. `target` says where it goes: the model config, the train config, or the run."""

    name: str
    kind: type  # float, int or str
    default: Any
    low: float | None = None
    high: float | None = None
    choices: tuple | None = None
    many: bool = False  # a comma-separated list of choices
    label: str = ""
    help: str = ""
    target: str = "run"  # "model", "train" or "run"
    keep_zero: bool = False  # 0 (or None) keeps the preset's own value
    log: bool = False  # numeric options on a log scale (widgets snap to them)
    only: tuple[str, ...] | None = None  # model names the setting applies to (None: all)
    widget: str = "number"  # "number" or "slider" (choices make a select box, log a select slider)
    step: float | None = None  # widget step (None: Streamlit's)
    group: str = ""  # where a page draws its widget: "" its main controls, else a named group (an expander)

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ")

    def keeps(self, value: Any) -> bool:
        """True when value means 'the preset's own'."""
        return value is None or value == KEEP or (self.keep_zero and value == 0)


def _items(raw: Any) -> list[str]:
    parts = raw.split(",") if isinstance(raw, str) else list(raw) if isinstance(raw, (list, tuple)) else [raw]
    return [str(i).strip() for i in parts if str(i).strip()]


def convert(field: Field, raw: Any) -> tuple[Any, str | None]:
    """(value, note): a valid value for field from raw, and what was changed (None: nothing)."""
    name = field.name
    if field.many:
        items = _items(raw)
        bad = [i for i in items if i not in field.choices]
        good = tuple(dict.fromkeys(i for i in items if i in field.choices))
        if bad or not good:
            note = f"{name}: {', '.join(map(repr, bad)) or 'nothing'} is not a known choice"
            return (good or field.default), f"{note}; using {', '.join(good or field.default)}."
        return good, None
    if field.kind is str:
        if raw in field.choices:
            return raw, None
        return (
            field.default,
            f"{name}: {raw!r} is not one of {', '.join(field.choices)}; using {field.default!r}.",
        )
    try:
        if isinstance(raw, bool) or (isinstance(raw, str) and len(raw) > 40):
            raise ValueError  # a 4,000-digit number is not a setting
        value = float(raw) if field.kind is float else int(str(raw).strip())
        if not math.isfinite(value):
            raise ValueError
    except (TypeError, ValueError, OverflowError):
        shown = raw[:40] if isinstance(raw, str) else raw
        return (
            field.default,
            f"{name}: {shown!r} is not a valid {field.kind.__name__}; using {field.default}.",
        )
    if field.keep_zero and value == 0:
        return field.kind(0), None
    clamped = min(max(value, field.low), field.high)
    if clamped != value:
        return clamped, f"{name}: {value} is outside [{field.low:g}, {field.high:g}]; using {clamped:g}."
    return value, None


def parse_values(raw: Mapping[str, Any], fields: Sequence[Field]) -> tuple[dict[str, Any], list[str]]:
    """Validated values for every field (defaults where absent) and notes on what was changed."""
    values, notes = {}, []
    for field in fields:
        if field.name not in raw:
            values[field.name] = field.default
            continue
        values[field.name], note = convert(field, raw[field.name])
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
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ValueError(f"config file is not valid JSON ({reason}).") from None
    if not isinstance(raw, dict):
        raise ValueError(f"config file must hold a JSON object. Got {type(raw).__name__} instead.")
    return parse_values(raw, fields)


def arg_type(field: Field):
    """An argparse type for field: the same bounds as the widgets, but refusing instead of clamping."""

    def parse(text: str):
        value, note = convert(field, text)
        if note is None:
            return value
        if field.kind is str:
            raise argparse.ArgumentTypeError(
                f"must be one of {', '.join(field.choices)}. Got {text!r} instead."
            )
        if "not a valid" in note:
            raise argparse.ArgumentTypeError(f"must be a number. Got {text!r} instead.")
        raise argparse.ArgumentTypeError(f"must be in [{field.low:g}, {field.high:g}]. Got {text!r} instead.")

    parse.__name__ = field.kind.__name__
    return parse


def add_arguments(parser: argparse.ArgumentParser, fields: Sequence[Field], **aliases: str) -> None:
    """One `--name` flag per field (default None: the preset's own); aliases add older flag names."""
    for field in fields:
        flags = [f"--{field.name.replace('_', '-')}"]
        if field.name in aliases:
            flags.append(aliases[field.name])
        kwargs: dict[str, Any] = {"dest": field.name, "help": field.help or None, "default": None}
        if field.many:
            parser.add_argument(*flags, nargs="+", choices=field.choices, **kwargs)
        elif field.kind is str:
            parser.add_argument(*flags, choices=field.choices, **kwargs)
        else:
            parser.add_argument(*flags, type=arg_type(field), **kwargs)


def groups(fields: Sequence[Field]) -> list[str]:
    """The named groups of a table, in the order they first appear ("" left out)."""
    return [g for g in dict.fromkeys(f.group for f in fields) if g]
