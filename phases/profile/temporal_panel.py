"""Several series in one table (a panel), for the temporal phase.

A table of prices per symbol, readings per station or figures per country and year holds one
series per key value. Treated as one series, its granularity and gaps describe the pooled
calendar, not any series: a country missing ten years hides behind the others. The key is found
from values: the time alone repeats (several rows share it), while a low-cardinality column (or
two) and the time are unique together, or nearly; among the columns that qualify, the one with
the fewest values names the series (a measure unique by chance has many). Then granularity,
gaps and completeness are measured inside each series and summarised, and drift is measured
inside each series where the series are long enough.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations
from statistics import median
from typing import TYPE_CHECKING

from phases.artifacts.temporal_profiles import (
    Completeness,
    Granularity,
    Panel,
    SeriesCompleteness,
    SeriesDrift,
    SeriesGap,
)
from phases.core.sql import quote_ident
from phases.profile.temporal_drift import drift_unit, measure_series_drifts
from phases.profile.temporal_gaps import DAY_US, GAP_STATS, GAPS, Candidate, build_gap_table, measure_granularity
from phases.profile.temporal_series import choose_series_units, format_instant, rnd
from phases.shared.narrow import one_row

if TYPE_CHECKING:
    import duckdb

    from phases.profile.temporal_settings import TemporalSettings


def key_sql(columns: Sequence[str]) -> str:
    """The series name of a row: its key values as text, joined by " | " (NULL spelled out)."""
    parts = [f"coalesce(CAST({quote_ident(c)} AS VARCHAR), 'NULL')" for c in columns]
    return parts[0] if len(parts) == 1 else f"concat_ws(' | ', {', '.join(parts)})"


@dataclass(frozen=True)
class SeriesKey:
    columns: tuple[str, ...]
    uniqueness: float
    rows_per_time: float


@dataclass(frozen=True)
class _KeyTest:
    distinct: int  # key values
    unique_pairs: int  # distinct (key, time)
    collisions: int  # pairs of rows sharing key and time
    expected: float  # ... expected if the key were drawn at random with its own frequencies


def poisson_at_most(k: int, mean: float) -> float:
    """P(X <= k) for X ~ Poisson(mean), summed in log space (means in the thousands stay finite)."""
    if mean <= 0:
        return 1.0
    if k >= mean:
        return 1.0  # not below the mean: no evidence either way (exact value not needed)
    return min(1.0, sum(math.exp(-mean + i * math.log(mean) - math.lgamma(i + 1)) for i in range(k + 1)))


def _key_tests(con: duckdb.DuckDBPyConnection, relation: str, time: str,
               keys: Sequence[tuple[str, ...]]) -> tuple[int, int, list[_KeyTest]]:
    """One GROUP BY with two grouping sets per candidate key (the key; the key and the time) and
    one for the time: rows with a time, distinct times, and per key its test figures. Collisions
    expected by chance: pairs of rows sharing a time, times the chance that two rows drawn from
    the key's own frequencies agree (the sum of its squared shares)."""
    columns = sorted({c for k in keys for c in k} | {time})
    index = {c: i for i, c in enumerate(columns)}
    sets = [(time,)] + [s for k in keys for s in (k, (*k, time))]

    def gid(group: tuple[str, ...]) -> int:
        return 2 ** len(columns) - 1 - sum(2 ** (len(columns) - 1 - index[c]) for c in group)

    grouping = ", ".join("(" + ", ".join(quote_ident(c) for c in group) + ")" for group in sets)
    found = {row[0]: row[1:] for row in con.execute(f"""
        SELECT gid, count(*), sum(n), sum(n * n), sum(n * (n - 1) // 2)
        FROM (SELECT GROUPING({", ".join(quote_ident(c) for c in columns)}) AS gid, count(*) AS n
              FROM {quote_ident(relation)} WHERE {quote_ident(time)} IS NOT NULL GROUP BY GROUPING SETS ({grouping}))
        GROUP BY gid""").fetchall()}
    if gid((time,)) not in found:
        return 0, 0, []
    times, rows, _, sharing = found[gid((time,))]
    tests = []
    for k in keys:
        distinct, _, square, _ = found[gid(k)]
        pairs, _, _, collisions = found[gid((*k, time))]
        tests.append(_KeyTest(int(distinct), int(pairs), int(collisions), float(sharing) * float(square) / rows ** 2))
    return int(rows), int(times), tests


GROUPING_MAX = 64  # DuckDB's GROUPING() takes at most this many columns


def _key_tests_chunked(con: duckdb.DuckDBPyConnection, relation: str, time: str,
                       keys: Sequence[tuple[str, ...]]) -> tuple[int, int, list[_KeyTest]]:
    """`_key_tests` over as many queries as GROUPING's limit on columns asks (one up to 63 columns)."""
    chunks: list[list[tuple[str, ...]]] = [[]]
    for key in keys:
        held = {c for k in chunks[-1] for c in k} | set(key) | {time}
        if chunks[-1] and len(held) > GROUPING_MAX - 1:
            chunks.append([])
        chunks[-1].append(key)
    rows, times, tests = 0, 0, []
    for chunk in chunks:
        rows, times, found = _key_tests(con, relation, time, chunk)
        if not found and chunk:
            return rows, times, []
        tests += found
    return rows, times, tests


def find_series_key(con: duckdb.DuckDBPyConnection, relation: str, time: str, candidates: Sequence[str],
                    settings: TemporalSettings, most_unique: float = 1.0) -> SeriesKey | None:
    """The key naming the series: with the time (nearly) unique, far fewer rows sharing key and
    time than chance would give for a column of its frequencies (a measure with many values is
    (key, time)-unique by chance when few rows share a time), and at least
    `panel_min_rows_per_series` rows per key value on average; the fewest key values win. Pairs
    of the lowest-cardinality columns are tried when no single column qualifies. None when the
    time alone is (nearly) unique or no key qualifies. `most_unique`: what the time's distinct
    values over its rows can be at most (known from its facts), when that is known."""
    if not candidates:
        return None
    # The time's own test first, from one cheap scan, where it can fail: a time (nearly) unique
    # rules out a panel before thousands of candidate keys of a wide table are grouped with it.
    if most_unique > settings.panel_max_time_uniqueness:
        t = quote_ident(time)
        rows, times = one_row(con.execute(f"SELECT count({t}), count(DISTINCT {t}) FROM {quote_ident(relation)}"))
        if rows == 0 or times / rows > settings.panel_max_time_uniqueness:
            return None
    rows, times, tests = _key_tests_chunked(con, relation, time, [(c,) for c in candidates])
    most = rows / settings.panel_min_rows_per_series

    def best(keys: Sequence[tuple[str, ...]], found: Sequence[_KeyTest]) -> SeriesKey | None:
        passing = [(t.distinct, i, t.unique_pairs / rows) for i, t in enumerate(found)
                   if 2 <= t.distinct <= most and t.unique_pairs / rows >= settings.panel_min_uniqueness
                   and poisson_at_most(t.collisions, t.expected) <= settings.panel_max_p_value]
        if not passing:
            return None
        _, i, unique = min(passing)
        return SeriesKey(keys[i], rnd(unique), rnd(rows / times))

    single = best([(c,) for c in candidates], tests)
    if single is not None:
        return single
    small = sorted((t.distinct, c) for c, t in zip(candidates, tests, strict=True) if 2 <= t.distinct <= most)
    pairs = list(combinations([c for _, c in small[: settings.panel_max_pair_candidates]], 2))
    return best(pairs, _key_tests(con, relation, time, pairs)[2]) if pairs else None


@dataclass(frozen=True)
class _PerSeries:
    name: str
    present: int
    first: datetime
    last: datetime
    missing: int
    off_step: int  # gaps that are not whole steps


def _per_series(con: duckdb.DuckDBPyConnection, candidate: Candidate | None) -> list[_PerSeries]:
    missing = f"greatest({candidate.steps} - 1, 0)" if candidate else "0"
    off = f"NOT ({candidate.multiple})" if candidate else "false"
    rows = con.execute(f"""
        SELECT k, count(*), min(v), max(v), coalesce(sum({missing}) FILTER (WHERE p IS NOT NULL), 0),
               count_if(p IS NOT NULL AND {off})
        FROM {GAPS} GROUP BY k ORDER BY k""").fetchall()
    return [_PerSeries(str(k), n, lo, hi, int(m), int(o)) for k, n, lo, hi, m, o in rows]


def _series_gaps(con: duckdb.DuckDBPyConnection, candidate: Candidate, limit: int) -> tuple[SeriesGap, ...]:
    steps = f"({candidate.steps} - 1)"
    rows = con.execute(f"""
        SELECT k, p, v, g, {steps} AS missing FROM {GAPS} WHERE p IS NOT NULL AND {steps} > 0
        ORDER BY missing DESC, k, p LIMIT {limit}""").fetchall()
    return tuple(SeriesGap(str(k), format_instant(p), format_instant(v), rnd(g / DAY_US), int(m))
                 for k, p, v, g, m in rows)


def _least_complete(series: Sequence[_PerSeries], limit: int) -> tuple[SeriesCompleteness, ...]:
    worst = sorted((s for s in series if s.missing > 0), key=lambda s: (-s.missing, s.name))[:limit]
    return tuple(SeriesCompleteness(s.name, format_instant(s.first), format_instant(s.last), s.present,
                                    s.present + s.missing, rnd(s.present / (s.present + s.missing))) for s in worst)


@dataclass(frozen=True)
class _Within:
    """The gaps inside the series named by one key expression."""

    distinct: int  # distinct (series, time)
    granularity: Granularity
    missing: int
    series: list[_PerSeries]
    gaps: tuple[SeriesGap, ...]

    @property
    def completeness(self) -> Completeness | None:
        if self.granularity.unit == "irregular":
            return None
        expected = self.distinct + self.missing
        return Completeness(expected, self.distinct, rnd(self.distinct / expected))


def _within(con: duckdb.DuckDBPyConnection, relation: str, time: str, key: str, settings: TemporalSettings) -> _Within:
    build_gap_table(con, relation, time, key)
    stats = one_row(con.execute(GAP_STATS))
    granularity, candidate, missing = measure_granularity(con, stats, settings)
    series = _per_series(con, candidate)
    gaps = _series_gaps(con, candidate, settings.top_gaps) if candidate and settings.top_gaps else ()
    con.execute(f"DROP TABLE {GAPS}")
    return _Within(stats[0], granularity, missing, series, gaps)


def _episodes(con: duckdb.DuckDBPyConnection, relation: str, time: str, key: str, found: _Within,
              settings: TemporalSettings) -> tuple[str, _Within] | None:
    """Series mostly missing between their first and last times are recurring episodes (a storm
    name reused every few years): split by calendar year when that makes them complete."""
    completeness = found.completeness
    if completeness is None or completeness.ratio >= settings.panel_min_completeness \
            or found.granularity.unit in ("year", "quarter"):
        return None
    by_year = f"concat_ws(' | ', {key}, CAST(year(CAST({quote_ident(time)} AS TIMESTAMP)) AS VARCHAR))"
    split = _within(con, relation, time, by_year, settings)
    if split.completeness is None or split.completeness.ratio < settings.panel_min_completeness:
        return None
    return by_year, split


def profile_panel(con: duckdb.DuckDBPyConnection, relation: str, time: str, is_date: bool, key: SeriesKey,
                  edges: Mapping[str, tuple[float, ...]], settings: TemporalSettings) -> tuple[Panel, str]:
    """Granularity, gaps and completeness inside each series of `key`, pooled and per series, and
    the drift of the numeric columns in `edges` inside each series; and the SQL naming a row's series."""
    k = key_sql(key.columns)
    found = _within(con, relation, time, k, settings)
    split = _episodes(con, relation, time, k, found, settings)
    if split is not None:
        k, found = split
    series, granularity = found.series, found.granularity
    present = [s.present for s in series]
    conforming = sum(s.off_step == 0 for s in series) / len(series)
    drift = _series_drift(con, relation, time, is_date, k, series, granularity.unit, granularity.step, edges, settings)
    panel = Panel(key.columns, len(series), key.uniqueness, key.rows_per_time, min(present), rnd(median(present)),
                  max(present), granularity, rnd(conforming), found.completeness, sum(s.missing > 0 for s in series),
                  found.missing, found.gaps, _least_complete(series, settings.top_series), drift,
                  "year" if split else None)
    return panel, k


def _series_drift(con: duckdb.DuckDBPyConnection, relation: str, time: str, is_date: bool, key: str,
                  series: Sequence[_PerSeries], unit: str, step: int, edges: Mapping[str, tuple[float, ...]],
                  settings: TemporalSettings) -> tuple[SeriesDrift, ...]:
    """Drift inside each series, when a typical series has rows enough for two periods."""
    rows = median(s.present for s in series)  # distinct times: a lower bound of the rows of a series
    span = median((s.last - s.first).total_seconds() / 86400 for s in series)
    if rows < 2 * settings.drift_min_rows or not edges:
        return ()
    drift_at = drift_unit(choose_series_units(unit, step, span, is_date, settings), span, int(rows), settings)
    return measure_series_drifts(con, relation, time, drift_at, key, edges, settings)
