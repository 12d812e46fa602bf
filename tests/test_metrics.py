"""The metrics phase on a five-entry ledger whose metric values are known by construction.

Entries (debit / credit):
  2025-01-02  receivable 100 / sales 100
  2025-01-20  bank 60 / receivable 60
  2025-01-31  rent 10 / bank 10
  2025-02-03  rent 30 / bank 30
  2025-02-10  receivable 200 / sales 200
  2025-02-28  bank fees 5 / bank 5
So revenue is 100 (January), 200 (February), 300 (2025); expenses 10, 35, 45; receivables end
January at 40 and February at 240; cash at 50 and 15 (a "Bank Fees" expense account is no cash).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import duckdb
import pytest

from phases.artifacts.annotations import Annotations, ColumnAnnotation, TableAnnotation
from phases.artifacts.entropy_scores import ColumnEntropy, DimensionScore, EntropyScores
from phases.artifacts.metrics import METRICS
from phases.artifacts.relationships import Relationship, Relationships
from phases.core.config import read_yaml
from phases.core.errors import ConfigError
from phases.core.manifest import canonical_json
from phases.core.records import to_json
from phases.metrics.compute import Evidence, compute
from phases.metrics.settings import MetricsSettings, read_settings

SHIPPED = read_settings(read_yaml(Path(__file__).resolve().parent.parent / "config" / "metrics.yaml"),
                        "config/metrics.yaml")
ACCOUNTS = [(1, "Assets", "asset", None), (10, "Accounts Receivable", "asset", 1), (11, "Trade debtors", "asset", 10),
            (20, "Bank", "asset", 1), (40, "Sales", "revenue", None), (50, "Bank Fees", "expense", None),
            (60, "Rent", "expense", None)]
ENTRIES = [("E1", "2025-01-02"), ("E6", "2025-01-31"), ("E2", "2025-01-20"), ("E3", "2025-02-03"), ("E4", "2025-02-10"),
           ("E5", "2025-02-28")]
LINES = [("L1", "E1", 11, 100.0, 0.0), ("L2", "E1", 40, 0.0, 100.0), ("L3", "E2", 20, 60.0, 0.0),
         ("L4", "E2", 11, 0.0, 60.0), ("L5", "E3", 60, 30.0, 0.0), ("L6", "E3", 20, 0.0, 30.0),
         ("L7", "E4", 11, 200.0, 0.0), ("L8", "E4", 40, 0.0, 200.0), ("L9", "E5", 50, 5.0, 0.0),
         ("L10", "E5", 20, 0.0, 5.0), ("L11", "E6", 60, 10.0, 0.0), ("L12", "E6", 20, 0.0, 10.0)]


def column(table: str, name: str, role: str, concept: str | None = None) -> ColumnAnnotation:
    return ColumnAnnotation(
        table=table, column=name, role=role, business_name=name, concept=concept,
        concept_confidence=0.9 if concept else 0.0, unit=None, unit_source=None, aggregation=None, time_role=None,
        name_clarity="clear", pii=None, references=None, description="test", confidence=0.9, decided_by="override")


def relationship(child: str, child_column: str, parent: str, parent_column: str, orphans: int = 0) -> Relationship:
    return Relationship(f"{child}.{child_column}->{parent}.{parent_column}", child, (child_column,), parent,
                        (parent_column,), "many_to_one", 0.95, 10, 0, 10 - orphans, orphans, min(orphans, 1), (),
                        orphans / 10, False, 0, child == parent)


ANNOTATIONS = Annotations("s", ("test",), {
    "gl lines": TableAnnotation("gl lines", "fact", "journal_line", ("line_id",), None, 10, 0.9),
    "entries": TableAnnotation("entries", "dimension", "journal_entry", ("entry_id",), "posted", 5, 0.9),
    "chart": TableAnnotation("chart", "dimension", "account", ("account_id",), None, 7, 0.9),
}, (
    column("gl lines", "line_id", "key", "journal_line"),
    column("gl lines", "entry_id", "foreign_key", "journal_entry"),
    column("gl lines", "account_id", "foreign_key", "account"), column("gl lines", "dr", "measure", "debit"),
    column("gl lines", "cr", "measure", "credit"),
    column("entries", "entry_id", "key", "journal_entry"), column("entries", "posted", "timestamp", "transaction_date"),
    column("chart", "account_id", "key", "account"), column("chart", "label", "attribute"),
    column("chart", "kind", "dimension", "account_type"), column("chart", "parent_id", "foreign_key", "account"),
))
RELATIONSHIPS = Relationships("s", {}, {}, (
    relationship("gl lines", "account_id", "chart", "account_id"),
    relationship("gl lines", "entry_id", "entries", "entry_id"),
    relationship("chart", "parent_id", "chart", "account_id"),
), (), {})


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute('CREATE TABLE chart (account_id INTEGER, label VARCHAR, kind VARCHAR, parent_id INTEGER)')
    con.execute('CREATE TABLE entries (entry_id VARCHAR, posted DATE)')
    con.execute('CREATE TABLE "gl lines" (line_id VARCHAR, entry_id VARCHAR, account_id INTEGER, dr DOUBLE, cr DOUBLE)')
    con.executemany("INSERT INTO chart VALUES (?, ?, ?, ?)", ACCOUNTS)
    con.executemany("INSERT INTO entries VALUES (?, CAST(? AS DATE))", ENTRIES)
    con.executemany('INSERT INTO "gl lines" VALUES (?, ?, ?, ?, ?)', LINES)
    yield con
    con.close()


def scores(columns: dict[tuple[str, str], tuple[float, str]] | None = None) -> EntropyScores:
    """Entropy scores with the given (table, column) -> (score, readiness)."""
    entries = tuple(ColumnEntropy(*name, score=score, readiness=readiness, layers={},
                                  top=(DimensionScore("outliers", "value", score, "ten values lie far out"),),
                                  reasons=()) for name, (score, readiness) in (columns or {}).items())
    return EntropyScores(1, "s", 0.0, "ready", (), (), entries, (), ())


def run(con, settings: MetricsSettings | None = None, entropy: EntropyScores | None = None,
        annotations: Annotations = ANNOTATIONS, relationships: Relationships = RELATIONSHIPS):
    evidence = Evidence(entropy or scores(), None, settings or SHIPPED)
    return compute(con, annotations, relationships, evidence, {"chart": "chart.parquet"})


def value(metrics, name: str, period: str):
    found = metrics.metric(name).value(period)
    assert found is not None, f"{name} has no value for {period}"
    return found


@pytest.mark.parametrize(("metric", "period", "expected"), [
    ("revenue", "2025-01", 100), ("revenue", "2025-02", 200), ("revenue", "2025", 300),
    ("expenses", "2025-01", 10), ("expenses", "2025-02", 35), ("gross_profit", "2025", 255),
    ("ending_ar_balance", "2025-01", 40), ("ending_ar_balance", "2025-02", 240), ("ending_ar_balance", "2025", 240),
    ("ending_cash_balance", "2025-01", 50), ("ending_cash_balance", "2025-02", 15),
    ("dso", "2025-01", 12.4), ("dso", "2025-02", 33.6), ("dso", "2025", 292.0),
])
def test_a_formula_over_steps_gives_the_value_known_by_construction(con, metric, period, expected):
    assert value(run(con), metric, period).value == pytest.approx(expected)


def test_a_value_without_findings_is_an_answer(con):
    found = value(run(con), "dso", "2025-02")
    assert (found.verdict, found.caveats, found.interpretation) == ("answer", (), "typical")


def test_a_divisor_without_rows_refuses_the_value(con):
    found = value(run(con), "cash_conversion_cycle", "2025-01")
    assert found.verdict == "refuse" and found.value is None
    assert "cannot compute: cost_of_sales is 0 in the period" in found.caveats


@pytest.mark.parametrize(("drop", "missing"), [("debit", "debit"), ("account", "account")])
def test_an_unmapped_concept_refuses_the_metric_naming_it(con, drop, missing):
    columns = tuple(dataclasses.replace(c, concept=None) if c.concept == drop else c for c in ANNOTATIONS.columns)
    metric = run(con, annotations=dataclasses.replace(ANNOTATIONS, columns=columns)).metric("revenue")
    assert metric.refusal is not None and metric.refusal.startswith(f"cannot compute: concept {missing} missing")
    assert metric.values == ()


def test_a_metric_over_an_entity_the_source_lacks_is_refused(con):
    metric = run(con).metric("free_cash_flow")
    assert metric.refusal == "cannot compute: concept bank_transaction missing (no table of that entity)"


def test_an_input_column_above_the_refusal_threshold_refuses(con):
    found = value(run(con, entropy=scores({("gl lines", "cr"): (0.95, "blocked")})), "revenue", "2025")
    assert found.verdict == "refuse" and found.value == 300 and found.entropy == 0.95
    assert found.caveats[0].startswith("gl lines.cr is blocked (entropy 0.95; outliers: ten values lie far out")


def test_an_input_column_between_the_thresholds_adds_a_caveat(con):
    found = value(run(con, entropy=scores({("gl lines", "cr"): (0.5, "investigate")})), "revenue", "2025-02")
    assert found.verdict == "answer_with_caveats"
    assert found.caveats == ("gl lines.cr scores 0.50 (outliers: ten values lie far out)",)


def test_a_blocked_measure_refuses_even_below_the_refusal_score(con):
    found = value(run(con, entropy=scores({("gl lines", "dr"): (0.75, "blocked")})), "revenue", "2025")
    assert found.verdict == "refuse"


def test_a_blocked_column_that_is_no_measure_is_named_in_a_caveat(con):
    found = value(run(con, entropy=scores({("chart", "kind"): (0.75, "blocked")})), "revenue", "2025")
    assert found.verdict == "answer_with_caveats"
    assert found.caveats[0].startswith("uses chart.kind, which the context marks blocked (entropy 0.75")


def test_orphans_on_a_join_used_are_a_caveat_or_a_refusal(con):
    few = dataclasses.replace(RELATIONSHIPS, relationships=(relationship("gl lines", "account_id", "chart",
                                                                         "account_id", orphans=1),
                                                            *RELATIONSHIPS.relationships[1:]))
    found = value(run(con, relationships=few), "revenue", "2025")
    assert found.verdict == "answer_with_caveats"  # 10% lost: below join_drop_refuse
    assert "the join gl lines.account_id->chart.account_id loses 10.0% of its rows (1 orphans, 0 NULL keys)" \
        in found.caveats


def test_a_line_that_lost_its_amount_counts_as_missing(con):
    con.execute("""UPDATE "gl lines" SET cr = NULL WHERE line_id = 'L8'""")
    found = value(run(con), "revenue", "2025-02")
    assert found.verdict == "refuse" and found.value == 0
    assert "revenue: 1 of 1 rows (100.0%) have no parseable value; they count as 0" in found.caveats


def test_every_statement_is_kept_quoted_and_reruns_to_the_same_rows(con):
    metrics = run(con)
    ids = {s.id for s in metrics.statements}
    assert all(set(m.statements) <= ids for m in metrics.metrics)
    revenue = next(s for s in metrics.statements if s.id == "revenue.revenue")
    assert 'FROM "gl lines" AS t' in revenue.sql and '"chart"' in revenue.sql
    rows = con.execute(revenue.sql).fetchall()
    assert [(r[0], float(r[1]), r[2]) for r in rows] == [("2025-01", 100.0, 1), ("2025-02", 200.0, 1)]
    assert len({s.sql for s in metrics.statements}) == len(metrics.statements)  # a shared step runs once


def test_the_artifact_is_byte_identical_on_a_rerun_and_reads_back(con, tmp_path):
    first, second = canonical_json(to_json(run(con))), canonical_json(to_json(run(con)))
    assert first == second
    path = METRICS.dump(tmp_path, run(con))
    assert METRICS.load(path, "metrics") == run(con)


@pytest.mark.parametrize(("change", "message"), [
    ({"colour": 1}, r"colour: Extra inputs are not permitted"),
    ({"metrics": {"x": {"label": "X", "description": "x", "unit": "ratio", "steps": {
        "a": {"extract": "column", "concept": ["amount"]}}, "formula": "__import__('os')"}}},
     r"may use step names, numbers"),
    ({"metrics": {"x": {"label": "X", "description": "x", "unit": "ratio", "steps": {
        "a": {"extract": "ledger", "accounts": "nowhere", "side": "debit", "aggregate": "sum"}}, "formula": "a"}}},
     r"unknown account class 'nowhere'"),
    ({"metric_verdicts": {"caveat_score": 0.5, "refuse_score": 0.4}}, r"refuse_score must not lie below"),
])
def test_bad_settings_are_rejected_naming_the_key(change, message):
    with pytest.raises(ConfigError, match=message):
        read_settings(change, "config/metrics.yaml")


def test_a_ledger_naming_its_accounts_on_each_line_is_classified_by_those_names(con):
    con.execute("""CREATE TABLE export AS SELECT l.line_id, e.posted, c.label AS account, l.dr, l.cr
                   FROM "gl lines" l JOIN entries e USING (entry_id) JOIN chart c USING (account_id)""")
    inline = Annotations("s", ("test",), {
        "export": TableAnnotation("export", "fact", "journal_line", ("line_id",), "posted", 12, 0.9)}, (
        column("export", "line_id", "key", "journal_line"), column("export", "posted", "timestamp", "transaction_date"),
        column("export", "account", "dimension", "account"), column("export", "dr", "measure", "debit"),
        column("export", "cr", "measure", "credit")))
    metrics = run(con, annotations=inline, relationships=Relationships("s", {}, {}, (), (), {}))
    # "Accounts Receivable" by its name; its child "Trade debtors" has no hierarchy to place it here
    assert value(metrics, "ending_ar_balance", "2025-02").value == 0
    cash = value(metrics, "ending_cash_balance", "2025-02")  # "Bank", and "Bank Fees" too: no type tells them apart
    assert (cash.value, cash.verdict) == (20, "answer_with_caveats")
    assert cash.caveats == ("cash accounts chosen by their names alone (cash, bank), with no account type to rule "
                            "out others so named",)
    assert metrics.metric("revenue").refusal == ("cannot compute: concept account_type missing "
                                                 "(account class 'revenue' cannot be told apart)")


def test_completeness_of_a_table_of_more_than_a_thousand_columns(con):
    """1,100 empty columns beside the 5 filled ones of the ledger's lines: a chain of 1,105 additions
    was beyond DuckDB's expression depth; the share of filled cells is 5 / 1,105."""
    extra = [f"x{i}" for i in range(1100)]
    con.execute('ALTER TABLE "gl lines" RENAME TO narrow')
    con.execute('CREATE TABLE "gl lines" AS SELECT *, ' + ", ".join(f"NULL::INTEGER AS {x}" for x in extra)
                + " FROM narrow")
    wide = dataclasses.replace(ANNOTATIONS, columns=ANNOTATIONS.columns + tuple(
        column("gl lines", x, "attribute") for x in extra))
    found = value(run(con, annotations=wide), "data_completeness", "2025")
    assert found.value == pytest.approx(100 * 5 / 1105, abs=0.01)
