"""Derived columns on small tables whose relations are known by construction: each operation,
rounding noise, NULL read as 0, mismatches, one answer per relation, the guards against relations
that hold by accident, and relations across a relationship (a row-level one and a parent total)."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from phases.artifacts.derived_columns import DerivedColumn, Operand
from phases.core.sql import quote_ident
from phases.structure.correlations import Join, analyse_join, table_cols
from phases.structure.derived_columns import search_child_sums, search_derived_columns
from phases.structure.derived_sample import DerivedSettings, bucket_width, match_sql
from tests.test_correlations import analyse, make_table, profiles_of, settings

N = 40
QTY = [1 + (i * 7) % 9 for i in range(N)]
RATE = [round(0.37 + (i * 13 % 17) * 1.113, 3) for i in range(N)]  # three decimals: products need rounding


def derived(con: duckdb.DuckDBPyConnection, columns: dict[str, tuple[str, list[Any]]], **config: Any
            ) -> dict[str, DerivedColumn]:
    """formula -> derived column found in table t."""
    _, _, found = analyse(con, columns, types={"qty": "integer"}, config=settings(derived=config))
    return {d.formula: d for d in found}


@pytest.mark.parametrize(("target", "values", "formula"), [
    ("total", [a + b for a, b in zip(QTY, RATE, strict=True)], "total = qty + rate"),
    ("total", [b - a for a, b in zip(QTY, RATE, strict=True)], "total = rate - qty"),
    ("total", [round(a * b, 2) for a, b in zip(QTY, RATE, strict=True)], "total = qty * rate"),
    ("total", [b / a for a, b in zip(QTY, RATE, strict=True)], "total = rate / qty"),
    ("total", list(RATE), "total = rate"),
    ("total", [-r for r in RATE], "total = -rate"),
], ids=["sum", "difference", "product", "ratio", "copy", "negation"])
def test_each_operation_is_found_with_every_row_matching(con, target, values, formula):
    found = derived(con, {"qty": ("BIGINT", QTY), "rate": ("DOUBLE", RATE), target: ("DOUBLE", values)})
    assert list(found) == [formula]
    assert (found[formula].match_rate, found[formula].rows_compared, found[formula].nulls_as_zero) == (1.0, N, False)


def test_a_product_rounded_to_cents_matches_within_the_tolerance_and_reports_the_noise(con):
    amount = [round(q * r, 2) for q, r in zip(QTY, RATE, strict=True)]
    (d,) = derived(con, {"qty": ("BIGINT", QTY), "rate": ("DOUBLE", RATE), "amount": ("DOUBLE", amount)}).values()
    assert (d.formula, d.operation, d.operands) == ("amount = qty * rate", "product",
                                                    (Operand("t", "qty"), Operand("t", "rate")))
    noise = max(abs(a - q * r) for a, q, r in zip(amount, QTY, RATE, strict=True))
    assert 0 < d.max_abs_error == pytest.approx(noise, abs=1e-9)
    assert d.max_abs_error <= 0.005


def test_a_product_off_by_more_than_the_tolerance_is_a_mismatch_with_its_values(con):
    amount = [q * r for q, r in zip(QTY, RATE, strict=True)]
    amount[4] += 1.0
    (d,) = derived(con, {"qty": ("BIGINT", QTY), "rate": ("DOUBLE", RATE), "amount": ("DOUBLE", amount)}).values()
    assert (d.rows_compared, d.rows_matched, d.match_rate) == (N, N - 1, round(39 / 40, 10))
    (m,) = d.mismatches
    assert (m.row_id, m.target, m.operands) == (5, amount[4], (QTY[4], RATE[4]))
    assert m.computed == pytest.approx(QTY[4] * RATE[4])


def test_the_match_rate_counts_only_rows_where_target_and_operands_are_present(con):
    amount: list[float | None] = [q * r for q, r in zip(QTY, RATE, strict=True)]
    qty: list[int | None] = list(QTY)
    amount[0] = amount[1] = None  # unparseable amounts
    qty[2] = None  # not a product line
    (d,) = derived(con, {"qty": ("BIGINT", qty), "rate": ("DOUBLE", RATE), "amount": ("DOUBLE", amount)}).values()
    assert (d.rows_compared, d.match_rate) == (N - 3, 1.0)


def test_a_difference_with_one_side_empty_reads_null_as_zero_and_says_so(con):
    debit = [r if i % 3 else None for i, r in enumerate(RATE)]
    credit = [None if i % 3 else r for i, r in enumerate(RATE)]
    net = [r if i % 3 else -r for i, r in enumerate(RATE)]
    found = derived(con, {"net": ("DOUBLE", net), "debit": ("DOUBLE", debit), "credit": ("DOUBLE", credit)})
    d = found["net = debit - credit"]
    assert (d.nulls_as_zero, d.rows_compared, d.match_rate) == (True, N, 1.0)
    assert "net = debit" not in found  # the copy on debit lines is explained by the difference on every line


def test_a_sum_of_two_columns_over_three_columns_is_found(con):
    a = [float(i % 11) for i in range(N)]
    b = [float((i * 3) % 7) + 0.5 for i in range(N)]
    c = [x + y for x, y in zip(a, b, strict=True)]
    found = derived(con, {"a": ("DOUBLE", a), "b": ("DOUBLE", b), "c": ("DOUBLE", c)})
    assert list(found) == ["c = a + b"]


def test_the_forms_of_one_relation_are_reported_once(con):
    # amount = qty * rate also holds as rate = amount / qty and qty = amount / rate
    amount = [q * r for q, r in zip(QTY, RATE, strict=True)]
    found = derived(con, {"qty": ("BIGINT", QTY), "rate": ("DOUBLE", RATE), "amount": ("DOUBLE", amount)})
    assert list(found) == ["amount = qty * rate"]


def test_a_neutral_operand_leaves_only_the_copy(con):
    zero = [0.0] * (N // 2) + [0.0] * (N // 2)
    found = derived(con, {"rate": ("DOUBLE", RATE), "fee": ("DOUBLE", zero[:-1] + [1.0]),
                          "total": ("DOUBLE", RATE)})
    assert list(found) == ["total = rate"]


def test_an_operand_that_is_always_empty_where_compared_makes_no_relation(con):
    # With NULL as 0, credit = balance - amount holds wherever balance is empty: that is only
    # credit = -amount, which is reported as such.
    amount = [-r for r in RATE]
    balance = [None] * N
    balance[:3] = [1.0, 2.0, 3.0]
    found = derived(con, {"amount": ("DOUBLE", amount), "balance": ("DOUBLE", balance), "credit": ("DOUBLE", RATE)})
    assert list(found) == ["credit = -amount"]


def test_a_relation_that_holds_only_on_zeros_is_not_reported(con):
    a = [0.0] * (N - 3) + [1.0, 2.0, 3.0]
    b = [0.0] * (N - 3) + [4.0, 5.0, 6.0]
    c = [float(i) for i in range(N)]
    found = derived(con, {"a": ("DOUBLE", a), "b": ("DOUBLE", b), "c": ("DOUBLE", c)}, min_nonzero_matches=3)
    assert found == {}


def test_a_relation_below_the_match_rate_is_not_reported(con):
    amount = [q * r if i % 4 else q * r + 5 for i, (q, r) in enumerate(zip(QTY, RATE, strict=True))]
    found = derived(con, {"qty": ("BIGINT", QTY), "rate": ("DOUBLE", RATE), "amount": ("DOUBLE", amount)})
    assert found == {}
    found = derived(con, {"qty": ("BIGINT", QTY), "rate": ("DOUBLE", RATE), "amount": ("DOUBLE", amount)},
                    min_match_rate=0.7)
    assert found["amount = qty * rate"].match_rate == 0.75


def test_columns_beyond_max_columns_are_listed_as_left_out(con):
    make_table(con, {"qty": ("BIGINT", QTY), "rate": ("DOUBLE", RATE), "other": ("DOUBLE", [None] + RATE[1:]),
                     "amount": ("DOUBLE", [q * r for q, r in zip(QTY, RATE, strict=True)])})
    profiles, _ = profiles_of(con, "t", {"qty": "integer"})
    found, search = search_derived_columns(con, "t", table_cols("t", profiles), settings(derived={"max_columns": 3})
                                           .derived, "t")
    assert (search.columns, search.columns_left_out) == (("qty", "rate", "amount"), ("other",))
    assert [d.formula for d in found] == ["amount = qty * rate"]


def test_any_column_name_is_quoted(con):
    names = ('Menge "x"', "Preis; DROP", "Betrag €")
    found = derived(con, {names[0]: ("BIGINT", QTY), names[1]: ("DOUBLE", RATE),
                          names[2]: ("DOUBLE", [q * r for q, r in zip(QTY, RATE, strict=True)])})
    assert list(found) == [f"{names[2]} = {names[0]} * {names[1]}"]


# --- across a relationship --------------------------------------------------------------------


def orders(con: duckdb.DuckDBPyConnection, broken_header: int | None = None) -> dict[str, dict]:
    """headers (id, total = sum of its lines' amounts, fee) and lines (header, product price, qty, amount)."""
    header = [i % 10 for i in range(N)]
    price = [float(5 + (i % 4) * 2) for i in range(10)]
    amount = [QTY[i] * price[header[i]] for i in range(N)]
    total = [sum(a for a, h in zip(amount, header, strict=True) if h == k) for k in range(10)]
    if broken_header is not None:
        total[broken_header] += 10
    make_table(con, {"id": ("BIGINT", list(range(10))), "price": ("DOUBLE", price), "total": ("DOUBLE", total)},
               "headers")
    make_table(con, {"header": ("BIGINT", header), "qty": ("BIGINT", QTY), "amount": ("DOUBLE", amount)}, "lines")
    return {t: profiles_of(con, t, {"qty": "integer", "id": "integer", "header": "integer"})[0]
            for t in ("headers", "lines")}


JOIN = Join("lines.header->headers.id", "lines", ("header",), "headers", ("id",), "many_to_one", 1.0, False)


def test_a_relation_across_a_relationship_uses_both_tables(con):
    profiles = orders(con)
    _, _, found, search = analyse_join(con, {"lines": "lines", "headers": "headers"}, JOIN, profiles, settings())
    formulas = {d.formula: d for d in found}
    d = formulas["lines.amount = headers.price * lines.qty"]
    assert (d.via, d.compared_in, d.rows_compared, d.match_rate) == (JOIN.id, "lines", N, 1.0)
    assert search.via == JOIN.id


def test_a_header_total_that_sums_its_lines_is_found_with_the_mismatching_header(con):
    profiles = orders(con, broken_header=3)
    s = settings(derived={"min_match_rate": 0.8}).derived
    cols = {t: [c for c in table_cols(t, profiles[t]) if c.name not in ("id", "header")] for t in profiles}
    (d,) = search_child_sums(con, quote_ident("lines"), quote_ident("headers"), [('"header"', 'p."id"')],
                             [c for c in cols["lines"] if c.name == "amount"], cols["headers"], s, JOIN.id)
    assert (d.formula, d.operation, d.nulls_as_zero) == ("headers.total = SUM(lines.amount)", "sum_of_children", True)
    assert (d.rows_compared, d.rows_matched, d.compared_in) == (10, 9, "headers")
    assert [m.row_id for m in d.mismatches] == [4]  # header id 3 is _row_id 4


@pytest.mark.parametrize("sample_rows", [10, 1000])  # 10: the 40 headers are screened on 10 of them first
def test_header_totals_of_a_long_parent_are_screened_on_a_sample_without_losing_one(con, sample_rows):
    headers = 40
    header = [i % headers for i in range(4 * headers)]
    amount = [float(1 + (i * 7) % 13) for i in range(len(header))]
    total = [sum(a for a, h in zip(amount, header, strict=True) if h == k) for k in range(headers)]
    total[5] += 1.0  # one broken total
    make_table(con, {"id": ("BIGINT", list(range(headers))), "total": ("DOUBLE", total),
                     "fee": ("DOUBLE", [float(k % 7) for k in range(headers)])}, "headers")
    make_table(con, {"header": ("BIGINT", header), "amount": ("DOUBLE", amount)}, "lines")
    profiles = {t: profiles_of(con, t, {"id": "integer", "header": "integer"})[0] for t in ("headers", "lines")}
    s = settings(derived={"sample_rows": sample_rows}).derived
    cols = {t: [c for c in table_cols(t, profiles[t]) if c.name not in ("id", "header")] for t in profiles}
    (d,) = search_child_sums(con, quote_ident("lines"), quote_ident("headers"), [('"header"', 'p."id"')],
                             cols["lines"], cols["headers"], s, JOIN.id)
    assert (d.formula, d.rows_compared, d.rows_matched) == ("headers.total = SUM(lines.amount)", 40, 39)
    assert [m.row_id for m in d.mismatches] == [6]  # header id 5 is _row_id 6


def test_a_copy_across_a_relationship_is_reported_down_to_its_own_lower_match_rate(con):
    """A payment that should equal its invoice but does not on one row in four is a broken
    reconciliation worth reporting; within one table the same rate is no relation at all."""
    price = [float(5 + (i % 4) * 2) for i in range(10)]
    header = [i % 10 for i in range(N)]
    paid = [price[h] if i % 4 else price[h] * 1.1 for i, h in enumerate(header)]  # every 4th row is off
    make_table(con, {"id": ("BIGINT", list(range(10))), "price": ("DOUBLE", price)}, "headers")
    make_table(con, {"header": ("BIGINT", header), "paid": ("DOUBLE", paid)}, "lines")
    profiles = {t: profiles_of(con, t, {"id": "integer", "header": "integer"})[0] for t in ("headers", "lines")}
    join = Join("lines.header->headers.id", "lines", ("header",), "headers", ("id",), "many_to_one", 1.0, False)

    _, _, found, _ = analyse_join(con, {"lines": "lines", "headers": "headers"}, join, profiles, settings())
    (d,) = [d for d in found if d.formula == "lines.paid = headers.price"]
    assert (d.rows_compared, d.rows_matched, d.via) == (N, 30, join.id)

    strict = settings(derived={"copy_across_min_match_rate": 0.95})
    _, _, found, _ = analyse_join(con, {"lines": "lines", "headers": "headers"}, join, profiles, strict)
    assert [d.formula for d in found if d.formula == "lines.paid = headers.price"] == []


def test_a_negated_copy_across_a_relationship_is_found_with_its_broken_rows(con):
    """A bank line is minus its payment (money out), except on the 10 of 40 rows edited by hand."""
    amount = [round(20 + i * 7.31, 2) for i in range(10)]
    header = [i % 10 for i in range(N)]
    bank = [-amount[h] if i % 4 else -amount[h] * 1.3 for i, h in enumerate(header)]
    make_table(con, {"id": ("BIGINT", list(range(10))), "amount": ("DOUBLE", amount)}, "headers")
    make_table(con, {"header": ("BIGINT", header), "moved": ("DOUBLE", bank)}, "lines")
    profiles = {t: profiles_of(con, t, {"id": "integer", "header": "integer"})[0] for t in ("headers", "lines")}
    _, _, found, _ = analyse_join(con, {"lines": "lines", "headers": "headers"}, JOIN, profiles, settings())
    (d,) = [d for d in found if d.operation == "negation"]
    assert (d.formula, d.rows_compared, d.rows_matched) == ("lines.moved = -headers.amount", N, 30)
    assert [m.computed for m in d.mismatches][:1] == [-amount[0]]


# --- relations that hold by accident --------------------------------------------------------


def test_equal_small_integers_are_not_a_copy_when_chance_explains_them(con):
    """Two counts that are 1 on most rows are equal on most rows: that is chance, not a copy."""
    a = [1 if i % 10 else 2 for i in range(200)]
    b = [1 if i % 11 else 0 for i in range(200)]
    found = derived(con, {"a": ("BIGINT", a), "b": ("BIGINT", b)}, min_match_rate=0.8)
    assert found == {}


def test_a_real_copy_is_measured_against_its_chance_rate(con):
    found = derived(con, {"qty": ("BIGINT", QTY), "rate": ("DOUBLE", RATE), "again": ("DOUBLE", RATE)})
    d = found["again = rate"]
    assert d.match_rate == 1.0 and d.chance_match_rate is not None and d.chance_match_rate < 0.2


def test_values_with_a_large_offset_match_only_within_their_own_spread(con):
    """A decimal year (2000.04, 2000.08, ...) is not a copy of the year, though 0.1% of 2000 is 2."""
    year = [2000 + i // 12 for i in range(120)]
    date = [round(2000 + i / 12, 3) for i in range(120)]
    found = derived(con, {"year": ("BIGINT", year), "date": ("DOUBLE", date)})
    assert found == {}


def test_a_division_by_a_column_that_is_one_wherever_it_matches_is_no_relation(con):
    """total = rate / flag holds on every row where flag is not 0, but flag is 1 there: x / 1 is x."""
    flag = [1.0] * 12 + [0.0] * (N - 12)
    total = [r if i < 12 else r * 3 for i, r in enumerate(RATE)]
    found = derived(con, {"flag": ("DOUBLE", flag), "rate": ("DOUBLE", RATE), "total": ("DOUBLE", total)})
    assert [f for f in found if "flag" in f] == []


@pytest.mark.parametrize("spread", [0.0, 0.5, 3.0, 250.0, 2_450_000.0, float("nan")])
def test_every_value_a_target_may_match_lies_in_its_bucket_or_the_two_beside_it(con, spread):
    """The sample search compares a target only with formulas in neighbouring buckets of
    bucket_width: every pair that match_sql accepts must be among them (values near the tolerance,
    on both sides of zero and of bucket edges)."""
    s = DerivedSettings()
    width = bucket_width(spread, s)
    con.execute("CREATE TABLE v AS SELECT a, a + d * t AS f FROM (SELECT unnest(?::DOUBLE[]) AS a), "
                "(SELECT unnest([-1.0, -0.999, -0.5, 0.5, 0.999, 1.0, 1.001]) AS d), "
                "(SELECT unnest(?::DOUBLE[]) AS t)",
                [[-1e6, -700.3, -16.0, -0.004, 0.0, 0.003, 1.0, 15.999, 16.0, 255.9, 2_450_123.0],
                 [0.005, 0.25, 1.0, 2_450.0, 1e9]])
    spread_sql = f"CAST('{spread!r}' AS DOUBLE)"
    far = con.execute(f"SELECT count(*), count_if(abs(floor(a / CAST('{width!r}' AS DOUBLE)) - "
                      f"floor(f / CAST('{width!r}' AS DOUBLE))) > 1) FROM v "
                      f"WHERE {match_sql('a', 'f', s, spread_sql)}").fetchone()
    assert far is not None and far[0] > 0 and far[1] == 0
