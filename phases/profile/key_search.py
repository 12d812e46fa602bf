"""Candidate keys of one table: every minimal unique column set up to `key_max_columns` columns,
found by a pruned level-wise search, screened on a sample and verified on the whole table.

Why each step:

- Single columns are keys when unique and non-null (exact, from the value counts).
- A composite key can only contain columns without NULLs, with 2 or more values and not unique
  on their own (a superset of a key is not minimal). Columns whose uniqueness is expected by
  chance (`chance_unique`: a wide, thinly filled range such as a population) and nearly unique
  free text (`free_text`: comments) are left out: any set holding one is unique by accident,
  not because it identifies the row.
- Sets grow level by level (pairs, triples, ...). A set can only be unique if the product of
  its distinct counts reaches the row count, and a set that holds a key is not minimal.
- Sets are counted (SELECT DISTINCT) on a deterministic sample (all rows of a small
  table), many sets per scan, and only when they can be unique there: the bound
  min over c of d(set - c) x d(c), from the counts of the level before, reaches the sample's rows.
- A set in which one column adds nothing (d(set) = d(set - c): a functional dependency, such as
  a country and its ISO code) is never extended: no superset of it is a minimal key.
- A set unique on the sample is verified on the whole table (a set unique on the whole table is
  unique on every sample, so nothing is lost by screening).

The sets of a level are tried in order of plausibility (the smallest product of distinct counts
first: a real composite key is barely unique, as account x period), under a budget of
`key_max_sets` counted sets; the result says whether the search was complete. It stops once
`key_max_keys` plausible keys are found: larger sets would rank below them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from phases.artifacts.column_profiles import ColumnProfile
from phases.core.sql import INTEGER_SQL, quote_ident
from phases.profile.value_partitions import partitioned_distinct
from phases.shared.narrow import one_row

if TYPE_CHECKING:
    import duckdb

ROW_ID = "_row_id"
SAMPLE = "__stats_key_sample"  # the temp table of sampled rows (dropped after)
VERIFY = "__stats_key_verify"  # the larger sample a set must pass before the whole table
BATCH = 200  # column sets counted per query; never changes results, only memory


class StatisticsSettings(Protocol):
    """The key search's part of the statistics phase's settings (config/statistics.yaml)."""

    @property
    def key_types(self) -> tuple[str, ...]: ...

    @property
    def key_max_text_length(self) -> int: ...

    @property
    def key_max_columns(self) -> int: ...

    @property
    def key_pool_columns(self) -> int: ...

    @property
    def key_max_sets(self) -> int: ...

    @property
    def key_sample_rows(self) -> int: ...

    @property
    def key_sample_blocks(self) -> int: ...

    @property
    def key_verify_rows(self) -> int: ...

    @property
    def key_max_keys(self) -> int: ...

    @property
    def key_near_unique(self) -> float: ...

    @property
    def key_chance_collisions(self) -> float: ...

    @property
    def key_free_text_shapes(self) -> float: ...

    @property
    def key_shape_sample(self) -> int: ...

    @property
    def large_table_rows(self) -> int: ...

    @property
    def partition_values(self) -> int: ...


@dataclass(frozen=True)
class KeySearch:
    keys: tuple[tuple[str, ...], ...]  # most plausible first
    sets_checked: int  # column sets counted on the sample (single columns not included)
    complete: bool  # False when the budget or the column pool cut the search short


def chance_unique(column: ColumnProfile, rows: int, settings: StatisticsSettings) -> bool:
    """True when a (nearly) unique integer, date or timestamp column is unique only because its
    values are spread thin: n values drawn at random from its range would collide fewer than
    `key_chance_collisions` times (the birthday bound n(n-1)/2R). A population of 1,704 values
    between 60,011 and 1.3e9 is unique by chance; 187 codes between 4 and 894 are not."""
    if rows < 2 or column.distinct_count < settings.key_near_unique * max(1, rows - column.null_count):
        return False
    span = _span(column)
    if span is None:
        return False
    n = column.distinct_count
    return n * (n - 1) / (2 * span) < settings.key_chance_collisions


def free_text(column: ColumnProfile, rows: int, settings: StatisticsSettings) -> bool:
    """A nearly unique text column where nearly every value has a shape of its own: comments or
    addresses, which make any column set unique by accident. (Codes and ids share a few shapes;
    names, which do identify rows, stay single-column keys: only composites leave free text out.)"""
    if column.text is None or column.distinct_count < settings.key_near_unique * max(1, rows - column.null_count):
        return False
    return column.text.pattern_count >= settings.key_free_text_shapes * min(column.distinct_count,
                                                                            settings.key_shape_sample)


def _span(column: ColumnProfile) -> float | None:
    """The number of values the column's range can hold (integers; dates in days, timestamps in seconds)."""
    if column.numeric is not None and column.sql_type in INTEGER_SQL:
        return float(column.numeric.max) - float(column.numeric.min) + 1
    if column.temporal is not None:
        low, high = (dt.datetime.fromisoformat(column.temporal.min), dt.datetime.fromisoformat(column.temporal.max))
        if column.sql_type == "DATE":
            return (high - low).days + 1.0
        return (high - low).total_seconds() + 1.0
    return None


def _key_type(column: ColumnProfile, settings: StatisticsSettings) -> bool:
    if column.type not in settings.key_types:
        return False
    return column.text is None or column.text.max_length <= settings.key_max_text_length


def single_keys(columns: Sequence[ColumnProfile], rows: int, settings: StatisticsSettings) -> list[tuple[str, ...]]:
    return [(c.name,) for c in columns
            if rows and c.unique and c.null_count == 0 and _key_type(c, settings)]


def search_keys(con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[ColumnProfile], rows: int,
                settings: StatisticsSettings) -> KeySearch:
    """All minimal keys up to `key_max_columns` columns (see the module docstring), ranked."""
    chance = tuple(c.name for c in columns if chance_unique(c, rows, settings))
    keys = single_keys(columns, rows, settings)
    pool = [c for c in columns
            if _key_type(c, settings) and c.null_count == 0 and 1 < c.distinct_count < rows and c.name not in chance
            and not free_text(c, rows, settings)]
    complete = len(pool) <= settings.key_pool_columns
    pool = pool[: settings.key_pool_columns]  # leftmost first: keys lead their tables
    checked = 0
    if len(pool) >= 2 and rows > 1 and settings.key_max_columns >= 2:
        plausible = sum(not any(c in chance for c in k) for k in keys)
        found, checked, finished = _composites(con, table, pool, rows, settings, plausible)
        keys += found
        complete = complete and finished
    ranked = rank_keys(keys, columns, rows, set(chance))[: settings.key_max_keys]
    return KeySearch(keys=tuple(ranked), sets_checked=checked, complete=complete)


def rank_keys(keys: Sequence[tuple[str, ...]], columns: Sequence[ColumnProfile], rows: int,
              chance: set[str]) -> list[tuple[str, ...]]:
    """Keys in order of plausibility from values alone: keys without a chance-unique column first,
    then fewer columns, then the smallest product of distinct counts against the rows, then the
    leftmost."""
    by_name = {c.name: c for c in columns}

    def rank(key: tuple[str, ...]) -> tuple[bool, int, float, list[int]]:
        excess = sum(math.log(max(1, by_name[c].distinct_count)) for c in key) - math.log(max(1, rows))
        return (any(c in chance for c in key), len(key), round(excess, 9), [by_name[c].position for c in key])

    return sorted(dict.fromkeys(keys), key=rank)


def _sample(con: duckdb.DuckDBPyConnection, table: str, pool: Sequence[ColumnProfile], rows: int,
            settings: StatisticsSettings, size: int | None = None, name: str = SAMPLE) -> int:
    """A temp table of the pool's columns on about `size` rows (`key_sample_rows` by default),
    taken as evenly spaced runs of consecutive rows (deterministic; Parquet skips the row groups
    in between). Returns its row count; equal to `rows` when the table is small enough to use whole."""
    size = size or settings.key_sample_rows
    cols = ", ".join(quote_ident(c.name) for c in pool)
    where = ""
    if rows > size:
        low, high = one_row(con.execute(f"SELECT min({ROW_ID}), max({ROW_ID}) FROM {quote_ident(table)}"))
        blocks = settings.key_sample_blocks
        length, stride = size // blocks, (high - low + 1) // blocks
        where = " WHERE " + " OR ".join(f"{ROW_ID} BETWEEN {low + b * stride} AND {low + b * stride + length - 1}"
                                        for b in range(blocks))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {cols} FROM {quote_ident(table)}{where}")
    return int(one_row(con.execute(f"SELECT count(*) FROM {name}"))[0])


def _verify(con: duckdb.DuckDBPyConnection, table: str, pool: Sequence[ColumnProfile], rows: int,
            settings: StatisticsSettings, sets: Sequence[tuple[ColumnProfile, ...]]) -> list[bool]:
    """Whether each set, unique on the sample, is unique on the whole table. On a table far larger
    than `key_verify_rows`, a set must first be unique on that many rows: most sets unique by
    luck on the small sample repeat there, and counting them on every row of a large table (a
    hash table per set, spilled to disk) was most of the statistics phase's time and disk."""
    ok = [True] * len(sets)
    if rows > settings.key_verify_rows:
        m = _sample(con, table, pool, rows, settings, settings.key_verify_rows, VERIFY)
        try:
            ok = [n == m for n in _distinct(con, VERIFY, sets)]
        finally:
            con.execute(f"DROP TABLE IF EXISTS {VERIFY}")
    survivors = [s for s, good in zip(sets, ok, strict=True) if good]
    if rows >= settings.large_table_rows:  # one hash table of every row's tuple would spill gigabytes
        parts = math.ceil(rows / settings.partition_values)
        full = iter([partitioned_distinct(con, quote_ident(table), [c.name for c in s], parts) for s in survivors])
    else:
        full = iter(_distinct(con, quote_ident(table), survivors))
    return [good and next(full) == rows for good in ok]


def _distinct(con: duckdb.DuckDBPyConnection, source: str, sets: Sequence[tuple[ColumnProfile, ...]]) -> list[int]:
    """The number of distinct tuples of every set over `source` (whose key columns hold no NULLs),
    BATCH sets per query: a UNION ALL of SELECT DISTINCT, several times faster in DuckDB than as
    many count(DISTINCT (..)) aggregates in one scan (item, 180 rows x 200 sets: 0.47 s against 3 s)."""
    counts: list[int] = []
    for i in range(0, len(sets), BATCH):
        parts = [f"SELECT {j} AS i, count(*) AS n FROM (SELECT DISTINCT {', '.join(quote_ident(c.name) for c in s)} "
                 f"FROM {source})" for j, s in enumerate(sets[i:i + BATCH])]
        found = dict(con.execute(" UNION ALL ".join(parts)).fetchall())
        counts += [int(found[j]) for j in range(len(parts))]
    return counts


@dataclass
class _Known:
    """Distinct counts of column sets on the sample: exact when counted, else an upper bound."""

    counts: dict[frozenset[str], int]
    exact: set[frozenset[str]]


def _composites(con: duckdb.DuckDBPyConnection, table: str, pool: Sequence[ColumnProfile], rows: int,
                settings: StatisticsSettings, singles: int) -> tuple[list[tuple[str, ...]], int, bool]:
    """Minimal composite keys among `pool`: (keys, sets counted, whether the budget sufficed).

    Level by level, a set of k columns is counted on the sample only when it can be unique
    there: its upper bound, min over its columns c of d(set - c) x d(c), reaches the sample's
    rows. A set where one column adds nothing (d(set) = d(set - c): a functional dependency on
    the sample) is never extended: no superset of it is a minimal key. The search stops once
    `key_max_keys` keys are found, since a later (larger, less barely unique) set ranks below them."""
    m = _sample(con, table, pool, rows, settings)
    try:
        by_name = {c.name: c for c in pool}
        order = {c.name: i for i, c in enumerate(pool)}
        known = _Known(counts={}, exact=set())
        for c, n in zip(pool, _distinct(con, SAMPLE, [(c,) for c in pool]), strict=True):
            known.counts[frozenset((c.name,))] = n
            known.exact.add(frozenset((c.name,)))
        keys: list[frozenset[str]] = []
        found: list[tuple[str, ...]] = []
        redundant: list[frozenset[str]] = []
        frontier = [frozenset((c.name,)) for c in pool]
        budget, checked = settings.key_max_sets, 0
        for _size in range(2, settings.key_max_columns + 1):
            frontier = _extend(frontier, pool, order, keys, redundant)
            to_count = []
            for names in frontier:
                bound = min((known.counts[names - {c}] * known.counts[frozenset((c,))]
                             for c in names if names - {c} in known.counts),
                            default=math.prod(known.counts[frozenset((c,))] for c in names))
                known.counts[names] = min(m, bound)
                # too few combinations on the whole table or the sample: not unique, but it may grow
                if bound >= m and _product(by_name[c] for c in names) >= rows:
                    to_count.append(names)
            if len(to_count) > budget:
                return found, checked + budget, False
            budget -= len(to_count)
            checked += len(to_count)
            unique = []
            for names, n in zip(to_count, _distinct(con, SAMPLE, [_columns(u, by_name, order) for u in to_count]),
                                strict=True):
                known.counts[names] = n
                known.exact.add(names)
                if any(names - {c} in known.exact and known.counts[names - {c}] == n for c in names):
                    redundant.append(names)
                elif n == m:
                    unique.append(names)
            if unique and m < rows:  # verify on the whole table
                verified = _verify(con, table, pool, rows, settings, [_columns(u, by_name, order) for u in unique])
                unique = [u for u, good in zip(unique, verified, strict=True) if good]
            for names in unique:
                keys.append(names)
                found.append(tuple(c.name for c in _columns(names, by_name, order)))
            if singles + len(found) >= settings.key_max_keys:
                break
        return found, checked, True
    finally:
        con.execute(f"DROP TABLE IF EXISTS {SAMPLE}")


def _columns(names: frozenset[str], by_name: dict[str, ColumnProfile],
             order: dict[str, int]) -> tuple[ColumnProfile, ...]:
    return tuple(by_name[c] for c in sorted(names, key=order.__getitem__))


def _plausibility(names: frozenset[str], by_name: dict[str, ColumnProfile]) -> tuple[float, list[int]]:
    """Smallest product of distinct counts first (a real composite key is barely unique), then leftmost."""
    return (round(sum(math.log(by_name[c].distinct_count) for c in names), 9),
            sorted(by_name[c].position for c in names))


def _extend(frontier: Sequence[frozenset[str]], pool: Sequence[ColumnProfile], order: dict[str, int],
            keys: Sequence[frozenset[str]], redundant: Sequence[frozenset[str]]) -> list[frozenset[str]]:
    """The next level's sets: each set of the frontier plus one later column of the pool, unless a
    key or a redundant set is inside; in order of plausibility."""
    by_name = {c.name: c for c in pool}
    blocked = [*keys, *redundant]
    out = []
    for names in frontier:
        for column in pool[max(order[c] for c in names) + 1:]:
            grown = names | {column.name}
            if not any(b <= grown for b in blocked):
                out.append(grown)
    return sorted(out, key=lambda u: _plausibility(u, by_name))


def _product(columns: Iterable[ColumnProfile]) -> int:
    result = 1
    for c in columns:
        result *= c.distinct_count
    return result
