"""Entropy detectors of values that cannot be right: extreme values and values of the wrong sign.

Outliers are judged on the statistical_quality phase's far-out test (Tukey's far fences, aware
of zero-inflated columns and, on the log scale, of magnitudes) and on how far its values stand
apart from the rest:

- *detached* extremes, separated from every other value by an empty stretch of at least
  `detached_gap` IQRs and wider than the stretch the rest occupies from its quartile up to them,
  and few (`detached_max_share`), are what a wrong unit, a typo or a sensor fault looks like (a
  wind speed of 1,048 among readings up to 165): any of them is a reason to investigate, and
  what they add to a total makes it worse. More of them are a group of their own: in a summed
  measure it counts by what it adds to the total (so heavier corruption never scores less), in
  an averaged one it is a second mode (exchange rates of two currencies);
- far-out values that continue the column's tail (Kuwait's GDP per head, a category 5 storm)
  are its data: they matter only when a few of them (at most `heavy_tail_share` of the values)
  carry a large share of a sum, and not at all when they are many (plainly the tail) or the
  column is averaged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from phases.artifacts.entropy_scores import EntropyObject
from phases.artifacts.quality_findings import Finding
from phases.core.sql import quote_ident
from phases.entropy.base import finding, fix, pct
from phases.entropy.evidence import Evidence
from phases.entropy.settings import EntropySettings, Outliers, ramp


def _detached(f: Finding, o: Outliers) -> tuple[int, float]:
    """The far-out values that stand apart from the rest (count, gap in IQRs), on the side where
    they stand farthest; (0, 0) when none do: the empty stretch before them must be at least
    `detached_gap` IQRs and as wide as the occupied stretch from the quartile up to it."""
    best = (0, 0.0)
    for side in ("high", "low"):
        e = f.evidence
        gap, count = float(e.get(f"gap_{side}") or 0), int(e.get(f"detached_{side}") or 0)
        span = float(e.get(f"span_{side}") or 0)
        if gap >= max(o.detached_gap, span) and count and gap > best[1]:
            best = (count, gap)
    return best


def _mass(con: Any, source: str, column: str, e: Mapping[str, Any]) -> tuple[float, int]:
    """What the far-out values add beyond the fence, as a share of the column's total (sum of |x|),
    and the number of values."""
    x = f"TRY_CAST({quote_ident(column)} AS DOUBLE)"
    lo, hi = float(e["lower_fence"]), float(e["upper_fence"])
    if e.get("scale") == "log10_magnitude":  # the fence bounds the magnitude, whatever the sign
        excess = f"CASE WHEN abs({x}) > {hi!r} THEN abs({x}) - {hi!r} ELSE 0 END"
    else:
        excess = f"CASE WHEN {x} > {hi!r} THEN {x} - {hi!r} WHEN {x} < {lo!r} THEN {lo!r} - {x} ELSE 0 END"
    beyond, total, values = con.execute(
        f"SELECT sum({excess}), sum(abs({x})), count({x}) FROM {source}"
    ).fetchone()
    return (float(beyond or 0) / float(total) if total else 0.0), int(values or 0)


def outliers(ev: Evidence, s: EntropySettings, typed: Mapping[str, str], con: Any) -> list[EntropyObject]:
    """Detached extremes in any measure, and far-out tails that distort a sum."""
    o = s.outliers
    out = []
    for table, q in ev.quality.items():
        if table not in typed:
            continue
        for f in q.findings:
            if f.kind != "outliers_far" or not f.column or f.evidence.get("upper_fence") is None:
                continue
            e = f.evidence
            mass, values = _mass(con, typed[table], f.column, e)
            detached, gap = _detached(f, o)
            group = detached > max(1, o.detached_max_share * values)  # many apart: a group of its own
            annotation = ev.annotation(table, f.column)
            summed = annotation is None or annotation.aggregation in (None, "additive")
            count, share = int(e.get("count") or 0), float(e.get("ratio") or 0)
            examples = ", ".join(repr(ex.value) for ex in f.examples[:3])
            fences = f"{float(e['lower_fence']):.4g}..{float(e['upper_fence']):.4g}"
            if detached and group and summed:  # a separate group of values: what it does to a total counts
                score = ramp(mass, o.mass_start, o.mass_full)
                summary = (f"{detached} values ({pct(detached / values)}) form a group far apart from the rest "
                           f"({gap:.0f} IQRs of empty range between them, far fences {fences})"
                           + (f", e.g. {examples}" if examples else "")
                           + f"; beyond the fence they add {pct(mass)} to the column's total")
            elif detached and not group:
                score = o.extreme_score + (1 - o.extreme_score) * (
                    ramp(mass, o.mass_start, o.mass_full) if summed else ramp(detached / values, o.share_start,
                                                                              o.share_full))
                summary = (f"{detached} value(s) stand far apart from all others ({gap:.0f} IQRs of empty range "
                           f"between them and the rest, far fences {fences})"
                           + (f", e.g. {examples}" if examples else "")
                           + ": a wrong unit, a typo or a faulty reading, not the column's tail"
                           + (f"; beyond the fence they add {pct(mass)} to the column's total" if summed else ""))
            elif summed and not detached and share <= o.heavy_tail_share:
                score = ramp(mass, o.mass_start, o.mass_full)
                summary = (f"{count} values ({pct(share)}) lie beyond the far fences {fences}"
                           + (f", e.g. {examples}" if examples else "")
                           + f"; beyond the fence they add {pct(mass)} to the column's total")
            else:
                continue  # the column's own tail (many far-out values), a second mode of an averaged column: its data
            out.append(finding(
                table, f.column, "outliers", "outlier_mass", score, summary,
                {"outliers": count, "share": share, "mass_share": mass, "lower_fence": e["lower_fence"],
                 "upper_fence": e["upper_fence"], "detached": detached, "gap_iqr": gap, "scale": e.get("scale"),
                 "method": f.kind},
                (fix(f"verify or exclude the {detached or count} extreme values before summing or averaging", 1.0),
                 fix("use the median instead of the mean", 0.5)),
                confidence=1.0 if detached else 0.8,
            ))
    return out


def wrong_signs(ev: Evidence, s: EntropySettings) -> list[EntropyObject]:
    """A measure that is almost never negative but has a few negative values: the negatives are
    more likely errors (or unmarked reversals) than data."""
    o = s.outliers
    out = []
    for table, profiles in ev.profiles.items():
        for name, p in profiles.items():
            num = p.numeric
            if num is None or not num.negative_count or not p.non_null_count:
                continue
            annotation = ev.annotation(table, name)
            if annotation is not None and annotation.role != "measure":
                continue
            share = num.negative_count / p.non_null_count
            if share > o.sign_max_share:
                continue
            out.append(finding(
                table, name, "outliers", "wrong_sign", ramp(share, o.sign_start, o.sign_full),
                f"{num.negative_count} values ({pct(share)}) are negative in a column that is otherwise never "
                "negative: reversals or sign errors that cancel out real amounts in a SUM",
                {"negative_count": num.negative_count, "non_null": p.non_null_count, "negative_share": share},
                (fix("check whether the negative values are reversals; if not, correct their sign", 1.0, "medium"),),
                confidence=0.8,
            ))
    return out
