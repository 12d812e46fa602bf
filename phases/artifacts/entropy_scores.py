"""The entropy phase's artifact (entropy_scores.json) and its typed reader.

An *entropy object* is one detector's verdict on one target: a column ("table.column"), a
table, or a relationship (its id). Column, table and source scores aggregate them; the
context document is rendered from this record, so both always agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from phases.core.records import JsonArtifact

SCHEMA_VERSION = 1

Readiness = Literal["ready", "investigate", "blocked"]
TargetKind = Literal["column", "table", "relationship"]


@dataclass(frozen=True)
class Resolution:
    action: str  # what a person (or the agent) can do, e.g. "declare what nulls mean"
    expected_reduction: float  # how much of the score it would remove (0..1)
    effort: Literal["low", "medium", "high"]


@dataclass(frozen=True)
class EntropyObject:
    target_kind: TargetKind
    target: str  # "table.column", "table", or a relationship id
    table: str | None  # the table it belongs to (the child table for a relationship)
    column: str | None
    layer: str  # structural | value | semantic | computational
    dimension: str
    detector: str  # which detector said so
    score: float  # 0 (use as is) .. 1 (wrong answers)
    confidence: float  # how sure the detector is of its own score
    summary: str  # one sentence with the numbers
    evidence: Mapping[str, Any] = field(default_factory=dict)
    resolutions: tuple[Resolution, ...] = ()


@dataclass(frozen=True)
class DimensionScore:
    dimension: str
    layer: str
    score: float
    summary: str


@dataclass(frozen=True)
class CompoundRiskHit:
    target: str
    dimensions: tuple[str, str]
    multiplier: float
    description: str


@dataclass(frozen=True)
class ColumnEntropy:
    table: str
    column: str
    score: float
    readiness: Readiness
    layers: Mapping[str, float]  # layer -> score, only layers with findings
    top: tuple[DimensionScore, ...]  # worst dimensions first
    reasons: tuple[str, ...]  # why the readiness is what it is
    compound_risks: tuple[CompoundRiskHit, ...] = ()


@dataclass(frozen=True)
class TableEntropy:
    table: str
    score: float
    readiness: Readiness
    reasons: tuple[str, ...]
    columns: Mapping[str, int]  # readiness -> number of columns


@dataclass(frozen=True)
class EntropyScores:
    version: int
    source: str
    score: float
    readiness: Readiness
    blockers: tuple[str, ...]  # the findings that decided the source's readiness
    tables: tuple[TableEntropy, ...]
    columns: tuple[ColumnEntropy, ...]  # most uncertain first
    objects: tuple[EntropyObject, ...]  # every finding, most severe first
    compound_risks: tuple[CompoundRiskHit, ...]

    def column(self, table: str, column: str) -> ColumnEntropy | None:
        return next((c for c in self.columns if c.table == table and c.column == column), None)


ENTROPY_SCORES = JsonArtifact("entropy_scores", "entropy_scores.json", record=EntropyScores)
