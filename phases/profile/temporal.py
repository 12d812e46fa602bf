"""The temporal phase: what every date and timestamp column of a table says about time.

Per date column: span, granularity (from the gaps between distinct values), completeness
against the calendar at that granularity, the largest gaps, weekday and month-day
profiles, its role (event time, period label or due date), staleness against a
reference date, and the series analysis of `phases.profile.temporal_series` (trend,
seasonality, level shifts, drift). All scanning happens in DuckDB; Python sees only
aggregates: the distinct values' gap statistics, per-period series and bin counts.

Artifact `temporal_profiles` (temporal_profiles.json, records in phases.artifacts.temporal_profiles):
sorted, floats rounded to 10 significant digits, so a rerun on the same input is byte-identical.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

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
    Relation,
    Series,
    Staleness,
    TemporalProfiles,
    TemporalRole,
)
from phases.core.context import PhaseOutput, TableContext
from phases.core.records import round_sig
from phases.core.sql import quote_ident
from phases.profile.temporal_series import (
    advance,
    analyse_column_series,
    choose_series_units,
    drift_unit,
    format_instant,
    measure_drift,
    quantile_edges,
    rnd,
    series_bounds,
)
from phases.profile.temporal_settings import TemporalSettings
from phases.shared.narrow import one_row

if TYPE_CHECKING:
    import duckdb

VERSION: Literal[1] = 1  # of temporal_profiles.json (TemporalProfiles.version)
DATE_TYPES = ("date", "timestamp")
NUMERIC_TYPES = ("integer", "decimal", "currency", "percent")
AMOUNT_TYPES = ("currency", "decimal")
_GAPS = "_temporal_gaps"  # scratch table of one column's distinct values and gaps
_DAY_US = 86_400_000_000
_FIXED_US = (("week", 7 * _DAY_US), ("day", _DAY_US), ("hour", 3_600_000_000), ("minute", 60_000_000),
             ("second", 1_000_000))


# ---------------------------------------------------------------- records


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


# ---------------------------------------------------------------- granularity and gaps

def _build_gap_table(con: duckdb.DuckDBPyConnection, relation: str, column: str) -> None:
    """Distinct values with the gap to the previous one, in microseconds, in calendar months
    (trustworthy only when both ends sit at the same place in their months: `aligned`), and
    in business days (weekdays after the previous value up to this one, Monday-based count
    from 0001-01-01, a Monday, so integer division never meets a negative number)."""
    col = quote_ident(column)
    weekdays = "(5 * ({x} // 7) + least({x} % 7, 5))"
    x_v = "(date_diff('day', DATE '0001-01-01', CAST(v AS DATE)) + 1)"
    x_p = "(date_diff('day', DATE '0001-01-01', CAST(p AS DATE)) + 1)"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {_GAPS} AS
        SELECT p, v, epoch_us(v) - epoch_us(p) AS g, date_diff('month', p, v) AS mg,
               (day(p) = day(v) OR (CAST(p AS DATE) = last_day(p) AND CAST(v AS DATE) = last_day(v)))
                   AND CAST(p AS TIME) = CAST(v AS TIME) AS aligned,
               {weekdays.format(x=x_v)} - {weekdays.format(x=x_p)} AS bd
        FROM (SELECT lag(v) OVER (ORDER BY v) AS p, v
              FROM (SELECT DISTINCT CAST({col} AS TIMESTAMP) AS v FROM {quote_ident(relation)}
                    WHERE {col} IS NOT NULL AND isfinite({col})))""")


_GAP_STATS = f"""
    SELECT count(*), min(v), max(v), count(p), count_if(isodow(v) >= 6),
           count_if(v = date_trunc('month', v)), count_if(v = date_trunc('quarter', v)),
           count_if(v = date_trunc('year', v)),
           count_if(CAST(v AS DATE) = last_day(v) AND CAST(v AS TIME) = TIME '00:00:00'),
           count_if(aligned AND mg >= 1), count_if(g = {3 * _DAY_US} AND isodow(p) = 5), median(g)
    FROM {_GAPS}"""


@dataclass(frozen=True)
class _Candidate:
    """A granularity hypothesis and the SQL that tests it on the gap table."""

    unit: str
    step: int
    multiple: str  # the gap is a whole number of steps
    exact: str  # the gap is exactly one step
    steps: str  # how many steps the gap spans


def _candidate(stats: Sequence[Any], con: duckdb.DuckDBPyConnection, settings: TemporalSettings) -> _Candidate | None:
    """The hypothesis from the modal gap: calendar months when most gaps join values at the
    same place in their months (month ends count), otherwise the largest fixed unit dividing
    the modal gap; daily data with no weekend values and Friday-to-Monday gaps is business days."""
    gaps, weekend, aligned, fri_mon = stats[3], stats[4], stats[9], stats[10]
    if aligned >= settings.min_granularity_confidence * gaps:
        # gaps >= 1 (at least min_distinct_values >= 2 values), so aligned >= 1: there is a row
        months = one_row(con.execute(f"SELECT mg FROM {_GAPS} WHERE aligned AND mg >= 1 "
                                     "GROUP BY mg ORDER BY count(*) DESC, mg LIMIT 1"))[0]
        unit, size = ("year", 12) if months % 12 == 0 else ("quarter", 3) if months % 3 == 0 else ("month", 1)
        return _Candidate(unit, months // size, f"aligned AND mg % {months} = 0", f"aligned AND mg = {months}",
                          f"mg // {months}")
    modal = one_row(con.execute(f"SELECT g FROM {_GAPS} WHERE p IS NOT NULL "
                                "GROUP BY g ORDER BY count(*) DESC, g LIMIT 1"))[0]
    fitting = [(unit, size) for unit, size in _FIXED_US if modal % size == 0]
    if not fitting:
        return None  # sub-second spacing: no calendar unit fits
    unit, size = fitting[0]  # the largest unit that divides the modal gap
    if unit == "day" and modal == size and weekend == 0 and fri_mon > 0:
        return _Candidate("business_day", 1, f"g % {_DAY_US} = 0", f"bd = 1 AND g % {_DAY_US} = 0", "bd")
    return _Candidate(unit, modal // size, f"g % {modal} = 0", f"g = {modal}", f"g // {modal}")


def _granularity(con: duckdb.DuckDBPyConnection, stats: Sequence[Any],
                 settings: TemporalSettings) -> tuple[Granularity, _Candidate | None, int]:
    """The granularity, the candidate it came from (None when irregular) and the missing periods.
    The modal gap proposes a unit; it holds when nearly every gap is a whole multiple of it
    and enough gaps are exactly one step (random event times fail the second test)."""
    distinct, gaps, median_gap = stats[0], stats[3], stats[11]
    median_days = round_sig(median_gap / _DAY_US) if median_gap is not None else None
    if distinct < settings.min_distinct_values:
        note = f"{distinct} distinct values; at least {settings.min_distinct_values} are needed"
        return Granularity("irregular", 0, 0.0, 0.0, None, None, median_days, note), None, 0
    candidate = _candidate(stats, con, settings)
    if candidate is None:
        note = "the most common gap is not a whole number of seconds"
        return Granularity("irregular", 0, 0.0, 0.0, None, None, median_days, note), None, 0
    multiple, exact, missing = one_row(con.execute(
        f"SELECT count_if({candidate.multiple}), count_if({candidate.exact}), "
        f"coalesce(sum(greatest({candidate.steps} - 1, 0)), 0) FROM {_GAPS} WHERE p IS NOT NULL"))
    confidence, modal_share = rnd(multiple / gaps), rnd(exact / gaps)
    holds = confidence >= settings.min_granularity_confidence and modal_share >= settings.min_modal_share
    unit, step = (candidate.unit, candidate.step) if holds else ("irregular", 0)
    found = Granularity(unit, step, confidence, modal_share, candidate.unit, candidate.step, median_days, None)
    return (found, candidate, int(missing)) if holds else (found, None, 0)


def _largest_gaps(con: duckdb.DuckDBPyConnection, candidate: _Candidate | None, limit: int) -> tuple[Gap, ...]:
    """The top gaps: by missing periods when the granularity is known, else by length."""
    if limit == 0:
        return ()
    if candidate is None:
        sql = f"SELECT p, v, g, NULL FROM {_GAPS} WHERE p IS NOT NULL ORDER BY g DESC, p LIMIT {limit}"
    else:
        missing = f"({candidate.steps} - 1)"
        sql = (f"SELECT p, v, g, {missing} AS missing FROM {_GAPS} WHERE p IS NOT NULL AND {missing} > 0 "
               f"ORDER BY missing DESC, p LIMIT {limit}")
    gaps = []
    for p, v, g, missing in con.execute(sql).fetchall():
        first = last = None
        if candidate is not None:
            first = format_instant(advance(p, candidate.unit, candidate.step))
            last = format_instant(advance(v, candidate.unit, -candidate.step))
        gaps.append(Gap(format_instant(p), format_instant(v), rnd(g / _DAY_US), missing, first, last))
    return tuple(gaps)


def _calendar_profile(con: duckdb.DuckDBPyConnection, relation: str,
                      column: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Rows per ISO weekday and per day of month, from one GROUP BY of at most 217 groups."""
    col = quote_ident(column)
    weekdays, month_days = [0] * 7, [0] * 31
    for weekday, day, n in con.execute(
            f"SELECT isodow({col}), day({col}), count(*) FROM {quote_ident(relation)} "
            f"WHERE {col} IS NOT NULL AND isfinite({col}) GROUP BY ALL").fetchall():
        weekdays[weekday - 1] += n
        month_days[day - 1] += n
    return tuple(weekdays), tuple(month_days)


def column_facts(con: duckdb.DuckDBPyConnection, relation: str, column: str, kind: str,
                 settings: TemporalSettings) -> _Facts:
    """Everything about one date column that needs no other column."""
    _build_gap_table(con, relation, column)
    stats = one_row(con.execute(_GAP_STATS))
    granularity, candidate, missing = _granularity(con, stats, settings)
    completeness = None
    if candidate is not None:
        expected = stats[0] + missing
        completeness = Completeness(expected, stats[0], rnd(stats[0] / expected))
    gaps = _largest_gaps(con, candidate, settings.top_gaps)
    con.execute(f"DROP TABLE {_GAPS}")
    weekdays, month_days = _calendar_profile(con, relation, column)
    boundaries = dict(zip(("month_start", "quarter_start", "year_start", "month_end"), stats[5:9], strict=True))
    return _Facts(column, kind, sum(weekdays), stats[0], stats[1], stats[2], boundaries, granularity,
                  completeness, gaps, weekdays, month_days)


# ---------------------------------------------------------------- roles

def measure_relations(con: duckdb.DuckDBPyConnection, relation: str,
                      columns: Sequence[str]) -> dict[str, tuple[Relation, ...]]:
    """For every pair of date columns, the day offsets between them on the same rows
    (one GROUP BY per pair; the histogram of offsets is small)."""
    found: dict[str, list[Relation]] = {c: [] for c in columns}
    for i, a in enumerate(columns):
        for b in columns[i + 1:]:
            qa, qb = quote_ident(a), quote_ident(b)
            histogram = con.execute(
                f"SELECT CAST({qa} AS DATE) - CAST({qb} AS DATE), count(*) FROM {quote_ident(relation)} "
                f"WHERE {qa} IS NOT NULL AND {qb} IS NOT NULL AND isfinite({qa}) AND isfinite({qb}) "
                "GROUP BY 1").fetchall()
            found[a].append(_relation(b, dict(histogram)))
            found[b].append(_relation(a, {-d: n for d, n in histogram}))
    return {c: tuple(sorted(r, key=lambda x: x.other)) for c, r in found.items()}


def _relation(other: str, histogram: Mapping[int, int], keep: int = 10) -> Relation:
    rows = sum(histogram.values())
    if rows == 0:
        return Relation(other, 0, 0.0, 0.0, 0.0, ())
    share = {sign: sum(n for d, n in histogram.items() if (d > 0) - (d < 0) == sign) / rows for sign in (1, 0, -1)}
    top = sorted(histogram.items(), key=lambda item: (-item[1], item[0]))[:keep]
    offsets = tuple(Offset(d, rnd(n / rows)) for d, n in top)
    return Relation(other, rows, rnd(share[1]), rnd(share[0]), rnd(share[-1]), offsets)


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

def _series_and_drift(con: duckdb.DuckDBPyConnection, relation: str, facts: _Facts, amounts: Sequence[str],
                      edges: Mapping[str, tuple[float, ...]],
                      settings: TemporalSettings) -> tuple[tuple[Series, ...], tuple[Drift, ...]]:
    if facts.low is None or facts.high is None:  # both or neither: the min and max of the same values
        return (), ()
    g = facts.granularity
    span = (facts.high - facts.low).total_seconds() / 86400
    units = choose_series_units(g.unit, g.step, span, facts.type == "date", settings)
    step = advance(facts.high, g.unit, g.step) - facts.high if g.unit != "irregular" else timedelta(0)
    bounds = {u: b for u in units for b in [series_bounds(facts.low, facts.high, step, u)] if b[0] < b[1]}
    series = analyse_column_series(con, relation, facts.name, bounds, amounts, settings)
    unit = drift_unit(units, span, facts.values, settings)
    drift = tuple(measure_drift(con, relation, facts.name, unit, column, edges[column], settings)
                  for column in sorted(edges))
    return series, drift


def profile_temporal(con: duckdb.DuckDBPyConnection, relation: str, columns: Mapping[str, str],
                     settings: TemporalSettings) -> TemporalProfiles:
    """Profile every date and timestamp column of `relation` (a table or view on `con`).
    `columns` maps each column name to its semantic type, in table order."""
    rows = one_row(con.execute(f"SELECT count(*) FROM {quote_ident(relation)}"))[0]
    dates = sorted(c for c, t in columns.items() if t in DATE_TYPES)
    amounts = [c for c, t in columns.items() if t in AMOUNT_TYPES][: settings.max_amount_columns]
    numerics = sorted(c for c, t in columns.items() if t in NUMERIC_TYPES)
    facts = [column_facts(con, relation, c, columns[c], settings) for c in dates]
    relations = measure_relations(con, relation, dates)
    roles = {f.name: decide_role(f, relations[f.name], settings) for f in facts}
    reference, source = choose_reference(facts, roles, settings.reference_date)
    edges = quantile_edges(con, relation, numerics, settings.drift_bins) if dates else {}
    profiles = []
    for f in facts:
        series, drift = _series_and_drift(con, relation, f, amounts, edges, settings)
        span = round_sig((f.high - f.low).total_seconds() / 86400) if f.low is not None and f.high is not None else None
        profiles.append(ColumnTemporalProfile(
            f.name, f.type, f.values, rows - f.values, f.distinct,
            format_instant(f.low) if f.low else None, format_instant(f.high) if f.high else None, span,
            f.granularity, f.completeness, f.gaps, f.weekdays, f.month_days, roles[f.name], relations[f.name],
            measure_staleness(f, reference, settings), series, drift))
    return TemporalProfiles(VERSION, rows, format_instant(reference) if reference else None, source,
                            tuple(profiles))


# ---------------------------------------------------------------- JSON

# ---------------------------------------------------------------- phase adapter

def profile_time(ctx: TableContext) -> PhaseOutput:
    """Phase `temporal`: temporal_profiles.json for one table."""
    settings = ctx.parse_settings(TemporalSettings)
    columns = {c.name: c.type for c in ctx.read(COLUMN_TYPES).columns}
    typed = ctx.path(TYPED_TABLE)
    wanted = [c for c, t in columns.items() if t in DATE_TYPES + NUMERIC_TYPES]
    # Only the columns used, held in memory: a dozen scans of a local table beat a dozen parquet decodes.
    select = ", ".join(quote_ident(c) for c in wanted) or "_row_id"
    with ctx.connect() as con:
        con.execute(f"CREATE TEMP TABLE typed AS SELECT {select} FROM read_parquet(?)", [str(typed)])
        profiles = profile_temporal(con, "typed", columns, settings)
    ctx.write(TEMPORAL_PROFILES, profiles)
    summary = {"date_columns": {p.name: {"granularity": p.granularity.unit, "role": p.role.kind}
                                for p in profiles.columns}}
    return PhaseOutput(summary=summary)
