"""Several series in one table: the key is found from values, and granularity, gaps and
completeness are measured inside each series (tables built with known answers)."""

from __future__ import annotations

import math
import random
from datetime import date, datetime, timedelta

import pytest

from phases.artifacts.temporal_profiles import TEMPORAL_PROFILES
from phases.profile.temporal import profile_temporal
from phases.profile.temporal_drift import design_effects
from phases.profile.temporal_panel import find_series_key, poisson_at_most
from phases.profile.temporal_settings import TemporalSettings
from tests.test_temporal import days, make_table

DEFAULTS = TemporalSettings()
STATIONS = ("A", "B", "C", "D", "E")


def stations_table(con) -> None:
    """Five stations read daily for 60 days; C misses 10 days that the others cover."""
    rng = random.Random(1)
    rows = [(s, d) for s in STATIONS for d in days(date(2024, 1, 1), 60)
            if not (s == "C" and date(2024, 1, 21) <= d <= date(2024, 1, 30))]
    make_table(con, station=[s for s, _ in rows], d=[d for _, d in rows],
               reading=[rng.randrange(0, 100) for _ in rows], temp=[rng.gauss(10, 3) for _ in rows])


STATION_TYPES = {"station": "text", "d": "date", "reading": "integer", "temp": "decimal"}


def test_a_table_of_several_series_is_profiled_per_series(con):
    stations_table(con)
    (profile,) = profile_temporal(con, "t", STATION_TYPES, DEFAULTS).columns
    panel = profile.panel
    assert (panel.key, panel.series, panel.uniqueness, panel.episodes) == (("station",), 5, 1.0, None)
    assert (panel.granularity.unit, panel.granularity.step, panel.conforming_share) == ("day", 1, 1.0)
    assert (panel.periods_min, panel.periods_max, panel.series_with_gaps, panel.missing_periods) == (50, 60, 1, 10)
    (gap,) = panel.gaps
    assert (gap.series, gap.after, gap.before, gap.missing_periods) == ("C", "2024-01-20", "2024-01-31", 10)
    (worst,) = panel.least_complete
    assert (worst.series, worst.present_periods, worst.expected_periods) == ("C", 50, 60)
    assert panel.completeness.ratio == pytest.approx(290 / 300)


def test_the_pooled_column_hides_the_gap_of_one_series(con):
    """The reason for panels: the other stations cover C's missing days."""
    stations_table(con)
    (profile,) = profile_temporal(con, "t", STATION_TYPES, DEFAULTS).columns
    assert (profile.gaps, profile.completeness.ratio) == ((), 1.0)


def test_a_column_unique_with_the_time_only_by_chance_does_not_name_series(con):
    """Two events per time and a code of 100 values: (code, time) is unique on 99% of rows,
    as chance alone makes it; no panel."""
    rng = random.Random(2)
    times = [datetime(2024, 1, 1) + timedelta(hours=i) for i in range(400) for _ in range(2)]
    make_table(con, at=times, code=[rng.randrange(100) for _ in times])
    assert find_series_key(con, "t", "at", ["code"], DEFAULTS) is None


def test_two_columns_name_the_series_when_neither_does_alone(con):
    pairs = [(a, b) for a in ("USD", "EUR") for b in ("GBP", "JPY", "CHF")]
    rows = [(a, b, d) for a, b in pairs for d in days(date(2024, 1, 1), 50)]
    make_table(con, base=[r[0] for r in rows], quote=[r[1] for r in rows], d=[r[2] for r in rows],
               rate=[1.0] * len(rows))
    key = find_series_key(con, "t", "d", ["base", "quote"], DEFAULTS)
    assert (key.columns, key.uniqueness, key.rows_per_time) == (("base", "quote"), 1.0, 6.0)


def test_a_single_series_with_a_few_repeated_times_is_not_a_panel(con):
    values = days(date(2024, 1, 1), 100) + days(date(2024, 1, 1), 5)
    make_table(con, d=values, kind=["x"] * 100 + ["y"] * 5)
    (profile,) = profile_temporal(con, "t", {"d": "date", "kind": "text"}, DEFAULTS).columns
    assert profile.panel is None


def test_a_name_reused_in_other_years_gives_one_series_per_name_and_year(con):
    """Storms named A, B and C come back every few years, at the same time as each other: as
    series of a name they would be mostly missing; per name and year they are complete."""
    rows = []
    for name, years in (("A", (2001, 2005, 2009)), ("B", (2001, 2005, 2008)), ("C", (2001, 2008))):
        for year in years:
            start = datetime(year, 8, 1) + timedelta(hours=6 * "ABC".index(name))
            rows += [(name, start + timedelta(hours=6 * i)) for i in range(24)]
    make_table(con, name=[r[0] for r in rows], at=[r[1] for r in rows])
    (profile,) = profile_temporal(con, "t", {"name": "text", "at": "timestamp"}, DEFAULTS).columns
    panel = profile.panel
    assert (panel.key, panel.episodes, panel.series, panel.completeness.ratio) == (("name",), "year", 8, 1.0)
    assert (panel.granularity.unit, panel.granularity.step) == ("hour", 6)


def test_the_poisson_tail_matches_reference_values():
    assert poisson_at_most(0, 5.0) == pytest.approx(math.exp(-5.0))
    assert abs(poisson_at_most(2, 5.0) - 0.1246520) < 1e-6
    assert poisson_at_most(7, 5.0) == 1.0  # at or above the mean: no evidence


def test_rows_of_one_series_count_as_one_in_the_design_effect(con):
    """Each series holds ten identical rows per month: the rows of a series say one thing."""
    rows = [(s, date(2024, m, 1 + i), float(s)) for s in range(20) for m in range(1, 7) for i in range(10)]
    make_table(con, s=[r[0] for r in rows], d=[r[1] for r in rows], v=[r[2] for r in rows])
    assert design_effects(con, "t", "d", "month", "CAST(s AS VARCHAR)", ["v"]) == {"v": 10.0}


def test_a_panel_reads_back_from_json(con, tmp_path):
    stations_table(con)
    profiles = profile_temporal(con, "t", STATION_TYPES, DEFAULTS)
    assert TEMPORAL_PROFILES.load(TEMPORAL_PROFILES.dump(tmp_path, profiles)) == profiles


def test_drift_is_measured_inside_each_series_of_a_dense_panel(con):
    """Three sensors read hourly for 20 weeks; only B shifts, from week 10 on."""
    rng = random.Random(6)
    start = datetime(2024, 1, 1)
    rows = [(s, start + timedelta(hours=h)) for s in ("A", "B", "C") for h in range(20 * 168)]
    value = [rng.gauss(20, 2) + (6 if s == "B" and at >= start + timedelta(weeks=10) else 0) for s, at in rows]
    make_table(con, sensor=[r[0] for r in rows], at=[r[1] for r in rows], value=value)
    (profile,) = profile_temporal(con, "t", {"sensor": "text", "at": "timestamp", "value": "decimal"},
                                  DEFAULTS).columns
    (drift,) = profile.panel.drift
    assert (drift.column, drift.unit, drift.series_analysed, drift.series_drifting, drift.worst) == (
        "value", "week", 3, 1, ("B",))


def test_a_pair_key_on_a_second_time_set_on_every_row_reuses_every_figure(con):
    """Series named by (region, product): no column alone is a key, so pairs are grouped; on the
    second time axis every pair's figures are known already and nothing is left to group."""
    rows = [(r, p, d) for r in "NS" for p in "xyz" for d in days(date(2024, 1, 1), 40)]
    make_table(con, region=[r for r, _, _ in rows], product=[p for _, p, _ in rows], d=[d for *_, d in rows])
    con.execute("CREATE OR REPLACE TABLE t AS SELECT *, d + 1 AS later FROM t")
    known: dict = {}
    shared = [find_series_key(con, "t", time, ["region", "product"], DEFAULTS, known=known) for time in ("d", "later")]
    alone = [find_series_key(con, "t", time, ["region", "product"], DEFAULTS) for time in ("d", "later")]
    assert shared == alone
    assert shared[1] is not None and shared[1].columns == ("region", "product")


def test_key_figures_shared_by_times_set_on_every_row_give_the_same_key(con):
    stations_table(con)
    con.execute("CREATE OR REPLACE TABLE t AS SELECT *, d + 1 AS later FROM t")
    candidates = ["station", "reading"]
    known: dict = {}
    shared = [find_series_key(con, "t", time, candidates, DEFAULTS, known=known) for time in ("d", "later")]
    alone = [find_series_key(con, "t", time, candidates, DEFAULTS) for time in ("d", "later")]
    assert shared == alone
    assert shared[0].columns == ("station",)
    assert set(known) == {("station",), ("reading",)}  # figures without the time, kept for the next axis
