"""The business_cycles phase (per source): which business processes the data records, and how
complete they are.

The vocabulary (config/business_cycles.yaml) describes each cycle as stages (order to cash:
sales order, delivery, customer invoice, customer payment, bank transaction) and the links
between them. A stage matches a whole table by its semantic entity or its name, or the rows of
a table whose document-type column holds one of the stage's document types ("Bill Payment").
Stages that belong to a party (a customer invoice) must show it: a customer column filled on
most of their rows; a table whose rows carry vendors instead is a payable, not a receivable.

For a detected cycle, completion is measured in SQL over the stage tables (each query is kept
in the artifact): shares of documents by status class (completed, open, cancelled), completion
flags (reconciled), settled documents (open balance 0), the share of documents with a next-stage
record through the relationship between the stage tables, the days between their dates (average
and median; the first next-stage record per document), payments after the due date, and the
months of activity covered by a period close. What cannot be measured is listed with the reason
(no goods-receipt stage; a date column that failed typing), never guessed.

Confidence = weighted sum of the required stages' match strength, the share of optional stages
found, the share of links backed by a relationship and the presence of a status (weights in the
YAML); a cycle is detected when every required stage matched and the confidence reaches
min_confidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from phases.artifacts.annotations import ANNOTATIONS, Annotations
from phases.artifacts.column_profiles import COLUMN_PROFILES, ColumnProfile
from phases.artifacts.cycles import CYCLES, Cycle, CycleColumn, Cycles, Metric, NotDetected, SkippedMetric, Stage
from phases.artifacts.relationships import RELATIONSHIPS, Relationship
from phases.artifacts.tables import TYPED_TABLE
from phases.artifacts.temporal_profiles import TEMPORAL_PROFILES, TemporalProfiles
from phases.core.context import PhaseOutput, SourceContext
from phases.core.records import Scalar, json_scalar, round_sig
from phases.core.sql import quote_ident, quote_literal
from phases.domain.cycle_vocabulary import (
    DATE_TYPES,
    NUMERIC_TYPES,
    STATUS_CLASSES,
    CycleSettings,
    CycleSpec,
    StageSpec,
    in_list,
    matches,
    norm_sql,
    normalize,
    tokens,
)
from phases.shared.narrow import one_row

if TYPE_CHECKING:
    import duckdb

# --- what each table offers -------------------------------------------------------------------


@dataclass
class TableInfo:
    name: str
    rows: int
    profiles: Mapping[str, ColumnProfile]
    entity: str | None
    concepts: Mapping[str, str | None]
    date_column: str | None = None
    date_note: str | None = None  # why the table has no usable event date
    due_column: str | None = None
    status_column: str | None = None
    flag_column: str | None = None
    balance_column: str | None = None
    period_column: str | None = None
    reference_date: str | None = None  # the temporal phase's reference (latest date) of the table
    party_columns: dict[str, str] = field(default_factory=dict)  # column -> customer | vendor
    document_columns: dict[str, list[Scalar]] = field(default_factory=dict)  # column -> its distinct values


def _find(info: TableInfo, concepts: Sequence[str], indicators: Sequence[str], types: Sequence[str]) -> str | None:
    """The first column with one of the concepts, else the first whose name has an indicator."""
    typed = [n for n, p in info.profiles.items() if p.type in types]
    return next((n for n in typed if info.concepts.get(n) in concepts), None) or next(
        (n for n in typed if info.concepts.get(n) is None and matches(n, indicators)), None)


def describe_table(con: duckdb.DuckDBPyConnection, name: str, profiles: Mapping[str, ColumnProfile],
                   annotations: Annotations, temporal: TemporalProfiles | None, s: CycleSettings) -> TableInfo:
    """The columns of one table that stages and metrics use (the table is a view `name` in con)."""
    table = annotations.tables.get(name)
    concepts = {c.column: c.concept for c in annotations.of_table(name)}
    roles = {c.column: c.role for c in annotations.of_table(name)}
    rows = next(iter(profiles.values())).rows if profiles else 0
    info = TableInfo(name, rows, profiles, table.entity if table else None, concepts,
                     reference_date=temporal.reference_date if temporal else None)
    ind = s.indicators
    # The event date: the annotation's time column, else the temporal phase's event time, else by concept.
    dates = temporal.columns if temporal else ()
    event = [c.name for c in dates if c.role.kind == "event_time"]
    due = [c.name for c in dates if c.role.kind == "due_date"]
    candidate = (table.time_column if table else None) or (event[0] if event else None) or _find(
        info, ("transaction_date", "posting_date"), (), tuple(p.type for p in profiles.values()))
    if candidate and candidate in profiles and profiles[candidate].type in DATE_TYPES:
        info.date_column = candidate
    elif candidate is not None and candidate in profiles:
        info.date_note = f"{name}.{candidate} is typed {profiles[candidate].type}, not a date (typing failed)"
    else:
        info.date_note = f"{name} has no event date column"
    info.due_column = (due[0] if due else None) or _find(info, ("due_date",), ind.due_date, DATE_TYPES)
    status = _find(info, ("status",), ind.status, ("text",))
    vocabulary = {normalize(v) for cls in STATUS_CLASSES for v in getattr(s.status_values, cls)}
    if status and sum(v.share for v in profiles[status].top_values if normalize(v.value) in vocabulary) \
            >= s.min_status_share:
        info.status_column = status
    info.flag_column = _find(info, ("status",), ind.completion_flag, ("boolean",)) or next(
        (n for n, p in profiles.items() if p.type == "boolean" and matches(n, ind.completion_flag)), None)
    info.balance_column = next((n for n, p in profiles.items()
                                if p.type in NUMERIC_TYPES and matches(n, ind.open_balance)), None)
    info.period_column = _find(info, ("fiscal_period",), ind.fiscal_period, ("text", "date", "timestamp"))
    for column, profile in profiles.items():
        party = concepts.get(column) if concepts.get(column) in ("customer", "vendor") else None
        if concepts.get(column) is None:
            party = "customer" if matches(column, ind.customer) else "vendor" if matches(column, ind.vendor) else None
        if party and roles.get(column) != "key":
            info.party_columns[column] = party
        is_document = concepts.get(column) == "document_type" or (
            concepts.get(column) is None and matches(column, ind.document_type))
        if is_document and profile.type == "text" and 0 < profile.distinct_count <= s.max_document_types:
            c = quote_ident(column)
            values = con.execute(f"SELECT DISTINCT {c} FROM {quote_ident(name)} WHERE {c} IS NOT NULL "
                                 f"ORDER BY {c}").fetchall()
            info.document_columns[column] = [json_scalar(v) for (v,) in values]
    return info


# --- stages -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    stage: StageSpec
    table: TableInfo
    matched_by: str
    strength: float
    rank: int  # tokens of the matching indicator: a longer name match wins
    document_column: str | None = None
    document_values: tuple[Scalar, ...] = ()

    def condition(self, alias: str = "") -> str:
        """SQL that keeps the stage's rows ('' for a whole table), its columns prefixed by `alias`."""
        if self.document_column is None:
            return ""
        prefix = f"{alias}." if alias else ""
        return f"{prefix}{quote_ident(self.document_column)} IN {in_list([str(v) for v in self.document_values])}"

    def where(self, alias: str = "") -> str:
        return f" WHERE {self.condition(alias)}" if self.document_column else ""


def candidates(stage: StageSpec, tables: Sequence[TableInfo], s: CycleSettings) -> list[Match]:
    found = []
    wanted = {normalize(d) for d in stage.document_types}
    for t in tables:
        if t.entity and normalize(t.entity) in {normalize(e) for e in stage.entities}:
            found.append(Match(stage, t, "entity", s.strength.entity, 9))
        elif hit := matches(t.name, stage.table_names, head=True):
            found.append(Match(stage, t, "table_name", s.strength.table_name, len(tokens(hit))))
        for column, values in t.document_columns.items():
            hits = tuple(v for v in values if normalize(v) in wanted)
            if hits:
                found.append(Match(stage, t, "document_type", s.strength.document_type, 9, column, hits))
    return found


def party_shares(con: duckdb.DuckDBPyConnection, m: Match) -> dict[str, tuple[str, float]]:
    """party -> (column, share of the stage's rows where it is filled), the best column per party."""
    best: dict[str, tuple[str, float]] = {}
    columns = sorted(m.table.party_columns)
    if not columns:
        return best
    counts = ", ".join(f"count({quote_ident(c)})" for c in columns)
    row = one_row(con.execute(f"SELECT count(*), {counts} FROM {quote_ident(m.table.name)}{m.where()}"))
    for column, filled in zip(columns, row[1:], strict=True):
        party, share = m.table.party_columns[column], filled / row[0] if row[0] else 0.0
        if share > best.get(party, ("", -1.0))[1]:
            best[party] = (column, share)
    return best


# --- metrics ----------------------------------------------------------------------------------


@dataclass
class Measured:
    metrics: list[Metric] = field(default_factory=list)
    skipped: list[SkippedMetric] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    columns: set[tuple[str, str, str]] = field(default_factory=set)
    evidence: list[str] = field(default_factory=list)

    def skip(self, name: str, reason: str) -> None:
        self.skipped.append(SkippedMetric(name, reason))
        if reason not in self.missing:
            self.missing.append(reason)

    def add(self, con: duckdb.DuckDBPyConnection, name: str, sql: str, unit: str, description: str,
            drop_empty: bool = False) -> Metric | None:
        """Run a metric's query and keep it; a query the data makes fail is skipped with DuckDB's
        reason, and with `drop_empty` a metric without a value is dropped."""
        import duckdb

        try:
            value = one_row(con.execute(sql))[0]
        except duckdb.Error as exc:
            self.skip(name, f"{name}: the query failed ({str(exc).splitlines()[0]})")
            return None
        if value is None and drop_empty:
            return None
        metric = Metric(name, None if value is None else round_sig(float(value), 6), unit, sql, description)
        self.metrics.append(metric)
        return metric


def stage_metrics(con: duckdb.DuckDBPyConnection, m: Match, s: CycleSettings, out: Measured) -> None:
    """Status shares, completion flag and settled share of one stage's documents."""
    t, name = quote_ident(m.table.name), m.stage.name
    base = f"FROM {t}{m.where()}"
    if m.table.status_column:
        column = m.table.status_column
        out.columns.add((m.table.name, column, "status"))
        for cls in STATUS_CLASSES:
            values = sorted({normalize(v) for v in getattr(s.status_values, cls)})
            seen = [v.value for v in m.table.profiles[column].top_values if normalize(v.value) in values]
            sql = f"SELECT avg(CASE WHEN {norm_sql(column)} IN {in_list(values)} THEN 1.0 ELSE 0.0 END) {base}"
            out.add(con, f"{name}_{cls}_share", sql, "share",
                    f"share of {name} documents whose {column} is {cls} (seen: {', '.join(map(str, seen)) or 'none'})")
    if m.table.flag_column:
        column = m.table.flag_column
        out.columns.add((m.table.name, column, "flag"))
        sql = f"SELECT avg(CASE WHEN {quote_ident(column)} THEN 1.0 ELSE 0.0 END) {base}"
        out.add(con, f"{name}_{normalize(column)}_share", sql, "share", f"share of {name} documents with {column} true")
    if m.table.balance_column:
        column = quote_ident(m.table.balance_column)
        sql = f"SELECT avg(CASE WHEN {column} = 0 THEN 1.0 ELSE 0.0 END) {base}{' AND' if m.where() else ' WHERE'} " \
              f"{column} IS NOT NULL"
        # dropped when empty: a balance that only other document types carry says nothing here
        if out.add(con, f"{name}_settled_share", sql, "share",
                   f"share of {name} documents whose {m.table.balance_column} is 0 (fully settled)", drop_empty=True):
            out.columns.add((m.table.name, m.table.balance_column, "balance"))
    past_due(con, m, s, out)


def past_due(con: duckdb.DuckDBPyConnection, m: Match, s: CycleSettings, out: Measured) -> None:
    """Share of the open documents whose due date lies before the table's reference date."""
    t = m.table
    if not (t.due_column and t.reference_date and (t.status_column or t.balance_column)):
        return
    if t.status_column:
        is_open = f"{norm_sql(t.status_column)} IN {in_list(sorted({normalize(v) for v in s.status_values.open}))}"
    elif t.balance_column:
        is_open = f"{quote_ident(t.balance_column)} > 0"
    else:  # ruled out above
        return
    due = f"CAST({quote_ident(t.due_column)} AS DATE)"
    keep = " AND ".join(c for c in (m.condition(), is_open, f"{due} IS NOT NULL") if c)
    sql = (f"SELECT avg(CASE WHEN {due} < DATE {quote_literal(t.reference_date)} THEN 1.0 ELSE 0.0 END) "
           f"FROM {quote_ident(t.name)} WHERE {keep}")
    if out.add(con, f"{m.stage.name}_open_past_due_share", sql, "share", (
            f"share of open {m.stage.name} documents whose {t.due_column} is before {t.reference_date} "
            f"(the table's latest date)"), drop_empty=True):
        out.columns.add((t.name, t.due_column, "due_date"))


def _relationship(a: Match, b: Match, relationships: Sequence[Relationship]) -> Relationship | None:
    pair = {a.table.name, b.table.name}
    found = [r for r in relationships if {r.child_table, r.parent_table} == pair and len(pair) == 2]
    return max(found, key=lambda r: (r.confidence, r.id)) if found else None


def _join_columns(a: Match, r: Relationship) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The relationship's columns on a's side and on b's side."""
    if r.child_table == a.table.name:
        return r.child_columns, r.parent_columns
    return r.parent_columns, r.child_columns


def _sql_type(m: Match, column: str) -> str | None:
    profile = m.table.profiles.get(column)
    return profile.sql_type if profile else None


def link_metrics(con: duckdb.DuckDBPyConnection, a: Match, b: Match, days: bool,
                 relationships: Sequence[Relationship], out: Measured) -> None:
    """Next-stage share and days between two stages, through the relationship between their tables."""
    name = f"{a.stage.name}_to_{b.stage.name}"
    r = _relationship(a, b, relationships)
    if r is None:
        why = (f"{a.stage.name} and {b.stage.name} are rows of {a.table.name} that do not reference each other"
               if a.table.name == b.table.name else f"no relationship between {a.table.name} and {b.table.name}")
        out.skip(f"{name}_share", f"{why}: {a.stage.name} documents cannot be traced to {b.stage.name}")
        return
    a_cols, b_cols = _join_columns(a, r)
    out.evidence.append(f"link {a.stage.name} -> {b.stage.name}: {r.id}")
    for table, cols in ((a.table.name, a_cols), (b.table.name, b_cols)):
        out.columns.update((table, c, "link") for c in cols)
    ta, tb = quote_ident(a.table.name), quote_ident(b.table.name)
    # Keys of different storage types (an integer id against its text copy) are compared as text.
    as_text = any(_sql_type(a, x) != _sql_type(b, y) for x, y in zip(a_cols, b_cols, strict=True))

    def key(column: str, alias: str = "") -> str:
        c = f"{alias}.{quote_ident(column)}" if alias else quote_ident(column)
        return f"CAST({c} AS VARCHAR)" if as_text else c

    on = " AND ".join(f"{key(y, '__n')} = {key(x, '__d')}" for x, y in zip(a_cols, b_cols, strict=True))
    b_filter = f" AND {b.condition('__n')}" if b.document_column else ""
    sql = (f"SELECT avg(CASE WHEN EXISTS (SELECT 1 FROM {tb} AS __n WHERE {on}{b_filter}) THEN 1.0 ELSE 0.0 END) "
           f"FROM {ta} AS __d{a.where('__d')}")
    out.add(con, f"{name}_share", sql, "share",
            f"share of {a.stage.name} documents with a {b.stage.name} record ({r.id})")
    if not days:
        return
    a_date, b_date = a.table.date_column, b.table.date_column
    if a_date is None or b_date is None:
        undated = a if a_date is None else b
        out.skip(f"{name}_days_avg", f"{undated.table.date_note}: days from {a.stage.name} to {b.stage.name} "
                                     "not measured")
        return
    out.columns.update({(a.table.name, a_date, "date"), (b.table.name, b_date, "date")})
    a_keys = ", ".join(f"{key(x)} AS __k{i}" for i, x in enumerate(a_cols))
    b_keys = ", ".join(f"{key(y)} AS __k{i}" for i, y in enumerate(b_cols))
    b_group = ", ".join(f"__k{i}" for i in range(len(b_cols)))
    due = f", CAST({quote_ident(a.table.due_column)} AS DATE) AS __due" if a.table.due_column else ""
    keys = " AND ".join(f"__d.__k{i} = __n.__k{i}" for i in range(len(a_cols)))
    pairs = (f"WITH __d AS (SELECT {a_keys}, CAST({quote_ident(a_date)} AS DATE) AS __day{due} "
             f"FROM {ta}{a.where()}), "
             f"__n AS (SELECT {b_keys}, min(CAST({quote_ident(b_date)} AS DATE)) AS __day "
             f"FROM {tb}{b.where()} GROUP BY {b_group}) ")
    join = f" FROM __d JOIN __n ON {keys} WHERE __d.__day IS NOT NULL AND __n.__day IS NOT NULL"
    diff = "date_diff('day', __d.__day, __n.__day)"
    described = f"days from the {a.stage.name} date to the first {b.stage.name} date, over linked pairs"
    out.add(con, f"{name}_days_avg", f"{pairs}SELECT avg({diff}){join}", "days", f"average {described}")
    out.add(con, f"{name}_days_median", f"{pairs}SELECT median({diff}){join}", "days", f"median {described}")
    if a.table.due_column:
        out.columns.add((a.table.name, a.table.due_column, "due_date"))
        late = "avg(CASE WHEN __n.__day > __d.__due THEN 1.0 ELSE 0.0 END)"
        sql = f"{pairs}SELECT {late}{join} AND __d.__due IS NOT NULL"
        out.add(con, f"{b.stage.name}_after_due_share", sql, "share", (
            f"share of linked {a.stage.name} documents whose first {b.stage.name} is after their "
            f"{a.table.due_column}"))


def coverage_metric(con: duckdb.DuckDBPyConnection, stage: Match, against: Match, out: Measured) -> None:
    """Months with activity in `against` that have a period in `stage` (a period close)."""
    name = f"{stage.stage.name}_period_coverage"
    column = stage.table.period_column
    if column is None:
        out.skip(name, f"{stage.table.name} has no period column: the period close cannot be measured")
        return
    if against.table.date_column is None:
        out.skip(name, f"{against.table.date_note}: months of activity unknown")
        return
    c = quote_ident(column)
    period = (f"strftime(CAST({c} AS DATE), '%Y-%m')" if stage.table.profiles[column].type in DATE_TYPES
              else f"substr(trim(CAST({c} AS VARCHAR)), 1, 7)")
    out.columns.add((stage.table.name, column, "period"))
    sql = (f"WITH __active AS (SELECT DISTINCT strftime(CAST({quote_ident(against.table.date_column)} AS DATE), "
           f"'%Y-%m') AS p FROM {quote_ident(against.table.name)}{against.where()}), "
           f"__closed AS (SELECT DISTINCT {period} AS p FROM {quote_ident(stage.table.name)}) "
           f"SELECT avg(CASE WHEN p IN (SELECT p FROM __closed) THEN 1.0 ELSE 0.0 END) FROM __active "
           f"WHERE p IS NOT NULL")
    out.add(con, name, sql, "share",
            f"share of months with {against.stage.name} activity that have a {stage.table.name} period")


# --- cycles -----------------------------------------------------------------------------------


def detect_cycle(con: duckdb.DuckDBPyConnection, cycle_id: str, spec: CycleSpec, tables: Sequence[TableInfo],
                 relationships: Sequence[Relationship], s: CycleSettings) -> Cycle | NotDetected:
    chosen: dict[str, Match] = {}
    refused: dict[str, str] = {}
    unknown_party: list[str] = []
    whole_tables: set[str] = set()
    for stage in spec.stages:
        options = sorted(candidates(stage, tables, s), key=lambda m: (-m.strength, -m.rank, m.table.name,
                                                                       m.document_column or ""))
        for m in options:
            if m.document_column is None and m.table.name in whole_tables:
                continue
            if stage.party:
                shares = party_shares(con, m)
                own = shares.get(spec.party) if spec.party else None  # a party stage implies the cycle's party
                other = shares.get("vendor" if spec.party == "customer" else "customer")
                if own is None or own[1] < s.min_party_share:
                    if other and other[1] >= s.min_party_share:
                        refused.setdefault(stage.name, (
                            f"{m.table.name} carries {'vendors' if spec.party == 'customer' else 'customers'} "
                            f"({other[0]}, on {other[1]:.0%} of its {stage.name} rows), not {spec.party}s"))
                        continue
                    unknown_party.append(m.table.name)
            chosen[stage.name] = m
            if m.document_column is None:
                whole_tables.add(m.table.name)
            break
    required = [st for st in spec.stages if st.required]
    optional = [st for st in spec.stages if not st.required]
    w = s.weights
    score = w.required_stages * sum(chosen[st.name].strength for st in required if st.name in chosen) / len(required)
    if optional:
        score += w.optional_stages * sum(st.name in chosen for st in optional) / len(optional)
    links = [link for link in spec.links if link.from_stage in chosen and link.to in chosen]
    linked = sum(_relationship(chosen[link.from_stage], chosen[link.to], relationships) is not None for link in links)
    score += w.links * (linked / len(links) if links else 0.0)
    has_status = any(m.table.status_column or m.table.flag_column or m.table.balance_column
                     for m in chosen.values())
    score += w.status * has_status
    if unknown_party:
        score *= s.unknown_party_factor
    confidence = round(score, 4)
    absent = [st.name for st in required if st.name not in chosen]
    if absent or confidence < s.min_confidence:
        return NotDetected(cycle_id, spec.name, confidence, _not_detected_reason(spec, absent, refused, confidence, s),
                           tuple(f"{n}: {m.table.name}" for n, m in chosen.items()))
    out, rows = Measured(evidence=[f"{m.stage.name}: {_how(m)}" for m in chosen.values()]), {}
    for link in links:
        link_metrics(con, chosen[link.from_stage], chosen[link.to], link.days, relationships, out)
    for m in chosen.values():
        rows[m.stage.name] = one_row(con.execute(f"SELECT count(*) FROM {quote_ident(m.table.name)}{m.where()}"))[0]
        stage_metrics(con, m, s, out)
        if m.document_column:
            out.columns.add((m.table.name, m.document_column, "document_type"))
        if m.stage.party:
            out.columns.update((m.table.name, c, "party") for c, p in m.table.party_columns.items() if p == spec.party)
    if spec.period_coverage and {spec.period_coverage.stage, spec.period_coverage.against} <= set(chosen):
        coverage_metric(con, chosen[spec.period_coverage.stage], chosen[spec.period_coverage.against], out)
    for table in sorted(set(unknown_party)):
        out.missing.append(f"no customer or vendor column on {table}: receivables cannot be separated from payables")
    for st in optional:
        if st.name not in chosen:
            out.missing.append(f"no {st.name} stage" + (f": {st.lacks}" if st.lacks else ""))
    for m in chosen.values():
        if m.stage.status and not (m.table.status_column or m.table.flag_column or m.table.balance_column):
            out.missing.append(f"no status column on {m.table.name}: {m.stage.name} completion only through links")
    return _cycle(cycle_id, spec, confidence, chosen, rows, out)


def _how(m: Match) -> str:
    if m.matched_by == "document_type":
        return f"{m.table.name} rows with {m.document_column} in {', '.join(map(str, m.document_values))}"
    return f"{m.table.name} (by {m.matched_by.replace('_', ' ')})"


def _not_detected_reason(spec: CycleSpec, absent: Sequence[str], refused: Mapping[str, str], confidence: float,
                         s: CycleSettings) -> str:
    if not absent:
        return f"confidence {confidence:.2f} is below min_confidence {s.min_confidence}"
    parts = []
    for name in absent:
        stage = next(st for st in spec.stages if st.name == name)
        if name in refused:
            parts.append(f"no {name} stage: {refused[name]}")
            continue
        looked = [f"entity {'/'.join(stage.entities)}" if stage.entities else "",
                  f"table name {'/'.join(stage.table_names)}" if stage.table_names else "",
                  f"document type {'/'.join(stage.document_types)}" if stage.document_types else ""]
        parts.append(f"no {name} stage (no table with {', '.join(p for p in looked if p)})")
    return "; ".join(parts)


def _cycle(cycle_id: str, spec: CycleSpec, confidence: float, chosen: Mapping[str, Match], rows: Mapping[str, int],
           out: Measured) -> Cycle:
    stages = tuple(Stage(
        name=st.name, table=m.table.name, matched_by=m.matched_by, rows=rows[st.name],
        document_column=m.document_column, document_values=m.document_values, status_column=m.table.status_column,
        date_column=m.table.date_column) for st in spec.stages if (m := chosen.get(st.name)))
    return Cycle(
        id=cycle_id, name=spec.name, confidence=confidence,
        tables=tuple(sorted({m.table.name for m in chosen.values()})),
        columns=tuple(CycleColumn(*c) for c in sorted(out.columns)), stages=stages, metrics=tuple(out.metrics),
        skipped=tuple(out.skipped), missing=tuple(out.missing), evidence=tuple(out.evidence))


def detect_source(con: duckdb.DuckDBPyConnection, source: str, typed: Mapping[str, Path],
                  profiles: Mapping[str, Mapping[str, ColumnProfile]], annotations: Annotations,
                  relationships: Sequence[Relationship], temporal: Mapping[str, TemporalProfiles],
                  s: CycleSettings) -> Cycles:
    """The library twin of the phase: every cycle of the vocabulary, detected or not."""
    for table, path in sorted(typed.items()):
        con.execute(f"CREATE OR REPLACE TEMP VIEW {quote_ident(table)} AS SELECT * FROM read_parquet("
                    f"{quote_literal(path)})")
    tables = [describe_table(con, t, profiles[t], annotations, temporal.get(t), s)
              for t in sorted(typed) if t in profiles]
    found: list[Cycle] = []
    missed: list[NotDetected] = []
    for cycle_id, spec in s.cycles.items():
        result = detect_cycle(con, cycle_id, spec, tables, relationships, s)
        if isinstance(result, Cycle):
            found.append(result)
        else:
            missed.append(result)
    return Cycles(source=source, cycles=tuple(found), not_detected=tuple(missed))


def detect_cycles(ctx: SourceContext) -> PhaseOutput:
    """Phase `business_cycles`: cycles.json for one source."""
    settings = ctx.parse_settings(CycleSettings)
    annotations = ctx.read(ANNOTATIONS)
    relationships = ctx.read(RELATIONSHIPS).relationships
    profiles = {t: p.by_name for t, p in ctx.read_tables(COLUMN_PROFILES).items()}
    temporal = ctx.read_tables(TEMPORAL_PROFILES)
    with ctx.connect() as con:
        result = detect_source(con, ctx.source.name, ctx.paths(TYPED_TABLE), profiles, annotations,
                               relationships, temporal, settings)
    ctx.write(CYCLES, result)
    return PhaseOutput(
        summary={"detected": {c.id: c.confidence for c in result.cycles},
                 "not_detected": [n.id for n in result.not_detected]},
    )
