"""The typing phase's decisions (column_types.json) and their one typed reader.

Kept apart from the typing code so that phases reading the decisions do not take
the type-inference module into their code signature (a change to how types are
inferred reruns typing; later phases rerun only if its output changes)."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Literal

from phases.core.errors import PhaseError

COLUMN_TYPES_FILE = "column_types.json"


@dataclass(frozen=True)
class ColumnTyping:
    """The typing decision for one column; every field is JSON-friendly. Only name and
    type are required when reading, so a hand-written file needs no more."""

    name: str
    type: str
    sql_type: str | None = None
    format: str | None = None
    decimal_separator: str | None = None
    unit: str | None = None
    units: tuple[tuple[str, int], ...] = ()  # (currency, count) when a column mixes currencies
    confidence: float | None = None
    parse_rate: float | None = None  # share of the column's non-null values that parse, full column
    non_null: int | None = None
    failures: int = 0
    failure_examples: tuple[str, ...] = ()
    alternatives: tuple[tuple[str, float], ...] = ()  # (type, sample match rate) of other matches
    ambiguous: bool = False
    mixed: bool = False  # True when a currency column mixes currencies (see units)
    note: str | None = None
    decided_by: Literal["inferred", "override"] = "inferred"


_PAIRS = ("units", "alternatives")
_FIELDS = {f.name for f in fields(ColumnTyping)}


def load_column_types(path: Path) -> dict[str, ColumnTyping]:
    """column_types.json as column name -> its typing decision, in table order."""
    try:
        columns = {}
        for raw in json.loads(path.read_text(encoding="utf-8"))["columns"]:
            record = {k: v for k, v in raw.items() if k in _FIELDS}
            for key in _PAIRS:
                record[key] = tuple((a, b) for a, b in record.get(key) or ())
            record["failure_examples"] = tuple(record.get("failure_examples") or ())
            columns[raw["name"]] = ColumnTyping(**record)
        return columns
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise PhaseError(
            f"{path}: expected {{'columns': [{{'name': ..., 'type': ..., 'unit': ..., 'units': [...]}}]}} "
            f"({type(exc).__name__}: {exc}); rerun the typing phase"
        ) from None
