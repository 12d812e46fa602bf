"""Slices over time, for the slicing phase: per slice and period of a fact table's main time
column, the row counts, the coverage of the table's period range and the volume anomalies
(robust z of a period's count against the slice's median). One GROUPING SETS scan per table
counts every slice of every dimension at once.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from phases.artifacts.slices import PeriodCount, SliceDimension, SlicePeriods, VolumeAnomaly
from phases.core.config import Model
from phases.core.records import Scalar, json_scalar, round_sig
from phases.core.sql import quote_ident, quote_literal
from phases.shared.narrow import finite, one_row

if TYPE_CHECKING:
    import duckdb


class PeriodSettings(Model):
    """The `periods` section of config/slicing.yaml."""

    enabled: bool = True
    unit: Literal["day", "week", "month", "quarter", "year"] = "month"
    max_periods: int = Field(400, ge=2, le=100_000)
    min_periods: int = Field(4, ge=3, le=1000)
    robust_z: float = Field(3.5, gt=0, le=100)
    min_scale_share: float = Field(0.1, ge=0, le=10)
    max_missing_listed: int = Field(24, ge=0, le=10_000)



def _label(start: date, unit: str) -> str:
    if unit == "month":
        return f"{start.year:04d}-{start.month:02d}"
    if unit == "quarter":
        return f"{start.year:04d}-Q{(start.month - 1) // 3 + 1}"
    if unit == "year":
        return f"{start.year:04d}"
    return start.isoformat()


def _next(start: date, unit: str) -> date:
    if unit in ("day", "week"):
        return date.fromordinal(start.toordinal() + (1 if unit == "day" else 7))
    months = {"month": 1, "quarter": 3, "year": 12}[unit]
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def slice_periods(con: duckdb.DuckDBPyConnection, relation: str, table: str, time_column: str,
                  dims: Sequence[SliceDimension], p: PeriodSettings) -> tuple[list[SlicePeriods], str | None]:
    """Row counts per slice and period in one GROUPING SETS scan; coverage and volume anomalies."""
    t = quote_ident(time_column)
    period = f"CAST(date_trunc({quote_literal(p.unit)}, {t}) AS DATE)"
    low, high, first_day, last_day = one_row(con.execute(
        f"SELECT min({period}), max({period}), min(CAST({t} AS DATE)), max(CAST({t} AS DATE)) FROM {relation}"
    ))
    if low is None:
        return [], f"{time_column!r} has no values"
    starts = [low]
    while starts[-1] < high and len(starts) <= p.max_periods:
        starts.append(_next(starts[-1], p.unit))
    if len(starts) > p.max_periods:
        return [], f"{time_column!r} spans more than {p.max_periods} {p.unit} periods"
    labels = [_label(d, p.unit) for d in starts]
    # The first and last periods are partial when the data starts after or ends before their bounds.
    partial = {labels[0]} if first_day > low else set()
    if _next(high, p.unit).toordinal() - 1 > last_day.toordinal():
        partial.add(labels[-1])
    dq = [quote_ident(d.column) for d in dims]
    flags = ", ".join(f"grouping({d})" for d in dq)
    sets = ", ".join(f"({d}, {period})" for d in dq)
    counts: dict[tuple[str, Scalar], dict[str, int]] = {}
    for row in con.execute(f"SELECT {flags}, {', '.join(dq)}, {period}, count(*) FROM {relation} WHERE {t} IS NOT NULL "
                           f"GROUP BY GROUPING SETS ({sets})").fetchall():
        i = list(row[: len(dq)]).index(0)
        key = (dims[i].column, json_scalar(row[len(dq) + i]))
        counts.setdefault(key, {})[_label(_as_date(row[-2]), p.unit)] = int(row[-1])
    result = []
    for d in dims:
        for v in d.values:
            present = counts.get((d.column, v.value), {})
            result.append(_periods(table, d.column, v.value, time_column, labels, present, partial, p))
    return result, None


def _periods(table: str, column: str, value: Scalar, time_column: str, labels: Sequence[str],
             present: Mapping[str, int], partial: set[str], p: PeriodSettings) -> SlicePeriods:
    series = [(label, present[label]) for label in labels if label in present]
    values = [n for _, n in series]
    median = float(statistics.median(values)) if values else 0.0
    anomalies = []
    if len(values) >= p.min_periods:
        mad = statistics.median(abs(n - median) for n in values)
        scale = max(1.4826 * mad, p.min_scale_share * median, 1.0)
        for label, n in series:
            z = (n - median) / scale
            if abs(z) >= p.robust_z:
                anomalies.append(VolumeAnomaly(label, n, median, finite(round_sig(z, 6)), "high" if z > 0 else "low",
                                               label in partial))
    missing = [label for label in labels if label not in present]
    return SlicePeriods(
        table=table, column=column, value=value, time_column=time_column, period=p.unit,
        periods_in_range=len(labels), periods_present=len(series),
        coverage=finite(round_sig(len(series) / len(labels))),
        median_rows=median, counts=tuple(PeriodCount(label, n) for label, n in series),
        missing=tuple(missing[: p.max_missing_listed]), anomalies=tuple(anomalies))
