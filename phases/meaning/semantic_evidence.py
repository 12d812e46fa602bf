"""The measured facts the semantic phase reasons from, and the concept scores they give.

`gather_tables` joins, per column, what earlier phases measured: the typing decision, the
statistics profile (counts, top values, value shapes), key status and relationships. Nothing
is recomputed and no SQL runs: the profiles already hold the value evidence.

`score_concepts` turns a column's facts into one score per ontology concept. Each piece of
evidence (the name, initials of an unclear name, code prefixes of the values, value sets and
patterns, a relationship to a table of that entity, being the key of such a table, the
column's type) adds a score, combined as 1 - prod(1 - s); then a type outside the concept's
types rules the concept out (a text column is no amount, whatever its name says), except that
text whose values look like dates still fits a date concept, at a discount.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import Field

from phases.artifacts.column_profiles import ColumnProfile
from phases.artifacts.column_types import ColumnTyping
from phases.artifacts.relationships import Rejected, Relationship, Relationships
from phases.artifacts.table_profile import TableProfile
from phases.core.config import Model
from phases.meaning.ontology import ConceptSpec, NameReading, Ontology, tokenize
from phases.meaning.ontology_matching import (
    NameHit,
    ValueShare,
    code_prefix,
    initials_readings,
    match_entity,
    name_hits,
    prefix_concepts,
    value_share,
)

NUMERIC = ("integer", "decimal", "currency", "percent")
DATES = ("date", "timestamp")
_TEXT_DATE = re.compile(r"\d{1,4}[-/. ](\d{1,2}|[A-Za-z]{3,9})[-/. ]\d{2,4}([ T]\d{1,2}:\d{2}.*)?")


@dataclass(frozen=True)
class ColumnFacts:
    table: str
    name: str
    profile: ColumnProfile
    typing: ColumnTyping | None
    reading: NameReading
    primary_key: bool  # the table's primary key is this one column
    in_grain: bool  # member of the table's (possibly composite) primary key
    foreign_key: Relationship | None  # the accepted relationship this column is the child of
    parent_index: int  # position of this column in that relationship's child columns
    referenced_by: tuple[str, ...]  # ids of accepted relationships whose parent end is this column alone
    rejected: Rejected | None  # the best rejected candidate from this column, if any

    @property
    def type(self) -> str:
        return self.profile.type

    @property
    def values(self) -> list[ValueShare]:
        return [(v.value, v.share) for v in self.profile.top_values]

    @property
    def shapes(self) -> list[ValueShare]:
        return [(p.pattern, p.share) for p in self.profile.text.patterns] if self.profile.text else []

    @property
    def non_null(self) -> int:
        return self.profile.non_null_count

    @property
    def distinct_ratio(self) -> float:
        return self.profile.distinct_count / self.non_null if self.non_null else 0.0

    @property
    def text_date_share(self) -> float:
        """Share of the value shapes that read as dates (text that failed typing, e.g. mixed formats)."""
        if self.type != "text" or not self.shapes:
            return 0.0
        return sum(s for shape, s in self.shapes if _TEXT_DATE.fullmatch(shape)) / sum(s for _, s in self.shapes)

    def shape_share(self, char: str) -> float:
        """Share of the value shapes containing `char` (' ' for words, '9' for digits)."""
        shapes = self.shapes
        total = sum(s for _, s in shapes)
        return sum(s for shape, s in shapes if char in shape) / total if total else 0.0


@dataclass(frozen=True)
class TableFacts:
    name: str
    rows: int
    profile: TableProfile
    columns: tuple[ColumnFacts, ...]
    primary_key: tuple[str, ...]
    grain_source: str  # where the primary key comes from
    entity: str | None
    entity_phrase: tuple[str, ...]
    outgoing: tuple[Relationship, ...]  # accepted relationships from this table (self-references left out)
    incoming: tuple[Relationship, ...]  # accepted relationships to this table (self-references left out)

    def column(self, name: str) -> ColumnFacts | None:
        return next((c for c in self.columns if c.name == name), None)

    @property
    def references(self) -> tuple[str, ...]:
        """Every accepted foreign key of the table, each whole: all its columns together."""
        return tuple(sorted(reference_text(r) for r in self.outgoing))

    def known_column(self, name: str) -> ColumnFacts:
        """The facts of a column the table is known to have (one that was annotated)."""
        found = self.column(name)
        if found is None:
            raise KeyError(f"table {self.name!r} has no column {name!r}")
        return found


def reference_text(fk: Relationship) -> str:
    """A foreign key as one reference: 'parent.column', or for a composite key every column together,
    'parent(p1, p2) on (c1, c2)', so that no one joins on one of its columns alone."""
    if len(fk.child_columns) == 1:
        return f"{fk.parent_table}.{fk.parent_columns[0]}"
    return f"{fk.parent_table}({', '.join(fk.parent_columns)}) on ({', '.join(fk.child_columns)})"


def table_prefix(names: Sequence[str], min_share: float = 0.8, max_length: int = 3) -> str | None:
    """A short first word most column names of a table share ('l' in l_orderkey, l_quantity, ...):
    a naming convention that prefixes every column with the table's initials, not a word of
    meaning, so reading it as an unclear abbreviation would be wrong."""
    firsts = [tokens[0] for tokens in map(tokenize, names) if len(tokens) > 1]
    if len(names) < 3 or not firsts:
        return None
    top = max(set(firsts), key=lambda t: (firsts.count(t), t))
    return top if len(top) <= max_length and firsts.count(top) >= min_share * len(names) else None


def without_prefix(name: str, prefix: str | None) -> str:
    if prefix is None:
        return name
    rest = re.sub(rf"^{re.escape(prefix)}[\W_]+", "", name, flags=re.IGNORECASE)
    return rest or name


def gather_tables(
    ontology: Ontology, lengths: tuple[int, int], typings: Mapping[str, Mapping[str, ColumnTyping]],
    profiles: Mapping[str, Mapping[str, ColumnProfile]], table_profiles: Mapping[str, TableProfile],
    relationships: Relationships, correlation_keys: Mapping[str, tuple[tuple[str, ...], ...]],
) -> dict[str, TableFacts]:
    """Per table (sorted by name) the facts of its columns (in table order)."""
    accepted = relationships.relationships
    tables: dict[str, TableFacts] = {}
    for table in sorted(profiles):
        tprofile = table_profiles[table]
        key, source = _primary_key(table, relationships, tprofile, correlation_keys, profiles[table],
                                   lambda name: ontology.read(name, *lengths))
        columns = []
        prefix = table_prefix(list(profiles[table]))
        for name, profile in profiles[table].items():
            # a column in a single-column FK and in a composite one is first of all the single reference
            fk = min((r for r in accepted if r.child_table == table and name in r.child_columns),
                     key=lambda r: (len(r.child_columns), -r.confidence, r.id), default=None)
            rejected = max((r for r in relationships.rejected if r.child_table == table and r.child_columns == (name,)),
                           key=lambda r: (r.confidence, r.id), default=None)
            columns.append(ColumnFacts(
                table=table, name=name, profile=profile, typing=typings.get(table, {}).get(name),
                reading=ontology.read(without_prefix(name, prefix), *lengths), primary_key=key == (name,),
                in_grain=name in key,
                foreign_key=fk, parent_index=fk.child_columns.index(name) if fk else 0,
                referenced_by=tuple(r.id for r in accepted if r.parent_table == table and r.parent_columns == (name,)),
                rejected=rejected,
            ))
        entity = match_entity(table, ontology)
        if entity is None and len(key) == 1:  # fall back on what the key column names ('invoice_id')
            hits = name_hits(ontology.read(key[0], *lengths), ontology)
            named = [h for h in hits.values() if h.concept in ontology.entities and not h.weak]
            if named:
                best = max(named, key=lambda h: (h.coverage, len(h.phrase)))
                entity = (best.concept, best.phrase, best.coverage)
        tables[table] = TableFacts(
            name=table, rows=tprofile.rows, profile=tprofile, columns=tuple(columns), primary_key=key,
            grain_source=source, entity=entity[0] if entity else None, entity_phrase=entity[1] if entity else (),
            outgoing=tuple(r for r in accepted if r.child_table == table and not r.self_reference),
            incoming=tuple(r for r in accepted if r.parent_table == table and not r.self_reference),
        )
    return tables


def _primary_key(table: str, relationships: Relationships, profile: TableProfile,
                 correlation_keys: Mapping[str, tuple[tuple[str, ...], ...]], columns: Mapping[str, ColumnProfile],
                 read: Callable[[str], NameReading]) -> tuple[tuple[str, ...], str]:
    """The first candidate key (the relationships phase's, then the statistics profile's, then the
    correlations phase's) none of whose columns is a measure unique by chance: the grain."""
    referenced = {c for r in relationships.relationships if r.parent_table == table for c in r.parent_columns}
    sources = ((relationships.primary_keys.get(table, ()), "the relationships phase's primary key"),
               (profile.candidate_keys, "the first candidate key of the statistics profile"),
               (correlation_keys.get(table, ()), "a candidate key of the correlations phase"))
    skipped: list[str] = []
    for keys, source in sources:
        for key in keys:
            chance = [why for c in key if c not in referenced and (why := unique_by_chance(columns.get(c), read(c)))]
            if chance:
                skipped += [why for why in chance if why not in skipped]
                continue
            note = f" (passed over: {'; '.join(skipped)})" if skipped else ""
            return tuple(key), source + note
    if skipped:
        return (), f"no grain: {'; '.join(skipped)}"
    return (), ""


def unique_by_chance(p: ColumnProfile | None, reading: NameReading) -> str | None:
    """Why a key column is a measure that happens to be unique, or None: decimals never name a row;
    unique integers that are neither named like a key nor dense over their range, with a heavy
    tail, are amounts or counts that happen to be distinct (populations in a small table)."""
    if p is None:
        return None
    if p.type in ("decimal", "currency", "percent"):
        return f"{p.name!r} holds {p.type} values"
    n = p.numeric
    if p.type != "integer" or n is None or reading.id_like or not p.unique:
        return None
    density = p.distinct_count / (float(n.max) - float(n.min) + 1)
    if density < 0.5 and n.skewness is not None and abs(n.skewness) > 1:
        return (f"{p.name!r} is unique, but its {p.distinct_count} integers cover {density:.1%} of their range "
                f"{n.min:g}..{n.max:g} with skewness {n.skewness:.1f}: a measure unique by chance")
    return None


# --- concept scores ---------------------------------------------------------------------------


@dataclass
class ConceptScore:
    concept: str
    score: float = 0.0
    parts: list[tuple[str, float, str]] = field(default_factory=list)  # (evidence kind, score, detail)
    type_note: str | None = None  # why the type discounted or ruled out the concept
    before_type: float = 0.0  # the score before the type check

    def add(self, kind: str, score: float, detail: str) -> None:
        self.parts.append((kind, score, detail))
        self.score = 1 - (1 - self.score) * (1 - max(0.0, min(1.0, score)))


class Scores(Model):
    """Evidence weights (config/semantic.yaml, section scores), combined as 1 - prod(1 - score)."""

    name_full: float = Field(0.9, ge=0, le=1)
    name_partial: float = Field(0.65, ge=0, le=1)
    name_not_head: float = Field(0.85, ge=0, le=1)
    weak_indicator: float = Field(0.35, ge=0, le=1)
    companion: float = Field(0.25, ge=0, le=1)
    abbreviated: float = Field(0.95, ge=0, le=1)
    initials: float = Field(0.3, ge=0, le=1)
    code_prefix: float = Field(0.45, ge=0, le=1)
    code_initial: float = Field(0.3, ge=0, le=1)
    relationship: float = Field(0.9, ge=0, le=1)
    rejected_relationship: float = Field(0.5, ge=0, le=1)
    table_key: float = Field(0.85, ge=0, le=1)
    implied_type: float = Field(0.5, ge=0, le=1)
    text_date_type_factor: float = Field(0.6, ge=0, le=1)


def strong_name_concepts(table: TableFacts, ontology: Ontology) -> dict[str, set[str]]:
    """Per column the concepts its name names outright (no weak indicator): companions for the others."""
    return {c.name: {h.concept for h in name_hits(c.reading, ontology).values() if not h.weak and h.coverage >= 0.5}
            for c in table.columns}


def name_score(hit: NameHit, s: Scores) -> float:
    score = s.name_partial + (s.name_full - s.name_partial) * hit.coverage
    if not hit.head:
        score *= s.name_not_head
    if hit.abbreviated:
        score *= s.abbreviated
    return score


def score_concepts(
    col: ColumnFacts, table: TableFacts, tables: Mapping[str, TableFacts], ontology: Ontology, s: Scores,
    companions: set[str], value_min_share: float, prefix_min_share: float, text_date_min_share: float,
) -> dict[str, ConceptScore]:
    """Every concept with some evidence for `col`, after the type check."""
    scores: dict[str, ConceptScore] = {}

    def get(cid: str) -> ConceptScore:
        return scores.setdefault(cid, ConceptScore(cid))

    words = " ".join(col.reading.texts)
    for hit in name_hits(col.reading, ontology).values():
        concept = ontology.concepts[hit.concept]
        supported = sorted(set(concept.spec.companions) & companions)
        score = name_score(hit, s)
        if hit.weak and not supported:
            score *= s.weak_indicator
        how = "weak indicator" if hit.weak else "indicator"
        get(hit.concept).add("name", score, f"name words {words!r} contain the {how} {' '.join(hit.phrase)!r} "
                                            f"(covers {hit.coverage:.0%} of the meaningful words)")
        if supported:
            get(hit.concept).add("ontology", s.companion, f"companion {', '.join(supported)} in the same table")
    readings = initials_readings(col.reading, ontology)
    for cid, how in readings.items():
        get(cid).add("name", s.initials / len(readings), f"unclear name {col.name!r}: {how}")
    _relationship_evidence(col, table, tables, s, get, ontology)
    if (col.primary_key or col.referenced_by) and table.entity is not None and table.entity in ontology.concepts:
        what = "primary key" if col.primary_key else "referenced key"
        get(table.entity).add("relationship", s.table_key, f"{what} of table {table.name!r}, whose rows are "
                                                          f"{table.entity} records (table name)")
    for concept in ontology.concepts.values():
        spec = concept.spec
        if spec.value_set or spec.value_patterns or spec.value_check:
            share = value_share(spec, col.values, col.shapes)
            if share >= value_min_share:
                get(concept.id).add("values", spec.value_weight * share,
                                    f"{share:.0%} of the profiled values or value shapes look like "
                                    f"{spec.label.lower()} values")
        if col.type in spec.implied_by_types:
            get(concept.id).add("type", s.implied_type, f"typed {col.type}")
    prefix = code_prefix(col.values, col.shapes, prefix_min_share) if col.type == "text" else None
    if prefix:
        coded = prefix_concepts(prefix, ontology)
        for cid, single in coded.items():
            if single and cid not in scores:
                continue  # one letter is too little on its own: it only supports what the name suggests
            score = (s.code_initial if single else s.code_prefix) / len(coded)
            get(cid).add("values", score, f"values are codes with the prefix {prefix!r}, which abbreviates "
                                          f"{ontology.concepts[cid].spec.label.lower()}")
    for cid, sc in scores.items():
        _apply_type(sc, col, ontology.concepts[cid].spec.types, s, text_date_min_share)
        _apply_range(sc, col, ontology.concepts[cid].spec)
    return {cid: sc for cid, sc in scores.items() if sc.score > 0 or sc.type_note}


def _relationship_evidence(col: ColumnFacts, table: TableFacts, tables: Mapping[str, TableFacts], s: Scores,
                           get: Callable[[str], ConceptScore], ontology: Ontology) -> None:
    fk = col.foreign_key
    if fk is not None:
        parent = tables.get(fk.parent_table)
        entity = parent.entity if parent else None
        if entity is not None and entity in ontology.concepts:
            get(entity).add("relationship", s.relationship * fk.confidence,
                            f"foreign key {fk.id} (confidence {fk.confidence:.2f}) to table {fk.parent_table!r}, "
                            f"whose rows are {entity} records")
    elif col.rejected is not None:
        parent = tables.get(col.rejected.parent_table)
        entity = parent.entity if parent else None
        if entity is not None and entity in ontology.concepts:
            get(entity).add("relationship", s.rejected_relationship * col.rejected.confidence,
                            f"rejected foreign key candidate {col.rejected.id} (confidence "
                            f"{col.rejected.confidence:.2f}: {col.rejected.reason}) to {entity} records")


def _apply_type(sc: ConceptScore, col: ColumnFacts, types: Sequence[str], s: Scores, text_date_min: float) -> None:
    sc.before_type = sc.score
    if not types or col.type in types:
        return
    if set(types) <= set(DATES) and col.text_date_share >= text_date_min:
        sc.score *= s.text_date_type_factor
        sc.type_note = (f"typed text, but {col.text_date_share:.0%} of the value shapes are dates (mixed or unparsed "
                        f"formats): {sc.concept} kept at a discount")
        return
    sc.type_note = f"name or values suggest {sc.concept}, but a {col.type} column cannot be one (expects " \
                   f"{', '.join(types)})"
    sc.score = 0.0


def _apply_range(sc: ConceptScore, col: ColumnFacts, spec: ConceptSpec) -> None:
    """Rule out a concept whose value domain the column leaves ('month' holding 0..400), and a
    calendar part named in the plural: 'days' or 'hours' count units, 'day' and 'hour' name a part."""
    if sc.score <= 0:
        return
    n = col.profile.numeric
    if spec.value_range is not None and n is not None:
        low, high = spec.value_range
        if n.min < low or n.max > high:
            sc.type_note = (f"the name suggests {sc.concept}, but the values {n.min:g}..{n.max:g} leave its "
                            f"domain {low:g}..{high:g}")
            sc.score = 0.0
            return
    if spec.calendar_part and any(w.source != w.text and w.source.endswith("s") and not w.abbreviated
                                  for w in col.reading.words if w.text in _label_words(spec)):
        sc.type_note = f"a plural name counts units ({col.name!r}): not the calendar part {sc.concept}"
        sc.score = 0.0


def _label_words(spec: ConceptSpec) -> set[str]:
    return {w for text in (spec.label, *spec.indicators) for w in text.lower().split()}


def ranked(scores: Mapping[str, ConceptScore], ontology: Ontology) -> list[ConceptScore]:
    """Best first; ties go to the concept defined first (ontologies in their listed order)."""
    return sorted(scores.values(), key=lambda c: (-round(c.score, 9), ontology.concepts[c.concept].order))
