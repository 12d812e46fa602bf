"""Null tokens only where they behave as nulls: the import phase's judgement per column.

The configured tokens ('NA', 'None', 'N/A', ...) usually mean "no value", but a token can
be a real value: 'NA' is Namibia among two-letter country codes and a league among
league codes, 'Null' is a surname. Turning those into NULL silently loses data (and can
make a code column look boolean). So a token is NULL in a column only where it behaves
like one there, judged from the column's values:

- in a column of numbers or dates (most values hold a digit), a token without digits is
  NULL when it is the only kind of digit-free value there; if the column also holds other
  digit-free junk ('PENDING', '#ERR'), the token is one of them: it is kept, and the typing
  phase records it with them as a cast failure (ambiguous: it may be the null marker);
- otherwise it is a value when it has the shape of the column's values (the same pattern
  of upper- and lowercase letters, digits and punctuation, its length within theirs) for
  at least `null_token_shape_share` of its other distinct values: one code among many
  same-shaped codes. Unless the rows holding it miss clearly more of their other fields
  than the rest (`null_token_co_missing_*`): then it marks a missing record after all,
  and is NULL (ambiguous);
- else it is NULL: it looks like none of the column's values.

Empty fields (blank tokens) are always NULL: they carry nothing to judge.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import duckdb

from phases.artifacts.tables import NullToken
from phases.core.sql import chunked, columns_per_query, quote_ident, quote_literal
from phases.ingest.import_settings import NullTokenSettings
from phases.shared.narrow import one_row

DIGIT = quote_literal("[0-9]")


@dataclass(frozen=True)
class _Column:
    """What the judgement needs to know of one column's values other than the tokens."""

    rows: int  # non-null values that are no token
    with_digits: int  # of those, values holding a digit
    plain: tuple[str, ...]  # up to three digit-free values that are no token (sorted)
    plain_distinct: int
    sample: tuple[str, ...]  # distinct values (a sample, chosen by hash), to compare shapes with


@dataclass(frozen=True)
class _Missing:
    """Share of a row's other fields that are missing: on the token's rows vs the others."""

    token_mean: float
    rest_mean: float
    rest_var: float
    token_rows: int


def shape(value: str, loose: bool = True) -> str:
    """A value's pattern: 'A' an uppercase letter, 'a' a lowercase one, 'L' another letter,
    '9' a digit, ' ' whitespace, any other character itself; `loose` collapses repeats
    ('Namibia' -> 'Aa', 'NA' -> 'A', 'N/A' -> 'A/A', '12.50' -> '9.9')."""
    classes = ("A" if c.isupper() else "a" if c.islower() else "L" if c.isalpha() else "9" if c.isdigit()
               else " " if c.isspace() else c for c in value)
    return "".join(k for k, _ in itertools.groupby(classes)) if loose else "".join(classes)


def shape_share(token: str, values: Sequence[str]) -> tuple[float, int]:
    """(share, count) of `values` with the token's shape, if the token's length lies within the
    lengths of those values: 'NA' is like 'US' and 'DE', not like 'Y' and 'N'; 'Null' is like
    'Li' and 'Smith'."""
    if not values:
        return 0.0, 0
    want = shape(token)
    lengths = [len(v) for v in values if shape(v) == want]
    if not lengths or not min(lengths) <= len(token) <= max(lengths):
        return 0.0, 0
    return len(lengths) / len(values), len(lengths)


def judge_null_tokens(
    con: duckdb.DuckDBPyConnection,
    source: str,
    columns: Sequence[str],
    tokens: Sequence[str],
    settings: NullTokenSettings,
) -> tuple[NullToken, ...]:
    """The decision for every (column, token) that occurs in `source` (an SQL table expression
    whose blank fields are NULL already), in column order, then token order."""
    present = _present(con, source, columns, tokens)
    decisions = []
    for column in columns:
        found = present.get(column)
        if not found:
            continue
        facts = _column_facts(con, source, column, tokens, settings)
        for token in sorted(found):
            decision = judge(column, token, found[token], facts, settings)
            if decision.read_as == "value" and not decision.ambiguous:
                missing = _co_missing(con, source, column, token, columns, tokens)
                decision = _unless_co_missing(decision, missing, settings)
            decisions.append(decision)
    return tuple(decisions)


def judge(column: str, token: str, rows: int, facts: _Column, settings: NullTokenSettings) -> NullToken:
    """The decision from the column's values alone (before the co-missing check)."""
    if facts.rows == 0:
        return NullToken(column, token, rows, "null", False, "the column holds no other value")
    numeric = facts.with_digits / facts.rows >= settings.null_token_digit_share
    if numeric and not any(c.isdigit() for c in token):
        if facts.plain_distinct == 0:
            return NullToken(column, token, rows, "null", False,
                             "the only kind of value without digits in a column of numbers or dates")
        listed = ", ".join(repr(v) for v in facts.plain)
        return NullToken(
            column, token, rows, "value", True,
            f"sits among {facts.plain_distinct} other kinds of value without digits in a column of numbers or "
            f"dates (e.g. {listed}): kept like them, so typing records them all as cast failures",
        )
    share, same = shape_share(token, facts.sample)
    if share >= settings.null_token_shape_share and same >= settings.null_token_min_values:
        return NullToken(
            column, token, rows, "value", False,
            f"has the shape of {share:.0%} of the column's other values ({shape(token, loose=False)!r}): one "
            "of many such values, kept as a value",
        )
    return NullToken(column, token, rows, "null", False,
                     f"its shape {shape(token, loose=False)!r} is that of {share:.0%} of the column's other values")


def _unless_co_missing(decision: NullToken, m: _Missing, settings: NullTokenSettings) -> NullToken:
    """A same-shaped token whose rows miss clearly more of their other fields marks missing records."""
    excess = m.token_mean - m.rest_mean
    spread = math.sqrt(m.rest_var / m.token_rows) if m.token_rows else 0.0
    z = excess / spread if spread > 0 else (math.inf if excess > 0 else 0.0)
    if excess < settings.null_token_co_missing_excess or z < settings.null_token_co_missing_z:
        return decision
    return NullToken(
        decision.column, decision.token, decision.rows, "null", True,
        f"{decision.reason.split(':')[0]}, but its rows miss {m.token_mean:.0%} of their other fields against "
        f"{m.rest_mean:.0%} elsewhere: read as a missing value",
    )


def _in_tokens(column: str, tokens: Sequence[str]) -> str:
    listed = ", ".join(quote_literal(t) for t in tokens)
    longest = max(len(t.encode("utf-8")) for t in tokens)
    return f"(strlen({column}) <= {longest} AND {column} IN ({listed}))"


def _present(
    con: duckdb.DuckDBPyConnection, source: str, columns: Sequence[str], tokens: Sequence[str]
) -> dict[str, dict[str, int]]:
    """Column -> token -> rows, for the tokens that occur: first which columns hold any (one
    count per column, in chunks of columns), then the tokens of those columns in long form
    (column position, value). Not a histogram() per column: DuckDB 2.0 plans n of them in one
    SELECT as n joined subqueries, minutes for a 2,000-column file."""
    if not tokens or not columns:
        return {}
    listed = ", ".join(quote_literal(t) for t in tokens)
    longest = max(len(t.encode("utf-8")) for t in tokens)
    per_query = columns_per_query(con)
    holding: list[str] = []
    for chunk in chunked(columns, per_query):
        # A value longer than every token cannot be one (strlen reads a stored length); CASE, as
        # DuckDB evaluates both sides of an AND in a projection. A quarter less of this scan.
        counts = ", ".join(f"count_if(CASE WHEN strlen({quote_ident(c)}) <= {longest} "
                           f"THEN {quote_ident(c)} IN ({listed}) ELSE false END)" for c in chunk)
        holding += [c for c, n in zip(chunk, one_row(con.execute(f"SELECT {counts} FROM {source}")), strict=True) if n]
    found: dict[str, dict[str, int]] = {}
    for chunk in chunked(holding, per_query):
        positions = ", ".join(str(i) for i in range(len(chunk)))
        values = ", ".join(quote_ident(c) for c in chunk)
        rows = con.execute(
            f"SELECT pos, v, count(*) FROM (SELECT unnest([{positions}]) AS pos, unnest([{values}]) AS v "
            f"FROM {source}) WHERE v IN ({listed}) GROUP BY ALL"
        ).fetchall()
        for pos, value, n in rows:
            found.setdefault(chunk[pos], {})[value] = n
    return found


def _column_facts(
    con: duckdb.DuckDBPyConnection, source: str, column: str, tokens: Sequence[str], settings: NullTokenSettings
) -> _Column:
    c = quote_ident(column)
    others = f"SELECT {c} AS v FROM {source} WHERE {c} IS NOT NULL AND NOT {_in_tokens(c, tokens)}"
    rows, digits, plain, plain_distinct = one_row(con.execute(f"""
        SELECT count(*), count(*) FILTER (WHERE regexp_matches(v, {DIGIT})),
               list(DISTINCT v ORDER BY v) FILTER (WHERE NOT regexp_matches(v, {DIGIT}))[1:3],
               count(DISTINCT v) FILTER (WHERE NOT regexp_matches(v, {DIGIT}))
        FROM ({others})"""))
    limit = settings.null_token_sample_values
    distinct = f"SELECT DISTINCT v FROM ({others})"
    sample = con.execute(f"SELECT v FROM ({distinct}) ORDER BY hash(v), v LIMIT {limit}").fetchall()
    return _Column(rows, digits, tuple(plain or ()), plain_distinct, tuple(v for (v,) in sample))


def _co_missing(
    con: duckdb.DuckDBPyConnection, source: str, column: str, token: str, columns: Sequence[str],
    tokens: Sequence[str],
) -> _Missing:
    """Per row, the share of the other columns that are NULL or a token: the mean on the
    token's rows, and the mean and variance on the rows with another value."""
    others = [quote_ident(o) for o in columns if o != column]
    if not others:
        return _Missing(0.0, 0.0, 0.0, 0)
    c = quote_ident(column)
    share = " + ".join(f"CASE WHEN {o} IS NULL OR {_in_tokens(o, tokens)} THEN 1 ELSE 0 END" for o in others)
    got = con.execute(f"""
        SELECT {c} = {quote_literal(token)} AS t, count(*), avg(m), var_pop(m)
        FROM (SELECT {c}, ({share}) / {len(others)} AS m FROM {source}
              WHERE {c} IS NOT NULL AND ({c} = {quote_literal(token)} OR NOT {_in_tokens(c, tokens)}))
        GROUP BY t""").fetchall()
    by: Mapping[bool, tuple[int, float, float]] = {t: (n, mean, var) for t, n, mean, var in got}
    token_rows, token_mean, _ = by.get(True, (0, 0.0, 0.0))
    _, rest_mean, rest_var = by.get(False, (0, 0.0, 0.0))
    return _Missing(token_mean or 0.0, rest_mean or 0.0, rest_var or 0.0, token_rows)


def nulled(column: str, tokens: Sequence[str]) -> str:
    """SQL turning the tokens in `column` into NULL; the cheap byte-length test keeps most
    values away from the IN list, which halves the cost of this step."""
    if not tokens:
        return column
    return f"CASE WHEN {_in_tokens(column, tokens)} THEN NULL ELSE {column} END"
