"""The metrics phase: business metrics computed from the context, with a verdict on each value.

The metric graphs of config/metrics.yaml name ontology concepts; phases.metrics.plans turns
each step into SQL over the columns the semantic phase gave those concepts, joined along the
relationships; the statements run read-only on the typed Parquet of the tables (DuckDB views
over read_parquet); phases.metrics.periods rolls the monthly rows up to months and years and
evaluates the formula; phases.metrics.verdicts weighs the evidence into answer, answer with
caveats or refuse. metrics.json keeps every statement executed.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from phases.artifacts.annotations import ANNOTATIONS, Annotations
from phases.artifacts.entropy_scores import ENTROPY_SCORES, EntropyScores
from phases.artifacts.metrics import METRICS, MetricResult, Metrics, MetricValue, Statement, StepValue
from phases.artifacts.relationships import RELATIONSHIPS, Relationships
from phases.artifacts.tables import TYPED_TABLE
from phases.artifacts.validations import VALIDATIONS, Validations
from phases.core.context import PhaseOutput, SourceContext
from phases.core.errors import Unresolved
from phases.core.records import round_sig
from phases.core.sql import quote_ident, quote_literal
from phases.metrics import verdicts as v
from phases.metrics.periods import FormulaError, MonthRow, constants, evaluate, merge, periods, roll_up
from phases.metrics.plans import Plan, Resolver
from phases.metrics.settings import CellsStep, MetricSpec, MetricsSettings, read_settings

if TYPE_CHECKING:
    import duckdb


@dataclass(frozen=True)
class Evidence:
    """What the verdicts weigh besides the statements' own counts."""

    scores: EntropyScores | None
    validations: Validations | None
    settings: MetricsSettings


class Runner:
    """Runs each distinct statement once (steps shared by metrics share it) and keeps it."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.statements: list[Statement] = []
        self.done: dict[str, tuple[str, list[MonthRow]]] = {}

    def run(self, statement_id: str, plan: Plan) -> tuple[str, list[MonthRow]]:
        if plan.sql not in self.done:
            rows = [MonthRow(month, None if value is None else float(value), int(n), int(missing), int(other),
                             first, last)
                    for month, value, n, missing, other, first, last in self.con.execute(plan.sql).fetchall()]
            self.statements.append(Statement(statement_id, plan.purpose, plan.sql))
            self.done[plan.sql] = (statement_id, rows)
        return self.done[plan.sql]


def open_tables(con: duckdb.DuckDBPyConnection, paths: Mapping[str, Path]) -> None:
    """Each typed table as a view of its name over its Parquet file: nothing is copied or changed."""
    for table, path in sorted(paths.items()):
        con.execute(f"CREATE VIEW {quote_ident(table)} AS SELECT * FROM read_parquet({quote_literal(path)})")


def compute(con: duckdb.DuckDBPyConnection, annotations: Annotations, relationships: Relationships,
            evidence: Evidence, tables: Mapping[str, str]) -> Metrics:
    """Every configured metric over the tables opened in `con` (see open_tables)."""
    resolver = Resolver(annotations, relationships, evidence.settings)
    runner = Runner(con)
    results = tuple(metric_result(name, spec, resolver, runner, evidence)
                    for name, spec in evidence.settings.metrics.items())
    return Metrics(annotations.source, dict(sorted(tables.items())), results, tuple(runner.statements))


def metric_result(name: str, spec: MetricSpec, resolver: Resolver, runner: Runner, evidence: Evidence) -> MetricResult:
    plans: dict[str, list[Plan]] = {}
    try:
        for step_name, step in spec.steps.items():
            plans[step_name] = resolver.plans(step)
    except Unresolved as exc:
        return MetricResult(name, spec.label, spec.unit, spec.description, spec.formula, (), (), (), (),
                            refusal=exc.reason)
    ids, months = [], {}
    for step_name, step_plans in plans.items():
        rows = []
        for i, plan in enumerate(step_plans):
            suffix = f".{i + 1}" if len(step_plans) > 1 else ""
            statement_id, found = runner.run(f"{name}.{step_name}{suffix}", plan)
            ids.append(statement_id)
            rows += found
        months[step_name] = merge(rows, spec.steps[step_name].aggregate)
    every = [plan for step_plans in plans.values() for plan in step_plans]
    inputs = sorted({i for plan in every for i in plan.inputs})
    measures = {m for plan in every for m in plan.measures}
    joins = [j for plan in every for j in plan.joins]
    fixed, worst = v.column_findings(evidence.scores, inputs, measures, evidence.settings.thresholds)
    fixed.extend(v.join_findings(joins, evidence.settings.thresholds))
    fixed.extend(v.check_findings(evidence.validations, inputs, evidence.settings.thresholds))
    for assumption in dict.fromkeys(a for plan in every for a in plan.assumptions):
        fixed.add(False, assumption)
    for step_name, rows_by_month in months.items():
        undated = rows_by_month.get(None)
        total = sum(r.rows for r in rows_by_month.values())
        fixed.extend(v.undated_findings(step_name, undated.rows if undated else 0, total))
    known = [m for rows_by_month in months.values() for m in rows_by_month if m is not None]
    values = tuple(period_value(spec, period, months, fixed, worst, evidence) for period in periods(known))
    return MetricResult(name, spec.label, spec.unit, spec.description, spec.formula, tuple(inputs),
                        tuple(sorted({j.relationship.id for j in joins})), tuple(dict.fromkeys(ids)), values)


def period_value(spec: MetricSpec, period: str, months: Mapping[str, Mapping[str | None, MonthRow]],
                 fixed: v.Findings, worst: float, evidence: Evidence) -> MetricValue:
    limits = evidence.settings.thresholds
    found = v.Findings()
    found.extend(fixed)
    steps, values = [], {}
    first: dt.date | None = None
    last: dt.date | None = None
    for step_name, rows in months.items():
        aggregate = spec.steps[step_name].aggregate
        rolled = roll_up(rows, period, aggregate)
        cells = isinstance(spec.steps[step_name], CellsStep)
        found.extend(v.step_findings(step_name, rolled, aggregate, period, limits, cells))
        step_value = None if rolled.value is None else round(rolled.value, 6)
        steps.append(StepValue(step_name, round_sig(step_value), rolled.rows, rolled.missing, rolled.other_currency))
        values[step_name] = step_value
        first = min(filter(None, (first, rolled.first_day)), default=None)
        last = max(filter(None, (last, rolled.last_day)), default=None)
    found.extend(v.coverage_findings(period, first, last, limits))
    try:
        value: float | None = evaluate(spec.formula, {**values, **constants(period)})
    except FormulaError as exc:
        found.add(True, exc.reason)
        value = None
    rounded = None if value is None else round_sig(round(value, 2 if spec.unit == "currency" else 4))
    ranges = [(r.label, r.below) for r in spec.interpretation]
    return MetricValue(period, rounded, found.verdict(), round(worst, 4), found.sentences(), tuple(steps),
                       v.interpret(rounded, ranges))


def compute_metrics(ctx: SourceContext) -> PhaseOutput:
    settings = read_settings(ctx.settings, ctx.settings_files, ctx.settings_origins)
    evidence = Evidence(ctx.read(ENTROPY_SCORES), ctx.read(VALIDATIONS), settings)
    paths = ctx.paths(TYPED_TABLE)
    shown = {table: os.path.relpath(path, ctx.root) for table, path in paths.items()}
    with ctx.connect() as con:
        open_tables(con, paths)
        metrics = compute(con, ctx.read(ANNOTATIONS), ctx.read(RELATIONSHIPS), evidence, shown)
    ctx.write(METRICS, metrics)
    counts = {verdict: sum(1 for m in metrics.metrics for x in m.values if x.verdict == verdict)
              for verdict in ("answer", "answer_with_caveats", "refuse")}
    return PhaseOutput(summary={"metrics": len(metrics.metrics), "values": counts,
                                "statements": len(metrics.statements),
                                "unresolved": sorted(m.metric for m in metrics.metrics if m.refusal)})
