"""Calendar facts for the temporal phase, read from values, never from names.

- `date_functions`: the numeric columns that are functions of the date: calendar parts (month,
  day of month, weekday, hour), values set once per period (a year, a month), sequence numbers and
  counters that rise with the date, and columns with one value per date. They change with time by
  definition, so their drift says nothing and is not measured. Two queries: one GROUP BY with a
  grouping set per calendar feature, and one per-date pass for monotony.
- `compose_axis`: a time axis built from integer calendar-part columns (a year; year and month;
  year, month, day and hour) for tables that have no date column, so that yearly panels and
  tables of parts get granularity, gaps and series like any date.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from phases.core.sql import chunked, columns_per_query, quote_ident
from phases.profile.value_counts import distinct_counts
from phases.shared.calendar_parts import parts_timestamp
from phases.shared.narrow import one_row

if TYPE_CHECKING:
    import duckdb

    from phases.profile.temporal_settings import TemporalSettings

# (name, SQL of the timestamp _t): periods (constant within each) and cyclic parts of the calendar
FEATURES: tuple[tuple[str, str], ...] = (
    ("year", "date_trunc('year', _t)"), ("quarter", "date_trunc('quarter', _t)"),
    ("month", "date_trunc('month', _t)"), ("week", "date_trunc('week', _t)"), ("day", "date_trunc('day', _t)"),
    ("quarter_of_year", "quarter(_t)"), ("month_of_year", "month(_t)"), ("week_of_year", "weekofyear(_t)"),
    ("day_of_year", "dayofyear(_t)"), ("day_of_month", "day(_t)"), ("weekday", "isodow(_t)"),
    ("hour_of_day", "hour(_t)"),
)


_DATES = "_temporal_dates"  # scratch table: per date, the min, max and count of every numeric column


def _values_up_to_three(con: duckdb.DuckDBPyConnection, relation: str, columns: Sequence[str],
                        where: str) -> list[int]:
    """Per column, its distinct values over the rows meeting `where`, counted up to 3 (all the
    tests ask): 0 or 1 from its count, min and max, 3 when a value lies strictly between them.
    Two streaming scans instead of a hash set of every distinct value."""
    found: list[int] = []
    for chunk in chunked(list(columns), columns_per_query(con)):
        q = [quote_ident(c) for c in chunk]
        ends = ", ".join(f"min({c}) AS lo{j}, max({c}) AS hi{j}" for j, c in enumerate(q))
        tests = ", ".join(f"CASE WHEN count({c}) = 0 THEN 0 WHEN min({c}) = max({c}) THEN 1 "
                          f"WHEN count_if({c} > lo{j} AND {c} < hi{j}) > 0 THEN 3 ELSE 2 END" for j, c in enumerate(q))
        row = one_row(con.execute(f"SELECT {tests} FROM {quote_ident(relation)}, "
                                  f"(SELECT {ends} FROM {quote_ident(relation)} WHERE {where}) WHERE {where}"))
        found += [int(v) if v is not None else 0 for v in row]
    return found


def _per_date(con: duckdb.DuckDBPyConnection, relation: str, date_column: str, columns: Sequence[str]) -> list[int]:
    """Build the per-date table and return the distinct values of each column, up to 3."""
    d = quote_ident(date_column)
    values = ", ".join(f"CAST({quote_ident(c)} AS DOUBLE) AS c{i}" for i, c in enumerate(columns))
    per_date = ", ".join(f"min(c{j}) AS lo{j}, max(c{j}) AS hi{j}, count(c{j}) AS k{j}" for j in range(len(columns)))
    con.execute(f"""CREATE OR REPLACE TEMP TABLE {_DATES} AS
        SELECT _t, {per_date} FROM (SELECT CAST({d} AS TIMESTAMP) AS _t, {values} FROM {quote_ident(relation)}
                                    WHERE {d} IS NOT NULL AND isfinite({d})) GROUP BY _t""")
    return _values_up_to_three(con, relation, columns, f"{d} IS NOT NULL")


def _feature_tests(con: duckdb.DuckDBPyConnection, n: int) -> dict[int, list[tuple[int, int, int, int]]]:
    """Per calendar feature (by index): per column, (groups, groups where it takes two values,
    dates sharing a group with another date that has a value, dates with a value); from one
    GROUP BY of the per-date table with a grouping set per feature."""
    features = ", ".join(f"{sql} AS f{i}" for i, (_, sql) in enumerate(FEATURES))
    names = ", ".join(f"f{i}" for i in range(len(FEATURES)))
    per_group = ", ".join(f"count_if(k{j} > 0) AS n{j}, max(hi{j}) > min(lo{j}) AS b{j}" for j in range(n))
    summary = ", ".join(f"count_if(n{j} > 0), count_if(b{j}), coalesce(sum(n{j}) FILTER (WHERE n{j} >= 2), 0), "
                        f"coalesce(sum(n{j}), 0)" for j in range(n))
    sets = ", ".join(f"(f{i})" for i in range(len(FEATURES)))
    rows = con.execute(f"""
        WITH g AS (SELECT GROUPING({names}) AS gid, {per_group}
                   FROM (SELECT *, {features} FROM {_DATES}) GROUP BY GROUPING SETS ({sets}))
        SELECT gid, {summary} FROM g GROUP BY gid""").fetchall()
    full, k = 2 ** len(FEATURES) - 1, len(FEATURES)
    index = {full - 2 ** (k - 1 - i): i for i in range(k)}
    return {index[row[0]]: [(row[1 + 4 * j], row[2 + 4 * j], row[3 + 4 * j], row[4 + 4 * j]) for j in range(n)]
            for row in rows}


def _date_tests(con: duckdb.DuckDBPyConnection, n: int) -> list[tuple[int, int, int, int, int]]:
    """Per column: (dates breaking a rise, dates breaking a fall, dates with two values, rows
    sharing a date, rows), from the min and max per date against the running max and min before."""
    running = ", ".join(f"max(hi{j}) OVER w AS ph{j}, min(lo{j}) OVER w AS pl{j}" for j in range(n))
    summary = ", ".join(f"count_if(ph{j} > lo{j}), count_if(pl{j} < hi{j}), count_if(lo{j} < hi{j}), "
                        f"coalesce(sum(k{j}) FILTER (WHERE k{j} >= 2), 0), coalesce(sum(k{j}), 0)" for j in range(n))
    row = one_row(con.execute(f"""
        SELECT {summary} FROM (SELECT *, {running} FROM {_DATES}
                               WINDOW w AS (ORDER BY _t ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING))"""))
    return [(row[5 * j], row[5 * j + 1], row[5 * j + 2], row[5 * j + 3], row[5 * j + 4]) for j in range(n)]


def _explains(broken: int, shared: int, total: int, settings: TemporalSettings) -> bool:
    """A functional dependency that holds and was put to the test: enough of the dates (or rows)
    share their group with another, so that a column not determined by it would show two values."""
    return broken == 0 and total > 0 and shared >= settings.function_min_dates \
        and shared / total >= settings.function_min_power


def date_functions(con: duckdb.DuckDBPyConnection, relation: str, date_column: str, columns: Sequence[str],
                   settings: TemporalSettings) -> dict[str, str]:
    """The columns that are functions of the date, each with the coarsest explanation: a calendar
    feature (fewest groups first), then `monotone` (three or more values that only rise or only
    fall with the date), then `date` (one value per date, tested where dates repeat)."""
    if not columns:
        return {}
    distinct = _per_date(con, relation, date_column, columns)
    tests = _feature_tests(con, len(columns))
    dates = _date_tests(con, len(columns))
    con.execute(f"DROP TABLE {_DATES}")
    found: dict[str, str] = {}
    for j, column in enumerate(columns):
        if distinct[j] < 2:
            continue  # a constant column: nothing to explain
        held = sorted((tests[i][j][0], name) for i, (name, _) in enumerate(FEATURES)
                      if i in tests and tests[i][j][0] >= 2 and _explains(*tests[i][j][1:], settings))
        rise, fall, two, shared, rows = dates[j]
        with_values = tests[0][j][3] if 0 in tests else 0  # dates where the column has a value
        if held:
            found[column] = held[0][1]
        elif distinct[j] >= 3 and (rise == 0 or fall == 0) and with_values >= settings.function_min_dates:
            found[column] = "monotone"
        elif _explains(two, shared, rows, settings):
            found[column] = "date"
    return found


# ---------------------------------------------------------------- axes composed of parts

@dataclass(frozen=True)
class Axis:
    """A time axis composed of calendar-part columns, coarsest first."""

    parts: tuple[str, ...]
    kind: str  # date, or timestamp when an hour is part of it

    @property
    def name(self) -> str:
        return "+".join(self.parts)

    def sql(self) -> str:
        """The timestamp of a row (NULL when a part is NULL)."""
        return parts_timestamp(self.parts)


_PARTS = (("month", 1, 12), ("day", 1, 31), ("hour", 0, 23))


def _ranges(con: duckdb.DuckDBPyConnection, relation: str, columns: Sequence[str]) -> dict[str, tuple]:
    """min, max and distinct values of each integer column."""
    distinct = distinct_counts(con, relation, columns)
    found: dict[str, tuple] = {}
    for chunk in chunked(list(enumerate(columns)), columns_per_query(con)):
        exprs = ", ".join(f"min({q}), max({q})" for q in (quote_ident(c) for _, c in chunk))
        row = one_row(con.execute(f"SELECT {exprs} FROM {quote_ident(relation)}"))
        found |= {c: (*row[2 * i: 2 * i + 2], distinct[j]) for i, (j, c) in enumerate(chunk)}
    return found


def _missing_with(con: duckdb.DuckDBPyConnection, relation: str, year: str, columns: Sequence[str]) -> dict[str, float]:
    """Per column, the share of rows with a year where it is NULL."""
    y = quote_ident(year)
    exprs = ", ".join(f"count_if({quote_ident(c)} IS NULL) / greatest(count(*), 1)" for c in columns)
    row = one_row(con.execute(f"SELECT {exprs} FROM {quote_ident(relation)} WHERE {y} IS NOT NULL"))
    return dict(zip(columns, row, strict=True))


def _only(candidates: list[str]) -> str | None:
    """The one candidate; none when values leave two or more (names never decide)."""
    return candidates[0] if len(candidates) == 1 else None


def _valid_days(con: duckdb.DuckDBPyConnection, relation: str, year: str, month: str, day: str) -> bool:
    """Every (year, month, day) is a calendar date: no 31 April, no 29 February outside leap years."""
    y, m, d = (f"CAST({quote_ident(c)} AS INTEGER)" for c in (year, month, day))
    return one_row(con.execute(
        f"SELECT count_if({d} > day(last_day(make_date({y}, {m}, 1)))) FROM {quote_ident(relation)} "
        f"WHERE {y} IS NOT NULL AND {m} IS NOT NULL AND {d} IS NOT NULL"))[0] == 0


def compose_axis(con: duckdb.DuckDBPyConnection, relation: str, integers: Sequence[str],
                 settings: TemporalSettings) -> Axis | None:
    """A year column (every value a plausible year, at least two of them), then a month, a day and an
    hour, each only when exactly one column fits by value: within its range, as complete as the
    year (a part is there whenever the time is), a day reaching the end of months and forming
    valid dates, an hour starting at 0. None without exactly one year column."""
    if not integers:
        return None
    stats = _ranges(con, relation, integers)
    year = _only([c for c, (lo, hi, distinct) in stats.items() if lo is not None and distinct >= 2
                  and settings.axis_min_year <= lo and hi <= settings.axis_max_year])
    if year is None:
        return None
    missing = _missing_with(con, relation, year, integers)
    parts = [year]
    for part, low, high in _PARTS:
        fits = [c for c, (lo, hi, distinct) in stats.items()
                if c not in parts and lo is not None and distinct >= 2 and low <= lo and hi <= high
                and missing[c] <= settings.axis_max_null_share
                and (part != "day" or (hi >= 29 and _valid_days(con, relation, year, parts[1], c)))
                and (part != "hour" or lo == 0)]
        chosen = _only(fits)
        if chosen is None:
            break
        parts.append(chosen)
    return Axis(tuple(parts), "timestamp" if len(parts) == 4 else "date")


def integer_columns(columns: Mapping[str, str]) -> list[str]:
    return [c for c, t in columns.items() if t == "integer"]
