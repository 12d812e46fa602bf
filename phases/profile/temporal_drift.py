"""Drift of numeric columns along a time axis, for the temporal phase.

Drift is the population stability index (PSI) of a column between consecutive periods, over
fixed quantile bins counted in SQL: no column is loaded into Python and nothing is sampled, so
reruns are identical. A pair of periods counts as drifted only when it passes every test:

- the PSI is large (`drift_min_psi`) and beyond chance for the periods' sizes (chi-square p-value);
- it stands out from the other pairs (`drift_min_ratio` times their median PSI): real data varies
  from period to period more than independent rows would (clusters of related rows, a slow
  trend), and a change of regime is a break in that variation, not the variation itself;
- it lasts: a few periods pooled on each side still differ (one odd period is not a regime);
- the same change does not happen between the same periods a year before or after (where the data
  reaches that far): temperatures rise into every summer; a new regime begins once.

Edge periods far thinner than a typical period (data starting or ending mid-period, a spill-over
into the next year) are left out: their PSI is large and says nothing about the bulk. Columns that
are functions of the date (`phases.profile.temporal_calendar`) are not measured at all.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import median
from typing import TYPE_CHECKING, Any

from phases.artifacts.temporal_profiles import Drift, DriftCount, DriftPair, SeriesDrift
from phases.core.sql import chunked, columns_per_query, quote_ident
from phases.profile.temporal_series import ANALYSED, SERIES_UNITS, UNITS, advance, format_instant, rnd
from phases.shared.narrow import one_row
from phases.shared.sampling import QuantileSample

if TYPE_CHECKING:
    import duckdb

    from phases.profile.temporal_settings import TemporalSettings

NOT_MEASURED = "a function of the date: not measured"
_YEAR_BACK = {"day": ("month", -12), "week": ("week", -52), "month": ("month", -12), "quarter": ("month", -12)}


def drift_unit(series_units: Sequence[str], span_days: float, rows: int, settings: TemporalSettings) -> str | None:
    """The finest unit, no finer than the first series unit, with at most `drift_max_periods`
    periods and on average `drift_min_rows` rows per period: a few periods of many rows
    compare distributions, many small ones compare noise."""
    if not series_units:
        return None
    floor = UNITS[series_units[0]].days
    for unit in SERIES_UNITS:
        periods = span_days / UNITS[unit].days + 1
        if unit != "business_day" and UNITS[unit].days >= floor * (1 - 1e-9) \
                and periods <= settings.drift_max_periods and rows / periods >= settings.drift_min_rows:
            return unit
    return "year"


def quantile_edges(con: duckdb.DuckDBPyConnection, relation: str, columns: Sequence[str],
                   bins: int, sample: QuantileSample | None = None) -> dict[str, tuple[float, ...]]:
    """Fixed bin edges per numeric column: its quantiles over the whole table (or over the rows of
    `sample` on a large one), deduplicated (a column with three values gets three bins). Empty for
    a constant column."""
    if not columns:
        return {}
    probs = ", ".join(f"{i / bins:.6f}" for i in range(1, bins))
    only = (sample or QuantileSample(1.0, None)).filter()
    exprs = ", ".join(f"quantile_disc(CAST({quote_ident(c)} AS DOUBLE), [{probs}]){only}, "
                      f"min(CAST({quote_ident(c)} AS DOUBLE)), max(CAST({quote_ident(c)} AS DOUBLE))"
                      for c in columns)
    row = one_row(con.execute(f"SELECT {exprs} FROM {quote_ident(relation)}"))
    edges: dict[str, tuple[float, ...]] = {}
    for i, column in enumerate(columns):
        quantiles, low, high = row[3 * i: 3 * i + 3]
        if low is None or low == high:
            edges[column] = ()
            continue
        edges[column] = tuple(sorted({q for q in quantiles if q is not None and low <= q < high}))
    return edges


def _bin_expr(value: str, edges: Sequence[float], lo: int, hi: int, params: list[float]) -> str:
    """The bin of `value` (how many edges lie below it) as a binary search of CASEs: four
    comparisons per row for ten bins instead of nine. Edges are bound as parameters, in order."""
    if lo == hi:
        return str(lo)
    mid = (lo + hi) // 2
    params.append(edges[mid])
    below = _bin_expr(value, edges, lo, mid, params)
    above = _bin_expr(value, edges, mid + 1, hi, params)
    return f"CASE WHEN {value} <= ? THEN {below} ELSE {above} END"


Counts = dict[datetime, list[int]]


def bin_counts(con: duckdb.DuckDBPyConnection, relation: str, date_column: str, unit: str,
               column: str, edges: Sequence[float], key: str | None = None) -> dict[str, Counts]:
    """Rows per (series, period, bin) for one numeric column; one series "" without a key
    (`key`: an SQL expression naming the series)."""
    return bin_counts_many(con, relation, date_column, unit, {column: edges}, key).get(column, {})


def _bin_sql(chunk: Sequence[str], edges: Mapping[str, Sequence[float]], params: list[float]) -> list[str]:
    """The bin of each column of `chunk` (NULL where the value is), its edges appended to `params`."""
    bins = []
    for column in chunk:
        value = f"CAST({quote_ident(column)} AS DOUBLE)"
        bins.append(f"CASE WHEN {value} IS NULL THEN NULL ELSE "
                    f"{_bin_expr(value, edges[column], 0, len(edges[column]), params)} END")
    return bins


def bin_counts_many(con: duckdb.DuckDBPyConnection, relation: str, date_column: str, unit: str,
                    edges: Mapping[str, Sequence[float]], key: str | None = None) -> dict[str, dict[str, Counts]]:
    """`bin_counts` of many columns, column -> series -> counts: one scan per chunk of
    `columns_per_query` columns, in long form (a row per row and column, its bin NULL where the
    value is), instead of one scan per column: a wide table has thousands of date x numeric pairs.
    Without a key, see `_bin_counts_per_period`."""
    measured = sorted(c for c, e in edges.items() if e)
    if key is None:
        return _bin_counts_per_period(con, relation, date_column, unit, edges, measured)
    found: dict[str, dict[str, Counts]] = {}
    date = f"CAST({quote_ident(date_column)} AS TIMESTAMP)"
    for chunk in chunked(measured, columns_per_query(con)):
        params: list[float] = []
        bins = _bin_sql(chunk, edges, params)
        sql = f"""SELECT k, j, p, b, count(*) FROM (
                      SELECT {key} AS k, date_trunc('{UNITS[unit].trunc}', {date}) AS p,
                             unnest(range({len(chunk)})) AS j, unnest([{", ".join(bins)}]) AS b
                      FROM {quote_ident(relation)} WHERE {date} IS NOT NULL AND isfinite({date}))
                  WHERE b IS NOT NULL GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"""
        for series, j, period, bin_index, n in con.execute(sql, params).fetchall():
            counts = found.setdefault(chunk[j], {}).setdefault(series, {})
            counts.setdefault(period, [0] * (len(edges[chunk[j]]) + 1))[bin_index] = n
    return found


def _bin_counts_per_period(con: duckdb.DuckDBPyConnection, relation: str, date_column: str, unit: str,
                           edges: Mapping[str, Sequence[float]],
                           measured: Sequence[str]) -> dict[str, dict[str, Counts]]:
    """`bin_counts_many` of one series (the whole table): a count per column and bin, grouped by
    period alone (a few dozen groups), which streams; the long form would first make a row per row
    and column. Chunks hold `columns_per_query` counts (DuckDB plans many aggregates slowly). A
    period where a column has no value gets no entry, as in the long form."""
    found: dict[str, dict[str, Counts]] = {}
    date = f"CAST({quote_ident(date_column)} AS TIMESTAMP)"
    per_query = max(1, columns_per_query(con) // max(len(e) + 1 for e in edges.values())) if measured else 1
    for chunk in chunked(measured, per_query):
        params: list[float] = []
        bins = ", ".join(f"{b} AS b{j}" for j, b in enumerate(_bin_sql(chunk, edges, params)))
        counts = ", ".join(f"count_if(b{j} = {b})" for j, c in enumerate(chunk) for b in range(len(edges[c]) + 1))
        rows = con.execute(f"""
            SELECT p, {counts} FROM (SELECT date_trunc('{UNITS[unit].trunc}', {date}) AS p, {bins}
                                     FROM {quote_ident(relation)} WHERE {date} IS NOT NULL AND isfinite({date}))
            GROUP BY p ORDER BY p""", params).fetchall()
        for period, *values in rows:
            at = 0
            for column in chunk:
                width = len(edges[column]) + 1
                if any(values[at:at + width]):
                    found.setdefault(column, {}).setdefault("", {})[period] = list(values[at:at + width])
                at += width
    return found


def psi(first: Sequence[int], second: Sequence[int], design_effect: float = 1.0) -> tuple[float, float]:
    """PSI with half a count added per bin (empty bins would be infinite), and the p-value
    of n1·n2/(n1+n2)·PSI against chi-square with bins-1 degrees of freedom (Wilson–Hilferty),
    which is how the statistic behaves when nothing changed: it guards small periods. Rows that
    come in clusters of alike ones (the readings of one storm) count as fewer: the statistic is
    divided by the design effect."""
    k = len(first)
    n1, n2 = sum(first) + 0.5 * k, sum(second) + 0.5 * k
    value = sum(((a + 0.5) / n1 - (b + 0.5) / n2) * math.log(((a + 0.5) / n1) / ((b + 0.5) / n2))
                for a, b in zip(first, second, strict=True))
    stat, df = value * sum(first) * sum(second) / max(sum(first) + sum(second), 1) / design_effect, k - 1
    z = ((stat / df) ** (1 / 3) - (1 - 2 / (9 * df))) / math.sqrt(2 / (9 * df))
    return value, 0.5 * math.erfc(z / math.sqrt(2))


Periods = list[tuple[datetime, list[int]]]


def _trim_thin_edges(usable: Periods, share: float) -> tuple[Periods, int]:
    """The periods without leading and trailing ones holding fewer than `share` of the median
    period's rows, and how many were left out."""
    if len(usable) < 3:
        return usable, 0
    floor = share * median(sum(c) for _, c in usable)
    lo, hi = 0, len(usable)
    while hi - lo > 2 and sum(usable[lo][1]) < floor:
        lo += 1
    while hi - lo > 2 and sum(usable[hi - 1][1]) < floor:
        hi -= 1
    return usable[lo:hi], lo + len(usable) - hi


@dataclass(frozen=True)
class _Comparison:
    """The consecutive pairs of one column (in one series) and the ones that drift."""

    pairs: tuple[DriftPair, ...]
    hits: tuple[DriftPair, ...]  # largest PSI first
    dropped: int
    typical: float | None
    seasonal: int


def _pair(p1: datetime, c1: list[int], p2: datetime, c2: list[int], design_effect: float) -> DriftPair:
    value, p_value = psi(c1, c2, design_effect)
    return DriftPair(format_instant(p1), format_instant(p2), sum(c1), sum(c2), rnd(value), rnd(p_value))


def _recurs_a_year_apart(by_period: Mapping[datetime, list[int]], first: datetime, second: datetime, unit: str,
                         design_effect: float, settings: TemporalSettings) -> bool:
    """Whether the same change happens between the same two periods a year before or a year
    after: the season coming round (spring), not a new regime (which a year before had not begun
    and a year after is over, both sides of the pair alike)."""
    if unit not in _YEAR_BACK:
        return False
    back_unit, n = _YEAR_BACK[unit]
    for years in (1, -1):
        a, b = by_period.get(advance(first, back_unit, n * years)), by_period.get(advance(second, back_unit, n * years))
        if a is not None and b is not None:
            value, p_value = psi(a, b, design_effect)
            if value >= settings.drift_min_psi and p_value <= settings.drift_max_p_value:
                return True
    return False


def _lasts(usable: Periods, at: int, pair: DriftPair, design_effect: float, settings: TemporalSettings) -> bool:
    """Whether the change before period `at` lasts: up to `drift_persistence_periods` periods
    pooled on each side (at least two) still differ past the thresholds, by at least
    `drift_persistence_share` of the pair's PSI. A step keeps its size when the periods beside
    it are pooled; one odd period, or periods that each sit at a level of their own, do not."""
    w = settings.drift_persistence_periods
    before, after = usable[max(0, at - w):at], usable[at:at + w]
    if len(before) < 2 or len(after) < 2:
        return False
    pooled = [[sum(c[b] for _, c in side) for b in range(len(side[0][1]))] for side in (before, after)]
    value, p_value = psi(pooled[0], pooled[1], design_effect)
    return value >= max(settings.drift_min_psi, settings.drift_persistence_share * pair.psi) \
        and p_value <= settings.drift_max_p_value


def compare_periods(counts: Counts, unit: str, settings: TemporalSettings, design_effect: float = 1.0) -> _Comparison:
    """PSI between consecutive periods of enough rows, and the pairs that pass every test."""
    usable = [(p, c) for p, c in sorted(counts.items()) if sum(c) >= settings.drift_min_rows]
    usable, dropped = _trim_thin_edges(usable, settings.drift_edge_min_share)
    by_period = dict(usable)
    pairs = [_pair(p1, c1, p2, c2, design_effect) for (p1, c1), (p2, c2) in zip(usable, usable[1:], strict=False)]
    psis = [p.psi for p in pairs]
    hits, seasonal = [], 0
    for i, pair in enumerate(pairs):
        others = psis[:i] + psis[i + 1:]
        large = pair.psi >= settings.drift_min_psi and pair.p_value <= settings.drift_max_p_value
        if not large or (others and pair.psi < settings.drift_min_ratio * median(others)):
            continue
        if _recurs_a_year_apart(by_period, usable[i][0], usable[i + 1][0], unit, design_effect, settings):
            seasonal += 1
            continue
        if _lasts(usable, i + 1, pair, design_effect, settings):
            hits.append(pair)
    hits.sort(key=lambda p: (-p.psi, p.start))
    typical = rnd(median(psis)) if psis else None
    return _Comparison(tuple(pairs), tuple(hits), dropped, typical, seasonal)


def measure_drifts(con: duckdb.DuckDBPyConnection, relation: str, date_column: str, unit: str | None,
                   edges: Mapping[str, Sequence[float]], settings: TemporalSettings,
                   functions: Mapping[str, str], effects: Mapping[str, float], dated: int) -> tuple[Drift, ...]:
    """The drift of every numeric column of `edges` along one date column, in column order; the
    bins of all measured columns are counted together (see `bin_counts_many`). With fewer than
    two periods' worth of `drift_min_rows` among the `dated` rows (a finite date), no pair of
    periods can be compared, so nothing is counted: the result is the same, without the scans."""
    measured = {c: e for c, e in edges.items() if c not in functions and e} \
        if unit is not None and dated >= 2 * settings.drift_min_rows else {}
    counts = bin_counts_many(con, relation, date_column, unit, measured) if unit is not None and measured else {}
    return tuple(measure_drift(unit, column, edges[column], settings, counts.get(column, {}).get("", {}),
                               functions.get(column), effects.get(column, 1.0)) for column in sorted(edges))


def measure_drift(unit: str | None, column: str, edges: Sequence[float], settings: TemporalSettings,
                  counts: Counts, function_of: str | None = None, design_effect: float = 1.0) -> Drift:
    """The drift of one numeric column along one date column, from its bin counts."""
    bins = len(edges) + 1
    if function_of is not None:
        return Drift(column, unit, NOT_MEASURED, bins, 0, None, False, (), function_of=function_of)
    if unit is None:
        return Drift(column, None, "no series: not analysed", bins, 0, None, False, ())
    if not edges:
        return Drift(column, unit, "constant column: not analysed", 1, 0, None, False, ())
    # no counts (too few dated rows to count): no pair, nothing dropped; a wide table has 1000s of these
    found = compare_periods(counts, unit, settings, design_effect) if counts else None
    if found is None or not found.pairs:
        return Drift(column, unit, "too few periods with enough rows: not analysed", bins, 0, None, False, (),
                     edge_periods_dropped=found.dropped if found else 0, design_effect=design_effect)
    return Drift(column, unit, ANALYSED, bins, len(found.pairs), max(p.psi for p in found.pairs), bool(found.hits),
                 found.hits[: settings.top_drift_pairs], edge_periods_dropped=found.dropped,
                 typical_psi=found.typical, seasonal_pairs=found.seasonal, design_effect=design_effect)


def listed_drifts(drifts: Sequence[Drift], most: int) -> tuple[tuple[Drift, ...], tuple[DriftCount, ...] | None]:
    """Every drift result of an axis when there are at most `most`; else the ones worth listing
    (found, or the column is a function of the date), in column order, and how many of the others
    ended with each status and unit: a wide table's thousands of "no drift" results per axis say
    nothing a count does not, and every phase that reads the profile would parse them."""
    if len(drifts) <= most:
        return tuple(drifts), None
    listed = tuple(d for d in drifts if d.found or d.function_of is not None)
    counts = Counter((d.status, d.unit or "") for d in drifts if not (d.found or d.function_of is not None))
    return listed, tuple(DriftCount(status, unit or None, n) for (status, unit), n in sorted(counts.items()))


Variances = dict[tuple[str, tuple[str, ...]], tuple[Any, ...]]  # var_pop is NULL on no values


def design_effects(con: duckdb.DuckDBPyConnection, relation: str, date_column: str, unit: str, key: str,
                   columns: Sequence[str], shared: Variances | None = None) -> dict[str, float]:
    """Per column, 1 + (m - 1) * ICC: m the rows per series and period, ICC the share of the
    column's variance that lies between series (how alike the rows of one series are). The
    variance within series is the rows' pooled variance around their series' mean, from one
    GROUP BY series (DuckDB's var_pop is Welford's, stable); the clusters are counted by one
    GROUP BY series and period: no window over the rows, no DISTINCT per column. `key`: the SQL
    expressions (comma-separated) to GROUP BY a row's series with. `shared`: the
    variances of a date set on every row, which every such date of the table shares (its rows
    are all the rows), keyed by the series and the columns; what it lacks is added."""
    if not columns:
        return {}
    d = quote_ident(date_column)
    dated = f"FROM {quote_ident(relation)} WHERE {d} IS NOT NULL AND isfinite({d})"
    values = [f"CAST({quote_ident(c)} AS DOUBLE)" for c in columns]
    per_series = ", ".join(f"count({v}) AS n{j}, var_pop({v}) AS v{j}" for j, v in enumerate(values))
    pooled = ", ".join(f"sum(n{j} * v{j}) / sum(n{j})" for j in range(len(columns)))
    cache = shared if shared is not None else {}
    within = _variances(con, cache, (key, tuple(columns)),
                        f"SELECT {pooled} FROM (SELECT {per_series} {dated} GROUP BY {key})")
    # apart, not as a grouping set () of the query above: two hash tables cost twice one
    total = _variances(con, cache, ("", tuple(columns)), f"SELECT {', '.join(f'var_pop({v})' for v in values)} {dated}")
    counts = ", ".join(f"count({v}) AS n{j}" for j, v in enumerate(values))
    sizes = ", ".join(f"sum(n{j}), count_if(n{j} > 0)" for j in range(len(columns)))
    clusters = one_row(con.execute(f"""
        SELECT {sizes} FROM (SELECT {counts} {dated}
                             GROUP BY {key}, date_trunc('{UNITS[unit].trunc}', CAST({d} AS TIMESTAMP)))"""))
    found = {}
    for j, column in enumerate(columns):
        rows, groups = clusters[2 * j: 2 * j + 2]
        inside, spread = within[j], total[j]
        icc = min(1.0, max(0.0, 1 - inside / spread)) if spread else 0.0
        size = rows / groups if groups else 1.0
        found[column] = rnd(max(1.0, 1 + (size - 1) * icc))
    return found


def _variances(con: duckdb.DuckDBPyConnection, cache: Variances, name: tuple[str, tuple[str, ...]],
               sql: str) -> tuple[Any, ...]:
    if name not in cache:
        cache[name] = tuple(one_row(con.execute(sql)))
    return cache[name]


def measure_series_drifts(con: duckdb.DuckDBPyConnection, relation: str, date_column: str, unit: str | None,
                          key: str, edges: Mapping[str, Sequence[float]],
                          settings: TemporalSettings) -> tuple[SeriesDrift, ...]:
    """`measure_series_drift` of every column of `edges`, in column order, counted together."""
    counts = bin_counts_many(con, relation, date_column, unit, edges, key) if unit is not None else {}
    return tuple(measure_series_drift(unit, column, edges[column], settings, counts.get(column, {}))
                 for column in sorted(edges))


def measure_series_drift(unit: str | None, column: str, edges: Sequence[float], settings: TemporalSettings,
                         counts: Mapping[str, Counts]) -> SeriesDrift:
    """Drift of one numeric column inside each series of a panel, from its bin counts per series:
    how many series could be analysed, how many drift, and the worst ones."""
    if unit is None or not edges:
        return SeriesDrift(column, unit, 0, 0, ())
    analysed, drifting = 0, []
    for series, per_series in counts.items():
        found = compare_periods(per_series, unit, settings)
        analysed += bool(found.pairs)
        if found.hits:
            drifting.append((-found.hits[0].psi, str(series)))
    worst = tuple(name for _, name in sorted(drifting)[: settings.top_series])
    return SeriesDrift(column, unit, analysed, len(drifting), worst)
