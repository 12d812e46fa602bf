"""Artifacts as frozen dataclasses: one generic reader instead of one hand-written per artifact.

A phase writes a record with `dump_json` (canonical JSON of `dataclasses.asdict`); a later
phase reads it back with `load_record(Type, path, producer)`, which rebuilds nested
dataclasses, tuples and mappings from the type hints, so the record class is the one
description of the artifact's shape.

Supported field types: JSON scalars, `X | None`, `Literal[...]`, `Any`, dataclasses,
`tuple[X, ...]`, fixed tuples `tuple[A, B]`, `Mapping[str, X]` / `dict[str, X]`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from phases.core.errors import StateError

T = TypeVar("T")


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_json(tp: Any, value: Any) -> Any:
    """`value` (parsed JSON) converted to the type `tp`; raises TypeError/ValueError when it does not fit."""
    if tp is Any or tp is object:
        return value
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return from_json(arg, value)
            except (TypeError, ValueError, KeyError) as exc:
                errors.append(str(exc))
        raise TypeError(f"{value!r} fits none of {tp}: {'; '.join(errors)}")
    if origin is typing.Literal:
        if value not in typing.get_args(tp):
            raise ValueError(f"{value!r} is not one of {typing.get_args(tp)}")
        return value
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, Mapping):
            raise TypeError(f"{tp.__name__}: expected an object, got {type(value).__name__}")
        hints = _hints(tp)
        known = {f.name for f in dataclasses.fields(tp) if f.init}
        return tp(**{k: from_json(hints[k], v) for k, v in value.items() if k in known})
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise TypeError(f"expected a list for {tp}, got {type(value).__name__}")
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(from_json(args[0], v) for v in value)
        if len(args) != len(value):
            raise ValueError(f"expected {len(args)} items for {tp}, got {len(value)}")
        return tuple(from_json(a, v) for a, v in zip(args, value, strict=True))
    if origin in (dict, Mapping) or tp in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise TypeError(f"expected an object for {tp}, got {type(value).__name__}")
        args = typing.get_args(tp) or (str, Any)
        return {k: from_json(args[1], v) for k, v in value.items()}
    if origin is list or tp is list:
        args = typing.get_args(tp) or (Any,)
        return [from_json(args[0], v) for v in value]
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"expected a number, got {value!r}")
        return float(value)
    if tp in (int, str, bool):
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise TypeError(f"expected {tp.__name__}, got {value!r}")
        return value
    if tp is type(None):
        if value is not None:
            raise TypeError(f"expected null, got {value!r}")
        return None
    raise TypeError(f"unsupported type {tp!r}")


def load_record(cls: type[T], path: Path, producer: str) -> T:
    """Read the JSON artifact at `path` as a `cls`; a missing or malformed file names the
    phase (`producer`) to rerun."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StateError(f"{path}: artifact missing; run the {producer} phase first") from None
    except json.JSONDecodeError as exc:
        raise StateError(f"{path}: not valid JSON ({exc}); forget and rerun the {producer} phase") from None
    try:
        return from_json(cls, data)
    except (TypeError, ValueError, KeyError) as exc:
        raise StateError(
            f"{path}: does not match {cls.__name__} ({exc}); forget and rerun the {producer} phase"
        ) from None
