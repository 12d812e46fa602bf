"""Series analysis for the temporal phase.

Per date column, DuckDB counts the events (and sums the amount-like columns) per
period on a generated calendar, so empty periods are zeros and not missing rows;
only these short series (at most `max_series_periods` values) reach Python, where
trend, seasonality and level shifts are measured with plain arithmetic. Drift of the
numeric columns is `phases.profile.temporal_drift`.

Why no numpy/scipy: the series are small (hundreds of points), the methods are a
few sums each, and the phase then needs nothing beyond DuckDB and the stdlib.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from operator import mul
from statistics import median
from typing import TYPE_CHECKING, TypedDict

from phases.artifacts.temporal_profiles import LevelShift, Seasonality, Series, Trend
from phases.core.records import round_sig
from phases.core.sql import quote_ident
from phases.shared.narrow import finite

if TYPE_CHECKING:
    import duckdb

    from phases.profile.temporal_settings import TemporalSettings

CONSTANT = "constant series: not analysed"
TOO_SHORT = "too short: not analysed"
ANALYSED = "analysed"


# ---------------------------------------------------------------- shared helpers

def rnd(value: float) -> float:
    """10 significant digits, so reruns and platforms print the same JSON. For the statistics
    records hold as `float`, finite by construction; a field that may be None takes round_sig."""
    return finite(round_sig(value))


def format_instant(value: datetime) -> str:
    """A date when the time is midnight, else a DuckDB-style timestamp literal."""
    if value.time() == datetime.min.time():
        return value.date().isoformat()
    return value.isoformat(sep=" ")


def _weekday(p: datetime) -> int:
    return p.isoweekday()


def _month_day(p: datetime) -> int:
    return p.day


def _year_day(p: datetime) -> int:
    return p.timetuple().tm_yday


def _iso_week(p: datetime) -> int:
    return p.isocalendar()[1]


def _month(p: datetime) -> int:
    return p.month


def _quarter(p: datetime) -> int:
    return (p.month - 1) // 3 + 1


Phase = Callable[[datetime], int]


@dataclass(frozen=True)
class Unit:
    """A calendar unit: approximate length (to size series), its `date_trunc` part,
    one calendar step, and the seasonal cycles worth testing on a series of it
    (name, cycle length in periods, phase of a period within the cycle)."""

    days: float
    trunc: str
    interval: str
    seasons: tuple[tuple[str, float, Phase], ...] = ()


UNITS: dict[str, Unit] = {
    "second": Unit(1 / 86400, "second", "1 SECOND"),
    "minute": Unit(1 / 1440, "minute", "1 MINUTE", (("hourly", 60, lambda p: p.minute),)),
    "hour": Unit(1 / 24, "hour", "1 HOUR",
                 (("daily", 24, lambda p: p.hour), ("weekly", 168, lambda p: p.weekday() * 24 + p.hour))),
    "day": Unit(1, "day", "1 DAY", (("weekly", 7, _weekday), ("monthly", 30.44, _month_day),
                                    ("yearly", 365.25, _year_day))),
    # 5 business days per 7 calendar days: the length used to size a series
    "business_day": Unit(1.4, "day", "1 DAY", (("weekly", 5, _weekday), ("monthly", 21.7, _month_day))),
    "week": Unit(7, "week", "7 DAYS", (("yearly", 52.18, _iso_week),)),
    "month": Unit(30.436875, "month", "1 MONTH", (("yearly", 12, _month),)),
    "quarter": Unit(91.310625, "quarter", "3 MONTHS", (("yearly", 4, _quarter),)),
    "year": Unit(365.2425, "year", "1 YEAR"),
}
SERIES_UNITS = ("minute", "hour", "day", "business_day", "week", "month", "quarter", "year")
_MONTHS = {"month": 1, "quarter": 3, "year": 12}
_FIXED = {"second": timedelta(seconds=1), "minute": timedelta(minutes=1), "hour": timedelta(hours=1),
          "day": timedelta(days=1), "week": timedelta(days=7)}


def truncate(value: datetime, unit: str) -> datetime:
    """The start of the period of `unit` holding `value` (weeks start on Monday, as in DuckDB)."""
    if unit == "second":
        return value.replace(microsecond=0)
    if unit == "minute":
        return value.replace(second=0, microsecond=0)
    if unit == "hour":
        return value.replace(minute=0, second=0, microsecond=0)
    day = value.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit in _MONTHS:
        month = 1 if unit == "year" else (day.month - 1) // _MONTHS[unit] * _MONTHS[unit] + 1
        return day.replace(month=month, day=1)
    return day  # day, business_day


def _last_day(year: int, month: int) -> int:
    following = datetime(year + month // 12, month % 12 + 1, 1)
    return (following - timedelta(days=1)).day


def advance(value: datetime, unit: str, n: int) -> datetime:
    """`value` moved by n periods; month arithmetic clamps and keeps month ends at month ends."""
    if unit in _FIXED:
        return value + n * _FIXED[unit]
    if unit == "business_day":
        sign, left = (1 if n >= 0 else -1), abs(n)
        while left:
            value += timedelta(days=sign)
            left -= value.isoweekday() <= 5
        return value
    months = value.year * 12 + value.month - 1 + n * _MONTHS[unit]
    year, month = divmod(months, 12)
    last = _last_day(year, month + 1)
    at_end = value.day == _last_day(value.year, value.month)
    return value.replace(year=year, month=month + 1, day=last if at_end else min(value.day, last))



# ---------------------------------------------------------------- choosing series

def choose_series_units(data_unit: str, step: int, span_days: float, is_date: bool,
                        settings: TemporalSettings) -> tuple[str, ...]:
    """The finest unit no finer than the data whose series fits the length bounds, plus
    the first coarser reporting unit (month, quarter, year) that also fits: daily data
    over two years gives day and month."""
    base = "second" if data_unit == "irregular" else data_unit
    floor = UNITS["day" if base == "business_day" else base].days * max(step, 1)
    if is_date:
        floor = max(floor, 1.0)
    valid = []
    for unit in SERIES_UNITS:
        if (unit == "business_day") != (base == "business_day") and unit in ("day", "business_day"):
            continue  # business-day data gets a weekday calendar instead of a daily one
        periods = span_days / UNITS[unit].days + 1
        if UNITS[unit].days >= floor * (1 - 1e-9) and \
                settings.min_series_periods <= periods <= settings.max_series_periods:
            valid.append(unit)
    if not valid:
        return ()
    coarser = [u for u in valid[1:] if u in _MONTHS]
    return (valid[0], coarser[0]) if coarser else (valid[0],)


_EDGE_COVERAGE = 0.99  # an edge period the data covers less than this is dropped


def series_bounds(lo: datetime, hi: datetime, data_step: timedelta, unit: str) -> tuple[datetime, datetime]:
    """[start, end) of the periods to analyse. An edge period the data only partly covers
    is dropped, because a half-filled first or last month looks like a level shift; the
    data covers [lo, hi + data_step), so regular data is judged exactly and an event stream
    starting at 00:01 still keeps its first day."""
    start, last = truncate(lo, unit), truncate(hi, unit)
    first_end, end = advance(start, unit, 1), advance(last, unit, 1)
    if (first_end - lo) / (first_end - start) < _EDGE_COVERAGE:
        start = first_end
    if (min(end, hi + data_step) - last) / (end - last) < _EDGE_COVERAGE:
        end = last
    return start, end


def calendar_adjust(periods: Sequence[datetime], values: Sequence[float], unit: str) -> list[float]:
    """Month, quarter and year values scaled to a period of average length: otherwise
    February alone makes every monthly count series look seasonal."""
    if unit not in _MONTHS:
        return list(values)
    return [v * UNITS[unit].days * 86400 / (advance(p, unit, 1) - p).total_seconds()
            for p, v in zip(periods, values, strict=True)]


def build_series(con: duckdb.DuckDBPyConnection, relation: str, column: str, unit: str,
                 bounds: tuple[datetime, datetime], amounts: Sequence[str]) -> tuple[list[datetime], list[list[float]]]:
    """Event counts, amount sums and then each amount's count of values per period, zero-filled
    on a generated calendar."""
    info = UNITS[unit]
    col = f"CAST({quote_ident(column)} AS TIMESTAMP)"
    # fsum (compensated) because a plain sum of doubles changes in its last bits with the
    # order threads add them, and the artifact must not change between reruns.
    sums = "".join(f", fsum(CAST({quote_ident(a)} AS DOUBLE)) AS s{i}" for i, a in enumerate(amounts))
    sums += "".join(f", count({quote_ident(a)}) AS c{i}" for i, a in enumerate(amounts))
    picks = "".join(f", coalesce(s{i}, 0)" for i in range(len(amounts)))
    picks += "".join(f", coalesce(c{i}, 0)" for i in range(len(amounts)))
    weekdays = "WHERE isodow(range) <= 5" if unit == "business_day" else ""
    sql = f"""
        WITH calendar AS (
            SELECT range AS period FROM range(CAST(? AS TIMESTAMP), CAST(? AS TIMESTAMP), INTERVAL {info.interval})
            {weekdays}
        ), counted AS (
            SELECT date_trunc('{info.trunc}', {col}) AS period, count(*) AS n{sums}
            FROM {quote_ident(relation)} WHERE {col} >= ? AND {col} < ? GROUP BY ALL
        )
        SELECT calendar.period, coalesce(n, 0){picks}
        FROM calendar LEFT JOIN counted USING (period) ORDER BY calendar.period"""
    rows = con.execute(sql, [bounds[0], bounds[1], bounds[0], bounds[1]]).fetchall()
    periods = [row[0] for row in rows]
    measures = [[float(row[i + 1]) for row in rows] for i in range(2 * len(amounts) + 1)]
    return periods, measures


# ---------------------------------------------------------------- analysing one series

def _ols(y: Sequence[float]) -> tuple[float, float, float, list[float]]:
    """Intercept, slope and R² of y on 0..n-1, and the residuals."""
    n = len(y)
    tbar, ybar = (n - 1) / 2, sum(y) / n
    sxx = sum((t - tbar) ** 2 for t in range(n))
    slope = sum((t - tbar) * (v - ybar) for t, v in enumerate(y)) / sxx
    intercept = ybar - slope * tbar
    resid = [v - intercept - slope * t for t, v in enumerate(y)]
    sst = sum((v - ybar) ** 2 for v in y)
    r2 = 1 - sum(r * r for r in resid) / sst if sst > 0 else 0.0
    return intercept, slope, max(0.0, r2), resid


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny, c, d = 1e-300, 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        for aa in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                   -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1 + aa * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + aa / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1) < 1e-14:
            break
    return h


def f_pvalue(f: float, df1: int, df2: int) -> float:
    """P(F > f) for the F distribution: the regularized incomplete beta I_x(df2/2, df1/2)."""
    if f <= 0:
        return 1.0
    x, a, b = df2 / (df2 + df1 * f), df2 / 2, df1 / 2
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1) / (a + b + 2):
        return min(1.0, front * _betacf(a, b, x) / a)
    return max(0.0, 1 - front * _betacf(b, a, 1 - x) / b)


def _phase_means(resid: Sequence[float], phases: Sequence[int]) -> tuple[float, float, list[float]]:
    """Adjusted R² of one mean per phase, the F-test p-value of those means, and the seasonal
    component. Both guards matter on short series: 12 monthly means 'explain' much of 24
    noise points (adjusted R² up to 0.6 by chance), which only the p-value sees."""
    n = len(resid)
    groups: dict[int, list[float]] = {}
    for r, p in zip(resid, phases, strict=True):
        groups.setdefault(p, []).append(r)
    means = {p: sum(v) / len(v) for p, v in groups.items()}
    center = sum(resid) / n
    sst = sum((r - center) ** 2 for r in resid)
    k = len(means)
    if sst <= 0 or n - k <= 0 or k < 2:
        return 0.0, 1.0, [0.0] * n
    sse = sum((r - means[p]) ** 2 for r, p in zip(resid, phases, strict=True))
    adjusted = 1 - (sse / (n - k)) / (sst / (n - 1))
    f = ((sst - sse) / (k - 1)) / (sse / (n - k)) if sse > 0 else math.inf
    p_value = 0.0 if f == math.inf else f_pvalue(f, k - 1, n - k)
    return min(1.0, max(0.0, adjusted)), p_value, [means[p] - center for p in phases]


def _seasonality(periods: Sequence[datetime], y: Sequence[float], unit: str,
                 settings: TemporalSettings) -> tuple[tuple[Seasonality, ...], list[float] | None]:
    """Every cycle the span allows, measured on the linearly detrended series; the
    strongest one found is returned as the component to remove."""
    *_, resid = _ols(y)
    found, best = [], None
    for kind, cycle, phase_of in UNITS[unit].seasons:
        if len(y) < settings.min_seasonal_cycles * cycle:
            continue
        phases = [phase_of(p) for p in periods]
        strength, p_value, component = _phase_means(resid, phases)
        hit = strength >= settings.seasonality_min_strength and p_value <= settings.seasonality_max_p_value
        found.append(Seasonality(kind, len(set(phases)), rnd(strength), rnd(p_value), hit))
        if hit and (best is None or strength > best[0]):
            best = (strength, component)
    return tuple(sorted(found, key=lambda s: s.kind)), (best[1] if best else None)


class _Prefix:
    """Prefix sums of t, t², y and t·y: the line through any segment in O(1)."""

    def __init__(self, y: Sequence[float]) -> None:
        self.s = [[0.0] * (len(y) + 1) for _ in range(5)]
        for t, v in enumerate(y):
            for row, term in zip(self.s, (1, t, t * t, v, t * v), strict=True):
                row[t + 1] = row[t] + term

    def line_at(self, a: int, b: int, x0: float) -> tuple[float, float]:
        """The fitted value at x0 of the line through y[a:b], and its variance factor."""
        s0, s1, s2, s3, s4 = self.s  # not a generator: this runs for every period of every series
        n, st, stt, sy, sty = s0[b] - s0[a], s1[b] - s1[a], s2[b] - s2[a], s3[b] - s3[a], s4[b] - s4[a]
        tbar, ybar = st / n, sy / n
        sxx = stt - n * tbar * tbar
        slope = (sty - n * tbar * ybar) / sxx if sxx > 0 else 0.0
        return ybar + slope * (x0 - tbar), 1 / n + ((x0 - tbar) ** 2 / sxx if sxx > 0 else 0.0)


def _noise(y: Sequence[float]) -> float:
    """Noise level from first differences: their mean absolute deviation from the median
    difference. Differences cancel a trend, and a few jumps move a mean of n values little;
    the mean (not the median) of deviations stays smooth for small integer counts."""
    diffs = [b - a for a, b in zip(y, y[1:], strict=False)]
    mid = median(diffs)
    sigma = math.sqrt(math.pi / 2) * sum(abs(d - mid) for d in diffs) / len(diffs) / math.sqrt(2)
    return sigma if sigma > 0 else 1e-12


def _best_split(prefix: _Prefix, a: int, b: int, m: int, sigma: float) -> tuple[float, int, float, float] | None:
    """The split of [a, b) with the most significant jump between the lines fitted on each side."""
    best = None
    for tau in range(a + m, b - m + 1):
        x0 = tau - 0.5
        left, var_left = prefix.line_at(a, tau, x0)
        right, var_right = prefix.line_at(tau, b, x0)
        z = abs(right - left) / (sigma * math.sqrt(var_left + var_right))
        if best is None or z > best[0] + 1e-12:
            best = (z, tau, left, right)
    return best


def _inverse(matrix: list[list[float]]) -> list[list[float]]:
    """Gauss–Jordan inverse of a small symmetric positive-definite matrix."""
    n = len(matrix)
    rows = [row[:] + [float(i == j) for j in range(n)] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(rows[r][col]))
        rows[col], rows[pivot] = rows[pivot], rows[col]
        lead = rows[col][col]
        rows[col] = [v / lead for v in rows[col]]
        for r in range(n):
            if r != col and rows[r][col]:
                factor = rows[r][col]
                rows[r] = [v - factor * w for v, w in zip(rows[r], rows[col], strict=True)]
    return [row[n:] for row in rows]


def _joint_fit(y: Sequence[float], taus: Sequence[int]) -> tuple[list[float], list[float]]:
    """OLS of y on intercept, t and one step [t >= tau] per change point: the coefficients
    and the diagonal of (X'X)^-1, from which each step's standard error follows."""
    columns = [[1.0] * len(y), [float(t) for t in range(len(y))]]
    columns += [[float(t >= tau) for t in range(len(y))] for tau in taus]
    # sum(map(mul, ...)): the same products added in the same order as a generator, twice as fast
    gram = [[sum(map(mul, u, v)) for v in columns] for u in columns]
    inverse = _inverse(gram)
    xty = [sum(map(mul, u, y)) for u in columns]
    coef = [sum(inverse[i][j] * xty[j] for j in range(len(xty))) for i in range(len(xty))]
    return coef, [inverse[i][i] for i in range(len(coef))]


def _change_points(y: Sequence[float], sigma: float, settings: TemporalSettings) -> list[int]:
    """Binary segmentation into straight-line segments, splitting where the jump between the
    lines fitted on each side is most significant, while it passes both thresholds. Lines,
    not means, so that a steady trend is not cut into a staircase of false shifts."""
    m, level = settings.level_shift_min_segment, sum(abs(v) for v in y) / len(y)
    center = sum(y) / len(y)
    prefix = _Prefix([v - center for v in y])
    segments = [(0, len(y))]
    splits: dict[tuple[int, int], tuple[float, int, float, float] | None] = {}  # a kept segment's split is the same
    while len(segments) <= settings.max_level_shifts:
        for seg in segments:
            if seg not in splits and seg[1] - seg[0] >= 2 * m:
                splits[seg] = _best_split(prefix, seg[0], seg[1], m, sigma)
        candidates = [(split, seg) for seg in segments if seg[1] - seg[0] >= 2 * m
                      for split in [splits[seg]] if split]
        if not candidates:
            break
        (z, tau, left, right), seg = max(candidates, key=lambda c: (c[0][0], -c[0][1]))
        if z < settings.level_shift_min_z or abs(right - left) < settings.level_shift_min_relative * level:
            break
        segments.remove(seg)
        segments += [(seg[0], tau), (tau, seg[1])]
    return sorted(a for a, _ in segments)[1:]


def _yearly_cycle(unit: str) -> int | None:
    """Periods of `unit` in a year, when the unit has a yearly cycle."""
    return next((round(cycle) for kind, cycle, _ in UNITS[unit].seasons if kind == "yearly"), None)


def _recurs_a_year_before(y: Sequence[float], tau: int, cycle: int | None, settings: TemporalSettings) -> bool:
    """Whether the series jumped the same way, by at least `level_shift_seasonal_share` as much,
    one year before `tau`: then the jump is the season coming round (summer), not a new level.
    A series shorter than a year plus a segment cannot tell, and keeps the shift."""
    m = settings.level_shift_min_segment
    if cycle is None or tau - cycle - m < 0:
        return False

    def jump(t: int) -> float:
        return sum(y[t:t + m]) / m - sum(y[t - m:t]) / m

    now, before = jump(tau), jump(tau - cycle)
    return now * before > 0 and abs(before) >= settings.level_shift_seasonal_share * abs(now)


def _level_shifts(periods: Sequence[datetime], y: Sequence[float], unit: str, settings: TemporalSettings,
                  ) -> tuple[tuple[LevelShift, ...], list[float], int]:
    """The level shifts, the step component they add to the series, and how many candidate
    shifts were the season coming round. Their sizes come from one joint fit with a common
    trend, not from the segments: a week-long hole in a rising series is a drop and a recovery,
    and must not bend the trend."""
    sigma, level = _noise(y), sum(abs(v) for v in y) / len(y)
    cycle = _yearly_cycle(unit)
    candidates = _change_points(y, sigma, settings)
    taus = [tau for tau in candidates if not _recurs_a_year_before(y, tau, cycle, settings)]
    seasonal = len(candidates) - len(taus)
    while taus:  # a split judged inside its segment may not hold in the joint fit: drop the weakest
        coef, variances = _joint_fit(y, taus)
        z = [abs(coef[2 + k]) / (sigma * math.sqrt(variances[2 + k])) for k in range(len(taus))]
        weak = [k for k in range(len(taus)) if z[k] < settings.level_shift_min_z
                or abs(coef[2 + k]) < settings.level_shift_min_relative * level]
        if not weak:
            break
        del taus[min(weak, key=lambda k: z[k])]
    if not taus:
        return (), [0.0] * len(y), seasonal
    found, level = [], coef[0]
    for k, tau in enumerate(taus):
        before = level + coef[1] * (tau - 0.5)
        shift = coef[2 + k]
        score = abs(shift) / (sigma * math.sqrt(variances[2 + k]))
        found.append(
            LevelShift(format_instant(periods[tau]), rnd(before), rnd(before + shift), rnd(shift), rnd(score))
        )
        level += shift
    step = [sum(coef[2 + k] for k, tau in enumerate(taus) if t >= tau) for t in range(len(y))]
    return tuple(found), step, seasonal


class _SeriesHead(TypedDict):
    """The fields of a Series that do not depend on the analysis."""

    unit: str
    measure: str
    start: str
    end: str
    periods: int
    calendar_adjusted: bool


def analyse_series(periods: Sequence[datetime], values: Sequence[float], unit: str, measure: str,
                   settings: TemporalSettings, per_period: bool = True) -> Series:
    """Seasonality first (on the detrended series), then level shifts on the seasonally
    adjusted series, then the trend on what is left: each effect is measured without the
    others inflating it (a level shift alone would otherwise look like a trend). Totals per
    period (`per_period`) are scaled to a period of average length; means are not."""
    adjust = per_period and unit in _MONTHS
    head = _SeriesHead(unit=unit, measure=measure, start=format_instant(periods[0]) if periods else "",
                       end=format_instant(periods[-1]) if periods else "", periods=len(values),
                       calendar_adjusted=adjust)
    if len(values) < settings.min_series_periods:
        return Series(**head, status=TOO_SHORT, mean=None, trend=None, seasonality=(), level_shifts=())
    values = calendar_adjust(periods, values, unit) if adjust else list(values)
    mean = sum(values) / len(values)
    if max(values) - min(values) <= 1e-9 * max(abs(mean), 1.0):  # equal up to the adjustment's rounding
        return Series(**head, status=CONSTANT, mean=round_sig(mean), trend=None, seasonality=(), level_shifts=())
    seasons, component = _seasonality(periods, values, unit, settings)
    adjusted = [v - c for v, c in zip(values, component, strict=True)] if component else values
    shifts, step, seasonal = _level_shifts(periods, adjusted, unit, settings)
    _, slope, r2, _ = _ols([v - s for v, s in zip(adjusted, step, strict=True)])
    trend = Trend(rnd(slope), round_sig(slope / mean) if mean else None, rnd(r2), r2 >= settings.trend_min_r2)
    return Series(**head, status=ANALYSED, mean=round_sig(mean), trend=trend, seasonality=seasons, level_shifts=shifts,
                  seasonal_shifts=seasonal)


def analyse_column_series(con: duckdb.DuckDBPyConnection, relation: str, column: str,
                          bounds: Mapping[str, tuple[datetime, datetime]], amounts: Sequence[str],
                          settings: TemporalSettings) -> tuple[Series, ...]:
    """Every (unit, measure) series of one date column, in a fixed order: the row count, each
    amount's total and each amount's mean per period. The mean is the level of the values alone:
    a total mixes it with the number of rows (a rate sampled 4 or 5 times a month), and its
    periods without rows are left out rather than read as 0."""
    found = []
    for unit, unit_bounds in bounds.items():
        periods, measures = build_series(con, relation, column, unit, unit_bounds, amounts)
        names = ["count"] + [f"sum:{a}" for a in amounts]
        totals, counts = measures[: len(amounts) + 1], measures[len(amounts) + 1:]
        found += [analyse_series(periods, values, unit, name, settings) for name, values in zip(names, totals,
                                                                                               strict=True)]
        for a, sums, n in zip(amounts, totals[1:], counts, strict=True):
            filled = [k for k in range(len(periods)) if n[k] > 0]
            found.append(analyse_series([periods[k] for k in filled], [sums[k] / n[k] for k in filled], unit,
                                        f"mean:{a}", settings, per_period=False))
    return tuple(found)
