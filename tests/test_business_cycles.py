"""The business_cycles phase on constructed sources whose answers are known: receivables with 30
of 40 invoices paid (status values in mixed case) and payments 10, 20 or 30 days after their
invoice; the cycles the data does not hold, each with its reason; a ledger whose document types
carry the stages; a payment date that failed typing; the vocabulary file and the typed reader.
The upstream phases run for real through the runner; only annotations.json is written by hand."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from phases.artifacts.annotations import Annotations, ColumnAnnotation, TableAnnotation
from phases.artifacts.cycles import CYCLES, Cycles
from phases.artifacts.relationships import Relationship
from phases.core.config import parse_model, read_yaml
from phases.core.errors import ConfigError
from phases.core.records import dump_json
from phases.domain.business_cycles import detect_cycles, detect_source
from phases.domain.cycle_vocabulary import CycleSettings, matches, normalize, tokens
from phases.profile.statistics import StatisticsSettings, TypeInfo, profile_parquet
from tests.conftest import phase_context, run_upstream, write_annotations

REPO = Path(__file__).resolve().parent.parent
START = date(2025, 1, 6)
STATUSES = ("Paid", "PAID", "paid")  # 30 paid invoices, spelled three ways


def settings() -> CycleSettings:
    return parse_model(CycleSettings, read_yaml(REPO / "config/business_cycles.yaml"), "config/business_cycles.yaml")


def receivables() -> dict[str, str]:
    """40 invoices of 5 customers, one every day, due after 15 days; the first 30 are paid 10, 20
    or 30 days after the invoice, the last 10 are open."""
    invoices = ["invoice_id,customer_id,date,due_date,amount,status"]
    payments = ["payment_id,invoice_id,date,amount"]
    for k in range(40):
        day = START + timedelta(days=k)
        status = STATUSES[k % 3] if k < 30 else "open"
        invoices.append(f"INV-{k:03d},C{k % 5},{day},{day + timedelta(days=15)},{100 + k}.50,{status}")
        if k < 30:
            payments.append(f"PAY-{k:03d},INV-{k:03d},{day + timedelta(days=10 * (k % 3 + 1))},{100 + k}.50")
    customers = ["customer_id,name"] + [f"C{i},Customer {i}" for i in range(5)]
    return {"invoices": "\n".join(invoices) + "\n", "payments": "\n".join(payments) + "\n",
            "customers": "\n".join(customers) + "\n"}


def annotation(table: str, column: str, role: str, concept: str | None = None) -> ColumnAnnotation:
    return ColumnAnnotation(
        table=table, column=column, role=role, business_name=column, concept=concept,
        concept_confidence=0.9 if concept else 0.0, unit=None, unit_source=None, aggregation=None, time_role=None,
        name_clarity="clear", pii=None, references=None, description="test", confidence=0.9, decided_by="override")


RECEIVABLES = Annotations("s", ("test",), {
    "invoices": TableAnnotation("invoices", "fact", "invoice", ("invoice_id",), "date", 40, 0.9),
    "payments": TableAnnotation("payments", "fact", "payment", ("payment_id",), "date", 30, 0.9),
    "customers": TableAnnotation("customers", "dimension", "customer", ("customer_id",), None, 5, 0.9),
}, (
    annotation("customers", "customer_id", "key", "customer"), annotation("customers", "name", "attribute"),
    annotation("invoices", "invoice_id", "key", "invoice"), annotation("invoices", "customer_id", "foreign_key",
                                                                       "customer"),
    annotation("invoices", "date", "timestamp", "transaction_date"),
    annotation("invoices", "due_date", "timestamp", "due_date"), annotation("invoices", "amount", "measure", "amount"),
    annotation("invoices", "status", "dimension", "status"), annotation("payments", "payment_id", "key", "payment"),
    annotation("payments", "invoice_id", "foreign_key", "invoice"),
    annotation("payments", "date", "timestamp", "transaction_date"),
    annotation("payments", "amount", "measure", "amount"),
))


def upstream(root: Path, csvs: dict[str, str], annotations: Annotations) -> None:
    """import, typing, statistics, temporal and relationships, run for real; annotations by hand."""
    run_upstream(root, csvs, ("import", "typing", "statistics", "temporal", "relationships"))
    write_annotations(root, annotations)


@pytest.fixture(scope="module")
def detected(tmp_path_factory) -> tuple[Path, Cycles]:
    root = tmp_path_factory.mktemp("cycles")
    upstream(root, receivables(), RECEIVABLES)
    ctx = phase_context(root, "business_cycles", ["customers", "invoices", "payments"])
    detect_cycles(ctx)
    return root, CYCLES.load(ctx.out_dir / "cycles.json")


def cycle(result: Cycles, cycle_id: str):
    return next(c for c in result.cycles if c.id == cycle_id)


def metric(c, name: str) -> float | None:
    return next(m.value for m in c.metrics if m.name == name)


# --- a detected cycle -------------------------------------------------------------------------


def test_receivables_are_detected_with_their_stages_and_links(detected):
    _, result = detected
    assert [c.id for c in result.cycles] == ["order_to_cash", "accounts_receivable"]
    ar = cycle(result, "accounts_receivable")
    assert [(s.name, s.table, s.matched_by, s.rows) for s in ar.stages] == [
        ("customer_invoice", "invoices", "entity", 40), ("customer_payment", "payments", "entity", 30)]
    assert ar.tables == ("invoices", "payments")
    assert ar.confidence == pytest.approx(0.6 + 0.2 + 0.1)  # no credit memos: the optional share is 0
    uses = {(c.table, c.column): c.use for c in ar.columns}
    assert uses[("invoices", "status")] == "status" and uses[("invoices", "customer_id")] == "party"
    assert uses[("payments", "invoice_id")] == "link" and uses[("invoices", "due_date")] == "due_date"
    assert "no credit_memo stage: credits against receivables cannot be separated" in ar.missing
    assert any("payments.invoice_id->invoices.invoice_id" in e for e in ar.evidence)


def test_completion_is_measured_in_sql_with_status_values_matched_case_insensitively(detected):
    _, result = detected
    ar = cycle(result, "accounts_receivable")
    assert metric(ar, "customer_invoice_completed_share") == 0.75  # Paid, PAID and paid: 30 of 40
    assert metric(ar, "customer_invoice_open_share") == 0.25
    assert metric(ar, "customer_invoice_cancelled_share") == 0.0
    assert metric(ar, "customer_invoice_to_customer_payment_share") == 0.75
    assert metric(ar, "customer_invoice_to_customer_payment_days_avg") == 20.0
    assert metric(ar, "customer_invoice_to_customer_payment_days_median") == 20.0
    assert metric(ar, "customer_payment_after_due_share") == pytest.approx(2 / 3, abs=1e-6)  # 20 and 30 days
    described = next(m for m in ar.metrics if m.name == "customer_invoice_completed_share")
    assert (described.unit, "Paid" in described.description) == ("share", True)


def test_each_metric_keeps_the_sql_that_measured_it(detected):
    root, result = detected
    ar = cycle(result, "accounts_receivable")
    with duckdb.connect() as con:
        for table in ("invoices", "payments"):
            path = root / "state/s/typing" / table / "typed.parquet"
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{path}')")
        for m in ar.metrics:
            assert con.execute(m.sql).fetchone()[0] == pytest.approx(m.value), m.name


# --- cycles not detected ----------------------------------------------------------------------


def test_cycles_the_data_does_not_hold_are_listed_with_their_reason(detected):
    _, result = detected
    missed = {n.id: n for n in result.not_detected}
    assert set(missed) == {"procure_to_pay", "accounts_payable", "journal_entry_and_period_close", "payroll",
                           "inventory"}
    assert missed["accounts_payable"].reason == (
        "no vendor_invoice stage: invoices carries customers (customer_id, on 100% of its vendor_invoice rows), "
        "not vendors")
    assert missed["accounts_payable"].stages_found == ("payment: payments",)
    assert missed["payroll"].reason.startswith("no payroll_run stage (no table with entity payroll/paycheck")


def test_the_artifact_reads_back_and_reruns_are_byte_identical(detected):
    root, result = detected
    ctx = phase_context(root, "business_cycles", ["customers", "invoices", "payments"])
    first = (ctx.out_dir / "cycles.json").read_bytes()
    detect_cycles(ctx)
    assert (ctx.out_dir / "cycles.json").read_bytes() == first
    dump_json(root / "again.json", result)
    assert (root / "again.json").read_bytes() == first


# --- library: document types, failed dates, unknown party ----------------------------------------


def source(tmp_path: Path, tables: dict[str, str], types: dict[str, dict[str, str]], notes: Annotations,
           relationships: tuple[Relationship, ...] = ()) -> Cycles:
    """detect_source over tables given as DuckDB SELECTs, profiled by the statistics code."""
    with duckdb.connect() as con:
        typed, profiles = {}, {}
        for name, select in tables.items():
            path = tmp_path / f"{name}.parquet"
            con.execute(f"COPY ({select}) TO '{path}' (FORMAT parquet)")
            info = {c: TypeInfo(type=t) for c, t in types.get(name, {}).items()}
            report, _ = profile_parquet(con, str(path), name, info, StatisticsSettings())
            typed[name], profiles[name] = path, {c.name: c for c in report.columns}
        return detect_source(con, "s", typed, profiles, notes, relationships, {}, settings())


def test_document_types_of_one_ledger_carry_the_stages_and_unlinked_rows_are_reported(tmp_path):
    ledger = ("SELECT range + 1 AS _row_id,"
              " ['Invoice', 'invoice', 'Payment', 'Bill'][range % 4 + 1] AS \"Transaction Type\","
              " CASE WHEN range % 4 < 3 THEN 'Cust ' || (range % 3) END AS \"Customer\","
              " CASE WHEN range % 4 = 3 THEN 'Vend' END AS \"Vendor\","
              " CASE WHEN range % 4 < 2 THEN (CASE WHEN range % 8 = 0 THEN 0.0 ELSE 5.0 END) END AS \"Open Balance\","
              " DATE '2024-01-01' + CAST(range AS INTEGER) AS \"Txn Date\" FROM range(80)")
    notes = Annotations("s", (), {"ledger": TableAnnotation("ledger", "fact", "transaction", (), "Txn Date", 80, 0.5)},
                        ())
    result = source(tmp_path, {"ledger": ledger}, {"ledger": {"Open Balance": "decimal"}}, notes)
    ar = cycle(result, "accounts_receivable")
    invoice = ar.stages[0]
    assert (invoice.matched_by, invoice.document_column, invoice.document_values, invoice.rows) == (
        "document_type", "Transaction Type", ("Invoice", "invoice"), 40)
    assert metric(ar, "customer_invoice_settled_share") == 0.25  # every 8th row of the 40 invoices has 0 left
    assert ar.skipped[0].reason.startswith("customer_invoice and customer_payment are rows of ledger that do not")
    missed = {n.id: n for n in result.not_detected}
    assert missed["accounts_payable"].stages_found == ("vendor_invoice: ledger",)  # Bill rows carry vendors
    assert missed["accounts_payable"].reason.startswith("no payment stage (no table with entity payment")


def link(child: str, parent: str, column: str) -> Relationship:
    return Relationship(
        id=f"{child}.{column}->{parent}.{column}", child_table=child, child_columns=(column,), parent_table=parent,
        parent_columns=(column,), cardinality="one_to_one", confidence=1.0, child_rows=20, null_rows=0,
        matched_rows=20, orphan_rows=0, orphan_values=0, orphan_examples=(), inner_join_drop_ratio=0.0,
        fans_out=False, fan_out_rows=0, self_reference=False)


def test_a_payment_date_that_failed_typing_skips_the_days_with_a_reason(tmp_path):
    invoices = ("SELECT range + 1 AS _row_id, 'INV-' || range AS invoice_id, 'V' || (range % 3) AS vendor_id,"
                " DATE '2025-01-01' + CAST(range AS INTEGER) AS date, 'paid' AS status FROM range(20)")
    payments = ("SELECT range + 1 AS _row_id, 'PAY-' || range AS payment_id, 'INV-' || range AS invoice_id,"
                " ['03/04/2025', '2025-03-04', '04-Mar-25'][range % 3 + 1] AS date FROM range(20)")
    notes = Annotations("s", (), {
        "invoices": TableAnnotation("invoices", "fact", "invoice", ("invoice_id",), "date", 20, 0.9),
        "payments": TableAnnotation("payments", "fact", "payment", ("payment_id",), "date", 20, 0.9)},
        (annotation("invoices", "vendor_id", "foreign_key", "vendor"),))
    result = source(tmp_path, {"invoices": invoices, "payments": payments}, {}, notes,
                    (link("payments", "invoices", "invoice_id"),))
    ap = cycle(result, "accounts_payable")
    assert metric(ap, "vendor_invoice_to_payment_share") == 1.0
    assert [(s.name, s.reason) for s in ap.skipped] == [(
        "vendor_invoice_to_payment_days_avg",
        "payments.date is typed text, not a date (typing failed): days from vendor_invoice to payment not measured")]
    assert ap.skipped[0].reason in ap.missing
    assert "vendor_invoice_to_payment_days_avg" not in {m.name for m in ap.metrics}


def test_keys_stored_as_a_number_on_one_side_and_text_on_the_other_still_link(tmp_path):
    invoices = ("SELECT range + 1 AS _row_id, range AS invoice_id, 'V1' AS vendor_id, 'paid' AS status,"
                " DATE '2025-01-01' AS date FROM range(20)")
    payments = ("SELECT range + 1 AS _row_id, 'P' || range AS payment_id, CAST(range AS VARCHAR) AS invoice_id,"
                " DATE '2025-01-08' AS date FROM range(10)")
    notes = Annotations("s", (), {
        "invoices": TableAnnotation("invoices", "fact", "invoice", ("invoice_id",), "date", 20, 0.9),
        "payments": TableAnnotation("payments", "fact", "payment", ("payment_id",), "date", 10, 0.9)},
        (annotation("invoices", "vendor_id", "foreign_key", "vendor"),))
    result = source(tmp_path, {"invoices": invoices, "payments": payments}, {}, notes,
                    (link("payments", "invoices", "invoice_id"),))
    ap = cycle(result, "accounts_payable")
    assert metric(ap, "vendor_invoice_to_payment_share") == 0.5
    assert metric(ap, "vendor_invoice_to_payment_days_median") == 7.0


def test_invoices_without_a_party_are_both_receivables_and_payables_at_lower_confidence(tmp_path):
    invoices = "SELECT range + 1 AS _row_id, 'INV-' || range AS invoice_id, 'open' AS status FROM range(10)"
    payments = ("SELECT range + 1 AS _row_id, 'PAY-' || range AS payment_id, 'INV-' || range AS invoice_id"
                " FROM range(10)")
    notes = Annotations("s", (), {}, ())  # nothing annotated: stages by table name, status by column name
    result = source(tmp_path, {"invoices": invoices, "payments": payments}, {}, notes,
                    (link("payments", "invoices", "invoice_id"),))
    ar, ap = cycle(result, "accounts_receivable"), cycle(result, "accounts_payable")
    assert [s.matched_by for s in ar.stages] == ["table_name", "table_name"]
    # required stages 0.6 * 0.7 (by name), the link 0.2, the status 0.1; times 0.7 for the unknown party
    assert ar.confidence == ap.confidence == pytest.approx((0.6 * 0.7 + 0.2 + 0.1) * 0.7)
    assert "no customer or vendor column on invoices: receivables cannot be separated from payables" in ar.missing


# --- names and settings -----------------------------------------------------------------------


def test_names_and_values_are_compared_normalized_and_table_names_by_their_head():
    assert normalize(" Bill Payment ") == "bill_payment" and normalize("PAID") == "paid"
    assert tokens("BankTransactions") == ("bank", "transaction") == tokens("bank_transactions")
    assert tokens("journal_entries") == ("journal", "entry")
    assert matches("vendor_invoices", ["invoice", "vendor_invoice"], head=True) == "vendor_invoice"
    assert matches("payment_method", ["payment"], head=True) is None
    assert matches("customer_table", ["customer"], head=True) == "customer"
    assert matches("Customer ID", ["customer"]) == "customer"


def test_the_vocabulary_file_parses_and_bad_values_name_their_key():
    s = settings()
    assert list(s.cycles) == ["order_to_cash", "procure_to_pay", "accounts_receivable", "accounts_payable",
                              "journal_entry_and_period_close", "payroll", "inventory"]
    assert {"paid", "posted"} <= set(s.status_values.completed) and "void" in s.status_values.cancelled
    with pytest.raises(ConfigError, match="min_confidence"):
        parse_model(CycleSettings, {"min_confidence": 2}, "config/business_cycles.yaml")
    with pytest.raises(ConfigError, match="unknown stages"):
        parse_model(CycleSettings, {"cycles": {"x": {"name": "X", "stages": [{"name": "a", "required": True}],
                                                     "links": [{"from": "a", "to": "b"}]}}}, "x")
    with pytest.raises(ConfigError, match="sum to 1"):
        parse_model(CycleSettings, {"weights": {"links": 0.5}}, "x")
