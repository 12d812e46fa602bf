"""Granularity and gaps of a time axis, for the temporal phase (and its panels).

The distinct values of a date column, with the gap to the previous one, go into a scratch table
(per series when a key is given); the modal gap proposes a calendar unit, which holds when nearly
every gap is a whole multiple of it and enough gaps are exactly one step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from phases.artifacts.temporal_profiles import Gap, Granularity
from phases.core.records import round_sig
from phases.core.sql import quote_ident
from phases.profile.temporal_series import advance, format_instant, rnd
from phases.shared.narrow import one_row

if TYPE_CHECKING:
    import duckdb

    from phases.profile.temporal_settings import TemporalSettings

GAPS = "_temporal_gaps"  # scratch table of one axis' distinct values and gaps
DAY_US = 86_400_000_000
_FIXED_US = (("week", 7 * DAY_US), ("day", DAY_US), ("hour", 3_600_000_000), ("minute", 60_000_000),
             ("second", 1_000_000))


def series_name_sql(parts: Sequence[str]) -> str:
    """A series' name from the SQL expressions of its key parts: each as text (NULL spelled out),
    joined by " | "."""
    names = [f"coalesce(CAST({p} AS VARCHAR), 'NULL')" for p in parts]
    return names[0] if len(names) == 1 else f"concat_ws(' | ', {', '.join(names)})"


def build_gap_table(con: duckdb.DuckDBPyConnection, relation: str, column: str, key: Sequence[str] = (),
                    distinct: bool = True) -> None:
    """Distinct values with the gap to the previous one, in microseconds, in calendar months
    (trustworthy only when both ends sit at the same place in their months: `aligned`), and
    in business days (weekdays after the previous value up to this one, Monday-based count
    from 0001-01-01, a Monday, so integer division never meets a negative number). With a
    `key` (SQL expressions whose values together name a series), the values and gaps of each
    series, its name in `k` (`series_name_sql`). The rows are made distinct and ordered per
    series on the key's own values, and named after: casting millions of numbers to text to
    group them costs more than the grouping. `distinct`: False when the rows of `relation` are
    distinct (series, value) pairs already."""
    col = quote_ident(column)
    parts = ", ".join(f"{p} AS _g{i}" for i, p in enumerate(key)) if key else "'' AS _g0"
    groups = ", ".join(f"_g{i}" for i in range(max(len(key), 1)))
    name = series_name_sql([f"_g{i}" for i in range(len(key))]) if key else "_g0"
    weekdays = "(5 * ({x} // 7) + least({x} % 7, 5))"
    x_v = "(date_diff('day', DATE '0001-01-01', CAST(v AS DATE)) + 1)"
    x_p = "(date_diff('day', DATE '0001-01-01', CAST(p AS DATE)) + 1)"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {GAPS} AS
        SELECT {name} AS k, p, v, epoch_us(v) - epoch_us(p) AS g, date_diff('month', p, v) AS mg,
               (day(p) = day(v) OR (CAST(p AS DATE) = last_day(p) AND CAST(v AS DATE) = last_day(v)))
                   AND CAST(p AS TIME) = CAST(v AS TIME) AS aligned,
               {weekdays.format(x=x_v)} - {weekdays.format(x=x_p)} AS bd
        FROM (SELECT {groups}, lag(v) OVER (PARTITION BY {groups} ORDER BY v) AS p, v
              FROM (SELECT {"DISTINCT" if distinct else ""} {parts}, CAST({col} AS TIMESTAMP) AS v
                    FROM {quote_ident(relation)}
                    WHERE {col} IS NOT NULL AND isfinite({col})))""")


GAP_STATS = f"""
    SELECT count(*), min(v), max(v), count(p), count_if(isodow(v) >= 6),
           count_if(v = date_trunc('month', v)), count_if(v = date_trunc('quarter', v)),
           count_if(v = date_trunc('year', v)),
           count_if(CAST(v AS DATE) = last_day(v) AND CAST(v AS TIME) = TIME '00:00:00'),
           count_if(aligned AND mg >= 1), count_if(g = {3 * DAY_US} AND isodow(p) = 5), median(g)
    FROM {GAPS}"""


@dataclass(frozen=True)
class Candidate:
    """A granularity hypothesis and the SQL that tests it on the gap table."""

    unit: str
    step: int
    multiple: str  # the gap is a whole number of steps
    exact: str  # the gap is exactly one step
    steps: str  # how many steps the gap spans


def _candidate(stats: Sequence[Any], con: duckdb.DuckDBPyConnection, settings: TemporalSettings) -> Candidate | None:
    """The hypothesis from the modal gap: calendar months when most gaps join values at the
    same place in their months (month ends count), otherwise the largest fixed unit dividing
    the modal gap; daily data with no weekend values and Friday-to-Monday gaps is business days."""
    gaps, weekend, aligned, fri_mon = stats[3], stats[4], stats[9], stats[10]
    if aligned >= settings.min_granularity_confidence * gaps:
        # gaps >= 1 (at least min_distinct_values >= 2 values), so aligned >= 1: there is a row
        months = one_row(con.execute(f"SELECT mg FROM {GAPS} WHERE aligned AND mg >= 1 "
                                     "GROUP BY mg ORDER BY count(*) DESC, mg LIMIT 1"))[0]
        unit, size = ("year", 12) if months % 12 == 0 else ("quarter", 3) if months % 3 == 0 else ("month", 1)
        return Candidate(unit, months // size, f"aligned AND mg % {months} = 0", f"aligned AND mg = {months}",
                         f"mg // {months}")
    modal = one_row(con.execute(f"SELECT g FROM {GAPS} WHERE p IS NOT NULL "
                                "GROUP BY g ORDER BY count(*) DESC, g LIMIT 1"))[0]
    fitting = [(unit, size) for unit, size in _FIXED_US if modal % size == 0]
    if not fitting:
        return None  # sub-second spacing: no calendar unit fits
    unit, size = fitting[0]  # the largest unit that divides the modal gap
    if unit == "day" and modal == size and weekend == 0 and fri_mon > 0:
        return Candidate("business_day", 1, f"g % {DAY_US} = 0", f"bd = 1 AND g % {DAY_US} = 0", "bd")
    return Candidate(unit, modal // size, f"g % {modal} = 0", f"g = {modal}", f"g // {modal}")


def measure_granularity(con: duckdb.DuckDBPyConnection, stats: Sequence[Any],
                        settings: TemporalSettings) -> tuple[Granularity, Candidate | None, int]:
    """The granularity, the candidate it came from (None when irregular) and the missing periods.
    The modal gap proposes a unit; it holds when nearly every gap is a whole multiple of it
    and enough gaps are exactly one step (random event times fail the second test)."""
    distinct, gaps, median_gap = stats[0], stats[3], stats[11]
    median_days = round_sig(median_gap / DAY_US) if median_gap is not None else None
    if distinct < settings.min_distinct_values:
        note = f"{distinct} distinct values; at least {settings.min_distinct_values} are needed"
        return Granularity("irregular", 0, 0.0, 0.0, None, None, median_days, note), None, 0
    candidate = _candidate(stats, con, settings)
    if candidate is None:
        note = "the most common gap is not a whole number of seconds"
        return Granularity("irregular", 0, 0.0, 0.0, None, None, median_days, note), None, 0
    multiple, exact, missing = one_row(con.execute(
        f"SELECT count_if({candidate.multiple}), count_if({candidate.exact}), "
        f"coalesce(sum(greatest({candidate.steps} - 1, 0)), 0) FROM {GAPS} WHERE p IS NOT NULL"))
    confidence, modal_share = rnd(multiple / gaps), rnd(exact / gaps)
    holds = confidence >= settings.min_granularity_confidence and modal_share >= settings.min_modal_share
    unit, step = (candidate.unit, candidate.step) if holds else ("irregular", 0)
    found = Granularity(unit, step, confidence, modal_share, candidate.unit, candidate.step, median_days, None)
    return (found, candidate, int(missing)) if holds else (found, None, 0)


def largest_gaps(con: duckdb.DuckDBPyConnection, candidate: Candidate | None, limit: int) -> tuple[Gap, ...]:
    """The top gaps: by missing periods when the granularity is known, else by length."""
    if limit == 0:
        return ()
    if candidate is None:
        sql = f"SELECT p, v, g, NULL FROM {GAPS} WHERE p IS NOT NULL ORDER BY g DESC, p LIMIT {limit}"
    else:
        missing = f"({candidate.steps} - 1)"
        sql = (f"SELECT p, v, g, {missing} AS missing FROM {GAPS} WHERE p IS NOT NULL AND {missing} > 0 "
               f"ORDER BY missing DESC, p LIMIT {limit}")
    gaps = []
    for p, v, g, missing in con.execute(sql).fetchall():
        first = last = None
        if candidate is not None:
            first = format_instant(advance(p, candidate.unit, candidate.step))
            last = format_instant(advance(v, candidate.unit, -candidate.step))
        gaps.append(Gap(format_instant(p), format_instant(v), rnd(g / DAY_US), missing, first, last))
    return tuple(gaps)
