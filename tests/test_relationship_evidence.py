"""Foreign keys decided from values with chance corrected, names only breaking ties: role-named
references into dense surrogate keys, counts and copies that merely fall inside a key's range,
keys numbered by one counter, references within one table, one-row parents, composite
references (every column plausible, the key's column order, the parent's range), the likely
list with its orphans and the choice of the primary key. Every table is built so that the
answer is known by construction."""

from __future__ import annotations

import random
from typing import Any

import pytest

from phases.structure.fk_evidence import binomial_decades, expected_cycles, shape_space
from phases.structure.key_candidates import location_chance
from tests.test_relationships import amounts, by_id, discover, found, ints, rejected, texts


def likely(report: Any) -> set[str]:
    return {r.id for r in report.likely}


# --- chance ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("child", "parent", "chance"), [
    ((1, 1000), (1, 1000), 1 / 1002),  # a child spanning all of a key's range: hardly by accident
    ((1, 100), (1, 180), 81 / 262),  # small counts fit any key range that starts at 1
    ((2450816, 2452642), (2415022, 2488070), 71223 / 4974315),  # a day key far from zero: specific
    ((5, 9), (100, 200), 1.0),  # no overlap: no location evidence
])
def test_the_location_chance_is_the_share_of_random_placements_that_fit_the_parent(child, parent, chance):
    assert location_chance(child, parent, 2.0) == pytest.approx(chance)


def test_binomial_decades_count_only_what_exceeds_chance():
    assert binomial_decades(10, 10, 0.1) == pytest.approx(10.0)
    assert binomial_decades(10, 1, 0.1) == 0.0
    assert binomial_decades(10, 10, 1.0) == 0.0


def test_a_shape_space_counts_letters_and_digits_and_a_cut_shape_is_unbounded():
    assert shape_space("AA-99") == 26 * 26 * 100
    assert shape_space("AAAA…") == float("inf")


def test_more_pointers_landing_on_pointing_rows_expect_more_cycles():
    assert 0 < expected_cycles(0.2) < expected_cycles(0.9)


# --- single columns --------------------------------------------------------------------------


def demographics(rng: random.Random, n: int = 3000) -> dict[str, Any]:
    return {"demo_key": ints(list(range(1, n + 1))),
            "education": texts([rng.choice(["primary", "secondary", "college"]) for _ in range(n)])}


def test_a_role_named_reference_into_a_dense_surrogate_key_is_found_from_its_values(con):
    rng = random.Random(1)
    rows = 600
    report = discover(con, {
        "demographics": demographics(rng),
        "returns": {"return_no": ints(list(range(1, rows + 1))),
                    "refunded_demo_key": ints([rng.randint(1, 3000) for _ in range(rows)]),
                    "quantity": ints([rng.randint(1, 100) for _ in range(rows)])},
    })
    assert found(report) == {"returns.refunded_demo_key->demographics.demo_key"}
    link = by_id(report, "returns.refunded_demo_key->demographics.demo_key")
    assert link.evidence["value_decades"] >= 2  # the values alone carry it
    assert rejected(report, "returns.quantity->demographics.demo_key").evidence["containment_expected_by_chance"]


def test_two_keys_numbered_by_one_counter_do_not_reference_each_other(con):
    rng = random.Random(2)
    report = discover(con, {
        "demographics": demographics(rng),
        "households": {"household_key": ints(list(range(1, 701))),
                       "vehicles": ints([rng.randint(0, 4) for _ in range(700)])},
    })
    assert found(report) == set()
    assert "numbered by one counter" in rejected(report, "households.household_key->demographics.demo_key").reason


def test_business_ids_spelled_from_the_row_number_are_not_references(con):
    def spelled(k: int) -> str:  # a business id derived from a row number, as a generator writes it
        return "ID" + "".join(chr(65 + int(d)) for d in f"{k:06d}")

    items, row = [], 1
    for count in [1, 2, 3] * 30:  # items of 1 to 3 versions; every version row holds the id of its first row
        items += [spelled(row)] * count
        row += count
    report = discover(con, {
        "customers": {"customer_no": ints(list(range(1, 1001))),
                      "customer_id": texts([spelled(k) for k in range(1, 1001)])},
        "items": {"item_no": ints(list(range(1, len(items) + 1))), "item_id": texts(items)},
    })
    assert not any(r.child_table == "items" and r.child_columns == ("item_id",) for r in report.relationships)


def test_a_unique_column_holding_the_first_keys_in_order_is_a_reference_only_when_named_so(con):
    """A payment per invoice, written in invoice order, looks exactly like two tables numbered by
    one counter: the values cannot tell, the names break the tie."""
    invoices = [f"INV-{i:03d}" for i in range(1, 41)]
    report = discover(con, {
        "invoices": {"invoice_id": texts(invoices)},
        "payments": {"payment_id": texts([f"PAY-{i:03d}" for i in range(1, 31)]), "invoice_id": texts(invoices[:30])},
        "promotions": {"promo_id": texts([f"PRM-{i:03d}" for i in range(1, 21)]), "code": texts(invoices[:20])},
        "invoice_notes": {"invoice_id": texts(invoices[:25]), "note": texts([f"n{i % 3}" for i in range(25)])},
        # two demographics tables numbered 1..n, their ids named alike but not the same
        "customer_demo": {"cd_demo_sk": ints(list(range(1, 41))), "cd_band": texts([f"b{i % 4}" for i in range(40)])},
        "household_demo": {"hd_demo_sk": ints(list(range(1, 16))), "hd_size": ints([i % 5 for i in range(15)])},
    })
    assert {"payments.invoice_id->invoices.invoice_id", "invoice_notes.invoice_id->invoices.invoice_id"} \
        <= found(report)
    assert not any(r.child_table in ("promotions", "household_demo") for r in report.relationships)


def test_a_time_of_day_equal_to_the_time_key_is_the_same_parent_not_a_second_one(con):
    rng = random.Random(3)
    seconds = list(range(0, 3600))
    report = discover(con, {
        "time_dim": {"time_key": ints(seconds), "time_of_day": ints(seconds),
                     "minute": ints([s // 60 for s in seconds])},
        "sales": {"sale_no": ints(list(range(1, 501))),
                  "sold_time_key": ints([rng.randint(0, 3599) for _ in range(500)])},
    })
    assert found(report) == {"sales.sold_time_key->time_dim.time_key"}


def test_a_column_copying_its_own_rows_key_is_not_a_self_reference(con):
    n = 200
    report = discover(con, {"returns": {"return_no": ints(list(range(1, n + 1))),
                                        "refunded_customer": ints([1000 + i for i in range(n)]),
                                        "returning_customer": ints([1000 + i if i % 10 else 1000 + (i + 1) % n
                                                                    for i in range(n)])}})
    assert not any(r.self_reference for r in report.relationships)


def test_a_hint_word_alone_does_not_make_a_self_reference_when_following_it_cycles(con):
    rng = random.Random(4)
    n = 180
    report = discover(con, {"item": {"item_key": ints(list(range(1, n + 1))),
                                     "manager_id": ints([rng.randint(1, 98) for _ in range(n)])}})
    assert found(report) == set()


def test_a_constant_reference_to_a_one_row_table_is_carried_by_its_name_and_a_constant_flag_is_not(con):
    rows = 400
    report = discover(con, {
        "store": {"store_key": ints([1]), "store_name": texts(["Main street"])},
        "items": {"item_key": ints(list(range(1, 51))), "label": texts([f"item {i}" for i in range(50)])},
        "sales": {"sale_no": ints(list(range(1, rows + 1))), "store_key": ints([1] * rows),
                  "promo_flag": ints([1] * rows), "item_key": ints([1 + i % 50 for i in range(rows)])},
    })
    assert found(report) == {"sales.store_key->store.store_key", "sales.item_key->items.item_key"}
    link = by_id(report, "sales.store_key->store.store_key")
    assert link.evidence["value_decades"] < 1 < link.evidence["name_decades"]  # the values only agree


def test_a_one_row_tables_other_columns_are_no_parents(con):
    report = discover(con, {
        "store": {"store_key": ints([1]), "hours": texts(["8AM-4PM"])},
        "call_center": {"center_key": ints([1]), "hours": texts(["8AM-4PM"])},
    })
    assert found(report) == set() and likely(report) == set()


# --- composite references --------------------------------------------------------------------


def episodes_source(rng: random.Random) -> dict[str, Any]:
    """Series of 6 to 10 episodes; bakers per series; their results per episode; a count of the
    episodes each baker appeared in (inside the episode numbers' range: a trap)."""
    series_lengths = {s: 6 + (s % 5) for s in range(1, 11)}
    episodes = [(s, e) for s, n in series_lengths.items() for e in range(1, n + 1)]
    bakers = [(s, f"{name}{s % 3}") for s in series_lengths for name in ("Ann", "Ben", "Cat", "Dan", "Eve", "Fay")]
    appeared = {(s, b): rng.randint(1, series_lengths[s]) for s, b in bakers}
    results = [(s, e, b) for s, b in bakers for e in range(1, appeared[(s, b)] + 1)]
    return {
        "series": {"series": ints(list(series_lengths)), "episodes": ints(list(series_lengths.values()))},
        "episodes": {"series": ints([s for s, _ in episodes]), "episode": ints([e for _, e in episodes]),
                     "viewers": amounts(len(episodes), rng)},
        "bakers": {"series": ints([s for s, _ in bakers]), "baker": texts([b for _, b in bakers]),
                   "episodes_appeared": ints([appeared[k] for k in bakers])},
        # the child table lists episode before series: the reference is reported in the key's order
        "results": {"episode": ints([e for _, e, _ in results]), "series": ints([s for s, _, _ in results]),
                    "baker": texts([b for _, _, b in results]),
                    "score": ints([rng.randint(1, 10) for _ in results])},
    }


def test_a_composite_reference_is_found_whole_in_the_keys_column_order_and_a_count_is_no_column_of_one(con):
    report = discover(con, episodes_source(random.Random(5)))
    ids = found(report)
    assert "results.(series, episode)->episodes.(series, episode)" in ids
    assert "results.(series, baker)->bakers.(series, baker)" in ids
    assert not any("episodes_appeared" in i or "(episode, series)" in i for i in ids)
    assert report.primary_keys["episodes"][0] == ("series", "episode")


def test_a_composite_back_along_its_parents_own_reference_is_only_likely(con):
    report = discover(con, episodes_source(random.Random(6)))
    assert "episodes.series->series.series" in found(report)
    assert "series.(series, episodes)->episodes.(series, episode)" not in found(report)


def test_a_column_of_a_composite_key_that_is_no_key_alone_gets_no_reference_of_its_own(con):
    rng = random.Random(7)
    seasons = {s: [f"queen{(s * 7 + k) % 60}" for k in range(12)] for s in range(1, 8)}
    contestants = [(s, q) for s, qs in seasons.items() for q in qs]
    appearances = [(s, q, e) for s, q in contestants for e in range(1, rng.randint(2, 6))]
    report = discover(con, {
        "contestants": {"season": ints([s for s, _ in contestants]), "contestant": texts([q for _, q in contestants]),
                        "age": ints([rng.randint(21, 40) for _ in contestants])},
        "appearances": {"season": ints([s for s, _, _ in appearances]),
                        "contestant": texts([q for _, q, _ in appearances]),
                        "episode": ints([e for _, _, e in appearances])},
    })
    assert "appearances.(season, contestant)->contestants.(season, contestant)" in found(report)
    assert "appearances.contestant->contestants.contestant" not in found(report)


def test_a_composite_reference_running_beyond_the_parents_years_is_accepted_with_its_orphans(con):
    countries = [f"Country {c:03d}" for c in range(60)]
    population = [(c, y) for c in countries for y in range(1995, 2014)]
    cases = [(c, y) for c in countries for y in range(1980, 2014)]
    rng = random.Random(8)
    report = discover(con, {
        "population": {"country": texts([c for c, _ in population]), "year": ints([y for _, y in population]),
                       "population": ints(rng.sample(range(10_000, 900_000_000), len(population)))},
        "cases": {"country": texts([c for c, _ in cases]), "year": ints([y for _, y in cases]),
                  "new_cases": ints([rng.randint(0, 5000) for _ in cases])},
    })
    assert report.primary_keys["population"][0] == ("country", "year")
    link = by_id(report, "cases.(country, year)->population.(country, year)")
    assert link.orphan_rows == 60 * 15  # the years 1980-1994 the population table does not cover


# --- likely and keys -------------------------------------------------------------------------


def test_a_reference_below_the_containment_gate_with_strong_values_is_likely_with_its_orphans(con):
    rng = random.Random(9)
    codes = [f"K-{i:05d}" for i in range(1, 401)]
    values = [rng.choice(codes) for _ in range(600)] + [f"X-{i:05d}" for i in range(300)]
    report = discover(con, {
        "accounts": {"account_code": texts(codes), "owner": texts([f"owner {i}" for i in range(400)])},
        "postings": {"posting_no": ints(list(range(1, 901))), "account_code": texts(values)},
    })
    assert found(report) == set()
    link = next(r for r in report.likely if r.id == "postings.account_code->accounts.account_code")
    assert (link.orphan_rows, link.orphan_values) == (300, 300)
    assert "below min_containment" in link.evidence["unverified_because"]


def test_the_primary_key_is_the_candidate_key_other_tables_reference(con):
    rng = random.Random(10)
    n = 300
    report = discover(con, {
        "customer": {"customer_id": texts([f"CUST{k:06d}" for k in range(n)]),
                     "customer_sk": ints([7 * k + 3 for k in range(n)])},
        "orders": {"order_sk": ints(list(range(1, 1001))),
                   "customer_sk": ints([7 * rng.randrange(n) + 3 for _ in range(1000)])},
    })
    assert found(report) == {"orders.customer_sk->customer.customer_sk"}
    assert report.primary_keys["customer"][0] == ("customer_sk",)


def test_a_measure_unique_by_chance_is_not_chosen_as_the_primary_key(con):
    rng = random.Random(11)
    rows = [(f"c{c}", 1950 + 5 * y) for c in range(30) for y in range(12)]
    report = discover(con, {"gapminder": {
        "country": texts([c for c, _ in rows]), "year": ints([y for _, y in rows]),
        "pop": ints(rng.sample(range(60_000, 1_300_000_000), len(rows))),
    }})
    assert report.primary_keys["gapminder"][0] == ("country", "year")


def test_sparse_account_numbers_unique_by_chance_are_still_referenced_and_the_primary_key(con):
    rng = random.Random(12)
    accounts = sorted(rng.sample(range(10_000, 100_000), 60))  # uniqueness alone is expected by chance here
    report = discover(con, {
        "chart_of_accounts": {"account_id": ints(accounts), "name": texts([f"Account {a}" for a in accounts])},
        "journal_lines": {"line_id": ints(list(range(1, 801))), "account_id": ints([rng.choice(accounts)
                                                                                   for _ in range(800)])},
    })
    assert found(report) == {"journal_lines.account_id->chart_of_accounts.account_id"}
    assert report.primary_keys["chart_of_accounts"][0] == ("account_id",)


@pytest.mark.parametrize(("decades", "confidence"), [(0.0, 0.0), (1.0, 0.4), (2.0, 0.8), (3.0, 0.9), (9.0, 1.0)])
def test_confidence_is_the_accepted_level_at_the_acceptance_cut_and_one_from_full_evidence(decades, confidence):
    from phases.structure.fk_evidence import confidence as to_confidence
    from phases.structure.relationship_settings import EvidenceSettings

    assert to_confidence(decades, EvidenceSettings()) == pytest.approx(confidence)
