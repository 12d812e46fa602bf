"""Helpers of the relationships phase: which columns can be keys, how a table's candidate keys
rank, which column sets a child may reference, and the cheap pruning that decides which
(child column, parent key) pairs are worth measuring at all.

Everything here works on the statistics phase's exact profiles and candidate keys (the key
search itself runs there, `phases.profile.key_search`). No function here joins two tables:
that is `phases.structure.fk_measure`'s job, and it only sees the pairs that survive
`candidate_pairs`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from phases.artifacts.column_profiles import ColumnProfile
from phases.artifacts.table_profile import TableProfile
from phases.core.sql import INTEGER_SQL
from phases.structure.key_names import NameParts, column_name_parts, table_name_words, table_prefix, words_similarity

if TYPE_CHECKING:
    from phases.structure.relationship_settings import NameSettings, RelationshipSettings

STORAGE = {"integer": "BIGINT", "text": "VARCHAR", "date": "DATE", "timestamp": "TIMESTAMP"}
ORDINAL = {"integer", "date"}  # values fill ranges densely, so containment in a parent can be pure chance


def family(sql_type: str) -> str | None:
    """The comparison family of a DuckDB type; values only ever match within one family."""
    if sql_type in INTEGER_SQL:
        return "integer"
    if sql_type == "VARCHAR":
        return "text"
    if sql_type == "DATE":
        return "date"
    if sql_type.startswith("TIMESTAMP"):
        return "timestamp"
    return None  # decimals, floats, booleans and the rest are never keys


# --- columns, tables and keys ----------------------------------------------------------------


@dataclass(frozen=True)
class KeyColumn:
    """A column as the key search sees it."""

    table: str
    name: str
    profile: ColumnProfile
    family: str | None
    parts: NameParts

    @property
    def distinct(self) -> int:
        return self.profile.distinct_count

    @property
    def unique(self) -> bool:
        return self.profile.unique

    @property
    def key_family(self) -> str:
        """The family of a column that takes part in a key: `key_like` admits no column without one."""
        if self.family is None:
            raise ValueError(f"{self.table}.{self.name} ({self.profile.sql_type}) has no key family")
        return self.family


@dataclass(frozen=True)
class TableInfo:
    """A table of the source with its profiles, its DuckDB view and its name words."""

    name: str
    view: str  # the view over typed.parquet in this phase's connection
    profile: TableProfile
    columns: Mapping[str, KeyColumn]
    words: tuple[str, ...]
    keys: tuple[tuple[str, ...], ...] = ()  # ranked candidate keys, the most plausible first

    @property
    def rows(self) -> int:
        return self.profile.rows


def describe_table(name: str, view: str, profile: TableProfile, columns: Mapping[str, ColumnProfile],
                   rules: NameSettings) -> TableInfo:
    prefix = table_prefix(list(columns))
    described = {
        col: KeyColumn(table=name, name=col, profile=p, family=family(p.sql_type),
                       parts=column_name_parts(col, prefix, rules))
        for col, p in columns.items()
    }
    return TableInfo(name=name, view=view, profile=profile, columns=described,
                     words=table_name_words(name, rules))


def key_like(column: KeyColumn, settings: RelationshipSettings) -> bool:
    """Can this column be part of a key at all? Amounts, booleans and long free text cannot."""
    p = column.profile
    if column.family is None or p.type not in settings.key_types or p.non_null_count == 0:
        return False
    return not (p.text is not None and p.text.max_length > settings.key_max_text_length)


def key_rank(table: TableInfo, key: Sequence[str]) -> tuple[bool, bool, int, int, int, int, float, list[int]]:
    """Sort key of candidate keys, most plausible first: no column unique only by chance (a
    measure), then not only dates and times (an episode is identified by series and number, not
    by its air date), then fewer columns, then names that read like identifiers of this very
    table ('invoice_id' in invoices, a bare 'id'), then integers and short codes, then the
    smallest product of distinct counts against the rows (a composite key is barely unique),
    then the leftmost. After the foreign keys are known the primary key is the most referenced."""
    columns = [table.columns[c] for c in key]
    chance = any(c in table.profile.chance_unique for c in key)
    temporal = all(c.family in ("date", "timestamp") for c in columns)
    named = sum(c.parts.id_like for c in columns)
    own = sum(not c.parts.core or words_similarity(c.parts.core, table.words) >= 0.8 for c in columns)
    compact = sum(c.family == "integer" or (c.profile.text is not None and c.profile.text.max_length <= 20)
                  for c in columns)
    excess = sum(math.log(max(1, c.distinct)) for c in columns) - math.log(max(1, table.rows))
    return (chance, temporal, len(key), -named, -own, -compact, round(excess, 9), [c.profile.position for c in columns])


def rank_candidate_keys(table: TableInfo, settings: RelationshipSettings) -> tuple[tuple[str, ...], ...]:
    """The statistics phase's candidate keys whose columns are all key-like, ranked by `key_rank`."""
    keys = {k for k in table.profile.candidate_keys
            if k and all(c in table.columns and key_like(table.columns[c], settings) for c in k)}
    return tuple(sorted(keys, key=lambda k: key_rank(table, k)))


# --- parents and candidate pairs -------------------------------------------------------------


@dataclass(frozen=True)
class ParentKey:
    """A column set that child columns may reference: a key, a nearly unique column, or one
    column of composite keys (only used to find the child columns of composite keys)."""

    pid: int
    table: str
    columns: tuple[str, ...]
    uniqueness: float  # distinct / non-null values (1 for a key)
    candidate_key: bool  # unique and non-null
    component_of: tuple[tuple[str, ...], ...] = ()  # the composite keys this single column belongs to

    @property
    def column(self) -> str:
        return self.columns[0]


def parent_keys(tables: Sequence[TableInfo], settings: RelationshipSettings,
                aliases: Mapping[str, frozenset[str]]) -> list[ParentKey]:
    """Every column set a child may reference, numbered in a stable order. `aliases` names, per
    table, key columns equal row by row to a better-ranked one: they are not parents of their own.
    A table of fewer than `small_table_rows` rows has only its best-ranked key as parent: there
    every column is unique, which says nothing (a one-row table's opening hours are no key).
    Columns unique by chance stay parents, ranked last: sparse account numbers look like that."""
    found: list[ParentKey] = []
    for table in tables:
        skip = set(aliases.get(table.name, frozenset()))
        small = table.rows < settings.small_table_rows
        keys = table.keys[:1] if small else table.keys
        skip |= {c.name for c in table.columns.values() if not _calendar_like(c, settings)}
        singles = [k for k in keys if len(k) == 1 and k[0] not in skip]
        composites = [k for k in keys if len(k) > 1][: settings.max_composite_keys_per_table]
        nearly: list[tuple[str, ...]] = [] if small else [
            (c.name,) for c in table.columns.values()
            if _nearly_unique(c, settings) and (c.name,) not in singles and c.name not in skip]
        chosen = sorted(singles + nearly, key=lambda k: key_rank(table, k))[: settings.max_parent_keys_per_table]
        for key in chosen:
            p = table.columns[key[0]].profile
            found.append(ParentKey(pid=len(found), table=table.name, columns=key,
                                   uniqueness=p.distinct_count / p.non_null_count, candidate_key=key in singles))
        components = sorted({c for k in composites for c in k}, key=lambda c: table.columns[c].profile.position)
        for column in components:
            p = table.columns[column].profile
            found.append(ParentKey(pid=len(found), table=table.name, columns=(column,),
                                   uniqueness=p.distinct_count / p.non_null_count, candidate_key=False,
                                   component_of=tuple(k for k in composites if column in k)))
    return found


def _calendar_like(column: KeyColumn, settings: RelationshipSettings) -> bool:
    """A date column is a parent only when it fills most days of its range (a calendar): a table
    of events (air dates, one a week) is identified by something else, and other dates falling
    on its events (a premiere on the first air date) do not reference it."""
    if column.family != "date":
        return True
    span = ordinal_range(column.profile)
    return span is not None and column.distinct >= settings.date_parent_min_density * (span[1] - span[0] + 1)


def _nearly_unique(column: KeyColumn, settings: RelationshipSettings) -> bool:
    p = column.profile
    return (key_like(column, settings) and p.distinct_count >= 2
            and p.distinct_count / p.non_null_count >= settings.parent_min_uniqueness
            and p.null_ratio <= settings.parent_max_null_ratio)


@dataclass
class PruneCounts:
    """How many (child column, parent) pairs each cheap test removed, for the report."""

    considered: int = 0
    type: int = 0
    distinct: int = 0
    value_range: int = 0
    length: int = 0
    capped: int = 0
    kept: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"pairs_considered": self.considered, "pruned_by_type": self.type,
                "pruned_by_distinct_count": self.distinct, "pruned_by_value_range": self.value_range,
                "pruned_by_text_length": self.length, "pruned_by_cap": self.capped, "pairs_measured": self.kept}


def child_eligible(column: KeyColumn, settings: RelationshipSettings) -> bool:
    return key_like(column, settings) and column.distinct >= settings.min_child_distinct


def measured_floor(settings: RelationshipSettings) -> float:
    """The least containment worth measuring: the gate, or the likely list's lower one."""
    return min(settings.min_containment, settings.rejected_min_containment)


def _prune_reason(child: KeyColumn, parent: KeyColumn, settings: RelationshipSettings) -> str | None:
    """Why this pair cannot reach the containment floor, from profiles alone (None: measure it)."""
    if child.family != parent.family:
        return "type"
    need = measured_floor(settings) * child.distinct  # distinct child values that must be found
    if parent.distinct < need:
        return "distinct"
    if child.family in ORDINAL:
        low, high = ordinal_range(child.profile), ordinal_range(parent.profile)
        if low is None or high is None:
            return "value_range"
        overlap = min(low[1], high[1]) - max(low[0], high[0]) + 1  # values both ranges can hold
        if overlap < need:
            return "value_range"
    if child.family == "text" and child.profile.text and parent.profile.text:
        c, p = child.profile.text, parent.profile.text
        if c.min_length > p.max_length or c.max_length < p.min_length:
            return "length"
    return None


def ordinal_range(profile: ColumnProfile) -> tuple[int, int] | None:
    """An integer column's [min, max], or a date column's as day numbers."""
    if profile.numeric is not None:
        return int(profile.numeric.min), int(profile.numeric.max)
    if profile.temporal is not None:
        return (dt.date.fromisoformat(profile.temporal.min[:10]).toordinal(),
                dt.date.fromisoformat(profile.temporal.max[:10]).toordinal())
    return None


def location_chance(child: tuple[int, int], parent: tuple[int, int], scale: float) -> float:
    """The chance that an unrelated integer column with the child's spread lands inside the
    parent's range: its window [a, b] is placed at random in [0, scale x the largest magnitude],
    and it fits when it falls within [lo, hi]. A day key near 2.45 million that a column matches
    is specific (2 %); values 1..100 fit any key range that starts at 1 (about 1 in 3). Only the
    part of the child's range inside the parent's counts (orphans outside are measured apart)."""
    a, b = max(child[0], parent[0]), min(child[1], parent[1])
    if a > b:
        return 1.0
    lo, hi = parent
    spread = b - a
    floor = min(0, lo, a)
    top = scale * max(abs(lo), abs(hi), 1)  # the clipped window's world: a tail beyond the parent adds no specificity
    places = top - floor - spread + 1
    fits = hi - lo - spread + 1
    return min(1.0, max(fits, 1) / places) if places > 0 else 1.0


def _prior(child: KeyColumn, parent: KeyColumn, parent_table: TableInfo, settings: RelationshipSettings) -> float:
    """A cheap estimate of a pair's evidence from profiles (location and names), to choose which
    parents of a child to measure when there are more than `max_parents_per_child`."""
    names = settings.evidence.name_weight * words_similarity(child.parts.core, parent.parts.core or parent_table.words)
    low, high = ordinal_range(child.profile), ordinal_range(parent.profile)
    if child.family != "integer" or low is None or high is None:
        return names
    return names - math.log10(location_chance(low, high, settings.evidence.location_scale))


def _complete_composites(ranked: list[tuple[float, KeyColumn, ParentKey]]) -> list[tuple[float, KeyColumn, ParentKey]]:
    """Drop pairs with a component of composite keys when the child table cannot offer a candidate
    column for every column of one of those keys: no composite reference can come of them."""
    offers: dict[tuple[str, str], set[str]] = {}
    for _, child, parent in ranked:
        if parent.component_of:
            offers.setdefault((child.table, parent.table), set()).add(parent.column)

    def completes(child: KeyColumn, parent: ParentKey) -> bool:
        return any(set(key) <= offers[(child.table, parent.table)] for key in parent.component_of)

    return [x for x in ranked if not x[2].component_of or completes(x[1], x[2])]


def candidate_pairs(
    tables: Sequence[TableInfo], parents: Sequence[ParentKey], settings: RelationshipSettings,
) -> tuple[dict[tuple[str, str], list[ParentKey]], PruneCounts]:
    """(child table, child column) -> the parents worth measuring, and what pruning removed.
    A column never references itself; each child keeps at most `max_parents_per_child`
    parents (the best prior first), and all children together at most `max_candidate_pairs`."""
    by_table = {t.name: t for t in tables}
    counts = PruneCounts()
    ranked: list[tuple[float, KeyColumn, ParentKey]] = []
    children = [c for t in tables for c in t.columns.values() if child_eligible(c, settings)]
    for child in children:
        mine = []
        for parent in parents:
            if parent.table == child.table and parent.column == child.name:
                continue
            pcol = by_table[parent.table].columns[parent.column]
            counts.considered += 1
            reason = _prune_reason(child, pcol, settings)
            if reason is not None:
                setattr(counts, reason, getattr(counts, reason) + 1)
                continue
            mine.append((round(_prior(child, pcol, by_table[parent.table], settings), 9), child, parent))
        mine.sort(key=lambda x: (-x[0], x[2].pid))
        counts.capped += max(0, len(mine) - settings.max_parents_per_child)
        ranked += mine[: settings.max_parents_per_child]
    ranked = _complete_composites(ranked)
    ranked.sort(key=lambda x: (-x[0], x[1].table, x[1].profile.position, x[2].pid))
    counts.capped += max(0, len(ranked) - settings.max_candidate_pairs)
    pairs: dict[tuple[str, str], list[ParentKey]] = {}
    for _, child, parent in ranked[: settings.max_candidate_pairs]:
        pairs.setdefault((child.table, child.name), []).append(parent)
        counts.kept += 1
    return dict(sorted(pairs.items())), counts
