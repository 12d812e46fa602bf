"""The Parquet artifacts of the ingest phases, and the import task's manifest summary.

Tables are read with DuckDB (`read_parquet`), never into Python; their schema and row count
are in the producing task's manifest."""

from __future__ import annotations

from dataclasses import dataclass

from phases.core.records import TableArtifact

RAW_TABLE = TableArtifact("raw_table", "raw.parquet")  # every column as text, plus _row_id
QUARANTINE = TableArtifact("quarantine", "quarantine.parquet")  # file, line, reason, raw_line
TYPED_TABLE = TableArtifact("typed_table", "typed.parquet")  # the typed columns, plus _row_id
CAST_FAILURES = TableArtifact("cast_failures", "cast_failures.parquet")  # values that did not cast


@dataclass(frozen=True)
class ImportSummary:
    """What the import task's manifest summary says of its file (the part other phases read)."""

    table: str
    file: str  # the CSV file's name
    rows_loaded: int
    rows_quarantined: int
