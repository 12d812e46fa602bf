"""Quoting helpers for the SQL text we build by hand, and DuckDB's type classes.

Column names are data (they come from CSV headers), so they may hold quotes,
spaces, semicolons or any letter: every identifier and every literal pasted into
SQL goes through one of these two functions. Prefer query parameters for values
where DuckDB accepts them.
"""

from __future__ import annotations

import os
import re


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


def is_numeric_sql(sql_type: str) -> bool:
    """An integer, floating point or DECIMAL(p, s) DuckDB type."""
    return sql_type in NUMERIC_SQL or sql_type.startswith("DECIMAL")
