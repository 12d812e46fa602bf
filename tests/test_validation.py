"""The validation phase on tiny ledgers whose answers are known by construction.

A clean ledger (journal entries and lines, accounts, a trial balance, invoices and payments)
passes every check; a broken copy carries one known violation per check, and each check
reports exactly that many. Upstream artifacts come from the real import, typing, statistics
and relationships phases run on the CSVs; annotations.json is written by hand (the semantic
phase is a separate piece of work). Also: skipped checks and their reasons, text columns
that failed typing, the one-sided debit/credit layout, hostile names, the settings file, the
reader and byte-identical reruns."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from phases.artifacts.annotations import Annotations, ColumnAnnotation, TableAnnotation
from phases.artifacts.validations import VALIDATIONS, CheckResult, Validations
from phases.core.config import parse_model, read_yaml
from phases.core.errors import ConfigError, StateError
from phases.core.manifest import write_manifest
from phases.core.records import dump_json
from phases.domain.validation import validate_domain
from phases.domain.validation_settings import ValidationSettings
from phases.engine.project import load_project
from phases.engine.runner import describe_artifacts, run_task
from tests.conftest import phase_context

REPO = Path(__file__).resolve().parent.parent

# --- building a source ---------------------------------------------------------------------


def csv_text(rows: list[dict[str, Any]]) -> str:
    header = list(rows[0])
    lines = [",".join(header)] + [",".join("" if r[h] is None else str(r[h]) for h in header) for r in rows]
    return "\n".join(lines) + "\n"


def build_source(root: Path, tables: Mapping[str, str], overrides: str = "") -> None:
    """CSV files (file name -> text) under root/data, and the upstream phases run on them."""
    (root / "data").mkdir(parents=True)
    for name, text in tables.items():
        (root / "data" / name).write_text(text, encoding="utf-8")
    shutil.copytree(REPO / "config", root / "config")
    (root / "config" / "sources.yaml").write_text(f"sources:\n  s:\n    path: data\n{overrides}")
    (root / "config" / "runtime.yaml").write_text("duckdb:\n  threads: 1\n")
    for table in load_project(root, check_functions=False).tables("s"):
        for phase in ("import", "typing", "statistics"):
            run_task(root, phase, "s", table.name)
    run_task(root, "relationships", "s", None)


# table -> (kind, entity, grain, time column, {column: concept})
TableSpec = tuple[str, str | None, tuple[str, ...], str | None, dict[str, str]]


def write_annotations(root: Path, spec: Mapping[str, TableSpec],
                      confidence: Mapping[tuple[str, str], float] | None = None) -> None:
    tables, columns = {}, []
    for table, (kind, entity, grain, time_column, concepts) in sorted(spec.items()):
        tables[table] = TableAnnotation(table=table, kind=kind, entity=entity, grain=grain, time_column=time_column,
                                        rows=0, confidence=0.9)
        for column, concept in concepts.items():
            conf = (confidence or {}).get((table, column), 0.9)
            columns.append(ColumnAnnotation(
                table=table, column=column, role="attribute", business_name=column, concept=concept,
                concept_confidence=conf, unit=None, unit_source=None, aggregation=None, time_role=None,
                name_clarity="clear", pii=None, references=None, description="written by the test",
                confidence=conf, decided_by="override"))
    out = root / "state/s/semantic"
    out.mkdir(parents=True, exist_ok=True)
    dump_json(out / "annotations.json", Annotations(source="s", ontologies=("financial",), tables=tables,
                                                    columns=tuple(columns)))
    write_manifest(out, "semantic", "s", None, describe_artifacts(out, {"annotations": "annotations.json"}), {})


def validate(root: Path, spec: Mapping[str, TableSpec], **kwargs: Any) -> dict[str, CheckResult]:
    write_annotations(root, spec, **kwargs)
    ctx = phase_context(root, "validation", [])
    validate_domain(ctx)
    report = VALIDATIONS.load(ctx.out_dir / "validations.json")
    return {c.id: c for c in report.checks}


# --- the ledger -------------------------------------------------------------------------------

ACCOUNTS = [(1000, "Cash", "asset"), (1590, "Accumulated Depreciation", "asset"), (4000, "Sales", "revenue"),
            (5000, "Rent", "expense"), (5700, "Depreciation", "Expense")]
ENTRIES = [  # entry, date, debit account, credit account, amount
    ("JE1", "2025-01-05", 1000, 4000, "100.00"), ("JE2", "2025-01-20", 5000, 1000, "40.50"),
    ("JE3", "2025-02-03", 1000, 4000, "250.00"), ("JE4", "2025-02-15", 5700, 1590, "5.00"),
    ("JE5", "2025-03-10", 5000, 1000, "10.00"), ("JE6", "2025-03-28", 1000, 4000, "70.25"),
]
LEDGER_SPEC: dict[str, TableSpec] = {
    "entries": ("fact", "journal_entry", ("entry_id",), "date", {"entry_id": "journal_entry",
                                                                 "date": "transaction_date"}),
    "lines": ("fact", "journal_line", ("line_id",), None, {
        "line_id": "journal_line", "entry_id": "journal_entry", "account_id": "account", "debit": "debit",
        "credit": "credit", "net_amount": "net_amount"}),
    "accounts": ("dimension", "account", ("account_id",), None, {"account_id": "account", "name": "description",
                                                                 "account_type": "account_type"}),
    "tb": ("fact", "trial_balance", ("account_id", "period"), None, {
        "account_id": "account", "period": "fiscal_period", "debit_balance": "debit_balance",
        "credit_balance": "credit_balance"}),
    "invoices": ("fact", "invoice", ("invoice_id",), "date", {
        "invoice_id": "invoice", "date": "transaction_date", "due_date": "due_date", "quantity": "quantity",
        "unit_price": "unit_price", "amount": "amount", "tax": "tax", "total": "total"}),
    "payments": ("fact", "payment", ("payment_id",), "date", {"payment_id": "payment", "invoice_id": "invoice",
                                                             "date": "transaction_date", "amount": "amount"}),
}


def ledger(broken: bool) -> dict[str, str]:
    """The CSV files of the ledger; `broken` plants one known violation per check."""
    entries = list(ENTRIES) + ([("JE7", "2025-03-30", 4000, 1590, "500.00")] if broken else [])
    lines = []
    for entry, _, debit_account, credit_account, amount in entries:
        for account, debit, credit in ((debit_account, amount, "0.00"), (credit_account, "0.00", amount)):
            net = f"{float(debit) - float(credit):.2f}"
            lines.append({"line_id": f"L{len(lines) + 1:02d}", "entry_id": entry, "account_id": account,
                          "debit": debit, "credit": credit, "net_amount": net})
    dates = {e[0]: e[1] for e in entries}
    sums: dict[tuple[int, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for line in lines:
        key = (line["account_id"], dates[line["entry_id"]][:7])
        sums[key][0] += float(line["debit"])
        sums[key][1] += float(line["credit"])
    tb = [{"account_id": a, "period": p, "debit_balance": f"{d:.2f}", "credit_balance": f"{c:.2f}"}
          for (a, p), (d, c) in sorted(sums.items())]
    invoices = []
    for i in range(1, 7):
        quantity, price = i + 1, f"{10 * i + 0.5:.2f}"
        amount = quantity * (10 * i + 0.5)
        tax = round(amount * 0.1, 2)
        invoices.append({"invoice_id": f"INV-{i:03d}", "date": f"2025-0{(i - 1) // 2 + 1}-1{i}",
                         "due_date": f"2025-0{(i - 1) // 2 + 1}-2{i}", "quantity": quantity, "unit_price": price,
                         "amount": f"{amount:.2f}", "tax": f"{tax:.2f}", "total": f"{amount + tax:.2f}"})
    payments = [{"payment_id": f"PAY-{i:03d}", "invoice_id": f"INV-{i:03d}",
                 "date": f"2025-0{(i - 1) // 2 + 1}-2{i}", "amount": inv["total"]}
                for i, inv in enumerate(invoices, start=1)]
    if broken:
        lines[4]["debit"] = "265.00"  # JE3 no longer balances (+15); its net_amount still says 250
        lines[8]["debit"] = "#ERR"  # JE5: a debit that is not a number
        lines[11]["net_amount"] = "-70.52"  # JE6: net_amount is not debit - credit
        rent_jan = next(r for r in tb if (r["account_id"], r["period"]) == (5000, "2025-01"))
        rent_jan["debit_balance"] = "40.60"  # the trial balance disagrees with the journal, and January with itself
        tb.append({"account_id": 1000, "period": "2025-05", "debit_balance": "0.00", "credit_balance": "0.00"})
        invoices[1]["due_date"] = "2025-01-01"  # due before it was issued
        payments[2]["date"] = "2025-02-01"  # paid before the invoice (2025-02-13)
        payments[5]["invoice_id"] = "INV-999"  # an orphan
        invoices[3]["total"] = f"{float(invoices[3]['total']) + 1:.2f}"  # total != amount + tax
        invoices[4]["quantity"] = 7  # amount != quantity * unit_price (was 6)
    accounts = [{"account_id": a, "name": n, "account_type": t} for a, n, t in ACCOUNTS]
    return {"entries.csv": csv_text([{"entry_id": e[0], "date": e[1]} for e in entries]),
            "lines.csv": csv_text(lines), "accounts.csv": csv_text(accounts), "tb.csv": csv_text(tb),
            "invoices.csv": csv_text(invoices), "payments.csv": csv_text(payments)}


DEBIT_AS_TEXT = "    overrides:\n      lines:\n        debit: {type: text}\n"


@pytest.fixture(scope="module")
def clean_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("clean")
    build_source(root, ledger(broken=False), DEBIT_AS_TEXT)
    return root


@pytest.fixture(scope="module")
def broken_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("broken")
    build_source(root, ledger(broken=True), DEBIT_AS_TEXT)
    return root


@pytest.fixture(scope="module")
def clean(clean_root) -> dict[str, CheckResult]:
    return validate(clean_root, LEDGER_SPEC)


@pytest.fixture(scope="module")
def broken(broken_root) -> dict[str, CheckResult]:
    return validate(broken_root, LEDGER_SPEC)


def test_the_upstream_phases_found_the_declared_relationships(broken):
    ids = {i.split(":", 1)[1] for i in broken if i.startswith("referential_integrity:")}
    assert ids == {"lines.account_id->accounts.account_id", "lines.entry_id->entries.entry_id",
                   "payments.invoice_id->invoices.invoice_id", "tb.account_id->accounts.account_id"}


PASSING = [
    "double_entry_overall:lines", "double_entry_by_entry:lines", "trial_balance_by_period:tb",
    "trial_balance_vs_journal:tb", "sign_conventions:lines", "sign_conventions:tb", "net_amount_derived:lines",
    "total_derived:invoices", "extended_amount_derived:invoices", "due_after_transaction:invoices",
    "payment_after_invoice:payments.invoice_id->invoices.invoice_id", "period_completeness:tb",
    "period_completeness:entries", "period_completeness:invoices", "period_completeness:payments",
    "referential_integrity:payments.invoice_id->invoices.invoice_id",
    "referential_integrity:lines.entry_id->entries.entry_id",
]


def test_every_check_passes_on_the_clean_ledger(clean):
    assert {i: c.status for i, c in clean.items() if i in PASSING} == dict.fromkeys(PASSING, "passed")
    assert {c.status for c in clean.values()} == {"passed", "skipped"}
    assert [i for i, c in clean.items() if c.status == "skipped"] == ["signed_amount_derived"]
    assert all(c.violations == 0 and c.checked and c.sql for c in clean.values() if c.status == "passed")


# check id -> (violations, checked) planted in the broken ledger
BROKEN = {
    "double_entry_overall:lines": (1, 1),
    "double_entry_by_entry:lines": (2, 7),  # JE3 unbalanced, JE5 with an unparseable debit
    "trial_balance_by_period:tb": (1, 4),  # January, over Jan..Mar and the added May
    "trial_balance_vs_journal:tb": (1, 12),
    "sign_conventions:lines": (1, 5),  # Sales nets to a debit after JE7; the contra account is exempt
    "sign_conventions:tb": (1, 5),
    "net_amount_derived:lines": (2, 13),  # JE3's and JE6's lines; JE5's line is not checked
    "total_derived:invoices": (1, 6),
    "extended_amount_derived:invoices": (1, 6),
    "due_after_transaction:invoices": (1, 6),
    "payment_after_invoice:payments.invoice_id->invoices.invoice_id": (1, 5),  # the orphan does not join
    "period_completeness:tb": (1, 5),  # April
    "referential_integrity:payments.invoice_id->invoices.invoice_id": (1, 6),
}


@pytest.mark.parametrize("check_id", sorted(BROKEN))
def test_each_check_fails_on_its_planted_violation_with_the_exact_count(broken, check_id):
    result = broken[check_id]
    assert (result.status, result.violations, result.checked) == ("failed", *BROKEN[check_id])
    assert result.examples and result.sql and result.reason
    assert result.violation_ratio == pytest.approx(BROKEN[check_id][0] / BROKEN[check_id][1])


def test_the_other_checks_still_pass_on_the_broken_ledger(broken):
    assert {i for i, c in broken.items() if c.status == "failed"} == set(BROKEN)
    assert broken["referential_integrity:lines.entry_id->entries.entry_id"].status == "passed"


def test_unbalanced_entries_are_reported_with_their_difference_and_missing_lines(broken):
    result = broken["double_entry_by_entry:lines"]
    assert [(e["entry_id"], e["difference"], e["missing_lines"]) for e in result.examples] == [
        ("JE3", 15.0, 0), ("JE5", -10.0, 1)]
    assert (result.evidence["unbalanced_groups"], result.evidence["groups_with_missing_amounts"]) == (1, 1)
    assert result.evidence["cells"]["lines.debit"] == {"empty": 0, "unparseable": 1}
    assert result.columns == ("lines.debit", "lines.credit", "lines.entry_id")
    overall = broken["double_entry_overall:lines"]
    assert (overall.evidence["debit_total"], overall.evidence["credit_total"]) == (980.75, 975.75)
    assert "difference 5" in overall.reason and "1 of 14 lines" in overall.reason


def test_a_text_debit_column_is_read_where_it_parses_and_the_rest_is_counted(broken):
    net = broken["net_amount_derived:lines"]
    assert net.evidence["incomplete"] == 1 and "1 rows with a missing or unparseable value" in net.reason
    assert sorted(e["line_id"] for e in net.examples) == ["L05", "L12"]
    assert "TRY_CAST(trim(\"debit\") AS DECIMAL(38, 6))" in net.sql


def test_the_trial_balance_is_blamed_only_where_no_reading_of_the_journal_agrees(broken):
    result = broken["trial_balance_vs_journal:tb"]
    # the period column reads 2025-01 and is typed a date: the month's first day
    assert [(e["account"], e["period"], e["debit_difference"]) for e in result.examples] == [(5000, "2025-01-01", 0.1)]
    evidence = result.evidence
    # Cash/Feb (a debit off, net right), Rent/Mar (debit missing) and Sales/Mar (net off, debit/credit
    # right) have inconsistent journal lines, and the trial balance matches one reading of each
    assert evidence["groups_with_inconsistent_lines"] == 3
    assert evidence["mismatches_of_raw_sums"] == 3
    assert evidence["journal_period"] == "month of entries.date through lines.entry_id->entries.entry_id"
    assert evidence["period_format"] == "date"  # typed a date from its YYYY-MM text


def test_sign_conventions_flag_the_account_and_exempt_contra_accounts(broken, clean):
    result = broken["sign_conventions:lines"]
    assert [(e["account"], e["normal_side"], e["net"]) for e in result.examples] == [(4000, "credit", 79.75)]
    assert result.severity == "warning" and result.evidence["contra_accounts"] == 1
    assert clean["sign_conventions:lines"].evidence["contra_accounts"] == 1


def test_row_checks_name_the_violating_rows(broken):
    assert [e["invoice_id"] for e in broken["due_after_transaction:invoices"].examples] == ["INV-002"]
    assert [e["invoice_id"] for e in broken["total_derived:invoices"].examples] == ["INV-004"]
    assert [(e["_row_id"], e["quantity"]) for e in broken["extended_amount_derived:invoices"].examples] == [(5, 7.0)]
    across = broken["payment_after_invoice:payments.invoice_id->invoices.invoice_id"]
    assert [(e["payment_id"], e["days"]) for e in across.examples] == [("PAY-003", -12)]
    orphans = broken["referential_integrity:payments.invoice_id->invoices.invoice_id"]
    assert orphans.examples == ({"invoice_id": "INV-999", "rows": 1, "first_row_id": 6},)
    assert broken["period_completeness:tb"].examples == ({"missing_month": "2025-04"},)


# --- skipped, never passed -----------------------------------------------------------------------


def without(concept: str) -> dict[str, TableSpec]:
    return {t: (*s[:4], {c: k for c, k in s[4].items() if k != concept}) for t, s in LEDGER_SPEC.items()}


def test_a_missing_concept_skips_its_checks_with_the_reason(clean_root):
    results = validate(clean_root, without("credit"))
    for check in ("double_entry_overall", "double_entry_by_entry"):
        assert results[check].status == "skipped"
        assert results[check].reason.startswith("no column with concept `credit`")
        assert results[check].violations is None and results[check].sql is None
    assert results["net_amount_derived"].reason.startswith("no column with concept `credit`")
    assert "lines has no column with concept `credit`" in results["net_amount_derived"].reason


def test_without_any_concept_every_concept_check_is_skipped_and_none_passes(clean_root):
    spec = {t: (s[0], None, s[2], None, {}) for t, s in LEDGER_SPEC.items()}
    results = validate(clean_root, spec)
    reasons = {i: c.reason for i, c in results.items() if not i.startswith("referential_integrity")}
    assert {c.status for i, c in results.items() if i in reasons} == {"skipped"}
    assert reasons == {
        "double_entry_overall": "no column with concept `debit` nor `credit`",
        "double_entry_by_entry": "no column with concept `debit` nor `credit` nor `journal_entry`",
        "trial_balance_by_period": "no column with concept `debit_balance` or `debit` nor `credit_balance` or "
                                   "`credit` nor `fiscal_period`",
        "trial_balance_vs_journal": "no trial balance: no column with concept `fiscal_period` nor `account` nor "
                                    "`debit_balance` or `debit` nor `credit_balance` or `credit`",
        "sign_conventions": "no column with concept `account_type`",
        "net_amount_derived": "no column with concept `net_amount` nor `debit` nor `credit`",
        "signed_amount_derived": "no column with concept `amount` nor `debit` nor `credit`",
        "total_derived": "no column with concept `total` nor `amount` nor `tax`",
        "extended_amount_derived": "no column with concept `amount` nor `quantity` nor `unit_price`",
        "due_after_transaction": "no column with concept `transaction_date` or `posting_date` nor `due_date`",
        "payment_after_invoice": "no declared relationship from a table of entity `payment` to one of entity "
                                 "`invoice` (table entities: none)",
        "period_completeness": "no column with concept `fiscal_period` and no table of kind fact with a main "
                               "date column",
    }
    assert {c.status for i, c in results.items() if i not in reasons} == {"passed"}  # needs no concept


def test_no_trial_balance_and_no_account_types_are_skip_reasons(clean_root):
    spec = {t: s for t, s in LEDGER_SPEC.items() if t != "tb"} | {
        "accounts": ("dimension", "account", ("account_id",), None, {"account_id": "account"})}
    results = validate(clean_root, spec)
    assert results["trial_balance_vs_journal"].reason.startswith("no trial balance: no column with concept "
                                                                 "`fiscal_period`")
    assert results["sign_conventions"].reason == "no column with concept `account_type`"
    assert results["trial_balance_by_period"].status == "skipped"


def test_a_column_below_the_confidence_threshold_is_not_used_and_the_reason_says_so(clean_root):
    results = validate(clean_root, LEDGER_SPEC, confidence={("lines", "credit"): 0.3})
    reason = results["double_entry_by_entry"].reason
    assert results["double_entry_by_entry"].status == "skipped"
    assert "lines.credit has `credit` with confidence 0.3 < min_concept_confidence 0.5" in reason


def test_a_table_that_is_not_a_journal_need_not_balance_overall(clean_root):
    spec = dict(LEDGER_SPEC)
    spec["lines"] = ("fact", "transaction", ("line_id",), None, {"debit": "debit", "credit": "credit"})
    result = validate(clean_root, spec)["double_entry_overall:lines"]
    assert result.status == "skipped" and "is not a journal" in result.reason


def test_a_text_column_that_mostly_does_not_parse_is_not_used(tmp_path):
    rows = [{"entry": "E1", "debit": "abc", "credit": "1.00"}, {"entry": "E1", "debit": "x", "credit": "0"},
            {"entry": "E2", "debit": "2.00", "credit": "0"}, {"entry": "E2", "debit": "y", "credit": "2.00"}]
    build_source(tmp_path, {"gl.csv": csv_text(rows)})
    spec = {"gl": ("fact", "journal_line", (), None, {"entry": "journal_entry", "debit": "debit",
                                                      "credit": "credit"})}
    result = validate(tmp_path, spec)["double_entry_by_entry:gl"]
    assert result.status == "skipped"
    assert result.reason == ("gl.debit is VARCHAR and only 1 of its 4 non-empty values parse as numbers "
                             "(25% < min_parse_share 50%)")


# --- layouts, names and empty tables ---------------------------------------------------------------


def test_one_sided_debit_credit_hostile_names_and_an_empty_table(tmp_path):
    rows = [  # exactly one of debit/credit per line; an empty side reads as 0
        {"line.id": 1, 'entry "no"': "E1", 'De"bit': "10.00", "cre dit": "", "net 'amount'": "10.00"},
        {"line.id": 2, 'entry "no"': "E1", 'De"bit': "", "cre dit": "10.00", "net 'amount'": "-10.00"},
        {"line.id": 3, 'entry "no"': "E2", 'De"bit': "5.00", "cre dit": "", "net 'amount'": "5.00"},
        {"line.id": 4, 'entry "no"': "E2", 'De"bit': "", "cre dit": "4.00", "net 'amount'": "-4.50"},
        {"line.id": 5, 'entry "no"': "E3", 'De"bit': "", "cre dit": "", "net 'amount'": ""},
    ]
    text = csv_text(rows).replace('entry "no"', '"entry ""no"""').replace('De"bit', '"De""bit"')
    build_source(tmp_path, {"general ledger.csv": text, "empty.csv": "entry,debit,credit\n"})
    concepts = {'entry "no"': "journal_entry", 'De"bit': "debit", "cre dit": "credit", "net 'amount'": "net_amount"}
    spec = {"general_ledger": ("fact", "journal_line", ("line.id",), None, concepts),
            "empty": ("fact", "journal_line", (), None, {"entry": "journal_entry", "debit": "debit",
                                                         "credit": "credit"})}
    results = validate(tmp_path, spec)
    by_entry = results["double_entry_by_entry:general_ledger"]
    assert (by_entry.status, by_entry.violations, by_entry.checked) == ("failed", 2, 3)  # E2 off by 1, E3 empty
    assert by_entry.evidence["layout"] == "one_sided"
    net = results["net_amount_derived:general_ledger"]
    assert (net.status, net.violations, net.checked) == ("failed", 1, 4)
    assert net.columns == ("general_ledger.net 'amount'", 'general_ledger.De"bit', "general_ledger.cre dit")
    assert net.examples == ({"_row_id": 4, "line.id": 4, "net 'amount'": -4.5, 'De"bit': 0.0, "cre dit": 4.0,
                             "expected": -4.0, "difference": -0.5},)
    assert results["double_entry_by_entry:empty"].status == "skipped"
    assert results["double_entry_by_entry:empty"].reason == "empty has no row with a empty.entry value"
    assert results["double_entry_overall:empty"].status == "skipped"


def test_a_trial_balance_with_date_periods_against_a_journal_that_carries_its_own_dates(tmp_path):
    gl = [{"entry": e, "posted": d, "account": a, "debit": dr, "credit": cr} for e, d, a, dr, cr in [
        ("E1", "2025-01-03", 1, "10.00", "0"), ("E1", "2025-01-03", 2, "0", "10.00"),
        ("E2", "2025-02-10", 1, "7.00", "0"), ("E2", "2025-02-10", 2, "0", "7.00"),
        ("E3", "2025-02-20", 2, "3.00", "0"), ("E3", "2025-02-20", 1, "0", "3.00")]]
    tb = [{"acct": a, "month": m, "dr": dr, "cr": cr} for a, m, dr, cr in [
        (1, "2025-01-01", "10.00", "0"), (2, "2025-01-01", "0", "10.00"),
        (1, "2025-02-01", "7.00", "3.00"), (2, "2025-02-01", "3.00", "8.00")]]  # account 2 credit off by 1
    build_source(tmp_path, {"gl.csv": csv_text(gl), "tb.csv": csv_text(tb)})
    spec = {"gl": ("fact", "journal_line", (), "posted", {"entry": "journal_entry", "posted": "posting_date",
                                                          "account": "account", "debit": "debit", "credit": "credit"}),
            "tb": ("fact", "trial_balance", ("acct", "month"), None, {
                "acct": "account", "month": "fiscal_period", "dr": "debit", "cr": "credit"})}
    results = validate(tmp_path, spec)
    result = results["trial_balance_vs_journal:tb"]
    assert (result.status, result.violations, result.checked) == ("failed", 1, 4)
    assert result.evidence["journal_period"] == "month of gl.posted" and result.evidence["period_format"] == "date"
    assert [(e["account"], e["period"], e["credit_difference"]) for e in result.examples] == [(2, "2025-02-01", 1.0)]
    assert results["trial_balance_by_period:tb"].violations == 1


# --- which columns a check means, and when it does not apply ------------------------------------


def _sales(rows: int) -> list[dict[str, Any]]:
    out = []
    for i in range(rows):
        quantity, price = 1 + i % 7, 2.5 + (i * 13) % 40
        out.append({"line": i + 1, "quantity": quantity, "list_price": f"{price:.2f}",
                    "coupon_amt": f"{(i * 7) % 11:.2f}", "ext_price": f"{quantity * price:.2f}"})
    return out


def test_a_derived_check_tries_every_column_of_a_concept_and_keeps_the_one_that_holds(tmp_path):
    build_source(tmp_path, {"sales.csv": csv_text(_sales(30))})
    spec = {"sales": ("fact", None, ("line",), None, {"quantity": "quantity", "list_price": "unit_price",
                                                      "coupon_amt": "amount", "ext_price": "amount"})}
    result = validate(tmp_path, spec)["extended_amount_derived:sales"]
    assert (result.status, result.violations, result.checked) == ("passed", 0, 30)
    assert result.columns[0] == "sales.ext_price"
    assert "also tried coupon_amt = quantity * list_price" in result.reason


def test_a_derived_check_failing_on_most_rows_is_not_applicable_rather_than_failed(tmp_path):
    build_source(tmp_path, {"sales.csv": csv_text(_sales(30))})
    spec = {"sales": ("fact", None, ("line",), None, {"quantity": "quantity", "list_price": "unit_price",
                                                      "coupon_amt": "amount"})}
    result = validate(tmp_path, spec)["extended_amount_derived:sales"]
    assert result.status == "skipped" and result.evidence["not_applicable"] is True
    assert result.reason.startswith("not applicable: coupon_amt = quantity * list_price fails on")
    assert "do not mean what the check assumes" in result.reason


def _airings(gap: bool) -> list[dict[str, Any]]:
    """Three seasons aired August to October, one episode a week; with `gap`, no episode in
    September of the second season."""
    rows = []
    for year in (2020, 2021, 2022):
        for week in range(13):
            day = dt.date(year, 8, 1) + dt.timedelta(weeks=week)
            if gap and year == 2021 and day.month == 9:
                continue
            rows.append({"episode": f"{year}-{week}", "aired": day.isoformat(), "viewers": f"{5 + week / 10:.1f}"})
    return rows


@pytest.mark.parametrize(("gap", "status", "missing"), [(False, "passed", 0), (True, "failed", 1)])
def test_off_season_months_are_no_gaps_but_a_month_missing_within_the_season_is(tmp_path, gap, status, missing):
    build_source(tmp_path, {"airings.csv": csv_text(_airings(gap))})
    spec = {"airings": ("fact", None, ("episode",), "aired", {"aired": "transaction_date"})}
    result = validate(tmp_path, spec)["period_completeness:airings"]
    assert (result.status, result.violations) == (status, missing)
    assert "off-season" in result.reason
    if gap:
        assert result.examples == ({"missing_month": "2021-09"},)


def test_within_a_single_year_every_missing_month_is_a_gap(tmp_path):
    rows = [{"id": i, "day": dt.date(2025, m, 3).isoformat()} for i, m in enumerate((1, 2, 4, 5, 6), 1)]
    build_source(tmp_path, {"log.csv": csv_text(rows)})
    result = validate(tmp_path, {"log": ("fact", None, ("id",), "day", {"day": "transaction_date"})})
    check = result["period_completeness:log"]
    assert (check.status, check.violations, check.checked) == ("failed", 1, 6)


# --- settings, reader, rerun ---------------------------------------------------------------------


def test_the_settings_file_documents_every_key_and_parses():
    text = (REPO / "config" / "validation.yaml").read_text()
    data = yaml.safe_load(text)
    assert set(data) == set(ValidationSettings.model_fields)
    for line in text.splitlines():
        key = line.split(":")[0]
        if line and not line.startswith((" ", "#", "-")) and key != "checks":
            assert "#" in line, f"no comment on {line!r}"
    settings = parse_model(ValidationSettings, read_yaml(REPO / "config" / "validation.yaml"), "validation.yaml")
    defaults = ValidationSettings()
    assert all(getattr(settings, k) == getattr(defaults, k) for k in ValidationSettings.model_fields if k != "checks")
    assert len({c.kind for c in settings.checks}) == 8


@pytest.mark.parametrize(("change", "message"), [
    ({"max_examples": 101}, "max_examples"),
    ({"surprise": 1}, "surprise"),
    ({"checks": [{"id": "a", "kind": "balance", "name": "n", "description": "d", "debit": ["debit"],
                  "credit": ["credit"], "tolerance": {"absolute": -1}}]}, "absolute"),
    ({"checks": [{"id": "a", "kind": "nonsense", "name": "n", "description": "d"}]}, "kind"),
    ({"checks": [{"id": "a", "kind": "referential_integrity", "name": "n", "description": "d"}] * 2}, "twice"),
])
def test_invalid_settings_name_the_key(change, message):
    data = read_yaml(REPO / "config" / "validation.yaml") | change
    with pytest.raises(ConfigError, match=message):
        parse_model(ValidationSettings, data, "config/validation.yaml")


def test_reruns_are_byte_identical_also_on_two_threads_and_the_summary_counts_outcomes(broken_root):
    write_annotations(broken_root, LEDGER_SPEC)
    ctx = phase_context(broken_root, "validation", [])
    output = validate_domain(ctx)
    first = (ctx.out_dir / "validations.json").read_bytes()
    assert validate_domain(ctx) == output
    assert (ctx.out_dir / "validations.json").read_bytes() == first
    (broken_root / "config" / "runtime.yaml").write_text("duckdb:\n  threads: 2\n")
    validate_domain(phase_context(broken_root, "validation", []))
    assert (ctx.out_dir / "validations.json").read_bytes() == first
    report = VALIDATIONS.load(ctx.out_dir / "validations.json")
    assert isinstance(report, Validations) and report.source == "s"
    assert output.summary == {"passed": sum(c.status == "passed" for c in report.checks),
                              "failed": len(BROKEN), "skipped": sum(c.status == "skipped" for c in report.checks)}
    assert json.loads(first)["checks"][0]["id"] == "double_entry_overall:lines"


def test_a_missing_artifact_names_the_phase_to_run(tmp_path):
    with pytest.raises(StateError, match="run the validation phase"):
        VALIDATIONS.load(tmp_path / "validations.json", "validation")


def test_breaks_of_a_row_formula_off_by_one_factor_are_recorded_with_that_factor(tmp_path):
    """Every fourth line's net amount is in another currency (x 0.79), one line is a typing slip:
    the breaks' common factor and how many share it are in the check's evidence."""
    rows = []
    for i in range(40):
        debit, credit = (100 + i * 7.25, 0) if i % 2 else (0, 50 + i * 3.5)
        net = debit - credit
        net = net * 0.79 if i % 4 == 0 else net + 1 if i == 3 else net
        rows.append({"line": i, "debit": f"{debit:.2f}", "credit": f"{credit:.2f}", "net": f"{net:.2f}"})
    build_source(tmp_path, {"lines.csv": csv_text(rows)})
    spec = {"lines": ("fact", "journal_line", ("line",), None,
                      {"debit": "debit", "credit": "credit", "net": "net_amount"})}
    net = validate(tmp_path, spec)["net_amount_derived:lines"]
    assert (net.status, net.violations) == ("failed", 11)
    assert (net.evidence["break_factor"], net.evidence["rows_at_break_factor"]) == (0.79, 10)


def test_tables_read_from_parquet_or_copied_into_memory_give_the_same_report(broken, broken_root, tmp_path):
    reports = []
    for limit in (0, 1_000_000):  # 0: every table stays a view over its Parquet file
        root = tmp_path / str(limit)
        shutil.copytree(broken_root, root)
        settings = root / "config" / "validation.yaml"
        text = re.sub(r"(?m)^memory_table_max_cells: \d+", f"memory_table_max_cells: {limit}", settings.read_text())
        settings.write_text(text)
        ctx = phase_context(root, "validation", [])
        validate_domain(ctx)
        reports.append((ctx.out_dir / "validations.json").read_bytes())
    assert reports[0] == reports[1]
