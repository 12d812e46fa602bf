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
from collections.abc import Collection, Mapping, Sequence
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
from phases.profile.temporal_gaps import (
    DAY_US,
    GAP_STATS,
    GAPS,
    Candidate,
    build_gap_table,
    measure_granularity,
    series_name_sql,
)
from phases.profile.temporal_series import choose_series_units, format_instant, rnd
from phases.shared.narrow import one_row

if TYPE_CHECKING:
    import duckdb

    from phases.profile.temporal_settings import TemporalSettings


def key_sql(columns: Sequence[str]) -> str:
    """The series name of a row: its key values as text, joined by " | " (NULL spelled out)."""
    return series_name_sql([quote_ident(c) for c in columns])


def key_parts(columns: Sequence[str], texts: Collection[str]) -> tuple[str, ...]:
    """SQL expressions whose values together tell the series apart exactly as their names
    (`key_sql`) do, to group rows on without casting every value to text: each column itself,
    a text column with NULL spelled out (the name does not tell NULL from 'NULL'). With two text
    columns or more, " | " inside a value could make two keys one name: then the name itself."""
    if sum(c in texts for c in columns) > 1:
        return (key_sql(columns),)
    return tuple(f"coalesce({quote_ident(c)}, 'NULL')" if c in texts else quote_ident(c) for c in columns)


@dataclass(frozen=True)
class SeriesKey:
    columns: tuple[str, ...]
    uniqueness: float
    rows_per_time: float
    pairs: bool = False  # its (key, time) groups are in the table PAIRS (see `_pair_groups`)


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


@dataclass(frozen=True)
class _Groups:
    """Figures of one GROUP BY set: groups, and over its groups the sum of n² and of n(n-1)/2."""

    groups: int
    square: int
    sharing: int


GROUPING_MAX = 64  # DuckDB's GROUPING() takes at most this many columns
PAIRS = "_temporal_pairs"  # the (key, time) groups of the last key tested alone, with their rows


Figures = dict[tuple[str, ...], _Groups]


def _group_figures(con: duckdb.DuckDBPyConnection, relation: str, time: str, sets: Sequence[tuple[str, ...]],
                   known: Figures | None = None) -> tuple[int, Figures]:
    """Rows with a time, and per set of columns its `_Groups` over those rows: one GROUP BY with a
    grouping set each, over as many queries as GROUPING's limit on columns asks. `known`: figures
    of sets without the time over every row of the table, for a time set on every row (where they
    are the same for every such time); the sets it lacks are added to it."""
    shared = {g: known[g] for g in sets if known is not None and g in known}
    rows, found = _grouped(con, relation, time, [g for g in sets if g not in shared])
    if known is not None:
        known.update({g: f for g, f in found.items() if time not in g})
    return rows, shared | found


def _grouped(con: duckdb.DuckDBPyConnection, relation: str, time: str,
             sets: Sequence[tuple[str, ...]]) -> tuple[int, Figures]:
    if not sets:  # every set's figures known already (a second time axis): only the rows with a time
        count = con.execute(f"SELECT count(*) FROM {quote_ident(relation)} WHERE {quote_ident(time)} IS NOT NULL")
        return int(one_row(count)[0]), {}
    chunks: list[list[tuple[str, ...]]] = [[]]
    for group in dict.fromkeys(sets):
        held = {c for g in chunks[-1] for c in g} | set(group)
        if chunks[-1] and len(held) > GROUPING_MAX:
            chunks.append([])
        chunks[-1].append(group)
    rows, found = 0, {}
    for chunk in chunks:
        columns = sorted({c for g in chunk for c in g})
        index = {c: i for i, c in enumerate(columns)}

        def gid(group: tuple[str, ...], columns: Sequence[str] = columns, index: dict[str, int] = index) -> int:
            return 2 ** len(columns) - 1 - sum(2 ** (len(columns) - 1 - index[c]) for c in group)

        grouping = ", ".join("(" + ", ".join(quote_ident(c) for c in group) + ")" for group in chunk)
        figures = {row[0]: row[1:] for row in con.execute(f"""
            SELECT gid, count(*), sum(n), sum(n * n), sum(n * (n - 1) // 2)
            FROM (SELECT GROUPING({", ".join(quote_ident(c) for c in columns)}) AS gid, count(*) AS n
                  FROM {quote_ident(relation)} WHERE {quote_ident(time)} IS NOT NULL
                  GROUP BY GROUPING SETS ({grouping}))
            GROUP BY gid""").fetchall()}
        for group in chunk:
            if gid(group) in figures:  # absent when no row has a time
                groups, n, square, sharing = figures[gid(group)]
                rows = int(n)
                found[group] = _Groups(int(groups), int(square), int(sharing))
    return rows, found


def _key_tests(con: duckdb.DuckDBPyConnection, relation: str, time: str, rows: int, times: _Groups,
               keys: Sequence[tuple[str, ...]], distinct: Mapping[tuple[str, ...], _Groups]) -> list[_KeyTest]:
    """The test figures of each key, from the grouping sets (key, time). Collisions expected by
    chance: pairs of rows sharing a time, times the chance that two rows drawn from the key's own
    frequencies agree (the sum of its squared shares)."""
    if len(keys) == 1:
        pairs = {(*keys[0], time): _pair_groups(con, relation, time, keys[0])}
    else:
        _, pairs = _group_figures(con, relation, time, [(*k, time) for k in keys])
    return [_KeyTest(distinct[k].groups, pairs[(*k, time)].groups, pairs[(*k, time)].sharing,
                     float(times.sharing) * float(distinct[k].square) / rows ** 2) for k in keys]


def _pair_groups(con: duckdb.DuckDBPyConnection, relation: str, time: str, key: tuple[str, ...]) -> _Groups:
    """The figures of the set (key, time) from its groups, kept in the table PAIRS: when the key
    names the series, the gap table is made from them without grouping the rows again (`_within`).
    A plain GROUP BY costs less than one grouping set."""
    columns = ", ".join(quote_ident(c) for c in (*key, time))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {PAIRS} AS SELECT {columns}, count(*) AS _n "
                f"FROM {quote_ident(relation)} WHERE {quote_ident(time)} IS NOT NULL GROUP BY ALL")
    groups, square, sharing = one_row(con.execute(
        f"SELECT count(*), coalesce(sum(_n * _n), 0), coalesce(sum(_n * (_n - 1) // 2), 0) FROM {PAIRS}"))
    return _Groups(int(groups), int(square), int(sharing))


def _first_key(con: duckdb.DuckDBPyConnection, relation: str, time: str, rows: int,
               figures: Mapping[tuple[str, ...], _Groups], keys: Sequence[tuple[str, ...]],
               settings: TemporalSettings) -> SeriesKey | None:
    """The passing key with the fewest values (the first in `keys` on a tie), exactly, from the
    values of each key and of the time (`figures`). The (key, time) sets, which hold up to a group
    per row, are grouped only for keys that may pass on their values, fewest values first, in
    batches of about one scan's worth of groups, stopping at the first batch with a passing key:
    a key with more values could not win. A long table's candidates of many values (a comment, an
    order number) are then never grouped with the time."""
    times, most = figures[(time,)], rows / settings.panel_min_rows_per_series
    # A key of d values and the time of t values form at most d * t distinct pairs: too few for
    # the uniqueness asked, it fails without being grouped (the fewest-valued ones mostly do).
    order = sorted((figures[k].groups, i) for i, k in enumerate(keys) if 2 <= figures[k].groups <= most
                   and figures[k].groups * times.groups / rows >= settings.panel_min_uniqueness)
    batch: list[int] = []
    load = 0
    for position, (distinct, i) in enumerate(order):
        batch.append(i)
        load += min(rows, distinct * times.groups)
        if load < rows and position + 1 < len(order):
            continue
        tests = _key_tests(con, relation, time, rows, times, [keys[j] for j in batch], figures)
        passing = [(t.distinct, j, t.unique_pairs / rows) for j, t in zip(batch, tests, strict=True)
                   if t.unique_pairs / rows >= settings.panel_min_uniqueness
                   and poisson_at_most(t.collisions, t.expected) <= settings.panel_max_p_value]
        if passing:
            _, j, unique = min(passing)
            return SeriesKey(keys[j], rnd(unique), rnd(rows / times.groups), len(batch) == 1)
        batch, load = [], 0
    return None


def find_series_key(con: duckdb.DuckDBPyConnection, relation: str, time: str, candidates: Sequence[str],
                    settings: TemporalSettings, most_unique: float = 1.0,
                    known: Figures | None = None, narrow: str | None = None) -> SeriesKey | None:
    """The key naming the series: with the time (nearly) unique, far fewer rows sharing key and
    time than chance would give for a column of its frequencies (a measure with many values is
    (key, time)-unique by chance when few rows share a time), and at least
    `panel_min_rows_per_series` rows per key value on average; the fewest key values win. Pairs
    of the lowest-cardinality columns are tried when no single column qualifies. None when the
    time alone is (nearly) unique or no key qualifies. `most_unique`: what the time's distinct
    values over its rows can be at most (known from its facts), when that is known. `known`: see
    `_group_figures` (only for a time set on every row). `narrow`: a relation holding the time
    column and the same rows, cheaper to read for the time's own test."""
    if not candidates:
        return None
    # The time's own test first, from one cheap scan, where it can fail: a time (nearly) unique
    # rules out a panel before thousands of candidate keys of a wide table are grouped with it.
    if most_unique > settings.panel_max_time_uniqueness:
        t = quote_ident(time)
        rows, times = one_row(con.execute(f"SELECT count({t}), count(DISTINCT {t}) "
                                          f"FROM {quote_ident(narrow or relation)}"))
        if rows == 0 or times / rows > settings.panel_max_time_uniqueness:
            return None
    singles = [(c,) for c in candidates]
    rows, figures = _group_figures(con, relation, time, [(time,), *singles], known)
    if not rows:
        return None
    single = _first_key(con, relation, time, rows, figures, singles, settings)
    if single is not None:
        return single
    most = rows / settings.panel_min_rows_per_series
    small = sorted((figures[k].groups, k[0]) for k in singles if 2 <= figures[k].groups <= most)
    pairs = list(combinations([c for _, c in small[: settings.panel_max_pair_candidates]], 2))
    if not pairs:
        return None
    figures = {**figures, **_group_figures(con, relation, time, pairs, known)[1]}
    return _first_key(con, relation, time, rows, figures, pairs, settings)


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


def _within(con: duckdb.DuckDBPyConnection, relation: str, time: str, key: Sequence[str],
            settings: TemporalSettings, distinct: bool = True) -> _Within:
    build_gap_table(con, relation, time, key, distinct)
    stats = one_row(con.execute(GAP_STATS))
    granularity, candidate, missing = measure_granularity(con, stats, settings)
    series = _per_series(con, candidate)
    gaps = _series_gaps(con, candidate, settings.top_gaps) if candidate and settings.top_gaps else ()
    con.execute(f"DROP TABLE {GAPS}")
    return _Within(stats[0], granularity, missing, series, gaps)


def _episodes(con: duckdb.DuckDBPyConnection, relation: str, time: str, key: tuple[str, ...], found: _Within,
              settings: TemporalSettings) -> tuple[tuple[str, ...], _Within] | None:
    """Series mostly missing between their first and last times are recurring episodes (a storm
    name reused every few years): split by calendar year when that makes them complete."""
    completeness = found.completeness
    if completeness is None or completeness.ratio >= settings.panel_min_completeness \
            or found.granularity.unit in ("year", "quarter"):
        return None
    by_year = (*key, f"year(CAST({quote_ident(time)} AS TIMESTAMP))")
    split = _within(con, relation, time, by_year, settings)
    if split.completeness is None or split.completeness.ratio < settings.panel_min_completeness:
        return None
    return by_year, split


def profile_panel(con: duckdb.DuckDBPyConnection, relation: str, time: str, is_date: bool, key: SeriesKey,
                  edges: Mapping[str, tuple[float, ...]], settings: TemporalSettings,
                  texts: Collection[str] = ()) -> tuple[Panel, str]:
    """Granularity, gaps and completeness inside each series of `key`, pooled and per series, and
    the drift of the numeric columns in `edges` inside each series; and the SQL to GROUP BY a row's
    series with (`key_parts`: `texts` are the text columns of the table)."""
    parts = key_parts(key.columns, texts)
    grouped = _grouped_already(con, key, parts, time)
    found = _within(con, PAIRS if grouped else relation, time, parts, settings, not grouped)
    con.execute(f"DROP TABLE IF EXISTS {PAIRS}")  # as large as the gap table, and not read again
    split = _episodes(con, relation, time, parts, found, settings)
    if split is not None:
        parts, found = split
    k = series_name_sql(parts)
    series, granularity = found.series, found.granularity
    present = [s.present for s in series]
    conforming = sum(s.off_step == 0 for s in series) / len(series)
    drift = _series_drift(con, relation, time, is_date, k, series, granularity.unit, granularity.step, edges, settings)
    panel = Panel(key.columns, len(series), key.uniqueness, key.rows_per_time, min(present), rnd(median(present)),
                  max(present), granularity, rnd(conforming), found.completeness, sum(s.missing > 0 for s in series),
                  found.missing, found.gaps, _least_complete(series, settings.top_series), drift,
                  "year" if split else None)
    return panel, ", ".join(parts)


def _grouped_already(con: duckdb.DuckDBPyConnection, key: SeriesKey, parts: Sequence[str], time: str) -> bool:
    """Whether the rows of PAIRS are the distinct (series, time) of the gap table already: the key
    was tested alone, its parts are its columns themselves (no text spelled NULL, which merges
    NULL and 'NULL'), and the time is a date or a timestamp without time zone, whose cast to
    TIMESTAMP keeps distinct values distinct."""
    if not key.pairs or tuple(parts) != tuple(quote_ident(c) for c in key.columns):
        return False
    kind = con.execute("SELECT data_type FROM duckdb_columns() WHERE table_name = ? AND column_name = ?",
                       [PAIRS, time]).fetchall()
    return [row[0] for row in kind] in (["DATE"], ["TIMESTAMP"])


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
