"""The business_cycles phase's artifact (cycles.json) and its typed reader.

Kept apart from the detection code so that readers (entropy, the context document) do not
take the vocabulary matching into their code signature.
"""

from __future__ import annotations

from dataclasses import dataclass

from phases.core.records import JsonArtifact, Scalar


@dataclass(frozen=True)
class Stage:
    name: str  # stage of the cycle's vocabulary, e.g. vendor_invoice
    table: str
    matched_by: str  # entity | document_type | table_name
    rows: int  # rows of the stage: the table's, or those of its document types
    document_column: str | None = None  # the document-type column, when the stage is some rows of a table
    document_values: tuple[Scalar, ...] = ()  # its values that mark the stage, as they occur in the data
    status_column: str | None = None
    date_column: str | None = None  # the stage's event date, when it is a typed date


@dataclass(frozen=True)
class CycleColumn:
    table: str
    column: str
    use: str  # status | document_type | party | date | due_date | link | balance | flag


@dataclass(frozen=True)
class Metric:
    name: str  # e.g. vendor_invoice_completed_share, vendor_invoice_to_payment_days_avg
    value: float | None  # None when the data holds nothing to average (no matched pair)
    unit: str  # share | days | count
    sql: str  # the query that measured it, to rerun by hand
    description: str


@dataclass(frozen=True)
class SkippedMetric:
    name: str
    reason: str


@dataclass(frozen=True)
class Cycle:
    id: str  # vocabulary id, e.g. procure_to_pay
    name: str
    confidence: float  # 0..1
    tables: tuple[str, ...]
    columns: tuple[CycleColumn, ...]
    stages: tuple[Stage, ...]  # in the order of the vocabulary
    metrics: tuple[Metric, ...]
    skipped: tuple[SkippedMetric, ...]  # metrics the data cannot give, with the reason
    missing: tuple[str, ...]  # what the data lacks to measure the cycle fully
    evidence: tuple[str, ...]  # how it was recognised


@dataclass(frozen=True)
class NotDetected:
    id: str
    name: str
    confidence: float
    reason: str  # why not, naming what was looked for
    stages_found: tuple[str, ...]  # "stage: table" of the stages that did match


@dataclass(frozen=True)
class Cycles:
    source: str
    cycles: tuple[Cycle, ...]  # in vocabulary order
    not_detected: tuple[NotDetected, ...]  # in vocabulary order


CYCLES = JsonArtifact("cycles", "cycles.json", record=Cycles)
