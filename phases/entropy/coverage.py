"""Where along the time axis a column's NULLs lie: at its ends (coverage: the column was recorded
only from some time on, or only until some time) or inside the period it was recorded.

The two do different things to SQL. NULLs that fill one end of the time axis, or one end of each
series of a panel (a country that reported from 1995 on), are a fact the context can state
precisely ("not recorded before 2004"): a query over the recorded period is right, and a query
across the edge knows what it mixes. NULLs scattered inside the recorded period are what silently
understates a total: the same question asked of two years gets a smaller answer where values are
missing, and nothing in the result shows it.

Chance is corrected: NULLs scattered at random also fall on the ends now and then, so an end
counts as coverage only when chance cannot put it there. A run of R rows at the start of the axis
that are all NULL has the chance p^R when each value is NULL with the column's NULL share p (the
end of the axis must reach `coverage_max_chance`); the NULLs at the ends of the series of a panel
are compared with the count scattered NULLs would put there (a run of p / (1 - p) rows on average
at each end of a series) and count as coverage only when they exceed it by `coverage_min_z`
standard errors. NULLs at ends that chance explains count as scattered.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from phases.artifacts.column_profiles import ColumnProfile
from phases.artifacts.temporal_profiles import ColumnTemporalProfile, TemporalProfiles
from phases.core.sql import quote_ident
from phases.entropy.settings import Nulls


@dataclass(frozen=True)
class Coverage:
    """Where one column's NULLs lie along the table's time axis."""

    axis: str  # the time axis: a date column or calendar parts joined by '+'
    series: tuple[str, ...]  # the columns naming a series of the panel; () for one series
    before: int  # NULL rows before the first time the column is recorded anywhere (chance excluded)
    first: str | None  # that first time, when `before` counts
    after: int  # NULL rows after the last time it is recorded anywhere
    last: str | None
    series_ends: int  # NULL rows before a series' first or after its last recorded time (or in a series never recorded)
    unrecorded_series: int  # series in which the column is never recorded
    inside: int  # NULL rows inside the recorded period: what silently understates a total
    covered_rows: int  # rows inside the recorded period (of the axis, and of each series)

    @property
    def edges(self) -> int:
        return self.before + self.after + self.series_ends


@dataclass(frozen=True)
class Axis:
    name: str
    parts: tuple[str, ...]  # calendar parts, coarsest first; () for a date column
    series: tuple[str, ...]
    episodes: bool  # a series is its key and the calendar year

    def time(self) -> str:
        """A sortable scalar of the axis: the date, or the parts as digits (2004, 07, 31 -> 20040731)."""
        if not self.parts:
            return quote_ident(self.name)
        n = len(self.parts)
        return " + ".join(f"CAST({quote_ident(p)} AS BIGINT) * {100 ** (n - 1 - i)}" for i, p in enumerate(self.parts))

    def shown(self, value: Any) -> str:
        if not self.parts or value is None:
            return str(value)
        digits = str(int(value)).rjust(4 + 2 * (len(self.parts) - 1), "0")
        pieces = [digits[: len(digits) - 2 * (len(self.parts) - 1)]]
        pieces += [digits[len(pieces[0]) + 2 * i: len(pieces[0]) + 2 * i + 2] for i in range(len(self.parts) - 1)]
        return "-".join(pieces[:3]) + (f" {pieces[3]}h" if len(pieces) > 3 else "")

    def partition(self) -> list[str]:
        keys = [quote_ident(k) for k in self.series]
        if self.episodes and keys:
            year = f"CAST({quote_ident(self.parts[0])} AS BIGINT)" if self.parts else f"year({quote_ident(self.name)})"
            keys.append(year)
        return keys


def time_axis(temporal: TemporalProfiles | None) -> Axis | None:
    """The table's time axis set on most rows (a date column or composed calendar parts), with the
    key of its series when the table is a panel."""
    if temporal is None:
        return None
    axes: Sequence[ColumnTemporalProfile] = (*temporal.columns, *temporal.axes)
    if not axes:
        return None
    best = max(axes, key=lambda a: (a.values, -len(a.parts), a.name))
    if not best.values:
        return None
    panel = best.panel
    return Axis(best.name, tuple(best.parts), tuple(panel.key) if panel else (),
                bool(panel and panel.episodes == "year"))


def _globals(con: Any, source: str, axis: Axis, columns: list[str]) -> dict[str, tuple[Any, Any, int, int]]:
    t = axis.time()
    parts = []
    for c in columns:
        q = quote_ident(c)
        parts += [f"min({t}) FILTER (WHERE {q} IS NOT NULL)", f"max({t}) FILTER (WHERE {q} IS NOT NULL)"]
    row = con.execute(f"SELECT {', '.join(parts)} FROM {source}").fetchone()
    firsts = {c: (row[2 * i], row[2 * i + 1]) for i, c in enumerate(columns)}
    counts, params = [], []
    for c in columns:
        q, (lo, hi) = quote_ident(c), firsts[c]
        if lo is None:
            counts += ["0", "0"]
            continue
        counts += [f"count_if({q} IS NULL AND {t} < ?)", f"count_if({q} IS NULL AND {t} > ?)"]
        params += [lo, hi]
    row = con.execute(f"SELECT {', '.join(counts)} FROM {source}", params).fetchone()
    return {c: (*firsts[c], row[2 * i], row[2 * i + 1]) for i, c in enumerate(columns)}


def _chance_of_end(run: int, p: float) -> float:
    """The chance that `run` rows at one end are all NULL when each is NULL with share p."""
    if run <= 0:
        return 1.0
    if p <= 0:
        return 0.0
    return math.exp(run * math.log(p)) if p < 1 else 1.0


def _series_ends(con: Any, source: str, axis: Axis, column: str, lo: Any, hi: Any) -> tuple[int, int, float, int]:
    """(NULL rows at the ends of the series inside [lo, hi], series never recorded, the count chance
    would put at the ends, rows inside the series' recorded periods)."""
    t, q = axis.time(), quote_ident(column)
    keys = ", ".join(axis.partition())
    within = f"{t} BETWEEN ? AND ?"
    per_series = con.execute(f"SELECT count(*), count({q}) FROM {source} WHERE {within} GROUP BY {keys}",
                             [lo, hi]).fetchall()
    rows = sum(r[0] for r in per_series)
    p = 1 - sum(r[1] for r in per_series) / rows if rows else 0.0
    expected = sum(min(n, 2 * p * (1 - p ** n) / (1 - p)) if p < 1 else n for n, *_ in per_series)
    ends, covered = con.execute(
        f"WITH s AS (SELECT {keys}, {t} AS __t, {q} AS __v, "
        f"min(CASE WHEN {q} IS NOT NULL THEN {t} END) OVER (PARTITION BY {keys}) AS __f, "
        f"max(CASE WHEN {q} IS NOT NULL THEN {t} END) OVER (PARTITION BY {keys}) AS __l "
        f"FROM {source} WHERE {within}) "
        "SELECT count_if(__v IS NULL AND (__f IS NULL OR __t < __f OR __t > __l)), "
        "count_if(__t BETWEEN __f AND __l) FROM s", [lo, hi]).fetchone()
    unrecorded = sum(1 for r in per_series if r[1] == 0)
    return int(ends), unrecorded, expected, int(covered)


def coverage(con: Any, source: str, temporal: TemporalProfiles | None, profiles: Mapping[str, ColumnProfile],
             columns: list[str], n: Nulls, axis: Axis | None = None) -> dict[str, Coverage]:
    """For each of `columns` (with NULLs, not part of the axis), where its NULLs lie along `axis`
    or else the table's time axis; empty when the table has none."""
    axis = axis or time_axis(temporal)
    if axis is None:
        return {}
    used = {axis.name, *axis.parts, *axis.series}
    columns = [c for c in columns if c not in used and 0 < profiles[c].null_count < profiles[c].rows]
    if not columns:
        return {}
    out = {}
    for c, (lo, hi, before, after) in _globals(con, source, axis, columns).items():
        if lo is None:
            continue
        p = profiles[c].null_ratio
        before = before if _chance_of_end(before, p) <= n.coverage_max_chance else 0
        after = after if _chance_of_end(after, p) <= n.coverage_max_chance else 0
        ends, unrecorded, expected, covered = (0, 0, 0.0, profiles[c].rows - before - after)
        if axis.series and before + after < profiles[c].null_count:  # NULLs left for the series' ends to explain
            ends, unrecorded, expected, covered = _series_ends(con, source, axis, c, lo, hi)
            if ends < expected + n.coverage_min_z * math.sqrt(max(expected, 1.0)):
                ends, unrecorded = 0, 0  # as many as scattered NULLs would leave at the ends: no coverage
                covered = profiles[c].rows - before - after
        if not (before or after or ends):
            continue
        inside = profiles[c].null_count - before - after - ends
        out[c] = Coverage(axis.name, axis.series, before, axis.shown(lo) if before else None, after,
                          axis.shown(hi) if after else None, ends, unrecorded, inside, covered)
    return out


def described(c: Coverage) -> str:
    """The coverage in words, with its counts: what the context must state."""
    parts = []
    if c.before:
        parts.append(f"{c.before} before {c.first} (the first time it is recorded)")
    if c.after:
        parts.append(f"{c.after} after {c.last} (the last time it is recorded)")
    if c.series_ends:
        who = ", ".join(c.series)
        never = f", {c.unrecorded_series} of them never recorded" if c.unrecorded_series else ""
        parts.append(f"{c.series_ends} before the first or after the last recorded {c.axis} of their {who}{never}")
    where = "; ".join(parts)
    inside = (f"; {c.inside} inside the recorded period" if c.inside else "; none inside the recorded period")
    return f"not recorded over part of {c.axis}: {where}{inside}"
