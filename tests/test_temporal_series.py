"""Series analysis of the temporal phase: trend, seasonality, level shifts and drift
recovered from series and tables built with known answers (fixed seeds)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import duckdb
import pytest

from phases.profile.temporal import profile_temporal
from phases.profile.temporal_drift import psi
from phases.profile.temporal_series import (
    CONSTANT,
    TOO_SHORT,
    advance,
    analyse_series,
    choose_series_units,
    f_pvalue,
    truncate,
)
from phases.profile.temporal_settings import TemporalSettings
from tests.test_temporal import make_table

DEFAULTS = TemporalSettings()
START = datetime(2024, 1, 1)  # a Monday


def daily(n: int) -> list[datetime]:
    return [START + timedelta(days=i) for i in range(n)]


def noisy(values: list[float], sigma: float, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [v + rng.gauss(0, sigma) for v in values]


# ---------------------------------------------------------------- trend

@pytest.mark.parametrize("slope", [2.0, -0.5, 0.25])
def test_a_linear_trend_is_recovered_within_tolerance(slope):
    values = noisy([100 + slope * t for t in range(120)], sigma=2, seed=1)
    trend = analyse_series(daily(120), values, "day", "count", DEFAULTS).trend
    assert trend.slope == pytest.approx(slope, abs=0.03)
    assert trend.found


def test_a_random_series_has_no_trend():
    trend = analyse_series(daily(200), noisy([50] * 200, sigma=5, seed=2), "day", "count", DEFAULTS).trend
    assert not trend.found
    assert trend.r2 < 0.1


def test_a_steady_trend_is_not_cut_into_level_shifts():
    series = analyse_series(daily(300), noisy([10 + 0.5 * t for t in range(300)], 3, seed=3), "day", "count",
                            DEFAULTS)
    assert series.level_shifts == ()


# ---------------------------------------------------------------- seasonality

def test_a_weekly_pattern_is_found_with_high_strength():
    pattern = [100, 110, 105, 100, 120, 20, 10]  # quiet weekends
    values = noisy([pattern[t % 7] for t in range(140)], sigma=5, seed=4)
    weekly = {s.kind: s for s in analyse_series(daily(140), values, "day", "count", DEFAULTS).seasonality}["weekly"]
    assert weekly.found
    assert weekly.strength > 0.9


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_a_random_series_has_no_seasonality(seed):
    series = analyse_series(daily(140), noisy([100] * 140, sigma=10, seed=seed), "day", "count", DEFAULTS)
    assert not any(s.found for s in series.seasonality)


def test_a_yearly_pattern_in_a_monthly_series_is_found():
    periods = [datetime(2018 + i // 12, i % 12 + 1, 1) for i in range(60)]
    values = noisy([100 + (80 if p.month == 12 else 0) for p in periods], sigma=5, seed=8)
    (yearly,) = analyse_series(periods, values, "month", "count", DEFAULTS).seasonality
    assert (yearly.kind, yearly.phases, yearly.found) == ("yearly", 12, True)


def test_a_weekly_pattern_does_not_hide_the_trend():
    values = noisy([50 + 0.5 * t + (30 if t % 7 < 5 else -60) for t in range(140)], sigma=3, seed=9)
    series = analyse_series(daily(140), values, "day", "count", DEFAULTS)
    assert series.trend.slope == pytest.approx(0.5, abs=0.03)
    assert series.trend.r2 > 0.9


# ---------------------------------------------------------------- level shifts

def test_a_level_shift_is_found_at_the_right_period_with_its_size():
    values = noisy([100.0] * 60 + [150.0] * 60, sigma=5, seed=10)
    series = analyse_series(daily(120), values, "day", "count", DEFAULTS)
    (shift,) = series.level_shifts
    assert shift.period == (START + timedelta(days=60)).date().isoformat()
    assert shift.shift == pytest.approx(50, abs=5)
    assert not series.trend.found  # the step explains the rise; no trend on top of it


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_a_random_series_has_no_level_shift(seed):
    assert analyse_series(daily(365), noisy([20] * 365, 4, seed), "day", "count", DEFAULTS).level_shifts == ()


# ---------------------------------------------------------------- not analysed

@pytest.mark.parametrize(("values", "status"), [([7.0] * 30, CONSTANT), ([1.0, 2.0, 3.0], TOO_SHORT)])
def test_constant_and_short_series_are_not_analysed(values, status):
    series = analyse_series(daily(len(values)), values, "day", "count", DEFAULTS)
    assert (series.status, series.trend, series.seasonality, series.level_shifts) == (status, None, (), ())


def test_a_table_with_the_same_count_every_day_reports_a_constant_count_series(con):
    make_table(con, d=[d.date() for d in daily(60) for _ in range(4)])
    (profile,) = profile_temporal(con, "t", {"d": "date"}, DEFAULTS).columns
    assert [(s.unit, s.measure, s.status) for s in profile.series] == [("day", "count", CONSTANT)]


def test_the_event_count_series_is_built_on_a_zero_filled_calendar(con):
    """Day d holds d + 10 rows, except a missing week: slope 1 per day around the hole."""
    rows = [START.date() + timedelta(days=d) for d in range(90) for _ in range(d + 10) if not 40 <= d < 47]
    make_table(con, d=rows)
    (profile,) = profile_temporal(con, "t", {"d": "date"}, DEFAULTS).columns
    (count,) = [s for s in profile.series if s.unit == "day"]
    assert (count.periods, count.start, count.end) == (90, "2024-01-01", "2024-03-30")
    assert [shift.period for shift in count.level_shifts] == ["2024-02-10", "2024-02-17"]
    assert count.trend.slope == pytest.approx(1.0, abs=0.01)


# ---------------------------------------------------------------- choosing series

@pytest.mark.parametrize(("unit", "step", "span", "is_date", "expected"), [
    ("day", 1, 730, True, ("day", "month")),
    ("day", 1, 60, True, ("day",)),
    ("business_day", 1, 365, True, ("business_day", "month")),
    ("hour", 1, 7, False, ("hour",)),
    ("minute", 15, 30, False, ("hour",)),
    ("irregular", 0, 1095, False, ("day", "month")),
    ("month", 1, 1095, True, ("month", "quarter")),
    ("year", 1, 3650, True, ("year",)),
    ("day", 1, 5, True, ()),
])
def test_series_units_follow_the_granularity_and_the_span(unit, step, span, is_date, expected):
    assert choose_series_units(unit, step, span, is_date, DEFAULTS) == expected


@pytest.mark.parametrize(("value", "unit", "n", "expected"), [
    (datetime(2024, 1, 31), "month", 1, datetime(2024, 2, 29)),
    (datetime(2024, 2, 29), "month", 1, datetime(2024, 3, 31)),  # month ends stay month ends
    (datetime(2024, 1, 15), "quarter", -1, datetime(2023, 10, 15)),
    (datetime(2024, 1, 5), "business_day", 1, datetime(2024, 1, 8)),  # Friday -> Monday
    (datetime(2024, 1, 8), "business_day", -1, datetime(2024, 1, 5)),
])
def test_advancing_by_calendar_periods(value, unit, n, expected):
    assert advance(value, unit, n) == expected


def test_weeks_start_on_monday_like_duckdb(con):
    value = datetime(2024, 3, 14, 15, 30)
    for unit in ("week", "month", "quarter", "year", "hour"):
        expected = con.execute(f"SELECT date_trunc('{unit}', ?::TIMESTAMP)", [value]).fetchone()[0]
        assert truncate(value, unit) == expected


# ---------------------------------------------------------------- drift

def drift_table(con: duckdb.DuckDBPyConnection) -> None:
    rng = random.Random(14)
    dates = [date(2024, 1, 1) + timedelta(days=i) for i in range(364) for _ in range(40)]
    shifted = [rng.gauss(100, 10) + (25 if d >= date(2024, 7, 1) else 0) for d in dates]
    make_table(con, d=dates, stable=[rng.gauss(100, 10) for _ in dates], shifted=shifted,
               constant=[5] * len(dates))


def test_drift_is_found_where_a_distribution_shifts_and_nowhere_else(con):
    drift_table(con)
    (profile,) = profile_temporal(con, "t", {"d": "date", "stable": "decimal", "shifted": "decimal",
                                             "constant": "integer"}, DEFAULTS).columns
    drift = {d.column: d for d in profile.drift}
    assert drift["shifted"].found
    (pair,) = drift["shifted"].drifting
    assert (drift["shifted"].unit, pair.start, pair.end) == ("week", "2024-06-24", "2024-07-01")
    assert (pair.rows_start, pair.rows_end) == (280, 280)
    assert not drift["stable"].found
    assert drift["stable"].pairs == 51
    assert drift["constant"].status == "constant column: not analysed"


def test_psi_of_identical_bins_is_zero_with_p_value_one():
    value, p_value = psi([10, 20, 30], [10, 20, 30])
    assert value == 0.0
    assert p_value > 0.99


@pytest.mark.parametrize(("f", "df1", "df2", "expected"), [
    (3.0, 5, 20, 0.0352013), (10.0, 1, 100, 0.00207287), (1.0, 11, 12, 0.4965474),
])
def test_the_f_test_p_value_matches_reference_values(f, df1, df2, expected):
    assert f_pvalue(f, df1, df2) == pytest.approx(expected, rel=1e-4)
