"""The statistics phase: profile every column and the table as a whole.

Every column is read about twice, all in DuckDB, nothing column-sized in Python:

1. One wide aggregate over all columns at once: counts, min/max, mean, standard
   deviation, zero/negative counts, text lengths and blanks.
2. Per column, one GROUP BY that materialises the column's value counts (one row
   per distinct value, so its size is bounded by the cardinality, not the rows),
   and for numbers one exact-quantile query (reading only that column).
   Everything that depends on the distribution is derived from that small table:
   the exact distinct count, entropy, top values, the histogram, the central
   moments (skewness, kurtosis; two-pass, so stable for values far from zero) and
   the text shapes.

On a table of `large_table_rows` or more, a column whose HyperLogLog estimate (pass 1) holds
more than `partition_values` distinct values gets its value counts in hash partitions instead
(`phases.profile.value_partitions`): one GROUP BY of 60 M nearly distinct values held gigabytes
and spilled them; the partitions, one after another, give the same exact results in bounded
memory. Composite keys are verified and duplicate rows grouped in partitions the same way.

Keys and duplicate rows (see `profile_keys`) reuse the exact distinct counts to
avoid work: a unique non-null column rules out duplicate rows, and duplicate rows
rule out every key, so the full-row GROUP BY and the key search
(`phases.profile.key_search`) only run when they can tell something. DuckDB's SUMMARIZE is not used: it is approximate
(HyperLogLog distincts, sketch quantiles) and slower than these passes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from pydantic import Field

from phases.artifacts.column_profiles import (
    COLUMN_PROFILES,
    Bucket,
    ColumnProfile,
    ColumnProfiles,
    NumericStats,
    PatternShare,
    TemporalRange,
    TextStats,
    ValueCount,
    quantile_key,
)
from phases.artifacts.column_types import COLUMN_TYPES, ColumnTypes
from phases.artifacts.table_profile import TABLE_PROFILE, DuplicateRows, TableProfile
from phases.artifacts.tables import TYPED_TABLE
from phases.core.config import ColumnType, Model
from phases.core.context import PhaseOutput, TableContext
from phases.core.records import json_scalar, round_scaled, round_sig
from phases.core.sql import (
    INTEGER_SQL,
    batch_values,
    chunked,
    columns_per_query,
    is_numeric_sql,
    open_parquet,
    quote_ident,
)
from phases.profile import value_counts as vc
from phases.profile import value_partitions as vp
from phases.profile.key_search import KeySearch, chance_unique, search_keys
from phases.profile.value_counts import QUANTILES, Distribution
from phases.shared.narrow import finite, json_number, json_text, one_row

if TYPE_CHECKING:
    import duckdb

ROW_ID = "_row_id"
DEFAULT_TYPE = {"BOOLEAN": "boolean", "DATE": "date", "VARCHAR": "text"}  # else by kind, see _default_type


class StatisticsSettings(Model):
    """config/statistics.yaml; bounds are checked when the phase starts."""

    histogram_buckets: int = Field(20, ge=1, le=1000)
    top_values: int = Field(10, ge=1, le=1000)
    pattern_top: int = Field(10, ge=1, le=1000)
    pattern_max_length: int = Field(40, ge=1, le=1000)
    pattern_max_values: int = Field(5_000, ge=100, le=10_000_000)
    key_types: tuple[ColumnType, ...] = ("integer", "text", "date", "timestamp", "boolean")
    key_max_text_length: int = Field(64, ge=1, le=10_000)
    key_max_columns: int = Field(4, ge=1, le=8)
    key_pool_columns: int = Field(40, ge=2, le=1000)
    key_max_sets: int = Field(5000, ge=0, le=1_000_000)
    key_sample_rows: int = Field(20_000, ge=100, le=100_000_000)
    key_sample_blocks: int = Field(10, ge=1, le=1000)
    key_verify_rows: int = Field(1_000_000, ge=100, le=1_000_000_000)
    key_max_keys: int = Field(12, ge=1, le=1000)
    key_near_unique: float = Field(0.95, ge=0.5, le=1)
    key_chance_collisions: float = Field(0.1, ge=0, le=1_000_000)
    key_free_text_shapes: float = Field(0.5, ge=0, le=1)

    @property
    def key_shape_sample(self) -> int:
        """How many distinct values at most were shaped (see `_patterns`)."""
        return self.pattern_max_values
    duplicate_examples: int = Field(5, ge=1, le=100)
    large_table_rows: int = Field(10_000_000, ge=1_000, le=10**12)
    partition_values: int = Field(4_000_000, ge=1_000, le=10**12)


@dataclass(frozen=True)
class TypeInfo:
    """What the typing phase decided about a column, as far as profiling needs it."""

    type: str  # semantic type: integer, decimal, currency, percent, boolean, date, timestamp, text
    unit: str | None = None
    units: tuple[tuple[str, int], ...] = ()  # (unit, count), only for mixed currencies


# --- column kinds ----------------------------------------------------------------------------


def _kind(sql_type: str) -> str:
    """How a column is profiled: numeric, temporal, text, or other (only counts and top values)."""
    if is_numeric_sql(sql_type):
        return "numeric"
    if sql_type == "DATE" or sql_type.startswith("TIMESTAMP"):
        return "temporal"
    if sql_type == "VARCHAR":
        return "text"
    return "other"


def _default_type(sql_type: str) -> str:
    if sql_type in INTEGER_SQL:
        return "integer"
    if _kind(sql_type) == "numeric":
        return "decimal"
    if sql_type.startswith("TIMESTAMP"):
        return "timestamp"
    return DEFAULT_TYPE.get(sql_type, "text")


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """(name, DuckDB type) of every column but _row_id, in table order."""
    rows = con.execute(f"DESCRIBE {quote_ident(table)}").fetchall()
    return [(name, sql_type) for name, sql_type, *_ in rows if name != ROW_ID]


# --- pass 1: one wide aggregate --------------------------------------------------------------


def _wide_expressions(name: str, kind: str, estimate: bool = False) -> dict[str, str]:
    """The per-column aggregates of pass 1, by key; with `estimate`, an approximate distinct count
    (HyperLogLog, a few per cent off: it only sizes the hash partitions of a large table)."""
    c = quote_ident(name)
    exprs = {"non_null": f"count({c})"} | ({"approx_distinct": f"approx_count_distinct({c})"} if estimate else {})
    if kind in ("numeric", "temporal"):
        exprs |= {"min": f"min({c})", "max": f"max({c})"}
    if kind == "numeric":
        exprs |= {
            "mean": f"avg({c})", "std": f"stddev_samp({c})",
            "zero": f"count_if({c} = 0)", "negative": f"count_if({c} < 0)",
        }
    elif kind == "text":
        exprs |= {
            "min_length": f"min(length({c}))", "max_length": f"max(length({c}))",
            "mean_length": f"avg(length({c}))",
            # blank: empty or only whitespace (incl. no-break space). A cheap range test first: such
            # a value sorts below '!' or starts with U+00A0. CASE, not AND: DuckDB evaluates both
            # sides of AND in a projection, but a CASE branch only on the rows that reach it.
            "blank": f"count_if(CASE WHEN {c} < '!' OR ({c} >= '\u00a0' AND {c} < '\u00a1') "
                     f"THEN regexp_full_match({c}, '[\\s\\x{{00A0}}]*') ELSE false END)",
        }
    return exprs


def wide_aggregates(
    con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[tuple[str, str]], estimate: bool = False
) -> tuple[int, list[dict[str, Any]]]:
    """Row count and, per column, the results of pass 1: one scan of the table per chunk of
    `columns_per_query` columns (each reads only its own columns)."""
    results: list[dict[str, Any]] = [{} for _ in columns]
    rows = 0
    for chunk in chunked(list(enumerate(columns)), columns_per_query(con)) or [[]]:
        keys: list[tuple[int, str]] = []
        exprs = ["count(*)"]
        for index, (name, sql_type) in chunk:
            for key, expr in _wide_expressions(name, _kind(sql_type), estimate).items():
                keys.append((index, key))
                exprs.append(expr)
        row = one_row(con.execute(f"SELECT {', '.join(exprs)} FROM {quote_ident(table)}"))
        rows = row[0]
        for (index, key), value in zip(keys, row[1:], strict=True):
            results[index][key] = value
    return rows, results


# --- pass 2: value counts, a batch of columns at a time (phases.profile.value_counts) ---------


def _histogram(low: Any, high: Any, buckets: int, integer: bool, count: int) -> tuple[float, int] | Bucket:
    """The bucketing of [low, high]: (width, buckets), or the one bucket of a constant column."""
    if high == low:
        return Bucket(lower=json_number(low), upper=json_number(high), count=count)
    if integer:  # no bucket narrower than 1: 0..8 gets 8 buckets with integer edges, not 20 fractional ones
        buckets = min(buckets, int(high - low))
    return (float(high) - float(low)) / buckets, buckets


def _buckets(low: Any, high: Any, width: float, buckets: int, counts: Mapping[int, int]) -> tuple[Bucket, ...]:
    # The outer edges are the column's own min and max (ints stay ints); inner edges are rounded.
    inner = [finite(round_sig(float(low) + i * width)) for i in range(1, buckets)]
    edges = [json_number(low), *inner, json_number(high)]
    return tuple(Bucket(lower=edges[i], upper=edges[i + 1], count=int(counts.get(i, 0))) for i in range(buckets))


def _numeric_batch(
    con: duckdb.DuckDBPyConnection, table: str, names: Sequence[str], wide: Sequence[Mapping[str, Any]],
    found: Sequence[Distribution], integer: bool, settings: StatisticsSettings,
) -> dict[int, NumericStats]:
    """Quantiles, moments and histograms of a batch of numeric columns. Quantiles come from the
    value counts when values repeat 10+ times on average (2 ms instead of 35 ms on 1M rows,
    bit-identical), else from the column itself (an exact quantile holds its whole column)."""
    filled = [pos for pos, w in enumerate(wide) if w["non_null"]]
    repeated = {pos: wide[pos]["non_null"] for pos in filled if found[pos].distinct * 10 <= wide[pos]["non_null"]}
    quantiles = vc.quantiles_from_counts(con, repeated)
    quantiles |= vc.quantiles_from_rows(con, table, {p: names[p] for p in filled if p not in repeated},
                                        columns_per_query(con))
    central = vc.moments(con, {p: (wide[p]["mean"], wide[p]["non_null"]) for p in filled if found[p].distinct > 1})
    shapes = {p: _histogram(wide[p]["min"], wide[p]["max"], settings.histogram_buckets, integer, wide[p]["non_null"])
              for p in filled}
    edges = {p: (float(wide[p]["min"]), *shape) for p, shape in shapes.items() if isinstance(shape, tuple)}
    counts = vc.histograms(con, edges)
    return {pos: _numeric_stats(wide[pos], shapes[pos], quantiles[pos], central.get(pos), counts.get(pos, {}))
            for pos in filled}


def _numeric_stats(
    w: Mapping[str, Any], shape: tuple[float, int] | Bucket, quantiles: Sequence[float],
    central: tuple[float, float, float] | None, counts: Mapping[int, int],
) -> NumericStats:
    """A numeric column's statistics from its pass-1 results `w` and what its values gave."""
    histogram = (shape,) if isinstance(shape, Bucket) else _buckets(w["min"], w["max"], *shape, counts)
    skewness, kurtosis = _skew_kurtosis(central)
    scale = max(abs(float(w["min"])), abs(float(w["max"])))  # mean and std are multi-threaded sums
    return NumericStats(
        min=json_number(w["min"]), max=json_number(w["max"]), mean=finite(round_scaled(w["mean"], scale)),
        std=round_scaled(w["std"], scale), skewness=round_scaled(skewness, 1.0),
        kurtosis=round_scaled(kurtosis, 1.0),
        quantiles={quantile_key(q): finite(round_sig(v)) for q, v in zip(QUANTILES, quantiles, strict=True)},
        zero_count=w["zero"], negative_count=w["negative"], histogram=histogram,
    )


def _skew_kurtosis(central: tuple[float, float, float] | None) -> tuple[float | None, float | None]:
    """Population skewness g1 and excess kurtosis g2 from the central moments m2, m3, m4."""
    if central is None or not central[0]:
        return None, None
    m2, m3, m4 = central
    return m3 / m2**1.5, m4 / m2**2 - 3.0


def _text_batch(
    con: duckdb.DuckDBPyConnection, wide: Sequence[Mapping[str, Any]], found: Sequence[Distribution],
    settings: StatisticsSettings,
) -> dict[int, TextStats]:
    """Text shapes of a batch of text columns. Shaping costs about a microsecond per value, so
    above `pattern_max_values` distinct values only a hash sample of them is shaped:
    deterministic, and unbiased for shares because each value keeps its row count."""
    filled = [pos for pos, w in enumerate(wide) if w["non_null"]]
    steps = {pos: math.ceil(found[pos].distinct / settings.pattern_max_values) for pos in filled}
    shaped = vc.patterns(con, steps, settings.pattern_top, settings.pattern_max_length)
    return {pos: _text_stats(wide[pos], shaped.get(pos, ([], 0, 0)), steps[pos] > 1) for pos in filled}


def _text_stats(w: Mapping[str, Any], shaped: tuple[list[tuple[str, int]], int, int], sampled: bool) -> TextStats:
    """A text column's statistics from its pass-1 results `w` and its shapes (top, count, rows shaped)."""
    top, count, total = shaped
    return TextStats(
        min_length=w["min_length"], max_length=w["max_length"], mean_length=finite(round_sig(w["mean_length"])),
        blank_count=w["blank"],
        patterns=tuple(PatternShare(pattern=s, count=n, share=finite(round_sig(n / total))) for s, n in top),
        pattern_count=count, patterns_sampled=sampled,
    )


def _column_profile(
    position: int, column: tuple[str, str], info: TypeInfo | None, rows: int, wide: Mapping[str, Any],
    found: Distribution, numeric: NumericStats | None, text: TextStats | None,
) -> ColumnProfile:
    name, sql_type = column
    non_null, kind = wide["non_null"], _kind(sql_type)
    info = info or TypeInfo(type=_default_type(sql_type))
    temporal = None
    if non_null and kind == "temporal":
        temporal = TemporalRange(min=json_text(wide["min"]), max=json_text(wide["max"]))
    bits, normalized = vc.entropy(found)
    return ColumnProfile(
        name=name, position=position, sql_type=sql_type, type=info.type, unit=info.unit,
        units=tuple((u, int(n)) for u, n in info.units), rows=rows, null_count=rows - non_null,
        null_ratio=finite(round_sig((rows - non_null) / rows)) if rows else 0.0, distinct_count=found.distinct,
        cardinality_ratio=finite(round_sig(found.distinct / rows)) if rows else 0.0,
        unique=non_null > 0 and found.distinct == non_null,
        entropy_bits=finite(round_scaled(bits, 1.0)), entropy_normalized=finite(round_scaled(normalized, 1.0)),
        top_values=tuple(
            ValueCount(value=json_scalar(v), count=int(n), share=finite(round_sig(n / non_null))) for v, n in found.top
        ),
        numeric=numeric, text=text, temporal=temporal,
    )


def profile_batch(
    con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[tuple[str, str]], infos: Sequence[TypeInfo | None],
    rows: int, wide: Sequence[Mapping[str, Any]], settings: StatisticsSettings,
) -> list[ColumnProfile]:
    """Pass 2 for columns of one DuckDB type (`columns`, with their `wide` results and typing
    decisions): their value counts, and everything derived from them; profiles without positions."""
    names = [name for name, _ in columns]
    sql_type = columns[0][1]
    vc.create_value_counts(con, table, names)
    try:
        found = vc.distributions(con, len(names), settings.top_values)
        numeric: dict[int, NumericStats] = {}
        text: dict[int, TextStats] = {}
        if _kind(sql_type) == "numeric":
            numeric = _numeric_batch(con, table, names, wide, found, sql_type in INTEGER_SQL, settings)
        elif _kind(sql_type) == "text":
            text = _text_batch(con, wide, found, settings)
    finally:
        vc.drop_value_counts(con)
    return [
        _column_profile(0, column, infos[pos], rows, wide[pos], found[pos], numeric.get(pos), text.get(pos))
        for pos, column in enumerate(columns)
    ]


def profile_columns(
    con: duckdb.DuckDBPyConnection, table: str, types: Mapping[str, TypeInfo], settings: StatisticsSettings,
    table_name: str | None = None,
) -> ColumnProfiles:
    """Profile every column of `table` (a table or view in `con` with a leading _row_id).
    `types` maps column names to the typing phase's decisions; a missing column gets a
    default from its DuckDB type."""
    columns = table_columns(con, table)
    rows = one_row(con.execute(f"SELECT count(*) FROM {quote_ident(table)}"))[0]
    large = rows >= settings.large_table_rows
    rows, wide = wide_aggregates(con, table, columns, estimate=large)
    parts = {i: vp.partitions(w.get("approx_distinct"), settings.partition_values) for i, w in enumerate(wide)}
    profiles: dict[int, ColumnProfile] = {}
    for i, n in parts.items():
        if n > 1:
            one = profile_partitioned(con, table, columns[i], types.get(columns[i][0]), rows, wide[i], n, settings)
            profiles[i] = replace(one, position=i + 1)
    rest = [i for i, n in parts.items() if n == 1]
    for placed in vc.batches([columns[i] for i in rest], rows, columns_per_query(con), batch_values(con)):
        batch = [rest[i] for i in placed]
        done = profile_batch(con, table, [columns[i] for i in batch], [types.get(columns[i][0]) for i in batch],
                             rows, [wide[i] for i in batch], settings)
        profiles |= {i: replace(p, position=i + 1) for i, p in zip(batch, done, strict=True)}
    return ColumnProfiles(table=table_name or table, columns=tuple(profiles[i] for i in range(len(columns))))


def profile_partitioned(
    con: duckdb.DuckDBPyConnection, table: str, column: tuple[str, str], info: TypeInfo | None, rows: int,
    wide: Mapping[str, Any], parts: int, settings: StatisticsSettings,
) -> ColumnProfile:
    """Pass 2 for one column of many distinct values on a large table: its value counts in `parts`
    hash partitions (`phases.profile.value_partitions`), the same profile as `profile_batch` gives."""
    name, sql_type = column
    kind, filled = _kind(sql_type), bool(wide["non_null"])
    shape = _histogram(wide["min"], wide["max"], settings.histogram_buckets, sql_type in INTEGER_SQL,
                       wide["non_null"]) if kind == "numeric" and filled else None
    edges = (float(wide["min"]), *shape) if isinstance(shape, tuple) else None
    mean = float(wide["mean"]) if shape is not None else None
    gather = vp.Partitioned(con, settings.top_values, mean=mean, edges=edges)
    found = gather.run(table, name, parts, sql_type)
    numeric = text = None
    if shape is not None:
        quantiles = vc.quantiles_from_rows(con, table, {0: name}, 1)[0]
        numeric = _numeric_stats(wide, shape, quantiles, found.moments, found.buckets)
    if kind == "text" and filled:
        step = math.ceil(found.distinct / settings.pattern_max_values)
        shaped = vp.shapes_from_rows(con, table, name, step, settings.pattern_top, settings.pattern_max_length)
        text = _text_stats(wide, shaped, step > 1)
    return _column_profile(0, column, info, rows, wide, found, numeric, text)


# --- keys and duplicate rows -----------------------------------------------------------------


def _duplicates(
    con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[ColumnProfile], examples: int, parts: int = 1,
    keys: Sequence[tuple[str, ...]] = (),
) -> DuplicateRows:
    """Rows equal in every column but _row_id. Skipped when a unique non-null column (or a verified
    key) rules them out; on a large table grouped in `parts` hash partitions of the rows."""
    for column in columns:
        if column.unique and column.null_count == 0:
            return DuplicateRows(rows=0, groups=0, examples=(), method=f"implied: column {column.name!r} is unique")
    if keys:
        return DuplicateRows(rows=0, groups=0, examples=(), method=f"implied: key {list(keys[0])!r} is unique")
    if not columns:
        return DuplicateRows(rows=0, groups=0, examples=(), method="no columns")
    group_by = ", ".join(quote_ident(c.name) for c in columns)
    grouped = (f"SELECT count(*) AS n, min_by({ROW_ID}, {ROW_ID}, {examples}) AS ids FROM {quote_ident(table)} "
               "{where} GROUP BY " + group_by + " HAVING count(*) > 1")
    if parts > 1:
        return _duplicates_partitioned(con, grouped, group_by, examples, parts)
    groups, extra, first = one_row(con.execute(
        f"WITH g AS MATERIALIZED ({grouped.format(where='')}) "
        f"SELECT count(*), coalesce(sum(n - 1), 0), list(ids ORDER BY ids[1])[1:{examples}] FROM g"
    ))
    return DuplicateRows(
        rows=int(extra), groups=int(groups), examples=tuple(tuple(ids) for ids in first or ()),
        method="grouped all columns",
    )


def _duplicates_partitioned(
    con: duckdb.DuckDBPyConnection, grouped: str, group_by: str, examples: int, parts: int
) -> DuplicateRows:
    """`_duplicates` one hash partition of the rows at a time: equal rows share a partition, so
    the partitions' duplicate groups are the table's; only their counts and first row ids are kept."""
    groups = extra = 0
    first: list[list[int]] = []
    for part in range(parts):
        where = "WHERE " + vp.partition_where(group_by, part, parts)
        n_groups, n_extra, ids = one_row(con.execute(
            f"WITH g AS MATERIALIZED ({grouped.format(where=where)}) "
            f"SELECT count(*), coalesce(sum(n - 1), 0), list(ids ORDER BY ids[1])[1:{examples}] FROM g"))
        groups, extra, first = groups + int(n_groups), extra + int(n_extra), first + list(ids or ())
    first = sorted(first, key=lambda ids: ids[0])[:examples]
    return DuplicateRows(rows=extra, groups=groups, examples=tuple(tuple(ids) for ids in first),
                         method=f"grouped all columns in {parts} hash partitions")


def profile_keys(
    con: duckdb.DuckDBPyConnection, table: str, profiles: ColumnProfiles, settings: StatisticsSettings
) -> TableProfile:
    """Candidate keys (every minimal unique column set up to `key_max_columns` columns, ranked; see
    `phases.profile.key_search`) and duplicate full rows. On a large table the keys come first: a
    verified key rules out duplicate rows without grouping every row (and a duplicate row rules
    out every key, so the search then reports none, as when it is skipped)."""
    columns = profiles.columns
    rows = columns[0].rows if columns else one_row(con.execute(f"SELECT count(*) FROM {quote_ident(table)}"))[0]
    if rows >= settings.large_table_rows:
        search = search_keys(con, table, columns, rows, settings)
        parts = math.ceil(rows / settings.partition_values)
        duplicates = _duplicates(con, table, columns, settings.duplicate_examples, parts, search.keys)
        if duplicates.rows:
            search = KeySearch(keys=(), sets_checked=0, complete=True)
    else:
        duplicates = _duplicates(con, table, columns, settings.duplicate_examples)
        # a duplicated row makes every column set non-unique
        search = KeySearch(keys=(), sets_checked=0, complete=True) if duplicates.rows else search_keys(
            con, table, columns, rows, settings)
    return TableProfile(
        table=profiles.table, rows=rows, columns=tuple(c.name for c in columns), candidate_keys=search.keys,
        chance_unique=tuple(c.name for c in columns if chance_unique(c, rows, settings)),
        key_sets_checked=search.sets_checked, key_search_complete=search.complete, duplicates=duplicates,
    )


# --- the phase -------------------------------------------------------------------------------


def type_infos(types: ColumnTypes) -> dict[str, TypeInfo]:
    """The parts of the typing decisions that profiling uses."""
    return {c.name: TypeInfo(type=c.type, unit=c.unit, units=c.units) for c in types.columns}


def profile_parquet(
    con: duckdb.DuckDBPyConnection, parquet: str, table_name: str, types: Mapping[str, TypeInfo],
    settings: StatisticsSettings,
) -> tuple[ColumnProfiles, TableProfile]:
    """Profile a typed Parquet file (through a view, or a table if small: see `open_parquet`)."""
    view = "__stats_typed"
    open_parquet(con, view, parquet)
    profiles = profile_columns(con, view, types, settings, table_name=table_name)
    return profiles, profile_keys(con, view, profiles, settings)


def profile_table(ctx: TableContext) -> PhaseOutput:
    """Phase `statistics`: column_profiles.json and table_profile.json for one typed table."""
    settings = ctx.parse_settings(StatisticsSettings)
    types = type_infos(ctx.read(COLUMN_TYPES))
    with ctx.connect() as con:
        profiles, table = profile_parquet(con, str(ctx.path(TYPED_TABLE)), ctx.table.name, types, settings)
    ctx.write(COLUMN_PROFILES, profiles)
    ctx.write(TABLE_PROFILE, table)
    return PhaseOutput(
        summary={
            "rows": table.rows, "columns": len(table.columns),
            "candidate_keys": [list(k) for k in table.candidate_keys], "duplicate_rows": table.duplicates.rows,
        },
    )
