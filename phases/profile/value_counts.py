"""Pass 2 of the statistics phase for a batch of columns at once: their value counts in one
temp table (column position, value, rows), and everything derived from it, each a query
over all the batch's columns (GROUP BY the position, window functions PARTITION BY it).

A batch holds columns of one DuckDB type (their values share one list for unnest), at
most `columns_per_query` of them and about `cells` values in all; a column of a longer table
is a batch of its own, as before: its value counts are bounded by its cardinality, and an
exact quantile holds only its own column. On a table of 2,000 columns and 5 rows this makes
about a hundred queries of the thousands that one query per column and statistic took.

The statistics are those of one column at a time, to the bit where sums are exact (counts)
and to float noise where they are not (sums of doubles, which `round_scaled` removes, as it
does for the noise of sums split over threads)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from phases.core.sql import chunked, columns_per_query, quote_ident

if TYPE_CHECKING:
    import duckdb

VC = "__stats_value_counts"  # the one temp table of a batch (dropped after)
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)  # fixed: later phases rely on 0.25/0.5/0.75


@dataclass
class Distribution:
    """What the value counts of one column tell, filled in step by step."""

    distinct: int = 0
    total: int = 0
    n_log_n: float = 0.0
    top: list[tuple[Any, int]] = field(default_factory=list)
    quantiles: list[float] = field(default_factory=list)
    moments: tuple[float, float, float] | None = None  # m2, m3, m4
    buckets: dict[int, int] = field(default_factory=dict)
    patterns: list[tuple[str, int]] = field(default_factory=list)  # (shape, rows), top first
    pattern_count: int = 0
    pattern_total: int = 0


def batches(columns: Sequence[tuple[str, str]], rows: int, per_query: int, cells: int) -> list[list[int]]:
    """Indices of the columns profiled together: of one DuckDB type, at most `per_query` of
    them, and about `cells` values in all (one column if it alone has more rows)."""
    by_type: dict[str, list[int]] = {}
    for index, (_, sql_type) in enumerate(columns):
        by_type.setdefault(sql_type, []).append(index)
    size = max(1, min(per_query, cells // max(rows, 1)))
    return [list(chunk) for indices in by_type.values() for chunk in chunked(indices, size)]


def create_value_counts(con: duckdb.DuckDBPyConnection, table: str, names: Sequence[str]) -> None:
    """The temp table VC (pos, v, n): each column's non-null values and their rows; pos is the
    column's place in `names`."""
    source = quote_ident(table)
    if len(names) == 1:
        c = quote_ident(names[0])
        sql = f"SELECT 0 AS pos, {c} AS v, count(*) AS n FROM {source} WHERE {c} IS NOT NULL GROUP BY {c}"
    else:
        positions = ", ".join(str(i) for i in range(len(names)))
        values = ", ".join(quote_ident(n) for n in names)
        sql = (f"SELECT pos, v, count(*) AS n FROM (SELECT unnest([{positions}]) AS pos, unnest([{values}]) AS v "
               f"FROM {source}) WHERE v IS NOT NULL GROUP BY pos, v")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {VC} AS {sql}")


def drop_value_counts(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"DROP TABLE IF EXISTS {VC}")


def distributions(con: duckdb.DuckDBPyConnection, width: int, top: int) -> list[Distribution]:
    """Distinct count, rows, sum of n log2 n and the top values (count desc, then value) per column."""
    found = [Distribution() for _ in range(width)]
    for pos, distinct, total, n_log_n in con.execute(
        f"SELECT pos, count(*), sum(n), sum(n * log2(n)) FROM {VC} GROUP BY pos"
    ).fetchall():
        found[pos].distinct, found[pos].total, found[pos].n_log_n = distinct, int(total), n_log_n
    for pos, value, n in con.execute(
        f"SELECT pos, v, n FROM {VC} QUALIFY row_number() OVER (PARTITION BY pos ORDER BY n DESC, v) <= {top} "
        "ORDER BY pos, n DESC, v"
    ).fetchall():
        found[pos].top.append((value, n))
    return found


def entropy(d: Distribution) -> tuple[float, float]:
    """Entropy in bits and normalised: H = log2 N - (1/N) sum n log2 n; the float noise of a
    near-constant column clamped."""
    if d.distinct <= 1:
        return 0.0, 0.0
    bits = max(0.0, math.log2(d.total) - d.n_log_n / d.total)
    return bits, min(bits / math.log2(d.distinct), 1.0)


def _params(columns: Mapping[int, Sequence[Any]], types: Sequence[str]) -> tuple[str, list[Any]]:
    """A table expression `p` of per-column parameters (pos, then one per type) and its values."""
    names = ["pos", *(f"a{i}" for i in range(len(types)))]
    lists: list[list[Any]] = [list(columns)] + [[row[i] for row in columns.values()] for i in range(len(types))]
    parts = [f"unnest(?::{t}[]) AS {n}" for n, t in zip(names, ["INTEGER", *types], strict=True)]
    return f"(SELECT {', '.join(parts)})", lists


def quantiles_from_counts(con: duckdb.DuckDBPyConnection, counts: Mapping[int, int]) -> dict[int, list[float]]:
    """Exact quantiles (as quantile_cont) of the columns `counts` names (pos -> non-null rows)
    from their value counts: cumulative counts give the order statistics."""
    wanted: dict[int, list[int]] = {
        pos: sorted({p for q in QUANTILES for p in (math.floor((n - 1) * q), math.ceil((n - 1) * q))})
        for pos, n in counts.items()
    }
    if not wanted:
        return {}
    positions = [pos for pos, ps in wanted.items() for _ in ps]
    picks = [p for ps in wanted.values() for p in ps]
    rows = con.execute(
        f"WITH w AS (SELECT unnest(?::INTEGER[]) AS pos, unnest(?::BIGINT[]) AS p), "
        f"c AS (SELECT pos, v::DOUBLE AS v, sum(n) OVER (PARTITION BY pos ORDER BY v ROWS UNBOUNDED PRECEDING) AS upto "
        f"FROM {VC} WHERE pos IN (SELECT pos FROM w)) "
        "SELECT w.pos, w.p, min(c.v) FROM w JOIN c ON c.pos = w.pos AND c.upto > w.p GROUP BY w.pos, w.p",
        [positions, picks],
    ).fetchall()
    at = {(pos, p): v for pos, p, v in rows}
    result = {}
    for pos, n in counts.items():
        values = []
        for q in QUANTILES:
            h = (n - 1) * q
            low, high = at[(pos, math.floor(h))], at[(pos, math.ceil(h))]
            values.append(low + (h - math.floor(h)) * (high - low))
        result[pos] = values
    return result


def quantiles_from_rows(
    con: duckdb.DuckDBPyConnection, table: str, names: Mapping[int, str], per_query: int
) -> dict[int, list[float]]:
    """Exact quantiles (quantile_cont) of the named columns (pos -> name) read from the table."""
    levels = ", ".join(repr(q) for q in QUANTILES)
    result: dict[int, list[float]] = {}
    for chunk in chunked(list(names.items()), per_query):
        exprs = ", ".join(f"quantile_cont({quote_ident(name)}, [{levels}])" for _, name in chunk)
        row = con.execute(f"SELECT {exprs} FROM {quote_ident(table)}").fetchone() or ()
        result |= {pos: list(values) for (pos, _), values in zip(chunk, row, strict=True)}
    return result


def moments(
    con: duckdb.DuckDBPyConnection, means: Mapping[int, tuple[float, int]]
) -> dict[int, tuple[float, float, float]]:
    """Central moments m2, m3, m4 per column (pos -> (mean, count)). Deviations are taken from the
    pass-1 mean and then corrected by their own mean (the two-pass correction): near 1e9 a mean
    off by one ulp would otherwise swamp the third moment of a spread of 0.001."""
    if not means:
        return {}
    p, values = _params(means, ["DOUBLE", "BIGINT"])
    rows = con.execute(
        f"WITH p AS {p}, "
        f"s AS (SELECT pos, n, v::DOUBLE - p.a0 AS d0, p.a1 AS cnt FROM {VC} JOIN p USING (pos)), "
        "m AS (SELECT pos, sum(n * d0) / any_value(cnt) AS shift FROM s GROUP BY pos), "
        "c AS (SELECT s.pos, s.n, s.d0 - m.shift AS d, s.cnt FROM s JOIN m USING (pos)) "
        "SELECT pos, sum(n * d * d) / any_value(cnt), sum(n * d * d * d) / any_value(cnt), "
        "sum(n * d * d * d * d) / any_value(cnt) FROM c GROUP BY pos",
        values,
    ).fetchall()
    return {pos: (m2, m3, m4) for pos, m2, m3, m4 in rows}


def histograms(
    con: duckdb.DuckDBPyConnection, edges: Mapping[int, tuple[float, float, int]]
) -> dict[int, dict[int, int]]:
    """Rows per equal-width bucket per column (pos -> (low, width, buckets)); the maximum lands
    in the last bucket (clamped)."""
    if not edges:
        return {}
    p, values = _params({pos: (low, width, buckets - 1) for pos, (low, width, buckets) in edges.items()},
                        ["DOUBLE", "DOUBLE", "BIGINT"])
    rows = con.execute(
        f"WITH p AS {p} SELECT pos, greatest(0, least(CAST(floor((v::DOUBLE - p.a0) / p.a1) AS BIGINT), p.a2)) AS b, "
        f"sum(n) FROM {VC} JOIN p USING (pos) GROUP BY pos, b",
        values,
    ).fetchall()
    found: dict[int, dict[int, int]] = {pos: {} for pos in edges}
    for pos, bucket, n in rows:
        found[pos][bucket] = int(n)
    return found


def shape_sql(max_length: int) -> str:
    """Letters -> 'A', digits -> '9', everything else kept, one symbol per character (no run
    compression: the length of a code is part of its shape). Longer text is cut and marked '…'."""
    cut = f"left(v, {max_length})"
    shape = f"regexp_replace(regexp_replace({cut}, '\\pL', 'A', 'g'), '\\p{{Nd}}', '9', 'g')"
    return f"{shape} || CASE WHEN length(v) > {max_length} THEN '…' ELSE '' END"


def patterns(
    con: duckdb.DuckDBPyConnection, steps: Mapping[int, int], top: int, max_length: int
) -> dict[int, tuple[list[tuple[str, int]], int, int]]:
    """The most common text shapes per column (pos -> sampling step: a value is shaped when
    hash(v) % step = 0), with the number of shapes and the rows shaped."""
    if not steps:
        return {}
    p, values = _params({pos: (step,) for pos, step in steps.items()}, ["UBIGINT"])
    rows = con.execute(
        f"WITH p AS {p}, shaped AS (SELECT pos, {shape_sql(max_length)} AS s, sum(n) AS n "
        f"FROM {VC} JOIN p USING (pos) WHERE hash(v) % p.a0 = 0 GROUP BY pos, s) "
        "SELECT pos, s, n, count(*) OVER (PARTITION BY pos), sum(n) OVER (PARTITION BY pos) FROM shaped "
        f"QUALIFY row_number() OVER (PARTITION BY pos ORDER BY n DESC, s) <= {top} ORDER BY pos, n DESC, s",
        values,
    ).fetchall()
    found: dict[int, tuple[list[tuple[str, int]], int, int]] = {}
    for pos, shape, n, count, total in rows:
        shapes, _, _ = found.setdefault(pos, ([], int(count), int(total)))
        shapes.append((shape, int(n)))
    return found


def distinct_counts(
    con: duckdb.DuckDBPyConnection, relation: str, columns: Sequence[str], where: str = "true"
) -> list[int]:
    """count(DISTINCT c) of each column over the rows meeting `where`. DuckDB 2.0 plans n
    DISTINCT aggregates in one SELECT as n joined subqueries (quadratic; out of memory at a
    thousand), so each chunk of columns of one type is counted in long form (column, value)."""
    types = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {quote_ident(relation)})").fetchall())
    by_type: dict[str, list[int]] = {}
    for index, column in enumerate(columns):
        by_type.setdefault(types[column], []).append(index)
    found = [0] * len(columns)
    for indices in by_type.values():
        for chunk in chunked(indices, columns_per_query(con)):
            positions = ", ".join(str(i) for i in chunk)
            values = ", ".join(quote_ident(columns[i]) for i in chunk)
            for pos, count in con.execute(
                f"SELECT pos, count(DISTINCT v) FROM (SELECT unnest([{positions}]) AS pos, unnest([{values}]) AS v "
                f"FROM {quote_ident(relation)} WHERE {where}) GROUP BY pos"
            ).fetchall():
                found[pos] = count
    return found
