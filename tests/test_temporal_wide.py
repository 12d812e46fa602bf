"""The temporal phase's batched queries on wide tables give what one query per column or pair gives."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import duckdb
import pytest

from phases.core.sql import COLUMNS_VARIABLE, quote_ident
from phases.profile.temporal import _offsets_chunked, _offsets_joined, measure_relations
from phases.profile.temporal_drift import bin_counts, bin_counts_many, measure_drifts
from phases.profile.temporal_settings import TemporalSettings


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    with duckdb.connect() as connection:
        yield connection


def _dates_table(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Four date columns over 40 rows, with NULLs and an infinite date."""
    names = ["a", "b b", "c", "d"]
    rows = []
    for i in range(40):
        base = date(2024, 1, 1) + timedelta(days=i)
        rows.append([base, base + timedelta(days=i % 3) if i % 5 else None,
                     "infinity" if i == 7 else str(base - timedelta(days=30)), base + timedelta(days=i)])
    con.execute("CREATE TABLE t (a DATE, \"b b\" DATE, c DATE, d DATE)")
    con.executemany("INSERT INTO t VALUES (?, ?, CAST(? AS DATE), ?)", rows)
    return names


def test_date_pair_offsets_from_one_self_join_equal_those_of_chunked_scans(con):
    names = _dates_table(con)
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    assert _offsets_joined(con, "t", names) == _offsets_chunked(con, "t", pairs)


def test_date_relations_do_not_depend_on_how_pairs_are_queried(con):
    names = _dates_table(con)
    chunked = measure_relations(con, "t", names, rows=10**9)  # too long for the self-join
    con.execute(f"SET VARIABLE {COLUMNS_VARIABLE} = 2")  # many pairs per chunk: the self-join
    assert measure_relations(con, "t", names, rows=40) == chunked


def test_drift_bins_of_many_columns_equal_those_of_one_column_at_a_time(con):
    con.execute("CREATE TABLE m AS SELECT TIMESTAMP '2024-01-01' + INTERVAL (i) HOUR AS ts, "
                "CASE WHEN i % 7 = 0 THEN NULL ELSE i % 13 END AS x, (i * 31) % 101 / 10 AS \"y y\" "
                "FROM range(2000) r(i)")
    edges = {"x": (2.0, 5.0, 9.0), "y y": (1.5, 4.0, 7.5, 9.0), "empty": ()}
    con.execute(f"SET VARIABLE {COLUMNS_VARIABLE} = 1")
    many = bin_counts_many(con, "m", "ts", "day", edges)
    assert set(many) == {"x", "y y"}
    for column in ("x", "y y"):
        assert many[column] == bin_counts(con, "m", "ts", "day", column, edges[column])
    assert bin_counts_many(con, "m", "ts", "day", edges, key="CAST(x % 2 AS VARCHAR)")["x"] == \
        bin_counts(con, "m", "ts", "day", "x", edges["x"], key="CAST(x % 2 AS VARCHAR)")


@pytest.mark.parametrize("per_query", [1, 5, 100])
def test_drift_bins_counted_per_period_equal_the_long_form_of_one_series(con, per_query):
    """Without a key the counts come from a GROUP BY period; a constant key takes the long form.
    x is NULL on every row of one day: that day has no entry for x in either."""
    con.execute("CREATE TABLE m AS SELECT TIMESTAMP '2024-01-01' + INTERVAL (i) HOUR AS ts, "
                "CASE WHEN i % 7 = 0 OR i // 24 = 3 THEN NULL ELSE i % 13 END AS x, "
                "(i * 31) % 101 / 10 AS \"y y\", i % 3 AS z FROM range(2000) r(i)")
    edges = {"x": (2.0, 5.0, 9.0), "y y": (1.5, 4.0, 7.5, 9.0), "z": (1.0,), "empty": ()}
    con.execute(f"SET VARIABLE {COLUMNS_VARIABLE} = {per_query}")
    per_period = bin_counts_many(con, "m", "ts", "day", edges)
    assert per_period == bin_counts_many(con, "m", "ts", "day", edges, key="''")
    assert datetime(2024, 1, 4) not in per_period["x"][""] and datetime(2024, 1, 4) in per_period["z"][""]


def test_no_drift_is_counted_when_too_few_rows_have_a_date(con):
    con.execute("CREATE TABLE m AS SELECT TIMESTAMP '2024-01-01' + INTERVAL (i) DAY AS ts, i AS x FROM range(50) r(i)")
    settings = TemporalSettings()
    dated = 2 * settings.drift_min_rows - 1
    skipped = measure_drifts(con, "m", "ts", "month", {"x": (10.0, 20.0)}, settings, {}, {}, dated)
    counted = measure_drifts(con, "m", "ts", "month", {"x": (10.0, 20.0)}, settings, {}, {}, 10**6)
    assert skipped == counted
    assert skipped[0].status.startswith("too few periods")


def test_column_names_are_quoted_in_the_batched_drift_query(con):
    odd = 'x"y'
    con.execute(f"CREATE TABLE m AS SELECT DATE '2024-01-01' + CAST(i AS INTEGER) AS {quote_ident('the date')}, "
                f"i % 10 AS {quote_ident(odd)} FROM range(30) r(i)")
    found = bin_counts_many(con, "m", "the date", "week", {odd: (4.0,)})
    assert sum(n for counts in found[odd][""].values() for n in counts) == 30
    assert all(isinstance(period, datetime) for period in found[odd][""])
