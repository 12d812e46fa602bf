"""The Parquet artifacts of the ingest phases, and the import task's manifest summary.

Tables are read with DuckDB (`read_parquet`), never into Python; their schema and row count
are in the producing task's manifest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from phases.core.records import TableArtifact

RAW_TABLE = TableArtifact("raw_table", "raw.parquet")  # every column as text, plus _row_id
QUARANTINE = TableArtifact("quarantine", "quarantine.parquet")  # file, line, reason, raw_line
TYPED_TABLE = TableArtifact("typed_table", "typed.parquet")  # the typed columns, plus _row_id
CAST_FAILURES = TableArtifact("cast_failures", "cast_failures.parquet")  # values that did not cast


@dataclass(frozen=True)
class NullToken:
    """How the import read one configured null token ('NA', 'None', ...) in one column: as
    NULL where it behaves like one there, else as the value it is (Namibia's 'NA' among
    two-letter country codes). Only tokens that occur in the column are listed."""

    column: str
    token: str
    rows: int  # rows of the column holding exactly the token
    read_as: Literal["null", "value"]
    ambiguous: bool  # the evidence points both ways; `reason` says which way and why
    reason: str


@dataclass(frozen=True)
class ImportEncoding:
    """How the file's bytes were decoded (the part of the import's dialect other phases read)."""

    encoding: str
    encoding_source: str  # "detected" or "declared"
    encoding_note: str | None = None  # why this encoding, among several readings
    encoding_alternatives: tuple[str, ...] = ()  # readings about as plausible: the choice is ambiguous


@dataclass(frozen=True)
class ImportSummary:
    """What the import task's manifest summary says of its file (the part other phases read)."""

    table: str
    file: str  # the CSV file's name
    rows_loaded: int
    rows_quarantined: int
    null_tokens: tuple[NullToken, ...] = ()  # in column order, then token order
    dialect: ImportEncoding | None = None
