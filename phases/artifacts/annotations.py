"""The semantic phase's artifact (annotations.json) and its typed reader.

Kept apart from the annotation code so the phases that read meanings (slicing,
business_cycles, validation, entropy) do not take the semantic module, its ontology
matching or its LLM client into their code signature.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from phases.core.records import JsonArtifact

Role = Literal["key", "foreign_key", "measure", "dimension", "timestamp", "attribute", "identifier"]
TableKind = Literal["fact", "dimension", "bridge", "reference"]
# how a measure adds up: over rows and time (additive), not over time (point_in_time, e.g. a
# balance), not at all (non_additive, e.g. a rate or a price)
Aggregation = Literal["additive", "point_in_time", "non_additive"]
NameClarity = Literal["clear", "abbreviated", "unclear"]
DecidedBy = Literal["inferred", "override", "llm"]


@dataclass(frozen=True)
class AnnotationEvidence:
    kind: str  # name | statistics | relationship | values | type | ontology | override | llm
    detail: str  # one readable sentence with the measured numbers


@dataclass(frozen=True)
class ColumnAnnotation:
    table: str
    column: str
    role: Role
    business_name: str  # readable: "vid" with a vendor relationship -> "Vendor ID"
    concept: str | None  # ontology concept id, e.g. "revenue", "vendor", "due_date"; None when nothing matched
    concept_confidence: float  # 0..1; 0 when concept is None
    unit: str | None  # "USD", "percent", ...; None when unknown or not a quantity
    unit_source: str | None  # typing | name | ontology | values | override
    aggregation: Aggregation | None  # for measures; None otherwise
    time_role: str | None  # for dates: event | due | period | created | effective | None when unclear
    name_clarity: NameClarity  # unclear or abbreviated names are an uncertainty of their own
    pii: str | None  # email | phone | person_name | address | card_number | national_id | None
    references: str | None  # the whole FK: "table.column", or "table(p1, p2) on (c1, c2)" for a composite one
    description: str  # short, built from the evidence; never contains sample values of PII columns
    confidence: float  # of the whole annotation, 0..1
    decided_by: DecidedBy
    evidence: tuple[AnnotationEvidence, ...] = ()
    money: bool = False  # values are money: the concept's unit is a currency (ontology) or the column is typed currency
    # why a numeric column may or may not be summed, with the evidence: the aggregation's reason for a measure,
    # the role's for numbers that are no measure (calendar parts, clock times, codes, references); None otherwise
    aggregation_reason: str | None = None


@dataclass(frozen=True)
class TableAnnotation:
    table: str
    kind: TableKind
    entity: str | None  # ontology concept of one row, e.g. "invoice", "journal_line"
    grain: tuple[str, ...]  # the columns that identify one row (a key), () when none does
    time_column: str | None  # the main event date of the table
    rows: int
    confidence: float
    evidence: tuple[AnnotationEvidence, ...] = ()
    # every accepted foreign key of the table as one reference, a composite one with all its columns
    # together: 'parent.column' or 'parent(p1, p2) on (c1, c2)'
    references: tuple[str, ...] = ()


@dataclass(frozen=True)
class LlmStatus:
    enabled: bool
    provider: str | None = None
    model: str | None = None
    prompt_version: str | None = None
    used: bool = False  # True when a response refined the result
    cached: bool = False
    warning: str | None = None  # why the deterministic result stands (timeout, malformed answer, ...)


@dataclass(frozen=True)
class Annotations:
    source: str
    ontologies: tuple[str, ...]  # ontology names used, in matching order
    tables: Mapping[str, TableAnnotation]
    columns: tuple[ColumnAnnotation, ...]  # by table, then table order
    llm: LlmStatus = field(default_factory=lambda: LlmStatus(enabled=False))

    def column(self, table: str, column: str) -> ColumnAnnotation | None:
        for c in self.columns:
            if c.table == table and c.column == column:
                return c
        return None

    def of_table(self, table: str) -> tuple[ColumnAnnotation, ...]:
        return tuple(c for c in self.columns if c.table == table)

    def with_concept(self, *concepts: str, table: str | None = None) -> tuple[ColumnAnnotation, ...]:
        """Columns annotated with any of `concepts` (optionally of one table), by confidence."""
        found = [c for c in self.columns if c.concept in concepts and (table is None or c.table == table)]
        return tuple(sorted(found, key=lambda c: (-c.concept_confidence, c.table, c.column)))


ANNOTATIONS = JsonArtifact("annotations", "annotations.json", record=Annotations)
