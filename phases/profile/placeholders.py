"""Placeholder text that survived import ('?', '--', 'n/a', 'unknown'), judged on evidence.

The configured tokens are also ordinary words: 'NONE' is a real shipping instruction, 'Unknown'
one of six buying-power bands, 'TBD' a status. A token found in a text column is reported as a
placeholder for a missing value only when the data says so, by at least one of:

- *no content*: it has neither a letter nor a digit ('?', '--') while the other values do;
- *outside the domain*: the other values share one shape (letters -> A, digits -> 9, runs
  collapsed: 'AB-1234' -> 'A-9') on at least `placeholder_shape_share` of their rows and the
  token has another shape ('n/a' among one-word names, 'unknown' among codes);
- *missing data around it*: its rows miss other values, on average at least
  `placeholder_missing_ratio` times as many of the row's other columns as the remaining rows and
  at least `placeholder_missing_excess` columns more.

Two small queries per column that holds a token: the shapes of the other values, and the
missing values of the other columns per token.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from phases.core.records import round_sig
from phases.core.sql import quote_ident

if TYPE_CHECKING:
    import duckdb


class PlaceholderSettings(Protocol):
    """The keys of config/statistical_quality.yaml's `sentinels` section this module reads."""

    @property
    def placeholder_shape_share(self) -> float: ...

    @property
    def placeholder_missing_ratio(self) -> float: ...

    @property
    def placeholder_missing_excess(self) -> float: ...

SHAPE_SQL = "regexp_replace(regexp_replace({v}, '\\pL+', 'A', 'g'), '[0-9]+', '9', 'g')"


def shape(text: str) -> str:
    """The collapsed shape of a value, as SHAPE_SQL computes it: letters -> A, digits -> 9."""
    return re.sub(r"[0-9]+", "9", re.sub(r"[^\W\d_]+", "A", text))


def _other_shapes(con: duckdb.DuckDBPyConnection, table: str, column: str, token: str) -> tuple[str | None, float]:
    """The most common collapsed shape of the column's non-token values and its share of their rows."""
    c = quote_ident(column)
    rows = con.execute(
        f"SELECT {SHAPE_SQL.format(v='v')} AS s, sum(n) FROM (SELECT {c} AS v, count(*) AS n FROM {quote_ident(table)} "
        f"WHERE {c} IS NOT NULL AND ({token}) IS NULL GROUP BY {c}) GROUP BY s ORDER BY 2 DESC, 1"
    ).fetchall()
    total = sum(int(r[1]) for r in rows)
    return (rows[0][0], int(rows[0][1]) / total) if total else (None, 0.0)


def _missing_around(con: duckdb.DuckDBPyConnection, table: str, token: str, others: Sequence[str]
                    ) -> dict[str | None, tuple[float, int]]:
    """Per token (None: the other rows), the average number of the row's other columns that are
    NULL, and the rows."""
    if not others:
        return {}
    missing = " + ".join(f"({quote_ident(o)} IS NULL)::INTEGER" for o in others)
    rows = con.execute(f"SELECT {token} AS k, avg({missing}), count(*) FROM {quote_ident(table)} GROUP BY k").fetchall()
    return {k: (float(v), int(n)) for k, v, n in rows}


def placeholder_tokens(
    con: duckdb.DuckDBPyConnection, table: str, column: str, token: str, tokens: Mapping[str, int],
    others: Sequence[str], settings: PlaceholderSettings,
) -> tuple[dict[str, int], dict[str, Any]]:
    """The tokens with evidence of standing for a missing value, and that evidence. `token` is the
    SQL expression giving a row's token (lower-cased, unpadded) or NULL."""
    main_shape, share = _other_shapes(con, table, column, token)
    missing = _missing_around(con, table, token, others)
    baseline, compared = missing.get(None, (0.0, 0))
    content = main_shape is not None and bool(re.search(r"[A9]", main_shape))
    kept: dict[str, int] = {}
    reasons: dict[str, str] = {}
    for value, count in sorted(tokens.items()):
        around = missing.get(value, (0.0, 0))[0]
        if content and not re.search(r"[^\W_]", value):
            reasons[value] = "no letter or digit, unlike the other values"
        elif main_shape is not None and share >= settings.placeholder_shape_share and shape(value) != main_shape:
            reasons[value] = f"shaped {shape(value)!r} where {share:.0%} of the other values are {main_shape!r}"
        elif compared >= count and around >= settings.placeholder_missing_ratio * baseline and \
                around - baseline >= settings.placeholder_missing_excess:  # needs other rows to compare with
            reasons[value] = (f"its rows miss {around:.2f} of the other columns on average, the other rows "
                              f"{baseline:.2f}")
        else:
            continue
        kept[value] = count
    evidence: dict[str, Any] = {"why": reasons, "other_values_shape": main_shape,
                                "other_values_shape_share": round_sig(share)}
    return kept, evidence
