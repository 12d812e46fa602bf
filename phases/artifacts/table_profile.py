"""The statistics phase's table-level profile (table_profile.json): rows, candidate keys, duplicates."""

from __future__ import annotations

from dataclasses import dataclass

from phases.core.records import JsonArtifact


@dataclass(frozen=True)
class DuplicateRows:
    rows: int  # rows equal (in every column but _row_id) to an earlier row
    groups: int  # distinct row contents that occur more than once
    examples: tuple[tuple[int, ...], ...]  # row ids of the first groups (by first row id)
    method: str  # how it was established: "grouped all columns", or implied by a unique column


@dataclass(frozen=True)
class TableProfile:
    table: str
    rows: int
    columns: tuple[str, ...]  # without _row_id, in table order
    candidate_keys: tuple[tuple[str, ...], ...]  # unique non-null columns, else minimal unique pairs
    key_pairs_checked: int  # column pairs tested for uniqueness (0 when a single column is a key)
    duplicates: DuplicateRows


TABLE_PROFILE = JsonArtifact("table_profile", "table_profile.json", record=TableProfile)
