"""The typing phase's output files: typed.parquet and cast_failures.parquet, and what their
values add to the decisions (failure examples, decimal years)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import duckdb

from phases.artifacts.column_types import ColumnTyping
from phases.core.sql import batch_values, chunked, columns_per_query, quote_ident, quote_literal, wide_projection
from phases.ingest.type_decisions import Decision
from phases.ingest.type_formats import TEXT, Format, ValueSql, leading_zeros
from phases.ingest.typing_settings import TypingSettings
from phases.shared.narrow import one_row

# cast_failures.parquet is always written with this schema, even when empty.
_NO_FAILURES = (
    'SELECT CAST(NULL AS BIGINT) AS _row_id, CAST(NULL AS VARCHAR) AS "column", '
    "CAST(NULL AS VARCHAR) AS raw_value, CAST(NULL AS VARCHAR) AS target_type LIMIT 0"
)



@contextmanager
def _insertion_order(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Keep the row order of the input in the output (the unsorted typed table relies on it)."""
    (kept,) = one_row(con.execute("SELECT current_setting('preserve_insertion_order')"))
    con.execute("SET preserve_insertion_order = true")
    try:
        yield
    finally:
        con.execute(f"SET preserve_insertion_order = {'true' if kept else 'false'}")


def _copy(con: duckdb.DuckDBPyConnection, select_sql: str, path: Path, width: int = 1) -> None:
    """COPY to a temporary name, then rename: a crash never leaves a partial file behind.
    `width`: the columns the statement casts (see phases.core.sql.wide_projection)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with _insertion_order(con), wide_projection(con, width):
        con.execute(f"COPY ({select_sql}) TO {quote_literal(str(tmp))} (FORMAT parquet)")
    os.replace(tmp, path)


def write_typed(
    con: duckdb.DuckDBPyConnection,
    source: str,
    names: Sequence[str],
    formats: Sequence[Format],
    marked: set[int],
    values: ValueSql,
    path: Path,
    ordered: bool,
    rows: int,
) -> None:
    """_row_id, then every column with its format's type (text keeps the raw value as is),
    in _row_id order: the raw file's order if it has it, else sorted. In `marked` columns,
    values with leading zeros are written as NULL (see _marks_zeros). A short wide table
    (`rows` x columns within `batch_values`, more than `columns_per_query` columns) is cast in
    long form instead (see `_typed_long`)."""
    if len(names) > columns_per_query(con) and rows * len(names) <= batch_values(con):
        _copy(con, _typed_long(source, names, formats, marked, values), path)
        return
    inner, outer = ["_row_id"], ["CAST(_row_id AS BIGINT) AS _row_id"]
    for i, (name, fmt) in enumerate(zip(names, formats, strict=True)):
        value = values.cast(fmt, f"c{i}")
        if i in marked:
            value = f"CASE WHEN {leading_zeros(f'c{i}')} THEN NULL ELSE {value} END"
        inner.append(f"{quote_ident(name)} AS c{i}")
        outer.append(f"CAST({value} AS {fmt.sql_type}) AS {quote_ident(name)}")
    order = "" if ordered else " ORDER BY _row_id"
    _copy(con, f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} FROM {source}){order}", path, len(names))


def _typed_long(
    source: str, names: Sequence[str], formats: Sequence[Format], marked: set[int], values: ValueSql
) -> str:
    """The SELECT of `write_typed` with each distinct cast written once: the columns cast alike
    go through it in long form (row, position, value) and come back as one list per row, which
    the outer projection takes apart. DuckDB binds a cast per column in about 5 ms (its regular
    expressions are compiled then), 10 to 30 s for 2,000 columns; these are a dozen casts. The
    values are the same casts of the same values, so the file is the same."""
    groups: dict[tuple[str, bool], list[int]] = {}
    columns: dict[int, str] = {}
    for i, fmt in enumerate(formats):
        if fmt is TEXT and i not in marked:  # kept as it is: no cast to bind (and a list would change its pages)
            columns[i] = f"CAST(s.{quote_ident(names[i])} AS VARCHAR) AS {quote_ident(names[i])}"
        else:
            groups.setdefault((fmt.key, i in marked), []).append(i)
    ctes: list[str] = []
    joins: list[str] = []
    for g, ((_, zeros), members) in enumerate(groups.items()):
        fmt = formats[members[0]]
        value = values.cast(fmt, "v")
        if zeros:
            value = f"CASE WHEN {leading_zeros('v')} THEN NULL ELSE {value} END"
        raw = ", ".join(quote_ident(names[i]) for i in members)
        ctes.append(
            f"g{g} AS (SELECT _row_id, list(x ORDER BY j) AS x FROM ("
            f"SELECT _row_id, j, CAST({value} AS {fmt.sql_type}) AS x FROM ("
            f"SELECT _row_id, unnest(range({len(members)})) AS j, unnest([{raw}]) AS v FROM {source})) "
            f"GROUP BY _row_id)"
        )
        joins.append(f"LEFT JOIN g{g} ON g{g}._row_id = s._row_id")
        columns |= {i: f"g{g}.x[{k + 1}] AS {quote_ident(names[i])}" for k, i in enumerate(members)}
    outer = ["CAST(s._row_id AS BIGINT) AS _row_id"] + [columns[i] for i in range(len(names))]
    return (f"{'WITH ' if ctes else ''}{', '.join(ctes)} SELECT {', '.join(outer)} FROM {source} s "
            f"{' '.join(joins)} ORDER BY s._row_id")


def write_failures(
    con: duckdb.DuckDBPyConnection,
    source: str,
    decisions: Sequence[Decision],
    values: ValueSql,
    path: Path,
    settings: TypingSettings,
) -> dict[str, tuple[str, ...]]:
    """List every value that failed its column's cast (one scan, only when some did) and
    return up to `max_failure_examples` distinct failing raw values per column, sorted."""
    failing = [(i, d) for i, d in enumerate(decisions) if d.typing.failures > 0]
    if not failing:
        _copy(con, _NO_FAILURES, path)
        return {}
    inner, bad, items = ["_row_id"], [], []
    for i, d in failing:
        col = quote_ident(d.typing.name)
        inner.append(f"{col} AS c{i}")
        bad.append(f"(c{i} IS NOT NULL AND ({values.cast(d.fmt, f'c{i}')}) IS NULL AND NOT {values.blank(f'c{i}')})")
        items.append(
            f"CASE WHEN {bad[-1]} THEN {{'pos': {i}, 'col': {quote_literal(d.typing.name)}, "
            f"'raw': c{i}, 'target': {quote_literal(d.typing.type)}}} END"
        )
    select = f"""
        SELECT CAST(_row_id AS BIGINT) AS _row_id, f.col AS "column", f.raw AS raw_value,
               f.target AS target_type
        FROM (SELECT _row_id, unnest([{", ".join(items)}]) AS f
              FROM (SELECT {", ".join(inner)} FROM {source}) WHERE {" OR ".join(bad)})
        WHERE f IS NOT NULL ORDER BY f.pos, _row_id"""
    _copy(con, select, path, len(failing))
    if settings.max_failure_examples == 0:
        return {}
    listed = f"read_parquet({quote_literal(str(path))})"
    rows = con.execute(f"""
        SELECT "column", raw_value FROM (SELECT DISTINCT "column", raw_value FROM {listed})
        QUALIFY row_number() OVER (PARTITION BY "column" ORDER BY raw_value) <= {settings.max_failure_examples}
        ORDER BY "column", raw_value""").fetchall()
    examples: dict[str, list[str]] = {}
    for column, raw in rows:
        examples.setdefault(column, []).append(raw)
    return {k: tuple(v) for k, v in examples.items()}


DECIMAL_YEAR_NOTE = (
    "every value is a year plus a whole number of twelfths (a decimal year, e.g. 2000.0833 for February "
    "2000): kept as a decimal, which orders and subtracts correctly; its month is "
    "round(12 * (value - floor(value))) + 1"
)


def note_decimal_years(
    con: duckdb.DuckDBPyConnection, typed_path: Path, columns: tuple[ColumnTyping, ...], settings: TypingSettings
) -> tuple[ColumnTyping, ...]:
    """Say so where a decimal column holds decimal years. It stays a decimal: the typing of a
    value never depends on a convention the values cannot prove (a year fraction could mean
    months, days or mid-months), and as a number it loses nothing. Twelfths that are not
    quarters (2000.0833...) do not occur in amounts or measurements by chance, so they are
    the evidence; quarters alone (2000.25, 2000.5) are not."""
    decimals = [c.name for c in columns if c.type == "decimal" and c.failures == 0]
    if not decimals:
        return columns
    low, high = settings.date_year_min, settings.date_year_max
    counts: dict[str, int] = {}
    # In chunks: DuckDB plans a SELECT of n similar aggregates in O(n^2) time (3 s for 750).
    for chunk in chunked(list(enumerate(decimals)), max(1, columns_per_query(con) // 3)):
        measures = []
        for k, name in chunk:
            v = quote_ident(name)
            measures += [
                f"count({v}) AS n{k}",
                f"count(*) FILTER (WHERE {v} BETWEEN {low} AND {high} + 1 "
                f"AND abs({v} * 12 - round({v} * 12)) < 1e-3) AS m{k}",
                f"count(*) FILTER (WHERE abs({v} * 4 - round({v} * 4)) > 1e-3) AS q{k}",
            ]
        got = con.execute(f"SELECT {', '.join(measures)} FROM read_parquet({quote_literal(str(typed_path))})")
        counts |= dict(zip([d[0] for d in got.description], one_row(got), strict=True))
    years = {name for k, name in enumerate(decimals) if counts[f"n{k}"] and counts[f"m{k}"] == counts[f"n{k}"]
             and counts[f"q{k}"] > 0}
    return tuple(
        replace(c, note="; ".join(filter(None, [c.note, DECIMAL_YEAR_NOTE]))) if c.name in years else c
        for c in columns
    )


def with_examples(typing: ColumnTyping, examples: tuple[str, ...]) -> ColumnTyping:
    return replace(typing, failure_examples=examples) if examples else typing
