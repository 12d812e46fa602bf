"""The statistics phase on large tables: hash-partitioned value counts, key checks and duplicate
rows give the results of one GROUP BY (the thresholds lowered so a few thousand rows count as
large), and a task whose spill would pass `duckdb.spill_limit` fails with a line naming it."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import duckdb
import pytest

from phases.engine.runner import ErrorRecord
from phases.profile import value_partitions as vp
from phases.profile.statistics import StatisticsSettings, profile_columns, profile_keys, profile_partitioned
from tests.conftest import phase_context
from tests.test_statistics import make_table

LARGE = StatisticsSettings(large_table_rows=1_000, partition_values=1_000)
ROWS = 6_000


def mixed_columns() -> dict[str, tuple[str, list[Any]]]:
    """High-cardinality integers, doubles near 1e9 and texts, each with a few heavy values whose
    counts are known (value v of `heavy` occurs 40 + v times), and a low-cardinality text."""
    heavy = [v for v in range(5) for _ in range(40 + v)]
    ids = heavy + list(range(100, 100 + ROWS - len(heavy)))
    return {
        "id": ("BIGINT", ids),
        "amount": ("DOUBLE", [1e9 + (i % 997) * 0.001 + (0.5 if i % 7 == 0 else 0.0) for i in ids]),
        "comment": ("VARCHAR", [f"note {i} of {i % 13}" if i >= 100 else "same" for i in ids]),
        "flag": ("VARCHAR", ["A" if i % 3 else "B" for i in range(ROWS)]),
        "day": ("DATE", [f"2020-01-{1 + i % 28:02d}" for i in range(ROWS)]),
    }


def test_high_cardinality_columns_of_a_large_table_profile_exactly_as_one_group_by(con):
    make_table(con, mixed_columns())
    whole = profile_columns(con, "t", {}, StatisticsSettings())
    parted = profile_columns(con, "t", {}, LARGE)
    assert parted == whole


@pytest.mark.parametrize("name", ["id", "amount", "comment"])
def test_each_partitioned_column_equals_its_single_group_by_profile(con, name):
    make_table(con, mixed_columns())
    whole = profile_columns(con, "t", {}, StatisticsSettings())
    position = next(c.position for c in whole.columns if c.name == name)
    row = con.execute(f"SELECT count(*), count({name}), approx_count_distinct({name}) FROM t").fetchone()
    wide = _wide(con, name)
    assert vp.partitions(row[2], LARGE.partition_values) > 1  # the path under test is taken
    one = profile_partitioned(con, "t", (name, whole.columns[position - 1].sql_type), None, ROWS, wide, 7, LARGE)
    assert dataclasses.replace(one, position=position) == whole.columns[position - 1]


def _wide(con: duckdb.DuckDBPyConnection, name: str) -> dict[str, Any]:
    from phases.profile.statistics import _kind, table_columns, wide_aggregates

    columns = [c for c in table_columns(con, "t") if c[0] == name]
    assert _kind(columns[0][1]) in ("numeric", "text")
    return wide_aggregates(con, "t", columns, estimate=True)[1][0]


def test_heavy_values_are_found_with_their_exact_counts_across_partitions(con):
    make_table(con, mixed_columns())
    column = next(c for c in profile_columns(con, "t", {}, LARGE).columns if c.name == "id")
    assert [(v.value, v.count) for v in column.top_values[:5]] == [(4, 44), (3, 43), (2, 42), (1, 41), (0, 40)]
    assert column.distinct_count == 5 + ROWS - 210


def test_a_composite_key_of_a_large_table_is_verified_in_partitions_and_rules_out_duplicates(con):
    orders = [o for o in range(ROWS // 4) for _ in range(4)]
    make_table(con, {"order": ("BIGINT", orders), "line": ("BIGINT", [i % 4 for i in range(ROWS)]),
                     "qty": ("BIGINT", [i % 50 for i in range(ROWS)])})
    profiles = profile_columns(con, "t", {}, LARGE)
    table = profile_keys(con, "t", profiles, LARGE)
    small = profile_keys(con, "t", profiles, StatisticsSettings())
    assert table.candidate_keys == small.candidate_keys and ("order", "line") in table.candidate_keys
    assert (table.duplicates.rows, table.duplicates.method) == (0, "implied: key ['order', 'line'] is unique")


def test_duplicate_rows_of_a_large_table_are_counted_in_partitions_as_in_one_group_by(con):
    values = [i % 2_500 for i in range(ROWS)]  # every value 2 or 3 times, in both columns alike
    make_table(con, {"a": ("BIGINT", values), "b": ("VARCHAR", [f"x{v}" for v in values])})
    profiles = profile_columns(con, "t", {}, LARGE)
    parted = profile_keys(con, "t", profiles, LARGE.model_copy(update={"duplicate_examples": 3}))
    whole = profile_keys(con, "t", profiles, StatisticsSettings(duplicate_examples=3))
    assert dataclasses.replace(parted.duplicates, method="") == dataclasses.replace(whole.duplicates, method="")
    assert parted.duplicates.rows == ROWS - 2_500 and parted.duplicates.method.endswith("hash partitions")
    assert (parted.candidate_keys, parted.key_sets_checked) == ((), 0)


def test_a_task_whose_spill_passes_the_limit_fails_with_a_line_naming_the_setting(tmp_path: Path):
    phase_context(tmp_path, "import", ["t"], table="t")  # any task's connection: import needs no upstream
    (tmp_path / "config" / "runtime.yaml").write_text("duckdb:\n  threads: 1\n  memory_limit: 100MB\n"
                                                      "  spill_limit: 1MB\n")
    ctx = phase_context(tmp_path, "import", ["t"], table="t")
    with ctx.connect() as con, pytest.raises(duckdb.OutOfMemoryException) as failed:
        con.execute("CREATE TABLE t AS SELECT i AS _row_id, 'a long enough text ' || i AS x FROM range(3000000) r(i)")
        profile_columns(con, "t", {}, StatisticsSettings())
    line = ErrorRecord.of("statistics:s.t", failed.value, tmp_path).line()
    assert "duckdb.spill_limit in config/runtime.yaml" in line and "\n" not in line
