"""The temporal phase's artifact (temporal_profiles.json): per date column of a table its span,
granularity, completeness, gaps, role (event time, period label, due date), staleness, and the
series analysis (trend, seasonality, level shifts, drift)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from phases.core.records import JsonArtifact


@dataclass(frozen=True)
class Trend:
    slope: float  # change per period of the seasonally and shift-adjusted series
    relative_slope: float | None  # slope / series mean (None when the mean is 0)
    r2: float  # strength: R² of the linear fit
    found: bool


@dataclass(frozen=True)
class Seasonality:
    kind: str  # hourly, daily, weekly, monthly, yearly
    phases: int  # distinct positions in the cycle seen
    strength: float  # adjusted R² of the per-phase means of the detrended series
    p_value: float  # F-test of those means against none
    found: bool


@dataclass(frozen=True)
class LevelShift:
    period: str  # first period at the new level
    before: float
    after: float
    shift: float
    z: float  # the jump over its standard error


@dataclass(frozen=True)
class Series:
    unit: str
    measure: str  # "count" or "sum:<column>"
    start: str
    end: str  # start of the last period
    periods: int
    status: str
    calendar_adjusted: bool  # month/quarter/year values scaled to periods of average length
    mean: float | None
    trend: Trend | None
    seasonality: tuple[Seasonality, ...]
    level_shifts: tuple[LevelShift, ...]


@dataclass(frozen=True)
class DriftPair:
    start: str  # earlier period
    end: str  # later period
    rows_start: int  # the sample sizes: all rows of each period
    rows_end: int
    psi: float
    p_value: float


@dataclass(frozen=True)
class Drift:
    column: str
    unit: str | None
    status: str
    bins: int
    pairs: int  # consecutive period pairs compared
    max_psi: float | None
    found: bool
    drifting: tuple[DriftPair, ...]  # the largest PSIs that pass both thresholds


@dataclass(frozen=True)
class Granularity:
    unit: str  # second, minute, hour, day, business_day, week, month, quarter, year or irregular
    step: int  # units per modal gap (15 for quarter-hourly data); 0 when irregular
    confidence: float  # share of gaps that are whole multiples of the (nearest) step
    modal_share: float  # share of gaps exactly one (nearest) step
    nearest: str | None  # the unit the modal gap suggested, also when it did not hold
    nearest_step: int | None
    median_gap_days: float | None
    note: str | None  # why no granularity could be judged


@dataclass(frozen=True)
class Completeness:
    expected_periods: int  # periods of the granularity between min and max
    present_periods: int
    ratio: float


@dataclass(frozen=True)
class Gap:
    after: str  # last value before the gap
    before: str  # first value after it
    days: float
    missing_periods: int | None  # None when the column is irregular
    missing_from: str | None
    missing_to: str | None


@dataclass(frozen=True)
class Offset:
    days: int
    share: float


@dataclass(frozen=True)
class Relation:
    """This column compared with another date column of the same rows (this minus other)."""

    other: str
    rows: int  # rows where both are set
    after_share: float
    equal_share: float
    before_share: float
    top_offsets: tuple[Offset, ...]


@dataclass(frozen=True)
class TemporalRole:
    kind: str  # event_time, period_label or due_date
    label: str | None  # period labels: year_start, quarter_start, month_start or month_end
    relative_to: str | None  # due dates: the column they are offset from
    offsets_days: tuple[int, ...]  # due dates: the fixed offsets
    share: float  # share of the evidence (distinct values on a boundary, rows on the offsets)


@dataclass(frozen=True)
class Staleness:
    reference_date: str
    days_behind: float  # reference minus the column's max (negative: values beyond the reference)
    stale_after: str  # max plus `stale_after_periods` periods of the granularity
    stale: bool


@dataclass(frozen=True)
class ColumnTemporalProfile:
    name: str
    type: str  # date or timestamp
    values: int
    nulls: int
    distinct: int
    min: str | None
    max: str | None
    span_days: float | None
    granularity: Granularity
    completeness: Completeness | None
    gaps: tuple[Gap, ...]
    weekday_counts: tuple[int, ...]  # rows per ISO weekday, Monday (1) to Sunday (7)
    month_day_counts: tuple[int, ...]  # rows per day of month 1 to 31
    role: TemporalRole
    relations: tuple[Relation, ...]
    staleness: Staleness | None
    series: tuple[Series, ...]
    drift: tuple[Drift, ...]


@dataclass(frozen=True)
class TemporalProfiles:
    version: Literal[1]
    rows: int
    reference_date: str | None
    reference_source: str  # "config", "latest date" or "none"
    columns: tuple[ColumnTemporalProfile, ...]


TEMPORAL_PROFILES = JsonArtifact("temporal_profiles", "temporal_profiles.json", record=TemporalProfiles)
