"""Drift that means something: tables built with known answers where a distribution changes for
good, comes round with the season, varies from period to period anyway, or changes only in a
thin edge period."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest

from phases.profile.temporal import profile_temporal
from phases.profile.temporal_series import analyse_series
from phases.profile.temporal_settings import TemporalSettings
from tests.test_temporal import days, make_table

DEFAULTS = TemporalSettings()


def drift_of(con, values: list[float], dates: list[date]):
    make_table(con, d=dates, v=values)
    (profile,) = profile_temporal(con, "t", {"d": "date", "v": "decimal"}, DEFAULTS).columns
    (drift,) = profile.drift
    return drift


def three_years(per_day: int = 10) -> list[date]:
    return [d for d in days(date(2020, 1, 1), 3 * 365 + 1) for _ in range(per_day)]


def test_a_lasting_change_is_drift(con):
    rng = random.Random(1)
    dates = three_years()
    drift = drift_of(con, [rng.gauss(100, 10) + 30 * (d >= date(2021, 7, 1)) for d in dates], dates)
    assert (drift.unit, drift.found, drift.seasonal_pairs) == ("month", True, 0)
    (pair,) = drift.drifting
    assert (pair.start, pair.end) == ("2021-06-01", "2021-07-01")


def test_a_change_that_comes_round_every_year_is_seasonal_not_drift(con):
    rng = random.Random(2)
    dates = three_years()
    drift = drift_of(con, [rng.gauss(100, 10) + 30 * (d.month == 12) for d in dates], dates)
    assert (drift.unit, drift.found) == ("month", False)
    assert drift.seasonal_pairs == 5  # into and out of each December, the last one has no January after


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_weeks_each_at_a_level_of_their_own_are_not_two_regimes(con, seed):
    """Every week at its own level (a fifth of the spread of the values): the largest jump
    between two weeks passes the PSI threshold, but it does not last."""
    rng = random.Random(seed)
    dates = [d for d in days(date(2024, 1, 1), 364) for _ in range(40)]
    level = {d: rng.gauss(0, 2) for d in dates[::280]}
    weekly = [level[dates[i - i % 280]] for i in range(len(dates))]
    drift = drift_of(con, [rng.gauss(100, 10) + w for w in weekly], dates)
    assert drift.unit == "week"
    assert drift.max_psi > DEFAULTS.drift_min_psi
    assert not drift.found


def test_a_thin_last_period_is_left_out_of_drift(con):
    """The data runs three days into a new week (120 rows against 280): its different values
    are a partial period, not a drift."""
    rng = random.Random(4)
    dates = [d for d in days(date(2024, 1, 1), 364) for _ in range(40)] + [date(2024, 12, 30)] * 120
    drift = drift_of(con, [rng.gauss(100, 10) + 50 * (d.year == 2024 and d >= date(2024, 12, 30)) for d in dates],
                     dates)
    assert (drift.found, drift.edge_periods_dropped, drift.pairs) == (False, 1, 51)


def test_a_level_shift_that_happened_a_year_before_too_is_the_season():
    """Daily counts with a summer plateau, over a year and a half: the second summer's rise
    repeats the first and is not reported; the first one cannot be told from a new level."""
    rng = random.Random(5)
    periods = [datetime(2020, 1, 1) + timedelta(days=i) for i in range(600)]
    values = [100 + 60 * (6 <= p.month <= 8) + rng.gauss(0, 5) for p in periods]
    series = analyse_series(periods, values, "day", "count", DEFAULTS)
    shifts = [s.period for s in series.level_shifts]
    assert "2021-06-01" not in shifts
    assert "2020-06-01" in shifts
    assert series.seasonal_shifts == 1


def test_drift_bin_edges_of_a_large_table_come_from_a_fixed_sample_of_its_rows():
    """Exact quantiles hold every value in memory; above drift_quantile_rows rows the edges are
    quantiles of the rows whose row id hashes into a fixed share: the same edges on every call,
    within a few ranks of the exact ones (amounts 0..19,999 in a shuffled order)."""
    import duckdb

    from phases.profile.temporal_drift import quantile_edges
    from phases.shared.sampling import quantile_sample

    values = list(range(20_000))
    random.Random(3).shuffle(values)
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT i + 1 AS _row_id, v::DOUBLE AS amount FROM "
                "(SELECT unnest(range(20000)) AS i, unnest(?) AS v)", [values])
    exact = quantile_edges(con, "t", ["amount"], 4)["amount"]
    sample = quantile_sample(20_000, 2_000)
    assert sample.where is not None and sample.fraction == 0.1
    sampled = quantile_edges(con, "t", ["amount"], 4, sample)["amount"]
    assert exact == (4999.0, 9999.0, 14999.0)
    assert sampled == quantile_edges(con, "t", ["amount"], 4, sample)["amount"]
    assert sampled != exact and all(abs(s - e) < 600 for s, e in zip(sampled, exact, strict=True))
