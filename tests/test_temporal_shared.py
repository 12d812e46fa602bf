"""The temporal phase's shortcuts give what the long way gives: series grouped on their key's own
values, the (key, time) groups of a tested key reused for the gap table, variances shared by the
axes set on every row, calendar counts of many date columns together, a narrow copy of a wide
table (tables built with known answers)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import date, timedelta

import duckdb
import pytest

from phases.core.sql import COLUMNS_VARIABLE
from phases.profile.temporal import _calendar_profile, calendar_profiles, profile_temporal
from phases.profile.temporal_drift import design_effects
from phases.profile.temporal_gaps import GAPS, build_gap_table
from phases.profile.temporal_panel import find_series_key, key_parts, key_sql, profile_panel
from phases.profile.temporal_settings import TemporalSettings
from tests.test_temporal import days, make_table

DEFAULTS = TemporalSettings()


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    with duckdb.connect() as connection:
        yield connection


def _gap_rows(con: duckdb.DuckDBPyConnection, key: tuple[str, ...]) -> list[tuple]:
    build_gap_table(con, "t", "d", key)
    return con.execute(f"SELECT * FROM {GAPS} ORDER BY ALL").fetchall()


def test_series_grouped_on_key_parts_are_those_named_by_the_key(con):
    """NULL and the text 'NULL' are one series by name; two text columns whose values hold ' | '
    make one name of two keys: grouped on the parts, the gap tables stay those of the names."""
    rows = [("NULL", 1, "a | b", "c"), (None, 1, "a", "b | c"), ("x", None, "a", "b | c"), ("x", 2, "a | b", "c")]
    make_table(con, s=[r[0] for r in rows], n=[r[1] for r in rows], p=[r[2] for r in rows],
               q=[r[3] for r in rows], d=[date(2024, 1, 1 + i) for i in range(len(rows))])
    texts = {"s", "p", "q"}
    for columns in (("s",), ("n",), ("s", "n"), ("p", "q"), ("n", "p")):
        assert _gap_rows(con, key_parts(columns, texts)) == _gap_rows(con, (key_sql(columns),)), columns
    assert key_parts(("p", "q"), texts) == (key_sql(("p", "q")),)


def _stations(con: duckdb.DuckDBPyConnection) -> None:
    """Stations numbered 1 to 5 read daily for 60 days; station 3 misses ten days."""
    rng = random.Random(3)
    rows = [(s, d) for s in range(1, 6) for d in days(date(2024, 1, 1), 60)
            if not (s == 3 and date(2024, 1, 21) <= d <= date(2024, 1, 30))]
    make_table(con, station=[s for s, _ in rows], d=[d for _, d in rows], v=[rng.gauss(10, 3) for _ in rows])


def test_a_key_tested_alone_gives_the_gap_table_from_its_groups(con):
    _stations(con)
    key = find_series_key(con, "t", "d", ["station"], DEFAULTS)
    assert key is not None and key.columns == ("station",) and key.pairs
    reused = profile_panel(con, "t", "d", True, key, {}, DEFAULTS)
    assert reused == profile_panel(con, "t", "d", True, replace(key, pairs=False), {}, DEFAULTS)
    panel, group = reused
    assert (panel.series, panel.missing_periods, group) == (5, 10, '"station"')


def test_variances_shared_by_dates_set_on_every_row_give_the_same_design_effects(con):
    _stations(con)
    con.execute("CREATE OR REPLACE TABLE t AS SELECT *, d + 3 AS later FROM t")
    shared: dict = {}
    together = [design_effects(con, "t", time, "week", '"station"', ["v"], shared) for time in ("d", "later")]
    alone = [design_effects(con, "t", time, "week", '"station"', ["v"]) for time in ("d", "later")]
    assert together == alone
    assert len(shared) == 2  # the variance within series and the total, once for both dates


def test_calendar_counts_of_many_date_columns_equal_those_of_one_at_a_time(con):
    con.execute("CREATE TABLE t AS SELECT DATE '2024-01-01' + CAST(i AS INTEGER) AS a, "
                "CASE WHEN i % 4 = 0 THEN NULL ELSE TIMESTAMP '2023-05-30 13:00' + INTERVAL (i * 29) HOUR END AS b, "
                "CASE WHEN i = 3 THEN DATE 'infinity' ELSE DATE '2020-02-27' + CAST(i * 3 AS INTEGER) END AS \"c c\" "
                "FROM range(90) r(i)")
    columns = ["a", "b", "c c"]
    con.execute(f"SET VARIABLE {COLUMNS_VARIABLE} = 2")  # two chunks
    together = calendar_profiles(con, "t", columns)
    assert together == {c: _calendar_profile(con, "t", c) for c in columns}
    assert sum(together["c c"][0]) == 89 and sum(together["b"][1]) == 67


def test_a_wide_short_table_is_profiled_the_same_from_a_narrow_copy(con):
    """More columns than one query reads: the axes read a copy of the dates and amounts alone."""
    n = 12
    types = {f"d{i}": "date" for i in range(4)} | {f"x{i}": "decimal" for i in range(4)} | {"k": "text"}
    make_table(con, **{f"d{i}": [date(2024, 1, 1) + timedelta(days=i * r + r * r) for r in range(n)] for i in range(4)},
               **{f"x{i}": [float((r * 7 + i) % 11) for r in range(n)] for i in range(4)},
               k=["a", "b"] * (n // 2))
    whole = profile_temporal(con, "t", types, DEFAULTS)
    con.execute(f"SET VARIABLE {COLUMNS_VARIABLE} = 3")
    narrow = profile_temporal(con, "t", types, DEFAULTS)
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = '_temporal_narrow'").fetchone() == (1,)
    assert narrow == whole
