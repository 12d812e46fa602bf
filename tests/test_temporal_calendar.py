"""Calendar facts of the temporal phase on tables built with known answers: the columns that are
functions of the date (their drift is not measured) and time axes composed of calendar parts."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import pytest

from phases.artifacts.temporal_profiles import DriftCount
from phases.profile.temporal import profile_temporal
from phases.profile.temporal_calendar import _values_up_to_three, compose_axis, date_functions
from phases.profile.temporal_drift import NOT_MEASURED
from phases.profile.temporal_settings import TemporalSettings
from phases.profile.value_counts import distinct_counts
from tests.test_temporal import days, make_table

DEFAULTS = TemporalSettings()


def calendar_table(con, n_days: int = 800, per_day: int = 1) -> list[date]:
    """A date dimension: calendar parts, sequence numbers, a monthly value and a random measure."""
    rng = random.Random(3)
    dates = [d for d in days(date(2020, 1, 1), n_days) for _ in range(per_day)]
    first = date(2020, 1, 1)
    make_table(
        con, d=dates,
        year=[d.year for d in dates], month=[d.month for d in dates], dom=[d.day for d in dates],
        dow=[d.isoweekday() for d in dates], seq=[(d - first).days + 1000 for d in dates],
        month_seq=[(d.year - 2020) * 12 + d.month for d in dates],
        same_day_ly=[(d - first).days + 1000 - 365 for d in dates],
        monthly_rate=[round(1 + 0.1 * ((d.year * 12 + d.month) % 7), 2) for d in dates],
        measure=[rng.gauss(100, 10) for _ in dates],
    )
    return dates


CALENDAR_COLUMNS = ["year", "month", "dom", "dow", "seq", "month_seq", "same_day_ly", "monthly_rate", "measure"]


def test_calendar_parts_and_sequence_numbers_are_functions_of_the_date(con):
    calendar_table(con)
    found = date_functions(con, "t", "d", CALENDAR_COLUMNS, DEFAULTS)
    assert found == {"year": "year", "month": "month_of_year", "dom": "day_of_month", "dow": "weekday",
                     "seq": "monotone", "month_seq": "month", "same_day_ly": "monotone", "monthly_rate": "month"}


def test_a_measure_with_one_row_per_date_is_not_called_a_function_of_the_date(con):
    """With one row per date every column is trivially a function of it: the test has no power."""
    calendar_table(con)
    assert "measure" not in date_functions(con, "t", "d", ["measure"], DEFAULTS)


def test_a_value_repeated_on_every_row_of_its_date_is_a_function_of_the_date(con):
    rng = random.Random(4)
    dates = [d for d in days(date(2024, 1, 1), 60) for _ in range(5)]
    daily = {d: rng.gauss(1.1, 0.05) for d in set(dates)}
    make_table(con, d=dates, fx=[daily[d] for d in dates], amount=[rng.gauss(100, 10) for _ in dates])
    assert date_functions(con, "t", "d", ["fx", "amount"], DEFAULTS) == {"fx": "date"}


def test_a_column_set_in_one_month_only_is_not_explained_by_too_few_dates(con):
    """Two values on four dates: a rule of month that nothing put to the test."""
    make_table(con, d=[date(2024, 1, 1), date(2024, 1, 2), date(2024, 2, 1), date(2024, 2, 2)], x=[1, 1, 2, 2])
    assert date_functions(con, "t", "d", ["x"], DEFAULTS) == {}


def test_drift_is_not_measured_on_functions_of_the_date_and_says_why(con):
    calendar_table(con, n_days=3 * 365, per_day=3)
    types = {"d": "date"} | dict.fromkeys(CALENDAR_COLUMNS, "integer") | {"measure": "decimal"}
    (profile,) = profile_temporal(con, "t", types, DEFAULTS).columns
    drift = {d.column: d for d in profile.drift}
    assert (drift["seq"].status, drift["seq"].function_of, drift["seq"].found) == (NOT_MEASURED, "monotone", False)
    assert drift["year"].function_of == "year"
    assert not any(d.found for d in drift.values())
    assert (drift["measure"].status, drift["measure"].function_of) == ("analysed", None)


# ---------------------------------------------------------------- composed axes

def parts_table(con, hours: bool = True) -> None:
    """Two storms a year, 6-hourly, each a week long, plus a 1..5 class that is NULL most of the time."""
    rows = []
    for year in range(2000, 2010):
        for k, start in enumerate((date(year, 8, 25), date(year, 9, 27))):
            for i in range(28):
                at = datetime(start.year, start.month, start.day) + timedelta(hours=6 * i)
                rows.append((f"S{k}", at, 40 + i, 1 + i % 5 if i > 20 else None))
    columns = {"name": [r[0] for r in rows], "year": [r[1].year for r in rows], "month": [r[1].month for r in rows],
               "day": [r[1].day for r in rows], "wind": [r[2] for r in rows], "class": [r[3] for r in rows]}
    if hours:
        columns["hour"] = [r[1].hour for r in rows]
    make_table(con, **columns)


PART_TYPES = {"name": "text", "year": "integer", "month": "integer", "day": "integer", "hour": "integer",
              "wind": "integer", "class": "integer"}


def test_year_month_day_and_hour_columns_compose_a_timestamp_axis(con):
    parts_table(con)
    axis = compose_axis(con, "t", ["year", "month", "day", "hour", "wind", "class"], DEFAULTS)
    assert (axis.parts, axis.kind, axis.name) == (("year", "month", "day", "hour"), "timestamp",
                                                  "year+month+day+hour")


def test_the_composed_axis_is_profiled_like_a_date_column(con):
    parts_table(con)
    profiles = profile_temporal(con, "t", PART_TYPES, DEFAULTS)
    (axis,) = profiles.axes
    assert profiles.columns == ()
    assert (axis.name, axis.type, axis.parts, axis.granularity.unit, axis.granularity.step) == (
        "year+month+day+hour", "timestamp", ("year", "month", "day", "hour"), "hour", 6)
    assert (axis.min, axis.max, profiles.reference_source) == ("2000-08-25", "2009-10-03 18:00:00", "latest date")
    functions = {d.column: d.function_of for d in axis.drift if d.function_of}
    assert functions == {"year": "year", "month": "month_of_year", "day": "day_of_month", "hour": "hour_of_day"}


def test_a_year_column_alone_is_a_yearly_axis(con):
    make_table(con, year=[y for y in range(1990, 2010, 5) for _ in range(3)], v=list(range(12)))
    (axis,) = profile_temporal(con, "t", {"year": "integer", "v": "integer"}, DEFAULTS).axes
    assert (axis.parts, axis.type, axis.granularity.unit, axis.granularity.step) == (("year",), "date", "year", 5)
    assert axis.role.label == "year_start"


@pytest.mark.parametrize(("columns", "expected"), [
    # two columns fit the year: values cannot tell which is the time, so there is no axis
    ({"a": [2001, 2002, 2003] * 4, "b": [1990, 1995, 2000] * 4}, None),
    # no value is a plausible year
    ({"a": [1, 2, 3] * 4, "b": [10, 20, 30] * 4}, None),
    # two columns fit the month: the axis stops at the year
    ({"y": [2001, 2002, 2003] * 4, "a": [1, 2, 3, 4] * 3, "b": [5, 6, 7, 8] * 3}, ("y",)),
])
def test_an_axis_is_composed_only_from_parts_the_values_single_out(con, columns, expected):
    make_table(con, **columns)
    axis = compose_axis(con, "t", list(columns), DEFAULTS)
    assert (axis.parts if axis else None) == expected


def test_a_day_part_must_reach_month_ends_and_form_valid_dates(con):
    """A plot number 1..31 beside a month is not a day when it puts 31 in April or 30 in February."""
    rng = random.Random(9)
    n = 400
    make_table(con, y=[2001 + i % 2 for i in range(n)], m=[rng.randrange(1, 13) for _ in range(n)],
               plot=[rng.randrange(1, 32) for _ in range(n)])
    assert compose_axis(con, "t", ["y", "m", "plot"], DEFAULTS).parts == ("y", "m")


def test_a_table_with_a_date_column_gets_no_composed_axis(con):
    dates = days(date(2020, 1, 1), 40)
    make_table(con, d=dates, year=[d.year for d in dates], month=[d.month for d in dates])
    profiles = profile_temporal(con, "t", {"d": "date", "year": "integer", "month": "integer"}, DEFAULTS)
    assert ([p.name for p in profiles.columns], profiles.axes) == (["d"], ())


def test_above_drift_listed_max_only_findings_and_functions_of_the_date_are_listed_the_rest_counted(con):
    calendar_table(con, n_days=3 * 365, per_day=3)
    types = {"d": "date"} | dict.fromkeys(CALENDAR_COLUMNS, "integer") | {"measure": "decimal"}
    every = profile_temporal(con, "t", types, DEFAULTS).columns[0]
    (few,) = profile_temporal(con, "t", types, DEFAULTS.model_copy(update={"drift_listed_max": 2})).columns
    assert every.drift_counts is None
    assert few.drift == tuple(d for d in every.drift if d.found or d.function_of)
    unlisted = [d for d in every.drift if d not in few.drift]
    assert few.drift_counts == (DriftCount("analysed", unlisted[0].unit, len(unlisted)),)
    assert few.drift_counts[0].columns >= 1


@pytest.mark.parametrize("where", ["true", "d IS NOT NULL", "false"])
def test_distinct_values_up_to_three_equal_exact_counts_capped(con, where):
    con.execute("""CREATE TABLE v AS SELECT * FROM (VALUES
        (DATE '2024-01-01', NULL, 5, 1.0, 1, 'nan'::DOUBLE), (DATE '2024-01-02', NULL, 5, 2.0, 1, 1.0),
        (NULL, NULL, 5, 2.0, 2, 2.0), (DATE '2024-01-03', NULL, 5, 1.0, 3, 1.0))
        t(d, "none", "one", "two", "three", "nan")""")
    columns = ["none", "one", "two", "three", "nan"]
    exact = distinct_counts(con, "v", columns, where)
    assert _values_up_to_three(con, "v", columns, where) == [min(n, 3) for n in exact]
