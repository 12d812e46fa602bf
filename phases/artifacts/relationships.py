"""The relationships phase's artifact (relationships.json): primary keys per table, the foreign keys
with their orphans and fan-out, the likely but unverified ones (with their orphans too), and the
nearest misses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from phases.core.records import JsonArtifact, Scalar


@dataclass(frozen=True)
class OrphanExample:
    value: Scalar | tuple[Scalar, ...]  # a tuple for a composite key
    rows: int


@dataclass(frozen=True)
class Relationship:
    id: str  # "child.col->parent.col", or "child.(a, b)->parent.(x, y)" for composite keys
    child_table: str
    child_columns: tuple[str, ...]
    parent_table: str
    parent_columns: tuple[str, ...]
    cardinality: str  # many_to_one | one_to_one
    confidence: float  # 0..1
    child_rows: int  # all rows of the child table
    null_rows: int  # child rows with a null in the key (an inner join drops them too)
    matched_rows: int  # child rows whose key is found in the parent
    orphan_rows: int  # non-null child rows whose key is not found
    orphan_values: int  # distinct such keys
    orphan_examples: tuple[OrphanExample, ...]  # most frequent first
    inner_join_drop_ratio: float  # (child_rows - matched_rows) / child_rows
    fans_out: bool  # a join repeats child rows: a matched key occurs twice in the parent
    fan_out_rows: int  # rows a join adds by repeating
    self_reference: bool
    evidence: Mapping[str, Any] = field(default_factory=dict)  # for a likely one: "unverified_because"


@dataclass(frozen=True)
class Rejected:
    id: str
    child_table: str
    child_columns: tuple[str, ...]
    parent_table: str
    parent_columns: tuple[str, ...]
    confidence: float
    reason: str
    evidence: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TableSummary:
    rows: int
    columns: int


@dataclass(frozen=True)
class Relationships:
    """The relationships artifact of one source."""

    source: str
    tables: Mapping[str, TableSummary]
    primary_keys: Mapping[str, tuple[tuple[str, ...], ...]]  # table -> candidate keys, the primary key first
    relationships: tuple[Relationship, ...]  # the accepted foreign keys, sorted by id
    rejected: tuple[Rejected, ...]  # the nearest misses, most confident first
    search: Mapping[str, int]  # how many pairs each stage considered, pruned and measured
    # Strong but incomplete evidence (containment below the gate, evidence below the acceptance
    # cut, a composite that goes back along another reference): not joined on by other phases,
    # reported with their orphans so unmatched rows are never hidden. Sorted by id.
    likely: tuple[Relationship, ...] = ()


RELATIONSHIPS = JsonArtifact("relationships", "relationships.json", record=Relationships)
