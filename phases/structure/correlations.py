"""The correlations phase (per source): how the columns of each table, and of tables joined along
their relationships, go together.

- Associations between column pairs: Pearson and Spearman for numbers, Cramér's V (with
  Bergsma's bias correction) for categories, the correlation ratio eta for a category against a
  number. Across a relationship: a fact's measures against its dimension's attributes.
- Functional dependencies and candidate keys (phases.structure.dependencies).
- Derived columns: copies, sums, differences, products, ratios, and parent totals of child
  columns (phases.structure.derived_columns).

Everything is computed in DuckDB; Python sees only aggregates. Pearson, Cramér's V and eta read
every row; Spearman ranks a deterministic sample of at most `spearman_sample_rows` rows (ranking
is a sort per column), and each association records the rows it used and whether they were
sampled. Floats are rounded to 10 significant digits (of 1 for unitless statistics), so reruns
and other thread counts give byte-identical files.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field

from phases.artifacts.column_profiles import COLUMN_PROFILES, ColumnProfile
from phases.artifacts.correlations import CORRELATIONS, Association, Correlations, RelationshipUse, TableCorrelations
from phases.artifacts.derived_columns import DERIVED_COLUMNS, DerivedColumn, DerivedColumns, DerivedSearch
from phases.artifacts.relationships import RELATIONSHIPS, Relationships
from phases.artifacts.table_profile import TABLE_PROFILE
from phases.artifacts.tables import TYPED_TABLE
from phases.core.config import ColumnType, Model
from phases.core.context import PhaseOutput, SourceContext
from phases.core.records import round_scaled
from phases.core.sql import quote_ident, typed_relations
from phases.shared.narrow import finite, one_row
from phases.structure.dependencies import (
    DependencySettings,
    find_dependencies,
)
from phases.structure.derived_columns import (
    ROW_ID,
    Col,
    DerivedSettings,
    is_numeric,
    search_child_sums,
    search_derived_columns,
)
from phases.structure.rank_correlation import spearman

if TYPE_CHECKING:
    import duckdb


JOINED = "__corr_join"  # a temp table, dropped after use
BATCH = 100  # pairs per wide aggregate


class AssociationSettings(Model):
    """The `associations` section of config/correlations.yaml."""

    categorical_types: tuple[ColumnType, ...] = ("text", "boolean")
    max_categories: int = Field(50, ge=2, le=10_000)
    min_category_rows: float = Field(5.0, ge=1, le=1_000_000)
    max_numeric_columns: int = Field(30, ge=0, le=500)
    max_categorical_columns: int = Field(30, ge=0, le=500)
    min_rows: int = Field(10, ge=3, le=1_000_000)
    spearman_sample_rows: int = Field(100_000, ge=100, le=100_000_000)
    min_strength: float = Field(0.3, ge=0, le=1)


class CrossTableSettings(Model):
    """The `cross_table` section of config/correlations.yaml."""

    enabled: bool = True
    min_confidence: float = Field(0.8, ge=0, le=1)
    max_relationships: int = Field(20, ge=0, le=1000)


class CorrelationSettings(Model):
    """config/correlations.yaml."""

    associations: AssociationSettings = AssociationSettings()
    dependencies: DependencySettings = DependencySettings()
    derived: DerivedSettings = DerivedSettings()
    cross_table: CrossTableSettings = CrossTableSettings()
    memory_table_max_cells: int = Field(5_000_000, ge=0, le=10**9)


# --- records ----------------------------------------------------------------------------------


# --- the statistics ---------------------------------------------------------------------------

Pair = tuple[Col, Col]


def pearson(con: duckdb.DuckDBPyConnection, relation: str, pairs: Sequence[Pair]) -> list[tuple[float | None, int]]:
    """(r, rows with both values) per pair, BATCH pairs per scan of `relation`."""
    found: list[tuple[float | None, int]] = []
    for start in range(0, len(pairs), BATCH):
        exprs = [f"corr({x.sql}::DOUBLE, {y.sql}::DOUBLE), regr_count({y.sql}::DOUBLE, {x.sql}::DOUBLE)"
                 for x, y in pairs[start:start + BATCH]]
        row = one_row(con.execute(f"SELECT {', '.join(exprs)} FROM {relation}"))
        found += [(row[i], int(row[i + 1])) for i in range(0, len(row), 2)]
    return found


def cramers_v(con: duckdb.DuckDBPyConnection, relation: str, x: Col, y: Col) -> tuple[float | None, int]:
    """Bias-corrected Cramér's V (Bergsma 2013) from the contingency table of the complete rows;
    chi-square = n (sum of n_ij^2 / (n_i. n_.j) - 1), summed over the non-empty cells only."""
    n, r, k, s = one_row(con.execute(
        f"WITH c AS (SELECT {x.sql} AS a, {y.sql} AS b, count(*) AS n FROM {relation} "
        f"WHERE {x.sql} IS NOT NULL AND {y.sql} IS NOT NULL GROUP BY ALL), "
        f"ra AS (SELECT a, sum(n) AS na FROM c GROUP BY a), rb AS (SELECT b, sum(n) AS nb FROM c GROUP BY b) "
        f"SELECT (SELECT coalesce(sum(n), 0) FROM c), (SELECT count(*) FROM ra), (SELECT count(*) FROM rb), "
        f"sum(c.n * c.n / (ra.na * rb.nb)) FROM c JOIN ra USING (a) JOIN rb USING (b)"
    ))
    if n < 2 or r < 2 or k < 2:
        return None, int(n)
    phi2 = max(0.0, (s - 1) - (k - 1) * (r - 1) / (n - 1))
    r_corr, k_corr = r - (r - 1) ** 2 / (n - 1), k - (k - 1) ** 2 / (n - 1)
    denominator = min(k_corr - 1, r_corr - 1)
    return (math.sqrt(phi2 / denominator) if denominator > 0 else None), int(n)


def correlation_ratios(
    con: duckdb.DuckDBPyConnection, relation: str, category: Col, numbers: Sequence[Col]
) -> list[tuple[float | None, int]]:
    """eta = sqrt(SS_between / SS_total) of each number grouped by the category (one scan for all
    numbers). Within-group spread comes from each group's own variance, which stays exact for
    values far from zero, where sums of squares cancel."""
    if not numbers:
        return []
    exprs = [f"count({c.sql}), avg({c.sql}::DOUBLE), var_pop({c.sql}::DOUBLE)" for c in numbers]
    groups = con.execute(f"SELECT {', '.join(exprs)} FROM {relation} WHERE {category.sql} IS NOT NULL "
                         f"GROUP BY {category.sql}").fetchall()
    result: list[tuple[float | None, int]] = []
    for j in range(len(numbers)):
        stats = [(g[3 * j], g[3 * j + 1], g[3 * j + 2]) for g in groups if g[3 * j]]
        n = sum(s[0] for s in stats)
        if len(stats) < 2:
            result.append((None, n))
            continue
        grand = math.fsum(c * m for c, m, _ in stats) / n
        between = math.fsum(c * (m - grand) ** 2 for c, m, _ in stats)
        within = math.fsum(c * v for c, _, v in stats)
        result.append((math.sqrt(between / (between + within)) if between + within > 0 else None, n))
    return result


# --- the pairs of one relation ----------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """The pairs to measure in one relation (a table, or two tables joined)."""

    numeric_pairs: list[Pair]
    categorical_pairs: list[Pair]
    mixed: list[tuple[Col, list[Col]]]  # a category and the numbers it may explain


def is_categorical(profile: ColumnProfile, s: AssociationSettings) -> bool:
    """A configured type with 2..max_categories values, each on min_category_rows rows on average:
    a name or code with one row per value would "explain" any number perfectly."""
    return (profile.type in s.categorical_types and 2 <= profile.distinct_count <= s.max_categories
            and profile.distinct_count * s.min_category_rows <= profile.non_null_count)


def choose(cols: Sequence[Col], limit: int) -> tuple[list[Col], list[Col]]:
    """The `limit` columns with the fewest NULLs (then the first), in relation order, and the rest."""
    chosen = sorted(cols, key=lambda c: (c.profile.null_count, c.order))[:limit]
    kept = {id(c) for c in chosen}  # by identity: equality would compare whole profiles
    return sorted(chosen, key=lambda c: c.order), [c for c in cols if id(c) not in kept]


def measure_associations(
    con: duckdb.DuckDBPyConnection, relation: str, plan: Plan, rows: int, s: AssociationSettings,
    via: str | None = None,
) -> tuple[list[Association], dict[str, int]]:
    """Every statistic of the plan; those with enough rows are counted as tested, and those at or
    above min_strength become Associations. No statistic has more rows than the relation, so
    on fewer than min_rows rows none would count: nothing is measured."""
    found: list[Association] = []
    tested = dict.fromkeys(("pearson", "spearman", "cramers_v", "correlation_ratio"), 0)
    if rows < s.min_rows:
        return found, tested
    measured: list[tuple[str, Col, Col, float | None, int, bool]] = []
    for (x, y), (r, n) in zip(plan.numeric_pairs, pearson(con, relation, plan.numeric_pairs), strict=True):
        measured.append(("pearson", x, y, r, n, False))
    ranked = spearman(con, relation, plan.numeric_pairs, s.spearman_sample_rows, rows, s.min_strength)
    for (x, y), (rho, n, sampled) in zip(plan.numeric_pairs, ranked, strict=True):
        measured.append(("spearman", x, y, rho, n, sampled))
    for x, y in plan.categorical_pairs:
        measured.append(("cramers_v", x, y, *cramers_v(con, relation, x, y), False))
    for category, numbers in plan.mixed:
        for y, (eta, n) in zip(numbers, correlation_ratios(con, relation, category, numbers), strict=True):
            measured.append(("correlation_ratio", category, y, eta, n, False))
    for measure, x, y, value, n, sampled in measured:
        if value is None or math.isnan(value) or n < s.min_rows:  # corr() of a constant is NaN
            continue
        tested[measure] += 1
        rounded = finite(round_scaled(max(-1.0, min(1.0, value)), 1.0))  # float noise may step past +-1
        if abs(rounded) >= s.min_strength:
            found.append(Association(measure, x.table, x.name, y.table, y.name, rounded, n, sampled, via))
    return found, tested


# --- one table --------------------------------------------------------------------------------


def table_cols(table: str, profiles: Mapping[str, ColumnProfile]) -> list[Col]:
    return [Col(table, p.name, quote_ident(p.name), p, p.position) for p in profiles.values()]


def analyse_table(
    con: duckdb.DuckDBPyConnection, relation: str, table: str, profiles: Mapping[str, ColumnProfile],
    keys: Sequence[tuple[str, ...]], settings: CorrelationSettings,
) -> tuple[TableCorrelations, list[Association], list[DerivedColumn], DerivedSearch]:
    """Associations, dependencies and derived columns of one table (`relation` has its rows)."""
    s = settings.associations
    cols = table_cols(table, profiles)
    rows = cols[0].profile.rows if cols else int(one_row(con.execute(f"SELECT count(*) FROM {relation}"))[0])
    numeric_all = [c for c in cols if is_numeric(c.profile)]
    numeric, numeric_out = choose(numeric_all, s.max_numeric_columns)
    categorical, categorical_out = choose([c for c in cols if is_categorical(c.profile, s)], s.max_categorical_columns)
    plan = Plan(list(combinations(numeric, 2)), list(combinations(categorical, 2)),
                [(c, numeric) for c in categorical])
    found, tested = measure_associations(con, relation, plan, rows, s)
    deps = find_dependencies(con, relation, list(profiles.values()), keys, rows, settings.dependencies)
    derived, search = search_derived_columns(con, relation, numeric_all, settings.derived, table)
    record = TableCorrelations(
        table=table, rows=rows, numeric_columns=tuple(c.name for c in numeric),
        categorical_columns=tuple(c.name for c in categorical),
        columns_left_out=tuple(c.name for c in sorted(numeric_out + categorical_out, key=lambda c: c.order)),
        pairs_tested=tested, dependencies=deps,
    )
    return record, found, derived, search


# --- across tables ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Join:
    """A relationship from relationships.json, as far as this phase follows it."""

    id: str
    child_table: str
    child_columns: tuple[str, ...]
    parent_table: str
    parent_columns: tuple[str, ...]
    cardinality: str  # many_to_one | one_to_one (others are not followed)
    confidence: float
    fans_out: bool


def read_relationships(found: Relationships) -> tuple[dict[str, list[tuple[str, ...]]], list[Join]]:
    """Primary keys per table and the relationships, by id."""
    keys = {t: list(ks) for t, ks in found.primary_keys.items()}
    joins = [Join(id=r.id, child_table=r.child_table, child_columns=r.child_columns,
                  parent_table=r.parent_table, parent_columns=r.parent_columns,
                  cardinality=r.cardinality, confidence=r.confidence, fans_out=r.fans_out)
             for r in found.relationships]
    return keys, sorted(joins, key=lambda j: j.id)


def _skip_reason(
    join: Join, profiles: Mapping[str, Mapping[str, ColumnProfile]], s: CrossTableSettings, followed: int
) -> str | None:
    """Why a relationship is not followed, or None when it is."""
    if not s.enabled:
        return "cross_table.enabled is false"
    if join.cardinality not in ("many_to_one", "one_to_one"):
        return f"cardinality {join.cardinality}: joining would repeat rows of both tables"
    if join.fans_out:
        return "the join fans out: parent key values repeat"
    if join.confidence < s.min_confidence:
        return f"confidence {join.confidence} below cross_table.min_confidence {s.min_confidence}"
    for table, columns in ((join.child_table, join.child_columns), (join.parent_table, join.parent_columns)):
        missing = [c for c in columns if c not in profiles.get(table, {})]
        if table not in profiles or missing:
            return f"table {table!r} or its columns {missing} are not among this source's typed tables"
    if followed >= s.max_relationships:
        return f"beyond cross_table.max_relationships ({s.max_relationships})"
    return None


def _key_pairs(
    join: Join, profiles: Mapping[str, Mapping[str, ColumnProfile]], child_prefix: str = ""
) -> list[tuple[str, str]]:
    """(child, parent) join expressions, the parent's aliased `p`; keys of different types are
    compared as text."""
    pairs = []
    for c, p in zip(join.child_columns, join.parent_columns, strict=True):
        same = profiles[join.child_table][c].sql_type == profiles[join.parent_table][p].sql_type
        child, parent = f"{child_prefix}{quote_ident(c)}", f"p.{quote_ident(p)}"
        pairs.append((child, parent) if same else (f"CAST({child} AS VARCHAR)", f"CAST({parent} AS VARCHAR)"))
    return pairs


def _join_cols(join: Join, profiles: Mapping[str, Mapping[str, ColumnProfile]]) -> tuple[list[Col], list[Col]]:
    """The child's and the parent's columns outside the join key, aliased c0.., p0.. in JOINED.
    The parent's come first in order, so that of two forms of one relation the one whose target
    is the child's column wins (`lines.amount = lines.qty * products.price`, not a ratio)."""
    child = [p for p in profiles[join.child_table].values() if p.name not in join.child_columns]
    parent = [p for p in profiles[join.parent_table].values() if p.name not in join.parent_columns]
    return ([Col(join.child_table, p.name, f"c{i}", p, len(parent) + i) for i, p in enumerate(child)],
            [Col(join.parent_table, p.name, f"p{i}", p, i) for i, p in enumerate(parent)])


def _join_plan(child: Sequence[Col], parent: Sequence[Col], s: AssociationSettings) -> tuple[Plan, list[Col]]:
    """The pairs across a relationship (the child's numbers against the parent's numbers and
    categories, categories against categories) and every column that takes part in them."""
    c_num, _ = choose([c for c in child if is_numeric(c.profile)], s.max_numeric_columns)
    p_num, _ = choose([c for c in parent if is_numeric(c.profile)], s.max_numeric_columns)
    c_cat, _ = choose([c for c in child if is_categorical(c.profile, s)], s.max_categorical_columns)
    p_cat, _ = choose([c for c in parent if is_categorical(c.profile, s) and not c.profile.unique],
                      s.max_categorical_columns)
    plan = Plan([(x, y) for x in c_num for y in p_num], [(x, y) for x in c_cat for y in p_cat],
                [(c, c_num) for c in p_cat])
    return plan, c_cat + p_cat


def analyse_join(
    con: duckdb.DuckDBPyConnection, views: Mapping[str, str], join: Join,
    profiles: Mapping[str, Mapping[str, ColumnProfile]], settings: CorrelationSettings,
) -> tuple[dict[str, int], list[Association], list[DerivedColumn], DerivedSearch]:
    """Along one relationship: the child's measures against the parent's attributes (Pearson,
    Spearman, eta; Cramér's V between categories), derived columns that use both tables, and
    parent columns that total a child column. The join is materialised once, with only the
    columns these need."""
    child, parent = _join_cols(join, profiles)
    plan, categories = _join_plan(child, parent, settings.associations)
    numeric = [c for c in child + parent if is_numeric(c.profile)]
    # Membership by identity: comparing Cols compares their whole profiles, which on a table of
    # thousands of columns took minutes per relationship.
    is_num, is_cat, of_child = {id(c) for c in numeric}, {id(c) for c in categories}, {id(c) for c in child}
    used = [c for c in child + parent if id(c) in is_num or id(c) in is_cat]
    select = ", ".join([f"c.{ROW_ID}"] + [f"{'c' if id(c) in of_child else 'p'}.{quote_ident(c.name)} AS {c.sql}"
                                          for c in used])
    on = " AND ".join(f"{ck} = {pk}" for ck, pk in _key_pairs(join, profiles, "c."))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {JOINED} AS SELECT {select} "
                f"FROM {views[join.child_table]} c JOIN {views[join.parent_table]} p ON {on}")
    try:
        rows = int(one_row(con.execute(f"SELECT count(*) FROM {JOINED}"))[0])
        found, tested = measure_associations(con, JOINED, plan, rows, settings.associations, join.id)
        derived, search = search_derived_columns(con, JOINED, numeric, settings.derived, join.child_table, join.id)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {JOINED}")
    derived += search_child_sums(
        con, views[join.child_table], views[join.parent_table], _key_pairs(join, profiles),
        [Col(c.table, c.name, quote_ident(c.name), c.profile, c.order) for c in child if id(c) in is_num],
        [Col(c.table, c.name, quote_ident(c.name), c.profile, c.order) for c in parent if id(c) in is_num],
        settings.derived, join.id,
    )
    return tested, found, derived, search


# --- the phase --------------------------------------------------------------------------------


def correlate_source(
    con: duckdb.DuckDBPyConnection, source: str, typed: Mapping[str, Path],
    profiles: Mapping[str, Mapping[str, ColumnProfile]], keys: Mapping[str, Sequence[tuple[str, ...]]],
    joins: Sequence[Join], settings: CorrelationSettings,
) -> tuple[Correlations, DerivedColumns]:
    """Both artifacts for a source: each table, then each relationship that can be followed."""
    # a small table is read from Parquet once, not by each of the phase's hundreds of queries
    cells = {table: sum(p.rows for p in profiles[table].values()) for table in typed}
    views = typed_relations(con, typed, cells, "__corr_t", settings.memory_table_max_cells)
    tables, associations, derived, searches, uses = [], [], [], [], []
    for table in sorted(typed):
        record, found, more, search = analyse_table(con, views[table], table, profiles[table],
                                                    keys.get(table, ()), settings)
        tables.append(record)
        associations += found
        derived += more
        searches.append(search)
    followed = 0
    for join in joins:
        reason = _skip_reason(join, profiles, settings.cross_table, followed)
        tested: dict[str, int] = {}
        if reason is None:
            followed += 1
            tested, found, more, search = analyse_join(con, views, join, profiles, settings)
            associations += found
            derived += more
            searches.append(search)
        uses.append(RelationshipUse(join.id, join.child_table, join.parent_table, reason is None, reason, tested))
    return (
        Correlations(source, tuple(tables), tuple(sorted(associations, key=_association_key)), tuple(uses)),
        DerivedColumns(source, tuple(sorted(derived, key=lambda d: (d.via or "", d.table, d.column, d.formula))),
                       tuple(sorted(searches, key=lambda s: (s.via or "", s.table)))),
    )


def _association_key(a: Association) -> tuple[str, str, str, str, str, str]:
    return (a.via or "", a.x_table, a.x, a.y_table, a.y, a.measure)


def candidate_keys(
    ctx: SourceContext, profiles: Mapping[str, Mapping[str, ColumnProfile]],
    declared: Mapping[str, list[tuple[str, ...]]],
) -> dict[str, list[tuple[str, ...]]]:
    """Keys per table: the statistics phase's candidate keys when the phase reads table_profile,
    else every unique column without NULLs; plus the primary keys of relationships.json."""
    if TABLE_PROFILE.name in ctx.spec.inputs:
        found = {t: list(p.candidate_keys) for t, p in ctx.read_tables(TABLE_PROFILE).items()}
    else:
        found = {t: [(c.name,) for c in ps.values() if c.unique and c.null_count == 0] for t, ps in profiles.items()}
    return {t: list(dict.fromkeys(found.get(t, []) + list(declared.get(t, [])))) for t in profiles}


def measure_correlations(ctx: SourceContext) -> PhaseOutput:
    """Phase `correlations`: correlations.json and derived_columns.json for one source."""
    settings = ctx.parse_settings(CorrelationSettings)
    typed = ctx.paths(TYPED_TABLE)
    profiles = {t: p.by_name for t, p in ctx.read_tables(COLUMN_PROFILES).items()}
    declared, joins = read_relationships(ctx.read(RELATIONSHIPS))
    keys = candidate_keys(ctx, profiles, declared)
    with ctx.connect() as con:
        correlations, derived = correlate_source(con, ctx.source.name, typed, profiles, keys, joins, settings)
    ctx.write(CORRELATIONS, correlations)
    ctx.write(DERIVED_COLUMNS, derived)
    return PhaseOutput(
        summary={
            "tables": len(correlations.tables), "associations": len(correlations.associations),
            "functional_dependencies": sum(len(t.dependencies.functional_dependencies) for t in correlations.tables),
            "derived_columns": [d.formula for d in derived.derived_columns],
            "relationships_followed": sum(u.used for u in correlations.relationships),
        },
    )
