"""Helpers of the relationships phase: what a column's name says, which columns can be
keys, the search for composite keys, and the cheap pruning that decides which
(child column, parent key) pairs are worth measuring at all.

Everything here works on the statistics phase's exact profiles, except the composite
key search, which runs bounded `count(DISTINCT (a, b))` aggregates in DuckDB. No
function here joins two tables: that is `phases.structure.relationships`' job, and it only sees
the pairs that survive `candidate_pairs`.
"""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from phases.artifacts.column_profiles import ColumnProfile
from phases.artifacts.table_profile import TableProfile
from phases.core.records import Scalar
from phases.core.sql import INTEGER_SQL, quote_ident
from phases.shared.narrow import one_row

if TYPE_CHECKING:
    import duckdb

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


# --- names -----------------------------------------------------------------------------------


def singular(token: str) -> str:
    """A crude English singular: entries -> entry, addresses -> address, orders -> order."""
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 4 and token.endswith(("sses", "shes", "ches", "xes")):
        return token[:-2]
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def split_words(name: str) -> list[str]:
    """Lower-case words of a name: camelCase, snake_case, 'Product/Service', 'c_custkey'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode() or name
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", ascii_name)
    return [w for w in re.split(r"[\W_]+", spaced.lower()) if w]


@dataclass(frozen=True)
class NameParts:
    """What a column name says: its meaningful words and whether it reads like an identifier."""

    core: tuple[str, ...]  # words without the table prefix and without id/key/code words
    id_like: bool  # had an id/key/code word (or a glued suffix such as 'custkey')


def _split_glued(word: str, suffixes: Iterable[str]) -> list[str]:
    """'custkey' -> ['cust', 'key']; short stems stay whole ('paid' is not 'pa' + 'id')."""
    for suffix in suffixes:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return [word[: -len(suffix)], suffix]
    return [word]


def table_prefix(column_names: Sequence[str]) -> str | None:
    """A short prefix nearly every column shares ('l' of TPC-H's l_orderkey, l_partkey, ...)."""
    firsts = [words[0] for words in map(split_words, column_names) if len(words) > 1]
    if len(column_names) < 2 or not firsts:
        return None
    best = max(sorted(set(firsts)), key=firsts.count)
    share = firsts.count(best) / len(column_names)
    return best if len(best) <= 3 and share >= 0.8 else None


def column_name_parts(name: str, prefix: str | None, rules: NameSettings) -> NameParts:
    words = split_words(name)
    if prefix and len(words) > 1 and words[0] == prefix:
        words = words[1:]
    split: list[str] = []
    for word in words:
        split += _split_glued(word, rules.glued_key_suffixes)
    core = tuple(singular(w) for w in split if w not in rules.key_words)
    return NameParts(core=core, id_like=any(w in rules.key_words for w in split))


def table_name_words(name: str, rules: NameSettings) -> tuple[str, ...]:
    """The meaningful words of a table name: 'chart_of_accounts' -> ('chart', 'account')."""
    return tuple(singular(w) for w in split_words(name) if w not in rules.table_noise_words)


def word_similarity(a: str, b: str) -> float:
    """1 for equal words, 0.9 for an abbreviation by prefix (cust, customer), 0.8 for one by
    dropped letters (acct, account), the edit ratio for near spellings, else 0."""
    if a == b:
        return 1.0
    short, long_ = sorted((a, b), key=len)
    if len(short) >= 3 and long_.startswith(short):
        return 0.9
    if len(short) >= 3 and short[0] == long_[0] and _is_subsequence(short, long_):
        return 0.8
    ratio = difflib.SequenceMatcher(None, a, b).ratio()
    return ratio if ratio >= 0.85 else 0.0


def _is_subsequence(short: str, long_: str) -> bool:
    letters = iter(long_)
    return all(ch in letters for ch in short)


def words_similarity(a: Sequence[str], b: Sequence[str]) -> float:
    """How far one list of words is found in the other, in the more favourable direction:
    'billing_customer' mentions 'customer', and 'account' is in 'chart of accounts'."""
    if not a or not b:
        return 0.0

    def found(xs: Sequence[str], ys: Sequence[str]) -> float:
        return sum(max(word_similarity(x, y) for y in ys) for x in xs) / len(xs)

    return max(found(a, b), found(b, a))


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
    keys: tuple[tuple[str, ...], ...] = ()  # ranked candidate keys, the primary key first

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


def key_rank(table: TableInfo, key: Sequence[str]) -> tuple[int, int, int, int, list[int]]:
    """Sort key of candidate keys, most plausible primary key first: single columns before
    composites, then names that read like identifiers of this very table ('invoice_id' in
    invoices, a bare 'id'), then integers and short codes, then the leftmost."""
    columns = [table.columns[c] for c in key]
    named = sum(c.parts.id_like for c in columns)
    own = sum(not c.parts.core or words_similarity(c.parts.core, table.words) >= 0.8 for c in columns)
    compact = sum(c.family == "integer" or (c.profile.text is not None and c.profile.text.max_length <= 20)
                  for c in columns)
    return (len(key), -named, -own, -compact, [c.profile.position for c in columns])


def find_composite_keys(con: duckdb.DuckDBPyConnection, table: TableInfo,
                        settings: RelationshipSettings) -> list[tuple[str, ...]]:
    """Minimal unique column pairs, else triples, among key-like non-null columns: tested exactly,
    all candidates of one size in one scan, bounded by `key_search_max_columns` and
    `key_search_max_sets`. A set can only be unique if the product of its distinct counts
    reaches the row count, so most sets are never queried."""
    rows = table.rows
    if rows < 2 or table.profile.duplicates.rows:
        return []  # a duplicated row makes every column set non-unique
    pool = [c for c in table.columns.values()
            if key_like(c, settings) and c.profile.null_count == 0 and 1 < c.distinct < rows]
    pool.sort(key=lambda c: (not c.parts.id_like, c.profile.position))
    pool = pool[: settings.key_search_max_columns]
    for size in (2, 3):
        sets = [s for s in itertools.combinations(pool, size) if _product(s) >= rows]
        sets.sort(key=lambda s: (-sum(c.parts.id_like for c in s), _product(s), [c.profile.position for c in s]))
        sets = sets[: settings.key_search_max_sets]
        if not sets:
            continue
        exprs = [f"count(DISTINCT ({', '.join(quote_ident(c.name) for c in s)}))" for s in sets]
        counts = one_row(con.execute(f"SELECT {', '.join(exprs)} FROM {quote_ident(table.view)}"))
        found = [tuple(c.name for c in s) for s, n in zip(sets, counts, strict=True) if n == rows]
        if found:
            return found
    return []


def _product(columns: Iterable[KeyColumn]) -> int:
    result = 1
    for c in columns:
        result *= c.distinct
    return result


def rank_candidate_keys(table: TableInfo, extra: Sequence[tuple[str, ...]],
                        settings: RelationshipSettings) -> tuple[tuple[str, ...], ...]:
    """The statistics phase's candidate keys that are key-like, plus composite keys found here,
    ranked so that the first is the primary key."""
    keys = {k for k in table.profile.candidate_keys
            if k and all(c in table.columns and key_like(table.columns[c], settings) for c in k)}
    keys |= set(extra)
    return tuple(sorted(keys, key=lambda k: key_rank(table, k)))


# --- parents and candidate pairs -------------------------------------------------------------


@dataclass(frozen=True)
class ParentKey:
    """A column set that child columns may reference: a key, a nearly unique column, or one
    component of a composite key (only used to find the child columns of composite keys)."""

    pid: int
    table: str
    columns: tuple[str, ...]
    uniqueness: float  # distinct / non-null values (1 for a key)
    primary: bool  # the table's primary key
    candidate_key: bool  # unique and non-null
    component_of: tuple[str, ...] | None = None  # the composite key this single column belongs to

    @property
    def column(self) -> str:
        return self.columns[0]


def parent_keys(tables: Sequence[TableInfo], settings: RelationshipSettings) -> list[ParentKey]:
    """Every column set a child may reference, numbered in a stable order."""
    found: list[ParentKey] = []
    for table in tables:
        singles = [k for k in table.keys if len(k) == 1]
        composites = [k for k in table.keys if len(k) > 1][: settings.max_composite_keys_per_table]
        nearly: list[tuple[str, ...]] = [(c.name,) for c in table.columns.values()
                                         if _nearly_unique(c, settings) and (c.name,) not in singles]
        chosen = sorted(singles + nearly, key=lambda k: key_rank(table, k))[: settings.max_parent_keys_per_table]
        for key in chosen:
            p = table.columns[key[0]].profile
            found.append(ParentKey(
                pid=len(found), table=table.name, columns=key, uniqueness=p.distinct_count / p.non_null_count,
                primary=bool(table.keys) and key == table.keys[0], candidate_key=key in singles,
            ))
        for key in composites:
            for column in key:
                p = table.columns[column].profile
                found.append(ParentKey(
                    pid=len(found), table=table.name, columns=(column,), uniqueness=p.distinct_count / p.non_null_count,
                    primary=False, candidate_key=False, component_of=key,
                ))
    return found


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


def _prune_reason(child: KeyColumn, parent: KeyColumn, settings: RelationshipSettings) -> str | None:
    """Why this pair cannot reach the containment gate, from profiles alone (None: measure it)."""
    if child.family != parent.family:
        return "type"
    need = settings.min_containment * child.distinct  # distinct child values that must be found
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


def _complete_composites(ranked: list[tuple[float, KeyColumn, ParentKey]]) -> list[tuple[float, KeyColumn, ParentKey]]:
    """Drop pairs with a component of a composite key when the child table cannot offer a
    candidate column for every column of that key: no composite reference can come of them."""
    offers: dict[tuple[str, tuple[str, ...], str], set[str]] = {}
    for _, child, parent in ranked:
        if parent.component_of is not None:
            offers.setdefault((child.table, parent.component_of, parent.table), set()).add(parent.column)
    return [x for x in ranked if x[2].component_of is None
            or offers[(x[1].table, x[2].component_of, x[2].table)] == set(x[2].component_of)]


def candidate_pairs(
    tables: Sequence[TableInfo], parents: Sequence[ParentKey], settings: RelationshipSettings,
) -> tuple[dict[tuple[str, str], list[ParentKey]], PruneCounts]:
    """(child table, child column) -> the parents worth measuring, and what pruning removed.
    A column never references itself; each child keeps at most `max_parents_per_child`
    parents (best names first), and all children together at most `max_candidate_pairs`."""
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
            prior = words_similarity(child.parts.core, pcol.parts.core or by_table[parent.table].words)
            mine.append((prior, child, parent))
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


# --- measured candidates and their score -----------------------------------------------------


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
    chance: float  # containment expected if the child's values fell at random in their range
    orphan_examples: tuple[tuple[Scalar | tuple[Scalar, ...], int], ...] = ()  # (value, rows), most frequent first
    trimmed_orphans: tuple[int, int] | None = None  # (values, rows) found after trim + lower-case

    @property
    def containment(self) -> float:
        return self.matched_values / self.child_values if self.child_values else 0.0

    @property
    def row_containment(self) -> float:
        return self.matched_rows / self.child_non_null if self.child_non_null else 0.0


@dataclass(frozen=True)
class Candidate:
    """A measured (child columns -> parent key) pair and, once scored, its confidence."""

    child: str
    child_columns: tuple[str, ...]
    parent: ParentKey  # for a composite key: a ParentKey whose columns are the whole key
    measure: Measure
    confidence: float = 0.0
    evidence: Mapping[str, object] = field(default_factory=dict)

    @property
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


def name_evidence(child: Sequence[KeyColumn], parent: Sequence[KeyColumn], parent_table: TableInfo,
                  self_reference: bool, rules: NameSettings) -> dict[str, float]:
    """How far the names say 'this references that': column to column (a bare 'id' stands for its
    table's name) and column to the parent table's name; for a self-reference a word like 'parent'."""
    pairs = list(zip(child, parent, strict=True))
    col = sum(words_similarity(c.parts.core, p.parts.core or parent_table.words) for c, p in pairs) / len(pairs)
    table = max(words_similarity(c.parts.core, parent_table.words) for c in child)
    if self_reference:
        hint = any(w in rules.self_reference_words for c in child for w in c.parts.core)
        overall = 1.0 if hint else col / 2
    else:
        overall = (col + table) / 2
    return {"column_name_similarity": col, "table_name_similarity": table, "name_similarity": overall}


def shape_similarity(child: KeyColumn, parent: KeyColumn) -> float:
    """Text: overlap of the length ranges and of the value shapes ('AAA-999999', the INV- of an
    invoice number). Numbers and dates: how much of the parent's range the child's values span
    (1..7 spans little of 1..10,000)."""
    c, p = child.profile, parent.profile
    if c.text is not None and p.text is not None:
        low, high = max(c.text.min_length, p.text.min_length), min(c.text.max_length, p.text.max_length)
        span = max(c.text.max_length, p.text.max_length) - min(c.text.min_length, p.text.min_length) + 1
        lengths = max(0, high - low + 1) / span
        parent_shapes = {s.pattern: s.share for s in p.text.patterns}
        shapes = sum(min(s.share, parent_shapes.get(s.pattern, 0.0)) for s in c.text.patterns)
        return (lengths + shapes) / 2
    c_range, p_range = ordinal_range(c), ordinal_range(p)
    if c_range is None or p_range is None:
        return 0.0
    width = p_range[1] - p_range[0]
    return 1.0 if width <= 0 else min(1.0, (c_range[1] - c_range[0]) / width)


def parent_key_score(parent: ParentKey) -> float:
    """1 for the parent table's primary key, 0.75 for another candidate key, less for a column
    that is only nearly unique."""
    if parent.primary:
        return 1.0
    return 0.75 if parent.candidate_key else 0.5 * parent.uniqueness


def score(measure: Measure, names: Mapping[str, float], key_score: float, shape: float,
          settings: RelationshipSettings) -> tuple[float, dict[str, object]]:
    """Confidence as a weighted mean of the evidence. Containment enters as its excess over
    chance, (c - p) / (1 - p), with weight (1 - p): when any column of values in that range would
    be contained (small integers inside a dense id range), containment proves nothing and the
    names and the rest decide. A child with very few distinct values weighs less, too."""
    w = settings.weights
    c, p = measure.containment, measure.chance
    beyond = max(0.0, (c - p) / (1 - p)) if p < 1 else 0.0
    informative = (1 - p) * min(1.0, measure.child_values / settings.full_support_values)
    ratio = min(1.0, measure.child_values / measure.parent_values) if measure.parent_values else 0.0
    total = w.containment * informative + w.name + w.parent_key + w.coverage + w.shape
    points = (w.containment * informative * beyond + w.name * names["name_similarity"] + w.parent_key * key_score
              + w.coverage * ratio + w.shape * shape)
    evidence: dict[str, object] = {
        "containment": c, "row_containment": measure.row_containment, "chance_containment": p,
        "containment_beyond_chance": beyond, "containment_expected_by_chance": p >= settings.chance_flag,
        "distinct_ratio": ratio, "child_values": measure.child_values, "parent_values": measure.parent_values,
        "parent_coverage": measure.matched_values / measure.parent_values if measure.parent_values else 0.0,
        "parent_key_score": key_score, "shape_similarity": shape, **names,
    }
    if measure.trimmed_orphans is not None:
        evidence["orphans_matching_after_trim"] = {"values": measure.trimmed_orphans[0],
                                                   "rows": measure.trimmed_orphans[1]}
    return (points / total if total else 0.0), evidence


def scored(candidate: Candidate, tables: Mapping[str, TableInfo], settings: RelationshipSettings) -> Candidate:
    """The candidate with its confidence and evidence filled in."""
    child, parent = tables[candidate.child], tables[candidate.parent.table]
    c_cols = [child.columns[c] for c in candidate.child_columns]
    p_cols = [parent.columns[c] for c in candidate.parent.columns]
    names = name_evidence(c_cols, p_cols, parent, child.name == parent.name, settings.names)
    shape = sum(shape_similarity(c, p) for c, p in zip(c_cols, p_cols, strict=True)) / len(c_cols)
    key_score = parent_key_score(candidate.parent)
    confidence, evidence = score(candidate.measure, names, key_score, shape, settings)
    evidence |= {"parent_is_primary_key": candidate.parent.primary, "parent_uniqueness": candidate.parent.uniqueness}
    return replace(candidate, confidence=confidence, evidence=evidence)
