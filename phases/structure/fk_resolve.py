"""From scored candidates to the relationships of a source: which are accepted, which are likely
but unverified, which are rejected and why; and which candidate key of each table is primary.

- A reference within one table needs a key of it as parent, and the table's own first key does
  not point at its rows.
- A candidate is acceptable when its containment passes the gate (or, for a composite whose
  ordinal columns run beyond the parent's range, when the tuples inside that range do), its
  values suggest a reference (`min_value`), its evidence reaches `accept` decades, every column
  of a composite is a plausible reference (`plausible_pair`: by its values, by an exact name,
  or both columns referencing one key), and, for a column of its own table, it does not point
  at its own row.
- A child column set keeps its best acceptable parent (and any of another table within
  `ambiguity` decades and as contained: two identical dimensions); of the two directions of a
  pair of keys that contain each other the more plausible wins (`_precedence`).
- A composite whose parent already references the child table through one of its columns goes
  back along that reference (a count or a last value of the child rows, as a series' number of
  episodes): it is only likely.
- A single reference into one column of a composite key that is not a key by itself is the
  split of the accepted composite reference and is dropped (an agent would join on it and
  multiply rows).
- The best remaining candidate of a child column set without an accepted parent is listed as
  likely when its containment reaches `rejected_min_containment`, its values are unlikely by
  chance (`chance_flag`), its names do not speak against it (and, within one table, speak for
  it) and its evidence reaches `likely` decades: reported with its orphans, not dropped.
- The primary key of a table is the candidate key other tables reference most; ties, and
  tables nobody references, go to the best-ranked key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from phases.structure.fk_evidence import Candidate
from phases.structure.key_candidates import TableInfo

if TYPE_CHECKING:
    from phases.structure.relationship_settings import RelationshipSettings


def passes_gate(c: Candidate, settings: RelationshipSettings) -> bool:
    m = c.measure
    if m.containment >= settings.min_containment:
        return True
    return (len(c.child_columns) > 1 and m.in_span_share >= settings.evidence.min_in_span
            and m.in_span_containment >= settings.min_containment)


Domains = Mapping[tuple[str, str], tuple[str, str]]  # (table, column) -> the (table, column) it references


def plausible_components(c: Candidate, domains: Domains, settings: RelationshipSettings) -> bool:
    """Every column pair of a composite is a plausible reference (`plausible_pair`)."""
    return all(plausible_pair((c.child, x.child_column), (c.parent.table, x.parent_column), x.value_decades,
                              x.name_similarity, domains, settings) for x in c.components)


def objection(c: Candidate, tables: Mapping[str, TableInfo], domains: Domains,
              settings: RelationshipSettings) -> str | None:
    """Why this candidate cannot be accepted on its own evidence (None: it can)."""
    e, m = settings.evidence, c.measure
    if c.child == c.parent.table:
        if not c.parent.candidate_key:
            return "a reference within one table needs a key of it as parent, not a nearly unique column"
        if tables[c.child].keys[:1] == (c.child_columns,):
            return "the table's own key identifies its rows; it does not point at other rows"
    if not passes_gate(c, settings):
        return f"containment {m.containment:.3f} is below min_containment {settings.min_containment}"
    if c.value_decades < e.min_value:
        reason = (f"its values give {c.value_decades:.2f} decades of evidence, below min_value {e.min_value}: "
                  "containment is expected by chance")
        return reason + ("; its values are the parent's first ones, as two tables numbered by one counter"
                         if c.evidence.get("shared_numbering") else "")
    if not plausible_components(c, domains, settings):
        return ("a column of the composite is a plausible reference neither by its values nor by an exact name "
                "(a count or rank that falls in a key column's range)")
    if m.self_rows is not None and m.child_non_null and m.self_rows / m.child_non_null >= e.self_rows_max:
        return (f"{m.self_rows} of {m.child_non_null} rows hold their own row's parent value: "
                "a copy of the column, not a reference to other rows")
    if c.decades < e.accept:
        reason = f"evidence {c.decades:.2f} decades is below accept {e.accept}"
        if c.value_decades < e.chance_flag:
            reason += ("; its values fall where chance puts them (inside a dense range of the parent's), "
                       "so containment is expected by chance")
        names = c.evidence.get("name_similarity", 1.0)  # a float, from key_names.name_evidence
        if isinstance(names, int | float) and names < 0.5:
            reason += "; the names do not suggest a reference"
        return reason
    return None


@dataclass(frozen=True)
class Resolution:
    accepted: list[Candidate]
    likely: list[tuple[Candidate, str]]
    rejected: list[tuple[Candidate, str]]


def single_domains(singles: Sequence[Candidate], tables: Mapping[str, TableInfo],
                   settings: RelationshipSettings) -> dict[tuple[str, str], tuple[str, str]]:
    """What each single column references, from the single candidates alone: tells which columns
    of a composite share a key with the key's columns."""
    accepted, _ = _accept([c for c in singles if len(c.child_columns) == 1], tables, {}, settings)
    return {(c.child, c.child_columns[0]): (c.parent.table, c.parent.columns[0]) for c in accepted}


def plausible_pair(child: tuple[str, str], parent: tuple[str, str], value_decades: float, name_match: float,
                   domains: Domains, settings: RelationshipSettings) -> bool:
    """A child column is a plausible reference to one column of a composite key: by its own values,
    by names that match both ways, or because both reference the same key (an order number in
    the order lines and in the shipments both reference the orders)."""
    e = settings.evidence
    shared = domains.get(child)
    return (value_decades >= e.accept or name_match >= e.exact_name
            or (shared is not None and shared == domains.get(parent)))


def resolve(candidates: Sequence[Candidate], tables: Mapping[str, TableInfo], settings: RelationshipSettings,
            domains: Domains | None = None) -> Resolution:
    """Accepted, likely and rejected candidates (see the module docstring). Single columns are
    resolved first (unless `domains` already says what they reference): what they reference
    tells which columns of a composite share a key."""
    if domains is None:
        domains = single_domains(candidates, tables, settings)
    accepted, rejected = _accept(candidates, tables, domains, settings)
    accepted, back = _backward_composites(accepted)
    accepted, splits = _drop_splits(accepted, tables)
    rejected += splits
    likely = _likely(rejected + back, accepted, settings)
    listed = {c.id for c, _ in likely}
    return Resolution(accepted=accepted, likely=likely, rejected=[x for x in rejected if x[0].id not in listed])


def _accept(candidates: Sequence[Candidate], tables: Mapping[str, TableInfo], domains: Domains,
            settings: RelationshipSettings) -> tuple[list[Candidate], list[tuple[Candidate, str]]]:
    """Acceptable candidates that are the best of their child column set (or within `ambiguity`)
    and not the reverse of one already accepted; the rest with the reason."""
    ordered = sorted(candidates, key=lambda c: _precedence(c, tables))
    reasons = {c.id: objection(c, tables, domains, settings) for c in ordered}
    best: dict[tuple[str, tuple[str, ...]], Candidate] = {}
    for c in ordered:
        if reasons[c.id] is None:
            best.setdefault((c.child, c.child_columns), c)
    accepted: list[Candidate] = []
    rejected: list[tuple[Candidate, str]] = []
    taken: dict[tuple[str, tuple[str, ...], str, tuple[str, ...]], str] = {}  # ends of accepted candidates -> id
    for c in ordered:
        top = best.get((c.child, c.child_columns))
        reverse = (c.parent.table, c.parent.columns, c.child, c.child_columns)
        reason = reasons[c.id]
        behind = top is not None and top is not c and (c.decades < top.decades - settings.evidence.ambiguity
                                                       or c.measure.containment < top.measure.containment
                                                       or c.parent.table == top.parent.table)
        if reason is None and top is not None and behind:
            reason = f"the same column references {top.id} more plausibly ({top.decades:.2f} decades)"
        if reason is None and reverse in taken:
            reason = f"the reverse direction {taken[reverse]} is more plausible"
        if reason is None:
            accepted.append(c)
            taken[c.ends] = c.id
        else:
            rejected.append((c, reason))
    return accepted, rejected


def _precedence(c: Candidate, tables: Mapping[str, TableInfo]) -> tuple[float, bool, int, float, str]:
    """Most evidence first (capped, so several parents may reach the same). Between equals: the
    one into the parent's first-ranked key, then the one from the bigger table (of two keys whose
    values each contain the other's, a table of facts references its lookup, not the other way
    round), then the higher containment."""
    into_first = tables[c.parent.table].keys[:1] == (c.parent.columns,)
    return (-round(c.decades, 6), not into_first, -tables[c.child].rows, -round(c.measure.containment, 6), c.id)


def _backward_composites(accepted: list[Candidate]) -> tuple[list[Candidate], list[tuple[Candidate, str]]]:
    """Composites that go back along an accepted single reference from their parent to their child."""
    singles = {(c.child, c.child_columns[0], c.parent.table, c.parent.columns[0]): c.id
               for c in accepted if len(c.child_columns) == 1}
    kept, back = [], []
    for c in accepted:
        along = [singles[(c.parent.table, k, c.child, col)] for col, k in zip(c.child_columns, c.parent.columns,
                                                                              strict=True)
                 if (c.parent.table, k, c.child, col) in singles]
        if len(c.child_columns) > 1 and along:
            back.append((c, f"its parent references this table through {along[0]}: the composite goes back along "
                            "that reference (a count or a last value of the parent's rows), so it is unverified"))
        else:
            kept.append(c)
    return kept, back


def _drop_splits(accepted: list[Candidate], tables: Mapping[str, TableInfo]
                 ) -> tuple[list[Candidate], list[tuple[Candidate, str]]]:
    """Single references into a column of an accepted composite reference's key that is no key alone."""
    pairs: dict[tuple[str, str, str, str], str] = {}
    for c in accepted:
        if len(c.child_columns) > 1:
            for col, k in zip(c.child_columns, c.parent.columns, strict=True):
                pairs.setdefault((c.child, col, c.parent.table, k), c.id)
    kept, dropped = [], []
    for c in accepted:
        ends = (c.child, c.child_columns[0], c.parent.table, c.parent.columns[0])
        if len(c.child_columns) == 1 and ends in pairs and (c.parent.columns[0],) not in tables[c.parent.table].keys:
            dropped.append((c, f"part of the composite reference {pairs[ends]}: {c.parent.table}."
                               f"{c.parent.columns[0]} is no key on its own, so this join alone multiplies rows"))
        else:
            kept.append(c)
    return kept, dropped


def _likely(rejected: Sequence[tuple[Candidate, str]], accepted: Sequence[Candidate],
            settings: RelationshipSettings) -> list[tuple[Candidate, str]]:
    """The best rejected candidate of each child column set with no accepted parent, when its
    evidence is strong but incomplete."""
    e = settings.evidence
    covered = {(c.child, c.child_columns) for c in accepted} | {
        (c.child, (col,)) for c in accepted if len(c.child_columns) > 1 for col in c.child_columns}
    ends = {c.ends for c in accepted} | {(c.parent.table, c.parent.columns, c.child, c.child_columns)
                                         for c in accepted}
    out: dict[tuple[str, tuple[str, ...]], tuple[Candidate, str]] = {}
    for c, reason in sorted(rejected, key=lambda x: (-x[0].decades, x[0].id)):
        m = c.measure
        if (c.child, c.child_columns) in covered or c.ends in ends or (c.child, c.child_columns) in out:
            continue
        if "own row" in reason or "reverse direction" in reason or "a column of the composite" in reason:
            continue
        strong = max(m.containment, m.in_span_containment) >= settings.rejected_min_containment
        named = c.evidence.get("name_decades", 0.0)  # a float, from fk_evidence.scored
        if not isinstance(named, int | float) or named < 0 or (c.child == c.parent.table and named <= 0):
            continue  # the names speak against it, or a reference within a table has no word for it
        if strong and c.value_decades >= e.chance_flag and c.decades >= e.likely:
            out[(c.child, c.child_columns)] = (c, reason)
    return sorted(out.values(), key=lambda x: (-x[0].decades, x[0].id))[: settings.max_likely]


def choose_primary_keys(tables: Mapping[str, TableInfo], accepted: Sequence[Candidate]
                        ) -> dict[str, tuple[tuple[str, ...], ...]]:
    """Each table's candidate keys, the most referenced first (then in rank order)."""
    incoming: dict[tuple[str, tuple[str, ...]], int] = {}
    for c in accepted:
        if c.child != c.parent.table:
            incoming[(c.parent.table, c.parent.columns)] = incoming.get((c.parent.table, c.parent.columns), 0) + 1
    out = {}
    for name, table in tables.items():
        order = {k: i for i, k in enumerate(table.keys)}
        out[name] = tuple(sorted(table.keys, key=lambda k: (-incoming.get((name, k), 0), order[k])))
    return out
