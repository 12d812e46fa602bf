"""The relationships phase: primary keys and foreign keys between the tables of a source.

How it stays exact and bounded:

1. Keys come from the statistics phase's exact candidate keys, filtered to columns that
   can be keys (no amounts, no long free text), plus composite keys searched here when a
   table has none (`key_candidates.find_composite_keys`). The first key of a table is its
   primary key.
2. Parents are keys and nearly unique columns, at most a few per table. Each
   (child column, parent) pair must survive cheap tests on the profiles: the same type
   family, enough distinct parent values, overlapping value ranges and text lengths.
   Nothing is joined before that, so cost follows the surviving pairs, not columns².
3. Surviving child columns are grouped once into (value, rows), a batch of columns of
   one table per scan, and joined with the values of all their parents in one query:
   exact value and row containment, matched rows, fan-out. A pair whose value
   containment passes `min_containment` is a candidate.
4. Composite foreign keys come from child columns contained in the components of a
   composite key, combined per child table and measured as tuples (screened first on a
   deterministic sample, then measured exactly).
5. Each candidate is scored (`score`): containment counts only as far as it is not
   expected by chance (small integers fall inside any dense id range), plus name
   similarity, the parent's key status, the distinct-count ratio and the value shape.
   Accepted candidates keep their orphans; a column keeps its best parent; of two
   one-to-one directions the more plausible wins.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from phases.artifacts.column_profiles import COLUMN_PROFILES, ColumnProfile
from phases.artifacts.relationships import (
    RELATIONSHIPS,
    OrphanExample,
    Rejected,
    Relationship,
    Relationships,
    TableSummary,
)
from phases.artifacts.table_profile import TABLE_PROFILE, TableProfile
from phases.artifacts.tables import TYPED_TABLE
from phases.core.context import PhaseOutput, SourceContext
from phases.core.records import json_scalar, round_sig
from phases.core.sql import quote_ident, quote_literal
from phases.shared.narrow import finite, one_row
from phases.structure.key_candidates import (
    ORDINAL,
    STORAGE,
    Candidate,
    KeyColumn,
    Measure,
    ParentKey,
    TableInfo,
    candidate_pairs,
    describe_table,
    find_composite_keys,
    parent_keys,
    rank_candidate_keys,
    scored,
    words_similarity,
)
from phases.structure.relationship_settings import RelationshipSettings

if TYPE_CHECKING:
    import duckdb

ROW_ID = "_row_id"
CHILD = "__rel_child"  # the value counts of the child column being measured (dropped after)
PAIRS = "__rel_pairs"  # (child cid, parent pid) pairs of the batch being measured
UNPIVOT_MAX_CELLS = 4_000_000  # rows x columns unpivoted in one batch; never changes results, only speed
PARENT_TUPLES = "__rel_parent_tuples"  # the distinct tuples of the composite key being measured (dropped after)


# --- the artifact ----------------------------------------------------------------------------


# --- measuring in DuckDB ---------------------------------------------------------------------


def _cast(column: str, fam: str) -> str:
    return f"TRY_CAST({quote_ident(column)} AS {STORAGE[fam]})"


def load_parent_values(con: duckdb.DuckDBPyConnection, tables: Mapping[str, TableInfo],
                       parents: Sequence[ParentKey]) -> dict[int, int]:
    """The distinct values of every parent, as one table of (pid, value, rows) per type family:
    each parent is read once, whatever the number of children measured against it.
    Returns pid -> distinct values."""
    families = sorted({tables[p.table].columns[p.column].key_family for p in parents})
    for fam in families:
        con.execute(f"CREATE OR REPLACE TEMP TABLE __rel_pv_{fam} (pid INTEGER, v {STORAGE[fam]}, n BIGINT)")
    for p in sorted(parents, key=lambda p: p.pid):
        table = tables[p.table]
        fam = table.columns[p.column].key_family
        con.execute(
            f"INSERT INTO __rel_pv_{fam} SELECT {p.pid}, v, count(*) FROM "
            f"(SELECT {_cast(p.column, fam)} AS v FROM {quote_ident(table.view)}) WHERE v IS NOT NULL GROUP BY v"
        )
    sizes = {p.pid: 0 for p in parents}
    for fam in families:
        sizes |= dict(con.execute(f"SELECT pid, count(*) FROM __rel_pv_{fam} GROUP BY pid").fetchall())
    return sizes


def _child_values(con: duckdb.DuckDBPyConnection, table: TableInfo, columns: Sequence[KeyColumn], fam: str) -> None:
    """(cid, value, rows) of a batch of child columns, cid being the position in `columns`. One
    column is grouped directly; several are unpivoted in one scan, which on a wide table costs
    one read instead of one per column (499 columns of 5,000 rows: 0.15 s against 11 s)."""
    if len(columns) == 1:
        source = f"SELECT 0 AS cid, {_cast(columns[0].name, fam)} AS v FROM {quote_ident(table.view)}"
    else:
        casts = ", ".join(f'{_cast(c.name, fam)} AS "{i}"' for i, c in enumerate(columns))
        source = (f"SELECT CAST(cid AS INTEGER) AS cid, v FROM (UNPIVOT (SELECT {casts} "
                  f"FROM {quote_ident(table.view)}) ON COLUMNS(*) INTO NAME cid VALUE v)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {CHILD} AS SELECT cid, v, count(*) AS n FROM ({source}) "
                f"WHERE v IS NOT NULL GROUP BY cid, v")


def _batches(table: TableInfo, columns: Sequence[KeyColumn]) -> list[list[KeyColumn]]:
    """Child columns in groups whose unpivoted size stays under UNPIVOT_MAX_CELLS: a tall table gets
    one column per group (direct grouping is twice as fast there), a wide one hundreds."""
    size = max(1, UNPIVOT_MAX_CELLS // max(1, table.rows))
    return [list(columns[i:i + size]) for i in range(0, len(columns), size)]


def _pairs_table(con: duckdb.DuckDBPyConnection, pairs: Sequence[tuple[int, int]]) -> None:
    con.execute(f"CREATE OR REPLACE TEMP TABLE {PAIRS} AS SELECT unnest(?::INTEGER[]) AS cid, "
                f"unnest(?::INTEGER[]) AS pid", [[c for c, _ in pairs], [p for _, p in pairs]])


def _chances(con: duckdb.DuckDBPyConnection, fam: str,
             pairs: Sequence[tuple[int, int]]) -> dict[tuple[int, int], float]:
    """For each pair, the share of the child's value range that the parent fills: the containment
    a column of arbitrary values in that range would reach by chance (none for text, timestamps)."""
    if fam not in ORDINAL or not pairs:
        return {}
    width = "datediff('day', r.lo, r.hi) + 1" if fam == "date" else "CAST(r.hi AS HUGEINT) - r.lo + 1"
    _pairs_table(con, pairs)
    rows = con.execute(
        f"WITH r AS (SELECT cid, min(v) AS lo, max(v) AS hi FROM {CHILD} GROUP BY cid) "
        f"SELECT g.cid, g.pid, count(p.v), any_value({width}) FROM {PAIRS} g JOIN r USING (cid) "
        f"LEFT JOIN __rel_pv_{fam} p ON p.pid = g.pid AND p.v BETWEEN r.lo AND r.hi GROUP BY g.cid, g.pid"
    ).fetchall()
    return {(cid, pid): min(1.0, n / int(w)) for cid, pid, n, w in rows}


def measure_batch(con: duckdb.DuckDBPyConnection, table: TableInfo, columns: Sequence[KeyColumn],
                  parents: Mapping[str, Sequence[ParentKey]], sizes: Mapping[int, int],
                  settings: RelationshipSettings) -> list[tuple[str, int, Measure]]:
    """Measure a batch of child columns of one family against all their parents in one join:
    matched values and rows, the most rows per matched value, fan-out. Returns
    (child column, pid, measure) for every pair."""
    fam = columns[0].key_family
    _child_values(con, table, columns, fam)
    pairs = [(cid, p.pid) for cid, c in enumerate(columns) for p in parents[c.name]]
    totals = {cid: (values, int(rows)) for cid, values, rows in
              con.execute(f"SELECT cid, count(*), sum(n) FROM {CHILD} GROUP BY cid").fetchall()}
    _pairs_table(con, pairs)
    found = {(cid, pid): rest for cid, pid, *rest in con.execute(
        f"SELECT g.cid, g.pid, count(*), sum(c.n), max(c.n), sum(c.n * (p.n - 1)) FROM {PAIRS} g "
        f"JOIN {CHILD} c ON c.cid = g.cid JOIN __rel_pv_{fam} p ON p.pid = g.pid AND p.v = c.v GROUP BY g.cid, g.pid"
    ).fetchall()}
    floor = min(settings.min_containment, settings.rejected_min_containment)
    measures = {}
    for cid, pid in pairs:
        values, non_null = totals.get(cid, (0, 0))
        matched, rows, most, fan = found.get((cid, pid), (0, 0, 0, 0))
        measures[(cid, pid)] = Measure(
            child_values=values, child_non_null=non_null, matched_values=matched, matched_rows=int(rows),
            max_rows_per_value=int(most), fan_out_rows=int(fan), parent_values=sizes[pid], chance=0.0)
    chances = _chances(con, fam, [k for k, m in measures.items() if m.child_values and m.containment >= floor])
    result = []
    for (cid, pid), m in measures.items():
        m = replace(m, chance=chances.get((cid, pid), 0.0))
        if m.child_values and m.containment >= settings.min_containment:
            m = _with_orphans(con, m, cid, pid, fam, settings)
        result.append((columns[cid].name, pid, m))
    con.execute(f"DROP TABLE IF EXISTS {CHILD}")
    return result


def _with_orphans(con: duckdb.DuckDBPyConnection, m: Measure, cid: int, pid: int, fam: str,
                  settings: RelationshipSettings) -> Measure:
    """The most frequent orphan values and, for text, how many would match after trimming and
    lower-casing (padded or re-cased names are orphans to an exact join, not to a reader)."""
    if m.matched_values == m.child_values:
        return m
    orphans = (f"(SELECT c.v, c.n FROM {CHILD} c ANTI JOIN (SELECT v FROM __rel_pv_{fam} WHERE pid = {int(pid)}) p "
               f"USING (v) WHERE c.cid = {int(cid)})")
    examples = con.execute(f"SELECT v, n FROM {orphans} ORDER BY n DESC, v LIMIT {settings.orphan_examples}").fetchall()
    trimmed = None
    if fam == "text":
        values, rows = one_row(con.execute(
            f"SELECT count(*), coalesce(sum(n), 0) FROM {orphans} o WHERE lower(trim(o.v)) IN "
            f"(SELECT lower(trim(v)) FROM __rel_pv_{fam} WHERE pid = {int(pid)})"
        ))
        trimmed = (values, int(rows))
    return replace(m, orphan_examples=tuple((json_scalar(v), int(n)) for v, n in examples), trimmed_orphans=trimmed)


def _tuples_sql(table: TableInfo, columns: Sequence[str], families: Sequence[str], sample: str = "") -> str:
    """(k0, k1, ..., n): the distinct complete tuples of `columns` with their row counts, on the
    rows `sample` (a WHERE condition) selects, or on all."""
    casts = ", ".join(f"{_cast(c, f)} AS k{i}" for i, (c, f) in enumerate(zip(columns, families, strict=True)))
    keys = [f"k{i}" for i in range(len(columns))]
    where = f" WHERE {sample}" if sample else ""
    return (f"SELECT {', '.join(keys)}, count(*) AS n FROM (SELECT {casts} FROM {quote_ident(table.view)}{where}) "
            f"WHERE {' AND '.join(f'{k} IS NOT NULL' for k in keys)} GROUP BY ALL")


def sample_blocks(con: duckdb.DuckDBPyConnection, table: TableInfo, settings: RelationshipSettings) -> str:
    """A WHERE condition picking `composite_sample_blocks` evenly spaced runs of _row_id, about
    `composite_sample_rows` rows in all: deterministic, and Parquet skips the row groups in between
    (on 6 M rows, 0.08 s against 0.32 s for every n-th row). Empty when the table is small."""
    if table.rows <= settings.composite_sample_rows:
        return ""
    low, high = one_row(con.execute(f"SELECT min({ROW_ID}), max({ROW_ID}) FROM {quote_ident(table.view)}"))
    blocks = settings.composite_sample_blocks
    length, stride = settings.composite_sample_rows // blocks, (high - low + 1) // blocks
    starts = [low + b * stride for b in range(blocks)]
    return " OR ".join(f"{ROW_ID} BETWEEN {start} AND {start + length - 1}" for start in starts)


def load_parent_tuples(con: duckdb.DuckDBPyConnection, parent: TableInfo, key: Sequence[str]) -> tuple[int, int]:
    """Materialise a composite key's distinct tuples once for all its candidates. Returns the
    number of tuples and the size of the product of its columns' distinct values."""
    families = [parent.columns[k].key_family for k in key]
    con.execute(f"CREATE OR REPLACE TEMP TABLE {PARENT_TUPLES} AS {_tuples_sql(parent, key, families)}")
    product = " * ".join(f"count(DISTINCT k{i})" for i in range(len(key)))
    tuples, space = one_row(con.execute(f"SELECT count(*), {product} FROM {PARENT_TUPLES}"))
    return tuples, int(space or 0)


def measure_tuples(con: duckdb.DuckDBPyConnection, child: TableInfo, columns: Sequence[str], parent: TableInfo,
                   key: Sequence[str], parent_size: tuple[int, int], settings: RelationshipSettings,
                   sample: str = "") -> Measure:
    """Exact containment of child tuples in the parent's key tuples (loaded by `load_parent_tuples`),
    on every row or, when screening, on the rows `sample` selects. Chance is the density of the
    parent's tuples in the product of its columns' values: given that each column matches, how
    often the whole tuple would."""
    families = [parent.columns[k].key_family for k in key]
    keys = ", ".join(f"k{i}" for i in range(len(key)))
    c_sql = _tuples_sql(child, columns, families, sample)
    values, non_null, matched, matched_rows, most, fan = one_row(con.execute(
        f"WITH c AS MATERIALIZED ({c_sql}) "
        f"SELECT count(*), coalesce(sum(c.n), 0), count(p.n), coalesce(sum(c.n) FILTER (WHERE p.n IS NOT NULL), 0), "
        f"coalesce(max(c.n) FILTER (WHERE p.n IS NOT NULL), 0), coalesce(sum(c.n * (p.n - 1)), 0) "
        f"FROM c LEFT JOIN {PARENT_TUPLES} p USING ({keys})"
    ))
    tuples, space = parent_size
    m = Measure(child_values=values, child_non_null=int(non_null), matched_values=matched,
                matched_rows=int(matched_rows), max_rows_per_value=int(most), fan_out_rows=int(fan),
                parent_values=tuples, chance=min(1.0, tuples / space) if space else 0.0)
    if not sample and m.matched_values < m.child_values and settings.orphan_examples:
        examples = con.execute(
            f"WITH c AS ({c_sql}) SELECT {keys}, n FROM c ANTI JOIN {PARENT_TUPLES} USING ({keys}) "
            f"ORDER BY n DESC, {keys} LIMIT {settings.orphan_examples}"
        ).fetchall()
        m = replace(m, orphan_examples=tuple((tuple(json_scalar(v) for v in row[:-1]), int(row[-1]))
                                             for row in examples))
    return m


# --- discovery -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableInput:
    """What the phase reads about one table: a view (or table) in the connection with a leading
    _row_id, and the statistics phase's profiles of it."""

    view: str
    table_profile: TableProfile
    column_profiles: Mapping[str, ColumnProfile]


def prepare_tables(con: duckdb.DuckDBPyConnection, inputs: Mapping[str, TableInput],
                   settings: RelationshipSettings) -> dict[str, TableInfo]:
    """Describe every table and rank its candidate keys; a table without any key-like key
    gets a bounded search for composite keys (pairs, then triples)."""
    tables = {}
    for name, given in sorted(inputs.items()):
        info = describe_table(name, given.view, given.table_profile, given.column_profiles, settings.names)
        keys = rank_candidate_keys(info, (), settings)
        if not keys:
            keys = rank_candidate_keys(info, find_composite_keys(con, info, settings), settings)
        tables[name] = replace(info, keys=keys)
    return tables


def measure_singles(con: duckdb.DuckDBPyConnection, tables: Mapping[str, TableInfo],
                    settings: RelationshipSettings) -> tuple[list[Candidate], dict[str, int]]:
    """Every surviving (child column, parent) pair, measured exactly, batch by batch."""
    parents = parent_keys(list(tables.values()), settings)
    pairs, counts = candidate_pairs(list(tables.values()), parents, settings)
    by_pid = {p.pid: p for p in parents}
    used = sorted({p.pid for ps in pairs.values() for p in ps})
    sizes = load_parent_values(con, tables, [by_pid[pid] for pid in used]) if used else {}
    found = []
    for table_name, group in itertools.groupby(pairs, key=lambda key: key[0]):
        table = tables[table_name]
        children = [table.columns[column] for _, column in group]
        for fam in sorted({c.key_family for c in children}):
            of_family = sorted((c for c in children if c.key_family == fam), key=lambda c: c.profile.position)
            for batch in _batches(table, of_family):
                parents_of = {c.name: pairs[(table_name, c.name)] for c in batch}
                found += [Candidate(table_name, (column,), by_pid[pid], m)
                          for column, pid, m in measure_batch(con, table, batch, parents_of, sizes, settings)]
    return found, counts.as_dict() | {"parent_keys": len([p for p in parents if p.component_of is None])}


def _composite_combos(singles: Sequence[Candidate], tables: Mapping[str, TableInfo],
                      settings: RelationshipSettings) -> list[tuple[str, tuple[str, ...], str, tuple[str, ...]]]:
    """(child table, child columns, parent table, key) for every composite key: one contained child
    column per key column, all from one child table, best names first, capped per child table."""
    contained: dict[tuple[str, tuple[str, ...], str], list[list[str]]] = {}
    for c in singles:
        key = c.parent.component_of
        if key is None or c.measure.containment < settings.min_containment:
            continue
        slots = contained.setdefault((c.parent.table, key, c.child), [[] for _ in key])
        slots[key.index(c.parent.column)].append(c.child_columns[0])
    combos = []
    for (parent, key, child), slots in sorted(contained.items()):
        found = [combo for combo in itertools.product(*slots)
                 if len(set(combo)) == len(combo) and not (child == parent and combo == key)]
        found.sort(key=lambda combo: (-_names_alike(tables[child], combo, tables[parent], key), combo))
        combos += [(child, combo, parent, key) for combo in found[: settings.max_composite_candidates]]
    return combos


def _names_alike(child: TableInfo, columns: Sequence[str], parent: TableInfo, key: Sequence[str]) -> float:
    return sum(words_similarity(child.columns[c].parts.core, parent.columns[k].parts.core)
               for c, k in zip(columns, key, strict=True))


def measure_composites(con: duckdb.DuckDBPyConnection, tables: Mapping[str, TableInfo], singles: Sequence[Candidate],
                       settings: RelationshipSettings) -> tuple[list[Candidate], dict[str, int]]:
    """Composite candidates: screened on a sample of a big child table (a combination far below
    the gate there is dropped), then measured exactly on all rows."""
    found, screened, samples = [], 0, {}
    combos = _composite_combos(singles, tables, settings)
    floor = settings.min_containment - settings.composite_screen_margin
    for (parent, key), group in itertools.groupby(combos, key=lambda combo: (combo[2], combo[3])):
        size = load_parent_tuples(con, tables[parent], key)
        pkey = ParentKey(pid=-1, table=parent, columns=key, uniqueness=1.0, primary=key == tables[parent].keys[0],
                         candidate_key=True)
        for child, columns, _, _ in group:
            if child not in samples:
                samples[child] = sample_blocks(con, tables[child], settings)
            if samples[child]:
                m = measure_tuples(con, tables[child], columns, tables[parent], key, size, settings, samples[child])
                if max(m.containment, m.row_containment) < floor:
                    screened += 1
                    continue
            m = measure_tuples(con, tables[child], columns, tables[parent], key, size, settings)
            found.append(Candidate(child, columns, pkey, m))
        con.execute(f"DROP TABLE IF EXISTS {PARENT_TUPLES}")
    return found, {"composite_pairs_considered": len(combos), "composite_pairs_screened_out": screened}


def _low_confidence_reason(c: Candidate, settings: RelationshipSettings) -> str:
    reason = f"confidence {c.confidence:.3f} is below min_confidence {settings.min_confidence}"
    if c.evidence.get("containment_expected_by_chance"):
        reason += "; its values fill a dense range of the parent's, so containment is expected by chance"
    similarity = c.evidence.get("name_similarity", 0.0)  # a float, from key_candidates.name_evidence
    if isinstance(similarity, int | float) and similarity < 0.5:
        reason += "; the names do not suggest a reference"
    return reason


def resolve(candidates: Sequence[Candidate],
            settings: RelationshipSettings) -> tuple[list[Candidate], list[tuple[Candidate, str]]]:
    """Accept candidates above both gates; a child column keeps only its best parent (and any
    within `ambiguity_margin` of it); of the two directions of a one-to-one pair the more
    plausible wins. Everything else is rejected with a reason."""
    accepted: list[Candidate] = []
    rejected: list[tuple[Candidate, str]] = []
    best: dict[tuple[str, tuple[str, ...]], Candidate] = {}
    taken: dict[tuple[str, tuple[str, ...], str, tuple[str, ...]], str] = {}  # ends of accepted candidates -> id
    for c in sorted(candidates, key=lambda c: (-c.confidence, c.id)):
        top = best.setdefault((c.child, c.child_columns), c)
        reverse = (c.parent.table, c.parent.columns, c.child, c.child_columns)
        if c.measure.containment < settings.min_containment:
            rejected.append((c, f"containment {c.measure.containment:.3f} is below min_containment "
                                f"{settings.min_containment}"))
        elif c.confidence < settings.min_confidence:
            rejected.append((c, _low_confidence_reason(c, settings)))
        elif top is not c and c.confidence < top.confidence - settings.ambiguity_margin:
            rejected.append((c, f"the same column references {top.id} more plausibly "
                                f"(confidence {top.confidence:.3f})"))
        elif reverse in taken:
            rejected.append((c, f"the reverse direction {taken[reverse]} is more plausible"))
        else:
            accepted.append(c)
            taken[c.ends] = c.id
    return accepted, rejected


def _rounded(value: Any) -> Any:
    """Floats to 10 significant digits, recursively, so reruns are byte-identical."""
    if isinstance(value, float):
        return round_sig(value)
    if isinstance(value, Mapping):
        return {k: _rounded(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


def to_relationship(c: Candidate, tables: Mapping[str, TableInfo], competing: Sequence[str]) -> Relationship:
    m, rows = c.measure, tables[c.child].rows
    evidence = dict(c.evidence) | ({"competing_parents": sorted(competing)} if competing else {})
    return Relationship(
        id=c.id, child_table=c.child, child_columns=c.child_columns, parent_table=c.parent.table,
        parent_columns=c.parent.columns,
        cardinality="one_to_one" if m.max_rows_per_value <= 1 else "many_to_one",
        confidence=finite(round_sig(c.confidence)), child_rows=rows, null_rows=rows - m.child_non_null,
        matched_rows=m.matched_rows, orphan_rows=m.child_non_null - m.matched_rows,
        orphan_values=m.child_values - m.matched_values,
        orphan_examples=tuple(OrphanExample(value=v, rows=n) for v, n in m.orphan_examples),
        inner_join_drop_ratio=finite(round_sig((rows - m.matched_rows) / rows)) if rows else 0.0,
        fans_out=m.fan_out_rows > 0, fan_out_rows=m.fan_out_rows, self_reference=c.child == c.parent.table,
        evidence=_rounded(evidence),
    )


def to_rejected(c: Candidate, reason: str) -> Rejected:
    return Rejected(id=c.id, child_table=c.child, child_columns=c.child_columns, parent_table=c.parent.table,
                    parent_columns=c.parent.columns, confidence=finite(round_sig(c.confidence)), reason=reason,
                    evidence=_rounded(c.evidence))


def find_relationships(con: duckdb.DuckDBPyConnection, source: str, inputs: Mapping[str, TableInput],
                       settings: RelationshipSettings) -> Relationships:
    """The library twin of the phase: keys and relationships of the tables in `inputs`."""
    tables = prepare_tables(con, inputs, settings)
    singles, search = measure_singles(con, tables, settings)
    composites, composite_search = measure_composites(con, tables, singles, settings)
    for fam in STORAGE:  # the parents' values, kept while composites were measured
        con.execute(f"DROP TABLE IF EXISTS __rel_pv_{fam}")
    candidates = [scored(c, tables, settings) for c in singles if c.parent.component_of is None]
    candidates += [scored(c, tables, settings) for c in composites]
    accepted, rejected = resolve(candidates, settings)
    by_child: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for c in accepted:
        by_child.setdefault((c.child, c.child_columns), []).append(c.id)
    relationships = sorted(
        (to_relationship(c, tables, [i for i in by_child[(c.child, c.child_columns)] if i != c.id]) for c in accepted),
        key=lambda r: r.id,
    )
    # Near misses only: candidates that reached `rejected_min_containment`, most confident first.
    rejected = [x for x in rejected if x[0].measure.containment >= settings.rejected_min_containment]
    rejected.sort(key=lambda x: (-x[0].confidence, x[0].id))
    return Relationships(
        source=source,
        tables={t.name: TableSummary(rows=t.rows, columns=len(t.columns)) for t in tables.values()},
        primary_keys={t.name: t.keys for t in tables.values()},
        relationships=tuple(relationships),
        rejected=tuple(to_rejected(c, reason) for c, reason in rejected[: settings.max_rejected]),
        search=search | composite_search | {"candidates_scored": len(candidates)},
    )


# --- the phase -------------------------------------------------------------------------------


def discover_relationships(ctx: SourceContext) -> PhaseOutput:
    """Phase `relationships`: relationships.json for one source, from every table's typed Parquet
    file and statistics profiles."""
    settings = ctx.parse_settings(RelationshipSettings)
    typed = ctx.paths(TYPED_TABLE)
    columns, profiles = ctx.read_tables(COLUMN_PROFILES), ctx.read_tables(TABLE_PROFILE)
    with ctx.connect() as con:
        inputs = {}
        for i, table in enumerate(sorted(typed)):
            view = f"__rel_t{i}"
            con.execute(f"CREATE TEMP VIEW {view} AS SELECT * FROM read_parquet({quote_literal(typed[table])})")
            inputs[table] = TableInput(view=view, table_profile=profiles[table],
                                       column_profiles=columns[table].by_name)
        report = find_relationships(con, ctx.source.name, inputs, settings)
    ctx.write(RELATIONSHIPS, report)
    return PhaseOutput(
        summary={
            "relationships": [r.id for r in report.relationships],
            "primary_keys": {t: [list(k) for k in keys[:1]] for t, keys in report.primary_keys.items()},
            "orphan_rows": {r.id: r.orphan_rows for r in report.relationships if r.orphan_rows},
        },
    )
