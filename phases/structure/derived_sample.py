"""The first step of the derived-column search (phases.structure.derived_columns): the columns
searched, the settings, and the candidates found on a deterministic sample of rows in long form,
each with its match rate by chance (the target paired with another sampled row's operands).

Values match within an absolute tolerance or a relative one, the latter of the larger side but
never more than the target column's spread: 0.1% of a day number like 2,450,000 would be 2,450
days, and every pair of dates a few years apart would "match".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import Field

from phases.artifacts.column_profiles import ColumnProfile
from phases.core.config import Model
from phases.core.sql import is_numeric_sql
from phases.shared.narrow import one_row

if TYPE_CHECKING:
    import duckdb

ROW_ID = "_row_id"
LONG = "__derived_long"  # the sample in long form; the one temp table of the search
OPERATIONS = ("copy", "negation", "sum", "difference", "product", "ratio")  # also the tie-break order
SYMBOL = {"sum": "+", "difference": "-", "product": "*", "ratio": "/"}
FAMILY = {"copy": "copy", "negation": "copy", "sum": "additive", "difference": "additive", "product": "multiplicative",
          "ratio": "multiplicative"}
MIN_SAMPLE_ROWS = 100  # the candidate sample never shrinks below this, however wide the table


class DerivedSettings(Model):
    """The `derived` section of config/correlations.yaml."""

    relative_tolerance: float = Field(0.001, ge=0, le=0.5)
    absolute_tolerance: float = Field(0.005, ge=0, le=1e6)
    min_match_rate: float = Field(0.95, gt=0, le=1)
    copy_across_min_match_rate: float = Field(0.5, gt=0, le=1)
    min_beyond_chance: float = Field(0.5, gt=0, le=1)
    min_rows: int = Field(10, ge=1, le=1_000_000)
    min_nonzero_matches: int = Field(5, ge=1, le=1_000_000)
    max_columns: int = Field(40, ge=2, le=200)
    sample_rows: int = Field(1000, ge=10, le=1_000_000)
    search_budget: int = Field(20_000_000, ge=1_000_000, le=10_000_000_000)
    min_sample_matches: int = Field(3, ge=1, le=1_000_000)
    candidate_min_match_rate: float = Field(0.5, gt=0, le=1)
    max_candidates: int = Field(200, ge=1, le=10_000)
    mismatch_examples: int = Field(5, ge=0, le=100)


# --- what the search reads --------------------------------------------------------------------


@dataclass(frozen=True)
class Col:
    """A column of the relation being searched: where it really lives and how the query spells it.
    Within a table `sql` is the quoted name; in a joined relation it is an alias."""

    table: str
    name: str
    sql: str
    profile: ColumnProfile = field(compare=False)  # not hashable, and the other fields identify it
    order: int = 0  # position in the relation; later columns are preferred as targets

    @property
    def spread(self) -> float:
        """How far the column's values range (1st to 99th percentile, else min to max): the scale a
        relative tolerance must not exceed. Values with a large offset (years, day numbers) would
        otherwise match anything nearby: 0.1% of 2,450,000 is 2,450 days."""
        n = self.profile.numeric
        if n is None:
            return 0.0
        if "p01" in n.quantiles and "p99" in n.quantiles:
            return float(n.quantiles["p99"] - n.quantiles["p01"]) or float(n.max - n.min)
        return float(n.max - n.min)


def is_numeric(profile: ColumnProfile) -> bool:
    """A number that can take part in arithmetic: not a boolean, not constant, not an identifier."""
    sql = profile.sql_type
    numeric = is_numeric_sql(sql)
    identifier = profile.type == "integer" and profile.unique  # a row number or surrogate key
    return numeric and profile.type != "boolean" and profile.distinct_count >= 2 and not identifier


def sample_sql(relation: str, columns: Sequence[str], rows: int) -> str:
    """At most `rows` rows of `relation`, the same ones on every run and thread count: the smallest
    hashes of _row_id (a hash, not the first rows: files are often sorted by date or type)."""
    return (f"SELECT {', '.join([ROW_ID, *columns])} FROM {relation} "
            f"ORDER BY hash({ROW_ID}), {ROW_ID} LIMIT {int(rows)}")


# --- step 1: candidates on a sample -----------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    target: int  # indexes into the searched columns
    operation: str
    left: int
    right: int | None  # None for a copy or a negation (a = -b: a bank line is minus its payment)


def _load_sample(con: duckdb.DuckDBPyConnection, relation: str, cols: Sequence[Col], rows: int,
                 groups: Sequence[int], s: DerivedSettings) -> int:
    """The sample in long form: (r, i, v, z, sp, w, g) with v the value as DOUBLE, 0 where NULL (z),
    sp the column's spread, w its bucket width (see bucket_width) and g its group (see
    find_candidates)."""
    aliases = [f"{c.sql} AS v{i}" for i, c in enumerate(cols)]
    parts = [f"SELECT {ROW_ID} AS r, {i} AS i, coalesce(v{i}::DOUBLE, 0) AS v, v{i} IS NULL AS z, "
             f"CAST({cols[i].spread!r} AS DOUBLE) AS sp, CAST('{bucket_width(cols[i].spread, s)!r}' AS DOUBLE) AS w, "
             f"{groups[i]} AS g FROM s" for i in range(len(cols))]
    con.execute(f"CREATE OR REPLACE TEMP TABLE {LONG} AS WITH s AS ({sample_sql(relation, aliases, rows)}) "
                + " UNION ALL ".join(parts))
    return int(one_row(con.execute(f"SELECT count(DISTINCT r) FROM {LONG}"))[0])


def bucket_width(spread: float, s: DerivedSettings) -> float:
    """A power of 16 at least the largest difference `match_sql` lets a target of this spread
    have from a formula's value, max(absolute tolerance, relative tolerance x spread): a target
    then only meets formulas in its own bucket of that width or the two beside it. Every formula
    is bucketed once per width in use, so widths are coarse (a power of 2 each cost more)."""
    relative = s.relative_tolerance * spread
    if not math.isfinite(relative):
        return math.inf  # no bound known: every value in one bucket
    widest = max(s.absolute_tolerance, relative)
    if widest <= 0:
        return 1.0  # equal values share any bucket
    return math.ldexp(1.0, -(-math.frexp(widest)[1] // 4) * 4)  # the exponent rounded up to a multiple of 4


def match_sql(a: str, f: str, s: DerivedSettings, spread: str) -> str:
    """|a - f| within the absolute tolerance, or within the relative one of the larger side, where
    that side is taken no larger than the target's spread (SQL `spread`)."""
    return (f"abs({a} - {f}) <= greatest({s.absolute_tolerance!r}, "
            f"{s.relative_tolerance!r} * least(greatest(abs({a}), abs({f})), {spread}))")


def _sample_matches(con: duckdb.DuckDBPyConnection, s: DerivedSettings, mixed: bool
                    ) -> list[tuple[Candidate, int, int]]:
    """(candidate, matches with every operand present, matches with NULL as 0) in the sample, for
    candidates with at least `min_sample_matches` non-zero matches. With `mixed`, only candidates
    whose columns span both groups: the target joins its operands on (row, group), so the
    formulas within one group are never formed (most of the work across a relationship). A
    target meets only the formulas in its bucket or the two beside it (at its column's width):
    the others are farther from it than any tolerance allows, and comparing every formula with
    every target of a row cost rows x columns^3 comparisons."""
    # the group a target must be in: any (-1 = both) when the operands span both groups
    need = "CASE WHEN ci IS NOT NULL AND bg <> cg THEN -1 ELSE 1 - bg END" if mixed else "-1"
    # each target once as 'any group' (-1), and with `mixed` once more under its own group
    targets = f"SELECT *, -1 AS need FROM {LONG}" + (f" UNION ALL SELECT *, g AS need FROM {LONG}" if mixed else "")
    rows = con.execute(f"""
        WITH p AS (SELECT b.r, b.i AS bi, c.i AS ci, b.v AS bv, c.v AS cv, b.z OR c.z AS anyz, b.g AS bg, c.g AS cg
                   FROM {LONG} b JOIN {LONG} c ON b.r = c.r AND b.i <> c.i WHERE NOT (b.z AND c.z)),
        f0 AS (SELECT r, 'copy' AS op, i AS bi, NULL::INTEGER AS ci, false AS anyz, v AS f, g AS bg, NULL AS cg
               FROM {LONG} WHERE NOT z
              UNION ALL SELECT r, 'negation', i, NULL, false, -v, g, NULL FROM {LONG} WHERE NOT z AND v <> 0
              UNION ALL SELECT r, 'sum', bi, ci, anyz, bv + cv, bg, cg FROM p WHERE bi < ci
              UNION ALL SELECT r, 'difference', bi, ci, anyz, bv - cv, bg, cg FROM p
              UNION ALL SELECT r, 'product', bi, ci, anyz, bv * cv, bg, cg FROM p WHERE bi < ci AND NOT anyz
              UNION ALL SELECT r, 'ratio', bi, ci, anyz, bv / cv, bg, cg FROM p WHERE NOT anyz AND cv <> 0),
        f AS (SELECT f0.*, {need} AS need, ws.w, floor(f0.f / ws.w) AS bucket
              FROM f0, (SELECT DISTINCT w FROM {LONG}) ws),
        t AS (SELECT t0.*, floor(t0.v / t0.w) + d.d AS bucket FROM ({targets}) t0, (VALUES (-1), (0), (1)) d(d))
        SELECT a.i, f.op, f.bi, f.ci, count_if(NOT f.anyz), count(*)
        FROM f JOIN t a ON a.r = f.r AND a.need = f.need AND a.w = f.w AND a.bucket = f.bucket
        WHERE NOT a.z AND a.i <> f.bi AND a.i IS DISTINCT FROM f.ci AND (f.op NOT IN ('copy', 'negation') OR a.i > f.bi)
          AND {match_sql('a.v', 'f.f', s, 'a.sp')}
        GROUP BY ALL HAVING count_if(a.v <> 0) >= {s.min_sample_matches}
        ORDER BY 1, 2, 3, 4""").fetchall()
    return [(Candidate(ai, op, bi, ci), plain, zero) for ai, op, bi, ci, plain, zero in rows]


def _sample_rates(
    con: duckdb.DuckDBPyConnection, found: Sequence[tuple[Candidate, int, int]]
) -> list[tuple[Candidate, float, int]]:
    """Each candidate's best sample match rate (every operand present, or NULL as 0 for sums) and
    its matches at that rate."""
    if not found:
        return []
    con.execute("CREATE OR REPLACE TEMP TABLE __derived_cand (k INTEGER, ai INTEGER, op VARCHAR, bi INTEGER, "
                "ci INTEGER)")
    con.executemany("INSERT INTO __derived_cand VALUES (?, ?, ?, ?, ?)",
                    [(k, c.target, c.operation, c.left, c.right) for k, (c, _, _) in enumerate(found)])
    compared = {k: (plain, zero) for k, plain, zero in con.execute(f"""
        SELECT k, count_if(NOT b.z AND NOT coalesce(c.z, false) AND NOT (op = 'ratio' AND c.v = 0)),
                  count_if(NOT (b.z AND coalesce(c.z, true)))
        FROM __derived_cand JOIN {LONG} a ON a.i = ai AND NOT a.z JOIN {LONG} b ON b.r = a.r AND b.i = bi
        LEFT JOIN {LONG} c ON c.r = a.r AND c.i = ci GROUP BY k""").fetchall()}
    con.execute("DROP TABLE __derived_cand")
    rates = []
    for k, (candidate, plain, zero) in enumerate(found):
        n_plain, n_zero = compared.get(k, (0, 0))
        best = (plain / n_plain if n_plain else 0.0, plain)
        if candidate.operation in ("sum", "difference") and n_zero:
            best = max(best, (zero / n_zero, zero))
        rates.append((candidate, *best))
    return rates


COMPUTED = ("CASE op WHEN 'copy' THEN b.v WHEN 'negation' THEN -b.v WHEN 'sum' THEN b.v + c.v "
            "WHEN 'difference' THEN b.v - c.v WHEN 'product' THEN b.v * c.v WHEN 'ratio' THEN b.v / c.v END")


def _chance_rates(con: duckdb.DuckDBPyConnection, candidates: Sequence[Candidate], s: DerivedSettings
                  ) -> dict[Candidate, float]:
    """Each candidate's match rate in the sample when its target is paired with the operands of
    another row (the next one in hash order): how often the relation holds by chance. Small
    integers (0, 1, 2 in counts) and near-constant columns match each other often by accident."""
    if not candidates:
        return {}
    con.execute("CREATE OR REPLACE TEMP TABLE __derived_cand (k INTEGER, ai INTEGER, op VARCHAR, bi INTEGER, "
                "ci INTEGER)")
    con.executemany("INSERT INTO __derived_cand VALUES (?, ?, ?, ?, ?)",
                    [(k, c.target, c.operation, c.left, c.right) for k, c in enumerate(candidates)])
    rows = con.execute(f"""
        WITH ids AS (SELECT DISTINCT r FROM {LONG}),
        o AS (SELECT r, coalesce(lead(r) OVER w, first_value(r) OVER w) AS r2 FROM ids
              WINDOW w AS (ORDER BY hash(r), r ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING))
        SELECT k, count_if({match_sql('a.v', COMPUTED, s, 'a.sp')}), count(*)
        FROM __derived_cand JOIN {LONG} a ON a.i = ai AND NOT a.z JOIN o ON o.r = a.r
        JOIN {LONG} b ON b.r = o.r2 AND b.i = bi AND NOT b.z LEFT JOIN {LONG} c ON c.r = o.r2 AND c.i = ci
        WHERE (ci IS NULL OR NOT c.z) AND NOT (op = 'ratio' AND c.v = 0) GROUP BY k""").fetchall()
    con.execute("DROP TABLE __derived_cand")
    return {candidates[k]: matched / compared for k, matched, compared in rows if compared}


def find_candidates(
    con: duckdb.DuckDBPyConnection, relation: str, cols: Sequence[Col], s: DerivedSettings,
    groups: Sequence[int] | None = None,
) -> tuple[list[Candidate], int, dict[Candidate, float]]:
    """Candidates worth verifying, best sample rate first, the number of sampled rows, and each
    candidate's chance match rate (see _chance_rates). With `groups` (0 or 1 per column: the two
    tables of a relationship) only relations that use both groups are candidates. Of the
    forms of one relation (`a = b - c`, `b = a + c`, `c = b - a`) only the one that matches the most
    sampled rows is verified: they hold on the same rows, up to NULLs read as 0."""
    rows = max(MIN_SAMPLE_ROWS, min(s.sample_rows, s.search_budget // len(cols) ** 3))
    sampled = _load_sample(con, relation, cols, rows, groups or [0] * len(cols), s)
    try:
        found = _sample_matches(con, s, mixed=groups is not None)
        rated = [r for r in _sample_rates(con, found) if r[1] >= s.candidate_min_match_rate]
        chance = _chance_rates(con, [c for c, _, _ in rated], s)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {LONG}")
    best: dict[tuple[str, frozenset[int]], tuple[Candidate, float, int]] = {}
    for candidate, rate, matches in rated:
        key = (FAMILY[candidate.operation], columns_of(candidate))
        rank = (-matches, *form_order(candidate, cols))
        if key not in best or rank < (-best[key][2], *form_order(best[key][0], cols)):
            best[key] = (candidate, rate, matches)
    chosen = sorted(best.values(), key=lambda r: (-r[1], -r[2], *form_order(r[0], cols)))
    return [c for c, _, _ in chosen[: s.max_candidates]], sampled, chance


def columns_of(c: Candidate) -> frozenset[int]:
    return frozenset(i for i in (c.target, c.left, c.right) if i is not None)


def form_order(c: Candidate, cols: Sequence[Col]) -> tuple[int, int, int, int]:
    """Among forms that match as many rows: the latest target, then sum, difference, product,
    ratio, then operands in column order."""
    return (-cols[c.target].order, OPERATIONS.index(c.operation), c.left, -1 if c.right is None else c.right)





