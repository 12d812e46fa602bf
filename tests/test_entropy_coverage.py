"""NULLs along the time axis, on a small panel whose answers are known by construction: a column
recorded from some year on (in each series, or everywhere) is a note stating the period; NULLs
scattered inside the recorded period of a summed measure still make it `investigate`; NULLs that
scattered at random also touch the ends are not called coverage; a dimension's NULLs are a note,
a reference's are not."""

from __future__ import annotations

import random

import duckdb
import pytest

from phases.entropy.coverage import Axis, coverage
from phases.entropy.missing import nulls
from phases.entropy.settings import EntropySettings
from tests.entropy_support import measure, settings
from tests.test_entropy import annotated, annotation, only

STATIONS = 6
YEARS = range(1980, 2020)
START = {s: 1980 + 5 * s for s in range(STATIONS)}  # station s reports from 1980 + 5s on
INSIDE = {(1, 2001), (3, 2010), (4, 2015)}  # years a reporting station left the count empty


def panel_csv() -> str:
    rng = random.Random(5)
    lines = ["station,year,started,gappy,scattered,late,region"]
    for s in range(STATIONS):
        for y in YEARS:
            started = str(10 + (s * y) % 7) if y >= START[s] else ""
            gappy = "" if y < START[s] or (s, y) in INSIDE else str(3 + (s + y) % 5)
            scattered = "" if rng.random() < 0.15 else str(y % 9)
            late = str(y % 4) if y >= 2005 else ""  # recorded everywhere from 2005 on
            region = "" if (s, y) in INSIDE else f"R{s % 2}"
            lines.append(f"S{s},{y},{started},{gappy},{scattered},{late},{region}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    return measure(tmp_path_factory.mktemp("coverage"), {"panel": panel_csv()})


@pytest.fixture
def s() -> EntropySettings:
    return settings()


@pytest.fixture(scope="module")
def along(measured):
    ev, typed = measured
    profiles = ev.profiles["panel"]
    columns = ["started", "gappy", "scattered", "late"]
    with duckdb.connect() as con:
        return coverage(con, typed["panel"], None, profiles, columns, settings().nulls,
                        axis=Axis("year", ("year",), ("station",), False))


def test_nulls_before_each_series_starts_are_its_coverage(along):
    started = along["started"]
    assert started.series_ends == sum(START[s] - 1980 for s in range(STATIONS))
    assert started.before == 0 and started.inside == 0 and started.unrecorded_series == 0


def test_gaps_inside_the_recorded_period_are_counted_apart(along):
    gappy = along["gappy"]
    assert gappy.inside == len(INSIDE)
    assert gappy.series_ends == along["started"].series_ends


def test_nulls_before_the_first_recorded_year_anywhere_are_told_with_that_year(along):
    late = along["late"]
    assert (late.before, late.first, late.inside) == (STATIONS * 25, "2005", 0)


def test_nulls_scattered_at_random_are_no_coverage_even_where_they_touch_an_end(along):
    assert "scattered" not in along


def weighted(o, s: EntropySettings) -> float:
    return s.weights[o.dimension] * o.score  # type: ignore[index]


def _nulls_of(measured, s, column, **fields):
    ev, typed = measured
    with duckdb.connect() as con:
        ev = annotated(ev, annotation("panel", column, **fields))
        return only(nulls(ev, s, typed, con), f"panel.{column}", "null_ratio")


def test_coverage_of_a_summed_measure_is_a_note_with_its_period(measured, s):
    got = _nulls_of(measured, s, "late", role="measure", aggregation="additive")
    assert weighted(got, s) < s.readiness.investigate
    assert "150 before 2005" in got.summary and got.evidence["inside"] == 0


def test_gaps_inside_the_recorded_period_of_a_summed_measure_are_a_flag(measured, s):
    got = _nulls_of(measured, s, "gappy", role="measure", aggregation="additive")
    assert weighted(got, s) >= s.readiness.investigate and "3 inside it" in got.summary
    averaged = _nulls_of(measured, s, "gappy", role="measure", aggregation="non_additive")
    assert weighted(averaged, s) < s.readiness.investigate and "3 inside the recorded period" in averaged.summary


@pytest.mark.parametrize(("fields", "flagged"), [
    (dict(role="dimension"), False),  # its own group in GROUP BY: the breakdown still adds up
    (dict(role="dimension", references="regions.id"), True),  # an inner join drops the rows
    (dict(role="identifier"), True),
])
def test_a_dimensions_nulls_are_a_note_unless_a_join_relies_on_it(measured, s, fields, flagged):
    got = _nulls_of(measured, s, "region", **fields)
    assert (weighted(got, s) >= s.readiness.investigate) is flagged
    assert got.evidence["null_count"] == len(INSIDE)
    if not flagged:
        assert "group of their own" in got.summary
