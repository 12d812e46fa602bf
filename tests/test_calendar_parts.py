"""A time axis of calendar-part columns reads the same instant in temporal and in the entropy
phase (phases.shared.calendar_parts): the rows around a level shift are the rows temporal binned."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import duckdb
import pytest

from phases.entropy.shifts import date_sql
from phases.profile.temporal_calendar import Axis
from phases.shared.calendar_parts import parts_timestamp


@pytest.mark.parametrize(("parts", "expected"), [
    (("Year",), dt.datetime(2024, 1, 1)),
    (("Year", "month no"), dt.datetime(2024, 2, 1)),
    (("Year", "month no", "d"), dt.datetime(2024, 2, 29)),
    (("Year", "month no", "d", "h"), dt.datetime(2024, 2, 29, 23)),
])
def test_parts_compose_one_instant_and_its_date(parts, expected):
    con = duckdb.connect()
    con.execute('CREATE TABLE t AS SELECT 2024 AS "Year", 2 AS "month no", 29 AS d, 23 AS h '
                'UNION ALL SELECT NULL, 2, 29, 23')
    axis = Axis(parts, "timestamp" if len(parts) == 4 else "date")
    assert axis.sql() == parts_timestamp(parts)
    profile = SimpleNamespace(name="+".join(parts), parts=parts)  # what date_sql reads of a temporal profile
    rows = con.execute(f"SELECT {axis.sql()}, {date_sql(profile)} FROM t").fetchall()
    assert rows == [(expected, expected.date()), (None, None)]
