"""The relationships phase: primary keys and foreign keys between the tables of a source.

How it stays exact and bounded:

1. Keys are the statistics phase's candidate keys (every minimal unique column set up to four
   columns, `phases.profile.key_search`), filtered to columns that can be keys (no amounts, no
   long free text) and ranked (`key_candidates.key_rank`: a measure unique by chance last). A key
   column equal row by row to a better-ranked one (a time-of-day next to the time key) is the
   same parent, not a second one.
2. Parents are keys and nearly unique columns, at most a few per table, and the columns of
   composite keys. Each (child column, parent) pair must survive cheap tests on the profiles:
   the same type family, enough distinct parent values, overlapping value ranges and text
   lengths. Nothing is joined before that, so cost follows the surviving pairs, not columns².
3. Surviving child columns are measured against all their parents in one join per batch
   (`fk_measure`): exact value and row containment, fan-out, orphans.
4. Composite foreign keys come from child columns contained in the columns of a composite key,
   combined per child table and measured as tuples (screened first on a deterministic sample).
5. Each candidate's evidence is weighed in decades (`fk_evidence`): containment beyond chance
   from the values, names only as a tie-breaker; then resolved (`fk_resolve`) into accepted,
   likely-but-unverified and rejected, and each table's primary key is the key others reference.
"""

from __future__ import annotations

import itertools
import math
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
from phases.core.records import round_sig
from phases.core.sql import typed_relations
from phases.shared.narrow import finite
from phases.structure import fk_measure
from phases.structure.fk_evidence import Candidate, expected_cycles, single_value_decades
from phases.structure.fk_evidence import scored as score_candidate
from phases.structure.fk_resolve import Domains, choose_primary_keys, plausible_pair, resolve, single_domains
from phases.structure.key_candidates import (
    ParentKey,
    TableInfo,
    candidate_pairs,
    describe_table,
    key_rank,
    measured_floor,
    parent_keys,
    rank_candidate_keys,
)
from phases.structure.key_names import words_match, words_similarity
from phases.structure.relationship_settings import RelationshipSettings

if TYPE_CHECKING:
    import duckdb


@dataclass(frozen=True)
class TableInput:
    """What the phase reads about one table: a view (or table) in the connection with a leading
    _row_id, and the statistics phase's profiles of it."""

    view: str
    table_profile: TableProfile
    column_profiles: Mapping[str, ColumnProfile]


def prepare_tables(inputs: Mapping[str, TableInput], settings: RelationshipSettings) -> dict[str, TableInfo]:
    """Describe every table and rank its candidate keys."""
    tables = {}
    for name, given in sorted(inputs.items()):
        info = describe_table(name, given.view, given.table_profile, given.column_profiles, settings.names)
        tables[name] = replace(info, keys=rank_candidate_keys(info, settings))
    return tables


def key_aliases(con: duckdb.DuckDBPyConnection, tables: Mapping[str, TableInfo]) -> dict[str, frozenset[str]]:
    """Per table, the single-column keys equal row by row to a better-ranked key column."""
    out = {}
    for name, table in tables.items():
        singles = [k[0] for k in table.keys if len(k) == 1 and k[0] not in table.profile.chance_unique]
        pairs = fk_measure.identical_columns(con, table, singles)
        if pairs:
            out[name] = frozenset(max(pair, key=lambda c: key_rank(table, (c,))) for pair in pairs)
    return out


def measure_singles(con: duckdb.DuckDBPyConnection, tables: Mapping[str, TableInfo],
                    settings: RelationshipSettings) -> tuple[list[Candidate], dict[str, int]]:
    """Every surviving (child column, parent) pair, measured exactly, batch by batch."""
    parents = parent_keys(list(tables.values()), settings, key_aliases(con, tables))
    pairs, counts = candidate_pairs(list(tables.values()), parents, settings)
    by_pid = {p.pid: p for p in parents}
    used = sorted({p.pid for ps in pairs.values() for p in ps})
    sizes = fk_measure.load_parent_values(con, tables, [by_pid[pid] for pid in used]) if used else {}
    found = []
    for table_name, group in itertools.groupby(pairs, key=lambda key: key[0]):
        table = tables[table_name]
        children = [table.columns[column] for _, column in group]
        for fam in sorted({c.key_family for c in children}):
            of_family = sorted((c for c in children if c.key_family == fam), key=lambda c: c.profile.position)
            for batch in fk_measure.batches(table, of_family):
                parents_of = {c.name: pairs[(table_name, c.name)] for c in batch}
                found += [Candidate(table_name, (column,), by_pid[pid], m) for column, pid, m in
                          fk_measure.measure_batch(con, table, batch, parents_of, sizes, settings)]
    return found, counts.as_dict() | {"parent_keys": len([p for p in parents if not p.component_of])}


def refine_self_references(con: duckdb.DuckDBPyConnection, candidates: Sequence[Candidate],
                           tables: Mapping[str, TableInfo], settings: RelationshipSettings) -> list[Candidate]:
    """A reference within one table also counts the rows that point at themselves, and when a
    hierarchy is needed and could carry it to acceptance (no cycle would add `expected_cycles` of
    the share of pointers landing on pointing rows), whether following it ever cycles; then it is
    scored again. The walk is skipped where it could change nothing (a wide table has thousands)."""
    out = []
    e = settings.evidence
    for c in candidates:
        if c.child == c.parent.table and c.measure.containment >= settings.min_containment:
            # only what could still be accepted, or listed as likely when a word names the reference
            names = c.evidence.get("name_decades")  # a float, from fk_evidence.scored
            named = isinstance(names, int | float) and names > 0
            bound = expected_cycles(1 - 1 / max(2, c.measure.child_values)) / math.log(10)
            if c.decades + bound < (e.likely if named else e.accept):
                out.append(c)
                continue
            table, child = tables[c.child], c.child_columns[0]
            count, closing = fk_measure.pointers(con, table, child, c.parent.column)
            tree = None
            needed = c.decades < e.accept  # a hierarchy only adds evidence
            could = c.decades + expected_cycles(closing) / math.log(10) >= e.accept
            if needed and could and count >= 2 and table.rows <= settings.hierarchy_max_rows:
                tree = (count, closing, fk_measure.acyclic(con, table, child, c.parent.column))
            rows = fk_measure.self_rows(con, table, child, c.parent.column)
            measure = replace(c.measure, self_rows=rows, hierarchy=tree)
            c = score_candidate(replace(c, measure=measure), tables, settings)
        out.append(c)
    return out


def _component_ok(c: Candidate, settings: RelationshipSettings) -> bool:
    m = c.measure
    within = m.in_span_containment if m.in_span_share >= settings.evidence.min_in_span else 0.0
    return max(m.containment, within) >= measured_floor(settings)


def _composite_combos(singles: Sequence[Candidate], tables: Mapping[str, TableInfo], domains: Domains,
                      settings: RelationshipSettings) -> list[tuple[str, tuple[str, ...], str, tuple[str, ...]]]:
    """(child table, child columns, parent table, key) for every composite key: one contained and
    plausible child column per key column (`fk_resolve.plausible_pair`), all from one child
    table, in the key's column order, best names first, capped per child table."""
    contained: dict[tuple[str, tuple[str, ...], str], list[list[str]]] = {}
    for c in singles:
        if not c.parent.component_of or not _component_ok(c, settings):
            continue
        ccol, pcol = tables[c.child].columns[c.child_columns[0]], tables[c.parent.table].columns[c.parent.column]
        value = single_value_decades(c.measure, ccol, pcol, settings.evidence)[0]
        names = words_match(ccol.parts.core, pcol.parts.core or tables[c.parent.table].words)
        if not plausible_pair((c.child, ccol.name), (pcol.table, pcol.name), value, names, domains, settings):
            continue
        for key in c.parent.component_of:
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
    return round(sum(words_similarity(child.columns[c].parts.core, parent.columns[k].parts.core)
                     for c, k in zip(columns, key, strict=True)), 9)


def measure_composites(con: duckdb.DuckDBPyConnection, tables: Mapping[str, TableInfo], singles: Sequence[Candidate],
                       domains: Domains, settings: RelationshipSettings) -> tuple[list[Candidate], dict[str, int]]:
    """Composite candidates: screened on a sample of a big child table (a combination far below
    the gate there is dropped), then measured exactly on all rows."""
    found, screened, samples = [], 0, {}
    combos = _composite_combos(singles, tables, domains, settings)
    floor = measured_floor(settings) - settings.composite_screen_margin
    for (parent, key), group in itertools.groupby(combos, key=lambda combo: (combo[2], combo[3])):
        size = fk_measure.load_parent_tuples(con, tables[parent], key)
        pkey = ParentKey(pid=-1, table=parent, columns=key, uniqueness=1.0, candidate_key=True)
        for child, columns, _, _ in group:
            if child not in samples:
                samples[child] = fk_measure.sample_blocks(con, tables[child], settings)
            if samples[child]:
                m = fk_measure.measure_tuples(con, tables[child], columns, tables[parent], key, size, settings,
                                              samples[child])
                if max(m.containment, m.in_span_containment, m.row_containment) < floor:
                    screened += 1
                    continue
            m = fk_measure.measure_tuples(con, tables[child], columns, tables[parent], key, size, settings)
            found.append(Candidate(child, columns, pkey, m))
        fk_measure.drop_parent_tuples(con)
    return found, {"composite_pairs_considered": len(combos), "composite_pairs_screened_out": screened}


def _component_decades(singles: Sequence[Candidate], tables: Mapping[str, TableInfo],
                       settings: RelationshipSettings) -> dict[tuple[str, str, str, str], float]:
    """Value decades of each child column against each composite key column it was measured with."""
    out = {}
    for c in singles:
        if c.parent.component_of:
            child, parent = tables[c.child].columns[c.child_columns[0]], tables[c.parent.table].columns[c.parent.column]
            out[(c.child, child.name, c.parent.table, parent.name)] = single_value_decades(
                c.measure, child, parent, settings.evidence)[0]
    return out


# --- the artifact ----------------------------------------------------------------------------


def _rounded(value: Any) -> Any:
    """Floats to 10 significant digits, recursively, so reruns are byte-identical."""
    if isinstance(value, float):
        return round_sig(value)
    if isinstance(value, Mapping):
        return {k: _rounded(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


def to_relationship(c: Candidate, tables: Mapping[str, TableInfo], competing: Sequence[str],
                    unverified: str | None = None) -> Relationship:
    m, rows = c.measure, tables[c.child].rows
    evidence = dict(c.evidence) | ({"competing_parents": sorted(competing)} if competing else {})
    if unverified:
        evidence["unverified_because"] = unverified
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
    tables = prepare_tables(inputs, settings)
    singles, search = measure_singles(con, tables, settings)
    floor = measured_floor(settings)  # below it a candidate is neither accepted, likely nor a near miss
    candidates = [score_candidate(c, tables, settings) for c in singles
                  if not c.parent.component_of and max(c.measure.containment, c.measure.in_span_containment) >= floor]
    candidates = refine_self_references(con, candidates, tables, settings)
    domains = single_domains(candidates, tables, settings)
    composites, composite_search = measure_composites(con, tables, singles, domains, settings)
    fk_measure.drop_parent_values(con)  # the parents' values, kept while composites were measured
    components = _component_decades(singles, tables, settings)
    candidates += [score_candidate(c, tables, settings, components) for c in composites]
    found = resolve(candidates, tables, settings, domains)
    by_child: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for c in found.accepted:
        by_child.setdefault((c.child, c.child_columns), []).append(c.id)
    relationships = sorted(
        (to_relationship(c, tables, [i for i in by_child[(c.child, c.child_columns)] if i != c.id])
         for c in found.accepted), key=lambda r: r.id)
    likely = sorted((to_relationship(c, tables, (), reason) for c, reason in found.likely), key=lambda r: r.id)
    # Near misses only: candidates that reached `rejected_min_containment`, most evidence first.
    rejected = [x for x in found.rejected if x[0].measure.containment >= settings.rejected_min_containment]
    rejected.sort(key=lambda x: (-x[0].decades, x[0].id))
    return Relationships(
        source=source,
        tables={t.name: TableSummary(rows=t.rows, columns=len(t.columns)) for t in tables.values()},
        primary_keys=choose_primary_keys(tables, found.accepted),
        relationships=tuple(relationships),
        likely=tuple(likely),
        rejected=tuple(to_rejected(c, reason) for c, reason in rejected[: settings.max_rejected]),
        search=search | composite_search | {"candidates_scored": len(candidates)},
    )


# --- the phase -------------------------------------------------------------------------------


def discover_relationships(ctx: SourceContext) -> PhaseOutput:
    """Phase `relationships`: relationships.json for one source, from every table's typed Parquet
    file and statistics profiles. A small table (its values within `batch_values`) is copied into
    memory once: a query on a Parquet view reads the file's metadata and binds every column each
    time, 30 ms on a file of 2,000 columns, and a wide table's self-references and alike key
    columns are checked by hundreds of small queries. A large one stays a view, read column by
    column as each query needs."""
    settings = ctx.parse_settings(RelationshipSettings)
    typed = ctx.paths(TYPED_TABLE)
    columns, profiles = ctx.read_tables(COLUMN_PROFILES), ctx.read_tables(TABLE_PROFILE)
    with ctx.connect() as con:
        cells = {t: p.rows * (len(p.columns) + 1) for t, p in profiles.items()}
        inputs = {table: TableInput(view=view, table_profile=profiles[table], column_profiles=columns[table].by_name)
                  for table, view in typed_relations(con, typed, cells, "__rel_t").items()}
        report = find_relationships(con, ctx.source.name, inputs, settings)
    ctx.write(RELATIONSHIPS, report)
    return PhaseOutput(
        summary={
            "relationships": [r.id for r in report.relationships],
            "likely": [r.id for r in report.likely],
            "primary_keys": {t: [list(k) for k in keys[:1]] for t, keys in report.primary_keys.items()},
            "orphan_rows": {r.id: r.orphan_rows for r in report.relationships + report.likely if r.orphan_rows},
        },
    )
