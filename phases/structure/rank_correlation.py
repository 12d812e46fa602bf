"""Spearman's rho of many column pairs, a few queries for all of them.

Rho is Pearson's r of the ranks among a pair's complete rows (ties share the mean of their
ranks), so a pair whose columns have NULLs is ranked on its own rows. Pairs are grouped by the
columns that have NULLs in the sample: every pair of a group has the same complete rows, and its
columns are ranked once for all of its pairs. Real tables have a few NULLs in most columns, so
most groups are a single pair: ranking each group in its own query cost one query per pair
(2,700 on a 24-table schema, a third of the correlations phase). Here the sample is held in long
form (row, column, value) and many groups are ranked in one query, partitioned by group, as many
as fit `batch_values` ranked values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from phases.core.sql import batch_values, dropped_after
from phases.shared.narrow import one_row
from phases.structure.derived_columns import ROW_ID, Col, sample_sql

if TYPE_CHECKING:
    import duckdb

SAMPLE, LONG = "__rank_sample", "__rank_long"
# per batch: the columns each group needs present, the columns it ranks, its pairs
NEED, USE, PAIR = "__rank_need", "__rank_use", "__rank_pair"

Pair = tuple[Col, Col]
Group = tuple[tuple[int, ...], list[int]]  # (columns with NULLs in the sample, pair ids)


def spearman(
    con: duckdb.DuckDBPyConnection, relation: str, pairs: Sequence[Pair], sample_rows: int, rows: int
) -> list[tuple[float | None, int, bool]]:
    """(rho, rows used, sampled) per pair, on at most `sample_rows` rows of `relation` (the same
    rows on every run)."""
    if not pairs:
        return []
    cols = list(dict.fromkeys(c for pair in pairs for c in pair))
    index = [(cols.index(x), cols.index(y)) for x, y in pairs]
    con.execute(f"CREATE OR REPLACE TEMP TABLE {SAMPLE} AS "
                + sample_sql(relation, [f"{c.sql}::DOUBLE AS v{i}" for i, c in enumerate(cols)], sample_rows))
    with dropped_after(con, SAMPLE, LONG, NEED, USE, PAIR):
        counts = one_row(con.execute(f"SELECT count(*), {', '.join(f'count(v{i})' for i in range(len(cols)))} "
                                     f"FROM {SAMPLE}"))
        nullable = {i for i in range(len(cols)) if counts[i + 1] < counts[0]}
        by_key: dict[tuple[int, ...], list[int]] = {}
        for k, (i, j) in enumerate(index):
            by_key.setdefault(tuple(sorted({i, j} & nullable)), []).append(k)
        parts = [f"SELECT {ROW_ID} AS r, {i} AS i, v{i} AS v FROM {SAMPLE} WHERE v{i} IS NOT NULL"
                 for i in range(len(cols))]
        con.execute(f"CREATE OR REPLACE TEMP TABLE {LONG} AS {' UNION ALL '.join(parts)}")
        result: dict[int, tuple[float | None, int]] = {}
        for batch in _batches(list(by_key.items()), index, int(counts[0]), batch_values(con)):
            result |= _rank_batch(con, batch, index)
    return [(*result.get(k, (None, 0)), rows > sample_rows) for k in range(len(pairs))]


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
