"""Spearman's rho of many pairs at once (phases.structure.rank_correlation): each pair ranked on
its own complete rows; the screen's bound holds, and screening changes no rho that reaches
min_strength."""

from __future__ import annotations

import math
import random
import statistics as pystats
from itertools import combinations

import pytest

from phases.structure.derived_columns import Col
from phases.structure.rank_correlation import screen_bound, spearman
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


def test_every_pair_is_ranked_on_its_own_complete_rows(con):
    make_table(con, {name: ("DOUBLE", values) for name, values in COLUMNS.items()})
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


# --- the screen: pairs that cannot reach min_strength are not ranked again ---------------------


def noisy_columns(seed: int, rows: int = 200) -> dict[str, list[float | None]]:
    """Four columns with ties and NULLs on different rows: b follows a closely, c loosely, d not."""
    rng = random.Random(seed)
    a = [float(rng.randint(0, 40)) for _ in range(rows)]
    columns: dict[str, list[float | None]] = {
        "a": list(a), "b": [v + rng.gauss(0, 2) for v in a], "c": [v + rng.gauss(0, 25) for v in a],
        "d": [float(rng.randint(0, 9)) for _ in range(rows)],
    }
    for values in columns.values():
        for i in rng.sample(range(rows), rng.randint(0, rows // 5)):
            values[i] = None
    return columns


def global_rank_r(x: list[float | None], y: list[float | None]) -> tuple[float, int, int, int, float, float]:
    """r' from the definition: each column ranked on all its values, Pearson's r on the complete rows;
    with the complete rows m, each column's values outside them and the sums of squares there."""
    def ranked(values: list[float | None]) -> list[float | None]:
        present = [v for v in values if v is not None]
        ranks = dict(zip(present, average_ranks(present), strict=True))
        return [None if v is None else ranks[v] for v in values]

    gx, gy = ranked(x), ranked(y)
    both = [(a, b) for a, b in zip(gx, gy, strict=True) if a is not None and b is not None]
    xs, ys = [a for a, _ in both], [b for _, b in both]
    kx = sum(v is not None for v in x) - len(both)
    ky = sum(v is not None for v in y) - len(both)
    sxx, syy = (sum((v - pystats.fmean(vs)) ** 2 for v in vs) for vs in (xs, ys))
    return pystats.correlation(xs, ys), len(both), kx, ky, sxx, syy


@pytest.mark.parametrize("seed", range(6))
def test_the_screen_bound_holds_between_global_and_own_ranks(seed):
    columns = noisy_columns(seed)
    for x, y in combinations(columns, 2):
        rho, _ = expected(columns[x], columns[y])
        r, m, kx, ky, sxx, syy = global_rank_r(columns[x], columns[y])
        assert abs(rho - r) <= screen_bound(m, kx, sxx) + screen_bound(m, ky, syy) + 1e-12, (seed, x, y)


def test_the_screen_bound_is_zero_without_nulls_and_infinite_when_the_ranks_cannot_tell():
    assert screen_bound(100, 0, 1.0) == 0.0
    assert screen_bound(10, 8, 10.0) == math.inf  # sd 1 is less than half the 8 values left out


@pytest.mark.parametrize("min_strength", [0.3, 0.6, 0.95])
def test_screened_pairs_keep_every_listed_rho_exact_and_the_rest_below_the_cut(con, min_strength):
    columns = noisy_columns(7)
    make_table(con, {name: ("DOUBLE", values) for name, values in columns.items()})
    cols = {name: Col("t", name, name, None, i) for i, name in enumerate(columns)}  # type: ignore[arg-type]
    pairs = [(cols[x], cols[y]) for x, y in combinations(columns, 2)]
    exact = spearman(con, "t", pairs, sample_rows=1000, rows=200)
    screened = spearman(con, "t", pairs, sample_rows=1000, rows=200, min_strength=min_strength)
    for (rho, n, _), (value, rows, _) in zip(exact, screened, strict=True):
        assert rows == n
        if abs(rho) >= min_strength:  # the same ranking; float sums may differ in the 16th digit with the batch
            assert value == pytest.approx(rho, abs=1e-12)
        else:
            assert abs(value) < min_strength
