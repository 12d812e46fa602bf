"""The evidence that a child column set references a parent key, in decades: log10 of how much
likelier the measured values are if the child references the parent than if it is an unrelated
column that happens to fall among the parent's values.

Values decide; names only break ties:

- **Values.** Containment counts only beyond what chance gives. For integers, two chances:
  where the child's values lie (`location_chance`: values 1..100 fit any key range that starts
  at 1, a day key near 2.45 million does not happen by accident) and how densely the parent
  fills the overlap of the ranges (a sparse key set is rarely hit by chance: each value found
  is a binomial success against that density). Dates only have the density (every real date
  lies in one era); text the density of the parent's values among the strings of the child's
  shape ('AA' codes: 676 strings), never below `text_chance_floor` (real text shares
  vocabularies). Values the two tables number with one counter (`Measure.shared_numbering`)
  give no evidence at all. A reference within one table that never cycles is a hierarchy:
  random pointers would cycle (`hierarchy_decades`). A composite's evidence is its columns'
  plus its tuples' beyond them.
- **Names** add at most `name_weight` decades: enough to decide between parents that values
  cannot tell apart, or to carry a reference whose values are suggestive but not conclusive;
  never enough when the values say nothing (`min_value`). A name sharing no word with the
  parent's column or table costs `no_name_penalty`.
- A parent that is only nearly unique costs `near_unique_penalty`.

A candidate is accepted from `accept` decades on (`fk_resolve`); its confidence is
`accepted_confidence` there and 1 from `full` decades on (`confidence`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from phases.core.records import Scalar
from phases.structure.key_candidates import ORDINAL, KeyColumn, ParentKey, TableInfo, location_chance, ordinal_range
from phases.structure.key_names import words_match, words_similarity

if TYPE_CHECKING:
    from phases.structure.relationship_settings import EvidenceSettings, NameSettings, RelationshipSettings

LN10 = math.log(10)


@dataclass(frozen=True)
class Measure:
    """Exact counts of one (child columns, parent key) candidate."""

    child_values: int  # distinct non-null child keys
    child_non_null: int  # rows with a complete child key
    matched_values: int
    matched_rows: int
    max_rows_per_value: int  # among matched child keys: 1 means one-to-one
    fan_out_rows: int  # sum over matched keys of child rows x (parent rows - 1)
    parent_values: int  # distinct parent keys
    density: float  # share of the child's range (or of the parent columns' value product) the parent fills
    in_span_values: int  # child keys inside the parent's range(s): all of them for text
    aligned_ranks: int = 0  # matched values at the same rank of first appearance in child and parent
    last_rank: int = 0  # the child's latest rank of first appearance among the matched values
    aligned_rows: int = 0  # matched values that first appear on the same row number in child and parent
    last_first_row: int = 0  # the latest row on which a matched value first appears in the child
    orphan_examples: tuple[tuple[Scalar | tuple[Scalar, ...], int], ...] = ()  # (value, rows), most frequent first
    trimmed_orphans: tuple[int, int] | None = None  # (values, rows) found after trim + lower-case
    self_rows: int | None = None  # rows whose child value equals their own parent value (self-references)
    hierarchy: tuple[int, float, bool] | None = None  # self-references: see fk_measure.hierarchy

    @property
    def containment(self) -> float:
        return self.matched_values / self.child_values if self.child_values else 0.0

    @property
    def row_containment(self) -> float:
        return self.matched_rows / self.child_non_null if self.child_non_null else 0.0

    @property
    def in_span_containment(self) -> float:
        return self.matched_values / self.in_span_values if self.in_span_values else 0.0

    @property
    def in_span_share(self) -> float:
        return self.in_span_values / self.child_values if self.child_values else 0.0

    def shared_numbering(self, minimum: int, unique_child: bool) -> bool:
        """The child's values are the parent's numbered by the same counter, not references to it.
        The child holds only part of the parent's values, and either
        - every matched value first appears on the same row number in both tables, with repeats
          in between (at least `minimum` values): the value is a function of the row number, as
          90 item ids spelled like the customer ids of rows 1, 2, 4, 7, ...; or
        - the child is unique (a key) and holds the parent's first values in the parent's order:
          household ids 1..7,200 inside demographics ids 1..19,208, two one-row tables' ids.
        A child table that starts by listing the parent's first values once each (a bridge table
        written in invoice order) is neither."""
        m = self.matched_values
        if m == 0 or m >= self.parent_values:
            return False
        if self.aligned_rows == m and self.last_first_row > m and m >= minimum:
            return True
        return unique_child and self.aligned_ranks == m and self.last_rank == m


@dataclass(frozen=True)
class ComponentEvidence:
    """Per (child column, parent key column) of a composite: its own value decades and how far the
    names match both ways (a count named 'episodes appeared' only mentions the episode)."""

    child_column: str
    parent_column: str
    value_decades: float
    name_similarity: float


@dataclass(frozen=True)
class Candidate:
    """A measured (child columns -> parent key) pair and, once scored, its evidence."""

    child: str
    child_columns: tuple[str, ...]
    parent: ParentKey  # for a composite key: a ParentKey whose columns are the whole key
    measure: Measure
    decades: float = 0.0  # value + names + key
    value_decades: float = 0.0
    confidence: float = 0.0
    components: tuple[ComponentEvidence, ...] = ()  # composites: the evidence of each column pair
    evidence: Mapping[str, object] = field(default_factory=dict)

    @functools.cached_property
    def id(self) -> str:
        return relationship_id(self.child, self.child_columns, self.parent.table, self.parent.columns)

    @property
    def ends(self) -> tuple[str, tuple[str, ...], str, tuple[str, ...]]:
        return self.child, self.child_columns, self.parent.table, self.parent.columns


def relationship_id(child: str, child_columns: Sequence[str], parent: str, parent_columns: Sequence[str]) -> str:
    """'child.col->parent.col', or 'child.(a, b)->parent.(x, y)' for composite keys."""
    def side(table: str, columns: Sequence[str]) -> str:
        return f"{table}.{columns[0]}" if len(columns) == 1 else f"{table}.({', '.join(columns)})"

    return f"{side(child, child_columns)}->{side(parent, parent_columns)}"


# --- chance ----------------------------------------------------------------------------------


def binomial_decades(trials: int, successes: int, chance: float) -> float:
    """-log10 of the Chernoff bound on P(at least `successes` of `trials` at rate `chance`):
    trials x KL(successes/trials || chance), in decades; 0 when no more than chance."""
    if trials <= 0 or successes <= 0:
        return 0.0
    q = successes / trials
    if q <= chance:
        return 0.0
    if chance <= 0:
        return math.inf
    kl = q * math.log(q / chance)
    if q < 1:
        kl += (1 - q) * math.log((1 - q) / (1 - chance))
    return trials * kl / LN10


def shape_space(pattern: str) -> float:
    """How many strings have this shape: 26 per letter, 10 per digit, 1 per other character;
    a shape cut short ('…') is taken as unbounded."""
    if pattern.endswith("…"):
        return math.inf
    return math.prod(26.0 if ch == "A" else 10.0 if ch == "9" else 1.0 for ch in pattern)


def text_chance(child: KeyColumn, parent: KeyColumn, parent_values: int, floor: float) -> float:
    """The chance that a child value of its shape is one of the parent's values: per shape, the
    parent's values of that shape over all strings of that shape, weighted by the child's shares;
    never below `floor`, since real text shares vocabularies (cities, statuses) far more often
    than random strings of one shape would."""
    if child.profile.text is None or parent.profile.text is None:
        return floor
    parent_shapes = {s.pattern: s.share for s in parent.profile.text.patterns}
    total = 0.0
    for shape in child.profile.text.patterns:
        space = shape_space(shape.pattern)
        if math.isfinite(space) and space > 0:
            total += shape.share * min(1.0, parent_shapes.get(shape.pattern, 0.0) * parent_values / space)
    return max(floor, min(1.0, total))


def single_value_decades(m: Measure, child: KeyColumn, parent: KeyColumn, settings: EvidenceSettings,
                         names_agree: bool = False) -> tuple[float, dict[str, object]]:
    """Decades of evidence from the values of a one-column candidate, and what they rest on.
    A unique child holding the parent's first values in order is either numbered by the same
    counter (TPC-DS's business ids) or a one-to-one reference written in the parent's order (a
    payment per invoice): values cannot tell them apart, so the names break the tie
    (`names_agree`: the child is named as the parent's key both ways; for the child table's own
    first key, which numbers its rows, only by the very same name)."""
    unique_child = child.unique and child.profile.null_count == 0 and not names_agree
    if m.shared_numbering(settings.shared_numbering_min, unique_child):
        return 0.0, {"shared_numbering": True}
    location = 1.0
    low, high = ordinal_range(child.profile), ordinal_range(parent.profile)
    if child.family == "integer" and low is not None and high is not None:
        location = location_chance(low, high, settings.location_scale)
    if child.family in ORDINAL:
        chance = m.density
    elif child.family == "text":
        chance = text_chance(child, parent, m.parent_values, settings.text_chance_floor)
    else:
        chance = 0.0  # timestamps: an exact instant is not matched by accident
    decades = -math.log10(location) + binomial_decades(m.in_span_values, m.matched_values, chance)
    basis: dict[str, object] = {"location_chance": location, "value_chance": chance}
    if m.hierarchy is not None:
        basis["hierarchy_decades"] = hierarchy_decades(m)
        decades += hierarchy_decades(m)
    return min(settings.value_cap, decades), basis


def expected_cycles(closing: float) -> float:
    """Expected cycles (of two rows or more) when pointers land at random and a share `closing`
    of them lands on rows that point on: sum over lengths L of closing^L / L."""
    closing = min(closing, 1 - 1e-6)
    return -math.log(1 - closing) - closing


def hierarchy_decades(m: Measure) -> float:
    """Evidence from a reference within one table that never cycles: random pointers would form
    no cycle with probability about exp(-expected cycles); a real hierarchy forms none."""
    if m.hierarchy is None or not m.hierarchy[2] or m.hierarchy[0] < 2:
        return 0.0
    return expected_cycles(m.hierarchy[1]) / LN10


def tuple_value_decades(m: Measure, settings: EvidenceSettings) -> float:
    """Decades from composite tuples beyond what their columns give: child tuples inside the
    parent's ranges found beyond the density of the parent's tuples in the product of its
    columns' values (none for a complete grid, where every combination exists)."""
    return min(settings.value_cap, binomial_decades(m.in_span_values, m.matched_values, m.density))


# --- scoring ---------------------------------------------------------------------------------


def name_evidence(child: Sequence[KeyColumn], parent: Sequence[KeyColumn], parent_table: TableInfo,
                  self_reference: bool, rules: NameSettings) -> dict[str, float]:
    """How far the names say 'this references that': column to column (a bare 'id' stands for its
    table's name; a name mentioning the parent's counts half, one saying the same in both ways
    fully, so 'baker' prefers 'baker' to 'baker first') and column to the parent table's name;
    for a self-reference only a word like
    'parent' counts (worth half a match: it says the column points at another row, not at which
    column; columns of one table share words anyway)."""
    pairs = list(zip(child, parent, strict=True))

    def alike(c: KeyColumn, p: KeyColumn) -> float:  # one way ('bill customer' names a customer) and both ways
        words = p.parts.core or parent_table.words
        return (words_similarity(c.parts.core, words) + words_match(c.parts.core, words)) / 2

    col = sum(alike(c, p) for c, p in pairs) / len(pairs)
    table = max(words_similarity(c.parts.core, parent_table.words) for c in child)
    if self_reference:
        hint = any(w in rules.self_reference_words for c in child for w in c.parts.core)
        overall = 0.5 if hint else 0.0
    else:
        overall = (col + table) / 2
    return {"column_name_similarity": col, "table_name_similarity": table, "name_similarity": overall}


def scored(candidate: Candidate, tables: Mapping[str, TableInfo], settings: RelationshipSettings,
           components: Mapping[tuple[str, str, str, str], float] | None = None) -> Candidate:
    """The candidate with its decades, confidence and evidence filled in. `components` holds the
    value decades of single columns against the columns of composite keys (for composites)."""
    e = settings.evidence
    m = candidate.measure
    child, parent = tables[candidate.child], tables[candidate.parent.table]
    c_cols = [child.columns[c] for c in candidate.child_columns]
    p_cols = [parent.columns[c] for c in candidate.parent.columns]
    names = name_evidence(c_cols, p_cols, parent, child.name == parent.name, settings.names)
    parts: tuple[ComponentEvidence, ...] = ()
    if len(c_cols) == 1:
        # the table's own identifier numbers its rows: only the very same name makes it a reference
        # (an extension table keyed by its parent's key), a similar one does not (hd_demo_sk, cd_demo_sk)
        own_key = child.keys[:1] == ((c_cols[0].name,),)
        same_name = c_cols[0].name.casefold() == p_cols[0].name.casefold()
        names_agree = names["name_similarity"] >= e.exact_name and (same_name or not own_key)
        value, basis = single_value_decades(m, c_cols[0], p_cols[0], e, names_agree)
    else:
        parts = tuple(_component(c, p, parent, components or {}) for c, p in zip(c_cols, p_cols, strict=True))
        # P(every tuple found by chance) = P(each column's values found) x P(tuple found | each column found)
        value = min(e.value_cap, tuple_value_decades(m, e) + sum(x.value_decades for x in parts))
        basis = {"value_chance": m.density, "tuple_decades": tuple_value_decades(m, e)}
        basis["components"] = [{"column": x.child_column, "value_decades": x.value_decades,
                                "name_similarity": x.name_similarity} for x in parts]
    name = e.name_weight * names["name_similarity"]
    if child.name != parent.name and names["column_name_similarity"] == 0 and names["table_name_similarity"] == 0:
        name = -e.no_name_penalty  # the name says nothing of the parent: a coincidence of ranges is likelier
    key = 0.0 if candidate.parent.candidate_key else -e.near_unique_penalty
    total = value + name + key
    evidence: dict[str, object] = {
        "containment": m.containment, "row_containment": m.row_containment,
        "in_span_containment": m.in_span_containment, "in_span_share": m.in_span_share,
        "value_decades": value, "name_decades": name, "key_decades": key, "decades": total,
        "containment_expected_by_chance": value < e.chance_flag,
        "child_values": m.child_values, "parent_values": m.parent_values,
        "parent_coverage": m.matched_values / m.parent_values if m.parent_values else 0.0,
        "parent_is_candidate_key": candidate.parent.candidate_key, "parent_uniqueness": candidate.parent.uniqueness,
        **basis, **names,
    }
    if m.trimmed_orphans is not None:
        evidence["orphans_matching_after_trim"] = {"values": m.trimmed_orphans[0], "rows": m.trimmed_orphans[1]}
    if m.self_rows is not None:
        evidence["rows_pointing_at_themselves"] = m.self_rows
    return replace(candidate, decades=total, value_decades=value, components=parts,
                   confidence=confidence(total, e), evidence=evidence)


def confidence(decades: float, settings: EvidenceSettings) -> float:
    """0..1 from decades: `accepted_confidence` at `accept` (an accepted reference is verified as
    far as values and names can verify it), rising linearly to 1 at `full`, falling linearly to
    0 below `accept`."""
    if decades >= settings.accept:
        share = (decades - settings.accept) / max(settings.full - settings.accept, 1e-9)
        return min(1.0, settings.accepted_confidence + (1 - settings.accepted_confidence) * share)
    return max(0.0, settings.accepted_confidence * decades / settings.accept) if settings.accept else 0.0


def _component(child: KeyColumn, parent: KeyColumn, parent_table: TableInfo,
               components: Mapping[tuple[str, str, str, str], float]) -> ComponentEvidence:
    value = components.get((child.table, child.name, parent.table, parent.name), 0.0)
    return ComponentEvidence(child.name, parent.name, value,
                             words_match(child.parts.core, parent.parts.core or parent_table.words))
