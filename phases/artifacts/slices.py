"""The slicing phase's artifact (slices.json) and its typed reader.

Kept apart from the slicing code so that readers (entropy, the context document) do not take
the analysis into their code signature. A slice is one value of one dimension column of a fact
table (NULL is a value of its own: "no payment method" is a group like any other).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from phases.core.records import OMIT_NONE, JsonArtifact, Scalar


@dataclass(frozen=True)
class SliceValue:
    value: Scalar  # None for the rows where the dimension is null
    rows: int
    share: float  # of the table's rows


@dataclass(frozen=True)
class SliceDimension:
    """A column chosen to slice a fact table by."""

    table: str
    column: str
    type: str  # semantic type from typing (text, boolean, integer, ...)
    role: str | None  # semantic role; None when the column was not annotated
    groups: int  # slices, the null group included
    null_ratio: float
    entropy_normalized: float  # balance of the non-null values, 1 = all equally frequent
    smallest_share: float  # share of the table's rows in the smallest group
    rare_values: tuple[Scalar, ...]  # groups below min_group_share (kept: together they are few rows)
    values: tuple[SliceValue, ...]  # rows desc, then value


@dataclass(frozen=True)
class RejectedDimension:
    table: str
    column: str
    kind: str  # key | constant | near_unique | too_many_values | too_many_nulls | unbalanced | redundant | limit
    reason: str  # one sentence with the measured numbers
    redundant_with: str | None = None  # the kept column, for kind == redundant
    cramers_v: float | None = None


@dataclass(frozen=True)
class MeasureBasis:
    """How one measure of a fact table is judged in every slice: table-wide fences and Benford."""

    table: str
    measure: str
    values: int  # non-null values in the table
    mean: float | None
    std: float | None  # sample standard deviation over the table (the unit of a mean shift)
    outlier_scale: str | None  # linear | log10_magnitude; None when no fences apply
    lower_fence: float | None  # Tukey's fences in the column's units (on log scale they bound |x|)
    upper_fence: float | None
    outlier_note: str | None  # why no fences apply
    benford: bool  # the first-digit test applies to this measure (per slice with enough values)
    benford_note: str | None  # why it does not


@dataclass(frozen=True)
class MeasureProfile:
    measure: str
    values: int  # non-null values in the slice
    null_ratio: float  # of the slice's rows
    mean: float | None
    p05: float | None
    p50: float | None
    p95: float | None
    outlier_share: float | None  # of the slice's non-null values outside the table's fences
    benford_mad: float | None  # Nigrini's mean absolute deviation; None when the test does not apply
    benford_conformity: str | None  # close | acceptable | marginal | nonconformity


@dataclass(frozen=True)
class SliceProfile:
    table: str
    column: str
    value: Scalar
    rows: int
    share: float
    measures: tuple[MeasureProfile, ...]  # in table order


@dataclass(frozen=True)
class DepartureReason:
    metric: str  # null_ratio | outlier_share | mean_shift
    measure: str
    slice_value: float
    rest_value: float  # the same metric over the table's other rows
    effect: float  # Cohen's h for shares, shift in table standard deviations for means; signed


@dataclass(frozen=True)
class Departure:
    """A slice whose quality differs from the rest of its table."""

    table: str
    column: str
    value: Scalar
    rows: int
    score: float  # the largest |effect| of its reasons
    reasons: tuple[DepartureReason, ...]  # largest |effect| first


@dataclass(frozen=True)
class PeriodCount:
    period: str  # label of the period: 2025-01 (month), 2025-Q1, 2025, or the first day (week, day)
    rows: int


@dataclass(frozen=True)
class VolumeAnomaly:
    period: str
    rows: int
    median: float
    robust_z: float  # (rows - median) / (1.4826 * MAD), with the scale floored (see config)
    direction: str  # high | low
    partial_period: bool  # the table's first or last period, which the data may cover only in part


@dataclass(frozen=True)
class SlicePeriods:
    table: str
    column: str
    value: Scalar
    time_column: str
    period: str  # day | week | month | quarter | year
    periods_in_range: int  # periods from the table's first to its last
    periods_present: int  # periods with at least one row of the slice
    coverage: float  # present / in range
    median_rows: float  # median rows over the present periods
    counts: tuple[PeriodCount, ...]  # present periods, in time order
    missing: tuple[str, ...]  # periods in range without a row of the slice (at most max_missing_listed)
    anomalies: tuple[VolumeAnomaly, ...]  # in time order


@dataclass(frozen=True)
class SlicedTable:
    table: str
    rows: int
    why: str  # marked fact by the semantic phase, or has measures when no table is marked fact
    measures: tuple[MeasureBasis, ...]
    time_column: str | None
    time_note: str | None  # why the table is not sliced over time
    # the share of rows quantiles and fences were read from, when the table was too large for
    # exact quantiles (a deterministic sample by row id); absent when every row was read
    quantile_sample: float | None = field(default=None, metadata={OMIT_NONE: True})


@dataclass(frozen=True)
class Slices:
    source: str
    tables: tuple[SlicedTable, ...]
    dimensions: tuple[SliceDimension, ...]  # by table, then column
    rejected: tuple[RejectedDimension, ...]  # by table, then column
    profiles: tuple[SliceProfile, ...]  # by table, column, then rows desc
    departures: tuple[Departure, ...]  # highest score first
    periods: tuple[SlicePeriods, ...]  # by table, column, then rows desc


SLICES = JsonArtifact("slices", "slices.json", record=Slices)
