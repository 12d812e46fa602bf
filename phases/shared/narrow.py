"""Loose results narrowed to what the records need, with a clear error where the narrowing fails.

DuckDB types `fetchone()` as Optional, for the queries that may yield no row; an aggregate
without GROUP BY always yields one. `round_sig` and `round_scaled` spell NaN and infinities
None, and `json_scalar` returns any JSON scalar; a record field typed `float`, `int | float` or
`str` can hold none of the others, and the typed reader downstream would reject the artifact.
These helpers say which of those the caller relies on, and fail at the source if it ever breaks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from phases.core.errors import PhaseError
from phases.core.records import json_scalar

if TYPE_CHECKING:
    import duckdb


def one_row(cursor: duckdb.DuckDBPyConnection) -> tuple[Any, ...]:
    """The first row of a query that always yields one: an aggregate without GROUP BY, or a
    query over rows the caller knows are there."""
    row = cursor.fetchone()
    if row is None:
        raise PhaseError("a query that always yields a row returned none")
    return row


def finite(value: float | None) -> float:
    """A rounded statistic (`round_sig`, `round_scaled`) that is finite by construction: a share
    of counts, or a statistic of the finite values of a typed column."""
    if value is None:
        raise PhaseError("a statistic that must be finite is NaN or infinite")
    return value


def json_number(value: Any) -> int | float:
    """`json_scalar` of a value of a numeric column: an int, or a float that is finite."""
    scalar = json_scalar(value)
    if isinstance(scalar, bool) or not isinstance(scalar, int | float):
        raise PhaseError(f"expected a finite number, got {value!r}")
    return scalar


def json_text(value: Any) -> str:
    """`json_scalar` of a date or timestamp: its ISO 8601 text."""
    scalar = json_scalar(value)
    if not isinstance(scalar, str):
        raise PhaseError(f"expected a date or timestamp, got {value!r}")
    return scalar
