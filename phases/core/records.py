"""Artifacts as frozen dataclasses, and how they are spelled on disk.

An artifact is declared once, in `phases.artifacts`, as an `ArtifactSpec`: its name in
pipeline.yaml, its file name and, for JSON artifacts, its record type. A phase writes a record
with `dump_json` (canonical JSON of `dataclasses.asdict`); a later phase reads it back with
`load_record(Type, path, producer)`, which rebuilds nested dataclasses, tuples and mappings
from the type hints, so the record class is the one description of the artifact's shape.

A field may carry metadata for its JSON spelling: `JSON_NAME` (its key when that differs from
the field's name, e.g. `from`, a Python keyword) and `OMIT_NONE` (left out, not null, when None).

Supported field types: JSON scalars, `X | None`, `Literal[...]`, `Any`, dataclasses,
`tuple[X, ...]`, fixed tuples `tuple[A, B]`, `Mapping[str, X]` / `dict[str, X]`.

Values inside records (top values, examples, min/max of numbers) are JSON scalars: int,
float, bool, str (dates and timestamps as ISO 8601 text) or None, floats rounded by
`round_sig` so reruns are byte-identical and the manifest's digest cuts off reruns downstream.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import functools
import json
import math
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from phases.core.errors import StateError
from phases.core.manifest import canonical_json, write_atomically

T = TypeVar("T")

# Field metadata of a record's JSON spelling (see the module docstring).
JSON_NAME = "json_name"
OMIT_NONE = "omit_none"


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def from_json(tp: Any, value: Any) -> Any:
    """`value` (parsed JSON) converted to the type `tp`; raises TypeError/ValueError when it does not fit."""
    try:
        convert = _converter(tp)
    except TypeError:  # an unhashable type annotation: built for this call only
        convert = _build_converter(tp)
    return convert(value)


Converter = typing.Callable[[Any], Any]


@functools.cache
def _converter(tp: Any) -> Converter:
    """The conversion of JSON data to `tp`, worked out once per type: reading a record then costs a
    call per value instead of inspecting the type hints again at every value (the temporal profiles
    of a 2,000-column file hold millions of them)."""
    return _build_converter(tp)


def _build_converter(tp: Any) -> Converter:
    if tp is Any or tp is object:
        return _same
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return _union(tp)
    if origin is typing.Literal:
        return functools.partial(_literal, typing.get_args(tp))
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _record(tp)
    if origin is tuple:
        return _tuple(tp)
    if origin in (dict, Mapping) or tp in (dict, Mapping):
        args = typing.get_args(tp) or (str, Any)
        return functools.partial(_mapping, tp, _lazy(args[1]))
    if origin is list or tp is list:
        item = _lazy((typing.get_args(tp) or (Any,))[0])
        return lambda value: [item(v) for v in value]
    if tp is float:
        return _float
    if tp in (int, str, bool):
        return functools.partial(_scalar, tp)
    if tp is type(None):
        return _none
    return functools.partial(_unsupported, tp)


def _lazy(tp: Any) -> Converter:
    """The converter of `tp`, looked up at the first value: a record may contain its own type."""
    found: list[Converter] = []

    def convert(value: Any) -> Any:
        if not found:
            found.append(_converter(tp) if _hashable(tp) else _build_converter(tp))
        return found[0](value)
    return convert


def _hashable(tp: Any) -> bool:
    try:
        hash(tp)
    except TypeError:
        return False
    return True


def _same(value: Any) -> Any:
    return value


def _union(tp: Any) -> Converter:
    args = typing.get_args(tp)
    nullable = type(None) in args
    options = [_lazy(arg) for arg in args if arg is not type(None)]

    def convert(value: Any) -> Any:
        if value is None and nullable:
            return None
        errors = []
        for option in options:
            try:
                return option(value)
            except (TypeError, ValueError, KeyError) as exc:
                errors.append(str(exc))
        raise TypeError(f"{value!r} fits none of {tp}: {'; '.join(errors)}")
    return convert


def _literal(allowed: tuple[Any, ...], value: Any) -> Any:
    if value not in allowed:
        raise ValueError(f"{value!r} is not one of {allowed}")
    return value


def _record(tp: type) -> Converter:
    hints = _hints(tp)
    fields = {f.metadata.get(JSON_NAME, f.name): (f.name, _lazy(hints[f.name])) for f in dataclasses.fields(tp)
              if f.init}

    def convert(value: Any) -> Any:
        if not isinstance(value, Mapping):
            raise TypeError(f"{tp.__name__}: expected an object, got {type(value).__name__}")
        return tp(**{field[0]: field[1](v) for k, v in value.items() if (field := fields.get(k)) is not None})
    return convert


def _tuple(tp: Any) -> Converter:
    args = typing.get_args(tp)
    if len(args) == 2 and args[1] is Ellipsis:
        item = _lazy(args[0])

        def variadic(value: Any) -> Any:
            if not isinstance(value, list | tuple):
                raise TypeError(f"expected a list for {tp}, got {type(value).__name__}")
            return tuple(item(v) for v in value)
        return variadic
    items = [_lazy(a) for a in args]

    def fixed(value: Any) -> Any:
        if not isinstance(value, list | tuple):
            raise TypeError(f"expected a list for {tp}, got {type(value).__name__}")
        if len(args) != len(value):
            raise ValueError(f"expected {len(args)} items for {tp}, got {len(value)}")
        return tuple(c(v) for c, v in zip(items, value, strict=True))
    return fixed


def _mapping(tp: Any, item: Converter, value: Any) -> Any:
    if not isinstance(value, Mapping):
        raise TypeError(f"expected an object for {tp}, got {type(value).__name__}")
    return {k: item(v) for k, v in value.items()}


def _float(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {value!r}")
    return float(value)


def _scalar(tp: type, value: Any) -> Any:
    if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
        raise TypeError(f"expected {tp.__name__}, got {value!r}")
    return value


def _none(value: Any) -> None:
    if value is not None:
        raise TypeError(f"expected null, got {value!r}")


def _unsupported(tp: Any, value: Any) -> Any:
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


# --- values inside records ---------------------------------------------------------------------

Scalar = int | float | bool | str | None

SIGNIFICANT_DIGITS = 10  # enough for any statistic; few enough to hide float noise between runs


def round_sig(value: float | None, digits: int = SIGNIFICANT_DIGITS) -> float | None:
    """Round to `digits` significant digits; NaN and infinities become None (JSON has no spelling)."""
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    rounded = float(f"{value:.{digits}g}")
    return 0.0 if rounded == 0 else rounded  # no "-0.0" in the JSON


def round_scaled(value: float | None, scale: float, digits: int = SIGNIFICANT_DIGITS) -> float | None:
    """Round to `digits` significant digits of `scale`, then of the value itself. Sums that DuckDB
    splits over threads differ in their last bits from run to run; relative to the value that
    noise is harmless unless the value is itself noise, like the skewness of a symmetric column
    (1e-15, then -4e-15) or the mean of one centred on zero. Measured against the column's scale
    (or 1 for unitless statistics) that noise rounds away, and reruns stay byte-identical."""
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    if scale and not math.isinf(scale):
        value = round(value, digits - 1 - math.floor(math.log10(abs(scale))))
    return round_sig(value, digits)


def json_scalar(value: Any) -> Scalar:
    """A value fetched from DuckDB as a JSON scalar: rounded floats, ISO dates."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return round_sig(value)
    if isinstance(value, decimal.Decimal):
        return round_sig(float(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def to_json(value: Any) -> Any:
    """A record as JSON data: `dataclasses.asdict`, with the fields' JSON spelling applied."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        body: dict[str, Any] = {}
        for name, key, omit_none in _spelling(type(value)):
            item = getattr(value, name)
            if not (item is None and omit_none):
                body[key] = to_json(item)
        return body
    if isinstance(value, Mapping):
        return {key: to_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    return value


@functools.cache
def _spelling(cls: type) -> tuple[tuple[str, str, bool], ...]:
    """(field, JSON key, left out when None) of every field of a record class, worked out once."""
    return tuple((f.name, f.metadata.get(JSON_NAME, f.name), bool(f.metadata.get(OMIT_NONE)))
                 for f in dataclasses.fields(cls))


def dump_json(path: Path, record: Any) -> None:
    """Write a record (a dataclass) as canonical JSON, atomically."""
    write_atomically(path, canonical_json(to_json(record)))


# --- artifact declarations ---------------------------------------------------------------------

ArtifactKind = Literal["json", "table", "text"]


@dataclass(frozen=True)
class ArtifactSpec:
    """An artifact as pipeline.yaml names it, and the file its producer writes."""

    name: str  # the artifact's name in pipeline.yaml
    file: str  # file name inside the producing task's folder
    kind: ArtifactKind = "text"


@dataclass(frozen=True)
class TableArtifact(ArtifactSpec):
    """A Parquet file; phases read it with DuckDB, never into Python."""

    kind: ArtifactKind = "table"


@dataclass(frozen=True)
class TextArtifact(ArtifactSpec):
    """A text file (Markdown, or a project's own format)."""

    kind: ArtifactKind = "text"


@dataclass(frozen=True)
class JsonArtifact(ArtifactSpec, Generic[T]):
    """A JSON file holding one record of type `record`, written by `dump_json`."""

    record: type[T] = object  # type: ignore[assignment]  # always given; a default only for dataclass order
    kind: ArtifactKind = "json"

    def load(self, path: Path, producer: str | None = None) -> T:
        """The record in `path`; errors name the phase to rerun (`producer`)."""
        return load_record(self.record, path, producer or "producing")

    def dump(self, folder: Path, record: T) -> Path:
        if not isinstance(record, self.record):
            raise TypeError(f"artifact {self.name!r} holds a {self.record.__name__}, not a {type(record).__name__}")
        path = folder / self.file
        dump_json(path, record)
        return path
