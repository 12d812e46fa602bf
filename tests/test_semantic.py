"""The semantic phase on a tiny source whose meanings are known by construction, run through the
real upstream phases (import, typing, statistics, relationships, correlations): a role for each
kind of column, concepts behind abbreviations, unclear and misleading names, units and balance
pairs, fact/dimension/bridge/reference tables, single and composite grains, personal data that never
reaches the output, human overrides, the shipped configuration and byte-identical reruns.
The LLM step has its own file, tests/test_llm.py."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from phases.artifacts.annotations import ANNOTATIONS, Annotations, ColumnAnnotation
from phases.core.config import read_yaml
from phases.core.context import SourceContext
from phases.core.errors import ConfigError
from phases.engine.runner import run_task
from phases.meaning.ontology import build_ontology, tokenize
from phases.meaning.ontology_matching import code_prefix, initials_readings, luhn_valid, prefix_concepts
from phases.meaning.semantic import annotate_semantics, read_settings
from tests.conftest import phase_context

REPO = Path(__file__).resolve().parent.parent
SHARED_CONCEPTS = [  # the concept ids other phases resolve columns by (briefs/common.md)
    "amount", "revenue", "expense", "debit", "credit", "net_amount", "balance", "debit_balance", "credit_balance",
    "quantity", "unit_price", "tax", "discount", "total", "exchange_rate", "percentage", "account", "account_type",
    "customer", "vendor", "invoice", "payment", "journal_entry", "journal_line", "bank_transaction", "transaction",
    "product", "employee", "cost_center", "currency", "fiscal_period", "payment_terms", "payment_method", "status",
    "document_type", "description", "transaction_date", "due_date", "posting_date", "period_date", "created_date",
    "email", "phone", "person_name", "address", "card_number",
]
SHARED_ENTITIES = ["invoice", "payment", "journal_entry", "journal_line", "account", "customer", "vendor",
                   "bank_transaction", "transaction", "product", "exchange_rate", "trial_balance", "employee"]


# --- a source built to have known meanings ---------------------------------------------------


def luhn_complete(body: str) -> str:
    """`body` plus the check digit that makes it pass the Luhn test."""
    for digit in "0123456789":
        if luhn_valid(body + digit):
            return body + digit
    raise AssertionError("no check digit")


def csv_text(header: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        text = "" if v is None else str(v)
        return f'"{text}"' if "," in text else text
    return "\n".join([",".join(header)] + [",".join(cell(v) for v in row) for row in rows]) + "\n"


def finance_tables() -> dict[str, str]:
    rnd = random.Random(7)
    companies = ["Northwind Traders", "Contoso Ltd", "Fabrikam Inc", "Tailspin Toys", "Litware Corp", "Adatum Group",
                 "Proseware Inc", "Wingtip Partners", "Coho Vineyard", "Woodgrove Bank"]
    people = ["Alice Smith", "Bob Jones", "Carol White", "David Brown", "Erin Green", "Frank Black", "Grace Hall",
              "Henry King", "Irene Lopez", "Jack Moore"]
    customers = [[f"C{i:03d}", companies[i - 1], people[i - 1],
                  f"{people[i - 1].split()[0].lower()}@customer{i}.example",
                  luhn_complete(f"4{rnd.randrange(10**14):014d}"), f"{10 + i} Main Street",
                  ["retail", "wholesale"][i % 2]] for i in range(1, 11)]
    vendors = [[f"V-{i:04d}", f"Supplier {chr(64 + i)} Co", f"(555) 201-{1000 + i}", ["Boston", "Denver"][i % 2]]
               for i in range(1, 9)]
    statuses = ["paid", "paid", "paid", "paid", "open", "open", "cancelled", "paid"]
    terms = ["net_30", "net_60", "due_on_receipt"]
    notes = ["Delivered to site", "Partial shipment sent", "Customer asked for a copy", "Rush order handled",
             "Price agreed by phone", "Second delivery pending"]
    invoices = []
    for i in range(40):
        issued = dt.date(2025, 1 + i % 12, 1 + (i * 5) % 27)
        invoices.append([
            f"INV-{i + 1:04d}", f"C{1 + i % 10:03d}", f"V-{1 + i % 8:04d}", issued.isoformat(),
            (issued + dt.timedelta(days=30)).isoformat(), f"{100 + (i * 37.13) % 900:.2f}", 1 + (i * 7) % 23,
            statuses[i % 8], terms[i % 3], "USD", f"Q{i:04d}X{(i * 7) % 10}", 2024 + i % 2, i + 1,
            f"{notes[i % 6]} {i}",
        ])
    tags = [[f"T{i}", label] for i, label in enumerate(["urgent", "disputed", "recurring", "export", "manual"], 1)]
    invoice_tags = [[f"INV-{1 + i % 15:04d}", f"T{1 + (i + i // 15) % 5}"] for i in range(30)]
    periods = ["2025-01", "2025-02", "2025-03", "2025-04"]
    # one side per row: balances; both sides filled: period activity
    balances = [[1000 + a, p, f"{(a + 1) * 1000 + k * 10:.2f}" if a % 2 == 0 else "0.00",
                 "0.00" if a % 2 == 0 else f"{(a + 1) * 900 + k * 10:.2f}"]
                for a in range(5) for k, p in enumerate(periods)]
    activity = [[2000 + a, p, f"{(a + 1) * 1000 + k * 10:.2f}", f"{(a + 1) * 800 + k * 15:.2f}"]
                for a in range(5) for k, p in enumerate(periods)]
    fx = [[ccy, "USD", dt.date(2025, m, 1).isoformat(), f"{base + m * 0.0137:.4f}"]
          for ccy, base in (("EUR", 1.08), ("GBP", 1.26), ("CHF", 1.11)) for m in range(1, 5)]
    return {
        "customers": csv_text(["customer_id", "customer_name", "contact_name", "email", "card_number",
                               "street_address", "segment"], customers),
        "vendors": csv_text(["vendor_code", "vendor_name", "phone", "city"], vendors),
        "invoices": csv_text(["invoice_no", "custId", "vid", "invoice_date", "Due Dt", "inv_amt", "qty", "status", "pt",
                              "currency", "amount", "year", "seq", "notes"], invoices),
        "tags": csv_text(["tag_id", "tag_label"], tags),
        "invoice_tags": csv_text(["invoice_no", "tag_id"], invoice_tags),
        "trial_balance": csv_text(["account", "period", "debit_balance", "credit_balance"], balances),
        "account_activity": csv_text(["account", "period", "debit_balance", "credit_balance"], activity),
        "fx_rates": csv_text(["from_ccy", "to_ccy", "date", "rate"], fx),
    }


UPSTREAM_TABLE = ("import", "typing", "statistics")
UPSTREAM_SOURCE = ("relationships", "correlations")


def build_project(root: Path, tables: dict[str, str]) -> SourceContext:
    """A project at `root` holding `tables` as CSV files of source 's', with every upstream phase of
    semantic run through the runner; returns the semantic task's context."""
    data = root / "data"
    data.mkdir(parents=True)
    for name, text in tables.items():
        (data / f"{name}.csv").write_text(text, encoding="utf-8")
    shutil.copytree(REPO / "config", root / "config")
    (root / "config" / "sources.yaml").write_text("sources:\n  s:\n    path: data\n")
    (root / "config" / "runtime.yaml").write_text("duckdb:\n  threads: 1\n")
    for name in sorted(tables):
        for phase in UPSTREAM_TABLE:
            run_task(root, phase, "s", name)
    for phase in UPSTREAM_SOURCE:
        run_task(root, phase, "s", None)
    return phase_context(root, "semantic", sorted(tables))


def with_settings(ctx: SourceContext, **changes: Any) -> SourceContext:
    return dataclasses.replace(ctx, settings={**ctx.settings, **changes})


def run(ctx: SourceContext) -> Annotations:
    annotate_semantics(ctx)
    return ANNOTATIONS.load(ctx.out_dir / "annotations.json")


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> SourceContext:
    return build_project(tmp_path_factory.mktemp("semantic"), finance_tables())


@pytest.fixture(scope="module")
def result(project) -> Annotations:
    return run(project)


def col(result: Annotations, table: str, column: str) -> ColumnAnnotation:
    found = result.column(table, column)
    assert found is not None, f"{table}.{column} not annotated"
    return found


# --- roles ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("table", "column", "role"), [
    ("invoices", "invoice_no", "key"),  # the primary key
    ("invoices", "custId", "foreign_key"),  # child end of a relationship
    ("invoices", "inv_amt", "measure"),  # decimals
    ("invoices", "qty", "measure"),  # integers named as a quantity
    ("invoices", "Due Dt", "timestamp"),  # typed date
    ("invoices", "status", "dimension"),  # three values in forty rows
    ("invoices", "year", "dimension"),  # integers that are years, not a quantity
    ("invoices", "seq", "identifier"),  # unique integers: a sequence, not a quantity
    ("invoices", "amount", "identifier"),  # unique text codes, whatever the name says
    ("invoices", "notes", "attribute"),  # free text
    ("customers", "email", "identifier"),  # near-unique e-mail addresses
    ("customers", "customer_name", "attribute"),  # names
    ("vendors", "city", "dimension"),  # two values in a small table
], ids=lambda v: v if isinstance(v, str) else None)
def test_each_column_gets_the_role_it_was_built_for(result, table, column, role):
    assert col(result, table, column).role == role


def test_a_foreign_key_names_its_parent(result):
    assert col(result, "invoices", "custId").references == "customers.customer_id"
    assert col(result, "invoices", "vid").references == "vendors.vendor_code"
    assert col(result, "invoices", "inv_amt").references is None


# --- concepts and names -----------------------------------------------------------------------


@pytest.mark.parametrize(("column", "concept", "clarity", "business_name"), [
    ("inv_amt", "amount", "abbreviated", "Invoice Amount"),
    ("custId", "customer", "abbreviated", "Customer ID"),
    ("Due Dt", "due_date", "abbreviated", "Due Date"),
    ("qty", "quantity", "abbreviated", "Quantity"),
    ("invoice_date", "transaction_date", "clear", "Invoice Date"),
    ("status", "status", "clear", "Invoice Status"),
    ("currency", "currency", "clear", "Currency"),
])
def test_concepts_are_found_behind_abbreviations(result, column, concept, clarity, business_name):
    c = col(result, "invoices", column)
    assert (c.concept, c.name_clarity, c.business_name) == (concept, clarity, business_name)
    assert c.concept_confidence >= 0.8


def test_an_unclear_name_gets_its_concept_from_a_relationship_and_its_values(result):
    vid = col(result, "invoices", "vid")
    assert (vid.concept, vid.name_clarity, vid.business_name) == ("vendor", "unclear", "Vendor ID")
    kinds = {e.kind for e in vid.evidence}
    assert {"relationship", "values"} <= kinds
    assert any("'vid'" in e.detail and "unclear" in e.detail for e in vid.evidence)
    assert "unclear" in vid.description
    assert vid.confidence < col(result, "invoices", "custId").confidence


def test_an_unclear_name_gets_its_concept_from_its_values_alone(result):
    pt = col(result, "invoices", "pt")
    assert (pt.concept, pt.name_clarity, pt.business_name, pt.role) == ("payment_terms", "unclear", "Payment Terms",
                                                                         "dimension")
    assert pt.concept_confidence < 0.9
    assert any(e.kind == "values" for e in pt.evidence)


def test_a_misleading_name_does_not_beat_the_values(result):
    amount = col(result, "invoices", "amount")
    assert amount.role == "identifier" and amount.concept != "amount" and amount.aggregation is None
    assert any(e.kind == "type" and "cannot be one" in e.detail for e in amount.evidence)


def test_a_key_column_takes_its_tables_entity(result):
    assert col(result, "invoices", "invoice_no").concept == "invoice"
    assert col(result, "vendors", "vendor_code").concept == "vendor"


@pytest.mark.parametrize(("name", "tokens"), [
    ("inv_amt", ["inv", "amt"]), ("custId", ["cust", "id"]), ("Due Dt", ["due", "dt"]),
    ("Product/Service", ["product", "service"]), ("HTTPStatusCode", ["http", "status", "code"]),
    ("addr2", ["addr", "2"]), ("1099 Vendor", ["1099", "vendor"]), ('we"ird; name', ["we", "ird", "name"]),
])
def test_names_are_tokenised_on_every_separator(name, tokens):
    assert tokenize(name) == tokens


def test_unclear_words_are_read_as_initials_and_code_prefixes():
    ontology = shipped()[1]
    assert set(initials_readings(ontology.read("vid", 4), ontology)) == {"vendor"}
    assert set(initials_readings(ontology.read("pt", 4), ontology)) == {"payment_terms"}
    assert ontology.read("vendorid", 4).clarity == "clear"  # glued, but both halves are words
    assert ontology.read("xq", 4).clarity == "unclear" and ontology.read("counterparty", 4).clarity == "clear"
    values = [("V-0001", 0.5), ("V-0002", 0.5)]
    assert code_prefix(values, [("A-9999", 1.0)], 0.9) == "V"
    assert code_prefix([("V-0001", 0.5), ("X-0002", 0.5)], [("A-9999", 1.0)], 0.9) is None
    assert prefix_concepts("V", ontology) == {"vendor": True}
    assert prefix_concepts("INV", ontology) == {"invoice": False}
    assert prefix_concepts("JE", ontology) == {"journal_entry": False}


# --- units, aggregation, time -----------------------------------------------------------------


def test_money_takes_the_currency_of_its_rows(result):
    amt = col(result, "invoices", "inv_amt")
    assert (amt.unit, amt.unit_source, amt.aggregation) == ("USD", "values", "additive")
    qty = col(result, "invoices", "qty")
    assert (qty.unit, qty.aggregation) == (None, "additive")
    assert col(result, "fx_rates", "rate").aggregation == "non_additive"


def test_money_is_flagged_from_the_concepts_unit_not_from_a_list_of_names(result):
    assert col(result, "invoices", "inv_amt").money
    assert not col(result, "invoices", "qty").money
    assert not col(result, "fx_rates", "rate").money  # a rate is a ratio of two currencies, not money


def test_balance_pairs_are_balances_when_one_sided_and_activity_when_both_sides_are_filled(result):
    assert col(result, "trial_balance", "debit_balance").aggregation == "point_in_time"
    assert col(result, "trial_balance", "credit_balance").aggregation == "point_in_time"
    activity = col(result, "account_activity", "debit_balance")
    assert activity.aggregation == "additive"
    assert any("period activity" in e.detail for e in activity.evidence)


def test_dates_get_time_roles_and_the_event_date_is_the_tables_main_date(result):
    assert col(result, "invoices", "invoice_date").time_role == "event"
    assert col(result, "invoices", "Due Dt").time_role == "due"
    assert col(result, "trial_balance", "period").time_role == "period"
    assert result.tables["invoices"].time_column == "invoice_date"


# --- tables -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("table", "kind", "entity"), [
    ("invoices", "fact", "invoice"),
    ("customers", "dimension", "customer"),
    ("vendors", "dimension", "vendor"),
    ("tags", "dimension", None),
    ("invoice_tags", "bridge", None),
    ("fx_rates", "reference", "exchange_rate"),
    ("trial_balance", "fact", "trial_balance"),
])
def test_tables_are_facts_dimensions_bridges_or_reference_data(result, table, kind, entity):
    assert (result.tables[table].kind, result.tables[table].entity) == (kind, entity)


@pytest.mark.parametrize(("table", "grain"), [
    ("invoices", ("invoice_no",)),
    ("trial_balance", ("account", "period")),
    ("invoice_tags", ("invoice_no", "tag_id")),
])
def test_the_grain_is_the_primary_key_composite_when_needed(result, table, grain):
    assert result.tables[table].grain == grain


# --- personal data ----------------------------------------------------------------------------


def test_personal_data_is_flagged_by_name_and_by_value(result):
    flags = {(c.table, c.column): c.pii for c in result.columns if c.pii}
    assert flags == {
        ("customers", "contact_name"): "person_name", ("customers", "email"): "email",
        ("customers", "card_number"): "card_number", ("customers", "street_address"): "address",
        ("vendors", "phone"): "phone",
    }


def test_no_value_of_a_personal_data_column_reaches_the_output(project, result):
    profiles = json.loads((project.paths("column_profiles")["customers"]).read_text())
    profiles["vendors"] = json.loads((project.paths("column_profiles")["vendors"]).read_text())
    written = (project.out_dir / "annotations.json").read_text()
    for c in result.columns:
        if not c.pii:
            continue
        source = profiles if c.table == "customers" else profiles["vendors"]
        profile = next(p for p in source["columns"] if p["name"] == c.column)
        values = [str(v["value"]) for v in profile["top_values"]]
        assert values
        for value in values:
            assert value not in written, f"{c.table}.{c.column} leaks {value!r}"
        assert "withheld" in c.description


def test_a_value_rule_finds_personal_data_under_an_innocent_name(tmp_path):
    emails = [[i, f"user{i}@mail{i % 3}.example"] for i in range(1, 21)]
    cards = [[i, luhn_complete(f"5{i:014d}")] for i in range(1, 21)]
    ctx = build_project(tmp_path, {"a": csv_text(["id", "contact"], emails), "b": csv_text(["id", "ref"], cards)})
    found = run(ctx)
    assert col(found, "a", "contact").pii == "email"
    assert col(found, "b", "ref").pii == "card_number"


# --- overrides, settings and reruns -----------------------------------------------------------


def test_a_human_override_wins_and_is_recorded(project):
    overrides = {"s": {"invoices": {
        "notes": {"role": "dimension", "concept": "status", "description": "Hand-written note."},
        "segment_code": {"concept": "vendor"},
    }, "customers": {"segment": {"concept": "person_name"}}}}
    ctx = with_settings(project, overrides=overrides)
    output = annotate_semantics(ctx)
    found = ANNOTATIONS.load(ctx.out_dir / "annotations.json")
    notes = col(found, "invoices", "notes")
    assert (notes.role, notes.concept, notes.description, notes.decided_by) == (
        "dimension", "status", "Hand-written note.", "override")
    assert notes.confidence == 1.0
    assert any(e.kind == "override" for e in notes.evidence)
    assert col(found, "invoices", "inv_amt").decided_by == "inferred"
    segment = col(found, "customers", "segment")  # a concept of personal data makes the column personal data
    assert (segment.concept, segment.pii, segment.role) == ("person_name", "person_name", "dimension")
    assert "withheld" in segment.description and "retail" not in json.dumps(dataclasses.asdict(segment))
    assert output.summary["overridden"] == ["customers.segment", "invoices.notes"]
    assert output.summary["unused_overrides"] == ["invoices.segment_code"]


def test_an_override_with_an_unknown_concept_is_a_config_error(project):
    ctx = with_settings(project, overrides={"s": {"invoices": {"notes": {"concept": "no_such_concept"}}}})
    with pytest.raises(ConfigError, match="overrides.s.invoices.notes.concept"):
        annotate_semantics(ctx)


def shipped():
    settings: dict[str, Any] = {}
    for name in ("semantic.yaml", "llm.yaml", "ontologies/general.yaml", "ontologies/financial.yaml"):
        settings.update(read_yaml(REPO / "config" / name))
    return read_settings(settings, "config")


def test_the_shipped_config_is_valid_equals_the_defaults_and_holds_the_shared_ids():
    parsed, ontology = shipped()
    assert parsed.ontologies == ("general", "financial")
    from phases.meaning.semantic import SemanticSettings
    assert parsed.model_dump(exclude={"ontologies"}) == SemanticSettings().model_dump(exclude={"ontologies"})
    assert set(SHARED_CONCEPTS) <= set(ontology.concepts)
    assert set(SHARED_ENTITIES) <= set(ontology.entities)
    assert not parsed.llm.enabled


def test_settings_errors_name_the_key():
    settings: dict[str, Any] = {}
    for name in ("semantic.yaml", "llm.yaml", "ontologies/general.yaml", "ontologies/financial.yaml"):
        settings.update(read_yaml(REPO / "config" / name))
    with pytest.raises(ConfigError, match="roles.dimension_max_ratio"):
        read_settings({**settings, "roles": {"dimension_max_ratio": 2}}, "config")
    with pytest.raises(ConfigError, match="ontology 'other'"):
        read_settings({**settings, "ontologies": ["general", "other"]}, "config")
    clash = yaml.safe_load("financial: {concepts: {email: {label: Mail}}}")
    with pytest.raises(ConfigError, match="'email' is defined by both"):
        read_settings({**settings, **clash}, "config")
    with pytest.raises(ConfigError, match="not a regular expression"):
        build_ontology({"x": {"concepts": {"c": {"label": "C", "value_patterns": ["("]}}}}, ["x"], "config")


def test_the_phase_writes_identical_annotations_on_every_run(project):
    first = annotate_semantics(project)
    text = (project.out_dir / "annotations.json").read_bytes()
    again = annotate_semantics(project)
    assert (project.out_dir / "annotations.json").read_bytes() == text
    assert first.summary == again.summary
    assert first.summary["tables"]["invoice_tags"] == "bridge"


def test_hostile_names_empty_columns_and_empty_tables_are_annotated(tmp_path):
    rows = [[i, f"v{i % 3}", "", f"{i * 1.5:.2f}"] for i in range(12)]
    ctx = build_project(tmp_path, {"weird": csv_text(['a"b', "x; drop", "empty", "Ümlaut Betrag"], rows),
                                   "nothing": "id,amount\n"})
    found = run(ctx)
    assert col(found, "weird", 'a"b').role == "key" and col(found, "weird", 'a"b').name_clarity == "unclear"
    assert col(found, "weird", "x; drop").role == "dimension"
    assert col(found, "weird", "empty").role == "attribute" and "Empty" in col(found, "weird", "empty").description
    assert col(found, "weird", "Ümlaut Betrag").role == "measure"
    assert found.tables["nothing"].grain == () and col(found, "nothing", "amount").aggregation is None


def test_a_prefix_every_column_of_a_table_shares_is_a_convention_not_an_unclear_word():
    from phases.meaning.semantic_evidence import table_prefix, without_prefix

    lineitem = ["l_orderkey", "l_partkey", "l_quantity", "l_discount", "l_comment"]
    assert table_prefix(lineitem) == "l" and without_prefix("l_discount", "l") == "discount"
    assert table_prefix(["ps_partkey", "ps_suppkey", "ps_availqty", "ps_comment"]) == "ps"
    assert table_prefix(["invoice_id", "vid", "date", "due_date", "amount"]) is None  # no shared first word
    assert table_prefix(["Transaction ID", "Transaction Date", "Transaction Type", "Amount"]) is None  # a real word
    assert without_prefix("l", "l") == "l"  # nothing left: keep the name
