"""The metrics phase's artifact (metrics.json) and its typed reader.

One entry per metric of config/metrics.yaml: what it means, the formula over its steps, the
columns and joins it used, and one value per period (month and year) with its verdict. Every
SQL statement the phase ran is kept, with the Parquet file behind each table name, so a person
can rerun it: `CREATE VIEW "t" AS SELECT * FROM read_parquet('<file>')`, then the statement.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from phases.core.records import JsonArtifact

# answer: use it; answer_with_caveats: use it, saying the caveats; refuse: do not use it
Verdict = Literal["answer", "answer_with_caveats", "refuse"]
VERDICTS: tuple[Verdict, ...] = ("answer", "answer_with_caveats", "refuse")


@dataclass(frozen=True)
class StepValue:
    """One step of a metric in one period."""

    step: str
    value: float | None  # None when the period holds no rows for it
    rows: int  # rows (or cells) the step read in the period
    missing: int  # of them, rows whose value was NULL or did not parse (they count as 0)
    other_currency: int = 0  # rows in another currency than the column's main one (not converted)


@dataclass(frozen=True)
class MetricValue:
    period: str  # "2025" or "2025-03"
    value: float | None  # None when refused for want of a value (division by zero, no rows)
    verdict: Verdict
    entropy: float  # the worst entropy score among the metric's input columns
    caveats: tuple[str, ...]  # what the reader must know, each one sentence with numbers; the refusal's reason first
    steps: tuple[StepValue, ...]
    interpretation: str | None = None  # the configured range the value falls in


@dataclass(frozen=True)
class MetricResult:
    metric: str
    label: str
    unit: str | None  # "currency", "days", "ratio", "percent"
    description: str
    formula: str
    inputs: tuple[str, ...]  # "table.column" read by its steps, sorted
    joins: tuple[str, ...]  # relationship ids its steps join along, sorted
    statements: tuple[str, ...]  # ids of the statements its steps ran
    values: tuple[MetricValue, ...]  # years first, then months, each in time order
    refusal: str | None = None  # set when no period can be computed, e.g. "cannot compute: concept debit missing"

    def value(self, period: str) -> MetricValue | None:
        return next((v for v in self.values if v.period == period), None)


@dataclass(frozen=True)
class Statement:
    id: str  # "<metric>.<step>[.<n>]"
    purpose: str  # one sentence: what the rows it returns are
    sql: str


@dataclass(frozen=True)
class Metrics:
    source: str
    tables: Mapping[str, str]  # table -> its typed Parquet file, relative to the project root
    metrics: tuple[MetricResult, ...]  # in configuration order
    statements: tuple[Statement, ...]  # every statement executed, in execution order

    def metric(self, name: str) -> MetricResult | None:
        return next((m for m in self.metrics if m.metric == name), None)


METRICS = JsonArtifact("metrics", "metrics.json", record=Metrics)
