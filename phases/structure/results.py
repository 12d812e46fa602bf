"""What the structure phases know about DuckDB's answers and rounded statistics, said once
for the type checker.

- `one_row`: an aggregate query without GROUP BY always yields exactly one row, which DuckDB's
  `fetchone()` types as optional.
- `finite`: `round_sig` and `round_scaled` return None only for NaN and infinities, which the
  ratios and scores passed here cannot be; a record field that must hold a number gets one.

(A twin lives in phases.domain.results: phase groups do not import each other.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb


def one_row(con: duckdb.DuckDBPyConnection, sql: str, parameters: object = None) -> tuple[Any, ...]:
    """The single row of a query that always yields one (an aggregate without GROUP BY)."""
    row = con.execute(sql, parameters).fetchone()
    if row is None:
        raise ValueError(f"the query yielded no row: {sql[:200]}")
    return row


def finite(value: float | None) -> float:
    """A rounded statistic that is a number by construction (not NaN, not infinite)."""
    if value is None:
        raise ValueError("a statistic that must be a finite number is NaN or infinite")
    return value
