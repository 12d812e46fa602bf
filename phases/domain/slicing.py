"""The slicing phase (per source): the groups a fact table splits into, and how each group's
data differs from the rest.

1. Dimensions. Per fact table (TableAnnotation.kind == "fact"; when no table is marked fact,
   every table with measures), the categorical columns that split it into a few balanced
   groups: at most `max_distinct` values, not a key, not near-unique, not constant, not mostly
   null, no more than `max_rare_share` of the rows in groups below `min_group_share`, and
   balanced (the profile's entropy_normalized). Of two dimensions whose Cramér's V (from the
   correlations artifact) reaches `max_cramers_v`, the better balanced one is kept: they are
   two views of one attribute. Every rejected column is listed with its reason.
2. Profiles. Per slice and measure: rows, null ratio, mean, p05/p50/p95, the share of
   values outside Tukey's fences computed over the whole table (on log10|x| when the values
   span orders of magnitude, as statistical_quality does), and Benford's first-digit MAD
   where the test applies. One GROUP BY GROUPING SETS scan per table computes every slice of
   every dimension at once; no table is ever copied per slice.
3. Departures. Each slice against the other slices of its dimension, per measure among the
   slices the measure applies to (a slice without a single value of it is absent by design):
   null ratio and outlier share by Cohen's h, the mean by its shift in table standard
   deviations. A reason counts from `min_effect` (0.2 is Cohen's "small"); the slice's score
   is its largest effect, and the `top` slices are listed.
4. Slices over time: per slice and period (monthly by default) of the table's main time
   column, the row counts, the coverage of the table's period range, and volume anomalies
   (robust z of a period's count against the slice's median, one more GROUPING SETS scan).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from phases.artifacts.annotations import ANNOTATIONS, Annotations
from phases.artifacts.column_profiles import COLUMN_PROFILES, ColumnProfile
from phases.artifacts.correlations import CORRELATIONS, Correlations
from phases.artifacts.slices import (
    SLICES,
    Departure,
    DepartureReason,
    MeasureBasis,
    MeasureProfile,
    RejectedDimension,
    SliceDimension,
    SlicedTable,
    SlicePeriods,
    SliceProfile,
    Slices,
    SliceValue,
)
from phases.artifacts.tables import TYPED_TABLE
from phases.core.config import Model
from phases.core.context import PhaseOutput, SourceContext
from phases.core.records import Scalar, json_scalar, round_scaled, round_sig
from phases.core.sql import quote_ident, quote_literal
from phases.domain.slice_periods import PeriodSettings, slice_periods
from phases.shared.benford import BenfordSettings, benford_reason, benford_test, first_digit_sql
from phases.shared.narrow import finite, one_row
from phases.shared.quality_base import ROW_ID
from phases.shared.sampling import QuantileSample, quantile_sample

if TYPE_CHECKING:
    import duckdb

NUMERIC_TYPES = ("integer", "decimal", "currency", "percent")
DATE_TYPES = ("date", "timestamp")
NOT_DIMENSIONS = ("measure", "timestamp")  # roles that are never slice dimensions, and not listed as rejected
KEY_ROLES = ("key", "identifier")
TABLE = "__slice_table"  # a view of the columns used over the typed Parquet file (streamed, never held)


class SelectionSettings(Model):
    """The `selection` section of config/slicing.yaml."""

    max_distinct: int = Field(12, ge=2, le=1000)
    near_unique_ratio: float = Field(0.5, gt=0, le=1)
    max_null_ratio: float = Field(0.7, ge=0, le=1)
    min_group_share: float = Field(0.01, ge=0, le=0.5)
    max_rare_share: float = Field(0.05, ge=0, le=1)
    min_entropy: float = Field(0.3, ge=0, le=1)
    max_cramers_v: float = Field(0.8, gt=0, le=1)
    max_dimensions: int = Field(5, ge=1, le=100)
    max_measures: int = Field(10, ge=0, le=200)


class QualitySettings(Model):
    """The `quality` section of config/slicing.yaml."""

    iqr_k: float = Field(1.5, gt=0, le=100)
    outlier_min_values: int = Field(20, ge=3)
    log_scale_min_orders: float = Field(2.0, ge=0, le=20)
    benford: BenfordSettings = BenfordSettings()
    quantile_sample_rows: int = Field(1_000_000, ge=1000, le=1_000_000_000)


class DepartureSettings(Model):
    """The `departures` section of config/slicing.yaml."""

    min_slice_rows: int = Field(30, ge=1)
    min_effect: float = Field(0.2, gt=0, le=10)
    top: int = Field(10, ge=0, le=1000)


class SlicingSettings(Model):
    """config/slicing.yaml."""

    selection: SelectionSettings = SelectionSettings()
    quality: QualitySettings = QualitySettings()
    departures: DepartureSettings = DepartureSettings()
    periods: PeriodSettings = PeriodSettings()


# --- helpers ----------------------------------------------------------------------------------


def _value_key(value: Scalar) -> tuple[bool, int | float | str]:
    """Sort key for dimension values of one column: nulls last."""
    return (value is None, str(value) if isinstance(value, bool) else value if value is not None else "")


def _share(part: int, whole: int) -> float:
    return finite(round_sig(part / whole)) if whole else 0.0


def _cohens_h(p: float, q: float) -> float:
    return 2 * math.asin(math.sqrt(min(max(p, 0.0), 1.0))) - 2 * math.asin(math.sqrt(min(max(q, 0.0), 1.0)))


def _number(value: float | None, scale: float) -> float | None:
    return None if value is None else round_scaled(float(value), scale)


# --- 1. dimensions ----------------------------------------------------------------------------


def fact_tables(annotations: Annotations, profiles: Mapping[str, Mapping[str, ColumnProfile]]) -> dict[str, str]:
    """table -> why it is sliced: the tables marked fact, else every table with measures."""
    marked = {t: "marked fact by the semantic phase" for t, a in annotations.tables.items()
              if a.kind == "fact" and t in profiles}
    if marked:
        return marked
    return {t: "has measures (no table is marked fact)" for t in profiles if measures_of(t, annotations, profiles[t])}


def measures_of(table: str, annotations: Annotations, profiles: Mapping[str, ColumnProfile]) -> list[str]:
    """Numeric columns annotated as measures, in table order (decimal and currency columns when
    the table has no annotations at all)."""
    annotated = {c.column: c for c in annotations.of_table(table)}
    if annotated:
        return [n for n, p in profiles.items()
                if n in annotated and annotated[n].role == "measure" and p.type in NUMERIC_TYPES]
    return [n for n, p in profiles.items() if p.type in ("decimal", "currency")]


def _screen(profile: ColumnProfile, role: str | None, s: SelectionSettings) -> tuple[str, str] | None:
    """(kind, reason) when the profile alone rules the column out as a dimension."""
    if role in KEY_ROLES or (role is None and profile.unique and profile.rows > 1):
        return "key", f"a {role or 'unique key'} column identifies rows; it does not group them"
    if profile.distinct_count <= 1:
        return "constant", f"{profile.distinct_count} distinct value: every row falls in one group"
    if profile.cardinality_ratio >= s.near_unique_ratio:
        return "near_unique", (f"{profile.distinct_count} distinct values in {profile.rows} rows "
                               f"({profile.cardinality_ratio:.0%} of rows; near-unique from {s.near_unique_ratio:.0%})")
    if profile.distinct_count > s.max_distinct:
        return "too_many_values", f"{profile.distinct_count} distinct values; a dimension has at most {s.max_distinct}"
    if profile.null_ratio > s.max_null_ratio:
        return "too_many_nulls", f"{profile.null_ratio:.0%} of rows are null; at most {s.max_null_ratio:.0%}"
    if profile.entropy_normalized < s.min_entropy:
        return "unbalanced", (f"normalized entropy {profile.entropy_normalized:.2f} below {s.min_entropy}: "
                              f"one value holds most rows")
    return None


def _candidate(profile: ColumnProfile, role: str | None) -> bool:
    """Whether a column is looked at as a dimension at all (measures and dates never are)."""
    if profile.name == "_row_id" or role in NOT_DIMENSIONS or profile.type in DATE_TYPES:
        return False
    return role == "dimension" or profile.type not in ("decimal", "currency", "percent")


def group_counts(con: duckdb.DuckDBPyConnection, columns: Sequence[str]) -> dict[str, list[tuple[Scalar, int]]]:
    """Rows per value (NULL included) of each column, in one GROUPING SETS scan."""
    if not columns:
        return {}
    q = [quote_ident(c) for c in columns]
    flags = ", ".join(f"grouping({c})" for c in q)
    sets = ", ".join(f"({c})" for c in q)
    rows = con.execute(f"SELECT {flags}, {', '.join(q)}, count(*) FROM {TABLE} GROUP BY GROUPING SETS ({sets})"
                       ).fetchall()
    counts: dict[str, list[tuple[Scalar, int]]] = {c: [] for c in columns}
    for row in rows:
        i = [g for g in row[: len(q)]].index(0)
        counts[columns[i]].append((json_scalar(row[len(q) + i]), int(row[-1])))
    return {c: sorted(v, key=lambda vc: (-vc[1], _value_key(vc[0]))) for c, v in counts.items()}


def _cramers_v(correlations: Correlations, table: str) -> dict[frozenset[str], float]:
    return {frozenset((a.x, a.y)): a.value for a in correlations.associations
            if a.measure == "cramers_v" and a.via is None and a.x_table == table == a.y_table}


def choose_dimensions(
    con: duckdb.DuckDBPyConnection, table: str, profiles: Mapping[str, ColumnProfile], annotations: Annotations,
    correlations: Correlations, s: SelectionSettings,
) -> tuple[list[SliceDimension], list[RejectedDimension]]:
    """The slice dimensions of one table (loaded as TABLE in `con`), and the columns rejected."""
    roles = {c.column: c.role for c in annotations.of_table(table)}
    rejected: list[RejectedDimension] = []
    screened = []
    for name, profile in profiles.items():
        if not _candidate(profile, roles.get(name)):
            continue
        if why := _screen(profile, roles.get(name), s):
            rejected.append(RejectedDimension(table, name, *why))
        else:
            screened.append(name)
    accepted = []
    for name, counts in group_counts(con, screened).items():
        p, total = profiles[name], sum(n for _, n in counts)
        rare = [(v, n) for v, n in counts if n < s.min_group_share * total]
        rare_share = sum(n for _, n in rare) / total if total else 0.0
        if rare_share > s.max_rare_share:
            rejected.append(RejectedDimension(table, name, "unbalanced", (
                f"{len(rare)} groups below {s.min_group_share:.0%} of rows hold {rare_share:.1%} of them "
                f"(at most {s.max_rare_share:.0%})")))
            continue
        accepted.append(SliceDimension(
            table=table, column=name, type=p.type, role=roles.get(name), groups=len(counts),
            null_ratio=p.null_ratio, entropy_normalized=p.entropy_normalized,
            smallest_share=_share(counts[-1][1], total),
            rare_values=tuple(sorted((v for v, _ in rare), key=_value_key)),
            values=tuple(SliceValue(v, n, _share(n, total)) for v, n in counts)))
    # The better balanced of two views of one attribute is kept: judged in this order.
    accepted.sort(key=lambda d: (-d.entropy_normalized, d.null_ratio, d.column))
    strength = _cramers_v(correlations, table)
    kept: list[SliceDimension] = []
    for d in accepted:
        twin = next((k for k in kept if strength.get(frozenset((k.column, d.column)), 0.0) >= s.max_cramers_v), None)
        if twin is not None:
            v = strength[frozenset((twin.column, d.column))]
            rejected.append(RejectedDimension(table, d.column, "redundant", (
                f"Cramér's V {v:.2f} with {twin.column!r} (from {s.max_cramers_v}): two views of one attribute; "
                f"{twin.column!r} is better balanced"), redundant_with=twin.column, cramers_v=v))
        elif len(kept) >= s.max_dimensions:
            rejected.append(RejectedDimension(table, d.column, "limit",
                                              f"beyond the {s.max_dimensions} best balanced dimensions of the table"))
        else:
            kept.append(d)
    return sorted(kept, key=lambda d: d.column), sorted(rejected, key=lambda r: r.column)


# --- 2. per-slice profiles ----------------------------------------------------------------------


def _magnitudes_sql(x: str) -> str:
    return f"CASE WHEN {x} <> 0 THEN log10(abs({x})) END"


def measure_bases(con: duckdb.DuckDBPyConnection, table: str, measures: Sequence[str],
                  profiles: Mapping[str, ColumnProfile], q: QualitySettings,
                  sample: QuantileSample | None = None) -> list[MeasureBasis]:
    """Table-wide statistics of each measure in one scan, and its fences and Benford applicability."""
    if not measures:
        return []
    sample = sample or QuantileSample(1.0, None)
    parts = []
    for m in measures:
        x = f"CAST({quote_ident(m)} AS DOUBLE)"
        parts += [f"count({x})", f"avg({x})", f"stddev_samp({x})",
                  f"quantile_cont({x}, [0.25, 0.5, 0.75]){sample.filter()}",
                  f"quantile_cont(abs({x}), [0.01, 0.99]){sample.filter(f'{x} <> 0')}",
                  f"quantile_cont({_magnitudes_sql(x)}, [0.25, 0.5, 0.75]){sample.filter()}"]
    row = one_row(con.execute(f"SELECT {', '.join(parts)} FROM {TABLE}"))
    bases = []
    for i, m in enumerate(measures):
        n, mean, std, linear, span, logs = row[i * 6: i * 6 + 6]
        scale = _scale_of(profiles[m])
        orders = math.log10(span[1] / span[0]) if span and span[0] and span[0] > 0 else 0.0
        fences, note = _fences(n, linear, logs, orders, q)
        benford_note = benford_reason(profiles[m], q.benford)
        if benford_note is None and orders < q.benford.min_orders_of_magnitude:
            benford_note = (f"values span {orders:.2f} orders of magnitude; the test needs "
                            f"{q.benford.min_orders_of_magnitude}")
        bases.append(MeasureBasis(
            table=table, measure=m, values=int(n), mean=_number(mean, scale), std=_number(std, scale),
            outlier_scale=fences[0] if fences else None, lower_fence=round_sig(fences[1]) if fences else None,
            upper_fence=round_sig(fences[2]) if fences else None, outlier_note=note,
            benford=benford_note is None, benford_note=benford_note))
    return bases


def _fences(n: int, linear: Any, logs: Any, orders: float,
            q: QualitySettings) -> tuple[tuple[str, float, float] | None, str | None]:
    if n < q.outlier_min_values:
        return None, f"only {n} values; the fences need at least {q.outlier_min_values}"
    log = bool(q.log_scale_min_orders and logs and orders >= q.log_scale_min_orders)
    q1, _, q3 = logs if log else linear
    iqr = q3 - q1
    if iqr <= 0:
        return None, "IQR is 0: at least half of the values are equal"
    low, high = q1 - q.iqr_k * iqr, q3 + q.iqr_k * iqr
    return ("log10_magnitude", 10 ** low, 10 ** high) if log else ("linear", low, high), None


def _outlier_sql(basis: MeasureBasis) -> str | None:
    """SQL condition: the measure lies beyond its fences; None when no fences apply."""
    if basis.lower_fence is None or basis.upper_fence is None:
        return None
    x = f"CAST({quote_ident(basis.measure)} AS DOUBLE)"
    low, high = repr(float(basis.lower_fence)), repr(float(basis.upper_fence))
    if basis.outlier_scale == "log10_magnitude":  # zeros are never outliers on the magnitude scale
        return f"({x} <> 0 AND (abs({x}) < {low} OR abs({x}) > {high}))"
    return f"({x} < {low} OR {x} > {high})"


def _scale_of(profile: ColumnProfile) -> float:
    n = profile.numeric
    return max(abs(n.min), abs(n.max)) if n else 1.0


@dataclass(frozen=True)
class MeasureAggregate:
    """One measure over the rows of a slice (or of the whole table)."""

    n: int  # non-null values
    sum: float  # 0 when there are none
    mean: float | None
    quantiles: list[float] | None  # p05, p50, p95
    outliers: int | None  # values beyond the table's fences; None when no fences apply
    digits: dict[int, int] | None  # first digit -> values; None when Benford's test does not apply


@dataclass(frozen=True)
class SliceAggregate:
    rows: int
    measures: Mapping[str, MeasureAggregate]


def slice_aggregates(con: duckdb.DuckDBPyConnection, dimensions: Sequence[str], bases: Sequence[MeasureBasis],
                     sample: QuantileSample | None = None) -> dict[tuple[str, Scalar] | None, SliceAggregate]:
    """Per (dimension, value), and for the whole table (key None): rows and per measure its
    count, sum, mean, quantiles, outliers and first digits, in one GROUPING SETS scan."""
    sample = sample or QuantileSample(1.0, None)
    dims = [quote_ident(d) for d in dimensions]
    per = 6
    parts = ["count(*)"]
    for b in bases:
        x = f"CAST({quote_ident(b.measure)} AS DOUBLE)"
        beyond = _outlier_sql(b)
        outliers = f"count(*) FILTER (WHERE {beyond})" if beyond is not None else "NULL"
        digits = f"histogram({first_digit_sql(x)})" if b.benford else "NULL"
        quantiles = f"quantile_cont({x}, [0.05, 0.5, 0.95]){sample.filter()}"
        parts += [f"count({x})", f"sum({x})", f"avg({x})", quantiles, outliers, digits]
    flags = [f"grouping({d})" for d in dims]
    sets = ", ".join([f"({d})" for d in dims] + ["()"])
    sql = f"SELECT {', '.join(flags + dims + parts)} FROM {TABLE} GROUP BY GROUPING SETS ({sets})"
    result: dict[tuple[str, Scalar] | None, SliceAggregate] = {}
    k = len(dims)
    for row in con.execute(sql).fetchall():
        grouped = [i for i, g in enumerate(row[:k]) if g == 0]
        key = (dimensions[grouped[0]], json_scalar(row[k + grouped[0]])) if grouped else None
        values = row[2 * k:]
        measures = {}
        for j, b in enumerate(bases):
            n, total, mean, quantiles, outliers, digits = values[1 + j * per: 1 + (j + 1) * per]
            measures[b.measure] = MeasureAggregate(n=int(n), sum=total or 0.0, mean=mean, quantiles=quantiles,
                                                   outliers=outliers, digits=digits)
        result[key] = SliceAggregate(rows=int(values[0]), measures=measures)
    return result


def _measure_profile(basis: MeasureBasis, rows: int, m: MeasureAggregate, scale: float,
                     min_benford: int) -> MeasureProfile:
    q: Sequence[float | None] = m.quantiles or (None, None, None)
    mad: float | None = None
    conformity: str | None = None
    if m.digits and sum(m.digits.values()) >= min_benford:
        test = benford_test({int(d): c for d, c in m.digits.items()})
        mad, conformity = test.mad, test.conformity
    return MeasureProfile(
        measure=basis.measure, values=m.n, null_ratio=_share(rows - m.n, rows), mean=_number(m.mean, scale),
        p05=_number(q[0], scale), p50=_number(q[1], scale), p95=_number(q[2], scale),
        outlier_share=_share(m.outliers, m.n) if m.outliers is not None and m.n else None,
        benford_mad=mad, benford_conformity=conformity)


def _departure(table: str, column: str, value: Scalar, part: SliceAggregate, siblings: Sequence[SliceAggregate],
               bases: Sequence[MeasureBasis], s: DepartureSettings) -> Departure | None:
    """The slice against the other slices of its dimension. A measure is compared only among the
    slices it applies to (that have at least one value of it): a quantity that only product lines
    carry is absent elsewhere by design, not missing."""
    rows = part.rows
    if rows < s.min_slice_rows:
        return None
    reasons = []
    for b in bases:
        m = part.measures[b.measure]
        applies = [x for x in siblings if x.measures[b.measure].n > 0]
        if not m.n:
            continue
        rest_rows = sum(x.rows for x in applies) - rows
        rest_n = sum(x.measures[b.measure].n for x in applies) - m.n
        if rest_rows < s.min_slice_rows:
            continue
        found: list[tuple[str, float, float, float | None]] = [
            ("null_ratio", (rows - m.n) / rows, (rest_rows - rest_n) / rest_rows, None)]
        if m.n >= s.min_slice_rows and rest_n >= s.min_slice_rows:
            if m.outliers is not None:  # then every slice has a count: the fences are the table's
                rest_outliers = sum(x.measures[b.measure].outliers or 0 for x in applies) - m.outliers
                found.append(("outlier_share", m.outliers / m.n, rest_outliers / rest_n, None))
            if b.std:
                rest_sum = sum(x.measures[b.measure].sum for x in applies) - m.sum
                found.append(("mean_shift", m.sum / m.n, rest_sum / rest_n, b.std))
        for metric, mine, rest, std in found:
            effect = (mine - rest) / std if std else _cohens_h(mine, rest)
            if abs(effect) >= s.min_effect:
                reasons.append(DepartureReason(metric, b.measure, finite(round_sig(mine, 6)),
                                               finite(round_sig(rest, 6)), finite(round_sig(effect, 6))))
    if not reasons:
        return None
    reasons.sort(key=lambda r: (-abs(r.effect), r.metric, r.measure))
    return Departure(table, column, value, rows, abs(reasons[0].effect), tuple(reasons))


# --- the source -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableSlices:
    """Everything the phase reports about one fact table."""

    table: SlicedTable
    dimensions: list[SliceDimension]
    rejected: list[RejectedDimension]
    profiles: list[SliceProfile]
    departures: list[Departure]
    periods: list[SlicePeriods]


def slice_table(con: duckdb.DuckDBPyConnection, table: str, why: str, path: Path,
                profiles: Mapping[str, ColumnProfile], annotations: Annotations, correlations: Correlations,
                settings: SlicingSettings) -> TableSlices:
    """Everything the phase reports about one fact table."""
    measures = measures_of(table, annotations, profiles)[: settings.selection.max_measures]
    annotation = annotations.tables.get(table)
    time_column = annotation.time_column if annotation else None
    roles = {c.column: c.role for c in annotations.of_table(table)}
    wanted = [n for n, p in profiles.items() if _candidate(p, roles.get(n)) or n in measures or n == time_column]
    select = ", ".join([quote_ident(c) for c in wanted] + [quote_ident(ROW_ID)])
    con.execute(f"CREATE OR REPLACE TEMP VIEW {TABLE} AS SELECT {select} FROM read_parquet({quote_literal(path)})")
    rows = one_row(con.execute(f"SELECT count(*) FROM {TABLE}"))[0]
    sample = quantile_sample(rows, settings.quality.quantile_sample_rows)
    dims, rejected = choose_dimensions(con, table, profiles, annotations, correlations, settings.selection)
    bases = measure_bases(con, table, measures, profiles, settings.quality, sample)
    aggregates = slice_aggregates(con, [d.column for d in dims], bases, sample)
    whole = aggregates.get(None) or SliceAggregate(rows=0, measures={})
    slice_profiles: list[SliceProfile] = []
    departures: list[Departure] = []
    for d in dims:
        siblings = [aggregates[(d.column, v.value)] for v in d.values]
        for v in d.values:
            part = aggregates[(d.column, v.value)]
            slice_profiles.append(SliceProfile(table, d.column, v.value, part.rows, v.share, tuple(
                _measure_profile(b, part.rows, part.measures[b.measure], _scale_of(profiles[b.measure]),
                                 settings.quality.benford.min_values) for b in bases)))
            if found := _departure(table, d.column, v.value, part, siblings, bases, settings.departures):
                departures.append(found)
    periods: list[SlicePeriods] = []
    note: str | None = None
    if time_column is None:
        note = "the semantic phase names no main time column for the table"
    elif time_column not in profiles:
        note = f"time column {time_column!r} is not in the table"
    elif profiles[time_column].type not in DATE_TYPES:
        note = f"time column {time_column!r} is typed {profiles[time_column].type}, not a date (typing failed?)"
    elif not settings.periods.enabled:
        note = "slicing over time is disabled in config/slicing.yaml"
    elif dims:
        periods, note = slice_periods(con, TABLE, table, time_column, dims, settings.periods)
    con.execute(f"DROP VIEW {TABLE}")
    sliced = SlicedTable(table, whole.rows, why, tuple(bases), time_column if note is None else None, note,
                         quantile_sample=sample.fraction if sample.where else None)
    return TableSlices(sliced, dims, rejected, slice_profiles, departures, periods)


def slice_source(con: duckdb.DuckDBPyConnection, source: str, typed: Mapping[str, Path],
                 profiles: Mapping[str, Mapping[str, ColumnProfile]], annotations: Annotations,
                 correlations: Correlations, settings: SlicingSettings) -> Slices:
    """The library twin of the phase: slices of every fact table of a source."""
    tables: list[SlicedTable] = []
    dims: list[SliceDimension] = []
    rejected: list[RejectedDimension] = []
    slice_profiles: list[SliceProfile] = []
    departures: list[Departure] = []
    periods: list[SlicePeriods] = []
    for table, why in sorted(fact_tables(annotations, profiles).items()):
        if table not in typed:
            continue
        result = slice_table(con, table, why, typed[table], profiles[table], annotations, correlations, settings)
        tables.append(result.table)
        dims += result.dimensions
        rejected += result.rejected
        slice_profiles += result.profiles
        departures += result.departures
        periods += result.periods
    departures.sort(key=lambda d: (-d.score, d.table, d.column, _value_key(d.value)))
    return Slices(source=source, tables=tuple(tables), dimensions=tuple(dims), rejected=tuple(rejected),
                  profiles=tuple(slice_profiles), departures=tuple(departures[: settings.departures.top]),
                  periods=tuple(periods))


def slice_facts(ctx: SourceContext) -> PhaseOutput:
    """Phase `slicing`: slices.json for one source."""
    settings = ctx.parse_settings(SlicingSettings)
    annotations = ctx.read(ANNOTATIONS)
    correlations = ctx.read(CORRELATIONS)
    profiles = {t: p.by_name for t, p in ctx.read_tables(COLUMN_PROFILES).items()}
    with ctx.connect() as con:
        result = slice_source(con, ctx.source.name, ctx.paths(TYPED_TABLE), profiles, annotations,
                              correlations, settings)
    ctx.write(SLICES, result)
    return PhaseOutput(
        summary={
            "tables": [t.table for t in result.tables],
            "dimensions": [f"{d.table}.{d.column}" for d in result.dimensions],
            "departures": len(result.departures),
            "volume_anomalies": sum(len(p.anomalies) for p in result.periods),
        },
    )
