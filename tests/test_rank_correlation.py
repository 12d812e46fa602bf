"""Spearman's rho of many pairs at once (phases.structure.rank_correlation): each pair ranked on
its own complete rows, the same whether all groups share one query or each has its own."""

from __future__ import annotations

import statistics as pystats
from itertools import combinations

import pytest

from phases.structure.derived_columns import Col
from phases.structure.rank_correlation import spearman
from tests.test_correlations import average_ranks, make_table

# four columns, NULLs on different rows, ties in every column
COLUMNS = {
    "a": [1.0, 2.0, 2.0, 4.0, 5.0, None, 7.0, 8.0, 9.0, 9.0, 11.0, 12.0],
    "b": [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0, None, 5.0, 3.0, 5.0],
    "c": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0, 110.0, 120.0],
    "d": [None, 5.0, 5.0, 3.0, 2.0, 8.0, 8.0, None, 1.0, 0.0, 4.0, 6.0],
}


def expected(x: list[float | None], y: list[float | None]) -> tuple[float, int]:
    complete = [(a, b) for a, b in zip(x, y, strict=True) if a is not None and b is not None]
    xs, ys = (list(v) for v in zip(*complete, strict=True))
    return pystats.correlation(average_ranks(xs), average_ranks(ys)), len(complete)


@pytest.mark.parametrize("budget", [None, 1])  # None: one query for every group; 1: a query per group
def test_every_pair_is_ranked_on_its_own_complete_rows_in_any_batching(con, budget):
    make_table(con, {name: ("DOUBLE", values) for name, values in COLUMNS.items()})
    if budget is not None:
        con.execute(f"SET VARIABLE dataraum_batch_values = {budget}")
    cols = {name: Col("t", name, name, None, i) for i, name in enumerate(COLUMNS)}  # type: ignore[arg-type]
    pairs = list(combinations(COLUMNS, 2))
    found = spearman(con, "t", [(cols[x], cols[y]) for x, y in pairs], sample_rows=1000, rows=12)
    for (x, y), (rho, rows, sampled) in zip(pairs, found, strict=True):
        want, n = expected(COLUMNS[x], COLUMNS[y])
        assert (rho, rows, sampled) == (pytest.approx(want, abs=1e-12), n, False), (x, y)


def test_a_pair_without_complete_rows_has_no_rho(con):
    make_table(con, {"x": ("DOUBLE", [1.0, None, 3.0]), "y": ("DOUBLE", [None, 2.0, None])})
    x, y = Col("t", "x", "x", None, 0), Col("t", "y", "y", None, 1)  # type: ignore[arg-type]
    assert spearman(con, "t", [(x, y)], sample_rows=1000, rows=3) == [(None, 0, False)]
