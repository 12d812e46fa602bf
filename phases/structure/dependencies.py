"""Functional dependencies within one table: X -> Y when every value of X (one column or two)
comes with one value of Y, exactly or for a share `confidence` of the rows.

Candidate keys are reported once, as keys, and never as determinants: a key determines every
column, and listing those dependencies would bury the real ones (city -> state behind an id).
Columns that are nearly unique (distinct / non-null above `max_determinant_ratio`) are left out
for the same reason: with one row per value almost anything "depends" on them.

Cost: per determinant (and determinant pair), one GROUP BY (X, Y) per dependent Y, all in one
statement, give the violating rows of X -> Y (every row that disagrees with its group's most
common Y: the g3 measure); zero means X -> Y holds exactly. Dependents are pre-filtered from the
profiles' exact distinct counts: each value of Y beyond distinct(X) costs at least one violating
row, so a Y with many more values than X cannot depend on it, and is never grouped; nor is a
Y whose most frequent value is too rare: each group of X keeps at most that many rows of its
most common Y. Above
`sample_rows` rows the search runs on a deterministic sample (the smallest hashes of _row_id),
allowing twice the violations, and what it finds is measured again on every row: an exact
dependency cannot be missed that way, since it holds on any sample. Examples of violations take
one more query per approximate dependency.

NULL in Y is a value of its own; rows where X is NULL are left out. A Y that has one value (or
only NULL) wherever X is present is left out: `Due Date -> Credit` only says that invoices are
debit lines, which the NULL pattern already shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING

from pydantic import Field

from phases.artifacts.column_profiles import ColumnProfile
from phases.artifacts.correlations import FunctionalDependency, TableDependencies, Violation
from phases.core.config import ColumnType, Model
from phases.core.records import json_scalar, round_sig
from phases.core.sql import dropped_after, quote_ident
from phases.shared.narrow import finite, one_row

if TYPE_CHECKING:
    import duckdb

ROW_ID = "_row_id"
GROUPS = "__fd_groups"  # per (X, Y) counts of one dependency's violations
SAMPLE = "__fd_sample"  # the rows searched when the table is larger than sample_rows


class DependencySettings(Model):
    """The `dependencies` section of config/correlations.yaml."""

    min_confidence: float = Field(0.95, ge=0.5, le=1)
    min_rows: int = Field(10, ge=1, le=1_000_000)
    sample_rows: int = Field(100_000, ge=1000, le=100_000_000)
    determinant_types: tuple[ColumnType, ...] = ("integer", "text", "date", "boolean")
    max_determinant_ratio: float = Field(0.2, gt=0, le=1)
    max_determinants: int = Field(40, ge=0, le=1000)
    max_pair_determinants: int = Field(20, ge=0, le=10_000)
    max_violation_queries: int = Field(50, ge=0, le=10_000)
    violation_examples: int = Field(3, ge=0, le=100)
    example_row_ids: int = Field(3, ge=1, le=100)


@dataclass(frozen=True)
class _Scan:
    """One grouped scan of a determinant."""

    determinant: tuple[ColumnProfile, ...]
    groups: int  # distinct determinant values
    rows: int  # rows where the determinant has no NULL
    violating: dict[str, int]  # per dependent that is not constant there


@dataclass(frozen=True)
class _Where:
    """Where determinants are scanned."""

    relation: str
    whole: bool  # the profiled table itself, whose profiles' counts hold (not a sample of it)


def _scan(
    con: duckdb.DuckDBPyConnection, where: _Where, determinant: Sequence[ColumnProfile],
    dependents: Sequence[ColumnProfile],
) -> _Scan:
    """Violating rows of X -> Y for every dependent Y not constant where X is present. On the whole
    table a single determinant's values and rows are its profile's, and a determinant without
    NULLs needs no check for constant dependents (they are constant in the table, and were
    never dependents)."""
    present = " AND ".join(f"{quote_ident(x.name)} IS NOT NULL" for x in determinant)
    if where.whole and len(determinant) == 1:
        groups, rows = determinant[0].distinct_count, determinant[0].non_null_count
    else:
        xs = ", ".join(quote_ident(x.name) for x in determinant)
        groups, rows = one_row(con.execute(f"SELECT count(*), coalesce(sum(n), 0) FROM (SELECT count(*) AS n "
                                           f"FROM {where.relation} WHERE {present} GROUP BY {xs})"))
    if not dependents or not rows:
        return _Scan(tuple(determinant), groups, int(rows), {})
    ys = list(dependents)
    if not (where.whole and all(x.null_count == 0 for x in determinant)):
        constant = one_row(con.execute("SELECT " + ", ".join(
            f"min({y}) IS NOT DISTINCT FROM max({y}) AND count({y}) IN (0, count(*))"
            for y in (quote_ident(y.name) for y in ys)
        ) + f" FROM {where.relation} WHERE {present}"))
        ys = [y for j, y in enumerate(ys) if not constant[j]]
    return _Scan(tuple(determinant), groups, int(rows), _violating(con, where.relation, determinant, ys) if ys else {})


def _violating(
    con: duckdb.DuckDBPyConnection, relation: str, determinant: Sequence[ColumnProfile],
    dependents: Sequence[ColumnProfile],
) -> dict[str, int]:
    """Violating rows of X -> Y per dependent: one GROUP BY (X, Y) each, in one statement.
    (GROUPING SETS would read the table once, but took 7 times as long in DuckDB 2.0.)"""
    present = " AND ".join(f"{quote_ident(x.name)} IS NOT NULL" for x in determinant)
    aliased = ", ".join(f"{quote_ident(x.name)} AS x{i}" for i, x in enumerate(determinant))
    by_x = ", ".join(f"x{i}" for i in range(len(determinant)))  # aliases: a column may be called "n"
    branches = [
        f"SELECT {j}, sum(total - top) FROM (SELECT sum(n) AS total, max(n) AS top FROM "
        f"(SELECT {aliased}, {quote_ident(y.name)} AS y, count(*) AS n FROM {relation} WHERE {present} GROUP BY ALL) "
        f"GROUP BY {by_x})"
        for j, y in enumerate(dependents)
    ]
    found = dict(con.execute(" UNION ALL ".join(branches)).fetchall())
    return {y.name: int(found.get(j) or 0) for j, y in enumerate(dependents)}


def _violations(
    con: duckdb.DuckDBPyConnection, relation: str, determinant: Sequence[str], dependent: str,
    s: DependencySettings,
) -> tuple[Violation, ...]:
    """The groups with the most rows that disagree with the group's most common dependent value."""
    xs = [f"{quote_ident(x)} AS x{i}" for i, x in enumerate(determinant)]
    part = ", ".join(f"x{i}" for i in range(len(determinant)))
    not_null = " AND ".join(f"{quote_ident(x)} IS NOT NULL" for x in determinant)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {GROUPS} AS "
        f"WITH c AS (SELECT {', '.join(xs)}, {quote_ident(dependent)} AS y, count(*) AS n, "
        f"min_by({ROW_ID}, {ROW_ID}, {s.example_row_ids}) AS ids FROM {relation} WHERE {not_null} GROUP BY ALL) "
        f"SELECT *, row_number() OVER (PARTITION BY {part} ORDER BY n DESC, ids[1]) AS k, "
        f"sum(n) OVER (PARTITION BY {part}) - max(n) OVER (PARTITION BY {part}) AS bad FROM c"
    )
    try:
        same = " AND ".join(f"f.x{i} = e.x{i}" for i in range(len(determinant)))
        rows = con.execute(
            f"SELECT e.y, f.y, f.bad, f.ids, {', '.join(f'f.x{i}' for i in range(len(determinant)))} "
            f"FROM {GROUPS} f JOIN {GROUPS} e ON {same} AND e.k = 1 WHERE f.k = 2 "
            f"ORDER BY f.bad DESC, f.ids[1] LIMIT {s.violation_examples}"
        ).fetchall()
    finally:
        con.execute(f"DROP TABLE IF EXISTS {GROUPS}")
    return tuple(
        Violation(determinant_values=tuple(json_scalar(v) for v in xv), expected=json_scalar(e),
                  found=json_scalar(f), rows=int(bad), row_ids=tuple(ids))
        for e, f, bad, ids, *xv in rows
    )


def _eligible(
    profiles: Sequence[ColumnProfile], single_keys: set[str], s: DependencySettings
) -> list[ColumnProfile]:
    """Columns that may determine others: a configured type, not a key, not nearly unique."""
    return [
        p for p in profiles
        if p.type in s.determinant_types and p.name not in single_keys and not p.unique
        and p.distinct_count >= 2 and p.distinct_count <= s.max_determinant_ratio * p.non_null_count
    ]


def _is_constant(p: ColumnProfile) -> bool:
    return p.distinct_count + (1 if p.null_count else 0) <= 1


def _could_depend(
    y: ColumnProfile, values: int, rows: int, absent: int, s: DependencySettings
) -> bool:
    """Whether Y may depend on a determinant with at most `values` distinct values on `rows` rows,
    NULL on `absent` rows: Y has at least distinct(Y) - absent values where the determinant is
    present, and each one beyond `values` costs a violating row."""
    return y.distinct_count - absent <= values + (1 - s.min_confidence) * rows


def _may_agree(y: ColumnProfile, values: int, present: int, slack: float, s: DependencySettings) -> bool:
    """Whether Y's most frequent value (or NULL) is frequent enough for Y to depend on a
    determinant with at most `values` values, present on at least `present` rows: each group keeps
    at most that many rows of its most common Y, so at least present - values x frequency rows
    violate, and more than the allowed share of them rules Y out without grouping."""
    frequency = max(y.top_values[0].count if y.top_values else y.non_null_count, y.null_count)
    return present * (1 - slack * (1 - s.min_confidence)) <= values * frequency + 1


def _pairs(determinants: Sequence[ColumnProfile], exact: set[tuple[str, str]],
           s: DependencySettings) -> list[tuple[ColumnProfile, ColumnProfile]]:
    """Determinant pairs, smallest distinct product first; a pair where one column determines the
    other is just that column."""
    pairs = [(a, b) for a, b in combinations(determinants, 2)
             if (a.name, b.name) not in exact and (b.name, a.name) not in exact]
    pairs.sort(key=lambda p: (p[0].distinct_count * p[1].distinct_count, p[0].position, p[1].position))
    return pairs[: s.max_pair_determinants]


@dataclass
class _Discovery:
    """What the scans of one relation (the table or its sample) found."""

    found: list[tuple[_Scan, str]]  # (scan, dependent) whose violations are within the limit
    pairs: list[tuple[ColumnProfile, ColumnProfile]]  # determinant pairs scanned
    key_pairs: list[tuple[ColumnProfile, ColumnProfile]]  # pairs unique on every scanned row


def _discover(
    con: duckdb.DuckDBPyConnection, source: _Where, source_rows: int, profiles: Sequence[ColumnProfile],
    determinants: Sequence[ColumnProfile], s: DependencySettings, slack: float,
) -> _Discovery:
    """Scan every determinant, then the pairs of determinants that do not determine each other.
    `slack` widens the allowed violations (on a sample, near misses are confirmed later)."""
    dependents = [p for p in profiles if not _is_constant(p)]
    rows = profiles[0].rows if profiles else 0  # distinct counts in the profiles are of all rows
    found: list[tuple[_Scan, str]] = []
    for x in determinants:
        ys = [y for y in dependents if y.name != x.name
              and _could_depend(y, x.distinct_count, x.non_null_count, x.null_count, s)
              and _may_agree(y, x.distinct_count, source_rows - x.null_count, slack, s)]
        found += _accepted(_scan(con, source, [x], ys), s, slack)
    singles = {(scan.determinant[0].name, y) for scan, y in found}
    exact = {(scan.determinant[0].name, y) for scan, y in found if scan.violating[y] == 0}
    discovery = _Discovery(found, _pairs(determinants, exact, s), [])
    for a, b in discovery.pairs:
        values = min(a.distinct_count * b.distinct_count, a.non_null_count, b.non_null_count)
        ys = [y for y in dependents if y.name not in (a.name, b.name) and (a.name, y.name) not in singles
              and (b.name, y.name) not in singles and _could_depend(y, values, rows, a.null_count + b.null_count, s)
              and _may_agree(y, values, source_rows - a.null_count - b.null_count, slack, s)]
        scan = _scan(con, source, [a, b], ys)
        if scan.groups == source_rows and a.null_count == b.null_count == 0:
            discovery.key_pairs.append((a, b))  # a key determines everything: it is reported as a key
        elif scan.groups <= s.max_determinant_ratio * scan.rows:
            found += _accepted(scan, s, slack)
    return discovery


def _confirm(
    con: duckdb.DuckDBPyConnection, relation: str, rows: int, discovery: _Discovery,
    profiles: Sequence[ColumnProfile], s: DependencySettings,
) -> tuple[list[tuple[_Scan, str]], list[tuple[str, ...]]]:
    """Measure what a sample found on every row: one scan per determinant, of its candidates only;
    a key pair must be unique on every row."""
    by_determinant: dict[tuple[str, ...], tuple[tuple[ColumnProfile, ...], list[str]]] = {}
    for scan, y in discovery.found:
        by_determinant.setdefault(tuple(p.name for p in scan.determinant), (scan.determinant, []))[1].append(y)
    confirmed: list[tuple[_Scan, str]] = []
    for determinant, dependents in by_determinant.values():
        names = set(dependents)
        ys = [p for p in profiles if p.name in names]
        scan = _scan(con, _Where(relation, True), determinant, ys)
        if len(determinant) == 1 or scan.groups <= s.max_determinant_ratio * scan.rows:
            confirmed += _accepted(scan, s, 1.0)
    keys: list[tuple[str, ...]] = []
    for a, b in discovery.key_pairs:
        pair = f"{quote_ident(a.name)}, {quote_ident(b.name)}"
        if one_row(con.execute(f"SELECT count(*) FROM (SELECT DISTINCT {pair} FROM {relation})"))[0] == rows:
            keys.append((a.name, b.name))
    return confirmed, keys


def find_dependencies(
    con: duckdb.DuckDBPyConnection, relation: str, profiles: Sequence[ColumnProfile],
    keys: Sequence[tuple[str, ...]], rows: int, s: DependencySettings,
) -> TableDependencies:
    """Candidate keys and the functional dependencies of `relation` (a table or view with _row_id).
    Above `sample_rows` rows they are searched on a deterministic sample and confirmed on every row."""
    single_keys = {k[0] for k in keys if len(k) == 1}
    eligible = _eligible(profiles, single_keys, s)
    determinants, left_out = eligible[: s.max_determinants], eligible[s.max_determinants:]
    sampled = rows > s.sample_rows
    searched, slack = min(rows, s.sample_rows), 2.0 if sampled else 1.0
    with dropped_after(con, SAMPLE):
        if sampled:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {SAMPLE} AS SELECT * FROM {relation} "
                        f"ORDER BY hash({ROW_ID}), {ROW_ID} LIMIT {s.sample_rows}")
        where = _Where(SAMPLE, False) if sampled else _Where(relation, True)
        discovery = _discover(con, where, searched, profiles, determinants, s, slack)
    key_pairs: list[tuple[str, ...]]
    if sampled:
        found, key_pairs = _confirm(con, relation, rows, discovery, profiles, s)
    else:
        found, key_pairs = discovery.found, [(a.name, b.name) for a, b in discovery.key_pairs]
    position = {p.name: p.position for p in profiles}
    found.sort(key=lambda f: (len(f[0].determinant), [p.position for p in f[0].determinant], position[f[1]]))
    return TableDependencies(
        candidate_keys=tuple(dict.fromkeys([tuple(k) for k in keys] + key_pairs)),
        functional_dependencies=tuple(_records(con, relation, found, s)),
        determinants_checked=len(determinants), pair_determinants_checked=len(discovery.pairs),
        determinants_left_out=tuple(p.name for p in left_out), searched_rows=min(rows, s.sample_rows),
    )


def _accepted(scan: _Scan, s: DependencySettings, slack: float) -> list[tuple[_Scan, str]]:
    """The dependents whose violating rows stay within slack * (1 - min_confidence) of the rows."""
    if scan.rows < s.min_rows:  # a handful of rows agree by chance
        return []
    return [(scan, y) for y, v in scan.violating.items() if v <= slack * (1 - s.min_confidence) * scan.rows]


def _records(
    con: duckdb.DuckDBPyConnection, relation: str, found: Sequence[tuple[_Scan, str]], s: DependencySettings
) -> list[FunctionalDependency]:
    """Records in the order found; the first max_violation_queries approximate ones get examples."""
    result: list[FunctionalDependency] = []
    queries = 0
    for scan, y in found:
        examples: tuple[Violation, ...] = ()
        if scan.violating[y] and queries < s.max_violation_queries and s.violation_examples:
            examples = _violations(con, relation, [p.name for p in scan.determinant], y, s)
            queries += 1
        result.append(FunctionalDependency(
            determinant=tuple(p.name for p in scan.determinant), dependent=y,
            confidence=finite(round_sig(1 - scan.violating[y] / scan.rows)), rows=scan.rows,
            determinant_values=scan.groups, violating_rows=scan.violating[y], violations=examples,
        ))
    return result
