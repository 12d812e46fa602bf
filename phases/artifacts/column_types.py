"""The typing phase's decisions (column_types.json).

Kept apart from the typing code so that phases reading the decisions do not take
the type-inference module into their code signature (a change to how types are
inferred reruns typing; later phases rerun only if its output changes)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from phases.artifacts.tables import NullToken
from phases.core.records import JsonArtifact


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
    mixed: bool = False  # True when a column mixes currencies (see units) or formats (see formats)
    # a column written in several formats (dates in several layouts), read where they agree:
    # (format, values no other date format reads), the most used first
    formats: tuple[tuple[str, int], ...] = ()
    note: str | None = None
    decided_by: Literal["inferred", "override"] = "inferred"
    # how the import read each configured null token found in the column: NULL, or kept as
    # the value it is there (Namibia's 'NA'); ambiguous ones say why
    null_tokens: tuple[NullToken, ...] = ()


@dataclass(frozen=True)
class ColumnTypes:
    """The column_types artifact: one table's typing decisions in table order."""

    table: str
    rows: int
    cast_failures: int  # values of all columns that did not cast (kept in cast_failures.parquet)
    columns: tuple[ColumnTyping, ...]

    @cached_property
    def by_name(self) -> Mapping[str, ColumnTyping]:
        """Column name -> its typing decision, in table order."""
        return {c.name: c for c in self.columns}


COLUMN_TYPES = JsonArtifact("column_types", "column_types.json", record=ColumnTypes)
