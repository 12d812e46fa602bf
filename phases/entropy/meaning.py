"""Entropy detectors over what the data *means*: the semantic layer (names, concepts, units,
time roles, from the semantic phase's annotations) and the computational layer (derived
values, domain validations, aggregation behaviour)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from phases.artifacts.entropy_scores import EntropyObject
from phases.entropy.base import finding, fix, pct
from phases.entropy.evidence import Evidence
from phases.entropy.reconcile import CopyJoin, conversion_findings
from phases.entropy.settings import EntropySettings, ramp


def business_meaning(ev: Evidence, s: EntropySettings) -> list[EntropyObject]:
    """A name an agent cannot read, unless its values and relationships establish the meaning
    firmly (`confirmed_confidence`), and, smaller, an abbreviation. A concept the ontology does not
    know is not a problem of the data, nor is the annotation's own confidence: neither is scored.
    The dimension is one of the annotation dimensions: it never blocks a column (aggregate)."""
    m = s.semantic
    out = []
    for a in ev.annotations.columns if ev.annotations else ():
        if a.name_clarity not in ("unclear", "abbreviated") or a.decided_by == "override":
            continue
        unclear = a.name_clarity == "unclear"
        if unclear and a.confidence >= m.confirmed_confidence:
            continue
        meaning = f"read as {a.business_name!r}" + (f" (concept {a.concept})" if a.concept else "")
        out.append(finding(
            a.table, a.column, "business_meaning", f"{a.name_clarity}_name",
            m.unclear_name_score if unclear else m.abbreviated_name_score,
            f"the name {a.column!r} is {'unclear' if unclear else 'an abbreviation'}; {meaning} from "
            f"{'its values and relationships' if unclear else 'the ontology'}, confidence {a.confidence:.2f}",
            {"name_clarity": a.name_clarity, "business_name": a.business_name, "concept": a.concept,
             "confidence": a.confidence},
            (fix("rename the column or declare its meaning in config/semantic.yaml overrides", 1.0),),
        ))
    return out


def units(ev: Evidence, s: EntropySettings) -> list[EntropyObject]:
    m = s.semantic
    out = []
    for table, columns in ev.types.items():
        for name, typing in columns.items():
            if typing.mixed and len(typing.units) > 1:
                counts = ", ".join(f"{u} {n}" for u, n in typing.units)
                out.append(finding(
                    table, name, "units", "mixed_units", m.mixed_units_score,
                    f"values are in several units ({counts}): a SUM adds them as if they were one",
                    {"units": [list(u) for u in typing.units]},
                    (fix("convert to one unit (for instance with an exchange-rate table) before summing", 1.0,
                         "medium"),),
                ))
    for table, q in ev.quality.items():
        for f in q.findings:
            typed = ev.types.get(table, {}).get(f.column) if f.column else None
            if f.kind == "mixed_units" and f.column and not (typed is not None and typed.mixed):
                out.append(finding(
                    table, f.column, "units", "mixed_units", m.mixed_units_score,
                    "values carry several units or currencies: a SUM adds them as if they were one",
                    dict(f.evidence), (fix("convert to one unit before summing", 1.0, "medium"),),
                ))
    for a in ev.annotations.columns if ev.annotations else ():
        if a.role == "measure" and a.money and not a.unit:  # without a currency no one can add them up safely
            out.append(finding(
                a.table, a.column, "units", "money_without_currency", m.measure_without_unit_score,
                f"a money column ({a.concept}) whose currency neither its values nor a currency column states",
                {"concept": a.concept},
                (fix("declare the currency of this column", 1.0),),
                confidence=0.8,
            ))
    return out


def time_roles(ev: Evidence, s: EntropySettings) -> list[EntropyObject]:
    out = []
    for a in ev.annotations.columns if ev.annotations else ():
        if a.role == "timestamp" and not a.time_role:
            out.append(finding(
                a.table, a.column, "time_role", "unclear_time_role", s.semantic.unclear_time_role_score,
                "a date whose role (event, due, period, created) is unclear: filtering 'by date' may use the "
                "wrong one",
                {"role": a.role},
                (fix("declare the date's role in its description (config/semantic.yaml overrides)", 1.0),),
                confidence=0.7,
            ))
    return out


def _excess_z(mismatch: float, allowed: float, rows: int) -> float:
    """How many standard errors the broken share of a relation across a join lies above the share of
    honest exceptions allowed (a partial payment): 0 when it does not exceed it. A relation
    compared on thousands of rows and broken on a tenth of them is broken beyond chance; the same
    share of ten rows is not."""
    if rows <= 0 or mismatch <= allowed or allowed <= 0:
        return 0.0
    return (mismatch - allowed) / math.sqrt(allowed * (1 - allowed) / rows)


def _breaks_beyond_chance(mismatch: float, compared: int, conversion: Any, allowed: float) -> tuple[float, str]:
    """The z of the breaks of a copy across a join that no constant factor explains (a discount or
    a currency on one side is the units finding's), above the honest exceptions allowed, and the
    words for it."""
    explained = conversion.rows / conversion.compared if conversion is not None and conversion.compared else 0.0
    left = max(0.0, mismatch - explained)
    z = _excess_z(left, allowed, compared)
    return z, (f"; more than the {pct(allowed)} of honest exceptions allowed, by {z:.0f} standard errors: "
               "sums and filters differ depending on which of the two columns is used")


def derived_consistency(ev: Evidence, s: EntropySettings, typed: Mapping[str, str], con: Any
                        ) -> list[EntropyObject]:
    c = s.computational
    out = []
    for d in ev.derived.derived_columns if ev.derived else ():
        mismatch = 1 - d.match_rate
        if mismatch <= 0:
            continue
        across = d.via is not None
        # a relation across tables (a payment equals its invoice) has honest exceptions (partial
        # payments); a formula within a row (net = debit - credit) has none
        start, full = (c.cross_table_mismatch_start, c.cross_table_mismatch_full) if across else (
            c.mismatch_start, c.mismatch_full)
        wrong = d.rows_compared - d.rows_matched
        summary = (f"{d.formula} holds on {d.rows_matched} of {d.rows_compared} rows: {wrong} rows "
                   f"({pct(mismatch)}) break it" + (f" (joined {d.via})" if across else ""))
        evidence = {"formula": d.formula, "match_rate": d.match_rate, "rows_compared": d.rows_compared,
                    "mismatching_rows": wrong, "via": d.via, "example_rows": [m.row_id for m in d.mismatches[:5]]}
        join = CopyJoin.of(ev, d, typed, s) if across and d.operation in ("copy", "negation") else None
        scope = join.scope(ev, s, con) if join else None
        if scope is not None and scope.mismatch < mismatch:
            shown = ", ".join(repr(x) for x in scope.excluded[:5])
            summary += (f"; it never holds where {scope.column} is {shown}, and within the other {scope.rows} rows "
                        f"{pct(scope.mismatch)} still break it")
            evidence.update(scope_column=scope.column, out_of_scope=list(scope.excluded[:20]),
                            in_scope_rows=scope.rows, in_scope_mismatch=scope.mismatch)
            mismatch = scope.mismatch
        else:
            scope = None
        conversion = join.constant_factor(ev, s, con, scope, typed) if join else None
        score = ramp(mismatch, start, full)
        if across:
            compared = scope.rows if scope is not None else d.rows_compared
            z, text = _breaks_beyond_chance(mismatch, compared, conversion, start)
            evidence["excess_z"] = round(z, 2)
            if z >= c.cross_table_break_min_z:
                summary += text
                score = max(score, c.cross_table_break_score)
        targets = {(d.table, d.column)} | ({(o.table, o.column) for o in d.operands} if across else set())
        for table, column in sorted(targets):
            out.append(finding(
                table, column, "derived_consistency", "derived_mismatch", score, summary,
                evidence,
                (fix(f"recompute {d.column} or find why {wrong} rows differ before using either side", 1.0,
                     "medium"),),
            ))
        if conversion is not None:
            out += conversion_findings(d, conversion, s)
    return out


# validation kinds that measure what a structural detector already scores (orphans of declared
# relationships are relationship_quality): counting them twice would double one finding
REMEASURED_ELSEWHERE = frozenset({"referential_integrity"})


def validations(ev: Evidence, s: EntropySettings) -> list[EntropyObject]:
    c = s.computational
    out = []
    for check in ev.validations.checks if ev.validations else ():
        if check.status != "failed" or check.kind in REMEASURED_ELSEWHERE:
            continue
        ratio = check.violation_ratio or 0.0
        base = c.validation_error_score if check.severity == "error" else c.validation_warning_score
        score = base + (1 - base) * ramp(ratio, 0, c.mismatch_full) if check.severity == "error" else base
        evidence = {"check": check.id, "violations": check.violations, "checked": check.checked,
                    "violation_ratio": check.violation_ratio, "severity": check.severity}
        resolution = (fix(f"resolve the {check.violations or 'reported'} violations of {check.name!r} or exclude "
                          "them from totals", 1.0, "medium"),)
        # blame the values that break the check, not the keys and periods it groups by
        named = [(t, col) for t, _, col in (name.partition(".") for name in check.columns if "." in name)]
        measures = [(t, col) for t, col in named if (a := ev.annotation(t, col)) is not None and a.role == "measure"]
        targets: Sequence[tuple[str, str | None]] = measures or named or [(t, None) for t in check.tables]
        for table, column in targets:
            out.append(finding(
                table, column, "validation", f"validation:{check.id}", score,
                f"{check.name} fails: {check.reason or f'{check.violations} violations'}",
                evidence, resolution, target_kind="column" if column else "table",
            ))
    return out


def aggregation_risk(ev: Evidence, s: EntropySettings) -> list[EntropyObject]:
    """A point-in-time measure (a balance) in a table with a time dimension: summing it over the
    periods counts it once per period. Without a time dimension (a customer's current balance)
    there is nothing to sum it over."""
    out = []
    annotations = ev.annotations.columns if ev.annotations else ()
    timed = {a.table for a in annotations if a.role == "timestamp" or a.concept in ("fiscal_period", "period_date")}
    for a in annotations:
        if a.role == "measure" and a.aggregation == "point_in_time" and a.table in timed:
            out.append(finding(
                a.table, a.column, "aggregation_risk", "point_in_time", s.computational.point_in_time_score,
                f"{a.business_name} is a point-in-time value (like a balance): summing it across periods counts "
                "it once per period",
                {"aggregation": a.aggregation},
                (fix("take the latest value per period (or per key) instead of SUM over time", 1.0),),
            ))
    return out
