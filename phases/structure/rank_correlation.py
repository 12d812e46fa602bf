"""Spearman's rho of many column pairs, a few queries for all of them.

Rho is Pearson's r of the ranks among a pair's complete rows (ties share the mean of their
ranks), so a pair whose columns have NULLs is ranked on its own rows. Pairs are grouped by the
columns that have NULLs in the sample: every pair of a group has the same complete rows, and its
columns are ranked once for all of its pairs. Real tables have a few NULLs in most columns, so
most groups are a single pair: ranking each group in its own query cost one query per pair
(2,700 on a 24-table schema, a third of the correlations phase). Here the sample is held in long
form (row, column, value) and many groups are ranked in one query, partitioned by group, as many
as fit `batch_values` ranked values.

That exact ranking costs rows x 2 ranked values per pair, so it is kept for the pairs whose
value is claimed (listed at `min_strength` or more). First every column is ranked once on all of
its sampled values, and one aggregate per pair gives r' = Pearson's r of these global ranks on
the pair's complete rows, with a bound on how far r' can be from rho (see `screen_bound`). A
pair whose |r'| plus its bound stays below `min_strength` cannot be listed whatever rho is, and
is not ranked again; its count of complete rows is exact, and r' is NaN exactly when rho is (a
column constant on those rows). Every other rho is ranked exactly as before, except for pairs
without NULLs in the sample: their complete rows are all sampled rows, where the global ranks
are their own, so r' is rho (the same sums in another order: they may differ in the 16th digit,
not in the 10 that are kept).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

from phases.core.sql import batch_values, chunked, dropped_after
from phases.shared.narrow import one_row
from phases.structure.derived_columns import ROW_ID, Col, sample_sql

if TYPE_CHECKING:
    import duckdb

SAMPLE, LONG, GLOBAL = "__rank_sample", "__rank_long", "__rank_global"
SCREEN_BATCH = 50  # pairs per screening aggregate (4 aggregates each)
MARGIN = 1e-6  # far above float error in r', far below the 10 significant digits a value is rounded to
# per batch: the columns each group needs present, the columns it ranks, its pairs
NEED, USE, PAIR = "__rank_need", "__rank_use", "__rank_pair"

Pair = tuple[Col, Col]
Group = tuple[tuple[int, ...], list[int]]  # (columns with NULLs in the sample, pair ids)


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
    with dropped_after(con, SAMPLE, GLOBAL, LONG, NEED, USE, PAIR):
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
        result = _exact(con, cols, index, exact, counts)
    sampled = rows > sample_rows
    return [(*result[k], sampled) if k in result else (screened[k][0], screened[k][1], sampled)
            for k in range(len(pairs))]


def _exact(con: duckdb.DuckDBPyConnection, cols: Sequence[Col], index: Sequence[tuple[int, int]],
           chosen: Sequence[int], counts: Sequence[int]) -> dict[int, tuple[float | None, int]]:
    """Rho and complete rows of the `chosen` pairs, each ranked on its own complete rows."""
    if not chosen:
        return {}
    nullable = {i for i in range(len(cols)) if counts[i + 1] < counts[0]}
    by_key: dict[tuple[int, ...], list[int]] = {}
    for k in chosen:
        by_key.setdefault(tuple(sorted(set(index[k]) & nullable)), []).append(k)
    used = sorted({i for k in chosen for i in index[k]})
    parts = [f"SELECT {ROW_ID} AS r, {i} AS i, v{i} AS v FROM {SAMPLE} WHERE v{i} IS NOT NULL" for i in used]
    con.execute(f"CREATE OR REPLACE TEMP TABLE {LONG} AS {' UNION ALL '.join(parts)}")
    result: dict[int, tuple[float | None, int]] = {k: (None, 0) for k in chosen}
    for batch in _batches(list(by_key.items()), index, int(counts[0]), batch_values(con)):
        result |= _rank_batch(con, batch, index)
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


def _batches(groups: list[Group], index: Sequence[tuple[int, int]], rows: int, budget: int) -> list[list[Group]]:
    """Consecutive groups whose ranked values (rows x columns used) stay within `budget`; a group
    larger than the budget goes alone."""
    batches: list[list[Group]] = []
    size = 0
    for group in groups:
        used = len({i for k in group[1] for i in index[k]})
        if not batches or size + rows * used > budget:
            batches.append([])
            size = 0
        batches[-1].append(group)
        size += rows * used
    return batches


def _rank_batch(con: duckdb.DuckDBPyConnection, batch: Sequence[Group], index: Sequence[tuple[int, int]]
                ) -> dict[int, tuple[float | None, int]]:
    """Rho and complete rows of every pair of `batch`: each group's rows are those where all of
    its NULL-able columns are present; its columns are ranked on those rows."""
    need = [(g, i) for g, (key, _) in enumerate(batch) for i in key]
    use = sorted({(g, i) for g, (_, members) in enumerate(batch) for k in members for i in index[k]})
    pair = [(g, k, *index[k]) for g, (_, members) in enumerate(batch) for k in members]
    for table, columns, values in ((NEED, "g INTEGER, i INTEGER", need), (USE, "g INTEGER, i INTEGER", use),
                                   (PAIR, "g INTEGER, k INTEGER, i INTEGER, j INTEGER", pair)):
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} ({columns})")
        if values:
            con.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(values[0]))})", values)
    complete = f"g NOT IN (SELECT g FROM {NEED})"  # groups without NULL-able columns: every sampled row
    rows = con.execute(f"""
        WITH wanted AS (SELECT g, count(*) AS n FROM {NEED} GROUP BY g),
        grp_rows AS (SELECT n.g, l.r FROM {NEED} n JOIN {LONG} l ON l.i = n.i
                     GROUP BY n.g, l.r HAVING count(*) = (SELECT w.n FROM wanted w WHERE w.g = n.g)
                     UNION ALL
                     SELECT u.g, s.{ROW_ID} FROM (SELECT DISTINCT g FROM {USE} WHERE {complete}) u, {SAMPLE} s),
        vals AS (SELECT gr.g, u.i, l.r, l.v FROM grp_rows gr JOIN {USE} u ON u.g = gr.g
                 JOIN {LONG} l ON l.r = gr.r AND l.i = u.i),
        ranks AS (SELECT g, i, v, sum(n) OVER (PARTITION BY g, i ORDER BY v) - (n - 1) / 2 AS rank
                  FROM (SELECT g, i, v, count(*) AS n FROM vals GROUP BY g, i, v)),
        ranked AS (SELECT vals.g, vals.i, vals.r, ranks.rank FROM vals JOIN ranks USING (g, i, v))
        SELECT p.k, count(*), corr(x.rank, y.rank)
        FROM {PAIR} p JOIN ranked x ON x.g = p.g AND x.i = p.i JOIN ranked y ON y.g = p.g AND y.i = p.j AND y.r = x.r
        GROUP BY p.k""").fetchall()
    return {k: (rho, int(n)) for k, n, rho in rows}
