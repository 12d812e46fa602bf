"""Row and reference templates of the validation phase: derived totals, dates in order (within
a row and across a declared relationship), missing months, and orphans of declared
relationships. Each returns one result per table (or relationship) the check resolves to, or
one skipped result saying why it resolves to none.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import TYPE_CHECKING, Any

from phases.core.errors import Unresolved
from phases.core.sql import quote_ident, round_significant_sql
from phases.domain.validation_env import ROW_ID, Col, Env, concepts_text, fmt, jsonable

if TYPE_CHECKING:
    from phases.artifacts.relationships import Relationship
    from phases.artifacts.validations import CheckResult
    from phases.domain.validation_settings import (
        CompletenessCheck,
        DateOrderAcrossCheck,
        DateOrderCheck,
        DerivedCheck,
        IntegrityCheck,
    )

PAIR_CONCEPTS = {"debit", "credit", "debit_balance", "credit_balance"}
SYMBOL = {"difference": "-", "sum": "+", "product": "*"}


def _keys(env: Env, table: str, used: list[Col]) -> list[str]:
    """Quoted names of the columns naming a row: _row_id and the table's grain columns not already used."""
    names = {c.name for c in used}
    return [quote_ident(ROW_ID)] + [c.ident for c in env.grain(table) if c.name not in names and c.name != ROW_ID]


# --- derived totals --------------------------------------------------------------------------------


def check_derived(env: Env, spec: DerivedCheck) -> list[CheckResult]:
    """One result per table holding the concepts. When several columns of a table carry a concept
    (several amounts), every assignment of columns to the formula's slots is tried, up to
    `derived_max_assignments`, and the one that holds best is reported; when even that one fails
    on most rows the check is not applicable there (skipped with the reason): the columns do not
    mean what the formula assumes, which says nothing about the data."""
    found, reason = env.resolve({"target": spec.target, "a": spec.operands[0], "b": spec.operands[1]})
    if not found:
        return [env.skipped(spec, reason)]
    results = []
    for table, cols in found:
        refs = [c.ref for c in cols.values()]
        assignments = _assignments(env, spec, table)
        if not assignments:
            results.append(env.skipped(spec, f"one column of {table} would serve two roles ({', '.join(refs)})",
                                       table, [table], refs))
            continue
        outcomes, unresolved = [], []
        for assignment in assignments:
            try:
                outcomes.append(_derived(env, spec, table, assignment))
            except Unresolved as exc:
                unresolved.append(exc.reason)
        if not outcomes:
            results.append(env.skipped(spec, unresolved[0], table, [table], refs))
            continue
        results.append(_best(env, spec, table, outcomes))
    return results


def _assignments(env: Env, spec: DerivedCheck, table: str) -> list[dict[str, Col]]:
    """Assignments of distinct columns to the slots, the one `resolve` names first."""
    slots = {"target": spec.target, "a": spec.operands[0], "b": spec.operands[1]}
    options = {slot: env.candidates(table, concepts) for slot, concepts in slots.items()}
    out: list[dict[str, Col]] = []
    for target, a, b in itertools.product(options["target"], options["a"], options["b"]):
        if len({target.name, a.name, b.name}) == 3:
            out.append({"target": target, "a": a, "b": b})
        if len(out) >= env.settings.derived_max_assignments:
            break
    return out


def _match_rate(result: CheckResult) -> float:
    return 1 - (result.violations or 0) / result.checked if result.checked else -1.0


def _best(env: Env, spec: DerivedCheck, table: str, outcomes: list[CheckResult]) -> CheckResult:
    best = max(outcomes, key=lambda r: (_match_rate(r), r.checked or 0))  # the first on a tie
    others = [f"{r.evidence.get('formula')} ({_match_rate(r):.0%})" for r in outcomes if r is not best]
    tried = f"; also tried {', '.join(others)}" if others else ""
    rate = _match_rate(best)
    if best.status == "failed" and rate < env.settings.derived_min_match_rate:
        reason = (f"not applicable: {best.evidence.get('formula')} fails on {fmt(best.violations)} of "
                  f"{fmt(best.checked)} rows (match rate {rate:.0%} < {env.settings.derived_min_match_rate:.0%}); a "
                  "formula that fails on most rows says these columns do not mean what the check assumes, not that "
                  f"the data is wrong{tried}")
        return env.skipped(spec, reason, table, best.tables, best.columns, {**best.evidence, "not_applicable": True})
    if others:
        return dataclasses.replace(best, reason=f"{best.reason}{tried}",
                                   evidence={**best.evidence, "assignments_tried": len(outcomes)})
    return best


def _break_factor(env: Env, ctes: str, condition: str) -> dict[str, Any]:
    """The most common ratio target / expected (3 significant digits) among the breaking rows and
    how many share it: many breaks off by one factor are values converted at one rate (a currency
    or a unit), not typing slips, and the entropy phase says so."""
    ratio = round_significant_sql("(CAST(target AS DOUBLE) / CAST(expected AS DOUBLE))")
    found = env.rows(f"""{ctes}
SELECT {ratio} AS factor, count(*) AS rows FROM __v_judged
WHERE {condition} AND expected <> 0 AND target <> 0 GROUP BY 1 ORDER BY rows DESC, factor LIMIT 1""")
    if not found or found[0]["factor"] is None:
        return {}
    return {"break_factor": float(found[0]["factor"]), "rows_at_break_factor": int(found[0]["rows"])}


def _derived(env: Env, spec: DerivedCheck, table: str, cols: dict[str, Col]) -> CheckResult:
    target, a, b = (env.number(cols[k]) for k in ("target", "a", "b"))
    a_value, b_value = a.value(scale=env.scale), b.value(scale=env.scale)
    layout = None
    if {cols["a"].concept, cols["b"].concept} <= PAIR_CONCEPTS:  # a debit/credit pair: an empty side may be 0
        a_value, b_value, layout = env.pair(a, b)
    expected = {
        "difference": "a - b", "sum": "a + b",
        "product": f"TRY_CAST(CAST(a AS DOUBLE) * CAST(b AS DOUBLE) AS DECIMAL(38, {env.scale}))",
    }[spec.operation]
    used = list(cols.values())
    names = [quote_ident(cols[k].name) for k in ("target", "a", "b")]
    ctes = f"""WITH __v_rows AS (
  SELECT {', '.join(_keys(env, table, used))}, {target.value(scale=env.scale)} AS target, {a_value} AS a,
         {b_value} AS b
  FROM {quote_ident(table)}
), __v_judged AS (
  SELECT *, {expected} AS expected, target - ({expected}) AS difference,
         target IS NOT NULL AND a IS NOT NULL AND b IS NOT NULL AND ({expected}) IS NOT NULL AS complete
  FROM __v_rows
)"""
    condition = f"complete AND {env.exceeds('difference', 'target', spec.tolerance)}"
    sql = f"""{ctes}
SELECT count(*) AS rows, count(*) FILTER (WHERE complete) AS checked,
       count(*) FILTER (WHERE {condition}) AS violations,
       count(*) FILTER (WHERE NOT complete AND (target IS NOT NULL OR a IS NOT NULL OR b IS NOT NULL)) AS incomplete
FROM __v_judged"""
    row = env.one(sql)
    keys = _keys(env, table, used)
    examples = env.examples(
        f"{ctes}\nSELECT {', '.join(keys)}, target AS {names[0]}, a AS {names[1]}, b AS {names[2]}, expected, "
        f"difference FROM __v_judged WHERE {condition} ORDER BY abs(difference) DESC, {quote_ident(ROW_ID)}")
    formula = (f"{cols['target'].name} = {cols['a'].name} {SYMBOL[spec.operation]} {cols['b'].name}")
    checked, violations = row["checked"], row["violations"]
    evidence = {**row, "formula": formula, "match_rate": 1 - violations / checked if checked else None,
                "cells": env.cells([target, a, b]), **({"layout": layout["layout"]} if layout else {}),
                **(_break_factor(env, ctes, condition) if violations else {})}
    skipped_rows = (f"; {fmt(row['incomplete'])} rows with a missing or unparseable value were not checked"
                    if row["incomplete"] else "")
    if not checked:
        reason = f"no row of {table} has all of {formula}'s values{skipped_rows}"
    elif violations:
        reason = (f"{formula} fails on {fmt(violations)} of {fmt(checked)} rows (match rate "
                  f"{1 - violations / checked:.2%}, tolerance {fmt(spec.tolerance.absolute)}){skipped_rows}")
    else:
        reason = f"{formula} holds on all {fmt(checked)} rows{skipped_rows}"
    return env.result(spec, table, used, violations, checked, sql, reason, examples, jsonable(evidence))


# --- dates in order --------------------------------------------------------------------------------


def check_date_order(env: Env, spec: DateOrderCheck) -> list[CheckResult]:
    found, reason = env.resolve({"earlier": spec.earlier, "later": spec.later})
    if not found:
        return [env.skipped(spec, reason)]
    results = []
    for table, cols in found:
        refs = [c.ref for c in cols.values()]
        if cols["earlier"].name == cols["later"].name:
            results.append(env.skipped(spec, f"{cols['earlier'].ref} would be compared with itself", table,
                                       [table], refs))
            continue
        try:
            results.append(_date_order(env, spec, table, cols["earlier"], cols["later"]))
        except Unresolved as exc:
            results.append(env.skipped(spec, exc.reason, table, [table], refs))
    return results


def _date_order(env: Env, spec: DateOrderCheck, table: str, earlier: Col, later: Col) -> CheckResult:
    used = [earlier, later]
    ctes = f"""WITH __v_rows AS (
  SELECT {', '.join(_keys(env, table, used))}, {env.date(earlier)} AS earlier, {env.date(later)} AS later
  FROM {quote_ident(table)}
)"""
    sql = f"""{ctes}
SELECT count(*) AS rows, count(*) FILTER (WHERE earlier IS NOT NULL AND later IS NOT NULL) AS checked,
       count(*) FILTER (WHERE later < earlier) AS violations
FROM __v_rows"""
    row = env.one(sql)
    keys = _keys(env, table, used)
    examples = env.examples(
        f"{ctes}\nSELECT {', '.join(keys)}, earlier AS {earlier.ident}, later AS {later.ident}, "
        f"date_diff('day', earlier, later) AS days FROM __v_rows WHERE later < earlier "
        f"ORDER BY days, {quote_ident(ROW_ID)}")
    checked, violations = row["checked"], row["violations"]
    if violations:
        reason = f"{later.ref} is before {earlier.ref} on {fmt(violations)} of {fmt(checked)} rows with both dates"
    elif checked:
        reason = f"{later.ref} is on or after {earlier.ref} on all {fmt(checked)} rows with both dates"
    else:
        reason = f"no row of {table} has both {earlier.ref} and {later.ref}"
    return env.result(spec, table, used, violations, checked, sql, reason, examples, jsonable(row))


def check_date_order_across(env: Env, spec: DateOrderAcrossCheck) -> list[CheckResult]:
    results = []
    for rel in env.relationships:
        parent, child = rel.parent_table, rel.child_table
        if rel.self_reference or env.entity(parent) not in spec.parent_entities \
                or env.entity(child) not in spec.child_entities:
            continue
        later = env.find(child, spec.later) or env.time_column(child)
        earlier = env.find(parent, spec.earlier) or env.time_column(parent)
        refs = [f"{child}.{c}" for c in rel.child_columns]
        if later is None or earlier is None:
            missing = child if later is None else parent
            results.append(env.skipped(spec, f"{missing} has no date column (concept "
                                             f"{concepts_text(spec.later if later is None else spec.earlier)})",
                                       rel.id, [child, parent], refs))
            continue
        try:
            results.append(_date_order_across(env, spec, rel, earlier, later))
        except Unresolved as exc:
            results.append(env.skipped(spec, exc.reason, rel.id, [child, parent], refs + [earlier.ref, later.ref]))
    if not results:
        entities = {t: env.entity(t) for t in env.tables}
        present = ", ".join(f"{t}={e}" for t, e in entities.items() if e) or "none"
        return [env.skipped(spec, f"no declared relationship from a table of entity "
                                  f"{concepts_text(spec.child_entities)} to one of entity "
                                  f"{concepts_text(spec.parent_entities)} (table entities: {present})")]
    return results


def _date_order_across(env: Env, spec: DateOrderAcrossCheck, rel: Relationship, earlier: Col,
                       later: Col) -> CheckResult:
    child_cols = env.columns(rel.child_table, rel.child_columns)
    parent_cols = env.columns(rel.parent_table, rel.parent_columns)
    if child_cols is None or parent_cols is None:
        raise Unresolved(f"relationship {rel.id} names columns missing from the typed tables")
    used = [*child_cols, later, earlier]
    ctes = f"""WITH __v_pairs AS (
  SELECT {', '.join('c.' + k for k in _keys(env, rel.child_table, used))}, {', '.join(c.at('c') for c in child_cols)},
         {env.date(later, 'c')} AS later, {env.date(earlier, 'p')} AS earlier
  FROM {quote_ident(rel.child_table)} AS c
  JOIN {quote_ident(rel.parent_table)} AS p ON {env.join_condition(child_cols, parent_cols, 'c', 'p')}
)"""
    sql = f"""{ctes}
SELECT count(DISTINCT {quote_ident(ROW_ID)}) AS joined,
       count(DISTINCT {quote_ident(ROW_ID)}) FILTER (WHERE earlier IS NOT NULL AND later IS NOT NULL) AS checked,
       count(DISTINCT {quote_ident(ROW_ID)}) FILTER (WHERE later < earlier) AS violations
FROM __v_pairs"""
    row = env.one(sql)
    examples = env.examples(
        f"{ctes}\nSELECT *, date_diff('day', earlier, later) AS days FROM __v_pairs WHERE later < earlier "
        f"ORDER BY days, {quote_ident(ROW_ID)}")
    checked, violations = row["checked"], row["violations"]
    if violations:
        reason = (f"{later.ref} is before the referenced {earlier.ref} on {fmt(violations)} of {fmt(checked)} "
                  f"{rel.child_table} rows joined through {rel.id}")
    elif checked:
        reason = f"{later.ref} is on or after the referenced {earlier.ref} on all {fmt(checked)} joined rows"
    else:
        reason = f"no {rel.child_table} row joined through {rel.id} has both dates"
    return env.result(spec, rel.id, used, violations, checked, sql, reason, examples, jsonable(row),
                      tables=[rel.child_table, rel.parent_table])


# --- period completeness ---------------------------------------------------------------------------


def check_period_completeness(env: Env, spec: CompletenessCheck) -> list[CheckResult]:
    results = []
    for table in env.tables:
        col = env.find(table, spec.period)
        note = env.table_note(table)
        if col is None and note is not None and note.kind in env.settings.completeness_table_kinds:
            col = env.time_column(table)
        if col is None:
            continue
        try:
            results.append(_completeness(env, spec, table, col))
        except Unresolved as exc:
            results.append(env.skipped(spec, exc.reason, table, [table], [col.ref]))
    if not results:
        kinds = ", ".join(env.settings.completeness_table_kinds) or "none"
        return [env.skipped(spec, f"no column with concept {concepts_text(spec.period)} and no table of kind "
                                  f"{kinds} with a main date column")]
    return results


def _completeness(env: Env, spec: CompletenessCheck, table: str, col: Col) -> CheckResult:
    """Missing months between the first and the last. A missing month whose month of the year has
    rows in fewer than `season_min_year_share` of the (two or more) years spanning it is off-season
    (a series aired every autumn, a harvest), not a gap, and is not counted."""
    month, period_format = env.month(col)
    share = env.settings.season_min_year_share
    ctes = f"""WITH __v_rows AS (
  SELECT {month} AS month FROM {quote_ident(table)}
), __v_months AS (
  SELECT month, count(*) AS rows FROM __v_rows WHERE month IS NOT NULL GROUP BY month
), __v_expected AS (
  SELECT CAST(unnest(generate_series(CAST(min(month) AS TIMESTAMP), CAST(max(month) AS TIMESTAMP),
                                     INTERVAL 1 MONTH)) AS DATE) AS month
  FROM __v_months
), __v_season AS (
  SELECT month(e.month) AS month_of_year, count(*) AS years, count(m.month) AS years_with_rows
  FROM __v_expected AS e LEFT JOIN __v_months AS m ON e.month = m.month GROUP BY 1
), __v_judged AS (
  SELECT e.month, m.month IS NULL AS missing,
         m.month IS NULL AND s.years >= 2 AND s.years_with_rows < {share!r} * s.years AS off_season
  FROM __v_expected AS e LEFT JOIN __v_months AS m ON e.month = m.month
  JOIN __v_season AS s ON month(e.month) = s.month_of_year
)"""
    sql = f"""{ctes}
SELECT count(*) AS months, count(*) FILTER (WHERE missing AND NOT off_season) AS missing,
       count(*) FILTER (WHERE off_season) AS off_season,
       min(month) AS first_month, max(month) AS last_month,
       (SELECT count(*) FROM __v_rows WHERE month IS NULL) AS rows_without_period
FROM __v_judged"""
    row = env.one(sql)
    examples = env.examples(f"{ctes}\nSELECT strftime(month, '%Y-%m') AS missing_month FROM __v_judged "
                            f"WHERE missing AND NOT off_season ORDER BY month")
    months, missing, off = row["months"], row["missing"], row["off_season"]
    span = f"{str(row['first_month'])[:7]} .. {str(row['last_month'])[:7]}" if months else ""
    seasonal = (f"; {fmt(off)} further months without rows are off-season (their month of the year has rows in "
                f"fewer than {share:.0%} of the years)" if off else "")
    if missing:
        listed = ", ".join(e["missing_month"] for e in examples)
        reason = (f"{fmt(missing)} of the {fmt(months)} months {span} of {col.ref} have no rows (first: "
                  f"{listed}){seasonal}")
    elif months:
        reason = (f"every one of the {fmt(months)} months {span} of {col.ref} has rows" if not off
                  else f"no gap among the {fmt(months)} months {span} of {col.ref}{seasonal}")
    else:
        reason = f"{col.ref} has no value that reads as a month"
    evidence = {**row, "period_format": period_format}
    return env.result(spec, table, [col], missing, months, sql, reason, examples, jsonable(evidence))


# --- referential integrity -------------------------------------------------------------------------


def check_referential_integrity(env: Env, spec: IntegrityCheck) -> list[CheckResult]:
    if not env.relationships:
        return [env.skipped(spec, "relationships.json declares no relationship")]
    results = []
    for rel in env.relationships:
        child_cols = env.columns(rel.child_table, rel.child_columns)
        parent_cols = env.columns(rel.parent_table, rel.parent_columns)
        if child_cols is None or parent_cols is None:
            results.append(env.skipped(spec, f"relationship {rel.id} names columns missing from the typed tables",
                                       rel.id, [rel.child_table, rel.parent_table]))
            continue
        results.append(_integrity(env, spec, rel, child_cols, parent_cols))
    return results


def _integrity(env: Env, spec: IntegrityCheck, rel: Relationship, child_cols: list[Col], parent_cols: list[Col]
               ) -> CheckResult:
    present = " AND ".join(f"{c.at('c')} IS NOT NULL" for c in child_cols)
    values = ", ".join(c.ident for c in child_cols)
    ctes = f"""WITH __v_parent AS (
  SELECT DISTINCT {', '.join(c.ident for c in parent_cols)}, TRUE AS __v_found FROM {quote_ident(rel.parent_table)}
), __v_orphans AS (
  SELECT c.* FROM {quote_ident(rel.child_table)} AS c
  LEFT JOIN __v_parent AS p ON {env.join_condition(child_cols, parent_cols, 'c', 'p')}
  WHERE {present} AND p.__v_found IS NULL
)"""
    sql = f"""{ctes}
SELECT (SELECT count(*) FROM {quote_ident(rel.child_table)} AS c WHERE {present}) AS checked,
       (SELECT count(*) FROM __v_orphans) AS orphans,
       (SELECT count(*) FROM (SELECT DISTINCT {values} FROM __v_orphans)) AS orphan_values"""
    row = env.one(sql)
    examples = env.examples(f"{ctes}\nSELECT {values}, count(*) AS rows, min({quote_ident(ROW_ID)}) AS first_row_id "
                            f"FROM __v_orphans GROUP BY {values} ORDER BY rows DESC, first_row_id")
    checked, orphans = row["checked"], row["orphans"]
    if orphans:
        reason = (f"{fmt(orphans)} of {fmt(checked)} non-null {rel.child_table} keys ({fmt(row['orphan_values'])} "
                  f"distinct values) are not in {rel.parent_table}")
    elif checked:
        reason = f"all {fmt(checked)} non-null {rel.child_table} keys exist in {rel.parent_table}"
    else:
        reason = f"{rel.child_table} has no non-null key for {rel.id}"
    return env.result(spec, rel.id, [*child_cols, *parent_cols], orphans, checked, sql, reason, examples,
                      jsonable(row), tables=[rel.child_table, rel.parent_table])
