"""The context phase's documents: context.json for programs and context.md for an
agent's prompt.

`ContextDocument` is context.json (schema `dataraum-context/1`, documented field by field in
docs/context-schema.md): the context phase builds it from the entropy scores, the metrics and
the earlier phases' evidence, renders the Markdown from it, and `CONTEXT_DOCUMENT.load` reads it back.
Two spellings differ from the field names, both declared in the field's metadata (see
`phases.core.records`): a relationship's `from_` is written `from` (a Python keyword), and a
column's `values` is left out, not written as null, when the column has none to show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from phases.artifacts.annotations import Aggregation, Role, TableKind
from phases.artifacts.entropy_scores import CompoundRiskHit, Readiness, Resolution
from phases.core.records import JSON_NAME, OMIT_NONE, JsonArtifact, Scalar, TextArtifact

SCHEMA = "dataraum-context/1"



@dataclass(frozen=True)
class DocumentReadiness:
    """The source's readiness and what decided it."""

    level: Readiness
    score: float
    blockers: tuple[str, ...]


@dataclass(frozen=True)
class TableEntry:
    table: str
    kind: TableKind | None  # from the semantic phase; None without annotations
    entity: str | None
    grain: tuple[str, ...]  # the columns that identify one row
    time_column: str | None
    rows: int | None  # None without a table profile
    score: float
    readiness: Readiness
    reasons: tuple[str, ...]
    columns: Mapping[str, int]  # readiness -> number of columns
    duplicate_rows: int | None = None  # rows repeating an earlier row in every column; None without a profile


# --- a column's statistics: which ones depend on what the statistics phase measured ----------


@dataclass(frozen=True)
class NumberColumnStats:
    """A numeric column (no `values`: its spread says more than its most frequent values)."""

    rows: int
    nulls: int
    distinct: int
    min: int | float
    max: int | float
    mean: float
    median: float | None
    negatives: int


@dataclass(frozen=True)
class TemporalColumnStats:
    """A date or timestamp column: its range as ISO 8601 text."""

    rows: int
    nulls: int
    distinct: int
    min: str
    max: str
    values: Mapping[str, int] | None = field(default=None, metadata={OMIT_NONE: True})  # value -> rows


@dataclass(frozen=True)
class BasicColumnStats:
    """Any other column (text, boolean, ...)."""

    rows: int
    nulls: int
    distinct: int
    # value -> rows, for at most 20 distinct values and never for a PII column; left out otherwise
    values: Mapping[str, int] | None = field(default=None, metadata={OMIT_NONE: True})


@dataclass(frozen=True)
class NoColumnStats:
    """A column without a profile: written as `{}`."""


# in the order a reader tries them: the first whose fields the JSON object has
ColumnStats = NumberColumnStats | TemporalColumnStats | BasicColumnStats | NoColumnStats


@dataclass(frozen=True)
class ColumnIssue:
    """One of a column's worst dimensions, with the finding that decided it."""

    dimension: str
    layer: str
    score: float
    description: str
    evidence: Mapping[str, Any]  # the measured numbers behind the score (the detector's own keys)
    resolutions: tuple[Resolution, ...]


@dataclass(frozen=True)
class ColumnEntry:
    table: str
    column: str
    sql: str  # how to write the column in SQL (quoted when needed)
    type: str | None  # from the typing phase
    sql_type: str | None
    role: Role | None  # from the semantic phase; None without an annotation
    concept: str | None
    business_name: str | None
    unit: str | None
    aggregation: Aggregation | None
    time_role: str | None
    pii: str | None
    references: str | None  # "table.column" of the parent key
    money: bool
    description: str | None
    stats: ColumnStats
    score: float
    readiness: Readiness
    layers: Mapping[str, float]  # layer -> score, only layers with findings
    issues: tuple[ColumnIssue, ...]  # worst first


@dataclass(frozen=True)
class RelationshipEntry:
    id: str
    from_: str = field(metadata={JSON_NAME: "from"})  # "table(columns)" of the child
    to: str  # "table(columns)" of the parent
    cardinality: str
    confidence: float
    orphan_rows: int
    null_rows: int
    fans_out: bool
    join_safe: bool  # no finding about the relationship
    issues: tuple[str, ...]
    likely: bool = False  # found likely but not verified by the relationships phase: not a declared join
    unverified_because: str | None = None  # for a likely one: why the relationships phase did not accept it


@dataclass(frozen=True)
class AmbiguousJoin:
    tables: tuple[str, str]  # from, to
    shortest_paths: int
    paths: tuple[tuple[str, ...], ...]  # relationship ids of the first three paths


@dataclass(frozen=True)
class CheckEntry:
    id: str
    name: str
    columns: tuple[str, ...]  # "table.column"
    violations: int | None  # None when skipped
    reason: str | None


@dataclass(frozen=True)
class CheckOutcomes:
    failed: tuple[CheckEntry, ...]
    skipped: tuple[CheckEntry, ...]
    passed: tuple[CheckEntry, ...]


@dataclass(frozen=True)
class SliceDimensionEntry:
    table: str
    column: str
    groups: int
    values: Mapping[str, int]  # value -> rows, the ten largest groups


@dataclass(frozen=True)
class DepartureEntry:
    table: str
    column: str
    value: Scalar
    rows: int
    score: float
    reasons: tuple[str, ...]  # the three largest


@dataclass(frozen=True)
class VolumeAnomalyEntry:
    table: str
    column: str
    value: Scalar
    period: str
    rows: int
    median: float
    direction: str  # high | low
    partial_period: bool


@dataclass(frozen=True)
class SliceSummary:
    dimensions: tuple[SliceDimensionEntry, ...]
    departures: tuple[DepartureEntry, ...]
    volume_anomalies: tuple[VolumeAnomalyEntry, ...]  # at most 30, partial periods left out


@dataclass(frozen=True)
class CycleEntry:
    id: str
    name: str
    confidence: float
    tables: tuple[str, ...]
    stages: tuple[str, ...]  # "stage: table"
    metrics: Mapping[str, float | None]  # name -> value
    metric_sql: Mapping[str, str]  # name -> the query that measured it
    not_measured: tuple[str, ...]  # "metric: reason"
    missing: tuple[str, ...]


@dataclass(frozen=True)
class MissingTable:
    """A table of the source left out of the context: its file could not be used."""

    table: str
    task: str  # the task that failed on it ('import:src.table')
    reason: str


@dataclass(frozen=True)
class MetricEntry:
    """A business metric of the metrics phase in its best-covered year (metrics.json has every
    period and the SQL)."""

    metric: str
    label: str
    unit: str | None
    period: str | None  # the year with the most months of values; None when refused outright
    value: float | None  # None when refused: a refused value is not for use
    verdict: str  # answer | answer_with_caveats | refuse
    caveats: tuple[str, ...]  # at most three, the refusal's reason first
    months: Mapping[str, int]  # verdict -> months of that year with it


@dataclass(frozen=True)
class ContextDocument:
    """context.json: what an agent reads before it writes SQL over a source."""

    schema: str  # SCHEMA
    source: str
    readiness: DocumentReadiness
    guidance: tuple[str, ...]  # instructions to follow before writing SQL
    tables: tuple[TableEntry, ...]  # most uncertain first
    columns: tuple[ColumnEntry, ...]  # most uncertain first
    relationships: tuple[RelationshipEntry, ...]
    ambiguous_joins: tuple[AmbiguousJoin, ...]
    validations: CheckOutcomes
    slices: SliceSummary
    business_cycles: tuple[CycleEntry, ...]
    compound_risks: tuple[CompoundRiskHit, ...]
    missing_tables: tuple[MissingTable, ...] = ()  # tables whose file failed: nothing here describes them
    metrics: tuple[MetricEntry, ...] = ()  # business metrics with their verdicts, in configuration order


CONTEXT_DOCUMENT = JsonArtifact("context_document", "context.json", record=ContextDocument)
CONTEXT_MARKDOWN = TextArtifact("context_markdown", "context.md")
