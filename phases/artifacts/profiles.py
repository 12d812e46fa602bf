"""Typed records of the statistics and statistical_quality artifacts, and their readers.

Later phases import this module, never the profiling code: `load_column_profiles`,
`load_table_profile` and `load_quality_findings` turn the JSON artifacts back into
frozen dataclasses. Writing goes through `dump_json`, so one spelling (sorted keys,
floats already rounded by `round_sig`) makes reruns byte-identical and lets the
manifest's digest cut off downstream reruns.

Values inside records (top values, examples, min/max of numbers) are JSON scalars:
int, float, bool, str (dates and timestamps as ISO 8601 text) or None.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from phases.core.errors import StateError
from phases.core.manifest import canonical_json, write_atomically

Scalar = int | float | bool | str | None

SIGNIFICANT_DIGITS = 10  # enough for any statistic; few enough to hide float noise between runs


def round_sig(value: float | None, digits: int = SIGNIFICANT_DIGITS) -> float | None:
    """Round to `digits` significant digits; NaN and infinities become None (JSON has no spelling)."""
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    rounded = float(f"{value:.{digits}g}")
    return 0.0 if rounded == 0 else rounded  # no "-0.0" in the JSON


def round_scaled(value: float | None, scale: float, digits: int = SIGNIFICANT_DIGITS) -> float | None:
    """Round to `digits` significant digits of `scale`, then of the value itself. Sums that DuckDB
    splits over threads differ in their last bits from run to run; relative to the value that
    noise is harmless unless the value is itself noise, like the skewness of a symmetric column
    (1e-15, then -4e-15) or the mean of one centred on zero. Measured against the column's scale
    (or 1 for unitless statistics) that noise rounds away, and reruns stay byte-identical."""
    if value is None or math.isnan(value) or math.isinf(value):
        return None
    if scale and not math.isinf(scale):
        value = round(value, digits - 1 - math.floor(math.log10(abs(scale))))
    return round_sig(value, digits)


def json_scalar(value: Any) -> Scalar:
    """A value fetched from DuckDB as a JSON scalar: rounded floats, ISO dates."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return round_sig(value)
    if isinstance(value, decimal.Decimal):
        return round_sig(float(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def dump_json(path: Path, record: Any) -> None:
    """Write a record (a dataclass) as canonical JSON, atomically."""
    write_atomically(path, canonical_json(asdict(record)))


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StateError(f"{path}: artifact missing; run the phase that produces it first") from None
    except json.JSONDecodeError as exc:
        raise StateError(f"{path}: not valid JSON ({exc}); forget and rerun the phase that wrote it") from None


# --- statistics: column_profiles.json --------------------------------------------------------


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


def _numeric(data: Mapping[str, Any] | None) -> NumericStats | None:
    if data is None:
        return None
    return NumericStats(
        **{k: v for k, v in data.items() if k not in ("quantiles", "histogram")},
        quantiles=dict(data["quantiles"]),
        histogram=tuple(Bucket(**b) for b in data["histogram"]),
    )


def _text(data: Mapping[str, Any] | None) -> TextStats | None:
    if data is None:
        return None
    return TextStats(
        **{k: v for k, v in data.items() if k != "patterns"},
        patterns=tuple(PatternShare(**p) for p in data["patterns"]),
    )


def column_profile_from_json(data: Mapping[str, Any]) -> ColumnProfile:
    """One entry of column_profiles.json as a ColumnProfile."""
    nested = ("units", "top_values", "numeric", "text", "temporal")
    return ColumnProfile(
        **{k: v for k, v in data.items() if k not in nested},
        units=tuple((u, n) for u, n in data["units"]),
        top_values=tuple(ValueCount(**v) for v in data["top_values"]),
        numeric=_numeric(data["numeric"]),
        text=_text(data["text"]),
        temporal=TemporalRange(**data["temporal"]) if data["temporal"] else None,
    )


def load_column_profiles(path: Path) -> dict[str, ColumnProfile]:
    """column name -> profile, in table order."""
    data = _read(path)
    return {c["name"]: column_profile_from_json(c) for c in data["columns"]}


# --- statistics: table_profile.json ----------------------------------------------------------


@dataclass(frozen=True)
class DuplicateRows:
    rows: int  # rows equal (in every column but _row_id) to an earlier row
    groups: int  # distinct row contents that occur more than once
    examples: tuple[tuple[int, ...], ...]  # row ids of the first groups (by first row id)
    method: str  # how it was established: "grouped all columns", or implied by a unique column


@dataclass(frozen=True)
class TableProfile:
    table: str
    rows: int
    columns: tuple[str, ...]  # without _row_id, in table order
    candidate_keys: tuple[tuple[str, ...], ...]  # unique non-null columns, else minimal unique pairs
    key_pairs_checked: int  # column pairs tested for uniqueness (0 when a single column is a key)
    duplicates: DuplicateRows


def load_table_profile(path: Path) -> TableProfile:
    """table_profile.json as a TableProfile."""
    data = _read(path)
    dup = data["duplicates"]
    return TableProfile(
        table=data["table"], rows=data["rows"], columns=tuple(data["columns"]),
        candidate_keys=tuple(tuple(k) for k in data["candidate_keys"]),
        key_pairs_checked=data["key_pairs_checked"],
        duplicates=DuplicateRows(
            rows=dup["rows"], groups=dup["groups"], examples=tuple(tuple(e) for e in dup["examples"]),
            method=dup["method"],
        ),
    )


# --- statistical_quality: quality_findings.json ----------------------------------------------


@dataclass(frozen=True)
class Example:
    row_id: int | None  # None when the example stands for a value, not a row
    value: Scalar
    count: int | None = None  # how often the value occurs, when that is the point


@dataclass(frozen=True)
class Finding:
    kind: str  # e.g. benford_nonconformity, outliers_iqr, sentinel_value, whitespace, ...
    severity: str  # info | warning | error
    column: str | None
    evidence: Mapping[str, Any] = field(default_factory=dict)  # measured numbers
    examples: tuple[Example, ...] = ()


@dataclass(frozen=True)
class Check:
    """One statistical test on one column: whether it applied (and why not) and what it measured."""

    test: str  # benford | outliers_iqr | outliers_modified_z
    column: str
    applicable: bool
    reason: str | None  # why the test does not apply; None when it does
    evidence: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QualityFindings:
    table: str
    checks: tuple[Check, ...]
    findings: tuple[Finding, ...]


def load_quality_findings(path: Path) -> QualityFindings:
    """quality_findings.json as QualityFindings (checks and findings in table order)."""
    data = _read(path)
    return QualityFindings(
        table=data["table"],
        checks=tuple(Check(**c) for c in data["checks"]),
        findings=tuple(
            Finding(**{**f, "examples": tuple(Example(**e) for e in f["examples"])}) for f in data["findings"]
        ),
    )
