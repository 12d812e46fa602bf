"""Derived columns: a numeric column that equals a copy of another or its negation, or the sum,
difference, product or ratio of two others (`Amount = Debit - Credit`, `Amount = Quantity * Rate`), within a
relative tolerance; and a parent's column that equals the sum of its children's (a header amount
that is the total of its lines), along a relationship.

The search has three steps, so it stays cheap on wide tables (the first lives in
phases.structure.derived_sample):

1. Candidates, on a deterministic sample of rows (the rows with the smallest hash of `_row_id`)
   in long form: every (row, column, value). The work grows with rows x columns^3, so a wide
   table gets fewer sampled rows (`search_budget`), and at most `max_columns` columns. One
   self-join gives every operand pair per row with all four results, a second keeps only the
   (target, operation, operands) that match somewhere, grouped. Only candidates that match in
   enough sampled rows with a non-zero target survive; of the forms of one relation only the one
   matching most sampled rows goes on; sample match rates rank them; at most `max_candidates`.
2. Verification on every row, many candidates per scan: rows compared and matched, matched rows
   with a non-zero target, the largest error among matches and the first mismatching rows.
   Sums and differences are also measured with NULL read as 0 (debit/credit pairs keep one side
   empty); the variant that matches more rows wins and is recorded.
3. One answer per relation: `Amount = Debit - Credit` also holds as `Debit = Amount + Credit`
   and `Credit = Debit - Amount`; the form that matches the most rows is kept (then the one whose
   target comes last, then sum/difference/product/ratio in that order). A copy `a = b` that a
   three-column relation explains on more rows is dropped, and so is a three-column relation that
   a copy already explains (its third operand is neutral, like + 0 or * 1).

Match rates are over the rows where the target and every operand are non-null (with NULL as 0:
the target and at least one operand); ratios leave out a zero divisor.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import TYPE_CHECKING

from phases.artifacts.derived_columns import DerivedColumn, DerivedSearch, Mismatch, Operand
from phases.core.records import json_scalar, round_scaled, round_sig
from phases.core.sql import dropped_after
from phases.shared.narrow import finite, one_row
from phases.structure.derived_sample import (
    FAMILY,
    ROW_ID,
    SYMBOL,
    Candidate,
    Col,
    DerivedSettings,
    columns_of,
    find_candidates,
    form_order,
    is_numeric,
    match_sql,
    sample_sql,
)

# what the correlations phase imports from here
__all__ = ["ROW_ID", "Col", "DerivedSettings", "is_numeric", "sample_sql", "search_child_sums",
           "search_derived_columns"]

if TYPE_CHECKING:
    import duckdb

VERIFY_BATCH = 25  # candidates per verification scan: ~10 aggregates each

# --- step 2: verification on every row --------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    candidate: Candidate
    nulls_as_zero: bool
    compared: int
    matched: int
    nonzero: int
    max_error: float | None
    mismatch_ids: tuple[int, ...]
    operand_uses: tuple[int, ...]  # matched rows where each operand is present and does work (not 0; not 1 for * and /)
    chance: float | None = None  # the match rate by chance, from the sample (None: not measured)


def _operand_sql(cols: Sequence[Col], c: Candidate, zero: bool) -> tuple[str, str | None]:
    b = f"{cols[c.left].sql}::DOUBLE"
    d = None if c.right is None else f"{cols[c.right].sql}::DOUBLE"
    if zero:
        b, d = f"coalesce({b}, 0)", f"coalesce({d}, 0)"
    return b, d


def _variant_sql(cols: Sequence[Col], c: Candidate, zero: bool) -> tuple[str, str]:
    """(computed value, rows compared) for one candidate, plain or with NULL as 0."""
    a = cols[c.target].sql
    b, d = _operand_sql(cols, c, zero)
    computed = b if c.operation == "copy" else f"(-{b})" if c.operation == "negation" else \
        f"({b} {SYMBOL[c.operation]} {d})"
    if zero:  # only sums and differences, which have two operands
        operands = " OR ".join(f"{cols[i].sql} IS NOT NULL" for i in (c.left, c.right) if i is not None)
        present = f"{a} IS NOT NULL AND ({operands})"
    else:
        used = [c.target, c.left] + ([] if c.right is None else [c.right])
        present = " AND ".join(f"{cols[i].sql} IS NOT NULL" for i in used)
        if c.operation == "ratio":
            present += f" AND {d} <> 0"
    return computed, present


def _projection(cols: Sequence[Col], c: Candidate, zero: bool, s: DerivedSettings, k: int) -> list[str]:
    """Per row, for variant k: compared (p), matched (m), the error (e), the target not 0 (t), and
    each operand present and not 0 (u). Computed once here and only counted outside, which took a
    third of the time of repeating the match expression in every aggregate."""
    computed, present = _variant_sql(cols, c, zero)
    a = f"{cols[c.target].sql}::DOUBLE"
    neutral = "(0, 1)" if FAMILY[c.operation] == "multiplicative" else "(0)"  # x * 1 and x / 1 are copies of x
    used = [f"coalesce({cols[i].sql} NOT IN {neutral}, false) AS u{k}_{n}"
            for n, i in enumerate(i for i in (c.left, c.right) if i is not None)]
    match = match_sql(a, computed, s, f"CAST({cols[c.target].spread!r} AS DOUBLE)")
    return [f"coalesce({present}, false) AS p{k}", f"coalesce({present} AND {match}, false) AS m{k}",
            f"abs({a} - {computed}) AS e{k}", f"coalesce({a} <> 0, false) AS t{k}", *used]


def _aggregates(k: int, operands: int, examples: int) -> list[str]:
    """Compared, matched, matched with a non-zero target, the largest error among matches, the
    first mismatching rows, and per operand the matches where it is present and not 0."""
    return [f"count_if(p{k})", f"count_if(m{k})", f"count_if(m{k} AND t{k})", f"max(e{k}) FILTER (m{k})",
            f"min_by({ROW_ID}, {ROW_ID}, {examples}) FILTER (p{k} AND NOT m{k})",
            *(f"count_if(m{k} AND u{k}_{n})" for n in range(operands))]


def verify(
    con: duckdb.DuckDBPyConnection, relation: str, cols: Sequence[Col], candidates: Sequence[Candidate],
    s: DerivedSettings, chance: Mapping[Candidate, float] | None = None,
) -> list[Measured]:
    """Every variant of every candidate measured on all rows, VERIFY_BATCH variants per scan, with
    its chance match rate when known."""
    chance = chance or {}
    variants = [(c, z) for c in candidates for z in ((False, True) if FAMILY[c.operation] == "additive"
                                                       else (False,))]
    measured = []
    for start in range(0, len(variants), VERIFY_BATCH):
        batch = variants[start:start + VERIFY_BATCH]
        inner = [ROW_ID] + [e for k, (c, z) in enumerate(batch) for e in _projection(cols, c, z, s, k)]
        outer = [e for k, (c, _) in enumerate(batch)
                 for e in _aggregates(k, 1 if c.right is None else 2, max(s.mismatch_examples, 1))]
        row = one_row(con.execute(f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} FROM {relation})"))
        at = 0
        for c, z in batch:
            width = 6 if c.right is None else 7
            n, m, nz, err, ids, *used = row[at:at + width]
            at += width
            measured.append(Measured(c, z, n, m, nz, err, tuple(ids or ())[: s.mismatch_examples], tuple(used),
                                     chance.get(c)))
    return measured


# --- step 3: one answer per relation ----------------------------------------------------------


def beyond_chance(rate: float, chance: float | None) -> float | None:
    """How much of what chance leaves unmatched the relation matches (Cohen's kappa form):
    (rate - chance) / (1 - chance); None when chance was not measured."""
    if chance is None:
        return None
    return 0.0 if chance >= 1 else (rate - chance) / (1 - chance)


def _passes(m: Measured, s: DerivedSettings, across: bool = False) -> bool:
    """Enough rows, enough of them matching, beyond what chance matches, and every operand doing
    work: with NULL read as 0, `Credit = Open Balance - Amount` holds wherever Open Balance is
    empty, which is only `Credit = -Amount`; `a = b + c` with c always 0 is only a copy, and so is
    `a = b / c` with c always 1."""
    floor = s.copy_across_min_match_rate if across and FAMILY[m.candidate.operation] == "copy" else s.min_match_rate
    lift = beyond_chance(m.matched / m.compared, m.chance) if m.compared else None
    return (m.compared >= s.min_rows and m.matched >= floor * m.compared
            and (lift is None or lift >= s.min_beyond_chance)
            and m.nonzero >= s.min_nonzero_matches and all(u >= s.min_nonzero_matches for u in m.operand_uses))


def _best_variants(measured: Sequence[Measured], s: DerivedSettings, across: bool = False) -> list[Measured]:
    """Per candidate, the passing variant with the higher match rate, then more rows matched (plain
    on a tie): NULLs read as 0 must not turn a relation that holds wherever its values exist into
    one that breaks on every missing value."""
    best: dict[Candidate, Measured] = {}
    for m in measured:
        if _passes(m, s, across) and (m.candidate not in best or _better(m, best[m.candidate])):
            best[m.candidate] = m
    return list(best.values())


def _better(m: Measured, other: Measured) -> bool:
    return (m.matched / m.compared, m.matched) > (other.matched / other.compared, other.matched)


def _rank(m: Measured, cols: Sequence[Col]) -> tuple[int, int, int, int, int]:
    """Sort key of the forms of one relation: most rows matched first."""
    return (-m.matched, *form_order(m.candidate, cols))


def one_per_relation(measured: Sequence[Measured], cols: Sequence[Col]) -> list[Measured]:
    """Keep the best form of each relation; drop copies explained better by a three-column
    relation, and three-column relations a copy explains as well."""
    def family_key(m: Measured) -> tuple[str, list[int]]:
        return (FAMILY[m.candidate.operation], sorted(columns_of(m.candidate)))

    kept = []
    for _, forms in groupby(sorted(measured, key=family_key), key=family_key):
        kept.append(min(forms, key=lambda m: _rank(m, cols)))
    copies = [m for m in kept if FAMILY[m.candidate.operation] == "copy"]
    triples = [m for m in kept if FAMILY[m.candidate.operation] != "copy"]
    result = [t for t in triples if not any(columns_of(k.candidate) < columns_of(t.candidate)
                                            and k.matched >= t.matched for k in copies)]
    result += [k for k in copies if not any(columns_of(k.candidate) < columns_of(t.candidate)
                                            and t.matched > k.matched for t in triples)]
    return result


# --- the records ------------------------------------------------------------------------------


def _qualified(col: Col, cross: bool) -> str:
    return f"{col.table}.{col.name}" if cross else col.name


def formula(cols: Sequence[Col], c: Candidate, cross: bool) -> str:
    target, left = _qualified(cols[c.target], cross), _qualified(cols[c.left], cross)
    if c.right is None:
        return f"{target} = -{left}" if c.operation == "negation" else f"{target} = {left}"
    return f"{target} = {left} {SYMBOL[c.operation]} {_qualified(cols[c.right], cross)}"


def _mismatches(
    con: duckdb.DuckDBPyConnection, relation: str, cols: Sequence[Col], m: Measured
) -> tuple[Mismatch, ...]:
    if not m.mismatch_ids:
        return ()
    c = m.candidate
    computed, _ = _variant_sql(cols, c, m.nulls_as_zero)
    used = [cols[c.left].sql] + ([] if c.right is None else [cols[c.right].sql])
    rows = con.execute(
        f"SELECT {ROW_ID}, {cols[c.target].sql}, {computed}, {', '.join(used)} FROM {relation} "
        f"WHERE {ROW_ID} IN (SELECT unnest(?)) ORDER BY {ROW_ID}", [list(m.mismatch_ids)]).fetchall()
    return tuple(Mismatch(row_id=r[0], target=json_scalar(r[1]), computed=json_scalar(r[2]),
                          operands=tuple(json_scalar(v) for v in r[3:])) for r in rows)


def to_record(
    con: duckdb.DuckDBPyConnection, relation: str, cols: Sequence[Col], m: Measured, compared_in: str,
    via: str | None,
) -> DerivedColumn:
    c, target = m.candidate, cols[m.candidate.target]
    scale = max(abs(float(target.profile.numeric.min)), abs(float(target.profile.numeric.max))) \
        if target.profile.numeric else 1.0
    operands = (cols[c.left],) + (() if c.right is None else (cols[c.right],))
    return DerivedColumn(
        table=target.table, column=target.name, operation=c.operation,
        operands=tuple(Operand(o.table, o.name) for o in operands), formula=formula(cols, c, via is not None),
        nulls_as_zero=m.nulls_as_zero, rows_compared=m.compared, rows_matched=m.matched,
        match_rate=finite(round_sig(m.matched / m.compared)), nonzero_matches=m.nonzero,
        chance_match_rate=None if m.chance is None else finite(round_sig(m.chance)),
        max_abs_error=round_scaled(m.max_error or 0.0, scale) or 0.0,
        mismatches=_mismatches(con, relation, cols, m), compared_in=compared_in, via=via,
    )


def search_derived_columns(
    con: duckdb.DuckDBPyConnection, relation: str, numeric: Sequence[Col], s: DerivedSettings,
    compared_in: str, via: str | None = None,
) -> tuple[list[DerivedColumn], DerivedSearch]:
    """Every derived column of `relation` among `numeric` columns (the first max_columns, fewest
    nulls first). Across a relationship (`via`), a relation must use columns of both tables."""
    chosen = sorted(numeric, key=lambda c: (c.profile.null_count, c.order))[: s.max_columns]
    chosen_ids = {id(c) for c in chosen}  # by identity: equality would compare whole profiles
    left_out = [c for c in numeric if id(c) not in chosen_ids]
    cols = sorted(chosen, key=lambda c: c.order)

    # within a table everything; across a relationship only relations that use both tables
    groups = None if via is None else [int(c.table != compared_in) for c in cols]
    candidates, sampled, chance = find_candidates(con, relation, cols, s, groups) if len(cols) >= 2 else ([], 0, {})
    measured = verify(con, relation, cols, candidates, s, chance)
    kept = one_per_relation(_best_variants(measured, s, via is not None), cols)
    records = [to_record(con, relation, cols, m, compared_in, via) for m in kept]
    search = DerivedSearch(
        table=compared_in, via=via, columns=tuple(_qualified(c, via is not None) for c in cols),
        columns_left_out=tuple(_qualified(c, via is not None) for c in left_out), sample_rows=sampled,
        candidates_checked=len(candidates),
    )
    return records, search


# --- sums of children along a relationship ----------------------------------------------------


SUMS, SCREEN = "__derived_sums", "__derived_screen"


def search_child_sums(
    con: duckdb.DuckDBPyConnection, child: str, parent: str, keys: Sequence[tuple[str, str]],
    child_numeric: Sequence[Col], parent_numeric: Sequence[Col], s: DerivedSettings, via: str,
) -> list[DerivedColumn]:
    """Parent columns equal to the sum of a child column over the parent's children (a header
    amount that totals its lines). `keys` pairs the child's and the parent's join expressions.
    A parent without children, and NULL child values, count as 0. Every parent row is compared
    where its column has a value, so the profiles alone rule out, exactly, a parent column with
    fewer than `min_rows` values or `min_nonzero_matches` non-zero ones, and a child column without
    a non-zero value: a wide table's self-references would otherwise verify every pair of its
    numeric columns."""
    parent_numeric = [c for c in parent_numeric if _may_total(c, s.min_rows, s.min_nonzero_matches)]
    child_numeric = [c for c in child_numeric if _may_total(c, 1, 1)]
    if not child_numeric or not parent_numeric:
        return []
    sums = ", ".join(f"sum({c.sql}::DOUBLE) AS s{i}" for i, c in enumerate(child_numeric))
    child_keys = ", ".join(f"{ck} AS k{i}" for i, (ck, _) in enumerate(keys))
    on = " AND ".join(f"{pk} = g.k{i}" for i, (_, pk) in enumerate(keys))
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {SUMS} AS "
        f"WITH g AS (SELECT {child_keys}, {sums} FROM {child} GROUP BY ALL) "
        f"SELECT p.{ROW_ID}, "
        + ", ".join(f"p.{c.sql} AS p{i}" for i, c in enumerate(parent_numeric)) + ", "
        + ", ".join(f"coalesce(g.s{i}, 0) AS s{i}" for i in range(len(child_numeric)))
        + f" FROM {parent} p LEFT JOIN g ON {on}"
    )
    try:
        cols = [Col(c.table, c.name, f"p{i}", c.profile, i) for i, c in enumerate(parent_numeric)]
        cols += [Col(c.table, c.name, f"s{i}", c.profile, len(cols) + i) for i, c in enumerate(child_numeric)]
        candidates = [Candidate(p, "copy", len(parent_numeric) + k, None)
                      for p in range(len(parent_numeric)) for k in range(len(child_numeric))]
        candidates = _screen(con, SUMS, cols, candidates, s)
        passing = [m for m in verify(con, SUMS, cols, candidates, s) if _passes(m, s)]
        return [_sum_record(con, cols, m, via) for m in passing]
    finally:
        con.execute(f"DROP TABLE IF EXISTS {SUMS}")


def _screen(con: duckdb.DuckDBPyConnection, relation: str, cols: Sequence[Col], candidates: Sequence[Candidate],
            s: DerivedSettings) -> list[Candidate]:
    """The candidates worth verifying on every row of a table longer than `sample_rows`: those
    matching at least `candidate_min_match_rate` of the compared rows of its hashed sample (or
    with no row to compare there). A relation reported matches `min_match_rate` (0.95) of all
    rows; on n compared sample rows it misses the 0.5 cut with a probability below exp(-0.83 n)
    (Chernoff), 1e-7 at n = 20. Verifying every parent x child pair on every row (345 pairs of a
    73,000-row date table) is left to the few that pass."""
    if not candidates or cols[0].profile.rows <= s.sample_rows:
        return list(candidates)
    sample = sample_sql(relation, [c.sql for c in cols], s.sample_rows)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {SCREEN} AS {sample}")
    with dropped_after(con, SCREEN):
        sampled = verify(con, SCREEN, cols, candidates, s)
    promising = {m.candidate for m in sampled
                 if m.compared == 0 or m.matched >= s.candidate_min_match_rate * m.compared}
    return [c for c in candidates if c in promising]


def _may_total(col: Col, values: int, nonzero: int) -> bool:
    """Whether a column has at least `values` values and `nonzero` non-zero ones (by its profile)."""
    p = col.profile
    present = p.rows - p.null_count
    return present >= values and present - (p.numeric.zero_count if p.numeric else 0) >= nonzero


def _sum_record(con: duckdb.DuckDBPyConnection, cols: Sequence[Col], m: Measured, via: str) -> DerivedColumn:
    copy = to_record(con, SUMS, cols, m, cols[m.candidate.target].table, via)
    part = cols[m.candidate.left]
    return DerivedColumn(**{
        **{f: getattr(copy, f) for f in DerivedColumn.__dataclass_fields__},
        "operation": "sum_of_children", "nulls_as_zero": True,
        "formula": f"{copy.table}.{copy.column} = SUM({part.table}.{part.name})",
    })
