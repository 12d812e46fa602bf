"""The temporal phase: what every date and timestamp column of a table says about time.

Per date column: span, granularity (from the gaps between distinct values,
`phases.profile.temporal_gaps`), completeness against the calendar at that granularity, the
largest gaps, weekday and month-day profiles, its role (event time, period label or due date),
staleness against a reference date, the series analysis of `phases.profile.temporal_series`
(trend, seasonality, level shifts) and the drift of the numeric columns
(`phases.profile.temporal_drift`), except those that are functions of the date
(`phases.profile.temporal_calendar`). A table without a date column is profiled along the axis
its calendar-part columns compose (a year; year and month; ...), and a table holding several
series (one per station, country, symbol) along either gets them profiled one by one
(`phases.profile.temporal_panel`). All scanning happens in DuckDB; Python sees only aggregates:
the distinct values' gap statistics, per-period series and bin counts.

Artifact `temporal_profiles` (temporal_profiles.json, records in phases.artifacts.temporal_profiles):
sorted, floats rounded to 10 significant digits, so a rerun on the same input is byte-identical.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from phases.artifacts.column_types import COLUMN_TYPES
from phases.artifacts.tables import TYPED_TABLE
from phases.artifacts.temporal_profiles import (
    TEMPORAL_PROFILES,
    ColumnTemporalProfile,
    Completeness,
    Drift,
    Gap,
    Granularity,
    Offset,
    Panel,
    Relation,
    Series,
    Staleness,
    TemporalProfiles,
    TemporalRole,
)
from phases.core.context import PhaseOutput, TableContext
from phases.core.records import round_sig
from phases.core.sql import batch_values, chunked, columns_per_query, quote_ident, quote_literal
from phases.profile.temporal_calendar import Axis, compose_axis, date_functions
from phases.profile.temporal_drift import (
    Variances,
    design_effects,
    drift_unit,
    listed_drifts,
    measure_drifts,
    quantile_edges,
)
from phases.profile.temporal_gaps import GAP_STATS, GAPS, build_gap_table, largest_gaps, measure_granularity
from phases.profile.temporal_panel import PAIRS, Figures, find_series_key, profile_panel
from phases.profile.temporal_series import (
    advance,
    analyse_column_series,
    choose_series_units,
    format_instant,
    rnd,
    series_bounds,
)
from phases.profile.temporal_settings import TemporalSettings
from phases.shared.narrow import one_row
from phases.shared.sampling import ROW_ID, quantile_sample

if TYPE_CHECKING:
    import duckdb

VERSION: Literal[1] = 1  # of temporal_profiles.json (TemporalProfiles.version)
DATE_TYPES = ("date", "timestamp")
NUMERIC_TYPES = ("integer", "decimal", "currency", "percent")
AMOUNT_TYPES = ("currency", "decimal")
KEY_TYPES = ("text", "integer", "boolean")  # types of columns that may name a series
_AXIS_VIEW = "_temporal_axis"  # the table with its composed time axis as a column
_TYPED = "typed"  # the used columns of the typed table: a copy or a view
_NARROW = "_temporal_narrow"  # the date and amount columns of a wide table (`_narrow`)


@dataclass(frozen=True)
class _Facts:
    """One column's measurements before the table-wide reference date is known."""

    name: str
    type: str
    values: int
    distinct: int
    low: datetime | None
    high: datetime | None
    boundaries: Mapping[str, int]
    granularity: Granularity
    completeness: Completeness | None
    gaps: tuple[Gap, ...]
    weekdays: tuple[int, ...]
    month_days: tuple[int, ...]


Calendar = tuple[tuple[int, ...], tuple[int, ...]]  # rows per ISO weekday, per day of month


def _calendar_profile(con: duckdb.DuckDBPyConnection, relation: str, column: str) -> Calendar:
    """Rows per ISO weekday and per day of month, from one GROUP BY of at most 217 groups."""
    return calendar_profiles(con, relation, [column])[column]


def calendar_profiles(con: duckdb.DuckDBPyConnection, relation: str, columns: Sequence[str]) -> dict[str, Calendar]:
    """`_calendar_profile` of many date columns, in long form, one query per chunk of
    `columns_per_query`: a short table of hundreds of date columns would otherwise pay a query's
    fixed cost for each."""
    found: dict[str, Calendar] = {}
    for chunk in chunked(columns, columns_per_query(con)):
        weekdays, month_days = [[0] * 7 for _ in chunk], [[0] * 31 for _ in chunk]
        values = ", ".join(f"CASE WHEN isfinite({quote_ident(c)}) THEN {quote_ident(c)} END" for c in chunk)
        for j, weekday, day, n in con.execute(
                f"SELECT j, isodow(v), day(v), count(*) FROM (SELECT unnest(range({len(chunk)})) AS j, "
                f"unnest([{values}]) AS v FROM {quote_ident(relation)}) WHERE v IS NOT NULL GROUP BY ALL").fetchall():
            weekdays[j][weekday - 1] += n
            month_days[j][day - 1] += n
        found.update((c, (tuple(weekdays[j]), tuple(month_days[j]))) for j, c in enumerate(chunk))
    return found


def column_facts(con: duckdb.DuckDBPyConnection, relation: str, column: str, kind: str,
                 settings: TemporalSettings, calendar: Calendar | None = None) -> _Facts:
    """Everything about one date column that needs no other column (its `calendar` when known)."""
    build_gap_table(con, relation, column)
    stats = one_row(con.execute(GAP_STATS))
    granularity, candidate, missing = measure_granularity(con, stats, settings)
    completeness = None
    if candidate is not None:
        expected = stats[0] + missing
        completeness = Completeness(expected, stats[0], rnd(stats[0] / expected))
    gaps = largest_gaps(con, candidate, settings.top_gaps)
    con.execute(f"DROP TABLE {GAPS}")
    weekdays, month_days = calendar or _calendar_profile(con, relation, column)
    boundaries = dict(zip(("month_start", "quarter_start", "year_start", "month_end"), stats[5:9], strict=True))
    return _Facts(column, kind, sum(weekdays), stats[0], stats[1], stats[2], boundaries, granularity,
                  completeness, gaps, weekdays, month_days)


# ---------------------------------------------------------------- roles

def measure_relations(con: duckdb.DuckDBPyConnection, relation: str, columns: Sequence[str],
                      rows: int = 0) -> dict[str, tuple[Relation, ...]]:
    """For every pair of date columns, the day offsets between them on the same rows: one GROUP BY
    per chunk of pairs, in long form (pair, offset); the histogram of offsets is small. A short
    table (`rows` x columns within `batch_values`) with many pairs goes in one query instead."""
    found: dict[str, list[Relation]] = {c: [] for c in columns}
    pairs = [(a, b) for i, a in enumerate(columns) for b in columns[i + 1:]]
    if len(pairs) > columns_per_query(con) and rows * len(columns) <= batch_values(con):
        histograms = _offsets_joined(con, relation, columns)
    else:
        histograms = _offsets_chunked(con, relation, pairs)
    for k, (a, b) in enumerate(pairs):
        found[a].append(_relation(b, histograms[k]))
        found[b].append(_relation(a, {-d: n for d, n in histograms[k].items()}))
    return {c: tuple(sorted(r, key=lambda x: x.other)) for c, r in found.items()}


def _offsets_chunked(con: duckdb.DuckDBPyConnection, relation: str,
                     pairs: Sequence[tuple[str, str]]) -> list[dict[int, int]]:
    """Per pair (a, b), rows per offset a - b in days, where both are finite: one scan per chunk of pairs."""
    histograms: list[dict[int, int]] = []
    for chunk in chunked(pairs, columns_per_query(con)):
        offsets = []
        for a, b in chunk:
            qa, qb = quote_ident(a), quote_ident(b)
            both = f"isfinite({qa}) AND isfinite({qb})"  # NULL when either is
            offsets.append(f"CASE WHEN {both} THEN CAST({qa} AS DATE) - CAST({qb} AS DATE) END")
        found: list[dict[int, int]] = [{} for _ in chunk]
        for k, offset, n in con.execute(
            f"SELECT k, d, count(*) FROM (SELECT unnest(range({len(chunk)})) AS k, unnest([{', '.join(offsets)}]) AS d "
            f"FROM {quote_ident(relation)}) WHERE d IS NOT NULL GROUP BY k, d"
        ).fetchall():
            found[k][offset] = n
        histograms += found
    return histograms


def _offsets_joined(con: duckdb.DuckDBPyConnection, relation: str, columns: Sequence[str]) -> list[dict[int, int]]:
    """The same as `_offsets_chunked` for every pair of `columns`, from one self-join of the table in
    long form (row, column, date): a wide table's thousands of pairs would take hundreds of scans."""
    dates = ", ".join(f"CASE WHEN isfinite({quote_ident(c)}) THEN CAST({quote_ident(c)} AS DATE) END" for c in columns)
    index = {(i, j): k for k, (i, j) in enumerate((i, j) for i in range(len(columns))
                                                   for j in range(i + 1, len(columns)))}
    histograms: list[dict[int, int]] = [{} for _ in index]
    for i, j, offset, n in con.execute(f"""
            WITH l AS MATERIALIZED (
                SELECT r, unnest(range({len(columns)})) AS i, unnest([{dates}]) AS v
                FROM (SELECT row_number() OVER () AS r, * FROM {quote_ident(relation)}))
            SELECT a.i, b.i, a.v - b.v, count(*) FROM l a JOIN l b ON a.r = b.r AND a.i < b.i
            WHERE a.v IS NOT NULL AND b.v IS NOT NULL GROUP BY ALL""").fetchall():
        histograms[index[i, j]][offset] = n
    return histograms


def _relation(other: str, histogram: Mapping[int, int], keep: int = 10) -> Relation:
    rows = sum(histogram.values())
    if rows == 0:
        return Relation(other, 0, 0.0, 0.0, 0.0, ())
    share = {sign: sum(n for d, n in histogram.items() if (d > 0) - (d < 0) == sign) / rows for sign in (1, 0, -1)}
    top = sorted(histogram.items(), key=lambda item: (-item[1], item[0]))[:keep]
    offsets = tuple(Offset(d, rnd(n / rows)) for d, n in top)
    return Relation(other, rows, rnd(share[1]), rnd(share[0]), rnd(share[-1]), offsets)


def listed_relations(relations: tuple[Relation, ...], role: TemporalRole,
                     most: int) -> tuple[tuple[Relation, ...], int | None]:
    """Every relation of a column to the others when there are at most `most`; else only those
    that hold on every row (always after, always on the same day, always before) and the one a due
    date is offset from, with how many were left out: a table of hundreds of date columns has tens
    of thousands of pairs, and nothing downstream reads the rest."""
    if len(relations) <= most:
        return relations, None
    listed = tuple(r for r in relations if r.other == role.relative_to
                   or (r.rows and 1.0 in (r.after_share, r.equal_share, r.before_share)))
    return listed, len(relations) - len(listed)


def decide_role(facts: _Facts, relations: Sequence[Relation], settings: TemporalSettings) -> TemporalRole:
    """Period label when (nearly) every distinct value is a period boundary, most specific
    first; else due date when (nearly) every row sits at a few fixed offsets of zero or more
    days, some positive, after another date column (+30, or 0/30/60/90); else event time.
    'Mostly after' alone is not enough: payment dates are mostly after invoice dates too,
    at no fixed offset."""
    if facts.distinct:
        for label in ("year_start", "quarter_start", "month_start", "month_end"):
            share = facts.boundaries[label] / facts.distinct
            if share >= settings.period_label_min_share:
                return TemporalRole("period_label", label, None, (), rnd(share))
    best: TemporalRole | None = None
    for rel in relations:
        # Offsets of 0 count (due on receipt) as long as some are positive: terms 0/30/60/90.
        offsets = [o for o in rel.top_offsets[: settings.due_offset_max_values] if o.days >= 0]
        share = sum(o.share for o in offsets)
        if share >= settings.due_offset_min_share and any(o.days > 0 for o in offsets) \
                and (best is None or share > best.share):
            best = TemporalRole("due_date", None, rel.other, tuple(sorted(o.days for o in offsets)), rnd(share))
    return best or TemporalRole("event_time", None, None, (), 1.0)


# ---------------------------------------------------------------- staleness

def choose_reference(facts: Sequence[_Facts], roles: Mapping[str, TemporalRole],
                     pinned: date | None) -> tuple[datetime | None, str]:
    """The pinned date, else the latest value of the table's date columns. Due dates are left
    out when there are others: they lie in the future by design and would make every event
    column look stale."""
    if pinned is not None:
        return datetime(pinned.year, pinned.month, pinned.day), "config"
    maxima = [f.high for f in facts if f.high is not None and roles[f.name].kind != "due_date"]
    maxima = maxima or [f.high for f in facts if f.high is not None]
    return (max(maxima), "latest date") if maxima else (None, "none")


def measure_staleness(facts: _Facts, reference: datetime | None, settings: TemporalSettings) -> Staleness | None:
    """Stale when the reference lies beyond max + `stale_after_periods` periods of the
    column's granularity (the median gap for irregular columns)."""
    if reference is None or facts.high is None:
        return None
    g = facts.granularity
    if g.unit == "irregular":
        limit = facts.high + settings.stale_after_periods * timedelta(days=g.median_gap_days or 0)
    else:
        limit = advance(facts.high, g.unit, settings.stale_after_periods * g.step)
    behind = (reference - facts.high).total_seconds() / 86400
    return Staleness(format_instant(reference), rnd(behind), format_instant(limit), reference > limit)


# ---------------------------------------------------------------- the table

@dataclass(frozen=True)
class _Table:
    """What every time axis of one table is profiled against."""

    relation: str
    rows: int
    amounts: Sequence[str]
    numerics: Sequence[str]
    keys: Sequence[str]  # columns that may name a series
    texts: frozenset[str]  # ... those of them that are text
    edges: Mapping[str, tuple[float, ...]]
    # group figures of candidate series keys over every row, shared by the time axes set on every row
    key_figures: Figures = field(default_factory=dict)
    # the date and amount columns alone, which most queries of an axis read (see `_narrow`)
    axes: str = ""
    # variances over every row for the design effects, shared likewise (see `design_effects`)
    variances: Variances = field(default_factory=dict)

    @property
    def short(self) -> str:
        """The relation the queries of one axis that need no other column than dates and amounts read."""
        return self.axes or self.relation


def _series_and_drift(con: duckdb.DuckDBPyConnection, table: _Table, facts: _Facts, functions: Mapping[str, str],
                      key: str | None, settings: TemporalSettings) -> tuple[tuple[Series, ...], tuple[Drift, ...]]:
    """The count and amount series of one axis, and the drift of every numeric column along it
    (judged against the clustering of rows in series when `key`, SQL to GROUP BY, tells them apart)."""
    if facts.low is None or facts.high is None:  # both or neither: the min and max of the same values
        return (), ()
    g = facts.granularity
    span = (facts.high - facts.low).total_seconds() / 86400
    units = choose_series_units(g.unit, g.step, span, facts.type == "date", settings)
    step = advance(facts.high, g.unit, g.step) - facts.high if g.unit != "irregular" else timedelta(0)
    bounds = {u: b for u in units for b in [series_bounds(facts.low, facts.high, step, u)] if b[0] < b[1]}
    series = analyse_column_series(con, table.short, facts.name, bounds, table.amounts, settings)
    unit = drift_unit(units, span, facts.values, settings)
    measured = [c for c in sorted(table.edges) if c not in functions and table.edges[c]]
    shared = table.variances if facts.values == table.rows else None  # every row has a time: see design_effects
    effects = design_effects(con, table.relation, facts.name, unit, key, measured, shared) if key and unit else {}
    drift = measure_drifts(con, table.relation, facts.name, unit, table.edges, settings, functions, effects,
                           facts.values)
    return series, drift


def _panel(con: duckdb.DuckDBPyConnection, table: _Table, facts: _Facts, functions: Mapping[str, str],
           exclude: Sequence[str], settings: TemporalSettings) -> tuple[Panel | None, str | None]:
    """The series of a table with several, along one axis, and the SQL to GROUP BY a row's series;
    None for a single series. Columns that are functions of the date, or parts of the axis,
    cannot name a series."""
    candidates = [c for c in table.keys if c not in functions and c not in exclude]
    # Rows with a time: the finite ones and any infinite; distinct times: at most 2 more than the finite ones.
    most_unique = (facts.distinct + 2) / facts.values if facts.values else 1.0
    every_row = facts.values == table.rows  # no NULL and no infinite time: its rows are the table's
    key = find_series_key(con, table.relation, facts.name, candidates, settings, most_unique,
                          table.key_figures if every_row else None, table.short) if facts.values else None
    if key is None:
        con.execute(f"DROP TABLE IF EXISTS {PAIRS}")  # the groups of the last key tested, which failed
        return None, None
    measured = {c: e for c, e in table.edges.items() if c not in functions and c not in key.columns}
    return profile_panel(con, table.relation, facts.name, facts.type == "date", key, measured, settings, table.texts)


def _profile(con: duckdb.DuckDBPyConnection, table: _Table, f: _Facts, role: TemporalRole,
             relations: tuple[Relation, ...], staleness: Staleness | None, exclude: Sequence[str],
             settings: TemporalSettings) -> ColumnTemporalProfile:
    """One axis: its facts, then the columns that are functions of it, its panel, series and drift."""
    # Every test of date_functions needs function_min_dates dates (or rows) with a value: fewer, and none holds.
    tested = f.values >= settings.function_min_dates
    functions = date_functions(con, table.relation, f.name, table.numerics, settings) if tested else {}
    panel, key = _panel(con, table, f, functions, exclude, settings)
    series, drift = _series_and_drift(con, table, f, functions, key, settings)
    span = round_sig((f.high - f.low).total_seconds() / 86400) if f.low is not None and f.high is not None else None
    listed, counts = listed_drifts(drift, settings.drift_listed_max)
    others, unlisted = listed_relations(relations, role, settings.relations_listed_max)
    return ColumnTemporalProfile(
        f.name, f.type, f.values, table.rows - f.values, f.distinct,
        format_instant(f.low) if f.low else None, format_instant(f.high) if f.high else None, span,
        f.granularity, f.completeness, f.gaps, f.weekdays, f.month_days, role, others, staleness, series, listed,
        panel=panel, drift_counts=counts, relations_unlisted=unlisted)


def _with_axis(con: duckdb.DuckDBPyConnection, relation: str, axis: Axis,
               columns: Mapping[str, str]) -> tuple[str, str]:
    """A view of `relation` with the composed axis as one more timestamp column, and that column's name."""
    name = "_axis"
    while name in columns:
        name = f"_{name}"
    con.execute(f"CREATE OR REPLACE TEMP VIEW {_AXIS_VIEW} AS SELECT *, CAST({axis.sql()} AS {axis.kind.upper()}) "
                f"AS {quote_ident(name)} FROM {quote_ident(relation)}")
    return _AXIS_VIEW, name


def _composed_axis(con: duckdb.DuckDBPyConnection, table: _Table, columns: Mapping[str, str],
                   reference: datetime | None,
                   settings: TemporalSettings) -> tuple[tuple[ColumnTemporalProfile, ...], datetime | None]:
    """The profile of the axis composed of calendar parts, when the table has one, and the
    reference date it gives when the table had none."""
    axis = compose_axis(con, table.relation, [c for c, t in columns.items() if t == "integer"], settings)
    if axis is None:
        return (), reference
    view, column = _with_axis(con, table.relation, axis, columns)
    f = column_facts(con, view, column, axis.kind, settings)
    role = decide_role(f, (), settings)
    reference = reference if reference is not None or f.high is None else f.high
    staleness = measure_staleness(f, reference, settings)
    on_axis = replace(table, relation=view, axes="", variances={})
    found = _profile(con, on_axis, f, role, (), staleness, axis.parts, settings)
    return (replace(found, name=axis.name, parts=axis.parts),), reference


def _narrow(con: duckdb.DuckDBPyConnection, relation: str, width: int, rows: int, used: Sequence[str]) -> str:
    """A copy of the `used` columns of a wide and short table, or "" for none. Most queries of an
    axis read its date and the amounts alone, and DuckDB binds every column of the relation a
    query names: on a table of 2,000 columns that is most of a small query's cost, paid by the
    dozen queries of each of hundreds of date columns. Wide: more columns than one query reads
    (`columns_per_query`); short: the copy's values within `batch_values`."""
    if not used or width <= columns_per_query(con) or rows * len(used) > batch_values(con):
        return ""
    con.execute(f"CREATE TEMP TABLE {_NARROW} AS SELECT {', '.join(quote_ident(c) for c in used)} "
                f"FROM {quote_ident(relation)}")
    return _NARROW


def profile_temporal(con: duckdb.DuckDBPyConnection, relation: str, columns: Mapping[str, str],
                     settings: TemporalSettings) -> TemporalProfiles:
    """Profile every date and timestamp column of `relation` (a table or view on `con`), or the
    axis composed of its calendar-part columns when it has no date column.
    `columns` maps each column name to its semantic type, in table order."""
    rows = one_row(con.execute(f"SELECT count(*) FROM {quote_ident(relation)}"))[0]
    dates = sorted(c for c, t in columns.items() if t in DATE_TYPES)
    numerics = sorted(c for c, t in columns.items() if t in NUMERIC_TYPES)
    amounts = [c for c, t in columns.items() if t in AMOUNT_TYPES][: settings.max_amount_columns]
    table = _Table(relation, rows, amounts, numerics, [c for c, t in columns.items() if t in KEY_TYPES],
                   frozenset(c for c, t in columns.items() if t == "text"),
                   quantile_edges(con, relation, numerics, settings.drift_bins,
                                  quantile_sample(rows, settings.drift_quantile_rows)),
                   axes=_narrow(con, relation, len(columns), rows, dates + amounts))
    # a short table's date columns are counted together (as their offsets are: `measure_relations`)
    calendars = calendar_profiles(con, table.short, dates) if rows * len(dates) <= batch_values(con) else {}
    facts = [column_facts(con, table.short, c, columns[c], settings, calendars.get(c)) for c in dates]
    relations = measure_relations(con, table.short, dates, rows)
    roles = {f.name: decide_role(f, relations[f.name], settings) for f in facts}
    reference, source = choose_reference(facts, roles, settings.reference_date)
    profiles = tuple(_profile(con, table, f, roles[f.name], relations[f.name],
                              measure_staleness(f, reference, settings), (), settings) for f in facts)
    axes: tuple[ColumnTemporalProfile, ...] = ()
    if not dates:
        axes, reference = _composed_axis(con, table, columns, reference, settings)
        source = "latest date" if reference is not None and source == "none" else source
    return TemporalProfiles(VERSION, rows, format_instant(reference) if reference else None, source, profiles, axes)


# ---------------------------------------------------------------- phase adapter

def profile_time(ctx: TableContext) -> PhaseOutput:
    """Phase `temporal`: temporal_profiles.json for one table."""
    settings = ctx.parse_settings(TemporalSettings)
    columns = {c.name: c.type for c in ctx.read(COLUMN_TYPES).columns}
    typed = ctx.path(TYPED_TABLE)
    with ctx.connect() as con:
        relation = used_columns(con, typed, columns, settings.copy_max_rows)
        profiles = profile_temporal(con, relation, columns, settings)
    ctx.write(TEMPORAL_PROFILES, profiles)
    summary = {"date_columns": {p.name: _summary(p) for p in profiles.columns}}
    if profiles.axes:
        summary["axes"] = {p.name: _summary(p) for p in profiles.axes}
    return PhaseOutput(summary=summary)


def used_columns(con: duckdb.DuckDBPyConnection, typed: Path, columns: Mapping[str, str], copy_max_rows: int) -> str:
    """The relation the phase reads: the columns it uses (and the row id, which picks samples) of
    the typed table. Up to `copy_max_rows` rows they are copied into memory, where a dozen scans
    beat a dozen parquet decodes; above, a view over the parquet file, which DuckDB reads column by
    column as each query needs: a copy of tens of millions of rows would fill memory and spill
    gigabytes to disk before the first question is asked."""
    wanted = [c for c, t in columns.items() if t in DATE_TYPES + NUMERIC_TYPES + KEY_TYPES]
    select = ", ".join([quote_ident(c) for c in wanted] + [quote_ident(ROW_ID)])
    rows = one_row(con.execute("SELECT coalesce(sum(num_rows), 0) FROM parquet_file_metadata(?)", [str(typed)]))[0]
    kind = "TABLE" if rows <= copy_max_rows else "VIEW"
    con.execute(f"CREATE TEMP {kind} {_TYPED} AS SELECT {select} FROM read_parquet({quote_literal(str(typed))})")
    return _TYPED


def _summary(p: ColumnTemporalProfile) -> dict[str, object]:
    found: dict[str, object] = {"granularity": p.granularity.unit, "role": p.role.kind}
    if p.panel is not None:
        found["series_key"] = list(p.panel.key)
    return found
