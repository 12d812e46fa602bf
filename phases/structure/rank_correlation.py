"""Spearman's rho of many column pairs.

Rho is Pearson's r of the ranks among a pair's complete rows (ties share the mean of their
ranks), so a pair whose columns have NULLs in the sample is ranked on its own rows: two sorts
of its rows, in one statement with other pairs. That costs rows x 2 ranked values per pair, so
it is kept for the pairs whose value is claimed (listed at `min_strength` or more).

First every column is ranked once on all of its sampled values (one sort in long form), and a
few aggregates per pair give r' = Pearson's r of these global ranks on the pair's complete rows,
with a proven bound on how far r' can be from rho (see `screen_bound`). A pair whose |r'| plus
its bound stays below `min_strength` cannot be listed whatever rho is, and is not ranked again;
its count of complete rows is exact, and r' is NaN exactly when rho is (a column constant on
those rows). A pair without NULLs in the sample is complete on every sampled row, where the
global ranks are its own: its r' is rho. On TPC-DS 601 of 4,093 pairs are ranked again, and 592
of them are listed.

Float sums in another order may differ in the 16th digit; values are rounded to 10 significant
digits by the phase, so the files stay byte-identical.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from phases.core.sql import chunked, dropped_after
from phases.shared.narrow import one_row
from phases.structure.derived_columns import ROW_ID, Col, sample_sql

if TYPE_CHECKING:
    import duckdb

SAMPLE, GLOBAL = "__rank_sample", "__rank_global"
EXACT_BATCH = 20  # pairs ranked per statement
SCREEN_BATCH = 50  # pairs per screening aggregate (4 aggregates each)
MARGIN = 1e-6  # far above float error in r', far below the 10 significant digits a value is rounded to

Pair = tuple[Col, Col]


def spearman(
    con: duckdb.DuckDBPyConnection, relation: str, pairs: Sequence[Pair], sample_rows: int, rows: int,
    min_strength: float = 0.0,
) -> list[tuple[float | None, int, bool]]:
    """(rho, rows used, sampled) per pair, on at most `sample_rows` rows of `relation` (the same
    rows on every run). Rho is exact for every pair whose |rho| may reach `min_strength`; for the
    others the value is the screen's r', within its bound of rho and below `min_strength`."""
    if not pairs:
        return []
    cols = list(dict.fromkeys(c for pair in pairs for c in pair))
    index = [(cols.index(x), cols.index(y)) for x, y in pairs]
    con.execute(f"CREATE OR REPLACE TEMP TABLE {SAMPLE} AS "
                + sample_sql(relation, [f"{c.sql}::DOUBLE AS v{i}" for i, c in enumerate(cols)], sample_rows))
    with dropped_after(con, SAMPLE, GLOBAL):
        counts = one_row(con.execute(f"SELECT count(*), {', '.join(f'count(v{i})' for i in range(len(cols)))} "
                                     f"FROM {SAMPLE}"))
        # a pair without NULLs in the sample is complete on every sampled row, where the global
        # ranks are its own: its r' is rho (bound 0), and it is never ranked again
        chosen = [k for k, (i, j) in enumerate(index)
                  if min_strength > 0 or min(counts[i + 1], counts[j + 1]) == counts[0]]
        found = _screen(con, [index[k] for k in chosen], [int(n) for n in counts[1:]])
        screened = {chosen[at]: value for at, value in found.items()}
        exact = [k for k in range(len(pairs)) if k not in screened or _may_reach(screened[k], min_strength)
                 and screened[k][2] > 0]
        result = _exact(con, index, exact)
    sampled = rows > sample_rows
    return [(*result[k], sampled) if k in result else (screened[k][0], screened[k][1], sampled)
            for k in range(len(pairs))]


def _exact(con: duckdb.DuckDBPyConnection, index: Sequence[tuple[int, int]], chosen: Sequence[int]
           ) -> dict[int, tuple[float | None, int]]:
    """Rho and complete rows of the `chosen` pairs, each ranked on its own complete rows (the
    average rank of a tie is (first + last) / 2: rank() and cume_dist() times the rows)."""
    result: dict[int, tuple[float | None, int]] = {}
    for batch in chunked(list(chosen), EXACT_BATCH):
        parts = [
            f"SELECT {k} AS k, corr(x, y) AS rho, count(*) AS n FROM ("
            f"SELECT (rank() OVER wx + round(cume_dist() OVER wx * count(*) OVER ())) / 2 AS x, "
            f"(rank() OVER wy + round(cume_dist() OVER wy * count(*) OVER ())) / 2 AS y "
            f"FROM {SAMPLE} WHERE v{index[k][0]} IS NOT NULL AND v{index[k][1]} IS NOT NULL "
            f"WINDOW wx AS (ORDER BY v{index[k][0]}), wy AS (ORDER BY v{index[k][1]}))"
            for k in batch
        ]
        result |= {k: (rho, int(n)) for k, rho, n in con.execute(" UNION ALL ".join(parts)).fetchall()}
    return result


# --- the screen -------------------------------------------------------------------------------

Screened = tuple[float | None, int, float]  # (r' on global ranks, complete rows, bound on |rho - r'|)


def _screen(con: duckdb.DuckDBPyConnection, index: Sequence[tuple[int, int]], present: Sequence[int]
            ) -> dict[int, Screened]:
    """Per pair: r', its complete rows and the bound, from every column ranked once (average
    ranks of ties, as the exact ranking gives them) and a few aggregates per pair. `present`:
    each column's values in the sample (by column index)."""
    used = sorted({i for pair in index for i in pair})
    if not used:
        return {}
    # the average rank of a tie is (first + last) / 2: rank() is the first, cume_dist() times the
    # column's values the last. Ranked in long form (one sort for all columns, where a window per
    # column in a wide table sorts every column's rows again), then turned back into rows.
    values = " UNION ALL ".join(f"SELECT {ROW_ID} AS r, {i} AS i, v{i} AS v FROM {SAMPLE} WHERE v{i} IS NOT NULL"
                                for i in used)
    by_row = ", ".join(f"max(g) FILTER (i = {i}) AS g{i}" for i in used)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {GLOBAL} AS SELECT {by_row} FROM ("
                f"SELECT r, i, (rank() OVER w + round(cume_dist() OVER w * count(*) OVER (PARTITION BY i))) / 2 AS g "
                f"FROM ({values}) WINDOW w AS (PARTITION BY i ORDER BY v)) GROUP BY r")
    found: dict[int, Screened] = {}
    for batch in chunked(list(enumerate(index)), SCREEN_BATCH):
        exprs = [f"corr(g{j}, g{i}), regr_count(g{j}, g{i}), regr_sxx(g{j}, g{i}), regr_syy(g{j}, g{i})"
                 for _, (i, j) in batch]
        row = one_row(con.execute(f"SELECT {', '.join(exprs)} FROM {GLOBAL}"))
        for at, (k, (i, j)) in enumerate(batch):
            r, m, sxx, syy = row[4 * at:4 * at + 4]
            m = int(m)
            bound = screen_bound(m, present[i] - m, sxx) + screen_bound(m, present[j] - m, syy) if m else math.inf
            found[k] = (r, m, bound)
    return found


def screen_bound(m: int, k: int, squares: float | None) -> float:
    """How far a column's global ranks, restricted to a pair's m complete rows, can be from its
    ranks among those rows, as unit vectors (then |rho - r'| is at most the sum of both columns').
    On those rows global = own + c, where c counts the column's k values outside them that are
    smaller (ties half), so 0 <= c <= k and c never decreases with the value. Hence cov(own, c) >= 0,
    var(c) <= k^2/4 and sd(own) >= sd(global) - k/2, so corr(own, global) >= q =
    sqrt(a / (a + k^2/4)) with a = (sd(global) - k/2)^2, and the distance is sqrt(2 - 2q)."""
    if k <= 0:
        return 0.0
    spread = math.sqrt(max(squares or 0.0, 0.0) / m) - k / 2
    if spread <= 0:
        return math.inf
    a = spread * spread
    return math.sqrt(max(0.0, 2 - 2 * math.sqrt(a / (a + k * k / 4))))


def _may_reach(screened: Screened, min_strength: float) -> bool:
    """Whether the pair's exact |rho| may reach min_strength. A NaN r' means a column is constant
    on the complete rows, where rho is NaN too; a missing one is left to the exact ranking."""
    r, _, bound = screened
    if r is None:
        return True
    return not math.isnan(r) and abs(r) + bound + MARGIN >= min_strength
