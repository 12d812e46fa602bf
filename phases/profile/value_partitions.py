"""Value counts of one high-cardinality column of a large table, in hash partitions.

One GROUP BY over a column of 60 M nearly distinct values (a comment, an order number) holds a
hash table as large as the column: beyond the task's memory it spills gigabytes to disk. A value
lives in exactly one partition `hash(v) % parts`, so the value counts of the partitions, taken one
after another, are the column's value counts cut into disjoint pieces, each about
`partition_values` values: every statistic the phase derives from them adds up across the pieces
or, for top values and shapes, is found among the pieces' own. The results are therefore exact,
the same as one GROUP BY gives (sums of doubles to float noise, which `round_scaled` removes), at
the cost of one scan of the column per partition.

What does not add up is computed elsewhere: quantiles come from the column itself (an exact
quantile holds one column of doubles: 0.5 GB at 60 M rows), central moments from the raw power
sums of the deviations from the pass-1 mean (shifted afterwards, see `_central`)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from phases.core.sql import dropped_after, quote_ident
from phases.profile import value_counts as vc
from phases.profile.value_counts import VC, Distribution

if TYPE_CHECKING:
    import duckdb

TOPS = "__stats_part_tops"  # the top values of each partition (dropped after)
ESTIMATE_MARGIN = 1.1  # approx_count_distinct errs by a few per cent: size partitions for 10 % more


def partitions(estimate: int | None, partition_values: int) -> int:
    """How many hash partitions a column of about `estimate` distinct values needs (1: none)."""
    if not estimate:
        return 1
    return max(1, math.ceil(estimate * ESTIMATE_MARGIN / partition_values))


def partition_where(expr: str, part: int, parts: int) -> str:
    """The SQL condition of partition `part` of `parts` by the hash of `expr` (one or more columns)."""
    return f"hash({expr}) % {parts} = {part}"


def _create_part(con: duckdb.DuckDBPyConnection, table: str, name: str, part: int, parts: int) -> None:
    c = quote_ident(name)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {VC} AS SELECT 0 AS pos, {c} AS v, count(*) AS n "
                f"FROM {quote_ident(table)} WHERE {c} IS NOT NULL AND {partition_where(c, part, parts)} GROUP BY {c}")


class Partitioned:
    """The statistics of one column gathered partition by partition (see the module docstring);
    `mean` and `edges` (low, width, buckets) are given for numeric columns."""

    def __init__(self, con: duckdb.DuckDBPyConnection, top: int, mean: float | None = None,
                 edges: tuple[float, float, int] | None = None):
        self.con, self.top, self.mean, self.edges = con, top, mean, edges
        self.found = Distribution()
        self.sums = [0.0, 0.0, 0.0, 0.0]  # sum n d^k, k = 1..4, d = v - mean

    def run(self, table: str, name: str, parts: int, sql_type: str) -> Distribution:
        con = self.con
        with dropped_after(con, TOPS, VC):
            con.execute(f"CREATE OR REPLACE TEMP TABLE {TOPS} (v {sql_type}, n BIGINT)")
            for part in range(parts):
                _create_part(con, table, name, part, parts)
                self._gather()
            self._finish()
        return self.found

    def _gather(self) -> None:
        """Add the current partition's value counts (the temp table VC) to the totals."""
        con, found = self.con, self.found
        distinct, total, n_log_n = con.execute(
            f"SELECT count(*), coalesce(sum(n), 0), coalesce(sum(n * log2(n)), 0) FROM {VC}").fetchone() or (0, 0, 0)
        found.distinct += int(distinct)
        found.total += int(total)
        found.n_log_n += float(n_log_n)
        con.execute(f"INSERT INTO {TOPS} SELECT v, n FROM {VC} ORDER BY n DESC, v LIMIT {self.top}")
        if self.mean is not None:
            row = con.execute(
                f"SELECT sum(n * d), sum(n * d * d), sum(n * d * d * d), sum(n * d * d * d * d) "
                f"FROM (SELECT n, v::DOUBLE - ? AS d FROM {VC})", [self.mean]).fetchone() or ()
            self.sums = [s + float(x or 0.0) for s, x in zip(self.sums, row, strict=True)]
        if self.edges is not None:
            for bucket, n in vc.histograms(con, {0: self.edges})[0].items():
                found.buckets[bucket] = found.buckets.get(bucket, 0) + n

    def _finish(self) -> None:
        con, found = self.con, self.found
        found.top = [(v, int(n)) for v, n in
                     con.execute(f"SELECT v, n FROM {TOPS} ORDER BY n DESC, v LIMIT {self.top}").fetchall()]
        if self.mean is not None and found.distinct > 1:
            found.moments = _central(self.sums, found.total)


def _central(sums: list[float], count: int) -> tuple[float, float, float]:
    """m2, m3, m4 from the power sums of d = v - mean (mean from pass 1). The deviations are
    shifted by their own mean `s` (the two-pass correction of `value_counts.moments`), expanded:
    s is float noise of the pass-1 mean, so the expansion loses nothing."""
    e1, e2, e3, e4 = (x / count for x in sums)
    s = e1
    m2 = e2 - s * s
    m3 = e3 - 3 * s * e2 + 2 * s**3
    m4 = e4 - 4 * s * e3 + 6 * s * s * e2 - 3 * s**4
    return m2, m3, m4


def partitioned_distinct(con: duckdb.DuckDBPyConnection, source: str, columns: list[str], parts: int,
                         where: str = "true") -> int:
    """The number of distinct tuples of `columns` over `source` (rows meeting `where`), counted
    one hash partition at a time: each pass holds about 1/parts of them."""
    cols = ", ".join(quote_ident(c) for c in columns)
    total = 0
    for part in range(parts):
        row: Any = con.execute(f"SELECT count(*) FROM (SELECT DISTINCT {cols} FROM {source} "
                               f"WHERE ({where}) AND {partition_where(cols, part, parts)})").fetchone()
        total += int(row[0])
    return total


def shapes_from_rows(con: duckdb.DuckDBPyConnection, table: str, name: str, step: int, top: int,
                     max_length: int) -> tuple[list[tuple[str, int]], int, int]:
    """The text shapes of `value_counts.patterns` (the values with hash(v) % step = 0, each with
    its rows) read from the rows in one streaming scan: (top shapes, shapes, rows shaped)."""
    rows = con.execute(
        f"WITH g AS (SELECT {vc.shape_sql(max_length)} AS s, count(*) AS n FROM (SELECT {quote_ident(name)} AS v "
        f"FROM {quote_ident(table)}) WHERE v IS NOT NULL AND hash(v) % {step} = 0 GROUP BY s) "
        f"SELECT s, n, count(*) OVER (), sum(n) OVER () FROM g "
        f"QUALIFY row_number() OVER (ORDER BY n DESC, s) <= {top} ORDER BY n DESC, s").fetchall()
    if not rows:
        return [], 0, 0
    return [(s, int(n)) for s, n, _, _ in rows], int(rows[0][2]), int(rows[0][3])
