"""What numeric columns are and how they add up, on small tables whose answers are known by
construction, run through the real upstream phases: calendar parts and clock times are
dimensions, rates, readings and prices are not additive, amounts and quantities are; formulas
found by the correlations phase make a factor a unit price and a product an amount; stocks are
point-in-time; a composite foreign key is one reference; table kinds follow the FK graph; a
measure unique by chance is never the grain."""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import shutil
from pathlib import Path

import pytest
import yaml

from phases.artifacts.annotations import Annotations, ColumnAnnotation, TableAnnotation
from phases.artifacts.column_profiles import ColumnProfile, NumericStats, ValueCount
from phases.artifacts.relationships import Rejected
from phases.core.context import SourceContext
from phases.engine.runner import run_task
from phases.meaning.ontology import Ontology, bare_acronym
from phases.meaning.semantic_evidence import ColumnFacts
from phases.meaning.semantic_numbers import NumberSettings, clock_time
from phases.meaning.semantic_roles import RoleSettings, decide_role
from tests.conftest import phase_context
from tests.test_semantic import REPO, UPSTREAM_SOURCE, UPSTREAM_TABLE, csv_text, run, shipped


def numbers_tables() -> dict[str, str]:
    rnd = random.Random(11)
    events = random.Random(12)  # its own stream, so the other columns keep their values
    sales = []
    for i in range(240):
        day = dt.date(2024, 1, 1) + dt.timedelta(days=i)
        units = rnd.randint(1, 20)
        unit_cost = rnd.randint(100, 5000) / 100
        sales.append([
            i + 1, day.isoformat(), units, f"{unit_cost:.2f}", f"{units * unit_cost:.2f}",
            f"{rnd.choice([0.0, 0.05, 0.07, 0.08]):.2f}", rnd.randint(5, 22) * 100 + rnd.randint(0, 59),
            rnd.randint(100, 999), int(rnd.paretovariate(1.5) * 10), day.month, day.day, rnd.randint(0, 23),
            rnd.randint(1, 20), rnd.randint(1, 400), f"{rnd.gauss(20, 3):.1f}", 1 + i % 5,
            0 if events.random() < 0.3 else int(events.paretovariate(1.2) * 5),
        ])
    products = [[f"P{i:02d}", f"{rnd.randint(100, 9000) / 100:.2f}", f"{rnd.randint(50, 4000) / 100:.2f}"]
                for i in range(1, 31)]
    countries = ["Avalon", "Brobdingnag", "Cocaigne", "Dinotopia", "Erewhon", "Freedonia", "Genovia", "Hyrule"]
    panel = [[c, year, int(rnd.paretovariate(0.8) * 100_000) * 10 + k, f"{rnd.uniform(40, 80):.1f}"]
             for k, (c, year) in enumerate((c, y) for c in countries for y in range(1990, 2015, 5))]
    episodes = [[s, e, f"{rnd.uniform(5, 12):.2f}"] for s in range(1, 5) for e in range(1, 9)]
    results = [[s, e, f"Baker {b}", rnd.randint(1, 10)] for s in range(1, 5) for e in range(1, 9)
               for b in range(1, 4 + (s + e) % 3)]
    date_keys = [[k, (dt.date(2024, 1, 1) + dt.timedelta(days=k)).isoformat()] for k in range(1, 61)]
    tickets = [[i, rnd.randint(1, 60), f"{rnd.randint(100, 90000) / 100:.2f}"] for i in range(1, 201)]
    orders = [[f"O{i:03d}", (dt.date(2024, 1, 1) + dt.timedelta(days=i)).isoformat(),
               f"{rnd.randint(1000, 90000) / 100:.2f}"] for i in range(1, 61)]
    lines = [[i, f"O{1 + (i * 7) % 60:03d}", rnd.randint(1, 9)] for i in range(1, 151)]
    return {
        "orders": csv_text(["order_id", "ordered_on", "order_total"], orders),
        "order_lines": csv_text(["line_id", "order_id", "quantity"], lines),
        "date_keys": csv_text(["date_key", "calendar_date"], date_keys),
        "tickets": csv_text(["ticket_id", "date_key", "amount"], tickets),
        "sales": csv_text(["sale_id", "sale_date", "units", "wholesale_cost", "line_cost", "tax", "dep_time",
                           "gauge", "ozone", "month", "day", "hour", "days", "months", "temperature",
                           "store", "cases"], sales),
        "stores": csv_text(["store", "store_name"], [[i, f"Store {chr(64 + i)}"] for i in range(1, 6)]),
        "products": csv_text(["product_id", "price", "cost"], products),
        "panel": csv_text(["country", "year", "population", "life_expectancy"], panel),
        "episodes": csv_text(["series", "episode", "viewers"], episodes),
        "results": csv_text(["series", "episode", "baker", "score"], results),
    }


def build(root: Path, tables: dict[str, str], derived_input: bool = True) -> SourceContext:
    data = root / "data"
    data.mkdir(parents=True)
    for name, text in tables.items():
        (data / f"{name}.csv").write_text(text, encoding="utf-8")
    shutil.copytree(REPO / "config", root / "config")
    (root / "config" / "sources.yaml").write_text("sources:\n  s:\n    path: data\n")
    (root / "config" / "runtime.yaml").write_text("duckdb:\n  threads: 1\n")
    pipeline_file = root / "config" / "pipeline.yaml"
    pipeline = yaml.safe_load(pipeline_file.read_text())
    inputs = pipeline["phases"]["semantic"]["inputs"]
    if derived_input and "derived_columns" not in inputs:
        inputs.append("derived_columns")
    if not derived_input and "derived_columns" in inputs:
        inputs.remove("derived_columns")
    pipeline_file.write_text(yaml.safe_dump(pipeline, sort_keys=False))
    for name in sorted(tables):
        for phase in UPSTREAM_TABLE:
            run_task(root, phase, "s", name)
    for phase in UPSTREAM_SOURCE:
        run_task(root, phase, "s", None)
    return phase_context(root, "semantic", sorted(tables))


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> Annotations:
    return run(build(tmp_path_factory.mktemp("numbers"), numbers_tables()))


def col(result: Annotations, table: str, column: str) -> ColumnAnnotation:
    found = result.column(table, column)
    assert found is not None, f"{table}.{column} not annotated"
    return found


def table(result: Annotations, name: str) -> TableAnnotation:
    return result.tables[name]


def why(c: ColumnAnnotation) -> str:
    return " | ".join(e.detail for e in c.evidence)


# --- calendar parts and clock times ------------------------------------------------------------


@pytest.mark.parametrize(("column", "concept"), [("month", "month"), ("day", "day"), ("hour", "hour")])
def test_a_calendar_part_is_a_dimension_never_a_measure(result, column, concept):
    c = col(result, "sales", column)
    assert (c.role, c.concept, c.aggregation) == ("dimension", concept, None)
    assert "calendar part" in why(c)


def test_a_plural_counts_units_and_a_part_outside_its_domain_is_no_calendar_part(result):
    days, months = col(result, "sales", "days"), col(result, "sales", "months")
    assert days.concept != "day" and "plural" in why(days)
    assert months.concept != "month" and "leave its domain" in why(months)


def test_clock_times_written_hhmm_are_a_time_of_day(result):
    c = col(result, "sales", "dep_time")
    assert c.role == "dimension" and c.aggregation is None
    assert "HHMM" in why(c)
    assert c.aggregation_reason is not None and c.aggregation_reason.startswith("not summed: integers")
    assert col(result, "sales", "gauge").role == "measure"  # integers 100..999 ending in 00..99


def facts_with_values(ontology: Ontology, name: str, values: list[int]) -> ColumnFacts:
    """The facts of an integer column whose most frequent values are `values`."""
    numeric = NumericStats(min=min(values), max=max(values), mean=sum(values) / len(values), std=None, skewness=None,
                           kurtosis=None, quantiles={}, zero_count=0, negative_count=0, histogram=())
    profile = ColumnProfile(
        name=name, position=1, sql_type="BIGINT", type="integer", unit=None, units=(), rows=1000, null_count=0,
        null_ratio=0.0, distinct_count=600, cardinality_ratio=0.6, unique=False, entropy_bits=9.0,
        entropy_normalized=0.9, top_values=tuple(ValueCount(v, 10, 0.01) for v in values), numeric=numeric)
    return ColumnFacts(table="t", name=name, profile=profile, typing=None, reading=ontology.read(name, 4),
                       primary_key=False, in_grain=False, foreign_key=None, parent_index=0, referenced_by=(),
                       rejected=None)


def test_the_hhmm_test_is_chance_corrected():
    ontology = shipped()[1]
    few = facts_with_values(ontology, "code", [105, 233, 1145])  # three values fit by chance (0.6^3 = 22%)
    many = facts_with_values(ontology, "code", [105, 233, 1145, 1359, 2047, 612, 758])
    named = facts_with_values(ontology, "arrival_time", [105, 233, 1145])
    settings = NumberSettings()
    assert clock_time(few, settings) is None
    assert clock_time(many, settings) is not None
    assert clock_time(named, settings) is not None


# --- aggregation ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("column", "aggregation", "reason"), [
    ("units", "additive", "count of units"),  # the integer factor of line_cost = units * wholesale_cost
    ("line_cost", "additive", "expense"),  # the product units * wholesale_cost
    ("wholesale_cost", "non_additive", "per unit"),  # a factor of that product, whatever its name
    ("tax", "non_additive", "rate or a share"),  # named tax, but decimals within 0..0.08
    ("ozone", "non_additive", "no evidence"),  # a reading without any evidence of an amount
    ("temperature", "non_additive", "measurement is non-additive"),  # a physical reading
    ("cases", None, "the values cannot tell which"),  # 0 on 30% of the rows: counts, of events or of a stock
], ids=lambda v: v if isinstance(v, str) else None)
def test_only_evidence_of_an_amount_makes_a_measure_additive(result, column, aggregation, reason):
    c = col(result, "sales", column)
    assert c.role == "measure"
    assert c.aggregation == aggregation
    assert reason in why(c) and c.aggregation_reason is not None and reason in c.aggregation_reason


def test_money_in_a_catalogue_without_events_describes_one_row(result):
    cost = col(result, "products", "cost")
    assert cost.concept == "expense" and cost.aggregation == "non_additive"
    assert "records no events" in why(cost)
    assert col(result, "products", "price").aggregation == "non_additive"


def test_money_in_a_table_keyed_to_a_date_dimension_records_events(result):
    assert col(result, "tickets", "date_key").references == "date_keys.date_key"
    assert col(result, "tickets", "amount").aggregation == "additive"


def test_integers_drawn_from_another_tables_key_are_references_not_measures():
    ontology = shipped()[1]
    facts = facts_with_values(ontology, "buyer", [3, 17, 42])
    rejected = Rejected(id="t.buyer->people.person", child_table="t", child_columns=("buyer",), parent_table="people",
                        parent_columns=("person",), confidence=0.6, reason="below the cut",
                        evidence={"containment_beyond_chance": 0.97, "parent_uniqueness": 1.0,
                                  "name_similarity": 0.4})
    decision = decide_role(dataclasses.replace(facts, rejected=rejected), None, None, RoleSettings(), 1000)
    assert decision.role == "identifier" and "people.person" in decision.reason
    for evidence in ({"containment_beyond_chance": 0.2, "parent_uniqueness": 1.0, "name_similarity": 0.4},
                     {"containment_beyond_chance": 0.97, "parent_uniqueness": 1.0, "name_similarity": 0.0}):
        unproven = dataclasses.replace(facts, rejected=dataclasses.replace(rejected, evidence=evidence))
        assert decide_role(unproven, None, None, RoleSettings(), 1000).role == "measure"


def test_a_stock_is_point_in_time(result):
    c = col(result, "panel", "population")
    assert (c.concept, c.aggregation) == ("stock", "point_in_time")


def test_without_the_formulas_the_names_decide(tmp_path):
    tables = {k: v for k, v in numbers_tables().items() if k == "sales"}
    result = run(build(tmp_path, tables, derived_input=False))
    assert col(result, "sales", "wholesale_cost").aggregation == "additive"  # the name says cost
    assert col(result, "sales", "tax").aggregation == "non_additive"  # the values still say rate


# --- grain, references, table kinds --------------------------------------------------------------


def test_a_measure_unique_by_chance_is_never_the_grain(result):
    panel = table(result, "panel")
    assert panel.grain == ("country", "year")
    assert col(result, "panel", "population").role == "measure"


def test_a_composite_foreign_key_is_one_reference_with_all_its_columns(result):
    whole = "episodes(series, episode) on (series, episode)"
    for name in ("series", "episode"):
        c = col(result, "results", name)
        assert c.role == "foreign_key" and c.references == whole
        assert "together" in c.description
    assert table(result, "results").references == (whole,)


def test_table_kinds_follow_the_foreign_key_graph(result):
    assert table(result, "stores").kind == "dimension"  # the parent side of sales.store
    assert table(result, "episodes").kind == "dimension"  # referenced, no event date, no additive measure
    assert table(result, "orders").kind == "fact"  # referenced by its lines, but dated and of comparable size
    assert table(result, "date_keys").kind == "dimension"  # one row per date: a calendar, not events
    assert table(result, "sales").kind == "fact"


# --- name clarity ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "clarity"), [
    ("wins", "clear"),  # an unknown but pronounceable word
    ("numqueens", "clear"),
    ("dep_delay", "abbreviated"),  # a readable word beside an unknown abbreviation
    ("avg_uk_viewers", "abbreviated"),
    ("vid", "unclear"),  # nothing of it reads as a word
    ("mgmt", "unclear"),  # no vowel: not a word
    ("crby", "unclear"),  # a vowel, but three consonants in a row: a word with its vowels dropped
    ("plot", "clear"),
    ("pt", "unclear"),
])
def test_a_name_is_unclear_only_when_nothing_of_it_reads_as_a_word(name, clarity):
    assert shipped()[1].read(name, 4, 4).clarity == clarity


@pytest.mark.parametrize(("name", "bare"), [("so", True), ("po_no", True), ("id", False), ("source", False),
                                           ("gl_account", False), ("url", False), ("sku", False)])
def test_a_name_of_acronyms_only_is_read_through_its_concept_alone(name, bare):
    # 'so' is a known acronym, so the name reads as clear; without a concept it says nothing (the
    # semantic phase then calls it unclear); a key word ('id'), a real word beside it or a longer,
    # unambiguous acronym ('url') does
    ontology = shipped()[1]
    assert bare_acronym(ontology.read(name, 4, 4), ontology) is bare


def test_unique_integers_with_a_heavy_tail_are_a_measure_unique_by_chance_not_an_id():
    ontology = shipped()[1]
    facts = facts_with_values(ontology, "requests", [12, 540, 98_000])

    def unique(low: int, high: int, skewness: float) -> ColumnFacts:
        numeric = dataclasses.replace(facts.profile.numeric, min=low, max=high, skewness=skewness)
        profile = dataclasses.replace(facts.profile, unique=True, distinct_count=1000, numeric=numeric)
        return dataclasses.replace(facts, profile=profile)

    assert decide_role(unique(12, 9_000_000, 6.0), None, None, RoleSettings(), 1000).role == "measure"
    assert decide_role(unique(1, 1000, 0.0), None, None, RoleSettings(), 1000).role == "identifier"


def test_a_key_word_in_the_name_makes_integers_a_reference_whatever_measure_word_precedes_it():
    ontology = shipped()[1]
    amount = ontology.concepts["amount"].spec
    keyed = facts_with_values(ontology, "refunded_customer_sk", [3, 17, 42])
    assert decide_role(keyed, amount, None, RoleSettings(), 1000).role != "measure"
    plain = facts_with_values(ontology, "refunded_cash", [3, 17, 42])
    assert decide_role(plain, amount, None, RoleSettings(), 1000).role == "measure"


def test_an_event_table_other_tables_refer_to_keeps_its_amounts_additive(tmp_path):
    """Payments (each with its own payment date) referenced by two tables are on the parent side as a
    dimension is, but their rows are events: the amount adds up, whoever refers to them."""
    rnd = random.Random(3)
    payments = [[f"PAY-{i:04d}", (dt.date(2024, 1, 1) + dt.timedelta(days=i % 300)).isoformat(),
                 f"{rnd.randint(1000, 900000) / 100:.2f}"] for i in range(1, 301)]
    bank = [[f"B{i:04d}", f"PAY-{1 + (i * 7) % 300:04d}", rnd.choice(["ok", "late"])] for i in range(1, 601)]
    notes = [[f"N{i:04d}", f"PAY-{1 + (i * 11) % 300:04d}", rnd.choice(["x", "y", "z"])] for i in range(1, 401)]
    result = run(build(tmp_path, {
        "payments": csv_text(["payment_id", "payment_date", "amount"], payments),
        "bank_lines": csv_text(["line_id", "payment_id", "state"], bank),
        "payment_notes": csv_text(["note_id", "payment_id", "kind"], notes),
    }))
    assert col(result, "payments", "payment_date").time_role == "event"
    assert col(result, "payments", "amount").aggregation == "additive"
