"""The double-entry templates of the validation phase: balances (overall, per journal entry,
per period), the trial balance against the journal, and normal balance signs by account type.

Why the trial balance is compared the way it is: per (account, month) its debit and credit
must equal the sums of the journal lines of that month. But when the journal lines of a
group are themselves inconsistent (a missing amount, or a net_amount that is not
debit - credit), a difference may be the journal's fault, not the trial balance's. Such a
group is a mismatch only when the trial balance agrees with neither reading of the journal:
not with its debit/credit sums, and not (debit_balance - credit_balance) with the sum of
its net_amount. So an error is put where it is, not where it shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from phases.artifacts.validations import CheckResult
from phases.core.errors import PhaseError, Unresolved
from phases.core.sql import quote_ident, quote_literal
from phases.domain.validation_env import ROW_ID, Col, Env, concepts_text, fmt, jsonable

if TYPE_CHECKING:
    from phases.domain.validation_settings import BalanceCheck, NormalBalanceCheck, TrialBalanceCheck

ACCOUNT_NAME_WORDS = ("name", "description", "title", "label")  # column-name fallback for the account's name


def _is_ledger(env: Env, table: str) -> bool:
    return env.entity(table) in env.settings.ledger_entities or env.find(table, ("journal_entry",)) is not None


def check_balance(env: Env, spec: BalanceCheck) -> list[CheckResult]:
    slots = {"debit": spec.debit, "credit": spec.credit} | ({"group": spec.group} if spec.group else {})
    found, reason = env.resolve(slots)
    if not found:
        return [env.skipped(spec, reason)]
    results = []
    for table, cols in found:
        if not spec.group and not _is_ledger(env, table):
            results.append(env.skipped(
                spec, f"{table} has debit and credit columns but is not a journal (entity "
                      f"{env.entity(table) or 'unknown'}, not one of ledger_entities, and no column with concept "
                      f"`journal_entry`): its lines need not balance", table, [table],
                [cols["debit"].ref, cols["credit"].ref]))
            continue
        try:
            results.append(_balance(env, spec, table, cols))
        except Unresolved as exc:
            results.append(env.skipped(spec, exc.reason, table, [table], [c.ref for c in cols.values()]))
    return results


def _balance(env: Env, spec: BalanceCheck, table: str, cols: dict[str, Col]) -> CheckResult:
    debit, credit = env.number(cols["debit"]), env.number(cols["credit"])
    d_value, c_value, layout = env.pair(debit, credit)
    group = cols.get("group")
    group_sql = group.ident if group else "'all'"
    incomplete = "missing_lines > 0" if spec.missing_fails_group else "FALSE"
    ctes = f"""WITH __v_lines AS (
  SELECT {group_sql} AS grp, {d_value} AS debit, {c_value} AS credit FROM {quote_ident(table)}
), __v_groups AS (
  SELECT grp, count(*) AS lines, sum(debit) AS debit, sum(credit) AS credit,
         count(*) FILTER (WHERE debit IS NULL OR credit IS NULL) AS missing_lines
  FROM __v_lines WHERE grp IS NOT NULL GROUP BY grp
), __v_compared AS (
  SELECT grp, lines, debit, credit, coalesce(debit, 0) - coalesce(credit, 0) AS difference, missing_lines,
         {incomplete} AS incomplete
  FROM __v_groups
), __v_judged AS (
  SELECT *, NOT incomplete AND {env.exceeds("difference", "greatest(abs(debit), abs(credit))", spec.tolerance)}
           AS unbalanced
  FROM __v_compared
)"""
    sql = f"""{ctes}
SELECT count(*) AS groups, count(*) FILTER (WHERE unbalanced OR incomplete) AS violations,
       count(*) FILTER (WHERE unbalanced) AS unbalanced, count(*) FILTER (WHERE incomplete) AS incomplete,
       count(*) FILTER (WHERE missing_lines > 0) AS with_missing,
       coalesce(sum(lines), 0) AS lines, coalesce(sum(missing_lines), 0) AS missing_lines,
       sum(debit) AS debit_total, sum(credit) AS credit_total,
       (SELECT count(*) FROM __v_lines WHERE grp IS NULL) AS lines_without_group
FROM __v_judged"""
    row = env.one(sql)
    examples = env.examples(f"{ctes}\nSELECT grp AS {quote_ident(group.name if group else 'group')}, lines, debit, "
                            f"credit, difference, missing_lines FROM __v_judged WHERE unbalanced OR incomplete "
                            f"ORDER BY abs(difference) DESC, missing_lines DESC, grp")
    evidence: dict[str, Any] = {
        **layout, "lines": row["lines"], "missing_lines": row["missing_lines"],
        "debit_total": row["debit_total"], "credit_total": row["credit_total"],
        "cells": env.cells([debit, credit]),
    }
    missing_note = (f"; {fmt(row['missing_lines'])} of {fmt(row['lines'])} lines have a missing or unparseable "
                    f"debit or credit ({'their group fails' if spec.missing_fails_group and group else 'left out'})"
                    if row["missing_lines"] else "")
    if group:
        evidence |= {"groups": row["groups"], "unbalanced_groups": row["unbalanced"],
                     "groups_with_missing_amounts": row["with_missing"],
                     "lines_without_group": row["lines_without_group"]}
        what = f"{group.ref} groups"
        if not row["groups"]:
            reason = f"{table} has no row with a {group.ref} value"
        elif row["violations"]:
            parts = [f"{fmt(row['unbalanced'])} with debits != credits beyond {fmt(spec.tolerance.absolute)}"]
            if row["incomplete"]:
                parts.append(f"{fmt(row['incomplete'])} with a line whose debit or credit is missing or unparseable")
            reason = (f"{fmt(row['violations'])} of {fmt(row['groups'])} {what} do not balance: "
                      f"{', '.join(parts)}{missing_note}")
        else:
            reason = f"all {fmt(row['groups'])} {what} balance within {fmt(spec.tolerance.absolute)}{missing_note}"
        violations, checked = row["violations"], row["groups"]
    else:
        difference = (row["debit_total"] or 0) - (row["credit_total"] or 0)
        evidence |= {"difference": difference}
        verb = "!=" if row["violations"] else "="
        reason = (f"sum of {cols['debit'].ref} {fmt(row['debit_total'])} {verb} sum of {cols['credit'].ref} "
                  f"{fmt(row['credit_total'])} (difference {fmt(difference)}, tolerance "
                  f"{fmt(spec.tolerance.absolute)}) over {fmt(row['lines'])} lines{missing_note}")
        violations, checked = row["violations"], row["groups"]
        if not row["lines"]:
            reason = f"{table} has no rows"
    return env.result(spec, table, list(cols.values()), violations, checked, sql, reason, examples,
                      {k: jsonable(v) for k, v in evidence.items()})


# --- trial balance against the journal ---------------------------------------------------------


def check_trial_balance(env: Env, spec: TrialBalanceCheck) -> list[CheckResult]:
    tb_slots = {"period": spec.period, "account": spec.account, "debit": spec.balance_debit,
                "credit": spec.balance_credit}
    found, reason = env.resolve(tb_slots)
    # a table with journal entries is the journal itself, not a trial balance
    balances = [(t, cols) for t, cols in found if env.find(t, spec.journal_entry) is None]
    if not balances:
        if found:
            reason = f"every table with {concepts_text(spec.period)} periods also has journal entries: no trial balance"
        return [env.skipped(spec, f"no trial balance: {reason}")]
    results = []
    for table, cols in balances:
        j_slots = {"account": spec.account, "debit": spec.journal_debit, "credit": spec.journal_credit}
        journals, j_reason = env.resolve(j_slots, [t for t in env.tables if t != table])
        refs = [c.ref for c in cols.values()]
        if not journals:
            results.append(env.skipped(spec, f"no journal to compare {table} with: {j_reason}", table, [table], refs))
            continue
        journals.sort(key=lambda j: (env.find(j[0], spec.journal_entry) is None,
                                     env.entity(j[0]) != "journal_line", j[0]))
        journal, j_cols = journals[0]
        try:
            results.append(_trial_balance(env, spec, table, cols, journal, j_cols))
        except Unresolved as exc:
            results.append(env.skipped(spec, exc.reason, table, [table, journal],
                                       refs + [c.ref for c in j_cols.values()]))
    return results


def _journal_month(env: Env, spec: TrialBalanceCheck, journal: str) -> tuple[str, str, list[Col], str]:
    """(join clause, month expression, columns used, how) of the journal lines' month: from the
    journal's own period or date, or from the parent it references (the entry header)."""
    own = env.find(journal, spec.period) or env.find(journal, spec.journal_date) or env.time_column(journal)
    if own is not None:
        month, _ = env.month(own, "j")
        return "", month, [own], f"month of {own.ref}"
    candidates = []
    for rel in env.relationships:
        if rel.child_table != journal or rel.self_reference or rel.fans_out:
            continue
        parent = rel.parent_table
        date = env.find(parent, spec.period) or env.find(parent, spec.journal_date) or env.time_column(parent)
        if date is None:
            continue
        child_cols = env.columns(journal, rel.child_columns)
        parent_cols = env.columns(parent, rel.parent_columns)
        if child_cols is None or parent_cols is None:
            continue
        via_entry = any(c.concept in spec.journal_entry for c in child_cols)
        candidates.append((not via_entry, rel.id, rel, date, child_cols, parent_cols))
    if not candidates:
        raise Unresolved(f"the journal {journal} has no date or period column (concepts "
                         f"{concepts_text(spec.journal_date + spec.period)}) and references no table that has one")
    _, _, rel, date, child_cols, parent_cols = min(candidates, key=lambda c: c[:2])
    month, _ = env.month(date, "p")
    join = (f"LEFT JOIN {quote_ident(rel.parent_table)} AS p ON "
            f"{env.join_condition(child_cols, parent_cols, 'j', 'p')}")
    return join, month, [*child_cols, date], f"month of {date.ref} through {rel.id}"


def _trial_balance(env: Env, spec: TrialBalanceCheck, table: str, cols: dict[str, Col], journal: str,
                   j_cols: dict[str, Col]) -> CheckResult:
    tol = spec.tolerance
    t_debit, t_credit = env.number(cols["debit"]), env.number(cols["credit"])
    tb_debit, tb_credit, tb_layout = env.pair(t_debit, t_credit, "t")
    tb_month, period_format = env.month(cols["period"], "t")
    j_debit, j_credit = env.number(j_cols["debit"]), env.number(j_cols["credit"])
    line_debit, line_credit, j_layout = env.pair(j_debit, j_credit, "j")
    net_col = env.find(journal, spec.journal_net)
    net = env.number(net_col).value("j", env.scale) if net_col else "NULL"
    join, line_month, date_cols, how = _journal_month(env, spec, journal)
    t_acct, j_acct = cols["account"], j_cols["account"]
    same = env.join_condition([t_acct], [j_acct], "t", "j") == f"{t_acct.at('t')} = {j_acct.at('j')}"
    t_acct_sql = t_acct.at("t") if same else f"CAST({t_acct.at('t')} AS VARCHAR)"
    j_acct_sql = j_acct.at("j") if same else f"CAST({j_acct.at('j')} AS VARCHAR)"
    inconsistent = "debit IS NULL OR credit IS NULL"
    if net_col:
        inconsistent += f" OR net IS NULL OR {env.exceeds('net - (debit - credit)', 'net', tol)}"
    by_net = "inconsistent_lines > 0 AND net_missing = 0" if net_col else "FALSE"
    ctes = f"""WITH __v_lines AS (
  SELECT {j_acct_sql} AS account, {line_month} AS month, {line_debit} AS debit, {line_credit} AS credit,
         {net} AS net
  FROM {quote_ident(journal)} AS j {join}
), __v_journal AS (
  SELECT account, month, count(*) AS lines, sum(debit) AS debit, sum(credit) AS credit, sum(net) AS net,
         count(*) FILTER (WHERE {inconsistent}) AS inconsistent_lines,
         count(*) FILTER (WHERE net IS NULL) AS net_missing
  FROM __v_lines WHERE account IS NOT NULL AND month IS NOT NULL GROUP BY account, month
), __v_tb AS (
  SELECT t.{quote_ident(ROW_ID)} AS row_id, {t_acct_sql} AS account, {cols['period'].at('t')} AS period,
         {tb_month} AS month, {tb_debit} AS debit_balance, {tb_credit} AS credit_balance
  FROM {quote_ident(table)} AS t
), __v_compared AS (
  SELECT tb.*, coalesce(j.lines, 0) AS journal_lines, coalesce(j.debit, 0) AS journal_debit,
         coalesce(j.credit, 0) AS journal_credit, coalesce(j.net, 0) AS journal_net,
         coalesce(j.inconsistent_lines, 0) AS inconsistent_lines, coalesce(j.net_missing, 0) AS net_missing,
         tb.debit_balance - coalesce(j.debit, 0) AS debit_difference,
         tb.credit_balance - coalesce(j.credit, 0) AS credit_difference,
         (tb.debit_balance - tb.credit_balance) - coalesce(j.net, 0) AS net_difference
  FROM __v_tb AS tb LEFT JOIN __v_journal AS j ON tb.account = j.account AND tb.month = j.month
  WHERE tb.month IS NOT NULL
), __v_flagged AS (
  SELECT *, CASE WHEN {by_net} THEN 'debit_credit_or_net' ELSE 'debit_credit' END AS compared_by,
         {env.exceeds('debit_difference', 'journal_debit', tol)} AS debit_off,
         {env.exceeds('credit_difference', 'journal_credit', tol)} AS credit_off,
         {env.exceeds('net_difference', 'journal_net', tol)} AS net_off
  FROM __v_compared
), __v_judged AS (
  SELECT *, CASE WHEN debit_balance IS NULL OR credit_balance IS NULL THEN TRUE
                 WHEN {by_net} THEN (debit_off OR credit_off) AND net_off
                 ELSE debit_off OR credit_off END AS mismatch
  FROM __v_flagged
), __v_unlisted AS (
  SELECT j.* FROM __v_journal AS j
  WHERE j.month IN (SELECT month FROM __v_tb) AND NOT EXISTS (
    SELECT 1 FROM __v_tb AS tb WHERE tb.account = j.account AND tb.month = j.month)
    AND ({env.exceeds('coalesce(j.debit, 0)', 'j.debit', tol)}
         OR {env.exceeds('coalesce(j.credit, 0)', 'j.credit', tol)})
)"""
    sql = f"""{ctes}
SELECT count(*) AS compared, count(*) FILTER (WHERE mismatch) AS mismatches,
       count(*) FILTER (WHERE compared_by = 'debit_credit_or_net') AS compared_by_net_too,
       count(*) FILTER (WHERE inconsistent_lines > 0) AS groups_with_inconsistent_lines,
       count(*) FILTER (WHERE debit_off OR credit_off) AS mismatches_of_raw_sums,
       count(*) FILTER (WHERE mismatch AND compared_by = 'debit_credit' AND debit_off) AS debit_balance_mismatches,
       count(*) FILTER (WHERE mismatch AND compared_by = 'debit_credit' AND credit_off) AS credit_balance_mismatches,
       count(*) FILTER (WHERE mismatch AND compared_by = 'debit_credit_or_net') AS mismatches_by_both_readings,
       (SELECT count(*) FROM __v_unlisted) AS journal_groups_missing,
       (SELECT count(*) FROM __v_tb WHERE month IS NULL) AS rows_without_period,
       (SELECT count(*) FROM __v_lines WHERE month IS NULL OR account IS NULL) AS journal_lines_without_period
FROM __v_judged"""
    row = env.one(sql)
    examples = env.examples(
        f"{ctes}\nSELECT row_id AS {quote_ident(ROW_ID)}, account, period, compared_by, debit_balance, journal_debit, "
        f"debit_difference, credit_balance, journal_credit, credit_difference, net_difference, journal_lines, "
        f"inconsistent_lines FROM __v_judged WHERE mismatch ORDER BY abs(CASE WHEN compared_by = 'debit_credit_or_net' "
        f"THEN net_difference ELSE greatest(abs(debit_difference), abs(credit_difference)) END) DESC, row_id")
    violations = row["mismatches"] + row["journal_groups_missing"]
    checked = row["compared"] + row["journal_groups_missing"]
    evidence = {k: row[k] for k in row} | {
        "journal": journal, "journal_period": how, "period_format": period_format,
        "trial_balance_layout": tb_layout["layout"], "journal_layout": j_layout["layout"],
        "journal_net": net_col.ref if net_col else None,
    }
    detail = (f"{fmt(row['debit_balance_mismatches'])} in debit, {fmt(row['credit_balance_mismatches'])} in credit, "
              f"{fmt(row['mismatches_by_both_readings'])} where the journal lines are inconsistent and neither their "
              f"debit/credit sums nor their net agree")
    if violations:
        reason = (f"{fmt(row['mismatches'])} of {fmt(row['compared'])} {table} rows differ from the {journal} sums per "
                  f"(account, month) beyond {fmt(tol.absolute)} ({detail})")
        if row["journal_groups_missing"]:
            reason += (f", and {fmt(row['journal_groups_missing'])} {journal} (account, month) groups with activity "
                       f"have no {table} row")
    else:
        reason = f"all {fmt(row['compared'])} {table} rows equal the {journal} sums per (account, month)"
    if row["compared_by_net_too"]:
        reason += (f"; {fmt(row['compared_by_net_too'])} groups have inconsistent journal lines and were also compared "
                   f"by net (the raw debit/credit sums differ on {fmt(row['mismatches_of_raw_sums'])} rows)")
    used = [*cols.values(), *j_cols.values(), *date_cols, *([net_col] if net_col else [])]
    return env.result(spec, table, used, violations, checked, sql, reason, examples, jsonable(evidence),
                      tables=[table, journal])


# --- sign conventions ------------------------------------------------------------------------------


def _words_sql(expr: str) -> str:
    return f"regexp_split_to_array(lower(CAST({expr} AS VARCHAR)), '[^a-z]+')"


def _word_list(words: tuple[str, ...]) -> str:
    return "[" + ", ".join(quote_literal(w) for w in words) + "]::VARCHAR[]" if words else "[]::VARCHAR[]"


def _account_name(env: Env, spec: NormalBalanceCheck, table: str) -> Col | None:
    found = env.find(table, spec.account_name)
    if found:
        return found
    for name, profile in env.profiles[table].items():
        words = name.lower().replace("-", "_").replace(" ", "_").split("_")
        if profile.sql_type.upper() == "VARCHAR" and any(w in ACCOUNT_NAME_WORDS for w in words):
            return env.column(table, name)
    return None


def check_normal_balance(env: Env, spec: NormalBalanceCheck) -> list[CheckResult]:
    accounts, reason = env.resolve({"type": spec.account_type})
    if not accounts:
        return [env.skipped(spec, reason)]
    results = []
    for account_table, a_cols in accounts:
        sources = {}
        for rel in env.relationships:
            if rel.parent_table != account_table or rel.self_reference or len(rel.child_columns) != 1:
                continue
            debit, credit = env.find(rel.child_table, spec.debit), env.find(rel.child_table, spec.credit)
            if debit and credit and rel.child_table not in sources:
                sources[rel.child_table] = (rel, debit, credit)
        if not sources:
            results.append(env.skipped(
                spec, f"no declared relationship links a table with {concepts_text(spec.debit)} and "
                      f"{concepts_text(spec.credit)} columns to the account table {account_table}",
                account_table, [account_table], [a_cols["type"].ref]))
            continue
        for child, (rel, debit, credit) in sorted(sources.items()):
            target = child if len(accounts) == 1 else f"{child}.{account_table}"
            try:
                results.append(_normal_balance(env, spec, rel, a_cols["type"], debit, credit, target))
            except Unresolved as exc:
                results.append(env.skipped(spec, exc.reason, target, [child, account_table],
                                           [a_cols["type"].ref, debit.ref, credit.ref]))
    return results


def _normal_balance(env: Env, spec: NormalBalanceCheck, rel: Any, type_col: Col, debit_col: Col, credit_col: Col,
                    target: str) -> CheckResult:
    settings, tol = env.settings, spec.tolerance
    account_table = rel.parent_table
    fk, pk = env.column(rel.child_table, rel.child_columns[0]), env.column(account_table, rel.parent_columns[0])
    if fk is None or pk is None:
        raise PhaseError(f"relationship {rel.id} names columns missing from the typed tables")
    debit, credit = env.number(debit_col), env.number(credit_col)
    d_value, c_value, layout = env.pair(debit, credit, "c")
    name = _account_name(env, spec, account_table)
    name_sql = name.at("a") if name else "NULL"
    same = env.join_condition([fk], [pk], "c", "a") == f"{fk.at('c')} = {pk.at('a')}"
    fk_sql, pk_sql = (fk.at("c"), pk.at("a")) if same else (f"CAST({fk.at('c')} AS VARCHAR)",
                                                             f"CAST({pk.at('a')} AS VARCHAR)")
    words = _words_sql(type_col.at("a"))
    net_off = {"debit": env.exceeds("least(net, 0)", "net", tol), "credit": env.exceeds("greatest(net, 0)", "net", tol)}
    ctes = f"""WITH __v_activity AS (
  SELECT {fk_sql} AS account, count(*) AS lines, sum({d_value}) AS debit, sum({c_value}) AS credit
  FROM {quote_ident(rel.child_table)} AS c WHERE {fk.at('c')} IS NOT NULL GROUP BY 1
), __v_accounts AS (
  SELECT {pk_sql} AS account, {type_col.at('a')} AS account_type, {name_sql} AS account_name,
         CASE WHEN list_has_any({words}, {_word_list(settings.debit_normal_words)}) THEN 'debit'
              WHEN list_has_any({words}, {_word_list(settings.credit_normal_words)}) THEN 'credit'
              END AS normal_side,
         coalesce(list_has_any({_words_sql(name_sql)}, {_word_list(settings.contra_account_words)}), FALSE) AS contra
  FROM {quote_ident(account_table)} AS a
), __v_judged AS (
  SELECT acc.account, account_type, account_name, normal_side, contra, lines, debit, credit,
         coalesce(debit, 0) - coalesce(credit, 0) AS net
  FROM __v_activity AS act JOIN __v_accounts AS acc ON act.account = acc.account
), __v_signed AS (
  SELECT *, CASE normal_side WHEN 'debit' THEN {net_off['debit']} WHEN 'credit' THEN {net_off['credit']}
                 ELSE FALSE END AS opposite
  FROM __v_judged
)"""
    sql = f"""{ctes}
SELECT count(*) FILTER (WHERE normal_side IS NOT NULL) AS accounts,
       count(*) FILTER (WHERE opposite AND NOT contra) AS violations,
       count(*) FILTER (WHERE opposite AND contra) AS contra_accounts,
       count(*) FILTER (WHERE normal_side IS NULL) AS unclassified,
       list(DISTINCT CAST(account_type AS VARCHAR) ORDER BY CAST(account_type AS VARCHAR))
         FILTER (WHERE normal_side IS NULL) AS unclassified_types
FROM __v_signed"""
    row = env.one(sql)
    examples = env.examples(f"{ctes}\nSELECT account, account_type, account_name, normal_side, debit, credit, net, "
                            f"lines FROM __v_signed WHERE opposite AND NOT contra ORDER BY abs(net) DESC, account")
    evidence = jsonable({k: v for k, v in row.items() if k != "unclassified_types"}) | {
        "unclassified_types": list(row["unclassified_types"] or [])[:20], "layout": layout["layout"],
        "account_name": name.ref if name else None}
    if not row["accounts"]:
        reason = (f"no account with activity in {rel.child_table} has a recognised type in {type_col.ref} "
                  f"(values: {', '.join(evidence['unclassified_types']) or 'none'})")
    elif row["violations"]:
        reason = (f"{fmt(row['violations'])} of {fmt(row['accounts'])} accounts net to the side opposite their type's "
                  f"normal balance in {rel.child_table} (assets and expenses to a credit, or liabilities, equity and "
                  f"revenue to a debit); contra accounts exempted by name: {fmt(row['contra_accounts'])}")
    else:
        reason = (f"all {fmt(row['accounts'])} typed accounts with activity in {rel.child_table} net to their normal "
                  f"side ({fmt(row['contra_accounts'])} contra accounts exempted by name)")
    cols = [type_col, fk, debit_col, credit_col, *([name] if name else [])]
    return env.result(spec, target, cols, row["violations"], row["accounts"], sql, reason, examples, evidence,
                      tables=[rel.child_table, account_table])
