"""Entropy detectors and aggregation on small tables whose defects are planted by construction.

The measuring phases run for real (in-process) on two CSVs; the semantic layer's input is a
hand-written Annotations record, so each semantic detector's rule is tested on its own."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from phases.artifacts.annotations import Annotations, ColumnAnnotation
from phases.artifacts.entropy_scores import EntropyObject
from phases.artifacts.temporal_profiles import LevelShift
from phases.core.config import parse_model, read_yaml
from phases.core.errors import ConfigError
from phases.entropy.aggregate import noisy_or, score_column
from phases.entropy.extremes import outliers, wrong_signs
from phases.entropy.meaning import aggregation_risk, business_meaning, derived_consistency, units
from phases.entropy.measured import (
    category_consistency,
    relationship_quality,
    type_fidelity,
)
from phases.entropy.missing import nulls
from phases.entropy.score import detect, score
from phases.entropy.settings import DIMENSIONS, EntropySettings, ramp
from phases.entropy.shifts import persistent_shifts
from tests.entropy_support import REPO, measure, settings, with_annotations

N = 200
ORPHANS = 4  # orders whose customer does not exist
BAD_QTY = 2  # quantities that do not parse
NEGATIVE = 2  # credits with the wrong sign
VARIANTS = 3  # statuses spelled 'PAID' instead of 'paid'


def orders_csv() -> str:
    lines = ["order_id,customer_id,order_date,amount,qty,kind,note,memo,status,credit"]
    for i in range(N):
        customer = "C-99" if i < ORPHANS else f"C-{i % 10 + 1:02d}"
        amount = "250000.00" if i == 100 else f"{10 + (i * 37) % 490}.{i % 100:02d}"
        qty = "#ERR" if i in (7, 8) else str(1 + i % 9)
        kind = "refund" if i % 5 == 0 else "sale"
        note = f"returned item {i}" if kind == "refund" else ""  # NULL exactly for sales
        memo = "" if i % 7 in (1, 4) else f"memo {i}"  # NULL with no pattern any column follows
        status = ("PAID" if i in (11, 13, 15) else "paid") if i % 2 else "open"
        credit = f"-{5 + i}" if i in (50, 150) else str(5 + i % 40)
        day = dt.date(2024, 1, 1) + dt.timedelta(days=i)
        lines.append(f"O-{i:04d},{customer},{day},{amount},{qty},{kind},{note},{memo},{status},{credit}")
    return "\n".join(lines) + "\n"


def customers_csv() -> str:
    rows = [f"C-{k:02d},Customer {k},{'North' if k % 2 else 'South'}" for k in range(1, 11)]
    return "customer_id,name,region\n" + "\n".join(rows) + "\n"


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    root = tmp_path_factory.mktemp("entropy")
    return measure(root, {"orders": orders_csv(), "customers": customers_csv()})


@pytest.fixture
def s() -> EntropySettings:
    return settings()


def only(objects: list[EntropyObject], target: str, detector: str | None = None) -> EntropyObject:
    found = [o for o in objects if o.target == target and (detector is None or o.detector == detector)]
    assert len(found) == 1, [(o.target, o.detector) for o in objects]
    return found[0]


# --- structural ----------------------------------------------------------------------------


def test_unparseable_values_score_their_any_share_plus_the_ramp(measured, s):
    ev, _ = measured
    o = only(type_fidelity(ev, s), "orders.qty", "cast_failures")
    rate = BAD_QTY / N
    t = s.type_fidelity
    assert o.score == pytest.approx(t.failure_any_score + (1 - t.failure_any_score) * rate / t.failure_full, abs=1e-4)
    assert (o.evidence["failures"], o.dimension, o.layer) == (BAD_QTY, "type_fidelity", "structural")
    assert "#ERR" in o.summary and o.resolutions


def test_orphans_score_on_the_foreign_key_with_their_count(measured, s):
    ev, _ = measured
    o = only(relationship_quality(ev, s), "orders.customer_id->customers.customer_id", "orphans")
    r = s.relationships
    assert (o.column, o.evidence["orphan_rows"]) == ("customer_id", ORPHANS)
    assert o.score == pytest.approx(r.orphan_any_score + (1 - r.orphan_any_score) * (ORPHANS / N) / r.orphan_full_ratio,
                                    abs=1e-4)
    assert "'C-99'" in o.summary


# --- value ---------------------------------------------------------------------------------


def null_score(share: float, s: EntropySettings) -> float:
    n = s.nulls
    return n.any_score + (n.max_score - n.any_score) * ramp(share, n.start, n.full)


def test_nulls_a_category_explains_are_damped_and_say_which_category(measured, s):
    ev, typed = measured
    with duckdb.connect() as con:
        found = nulls(ev, s, typed, con)
    note, memo = only(found, "orders.note"), only(found, "orders.memo")
    assert note.evidence["explained_by"] == "kind" and note.evidence["null_where"] == ["sale"]
    assert note.evidence["gain"] == 1.0
    assert note.score == pytest.approx(null_score(0.8, s) * s.nulls.structural_damping, abs=1e-4)
    assert "explained_by" not in memo.evidence
    memo_nulls = sum(1 for i in range(N) if i % 7 in (1, 4))
    assert memo.evidence["null_count"] == memo_nulls
    assert memo.score == pytest.approx(null_score(memo_nulls / N, s), abs=1e-4)
    assert s.weights["nulls"] * memo.score >= s.readiness.investigate  # unexplained: always worth telling


def test_one_huge_value_scores_by_what_it_adds_to_the_total(measured, s):
    ev, typed = measured
    with duckdb.connect() as con:
        o = only(outliers(ev, s, typed, con), "orders.amount")
    assert o.evidence["outliers"] >= 1 and o.evidence["mass_share"] > 0.5
    assert o.score == 1.0 and "250000" in o.summary


def test_a_skewed_tail_just_past_the_fence_is_not_an_outlier_problem(tmp_path, s):
    values = [round(1.07 ** k, 2) for k in range(120)]  # smooth exponential growth: a long tail, no errors
    ev, typed = measure(tmp_path, {"t": "x\n" + "\n".join(map(str, values)) + "\n"})
    with duckdb.connect() as con:
        found = [o for o in outliers(ev, s, typed, con) if o.score >= s.readiness.investigate]
    assert found == []


def test_negative_values_in_an_otherwise_positive_measure_are_wrong_signs(measured, s):
    ev, _ = measured
    o = only(wrong_signs(ev, s), "orders.credit")
    assert o.evidence["negative_count"] == NEGATIVE
    assert o.score == pytest.approx(ramp(NEGATIVE / N, s.outliers.sign_start, s.outliers.sign_full), abs=1e-4)
    assert not [x for x in wrong_signs(ev, s) if x.column == "amount"]  # no negatives at all


def test_case_variants_of_a_category_are_flagged_with_their_share(measured, s):
    ev, _ = measured
    o = only(category_consistency(ev, s), "orders.status")
    assert o.score >= s.categories.variant_any_score
    assert o.evidence["other_spellings"] == VARIANTS


def test_a_spike_is_not_a_level_shift_but_a_lasting_change_is():
    up = LevelShift("2024-02-01", before=100.0, after=5000.0, shift=4900.0, z=40.0)
    down = LevelShift("2024-02-02", before=5000.0, after=110.0, shift=-4890.0, z=40.0)
    assert persistent_shifts([up, down]) == []
    lasting = LevelShift("2024-06-01", before=100.0, after=135.0, shift=35.0, z=12.0)
    assert persistent_shifts([lasting]) == [lasting]


# --- semantic and computational --------------------------------------------------------------


def annotation(table: str, column: str, **fields) -> ColumnAnnotation:
    base = dict(role="attribute", business_name=column, concept=None, concept_confidence=0.0, unit=None,
                unit_source=None, aggregation=None, time_role=None, name_clarity="clear", pii=None, references=None,
                description="", confidence=0.9, decided_by="inferred")
    return ColumnAnnotation(table=table, column=column, **{**base, **fields})


def annotated(ev, *columns: ColumnAnnotation):
    return with_annotations(ev, Annotations(source="s", ontologies=("general",), tables={}, columns=columns))


def test_an_unclear_name_is_a_business_meaning_finding_and_an_abbreviation_a_small_one(measured, s):
    ev = annotated(measured[0], annotation("orders", "memo", name_clarity="unclear", confidence=0.5),
                   annotation("orders", "qty", name_clarity="abbreviated", concept="quantity", role="measure"),
                   annotation("orders", "kind"))
    found = {o.target: o for o in business_meaning(ev, s)}
    assert found["orders.memo"].score == s.semantic.unclear_name_score
    assert found["orders.qty"].score == s.semantic.abbreviated_name_score
    assert "orders.kind" not in found  # a clear attribute with a good annotation


def test_an_unclear_name_whose_meaning_the_values_establish_and_an_unknown_concept_are_no_finding(measured, s):
    ev = annotated(measured[0], annotation("orders", "memo", name_clarity="unclear", concept="vendor",
                                           confidence=s.semantic.confirmed_confidence),
                   annotation("orders", "amount", role="measure", concept=None, confidence=0.3))
    assert business_meaning(ev, s) == []


def test_money_without_a_currency_is_a_unit_finding_but_a_quantity_is_not(measured, s):
    ev = annotated(measured[0],
                   annotation("orders", "amount", role="measure", concept="amount", aggregation="additive", money=True),
                   annotation("orders", "qty", role="measure", concept="quantity", aggregation="additive"),
                   annotation("orders", "credit", role="measure", concept="credit", unit="USD", money=True))
    assert [o.target for o in units(ev, s)] == ["orders.amount"]


def test_a_point_in_time_measure_carries_an_aggregation_risk_where_there_is_time_to_sum_over(measured, s):
    balance = annotation("orders", "credit", role="measure", concept="balance", aggregation="point_in_time")
    amount = annotation("orders", "amount", role="measure", concept="amount", aggregation="additive")
    date = annotation("orders", "order_date", role="timestamp", time_role="event")
    ev = annotated(measured[0], balance, amount, date)
    assert [(o.target, o.score) for o in aggregation_risk(ev, s)] == [
        ("orders.credit", s.computational.point_in_time_score)]
    # a current balance per row with no date beside it (a customer's balance) has nothing to be summed over
    assert aggregation_risk(annotated(measured[0], balance, amount), s) == []


def test_a_derived_column_that_breaks_on_some_rows_scores_by_the_broken_share(tmp_path, s):
    rows = ["debit,credit,net"]
    for i in range(100):
        debit, credit = (i * 7) % 50 + 1.5, (i * 3) % 20 + 0.25
        net = debit - credit + (10 if i < 3 else 0)  # three rows no longer hold
        rows.append(f"{debit},{credit},{net:.2f}")
    ev, typed = measure(tmp_path, {"lines": "\n".join(rows) + "\n"})
    with duckdb.connect() as con:
        o = only(derived_consistency(ev, s, typed, con), "lines.net")
    assert o.evidence["mismatching_rows"] == 3
    assert o.score == pytest.approx(ramp(0.03, s.computational.mismatch_start, s.computational.mismatch_full))


# --- aggregation ---------------------------------------------------------------------------


def obj(dimension: str, score: float, column: str = "c") -> EntropyObject:
    from phases.entropy.measured import finding

    return finding("t", column, dimension, "test", score, f"{dimension} {score}", {})


def test_a_single_severe_finding_is_not_diluted_by_detectors_that_found_nothing(s):
    alone = score_column("t", "c", [obj("type_fidelity", 0.9)], s)
    assert alone.score == pytest.approx(0.9 * s.weights["type_fidelity"])
    assert alone.readiness == "blocked" and alone.top[0].dimension == "type_fidelity"
    assert alone.reasons and alone.reasons[0].startswith("type_fidelity")


def test_moderate_findings_add_up_and_the_worst_object_per_dimension_counts(s):
    two = score_column("t", "c", [obj("nulls", 0.3), obj("nulls", 0.2), obj("benford", 0.3)], s)
    w = s.weights
    assert two.score == pytest.approx(noisy_or([w["nulls"] * 0.3, w["benford"] * 0.3]), abs=1e-4)
    assert [d.dimension for d in two.top] == ["nulls", "benford"]


def test_a_compound_risk_fires_only_when_both_dimensions_are_bad(s):
    rule = next(r for r in s.compound_risks if set(r.dimensions) == {"units", "aggregation_risk"})
    both = score_column("t", "c", [obj("units", 0.4), obj("aggregation_risk", 0.4)], s)
    one = score_column("t", "c", [obj("units", 0.4), obj("aggregation_risk", rule.min_score / 2)], s)
    plain = noisy_or([s.weights["units"] * 0.4, s.weights["aggregation_risk"] * 0.4])
    assert both.score == pytest.approx(min(1.0, plain * rule.multiplier), abs=1e-4)
    assert [h.dimensions for h in both.compound_risks] == [rule.dimensions] and not one.compound_risks


@pytest.mark.parametrize(("value", "readiness"), [(0.29, "ready"), (0.3, "investigate"), (0.49, "investigate"),
                                                 (0.5, "blocked")])
def test_readiness_cuts_come_from_config(value, readiness):
    s = settings(weights={d: 1.0 for d in DIMENSIONS}, readiness={"investigate": 0.3, "blocked": 0.5})
    assert score_column("t", "c", [obj("type_fidelity", value)], s).readiness == readiness


def test_the_source_is_as_ready_as_its_worst_table_and_names_its_blockers(measured, s):
    ev, typed = measured
    with duckdb.connect() as con:
        scores = score(ev, s, typed, con)
    assert scores.readiness == "blocked"
    assert any(b.startswith("orders.amount: outliers") for b in scores.blockers)
    customers = next(t for t in scores.tables if t.table == "customers")
    assert customers.readiness == "ready"
    # every column is scored, the clean ones at 0
    assert {(c.table, c.column) for c in scores.columns} == set(ev.columns())
    assert scores.column("customers", "region").score == 0.0


def test_detectors_are_deterministic(measured, s):
    ev, typed = measured
    with duckdb.connect() as a, duckdb.connect() as b:
        assert detect(ev, s, typed, a) == detect(ev, s, typed, b)


# --- configuration -------------------------------------------------------------------------


def test_every_setting_is_documented_in_the_yaml_with_a_comment():
    text = (REPO / "config" / "thresholds.yaml").read_text()
    data = read_yaml(REPO / "config" / "thresholds.yaml")
    parse_model(EntropySettings, data, "config/thresholds.yaml")
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith(("#", "-")) and ":" in stripped and not stripped.endswith(":"):
            key = stripped.split(":", 1)[0]
            if key not in ("dimensions", "description"):
                assert "#" in line, f"config/thresholds.yaml: {key!r} has no comment"


@pytest.mark.parametrize(("change", "message"), [
    ({"nulls": {"surprise": 1}}, "surprise"),
    ({"readiness": {"investigate": 0.7, "blocked": 0.6}}, "blocked must be above investigate"),
    ({"outliers": {"mass_start": 1.5}}, "outliers.mass_start"),
    ({"benford": {"mad_start": 0.05, "mad_full": 0.01}}, "mad_full must be above mad_start"),
])
def test_bad_thresholds_are_rejected_naming_the_key(change, message):
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        settings(**change)


def test_a_missing_weight_is_rejected():
    data = read_yaml(Path(REPO / "config" / "thresholds.yaml"))
    del data["weights"]["nulls"]
    with pytest.raises(ConfigError, match="nulls"):
        parse_model(EntropySettings, data, "config/thresholds.yaml")


def test_a_copy_across_a_join_is_judged_where_it_applies(tmp_path, s):
    """payments.amount = invoices.amount except for partial payments (by design, always less) and
    4 of the 36 full payments (planted): the partial ones are out of the copy's scope."""
    invoices, payments = ["invoice_id,amount,status"], ["payment_id,invoice_id,amount"]
    for i in range(48):
        amount = 100 + i * 13.5
        status = "partial" if i % 4 == 3 else "paid"
        paid = amount / 2 if status == "partial" else amount * (1.1 if i in (0, 1, 2, 4) else 1)
        invoices.append(f"I-{i:03d},{amount:.2f},{status}")
        payments.append(f"P-{i:03d},I-{i:03d},{paid:.2f}")
    ev, typed = measure(tmp_path, {"invoices": "\n".join(invoices) + "\n", "payments": "\n".join(payments) + "\n"})
    with duckdb.connect() as con:
        found = derived_consistency(ev, s, typed, con)
    o = only(found, "payments.amount")
    assert o.evidence["scope_column"] == "invoices.status" and o.evidence["out_of_scope"] == ["partial"]
    assert (o.evidence["in_scope_rows"], o.evidence["mismatching_rows"]) == (36, 16)
    c = s.computational
    assert o.score == pytest.approx(ramp(4 / 36, c.cross_table_mismatch_start, c.cross_table_mismatch_full), abs=1e-4)
    assert only(found, "invoices.amount").score == o.score  # both sides of a broken reconciliation


@pytest.mark.parametrize(("invoices", "flagged"), [(600, True), (40, False)])
def test_a_copy_broken_on_a_tenth_of_many_rows_is_broken_beyond_chance(tmp_path, s, invoices, flagged):
    """One payment in ten no longer equals its invoice: over 600 rows far more breaks than the honest
    exceptions allowed explain (investigate); over 40 rows chance could give as many."""
    inv, pay = ["invoice_id,amount"], ["payment_id,invoice_id,amount"]
    for i in range(invoices):
        amount = 100 + i * 13.5
        inv.append(f"I-{i:04d},{amount:.2f}")
        other = 100 + ((i * 37 + 11) % invoices) * 13.5  # another invoice's amount: no common factor
        pay.append(f"P-{i:04d},I-{i:04d},{other if i % 10 == 3 else amount:.2f}")
    ev, typed = measure(tmp_path, {"invoices": "\n".join(inv) + "\n", "payments": "\n".join(pay) + "\n"})
    with duckdb.connect() as con:
        o = only(derived_consistency(ev, s, typed, con), "payments.amount", "derived_mismatch")
    assert o.evidence["mismatching_rows"] == invoices // 10
    assert (s.weights["derived_consistency"] * o.score >= s.readiness.investigate) is flagged


def test_the_markdown_keeps_the_most_uncertain_columns_when_it_must_cut(measured, s):
    from phases.entropy.document import build_context
    from phases.entropy.markdown import render_markdown

    ev, typed = measured
    with duckdb.connect() as con:
        scores = score(ev, s, typed, con)
    document = build_context(ev, scores, s)
    full = render_markdown(document, s)
    tight = settings(context={"max_markdown_chars": 2000})
    cut = render_markdown(document, tight)
    assert len(cut) <= 2000 < len(full)
    assert "left out to fit 2000 characters" in cut
    worst = document.columns[0]
    assert f"`{worst.table}.{worst.column}`" in cut  # the most uncertain column survives the cut


def test_the_context_document_round_trips_through_its_declaration(measured, s, tmp_path):
    from phases.artifacts.context_document import (
        CONTEXT_DOCUMENT,
        BasicColumnStats,
        NumberColumnStats,
        TemporalColumnStats,
    )
    from phases.entropy.document import build_context

    ev, typed = measured
    with duckdb.connect() as con:
        document = build_context(ev, score(ev, s, typed, con), s)
    path = CONTEXT_DOCUMENT.dump(tmp_path, document)
    assert CONTEXT_DOCUMENT.load(path, "entropy") == document
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert path.read_text(encoding="utf-8") == json.dumps(raw, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    (rel,) = raw["relationships"]
    assert (rel["from"], rel["to"]) == ("orders(customer_id)", "customers(customer_id)") and "from_" not in rel
    stats = {(c.table, c.column): c.stats for c in document.columns}
    assert isinstance(stats["orders", "amount"], NumberColumnStats)
    assert isinstance(stats["orders", "order_date"], TemporalColumnStats)
    assert isinstance(stats["orders", "kind"], BasicColumnStats) and stats["orders", "kind"].values
    assert isinstance(stats["orders", "order_id"], BasicColumnStats) and stats["orders", "order_id"].values is None
    columns = {(c["table"], c["column"]): c["stats"] for c in raw["columns"]}
    assert "values" not in columns["orders", "order_id"] and "values" not in columns["orders", "amount"]
    assert columns["orders", "kind"]["values"] == {"sale": 160, "refund": 40}


def test_guidance_says_which_statuses_to_filter_and_what_to_convert_before_summing(tmp_path, s):
    from phases.entropy.document import build_context

    rows = ["id,amount,currency,status"]
    for i in range(40):
        status = "cancelled" if i < 5 else "void'd" if i < 10 else "paid"
        rows.append(f"{i},{100 + i}.00,{'EUR' if i % 4 == 0 else 'USD'},{status}")
    ev, typed = measure(tmp_path, {"inv": "\n".join(rows) + "\n"})
    ev = annotated(ev, annotation("inv", "amount", role="measure", concept="amount", aggregation="additive",
                                  money=True),
                   annotation("inv", "currency", role="dimension", concept="currency"),
                   annotation("inv", "status", role="dimension", concept="status"))
    with duckdb.connect() as con:
        guidance = build_context(ev, score(ev, s, typed, con), s).guidance
    assert "In `inv`, filter `status NOT IN ('cancelled', 'void''d')` (10 rows) before summing `amount`." in guidance
    assert "`inv` holds several currencies in `currency` (USD 30, EUR 10): convert `amount` to one currency " \
           "before summing." in guidance
