"""The statistics phase's column profiles of one table (column_profiles.json): counts, distinct
values, top values, and numeric, text or temporal statistics per column."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

from phases.core.records import JsonArtifact, Scalar


@dataclass(frozen=True)
class ValueCount:
    value: Scalar
    count: int
    share: float  # of the column's non-null values


@dataclass(frozen=True)
class Bucket:
    lower: int | float  # the first bucket starts at the column minimum
    upper: int | float  # exclusive, except the last bucket, whose upper edge is the column maximum
    count: int


@dataclass(frozen=True)
class NumericStats:
    min: int | float
    max: int | float
    mean: float
    std: float | None  # sample standard deviation; None for a single value
    skewness: float | None  # population (biased) g1, as scipy.stats.skew; None when all values are equal
    kurtosis: float | None  # population excess kurtosis g2, as scipy.stats.kurtosis; None when constant
    quantiles: Mapping[str, float]  # "p01" .. "p99" -> value, linear interpolation (quantile_cont)
    zero_count: int
    negative_count: int
    histogram: tuple[Bucket, ...]  # equal width from min to max; counts sum to the non-null count

    def quantile(self, q: float) -> float:
        """The profiled quantile at level q (0.01, 0.05, 0.25, 0.5, 0.75, 0.95 or 0.99)."""
        key = quantile_key(q)
        if key not in self.quantiles:
            raise KeyError(f"quantile {q} not profiled; have {sorted(self.quantiles)}")
        return self.quantiles[key]


def quantile_key(q: float) -> str:
    """0.05 -> 'p05': the JSON key of a quantile level (whole percents sort as text)."""
    return f"p{round(q * 100):02d}"


@dataclass(frozen=True)
class PatternShare:
    pattern: str  # letters -> 'A', digits -> '9', every other character kept, one per character
    count: int  # rows with this shape (in the sample when the profile says patterns_sampled)
    share: float


@dataclass(frozen=True)
class TextStats:
    min_length: int
    max_length: int
    mean_length: float
    blank_count: int  # values that are empty or only spaces
    patterns: tuple[PatternShare, ...]
    pattern_count: int  # distinct shapes seen
    patterns_sampled: bool  # True when shapes come from a deterministic sample of distinct values


@dataclass(frozen=True)
class TemporalRange:
    min: str
    max: str


@dataclass(frozen=True)
class ColumnProfile:
    name: str
    position: int  # 1-based, in the typed table (after _row_id)
    sql_type: str
    type: str  # semantic type from the typing phase (integer, decimal, currency, percent, ...)
    unit: str | None
    units: tuple[tuple[str, int], ...]  # (unit, count) when a column mixes currencies
    rows: int
    null_count: int
    null_ratio: float
    distinct_count: int  # exact
    cardinality_ratio: float  # distinct / rows
    unique: bool  # every non-null value occurs once (and there is at least one)
    entropy_bits: float  # Shannon entropy of the non-null value distribution
    entropy_normalized: float  # entropy / log2(distinct); 0 for one distinct value or none
    top_values: tuple[ValueCount, ...]  # count desc, then value
    numeric: NumericStats | None = None
    text: TextStats | None = None
    temporal: TemporalRange | None = None

    @property
    def non_null_count(self) -> int:
        return self.rows - self.null_count


@dataclass(frozen=True)
class ColumnProfiles:
    """The column_profiles artifact: one table's columns in table order."""

    table: str
    columns: tuple[ColumnProfile, ...]

    @cached_property
    def by_name(self) -> Mapping[str, ColumnProfile]:
        """Column name -> profile, in table order."""
        return {c.name: c for c in self.columns}


COLUMN_PROFILES = JsonArtifact("column_profiles", "column_profiles.json", record=ColumnProfiles)
