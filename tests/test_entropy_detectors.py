"""The entropy detectors not covered by test_entropy.py, each on an input whose answer is known:
a text column that half parses as dates, quarantined lines, Benford, drift, mixed currencies,
placeholders, join ambiguity, fan-out, unverified keys, unclear time roles and validations."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import replace

import duckdb
import pytest

from phases.artifacts.validations import CheckResult, Validations
from phases.entropy.meaning import REMEASURED_ELSEWHERE, derived_consistency, time_roles, units, validations
from phases.entropy.measured import (
    benford,
    category_consistency,
    join_paths,
    relationship_quality,
    temporal_drift,
    type_fidelity,
)
from phases.entropy.missing import nulls
from phases.entropy.reconcile import formula_conversions
from phases.entropy.settings import ramp
from phases.entropy.shifts import level_shifts
from tests.entropy_support import measure, settings
from tests.test_entropy import annotated, annotation, only
from tests.test_topology import graph, rel


@pytest.fixture
def s():
    return settings()


def test_a_date_column_written_in_three_formats_is_read_and_says_so(tmp_path, s):
    formats = ("%Y-%m-%d", "%d/%m/%Y", "%d-%b-%y")  # the way a date column gets corrupted: one format per row
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(90)]
    csv = "id,paid_on\n" + "\n".join(f"{i},{d.strftime(formats[i % 3])}" for i, d in enumerate(days)) + "\n"
    ev, _ = measure(tmp_path, {"payments": csv})
    assert ev.types["payments"]["paid_on"].type == "date"
    assert not [o for o in type_fidelity(ev, s) if o.detector == "failed_typing"]
    o = only(type_fidelity(ev, s), "payments.paid_on", "mixed_formats")
    assert sorted(f for f, _ in o.evidence["formats"]) == sorted(formats)
    assert sum(n for _, n in o.evidence["formats"]) <= 90 and o.score == s.type_fidelity.mixed_formats_score


def test_a_text_column_that_half_reads_as_numbers_is_a_failed_typing(tmp_path, s):
    values = [str(i * 7) if i % 2 else f"item {i}" for i in range(90)]  # half numbers, half words
    ev, _ = measure(tmp_path, {"t": "id,code\n" + "\n".join(f"{i},{v}" for i, v in enumerate(values)) + "\n"})
    typing = ev.types["t"]["code"]
    assert typing.type == "text"
    o = only(type_fidelity(ev, s), "t.code", "failed_typing")
    share = o.evidence["alternative_share"]
    assert 0.2 < share < 1
    assert o.score == pytest.approx(ramp(share, s.type_fidelity.alternative_start, s.type_fidelity.alternative_full),
                                    abs=1e-4)


def test_readings_the_import_could_not_settle_are_findings(tmp_path, s):
    codes = ["DE", "FR", "IT", "ES", "PL", "NL", "BE", "AT"]  # same-shaped codes; 'NA' rows miss their other fields
    rows = [f"{c},{i},{i * 2}" for i, c in enumerate(codes * 3)] + ["NA,,"] * 4
    ev, _ = measure(tmp_path, {"countries": "code,a,b\n" + "\n".join(rows) + "\n",
                               "cities": "id,city\n1,Århus\n".encode("latin-1")})
    token = only(type_fidelity(ev, s), "countries.code", "ambiguous_null_token")
    assert token.evidence == {"token": "NA", "rows": 4, "read_as": "null"}
    assert token.score == s.type_fidelity.ambiguous_reading_score
    encoding = only(type_fidelity(ev, s), "cities", "ambiguous_encoding")
    assert encoding.evidence["encoding"] == "cp1252" and encoding.evidence["alternatives"]
    assert "cities.csv was decoded as cp1252" in encoding.summary


def test_quarantined_lines_score_their_table(tmp_path, s):
    rows = [f"{i},{i * 1.5}" for i in range(99)] + ['99,"1,5,extra', "100,2.0"]
    ev, _ = measure(tmp_path, {"t": "id,x\n" + "\n".join(rows) + "\n"})
    o = only(type_fidelity(ev, s), "t", "quarantine")
    assert o.target_kind == "table" and o.column is None
    assert o.evidence["quarantined"] >= 1 and o.score > 0


def test_uniform_first_digits_break_benford_and_a_rate_is_exempt(tmp_path, s):
    rng = random.Random(7)
    values = [round(rng.uniform(10, 99_999), 2) for _ in range(600)]  # first digits nearly uniform
    ev, _ = measure(tmp_path, {"t": "amount\n" + "\n".join(map(str, values)) + "\n"})
    o = only(benford(ev, s), "t.amount")
    assert o.evidence["mad"] > s.benford.mad_start
    assert o.score == pytest.approx(ramp(o.evidence["mad"], s.benford.mad_start, s.benford.mad_full), abs=1e-4)
    rate = annotated(ev, annotation("t", "amount", role="measure", concept="exchange_rate",
                                    aggregation="non_additive"))
    assert benford(rate, s) == []  # Benford describes amounts that add up


def test_leading_digits_replaced_on_a_share_of_amounts_are_a_uniform_share_beyond_chance(tmp_path, s):
    rng = random.Random(3)
    values = [10 ** (5 * (i + 0.5) / 2000) for i in range(2000)]  # spread evenly over five decades: Benford
    for i in rng.sample(range(2000), 600):  # 30% get a leading digit drawn uniformly from 1..9
        text = f"{values[i]:.6e}"
        values[i] = float(str(rng.randint(1, 9)) + text[1:])
    ev, _ = measure(tmp_path, {"t": "amount\n" + "\n".join(f"{v:.2f}" for v in values) + "\n"})
    o = only(benford(ev, s), "t.amount")
    assert o.evidence["mad"] < s.benford.mad_full and o.evidence["uniform_share"] == pytest.approx(0.3, abs=0.08)
    assert "uniformly chosen" in o.summary and s.weights["benford"] * o.score >= s.readiness.investigate


def test_a_distribution_that_jumps_between_months_drifts(tmp_path, s):
    rng = random.Random(3)
    rows = []
    for day in range(180):
        date = dt.date(2024, 1, 1) + dt.timedelta(days=day)
        scale = 100 if date.month <= 3 else 1000  # from April on, amounts are ten times larger
        rows += [f"{date},{round(rng.uniform(0.5, 1.5) * scale, 2)}" for _ in range(6)]
    ev, _ = measure(tmp_path, {"sales": "day,amount\n" + "\n".join(rows) + "\n"})
    o = only([x for x in temporal_drift(ev, s) if x.detector == "distribution_drift"], "sales.amount")
    assert (o.evidence["start"], o.evidence["end"]) == ("2024-03-01", "2024-04-01")
    assert o.score == pytest.approx(ramp(o.evidence["psi"], s.temporal.psi_start, s.temporal.psi_full) *
                                    min(1.0, 180 / s.temporal.min_period_rows), abs=0.05)


def test_a_column_of_two_currencies_is_a_units_finding(tmp_path, s):
    values = [f"${10 + i}.00" if i % 5 else f"€{10 + i}.50" for i in range(60)]
    ev, _ = measure(tmp_path, {"t": "price\n" + "\n".join(f'"{v}"' for v in values) + "\n"})
    typing = ev.types["t"]["price"]
    assert typing.mixed
    o = only([x for x in units(ev, s) if x.detector == "mixed_units"], "t.price")
    assert o.score == s.semantic.mixed_units_score


def test_a_placeholder_number_is_a_sentinel_posing_as_data(tmp_path, s):
    values = [str(100 + (i * 17) % 300) for i in range(120)] + ["-999"] * 8
    ev, typed = measure(tmp_path, {"t": "reading\n" + "\n".join(values) + "\n"})
    with duckdb.connect() as con:
        o = only([x for x in nulls(ev, s, typed, con) if x.detector == "sentinel"], "t.reading")
    assert o.score == s.nulls.sentinel_score and "-999" in o.summary


def test_two_equally_short_joins_that_keep_rows_are_ambiguous_and_a_fan_out_route_is_not(tmp_path, s):
    ev, _ = measure(tmp_path, {"t": "x\n1\n2\n"})
    diamond = graph(rel("payments", "invoices"), rel("invoices", "customers"), rel("payments", "accounts"),
                    rel("accounts", "customers"))
    found = join_paths(replace(ev, schema=diamond, tables=("accounts", "customers", "invoices", "payments")), s)
    o = only(found, "payments")
    assert o.evidence["pair"] == ["payments", "customers"] and o.evidence["shortest_paths"] == 2
    assert o.score == s.relationships.ambiguous_path_score
    star = graph(rel("sales", "customers"), rel("returns", "customers"))  # sales -> customers <- returns fans out
    assert [x for x in join_paths(replace(ev, schema=star, tables=("customers", "returns", "sales")), s)
            if x.detector == "ambiguous_join"] == []


def test_fan_out_and_an_unverified_key_are_relationship_findings(tmp_path, s):
    ev, _ = measure(tmp_path, {"t": "x\n1\n2\n"})
    weak = replace(rel("lines", "orders"), confidence=0.4)
    fanning = rel("items", "products", fans_out=True)
    found = relationship_quality(replace(ev, relationships=replace(ev.relationships, relationships=(weak, fanning))), s)
    r = s.relationships
    assert only(found, fanning.id, "fan_out").score == r.fan_out_score
    unverified = only(found, weak.id, "unverified")
    shortfall = (r.min_confidence - 0.4) / r.min_confidence
    assert unverified.score == pytest.approx(r.unverified_score * (0.5 + 0.5 * shortfall), abs=1e-4)


def test_a_date_without_a_role_is_a_time_role_finding(tmp_path, s):
    ev, _ = measure(tmp_path, {"t": "x\n1\n2\n"})
    ev = annotated(ev, annotation("t", "when", role="timestamp"),
                   annotation("t", "due", role="timestamp", time_role="due"))
    assert [(o.target, o.score) for o in time_roles(ev, s)] == [("t.when", s.semantic.unclear_time_role_score)]


def check(**fields) -> CheckResult:
    base = dict(id="c:t", name="A check", description="", status="failed", severity="error", tables=("t",),
                columns=("t.entry", "t.debit", "t.credit"), violations=5, checked=100, violation_ratio=0.05,
                tolerance=0.005, reason="5 of 100 entries do not balance", sql="SELECT 1", examples=(), evidence={},
                kind="balance")
    return CheckResult(**{**base, **fields})


def test_a_failed_validation_blames_the_measures_it_reads_not_the_keys_it_groups_by(tmp_path, s):
    ev, _ = measure(tmp_path, {"t": "x\n1\n2\n"})
    ev = annotated(ev, annotation("t", "entry", role="foreign_key"), annotation("t", "debit", role="measure"),
                   annotation("t", "credit", role="measure"))
    checks = (check(), check(id="p:t", status="passed"), check(id="r:t", kind=next(iter(REMEASURED_ELSEWHERE))),
              check(id="w:t", severity="warning", columns=("t.debit",)))
    found = validations(replace(ev, validations=Validations("s", checks)), s)
    assert sorted((o.target, o.detector) for o in found) == [
        ("t.credit", "validation:c:t"), ("t.debit", "validation:c:t"), ("t.debit", "validation:w:t")]
    c = s.computational
    assert only(found, "t.credit").score == pytest.approx(c.validation_error_score + (1 - c.validation_error_score)
                                                          * ramp(0.05, 0, c.mismatch_full))
    assert only(found, "t.debit", "validation:w:t").score == c.validation_warning_score


def test_breaks_that_share_one_factor_are_converted_values_named_by_the_source_rates(tmp_path, s):
    """12 of 48 payments are their invoice's amount divided by 1.1, and the source's fx table has
    EUR->USD rates around 1.1: one side is in another currency."""
    invoices, payments = ["invoice_id,amount"], ["payment_id,invoice_id,paid"]
    for i in range(48):
        amount = 100 + i * 13.5
        invoices.append(f"I-{i:03d},{amount:.2f}")
        payments.append(f"P-{i:03d},I-{i:03d},{amount / 1.1 if i % 4 == 0 else amount:.2f}")
    rates = ["from_ccy,to_ccy,rate"] + [f"EUR,USD,{1.08 + k * 0.005:.3f}" for k in range(9)] + \
        [f"GBP,USD,{1.25 + k * 0.004:.3f}" for k in range(9)]
    ev, typed = measure(tmp_path, {"invoices": "\n".join(invoices) + "\n", "payments": "\n".join(payments) + "\n",
                                   "fx": "\n".join(rates) + "\n"})
    fx = (annotation("fx", "from_ccy", role="dimension", concept="currency"),
          annotation("fx", "to_ccy", role="dimension", concept="currency"),
          annotation("fx", "rate", role="measure", concept="exchange_rate", aggregation="non_additive"))
    with duckdb.connect() as con:
        named = [o for o in derived_consistency(annotated(ev, *fx), s, typed, con) if o.dimension == "units"]
        unnamed = [o for o in derived_consistency(ev, s, typed, con) if o.dimension == "units"]
    o = only(named, "payments.paid")
    assert (o.evidence["factor"], o.evidence["rows"], o.evidence["rate_pair"]) == (0.909, 12, "EUR/USD")
    assert o.score == s.semantic.mixed_units_score and only(named, "invoices.amount").score == o.score
    plain = only(unnamed, "payments.paid")  # no exchange rates to name it: a discount is as likely
    assert plain.evidence["rate_pair"] is None and "discount" in plain.summary
    assert plain.score == pytest.approx(s.semantic.mixed_units_score * s.semantic.conversion_unexplained_damping)
    # the factor explains every break: no broken copy beyond the conversion the units finding reports
    mismatch = only([o for o in derived_consistency(ev, s, typed, duckdb.connect()) if o.dimension != "units"],
                    "payments.paid")
    c = s.computational
    assert mismatch.evidence["excess_z"] == 0  # the share of broken rows alone scores it
    assert mismatch.score == pytest.approx(ramp(12 / 48, c.cross_table_mismatch_start, c.cross_table_mismatch_full),
                                           abs=1e-4)


def test_a_row_formula_whose_breaks_share_one_factor_blames_its_target_for_units(tmp_path, s):
    """net = debit - credit breaks on 30 of 100 rows, 25 of them by the factor 0.79 (a GBP rate of
    the source): the net column holds converted amounts; a check whose breaks share no factor,
    or too few rows, says nothing about units."""
    rates = "from_ccy,to_ccy,rate\n" + "".join(f"USD,GBP,{0.78 + k * 0.002:.3f}\n" for k in range(6))
    ev, typed = measure(tmp_path, {"fx": rates})
    fx = (annotation("fx", "from_ccy", role="dimension", concept="currency"),
          annotation("fx", "to_ccy", role="dimension", concept="currency"),
          annotation("fx", "rate", role="measure", concept="exchange_rate", aggregation="non_additive"))
    evidence = {"formula": "net = debit - credit", "break_factor": 0.79, "rows_at_break_factor": 25}
    checks = (check(kind="derived", columns=("t.net", "t.debit", "t.credit"), violations=30, evidence=evidence),
              check(id="few:t", kind="derived", columns=("t.x", "t.y", "t.z"), violations=30,
                    evidence={**evidence, "rows_at_break_factor": 5}),
              check(id="sign:t", kind="derived", columns=("t.u", "t.v", "t.w"),
                    evidence={**evidence, "break_factor": -1.0}))
    with duckdb.connect() as con:
        found = formula_conversions(replace(annotated(ev, *fx), validations=Validations("s", checks)), s, typed, con)
    o = only(found, "t.net")
    assert [x.target for x in found] == ["t.net"] and o.dimension == "units"
    assert (o.evidence["factor"], o.evidence["rows"], o.evidence["rate_pair"]) == (0.79, 25, "GBP/USD")
    assert o.score == s.semantic.mixed_units_score  # 25% of the rows: beyond conversion_full_share


def test_an_empty_table_is_a_table_finding_and_isolation_needs_joins_elsewhere(tmp_path, s):
    ev, typed = measure(tmp_path, {"empty": "id,amount\n", "full": "id,amount\n1,2.5\n2,3.5\n"})
    with duckdb.connect() as con:
        o = only(nulls(ev, s, typed, con), "empty")
    assert (o.target_kind, o.score, o.evidence["rows"]) == ("table", s.nulls.empty_table_score, 0)
    assert [x for x in join_paths(ev, s) if x.detector == "isolated_table"] == []  # no source-wide joins at all


def shifts_of(ev, typed, s) -> list:
    with duckdb.connect() as con:
        return level_shifts(ev, s, typed, con)


def shifted_days(value_jump: float, rows_jump: int, pause: int = 0) -> str:
    """200 days from 2024-01-01, 4 rows a day; from day 100 the values are `value_jump` times
    larger and each day has `rows_jump` times as many rows; `pause` days without data before it."""
    rng = random.Random(5)
    rows = ["day,amount"]
    for d in range(200):
        later = d >= 100
        for _ in range(4 * (rows_jump if later else 1)):
            rows.append(f"{dt.date(2024, 1, 1) + dt.timedelta(days=d + (pause if later else 0))},"
                        f"{round(rng.uniform(90, 110) * (value_jump if later else 1), 2)}")
    return "\n".join(rows) + "\n"


def test_a_lasting_jump_in_values_is_a_level_shift_but_a_jump_in_volume_is_not(tmp_path, s):
    ev, typed = measure(tmp_path / "values", {"sales": shifted_days(value_jump=3.0, rows_jump=1)})
    shifts = shifts_of(ev, typed, s)
    assert [o.target for o in shifts] == ["sales.amount"]
    assert 0 < shifts[0].score <= s.temporal.level_shift_max_score
    ev, typed = measure(tmp_path / "volume", {"sales": shifted_days(value_jump=1.0, rows_jump=3)})
    assert shifts_of(ev, typed, s) == []  # the row count explains it


def test_a_lasting_jump_flags_the_column_but_a_new_level_after_a_pause_is_no_jump(tmp_path, s):
    ev, typed = measure(tmp_path / "jump", {"sales": shifted_days(value_jump=3.0, rows_jump=1)})
    (o,) = shifts_of(ev, typed, s)
    assert o.evidence["gap_days"] == 1 and s.weights["temporal_drift"] * o.score >= s.readiness.investigate
    ev, typed = measure(tmp_path / "pause", {"sales": shifted_days(value_jump=3.0, rows_jump=1, pause=120)})
    assert shifts_of(ev, typed, s) == []  # 120 days without data: the level may have moved in between
    ev, typed = measure(tmp_path / "rescaled", {"sales": shifted_days(value_jump=12.0, rows_jump=1, pause=120)})
    (o,) = shifts_of(ev, typed, s)  # twelve times the level: a change of scale, whatever the pause
    assert o.evidence["gap_days"] == 121


def test_a_level_that_steps_from_one_group_of_rows_to_the_next_is_no_jump(tmp_path, s):
    text = shifted_days(value_jump=3.0, rows_jump=1).splitlines()
    batches = [text[0] + ",batch"] + [f"{line},{'B1' if line < '2024-04-10' else 'B2'}" for line in text[1:]]
    ev, typed = measure(tmp_path, {"sales": "\n".join(batches) + "\n"})
    assert shifts_of(ev, typed, s) == []  # the rows before the step are batch B1, those after B2


def test_the_group_that_steps_is_found_among_groups_that_do_not(tmp_path, s):
    text = shifted_days(value_jump=3.0, rows_jump=1).splitlines()
    regions = [text[0] + ",region"] + [f"{line},{'NE'[i % 2]}" for i, line in enumerate(text[1:])]
    ev, typed = measure(tmp_path / "regions", {"sales": "\n".join(regions) + "\n"})
    assert [o.target for o in shifts_of(ev, typed, s)] == ["sales.amount"]  # both regions on both sides
    both = [f"{regions[0]},batch"] + [f"{line},{'B1' if line < '2024-04-10' else 'B2'}" for line in regions[1:]]
    ev, typed = measure(tmp_path / "both", {"sales": "\n".join(both) + "\n"})
    assert shifts_of(ev, typed, s) == []  # the batch steps, whatever the region does


def mix_change_days() -> str:
    """200 days from 2024-01-01: 6 receipts (+) and 6 payments (-) a day, each kind at a steady
    level; from day 100 the receipts stop. The mean per day turns negative with the mix."""
    rng = random.Random(7)
    rows = ["day,amount"]
    for d in range(200):
        for kind in ("receipt", "payment") if d < 100 else ("payment",):
            for _ in range(6):
                amount = rng.uniform(900, 1100) * (1 if kind == "receipt" else -0.6)
                rows.append(f"{dt.date(2024, 1, 1) + dt.timedelta(days=d)},{amount:.2f}")
    return "\n".join(rows) + "\n"


def test_a_mean_that_moves_with_the_mix_of_rows_is_no_level_shift(tmp_path, s):
    ev, typed = measure(tmp_path, {"bank": mix_change_days()})
    counts = [x for p in ev.temporal["bank"].columns for c in p.series if c.measure == "count" for x in c.level_shifts]
    assert counts  # the row count halves on day 100 ...
    assert shifts_of(ev, typed, s) == []  # ... and explains the mean's step


def weekly_rates(drop: float) -> str:
    """Three exchange rates of very different sizes quoted on days 1, 8, 15, 22 and 29 of each
    month of 2025 (4 or 5 quotes a month), each a slow walk; from 2025-07-15 every rate is `drop`
    times what it was."""
    rng = random.Random(11)
    rows, level = ["pair,day,rate"], {"EUR": 1.1, "GBP": 1.27, "JPY": 149.5}
    for month in range(1, 13):
        for day in (1, 8, 15, 22, 29):
            if month == 2 and day == 29:
                continue
            date = dt.date(2025, month, day)
            for pair in level:
                level[pair] *= 1 + rng.uniform(-0.004, 0.004)
                rows.append(f"{pair},{date},{level[pair] * (drop if date >= dt.date(2025, 7, 15) else 1):.6f}")
    return "\n".join(rows) + "\n"


def test_a_lasting_drop_of_a_sampled_rate_is_a_level_shift_of_its_mean(tmp_path, s):
    """4 or 5 quotes a month make the monthly total jump by a quarter with the calendar; the mean
    per period does not, and shows the drop where it happens. Without the drop: nothing."""
    ev, typed = measure(tmp_path / "drop", {"fx": weekly_rates(drop=0.8)})
    (o,) = shifts_of(ev, typed, s)
    assert (o.target, o.evidence["measure"], o.evidence["period"][:7]) == ("fx.rate", "mean:rate", "2025-07")
    ev, typed = measure(tmp_path / "steady", {"fx": weekly_rates(drop=1.0)})
    assert shifts_of(ev, typed, s) == []


def test_category_codes_that_read_as_booleans_are_not_a_failed_typing(tmp_path, s):
    flags = ["N", "R", "A", "F", "O"]
    ev, _ = measure(tmp_path, {"t": "flag\n" + "\n".join(flags[i % 5] for i in range(100)) + "\n"})
    assert ev.types["t"]["flag"].type == "text" and ev.types["t"]["flag"].alternatives == (("boolean", 0.4),)
    assert [o for o in type_fidelity(ev, s) if o.target == "t.flag"] == []


def test_padding_in_free_text_is_not_a_category_problem(tmp_path, s):
    names = ["north", "south", " east", "west "] * 10
    ev, _ = measure(tmp_path, {"t": "region,comment\n" + "\n".join(f"{n}, note {i} " for i, n in enumerate(names))
                               + "\n"})
    ev = annotated(ev, annotation("t", "region", role="dimension"), annotation("t", "comment", role="attribute"))
    found = category_consistency(ev, s)
    assert [o.target for o in found] == ["t.region"]
