"""Quoting helpers for the SQL text we build by hand, and DuckDB's type classes.

Column names are data (they come from CSV headers), so they may hold quotes,
spaces, semicolons or any letter: every identifier and every literal pasted into
SQL goes through one of these two functions. Prefer query parameters for values
where DuckDB accepts them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import duckdb

T = TypeVar("T")

# How many columns one wide query handles. DuckDB 2.0 binds and optimises a SELECT of n
# similar aggregates in O(n^2) time (2,000 histograms: minutes), so wide tables are read in
# chunks; the value is set per connection from runtime.yaml (`duckdb.columns_per_query`).
COLUMNS_PER_QUERY = 100
COLUMNS_VARIABLE = "dataraum_columns_per_query"
# How many values (rows x columns) a batch of columns profiled together holds at most: a short
# table's columns share one query per statistic, a long table's column has its own; runtime.yaml
# (`duckdb.batch_values`) sets it per connection.
BATCH_VALUES = 1_000_000
VALUES_VARIABLE = "dataraum_batch_values"


def quote_ident(name: str) -> str:
    """`name` as a double-quoted SQL identifier: `a"b` becomes `"a""b"`."""
    return '"' + name.replace('"', '""') + '"'


def readable_ident(name: str) -> str:
    """`name` as a person writes it in SQL: bare when it is a plain lower-case word, else quoted."""
    return name if re.fullmatch(r"[a-z_][a-z0-9_]*", name) else quote_ident(name)


def quote_literal(value: str | os.PathLike[str]) -> str:
    """`value` (text or a path) as a single-quoted SQL string literal: `it's` becomes `'it''s'`."""
    return "'" + os.fspath(value).replace("'", "''") + "'"


# DuckDB's type names by class, as DESCRIBE spells them; DECIMAL(p, s) carries its precision.
INTEGER_SQL = frozenset({"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT",
                         "UINTEGER", "UBIGINT"})
NUMERIC_SQL = INTEGER_SQL | {"FLOAT", "DOUBLE"}


def round_significant_sql(expr: str, digits: int = 3) -> str:
    """SQL rounding `expr` (non-zero) to `digits` significant digits: 0.78962 -> 0.79 at 3; how
    a constant factor shared by many rows (a conversion rate) is told apart from noise."""
    return f"round({expr}, {digits} - CAST(ceil(log10(abs({expr}))) AS INT))"


def is_numeric_sql(sql_type: str) -> bool:
    """An integer, floating point or DECIMAL(p, s) DuckDB type."""
    return sql_type in NUMERIC_SQL or sql_type.startswith("DECIMAL")


def _setting(con: duckdb.DuckDBPyConnection, variable: str, default: int) -> int:
    row = con.execute(f"SELECT getvariable({quote_literal(variable)})").fetchone()
    return int(row[0]) if row and row[0] else default


def columns_per_query(con: duckdb.DuckDBPyConnection) -> int:
    """The chunk size of wide queries on this connection: runtime.yaml's, else the default."""
    return _setting(con, COLUMNS_VARIABLE, COLUMNS_PER_QUERY)


def batch_values(con: duckdb.DuckDBPyConnection) -> int:
    """The values a batch of columns profiled together holds at most on this connection."""
    return _setting(con, VALUES_VARIABLE, BATCH_VALUES)


def chunked(items: Sequence[T], size: int) -> list[Sequence[T]]:
    """`items` in consecutive runs of at most `size` (at least 1)."""
    step = max(1, size)
    return [items[i : i + step] for i in range(0, len(items), step)]


@contextmanager
def dropped_after(con: duckdb.DuckDBPyConnection, *tables: str) -> Iterator[None]:
    """Temp tables a step creates, dropped when it ends, also when it fails (a task's connection
    lives on: a large temp table left behind holds memory or spill until the task ends)."""
    try:
        yield
    finally:
        for table in tables:
            con.execute(f"DROP TABLE IF EXISTS {table}")


def typed_relation(con: duckdb.DuckDBPyConnection, name: str, file: object, cells: int | None,
                   max_cells: int | None = None) -> None:
    """Temp relation `name` (SQL text) over a typed Parquet file, for the many queries of one task.
    A table of at most `max_cells` cells (rows x columns; default `batch_values`) is copied into
    memory once: each query on the file reads its metadata and binds every column again (30 ms
    on a file of 2,000 columns), and a phase asks hundreds of small questions of a wide table. A
    larger one, or one of unknown size (`cells` None), is a view, read column by column as each
    query needs."""
    limit = batch_values(con) if max_cells is None else max_cells
    kind = "TABLE" if cells is not None and cells <= limit else "VIEW"
    con.execute(f"CREATE OR REPLACE TEMP {kind} {name} AS SELECT * FROM read_parquet({quote_literal(str(file))})")


def typed_relations(con: duckdb.DuckDBPyConnection, files: Mapping[str, object], cells: Mapping[str, int],
                    prefix: str, max_cells: int | None = None) -> dict[str, str]:
    """`typed_relation` for each table of `files`, named `prefix` and a number: table -> name."""
    names = {}
    for i, table in enumerate(sorted(files)):
        names[table] = f"{prefix}{i}"
        typed_relation(con, names[table], files[table], cells.get(table), max_cells)
    return names


@contextmanager
def wide_projection(con: duckdb.DuckDBPyConnection, width: int) -> Iterator[None]:
    """For one statement that must project `width` columns at once (a COPY of a whole table):
    above the connection's `columns_per_query`, DuckDB's common-subexpression optimiser is off,
    as it takes time quadratic in the expressions it shares (15 s for 2,000 date casts). The
    result is the same; a value mentioned twice in an expression is then computed twice."""
    if width <= columns_per_query(con):
        yield
        return
    (before,) = con.execute("SELECT current_setting('disabled_optimizers')").fetchone() or ("",)
    off = ",".join(filter(None, [before, "common_subexpressions"]))
    con.execute(f"SET disabled_optimizers = {quote_literal(off)}")
    try:
        yield
    finally:
        con.execute(f"SET disabled_optimizers = {quote_literal(before)}")


def open_parquet(con: duckdb.DuckDBPyConnection, name: str, path: str | os.PathLike[str]) -> None:
    """Temp relation `name` over a Parquet file: a table in memory when the file holds at most
    `batch_values` values, else a view (each query then reads only its own columns). A query
    over a view binds every column of the file again: 45 ms a query at 2,000 columns."""
    source = f"read_parquet({quote_literal(path)})"
    row = con.execute(f"SELECT count(*) FROM parquet_schema({quote_literal(path)}) WHERE num_children IS NULL")
    columns = (row.fetchone() or (0,))[0]
    rows = (con.execute(f"SELECT num_rows FROM parquet_file_metadata({quote_literal(path)})").fetchone() or (0,))[0]
    kind = "TABLE" if rows * columns <= batch_values(con) else "VIEW"
    con.execute(f"CREATE OR REPLACE TEMP {kind} {quote_ident(name)} AS SELECT * FROM {source}")
