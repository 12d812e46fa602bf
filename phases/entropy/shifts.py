"""Lasting level shifts of measures over time (from the temporal phase's series), judged as a
domain expert would: a jump of the values themselves, not a change of what is recorded.

A step in a measure's total or mean per period is a finding only when

- it lasts (a jump undone by the next one is a spike, which the outlier detector judges), and
  lies away from the edges of the data (ramp-ups and partial periods);
- the row count does not step at the same time: then the volume moved the total, and the mix
  of rows moved the mean (receipts stop and only payments remain);
- the data runs on across it: when a stretch without data (more than `level_shift_max_gap_steps`
  typical steps between dates) separates the two levels, the values may have moved while nothing
  was recorded (a season break, a new batch), so the difference of level is no evidence of a jump;
- the rows on either side are of the same groups: when a category of the table (a series, a batch,
  a year) takes other values on the rows just after the shift than on the rows just before it,
  the level steps from one group to the next, and says nothing about a change of the values;
  unless the level changes by `level_shift_scale_ratio` times or more: a change of scale or of what
  the values mean (ranks instead of counts), which neither a pause, a new group nor (for the mean)
  a change of the row count explains.

What is left is the same population's values moving at one date while rows keep coming: a
rescaling, a changed source, a unit or price change. Comparisons across that date mix two levels.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from phases.artifacts.entropy_scores import EntropyObject
from phases.artifacts.temporal_profiles import ColumnTemporalProfile, LevelShift, Series
from phases.core.sql import quote_ident, quote_literal
from phases.entropy.base import finding, fix
from phases.entropy.evidence import Evidence
from phases.entropy.settings import EntropySettings, Temporal, ramp
from phases.shared.calendar_parts import parts_timestamp

EVERY = {"day": "daily", "business_day": "business-daily", "week": "weekly", "month": "monthly",
         "quarter": "quarterly", "year": "yearly"}
GROUP_TYPES = ("text", "boolean", "integer")  # columns whose few values can name the group of a row
UNIT_DAYS = {"second": 1 / 86400, "minute": 1 / 1440, "hour": 1 / 24, "day": 1.0, "business_day": 1.0, "week": 7.0,
             "month": 30.44, "quarter": 91.31, "year": 365.25}


def _day(period: str) -> dt.date:
    """The first day of a period label as the temporal phase writes it (2024-03-01, 2024-03, 2024)."""
    parts = [int(p) for p in period[:10].split("-")] + [1, 1]
    return dt.date(parts[0], parts[1], parts[2])


def persistent_shifts(shifts: Iterable[LevelShift]) -> list[LevelShift]:
    """Level shifts that are not undone by the next one: a jump up followed by a jump back down
    to about the old level is a spike (one extreme value, which the outlier detector judges),
    not a change of regime."""
    kept = []
    ordered = sorted(shifts, key=lambda x: x.period)
    skip = set()
    for i, shift in enumerate(ordered):
        if i in skip:
            continue
        nxt = ordered[i + 1] if i + 1 < len(ordered) else None
        if nxt is not None and (shift.shift > 0) != (nxt.shift > 0) and \
                abs(nxt.after - shift.before) <= 0.5 * abs(shift.shift):
            skip.add(i + 1)
            continue
        kept.append(shift)
    return kept


def date_sql(axis: ColumnTemporalProfile) -> str:
    """The axis as a SQL date: the column itself, or the date of its calendar-part columns as
    temporal composes them."""
    if not axis.parts:
        return f"CAST({quote_ident(axis.name)} AS DATE)"
    return f"CAST({parts_timestamp(axis.parts)} AS DATE)"


def gap_across(con: Any, source: str, axis: ColumnTemporalProfile, column: str, period: str) -> float | None:
    """Days between the last date before `period` and the first date from it, over the rows where
    `column` is set (None when one side has none)."""
    d, start = date_sql(axis), quote_literal(_day(period).isoformat())
    row = con.execute(
        f"SELECT max(_d) FILTER (WHERE _d < CAST({start} AS DATE)), min(_d) FILTER (WHERE _d >= CAST({start} AS DATE)) "
        f"FROM (SELECT {d} AS _d FROM {source} WHERE {quote_ident(column)} IS NOT NULL)"
    ).fetchone()
    return None if row is None or row[0] is None or row[1] is None else float((row[1] - row[0]).days)


def scale_change(shift: LevelShift, ratio: float) -> bool:
    """The level changes by at least `ratio` times with its sign kept: a change of scale or of what
    the values mean (ranks instead of counts, thousands instead of units), which no pause in the
    data and no change of group makes plausible."""
    before, after = shift.before, shift.after
    if before == 0 or after == 0 or (before > 0) != (after > 0):
        return False
    return max(before / after, after / before) >= ratio


GROUPS_PER_QUERY = 100  # category columns compared in one scan of the rows around a shift


def group_boundary(con: Any, source: str, axis: ColumnTemporalProfile, column: str, period: str, window: float,
                   groups: list[str]) -> str | None:
    """The first of `groups` (category columns) whose values on the rows within `window` days
    before `period` and those within `window` days from it do not overlap: the shift steps from one
    group to another. All groups are compared in one scan (per GROUPS_PER_QUERY): the rows of the
    window in long form (side, group, value as text, NULLs left out), then per group the values
    seen before, after, and on both sides. A query per group took 20 s on a wide file."""
    d, start = date_sql(axis), _day(period)
    low, high = (quote_literal((start + dt.timedelta(days=k * window)).isoformat()) for k in (-1, 1))
    at = quote_literal(start.isoformat())
    for offset in range(0, len(groups), GROUPS_PER_QUERY):
        chunk = groups[offset:offset + GROUPS_PER_QUERY]
        values = ", ".join(f"CAST({quote_ident(g)} AS VARCHAR) AS g{i}" for i, g in enumerate(chunk))
        rows = con.execute(f"""
            WITH w AS (SELECT {d} >= CAST({at} AS DATE) AS after, {values}
                       FROM {source}
                       WHERE {quote_ident(column)} IS NOT NULL AND {d} >= CAST({low} AS DATE)
                         AND {d} < CAST({high} AS DATE)),
            seen AS (SELECT name, v, bool_or(NOT after) AS before, bool_or(after) AS after
                     FROM (UNPIVOT w ON {", ".join(f"g{i}" for i in range(len(chunk)))} INTO NAME name VALUE v)
                     GROUP BY name, v)
            SELECT CAST(name[2:] AS INTEGER), count_if(before), count_if(after), count_if(before AND after)
            FROM seen GROUP BY name""").fetchall()
        apart = {i for i, before, after, both in rows if before and after and not both}
        if apart:
            return chunk[min(apart)]
    return None


def _candidates(axis: ColumnTemporalProfile, t: Temporal) -> dict[str, tuple[float, LevelShift, Series, str]]:
    """Per measure, its strongest lasting shift away from the edges and from steps of the row count."""
    best: dict[str, tuple[float, LevelShift, Series, str]] = {}
    volume = [_day(x.period) for c in axis.series if c.measure == "count" for x in c.level_shifts]
    for series in axis.series:
        kind, _, column = series.measure.partition(":")
        if kind not in ("sum", "mean") or not series.level_shifts:
            continue
        first, last = _day(series.start), _day(series.end)
        span = max((last - first).days, 1)
        inner = [x for x in series.level_shifts
                 if t.edge_share < (_day(x.period) - first).days / span < 1 - t.edge_share
                 and not (any(abs((_day(x.period) - v).days) <= t.volume_window_days for v in volume)
                          and not (kind == "mean" and scale_change(x, t.level_shift_scale_ratio)))]
        lasting = persistent_shifts(inner)
        if lasting:
            worst = max(lasting, key=lambda x: abs(x.z))
            if column not in best or abs(worst.z) > best[column][0]:
                best[column] = (abs(worst.z), worst, series, kind)
    return best


def _axis_shifts(table: str, axis: ColumnTemporalProfile, t: Temporal, source: str | None, con: Any,
                 groups: list[str]) -> list[EntropyObject]:
    out = []
    step = max(axis.granularity.median_gap_days or 0.0, 0.0)
    for column, (z, worst, series, kind) in sorted(_candidates(axis, t).items()):
        allowed = t.level_shift_max_gap_steps * max(step, UNIT_DAYS.get(series.unit, 1.0))
        gap = gap_across(con, source, axis, column, worst.period) if source is not None else None
        rescaled = scale_change(worst, t.level_shift_scale_ratio)
        if gap is not None and gap > allowed and not rescaled:
            continue  # two stretches of data: the level may have moved while nothing was recorded
        others = [g for g in groups if g != column and g not in axis.parts]
        if source is not None and not rescaled and group_boundary(con, source, axis, column, worst.period, allowed,
                                                                  others):
            continue  # the rows after the shift are of other groups than those before it
        out.append(finding(
            table, column, "temporal_drift", "level_shift",
            t.level_shift_max_score * ramp(z, t.level_shift_z_start, t.level_shift_z_full),
            f"the {EVERY.get(series.unit, series.unit)} {'total' if kind == 'sum' else 'mean'} of {column} shifts from "
            f"{worst.before:.4g} to {worst.after:.4g} at {worst.period} (z {worst.z:.1f}) while rows keep coming at "
            "the same rate",
            {"period": worst.period, "before": worst.before, "after": worst.after, "z": worst.z,
             "shifts": len(series.level_shifts), "by": axis.name, "measure": series.measure, "gap_days": gap},
            (fix(f"find what changed at {worst.period} before trending or comparing {column} across it", 0.5,
                 "medium"),),
            confidence=0.8,
        ))
    return out


def level_shifts(ev: Evidence, s: EntropySettings, typed: Mapping[str, str], con: Any) -> list[EntropyObject]:
    """One finding per measure and time axis for its strongest lasting level shift."""
    out = []
    for table, profiles in ev.temporal.items():
        columns = ev.profiles.get(table, {}).values()
        groups = [p.name for p in columns if p.type in GROUP_TYPES and not p.unique
                  and 2 <= p.distinct_count <= s.nulls.structural_max_categories]
        for axis in (*profiles.columns, *getattr(profiles, "axes", ())):
            out += _axis_shifts(table, axis, s.temporal, typed.get(table), con, sorted(groups))
    return out
