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
    candidate_keys: tuple[tuple[str, ...], ...]  # minimal unique non-null column sets, most plausible first
    chance_unique: tuple[str, ...]  # (nearly) unique columns whose values are spread so thin that
    # uniqueness is expected by chance (a measure such as a population, not an identifier)
    key_sets_checked: int  # composite column sets counted in the key search
    key_search_complete: bool  # False when the search's budget cut it short (keys may be missing)
    duplicates: DuplicateRows


TABLE_PROFILE = JsonArtifact("table_profile", "table_profile.json", record=TableProfile)
