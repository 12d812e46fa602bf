"""The temporal phase's artifact (temporal_profiles.json): per date column of a table its span,
granularity, completeness, gaps, role (event time, period label, due date), staleness, and the
series analysis (trend, seasonality, level shifts, drift); the same for time axes composed of
calendar-part columns (year, month, day, hour); and, when the table holds several series (one per
key value: symbol, station, country), the per-series granularity, gaps and drift (`Panel`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from phases.core.records import OMIT_NONE, JsonArtifact


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
    measure: str  # "count", "sum:<column>" (total per period) or "mean:<column>" (mean of its values per period)
    start: str
    end: str  # start of the last period
    periods: int
    status: str
    calendar_adjusted: bool  # month/quarter/year values scaled to periods of average length
    mean: float | None
    trend: Trend | None
    seasonality: tuple[Seasonality, ...]
    level_shifts: tuple[LevelShift, ...]
    seasonal_shifts: int = 0  # candidate shifts left out: the series jumped the same way a year before


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
    drifting: tuple[DriftPair, ...]  # the largest PSIs that pass every test (the drifts found)
    # Why drift was not measured: the column is a function of the date (status says "not measured"):
    # month_of_year, quarter_of_year, week_of_year, day_of_year, day_of_month, weekday, hour_of_day
    # (calendar parts), year, quarter, month, week (constant within each such period), date (one value
    # per date) or monotone (rises or falls with the date: a sequence number, a counter). None otherwise.
    function_of: str | None = None
    edge_periods_dropped: int = 0  # first/last periods left out: far fewer rows than a typical period
    typical_psi: float | None = None  # median PSI of the consecutive pairs: the period-to-period noise
    seasonal_pairs: int = 0  # pairs past the thresholds whose change recurs between the same periods a year apart
    # In a panel, rows of one series are alike: the chi-square test counts rows / design_effect
    # (1 + (rows per series and period - 1) * intra-series correlation); 1 without a panel
    design_effect: float = 1.0


@dataclass(frozen=True)
class DriftCount:
    """How many numeric columns along one axis ended with one drift status and are not listed in
    `drift` (analysed with no drift found, constant, too few periods with enough rows, no series)."""

    status: str
    unit: str | None
    columns: int


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
class SeriesGap:
    """A gap inside one series of a panel."""

    series: str  # the key values, joined by " | " (NULL for a missing one)
    after: str
    before: str
    days: float
    missing_periods: int


@dataclass(frozen=True)
class SeriesCompleteness:
    """One series of a panel against the panel's granularity."""

    series: str
    first: str
    last: str
    present_periods: int
    expected_periods: int
    ratio: float


@dataclass(frozen=True)
class SeriesDrift:
    """Drift of one numeric column measured inside each series, not across them."""

    column: str
    unit: str | None
    series_analysed: int  # series with at least two periods of drift_min_rows rows
    series_drifting: int
    worst: tuple[str, ...]  # the series with the largest PSI past every test, worst first


@dataclass(frozen=True)
class Panel:
    """Several series in one table: the key columns and the time are unique together (or nearly), so
    granularity and gaps are measured inside each series, not on the pooled values."""

    key: tuple[str, ...]  # the columns naming a series
    series: int  # distinct key values with a time
    uniqueness: float  # distinct (key, time) over rows with a time
    rows_per_time: float  # rows per distinct time: how many series run at once, on average
    periods_min: int  # distinct times per series
    periods_median: float
    periods_max: int
    granularity: Granularity  # from the gaps inside the series, pooled
    conforming_share: float  # share of series whose gaps are all whole steps of that granularity
    completeness: Completeness | None  # pooled over series, each from its own first to last time
    series_with_gaps: int
    missing_periods: int
    gaps: tuple[SeriesGap, ...]  # the largest gaps, by missing periods
    least_complete: tuple[SeriesCompleteness, ...]  # the series with the most missing periods
    drift: tuple[SeriesDrift, ...]
    # "year" when a key value recurs in separate episodes (a name reused years apart): a series is
    # then the key and the calendar year ("Amy | 1975"); None when the key alone names a series
    episodes: str | None = None


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
    # to every other date column; above `relations_listed_max` others only the relations that hold
    # on every row and the one a due date is offset from, the rest counted in `relations_unlisted`
    relations: tuple[Relation, ...]
    staleness: Staleness | None
    series: tuple[Series, ...]
    # The drift of every numeric column; above `drift_listed_max` columns only those where drift was
    # found or that are functions of the date (not measured), every other one counted by status in
    # `drift_counts`: a wide table's thousands of "no drift" entries per axis say nothing a count does not
    drift: tuple[Drift, ...]
    parts: tuple[str, ...] = ()  # a composed axis: its columns, coarsest first (year, month, day, hour)
    panel: Panel | None = None  # the table holds several series along this axis, one per key value
    # the columns not listed in `drift`, per status (sorted); absent when every one is listed
    drift_counts: tuple[DriftCount, ...] | None = field(default=None, metadata={OMIT_NONE: True})
    relations_unlisted: int | None = field(default=None, metadata={OMIT_NONE: True})  # absent: every one listed


@dataclass(frozen=True)
class TemporalProfiles:
    version: Literal[1]
    rows: int
    reference_date: str | None
    reference_source: str  # "config", "latest date" or "none"
    columns: tuple[ColumnTemporalProfile, ...]
    # Time axes composed of integer calendar-part columns when the table has no date column (a year
    # column; year and month; year, month, day (and hour)), profiled like a date column; `name` joins
    # the parts with "+" and `parts` lists them.
    axes: tuple[ColumnTemporalProfile, ...] = ()


TEMPORAL_PROFILES = JsonArtifact("temporal_profiles", "temporal_profiles.json", record=TemporalProfiles)
