"""The context document: what an LLM agent reads before it writes SQL over a source.

`build_context` gathers the entropy scores and the earlier phases' evidence into one
`ContextDocument` (the record of context.json, schema `dataraum-context/1`, documented in
docs/context-schema.md); `phases.entropy.markdown.render_markdown` turns that record into
Markdown for a prompt. Its guidance lines are Markdown already, names and values escaped.
Sample values of columns flagged as personal data never enter either document.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence

from phases.artifacts.column_profiles import ColumnProfile
from phases.artifacts.context_document import (
    CONTEXT_DOCUMENT,
    CONTEXT_MARKDOWN,
    SCHEMA,
    AmbiguousJoin,
    BasicColumnStats,
    CheckEntry,
    CheckOutcomes,
    ColumnEntry,
    ColumnIssue,
    ColumnStats,
    ContextDocument,
    CycleEntry,
    DepartureEntry,
    DocumentReadiness,
    MetricEntry,
    MissingTable,
    NoColumnStats,
    NumberColumnStats,
    RelationshipEntry,
    SliceDimensionEntry,
    SliceSummary,
    TableEntry,
    TemporalColumnStats,
    VolumeAnomalyEntry,
)
from phases.artifacts.entropy_scores import ColumnEntropy, EntropyObject, EntropyScores
from phases.artifacts.relationships import Relationship
from phases.core.context import SourceContext
from phases.core.manifest import Failure, write_atomically
from phases.core.sql import quote_literal
from phases.core.sql import readable_ident as _q  # short: it is in most lines of the document
from phases.entropy.evidence import Evidence
from phases.entropy.markdown import column_code, md_code, md_text, render_markdown, shorten
from phases.entropy.measured import competing_paths, one_to_one_ids
from phases.entropy.settings import EntropySettings

EXCLUDED_STATUS = re.compile(r"cancel|void|revers|reject|delet|draft|fail|refund", re.IGNORECASE)


def _stats(profile: ColumnProfile | None, pii: bool) -> ColumnStats:
    if profile is None:
        return NoColumnStats()
    rows, nulls, distinct = profile.rows, profile.null_count, profile.distinct_count
    if profile.numeric is not None:
        n = profile.numeric
        return NumberColumnStats(rows=rows, nulls=nulls, distinct=distinct, min=n.min, max=n.max, mean=n.mean,
                                 median=n.quantiles.get("p50"), negatives=n.negative_count)
    values = ({str(v.value): v.count for v in profile.top_values[:10]}
              if not pii and profile.distinct_count <= 20 else None)
    if profile.temporal is not None:
        return TemporalColumnStats(rows=rows, nulls=nulls, distinct=distinct, min=profile.temporal.min,
                                   max=profile.temporal.max, values=values)
    return BasicColumnStats(rows=rows, nulls=nulls, distinct=distinct, values=values)


def _issues(entropy: ColumnEntropy, objects: list[EntropyObject]) -> tuple[ColumnIssue, ...]:
    issues = []
    for top in entropy.top:
        obj = next((o for o in objects if o.dimension == top.dimension and o.summary == top.summary), None)
        issues.append(ColumnIssue(
            dimension=top.dimension, layer=top.layer, score=top.score, description=top.summary,
            evidence=dict(obj.evidence) if obj else {}, resolutions=obj.resolutions if obj else (),
        ))
    return tuple(issues)


def _guidance(ev: Evidence, columns: Sequence[ColumnEntry]) -> tuple[str, ...]:
    """Explicit instructions: how to filter and convert before summing, then what to do about each
    column that needs care, most uncertain first."""
    out: list[str] = []
    issues = {(c.table, c.column): c.issues for c in columns}
    money_by_table: dict[str, list[str]] = {}
    for c in columns:
        if c.role == "measure" and c.money:
            money_by_table.setdefault(c.table, []).append(c.column)
    fx_tables = sorted({a.table for a in ev.annotations.columns if a.concept == "exchange_rate"}
                       if ev.annotations else set())
    for c in columns:
        values = _values(c.stats)
        measures = money_by_table.get(c.table, [])
        if not measures or not values:
            continue
        sums = ", ".join(md_code(_q(m)) for m in measures)
        if c.concept == "status" or c.column.lower() in ("status", "state"):
            excluded = sorted(v for v in values if EXCLUDED_STATUS.search(v))
            if excluded:
                listed = ", ".join(quote_literal(v) for v in excluded)
                rows = sum(values[v] for v in excluded)
                out.append(f"In {md_code(c.table)}, filter {md_code(f'{_q(c.column)} NOT IN ({listed})')} "
                           f"({rows} rows) before summing {sums}.")
        if c.concept == "currency":
            if len(values) > 1:
                shares = ", ".join(f"{md_text(k)} {v}" for k, v in sorted(values.items(), key=lambda kv: -kv[1]))
                via = f" with {md_code(fx_tables[0])}" if fx_tables else ""
                out.append(f"{md_code(c.table)} holds several currencies in {md_code(_q(c.column))} ({shares}): "
                           f"convert {sums} to one currency{via} before summing.")
            elif len(values) == 1:
                doubtful = [m for m in measures
                            if any(i.dimension == "units" for i in issues.get((c.table, m), ()))]
                sure = ", ".join(md_code(_q(m)) for m in measures if m not in doubtful)
                unit = md_text(next(iter(values)))
                line = f"{md_code(c.table)}: {sure} in {unit} (per {md_code(_q(c.column))})" if sure else ""
                if doubtful:
                    named = ", ".join(md_code(_q(m)) for m in doubtful)
                    line += ("; but " if line else f"{md_code(c.table)}: ") + (
                        f"{named} only claims {unit}: some values look converted (see below)")
                out.append(line + ".")
    for c in columns:
        for issue in c.issues[:1]:
            if c.readiness == "ready" or not issue.resolutions:
                continue
            out.append(f"{column_code(c.table, c.column)} ({c.readiness}, {issue.dimension}): "
                       f"{md_text(issue.resolutions[0].action)}; {md_text(shorten(issue.description))}.")
    return tuple(out)


def _values(stats: ColumnStats) -> Mapping[str, int]:
    """The counts of a column's values, when the document shows them."""
    if isinstance(stats, TemporalColumnStats | BasicColumnStats):
        return stats.values or {}
    return {}





def build_context(ev: Evidence, scores: EntropyScores, s: EntropySettings,
                  left_out: Mapping[str, Failure] | None = None) -> ContextDocument:
    """The document; `left_out` names the tables whose input failed (they are missing from it)."""
    missing = tuple(MissingTable(table, f.task, f.reason) for table, f in sorted((left_out or {}).items()))
    objects_by_column: dict[tuple[str, str], list[EntropyObject]] = {}
    for o in scores.objects:
        if o.column is not None and o.table is not None:
            objects_by_column.setdefault((o.table, o.column), []).append(o)
    columns = []
    for entropy in scores.columns:
        t, name = entropy.table, entropy.column
        a = ev.annotation(t, name)
        typing = ev.types.get(t, {}).get(name)
        pii = bool(a and a.pii)
        columns.append(ColumnEntry(
            table=t, column=name, sql=f"{_q(t)}.{_q(name)}",
            type=typing.type if typing else None, sql_type=typing.sql_type if typing else None,
            role=a.role if a else None, concept=a.concept if a else None,
            business_name=a.business_name if a else None, unit=(a.unit if a else None) or (
                typing.unit if typing else None),
            aggregation=a.aggregation if a else None, time_role=a.time_role if a else None,
            pii=a.pii if a else None, references=a.references if a else None, money=bool(a and a.money),
            description=a.description if a else None,
            stats=_stats(ev.profiles.get(t, {}).get(name), pii),
            score=entropy.score, readiness=entropy.readiness, layers=dict(entropy.layers),
            issues=_issues(entropy, objects_by_column.get((t, name), [])),
        ))
    tables = []
    for te in scores.tables:
        ta = ev.annotations.tables.get(te.table) if ev.annotations else None
        profile = ev.table_profiles.get(te.table)
        tables.append(TableEntry(
            table=te.table, kind=ta.kind if ta else None, entity=ta.entity if ta else None,
            grain=ta.grain if ta else (), time_column=ta.time_column if ta else None,
            rows=profile.rows if profile else None, score=te.score, readiness=te.readiness,
            reasons=te.reasons, columns=dict(te.columns),
            duplicate_rows=profile.duplicates.rows if profile else None,
        ))
    rel_objects: dict[str, list[str]] = {}
    for o in scores.objects:
        if o.target_kind == "relationship":
            rel_objects.setdefault(o.target, []).append(o.summary)
    likely = tuple(getattr(ev.relationships, "likely", ()))  # when the relationships phase reports them
    relationships = tuple(RelationshipEntry(
        id=r.id, from_=f"{r.child_table}({', '.join(r.child_columns)})",
        to=f"{r.parent_table}({', '.join(r.parent_columns)})", cardinality=r.cardinality,
        confidence=r.confidence, orphan_rows=r.orphan_rows, null_rows=r.null_rows,
        fans_out=r.fans_out, join_safe=not rel_objects.get(r.id) and r not in likely,
        issues=tuple(rel_objects.get(r.id, [])), likely=r in likely,
        unverified_because=_unverified_because(r) if r in likely else None,
    ) for r in (*ev.relationships.relationships, *likely))
    ambiguous = tuple(AmbiguousJoin(tables=(start, end), shortest_paths=len(paths),
                                    paths=tuple(tuple(step.relationship for step in path.steps)
                                                for path in paths[:3]))
                      for p in ev.schema.join_paths for start, end, paths in competing_paths(p, one_to_one_ids(ev)))
    checks: dict[str, list[CheckEntry]] = {"failed": [], "skipped": [], "passed": []}
    for check in ev.validations.checks if ev.validations else ():
        checks[check.status].append(CheckEntry(id=check.id, name=check.name, columns=check.columns,
                                               violations=check.violations, reason=check.reason))
    column_entries = tuple(columns)
    return ContextDocument(
        schema=SCHEMA, source=scores.source,
        readiness=DocumentReadiness(level=scores.readiness, score=scores.score, blockers=scores.blockers),
        guidance=tuple(_missing_guidance(m) for m in missing) + _guidance(ev, column_entries),
        tables=tuple(tables), columns=column_entries, relationships=relationships, ambiguous_joins=ambiguous,
        validations=CheckOutcomes(failed=tuple(checks["failed"]), skipped=tuple(checks["skipped"]),
                                  passed=tuple(checks["passed"])),
        slices=_slices(ev), business_cycles=_cycles(ev),
        compound_risks=scores.compound_risks, missing_tables=missing,
    )


def write_documents(ctx: SourceContext, ev: Evidence, scores: EntropyScores, s: EntropySettings,
                    metrics: tuple[MetricEntry, ...] = ()) -> tuple[ContextDocument, str]:
    """Build context.json and context.md and write both as the task's outputs."""
    document = dataclasses.replace(build_context(ev, scores, s, ctx.left_out), metrics=metrics)
    ctx.write(CONTEXT_DOCUMENT, document)
    markdown = render_markdown(document, s)
    write_atomically(ctx.output_path(CONTEXT_MARKDOWN), markdown)
    return document, markdown


def _missing_guidance(m: MissingTable) -> str:
    return (f"Table {md_code(m.table)} is missing from this context: {md_text(m.task)} failed "
            f"({md_text(shorten(m.reason))}). Nothing here describes it; do not query it, and say that totals "
            "over the source lack it.")


def _slices(ev: Evidence) -> SliceSummary:
    """The dimensions to slice facts by, the slices whose quality departs from the rest, and
    periods with unusual volume."""
    if ev.slices is None:
        return SliceSummary(dimensions=(), departures=(), volume_anomalies=())
    sl = ev.slices
    return SliceSummary(
        dimensions=tuple(SliceDimensionEntry(table=d.table, column=d.column, groups=d.groups,
                                             values={str(v.value): v.rows for v in d.values[:10]})
                         for d in sl.dimensions),
        departures=tuple(DepartureEntry(
            table=d.table, column=d.column, value=d.value, rows=d.rows, score=d.score,
            reasons=tuple(f"{r.metric} of {r.measure}: {r.slice_value:.4g} vs {r.rest_value:.4g} elsewhere"
                          for r in d.reasons[:3])) for d in sl.departures),
        volume_anomalies=tuple(VolumeAnomalyEntry(table=p.table, column=p.column, value=p.value, period=a.period,
                                                  rows=a.rows, median=a.median, direction=a.direction,
                                                  partial_period=a.partial_period)
                               for p in sl.periods for a in p.anomalies if not a.partial_period)[:30],
    )


def _cycles(ev: Evidence) -> tuple[CycleEntry, ...]:
    if ev.cycles is None:
        return ()
    return tuple(CycleEntry(id=c.id, name=c.name, confidence=c.confidence, tables=c.tables,
                            stages=tuple(f"{st.name}: {st.table}" for st in c.stages),
                            metrics={m.name: m.value for m in c.metrics},
                            metric_sql={m.name: m.sql for m in c.metrics},
                            not_measured=tuple(f"{m.name}: {m.reason}" for m in c.skipped), missing=c.missing)
                 for c in ev.cycles.cycles)


def _unverified_because(r: Relationship) -> str | None:
    """The relationships phase's reason for leaving a likely reference unaccepted (free text)."""
    reason = r.evidence.get("unverified_because")
    return str(reason) if reason else None
