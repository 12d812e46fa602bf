"""Shared pieces of the statistical_quality checks: the wide-scan builder, SQL literals, example
rows, the quantiles of |x| that Benford and the outlier methods both use, and the measured test
that tells identifiers and codes from measures."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from phases.artifacts.column_profiles import ColumnProfile, NumericStats
from phases.artifacts.quality_findings import Example
from phases.core.errors import PhaseError
from phases.core.records import json_scalar
from phases.core.sql import chunked, columns_per_query, quote_ident
from phases.shared.narrow import one_row

if TYPE_CHECKING:
    import duckdb

ROW_ID = "_row_id"
CODE_MIN_DIGITS = 3  # integers that all have the same number of digits (>= this) are codes
MAGNITUDE_LEVELS = (0.01, 0.25, 0.5, 0.75, 0.99)  # quantiles of |x| that Benford and outliers use

Severity = Literal["info", "warning", "error"]

Measured = Mapping[tuple[str, str], Any]  # (column, key) -> aggregate result


class Aggregates:
    """Aggregate expressions collected for one scan of the table; results come back by key.

    `derive` adds a per-row expression computed once in a subquery and returns its alias, so a
    condition used by both a count and its examples' FILTER is evaluated once per row (DuckDB
    evaluates both sides of AND in a projection, so costly tests go behind CASE there)."""

    def __init__(self) -> None:
        self._keys: list[tuple[str, str]] = []
        self._exprs: list[str] = []
        self._derived: list[str] = []

    def derive(self, expr: str) -> str:
        alias = f"__d{len(self._derived)}"
        self._derived.append(f"{expr} AS {alias}")
        return alias

    def add(self, column: str, key: str, expr: str) -> None:
        self._keys.append((column, key))
        self._exprs.append(expr)

    def run(self, con: duckdb.DuckDBPyConnection, table: str) -> dict[tuple[str, str], Any]:
        """All aggregates, one scan per chunk of `columns_per_query` columns (DuckDB plans a
        SELECT of many aggregates in quadratic time); each chunk derives only what it uses."""
        by_column: dict[str, list[int]] = {}
        for index, (column, _) in enumerate(self._keys):
            by_column.setdefault(column, []).append(index)
        found: dict[tuple[str, str], Any] = {}
        for chunk in chunked(list(by_column.values()), columns_per_query(con)):
            indices = [i for indices in chunk for i in indices]
            found |= self._run(con, table, indices)
        return found

    def _run(self, con: duckdb.DuckDBPyConnection, table: str, indices: Sequence[int]) -> dict[tuple[str, str], Any]:
        exprs = [self._exprs[i] for i in indices]
        used = {alias for expr in exprs for alias in _ALIAS.findall(expr)}
        derived = [d for d in self._derived if _ALIAS.findall(d)[-1] in used]
        source = quote_ident(table)
        if derived:  # projection pushdown still reads only the columns used
            source = f"(SELECT *, {', '.join(derived)} FROM {source})"
        row = one_row(con.execute(f"SELECT {', '.join(exprs)} FROM {source}"))
        return dict(zip([self._keys[i] for i in indices], row, strict=True))


_ALIAS = re.compile(r"\b__d[0-9]+\b")  # the aliases `derive` gives


def sql_number(value: float) -> str:
    """A number as an SQL literal: an integer, else a DOUBLE (repr round-trips exactly; without the
    cast DuckDB reads 4.5 as DECIMAL, and BIGINT - DECIMAL arithmetic would return Decimals)."""
    if float(value).is_integer() and abs(value) < 2**53:
        return repr(int(value))
    return f"CAST({float(value)!r} AS DOUBLE)"


def first_rows(condition: str, limit: int) -> str:
    """The row ids of the first `limit` rows meeting `condition`. Only ids: min_by with a struct
    holding text kept a copy of every value (1M rows: +50 MB per aggregate); fetch_examples reads
    the few values afterwards."""
    return f"min_by({ROW_ID}, {ROW_ID}, {limit}) FILTER (WHERE {condition})"


def fetch_examples(
    con: duckdb.DuckDBPyConnection, table: str, column: str, row_ids: Iterable[int] | None
) -> tuple[Example, ...]:
    """The values of `column` at these rows (row-id order); the row-id filter lets the Parquet
    reader skip every row group that cannot hold them."""
    ids = sorted(row_ids or ())
    if not ids:
        return ()
    rows = con.execute(
        f"SELECT {ROW_ID}, {quote_ident(column)} FROM {quote_ident(table)} "
        f"WHERE {ROW_ID} IN ({', '.join(str(int(i)) for i in ids)}) ORDER BY {ROW_ID}"
    ).fetchall()
    return tuple(Example(row_id=r, value=json_scalar(v)) for r, v in rows)


def identifier_reason(profile: ColumnProfile) -> str | None:
    """Why an integer column looks like an identifier or code rather than a measure (None if not).
    Measured, not guessed from names: unique integers are keys; integers that all have the same
    number of digits (>= 3) are assigned codes (accounts, postcodes)."""
    if profile.type != "integer" or profile.numeric is None:
        return None
    if profile.unique and profile.non_null_count > 1:
        return f"identifier: all {profile.non_null_count} values are distinct integers"
    low, high = int(profile.numeric.min), int(profile.numeric.max)
    if low >= 10 ** (CODE_MIN_DIGITS - 1) and len(str(low)) == len(str(high)):
        return f"code: every value has {len(str(low))} digits ({low} to {high})"
    return None


def numeric_of(profile: ColumnProfile) -> NumericStats:
    """The numeric statistics of a column a numeric test applies to: benford_reason and
    outlier_reason turn away every column without them ("the column has no values")."""
    if profile.numeric is None:
        raise PhaseError(f"column {profile.name!r} has no numeric statistics")
    return profile.numeric


def signed_or_zero(profile: ColumnProfile) -> bool:
    """Whether the profile's quantiles differ from those of the non-zero magnitudes |x|."""
    numeric = numeric_of(profile)
    return bool(numeric.negative_count or numeric.zero_count)


def magnitude_measure(agg: Aggregates, profile: ColumnProfile) -> None:
    """Quantiles of |x| over the non-zero values (MAGNITUDE_LEVELS), when the profile's are not
    already those. Queue it on the column's own scan: an exact quantile holds the whole column."""
    if signed_or_zero(profile):
        c = quote_ident(profile.name)
        levels = ", ".join(map(repr, MAGNITUDE_LEVELS))
        agg.add(profile.name, "magnitudes", f"quantile_cont(abs({c}), [{levels}]) FILTER (WHERE {c} <> 0)")
