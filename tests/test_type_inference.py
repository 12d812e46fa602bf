"""Tests of phases.ingest.type_inference: known answers per format, whole-column decisions,
cast failures, overrides, awkward column names, determinism and settings validation."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from pathlib import Path

import duckdb
import pytest
from pydantic import ValidationError

from phases.core.config import ColumnOverride, parse_model, read_yaml
from phases.core.errors import ConfigError
from phases.core.sql import quote_ident, quote_literal
from phases.ingest.type_inference import ColumnTyping, TypingResult, infer_types
from phases.ingest.typing_settings import TypingSettings

CONFIG = Path(__file__).resolve().parents[1] / "config" / "typing.yaml"
DEFAULTS = TypingSettings()
ONE_CHUNK = DEFAULTS.model_copy(update={"sample_rows": 100, "sample_chunks": 1})  # a 100-row sample


def write_raw(path: Path, columns: dict[str, list[str | None]]) -> Path:
    """raw.parquet as the import phase writes it: _row_id (1-based), then VARCHAR columns.
    Shorter columns are padded with NULLs."""
    length = max((len(v) for v in columns.values()), default=0)
    rows = [(i + 1, *(v[i] if i < len(v) else None for v in columns.values())) for i in range(length)]
    con = duckdb.connect()
    ddl = ", ".join(["_row_id BIGINT", *(f"{quote_ident(name)} VARCHAR" for name in columns)])
    con.execute(f"CREATE TABLE raw ({ddl})")
    if rows:
        con.executemany(f"INSERT INTO raw VALUES ({', '.join('?' * (len(columns) + 1))})", rows)
    con.execute(f"COPY raw TO {quote_literal(path)} (FORMAT parquet)")
    return path


def run(tmp_path: Path, columns, overrides=None, settings=DEFAULTS, out="out") -> TypingResult:
    raw = tmp_path / "raw.parquet"
    if not raw.exists():
        write_raw(raw, columns)
    return infer_types(duckdb.connect(), raw, tmp_path / out, settings, overrides or {})


def col(result: TypingResult, name: str) -> ColumnTyping:
    return next(c for c in result.columns if c.name == name)


def typed(tmp_path: Path, name: str, out="out") -> list:
    path = quote_literal(tmp_path / out / "typed.parquet")
    query = f"SELECT {quote_ident(name)} FROM read_parquet({path}) ORDER BY _row_id"
    return [r[0] for r in duckdb.sql(query).fetchall()]


def failures(tmp_path: Path, out="out") -> list[tuple]:
    path = quote_literal(tmp_path / out / "cast_failures.parquet")
    return duckdb.sql(f"SELECT * FROM read_parquet({path})").fetchall()


# --- known answers: one column per case, all typed in one run --------------------------

KNOWN = [
    # (values, type, unit, format, decimal separator)
    (["1", "22", "-333", "+4", "0"], "integer", None, None, "."),
    (["1,234", "12", "1,234,567", "-5,000"], "integer", None, None, "."),
    (["1 234", "12", "1 234 567"], "integer", None, None, "."),
    (["1.5", "-2.25", "3", ".5", "1e3"], "decimal", None, None, "."),
    (["1,5", "-2,25", "3", "0,125"], "decimal", None, None, ","),
    (["1,234.56", "2,000.00", "12.5"], "decimal", None, None, "."),
    (["1.234,56", "2.000,00", "12,5"], "decimal", None, None, ","),
    (["1 234,56", "2 000,5", "7,25"], "decimal", None, None, ","),
    (["$1,234.50", "-$5.00", "(1,000.00)", "$0.99"], "currency", "USD", None, "."),
    (["€12,50", "€3,00", "€1.234,56"], "currency", "EUR", None, ","),
    (["12.50 EUR", "3.00 EUR", "-1.00 EUR"], "currency", "EUR", None, "."),
    (["USD 1,234.00", "USD 5.00"], "currency", "USD", None, "."),
    (["£4.00", "£12.30"], "currency", "GBP", None, "."),
    (["¥1,000", "¥250"], "currency", "JPY", None, "."),
    (["CHF 12.00", "CHF 7.50"], "currency", "CHF", None, "."),
    (["12.5%", "3%", "-0.5 %", "100%"], "percent", "percent", None, "."),
    (["12,5%", "3%", "0,25 %"], "percent", "percent", None, ","),
    (["true", "False", "TRUE", "false"], "boolean", None, None, None),
    (["yes", "No", "YES"], "boolean", None, None, None),
    (["Y", "n", "y", "N"], "boolean", None, None, None),
    (["t", "F", "T"], "boolean", None, None, None),
    (["0", "1", "1", "0"], "integer", None, None, "."),
    (["2024-01-31", "2023-12-01", "2024-02-29"], "date", None, "%Y-%m-%d", None),
    (["2024/01/31", "2023/12/01"], "date", None, "%Y/%m/%d", None),
    (["01/31/2024", "12/01/2023", "2/3/2024"], "date", None, "%m/%d/%Y", None),
    (["31/01/2024", "01/12/2023", "3/2/2024"], "date", None, "%d/%m/%Y", None),
    (["31.01.2024", "01.12.2023"], "date", None, "%d.%m.%Y", None),
    (["20240131", "20231201", "20240229"], "date", None, "%Y%m%d", None),
    (["31-Jan-2024", "01-Dec-2023", "5-MAR-2024"], "date", None, "%d-%b-%Y", None),
    (["Jan 31, 2024", "Dec 1, 2023"], "date", None, "%b %d, %Y", None),
    (["July 15, 2016", "August 5, 2016"], "date", None, "%B %d, %Y", None),
    (["Jan 1 2000", "Feb 29 2024", "Dec 31 1999"], "date", None, "%b %d %Y", None),
    (["July 15 2016", "September 1 2016"], "date", None, "%B %d %Y", None),
    (["01-Aug-25", "31-Dec-99"], "date", None, "%d-%b-%y", None),
    (["2024-01", "2023-12", "2024-02"], "date", None, "%Y-%m", None),
    (["Jan 2024", "Dec 2023"], "date", None, "%b %Y", None),
    (["2024Q1", "2023-Q4", "2024 q2"], "date", None, "%Y-Q%q", None),
    (["Q1 2024", "Q4-2023"], "date", None, "Q%q %Y", None),
    (["2024-01-31T10:15:00", "2024-02-01T08:00:00"], "timestamp", None, None, None),
    (["2024-01-31 10:15", "2024-02-01 08:00:59.123456"], "timestamp", None, None, None),
    (["2024-01-31T10:15:00Z", "2024-02-01T08:00:00.5Z"], "timestamp", None, None, None),
    (["2024-01-31T10:15:00+02:00", "2024-02-01T08:00:00-0530"], "timestamp", None, None, None),
    (["01/31/2024 1:05 PM", "12/01/2023 11:59 am"], "timestamp", None, "%m/%d/%Y %I:%M %p", None),
    (["31.01.2024 14:30:00", "01.12.2023 08:00:00"], "timestamp", None, "%d.%m.%Y %H:%M:%S", None),
    (["2024/01/31 14:30", "2023/12/01 08:00"], "timestamp", None, "%Y/%m/%d %H:%M", None),
    (["apple", "banana", "cherry"], "text", None, None, None),
    (["01/02/20", "03/04/21"], "text", None, None, None),  # two-digit years are not year 20
]
KNOWN_IDS = [f"{i:02d}:{'|'.join(values)[:40]}" for i, (values, *_) in enumerate(KNOWN)]


@pytest.fixture(scope="module")
def known(tmp_path_factory) -> TypingResult:
    tmp = tmp_path_factory.mktemp("known")
    return run(tmp, {f"c{i}": values for i, (values, *_) in enumerate(KNOWN)})


@pytest.mark.parametrize(("index", "case"), list(enumerate(KNOWN)), ids=KNOWN_IDS)
def test_each_format_is_recognised_with_its_unit_format_and_separator(known, index, case):
    _values, type_, unit, fmt, decimal = case
    got = col(known, f"c{index}")
    assert (got.type, got.unit, got.format, got.decimal_separator) == (type_, unit, fmt, decimal)
    assert got.parse_rate == 1.0 and got.failures == 0


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1,234", "-7", "1,234,567", "+4"], [1234, -7, 1234567, 4]),
        (["1,234.56", "-0.5", "3", "1e3"], [1234.56, -0.5, 3.0, 1000.0]),
        (["1.234,56", "-0,5", "3", "1 234,5"], [1234.56, -0.5, 3.0, 1234.5]),
        (["$1,234.50", "-$5.00", "(1,000.00)", "$(2.50)"], [1234.5, -5.0, -1000.0, -2.5]),
        (["€12,50", "-€3,00", "€1.234,56", "(€1,00)"], [12.5, -3.0, 1234.56, -1.0]),
        (["12.50 EUR", "USD 1,234.00", "USD -2.00", "7 GBP"], [12.5, 1234.0, -2.0, 7.0]),
        (["12.5%", "-3%", "0.5 %"], [12.5, -3.0, 0.5]),
        (["yes", "No", "TRUE", "f"], [True, False, True, False]),
    ],
)
def test_numbers_booleans_and_amounts_parse_to_exact_values(tmp_path, values, expected):
    run(tmp_path, {"v": values})
    assert typed(tmp_path, "v") == expected


def test_dates_parse_to_exact_days_in_each_order(tmp_path):
    run(tmp_path, {"us": ["01/31/2024", "02/03/2024"], "eu": ["31/01/2024", "02/03/2024"]})
    assert typed(tmp_path, "us") == [date(2024, 1, 31), date(2024, 2, 3)]
    assert typed(tmp_path, "eu") == [date(2024, 1, 31), date(2024, 3, 2)]


def test_months_quarters_and_two_digit_year_dates_parse_to_their_first_day(tmp_path):
    run(tmp_path, {
        "month": ["2024-01", "2023-12"], "quarter": ["2024Q3", "2023-Q4"], "q_first": ["Q2 2024", "Q1 2023"],
        "named": ["Jan 5 2000", "Dec 31 1999"], "short": ["01-Aug-25", "15-Mar-98"],
    })
    assert typed(tmp_path, "month") == [date(2024, 1, 1), date(2023, 12, 1)]
    assert typed(tmp_path, "quarter") == [date(2024, 7, 1), date(2023, 10, 1)]
    assert typed(tmp_path, "q_first") == [date(2024, 4, 1), date(2023, 1, 1)]
    assert typed(tmp_path, "named") == [date(2000, 1, 5), date(1999, 12, 31)]
    assert typed(tmp_path, "short") == [date(2025, 8, 1), date(1998, 3, 15)]


def test_timestamps_with_offsets_are_stored_in_utc(tmp_path):
    values = ["2024-01-31T10:00:00+02:00", "2024-01-31T10:00:00Z", "2024-01-31 10:00:00-0530", "2024-01-31T10:00"]
    result = run(tmp_path, {"ts": values})
    assert col(result, "ts").type == "timestamp"
    assert typed(tmp_path, "ts") == [
        datetime(2024, 1, 31, 8, 0),
        datetime(2024, 1, 31, 10, 0),
        datetime(2024, 1, 31, 15, 30),
        datetime(2024, 1, 31, 10, 0),
    ]


def test_am_pm_timestamps_parse_to_24_hour_times(tmp_path):
    run(tmp_path, {"ts": ["01/31/2024 1:05 PM", "01/31/2024 12:00 AM", "01/31/2024 12:30 pm"]})
    assert typed(tmp_path, "ts") == [
        datetime(2024, 1, 31, 13, 5),
        datetime(2024, 1, 31, 0, 0),
        datetime(2024, 1, 31, 12, 30),
    ]


def test_surrounding_whitespace_is_ignored_and_blank_values_count_as_null(tmp_path):
    result = run(tmp_path, {"n": [" 42 ", "\t7", "8\u00a0", "   ", "9"]})
    got = col(result, "n")
    assert (got.type, got.non_null, got.failures) == ("integer", 4, 0)
    assert typed(tmp_path, "n") == [42, 7, 8, None, 9]


def test_the_type_comes_from_the_values_not_the_column_name(tmp_path):
    result = run(tmp_path, {"date": ["1", "2", "3"], "amount": ["x", "y", "z"]})
    assert (col(result, "date").type, col(result, "amount").type) == ("integer", "text")


# --- whole-column decisions ------------------------------------------------------------


def test_mixed_currencies_are_all_recorded_with_counts(tmp_path):
    result = run(tmp_path, {"amount": ["$1.00", "$2.00", "€3.00", "£4.00", "$5.00", "12.00 EUR"]})
    got = col(result, "amount")
    assert (got.type, got.mixed, got.unit) == ("currency", True, None)
    assert got.units == (("USD", 3), ("EUR", 2), ("GBP", 1))
    assert "mixed currencies" in got.note


def test_dates_that_cannot_tell_day_from_month_are_flagged_ambiguous(tmp_path):
    result = run(tmp_path, {"d": ["01/02/2024", "03/04/2024", "05/06/2024"]})
    got = col(result, "d")
    assert (got.type, got.format, got.ambiguous) == ("date", "%m/%d/%Y", True)
    assert got.note == "day/month order cannot be told from the data; assumed MM/DD"
    assert got.confidence == pytest.approx(DEFAULTS.ambiguous_confidence_factor)
    assert typed(tmp_path, "d")[0] == date(2024, 1, 2)


def test_the_configured_default_order_applies_to_ambiguous_dates(tmp_path):
    settings = DEFAULTS.model_copy(update={"date_order_default": "day_first"})
    result = run(tmp_path, {"d": ["01/02/2024", "03/04/2024"]}, settings=settings)
    assert (col(result, "d").format, col(result, "d").ambiguous) == ("%d/%m/%Y", True)
    assert typed(tmp_path, "d")[0] == date(2024, 2, 1)


def test_a_day_above_12_outside_the_sample_still_decides_the_order(tmp_path):
    values = ["01/02/2024"] * 999
    values[900] = "13/02/2024"  # far beyond the 100 sampled rows
    settings = DEFAULTS.model_copy(update={"sample_rows": 100, "sample_chunks": 1})
    result = run(tmp_path, {"d": values}, settings=settings)
    got = col(result, "d")
    assert (got.format, got.ambiguous, got.failures) == ("%d/%m/%Y", False, 0)


def test_a_comma_that_may_group_thousands_or_mark_decimals_is_flagged(tmp_path):
    result = run(tmp_path, {"n": ["1,234", "5,678", "12"]})
    got = col(result, "n")
    assert (got.type, got.ambiguous) == ("integer", True)
    assert "assumed thousands separator" in got.note


def test_yyyymmdd_is_a_date_with_integer_as_the_alternative(tmp_path):
    result = run(tmp_path, {"d": ["20240131", "20231201", "19991231"]})
    got = col(result, "d")
    assert (got.type, got.format) == ("date", "%Y%m%d")
    assert ("integer", 1.0) in got.alternatives
    assert typed(tmp_path, "d") == [date(2024, 1, 31), date(2023, 12, 1), date(1999, 12, 31)]


def test_yyyymmdd_with_one_impossible_date_stays_integer(tmp_path):
    result = run(tmp_path, {"d": ["20240131", "20231201", "20241341"] + ["20240101"] * 50})
    assert col(result, "d").type == "integer"


@pytest.mark.parametrize("values", [["000421", "007", "123456"], ["0012", "0099", "0100"]])
def test_numeric_identifiers_with_leading_zeros_stay_text(tmp_path, values):
    result = run(tmp_path, {"id": values})
    got = col(result, "id")
    assert (got.type, got.note) == ("text", "leading zeros: kept as text")
    assert ("integer", 1.0) in got.alternatives
    assert typed(tmp_path, "id") == values


def test_a_few_junk_values_become_null_and_are_recorded_as_cast_failures(tmp_path):
    values = [str(i) for i in range(100)]
    values[10], values[50], values[99] = "n/a", "12b", "?"  # rows 11, 51 and 100
    result = run(tmp_path, {"qty": values})
    got = col(result, "qty")
    assert (got.type, got.non_null, got.failures, got.parse_rate) == ("integer", 100, 3, 0.97)
    assert got.failure_examples == ("12b", "?", "n/a")
    assert result.cast_failures == 3 and result.rows == 100
    assert failures(tmp_path) == [
        (11, "qty", "n/a", "integer"),
        (51, "qty", "12b", "integer"),
        (100, "qty", "?", "integer"),
    ]
    out = typed(tmp_path, "qty")
    assert len(out) == 100 and out[10] is None and out[50] is None and out[99] is None
    assert out[11] == 11


JUNK = ["N/A", "#REF!", "missing", "\u2014", "??", "see note"]  # no digit: no number in any format


@pytest.mark.parametrize("junk_share", [0.1, 0.25, 0.45])
def test_a_numeric_column_with_junk_stays_numeric_with_the_junk_as_cast_failures(tmp_path, junk_share):
    n, bad = 400, int(400 * junk_share)
    values = [f"{i * 1.25:.2f}" for i in range(n)]
    for k in range(bad):  # spread over the column, so the sample sees the same share
        values[k * n // bad] = JUNK[k % len(JUNK)]
    got = col(run(tmp_path, {"debit": values}), "debit")
    assert (got.type, got.failures, got.non_null) == ("decimal", bad, n)
    assert got.failure_examples == tuple(sorted(JUNK))[:5]
    assert f"{bad} without any digit" in got.note
    assert sum(v is None for v in typed(tmp_path, "debit")) == bad
    assert len(failures(tmp_path)) == bad


def test_frequent_values_weigh_in_the_sample_what_they_weigh_in_the_rows(tmp_path):
    # 40% junk in 3 values; a pick of 80 distinct values by hash alone holds '---' and 'N/A' (ranks 63
    # and 75 of 603), which then weigh 300 rows against 78: the column would look 21% numeric
    values = [f"{i}.5" for i in range(600)] + ["---"] * 150 + ["N/A"] * 150 + ["#ERR"] * 100
    small = DEFAULTS.model_copy(update={"sample_values": 80, "sample_frequent_values": 5})
    for k, order in enumerate((values, values[::-1], values[300:] + values[:300])):
        (tmp_path / str(k)).mkdir()
        got = col(run(tmp_path / str(k), {"v": order}, settings=small), "v")
        assert (got.type, got.failures) == ("decimal", 400)


def test_a_column_that_is_mostly_junk_stays_text(tmp_path):
    values = [str(i) for i in range(40)] + [JUNK[i % len(JUNK)] for i in range(60)]
    got = col(run(tmp_path, {"v": values}), "v")
    assert (got.type, got.failures) == ("text", 0)


def test_values_with_digits_that_no_number_format_reads_keep_the_column_text(tmp_path):
    values = [str(i) for i in range(80)] + ["N/A"] * 10 + [f"{i}b" for i in range(10)]
    got = col(run(tmp_path, {"v": values}), "v")
    assert got.type == "text" and typed(tmp_path, "v") == values


def test_a_date_column_in_two_layouts_reads_both(tmp_path):
    us = [f"{m:02d}/{d:02d}/2025" for m in range(1, 13) for d in (3, 14, 25)]  # 12 could be day-first too
    named = [f"{d:02d}-{mon}-25" for mon in ("Jan", "Feb", "Mar") for d in (5, 16, 27)]
    got = col(run(tmp_path, {"paid": us + named + ["n/a"]}), "paid")
    assert (got.type, got.format, got.failures) == ("date", "%m/%d/%Y | %d-%b-%y", 1)
    assert "1 without any digit" in got.note
    assert got.mixed and got.formats == (("%m/%d/%Y", 24), ("%d-%b-%y", 9))  # 12 more read day-first too
    out = typed(tmp_path, "paid")
    assert out[0] == date(2025, 1, 3) and out[36] == date(2025, 1, 5) and out[-1] is None


def test_dates_that_a_column_mixing_day_and_month_order_reads_both_ways_are_failures_not_guesses(tmp_path):
    month_first = [f"{m:02d}/{d}/2025" for m in (1, 2, 3) for d in (13, 20, 27)]  # 9 only month-first
    day_first = [f"{d}/{m:02d}/2025" for m in (4, 5, 6) for d in (14, 21, 28)]  # 9 only day-first
    either = ["03/04/2025", "05/06/2025", "07/08/2025", "09/10/2025"]  # April 3rd or March 4th?
    got = col(run(tmp_path, {"d": month_first + day_first + either + ["07/07/2025"]}), "d")
    assert (got.type, got.failures) == ("date", 4)
    assert got.format in ("%m/%d/%Y | %d/%m/%Y", "%d/%m/%Y | %m/%d/%Y")
    out = typed(tmp_path, "d")
    assert out[0] == date(2025, 1, 13) and out[9] == date(2025, 4, 14)
    assert out[18:22] == [None] * 4 and out[22] == date(2025, 7, 7)  # both readings agree on it


def test_a_consistent_month_first_column_with_a_second_layout_reads_its_ambiguous_dates(tmp_path):
    us = [f"{m:02d}/{d:02d}/2025" for m in range(1, 13) for d in (3, 14, 25)] * 2  # 24 ambiguous, never day-first
    iso = [f"2025-{m:02d}-10" for m in range(1, 10)]
    got = col(run(tmp_path, {"d": us + iso + ["n/a"] * 4}), "d")
    assert (got.type, got.format, got.failures) == ("date", "%m/%d/%Y | %Y-%m-%d", 4)
    assert typed(tmp_path, "d")[0] == date(2025, 1, 3)


@pytest.mark.parametrize("value", ["1e999", "-1e999", "9" * 400, "1e999%"])
def test_a_number_too_large_for_a_double_is_a_cast_failure_not_an_infinity(tmp_path, value):
    values = [str(i) + ".5" for i in range(99)] + [value]
    got = col(run(tmp_path, {"v": values}), "v")
    assert got.failures == 1 and got.failure_examples == (value,)
    assert typed(tmp_path, "v")[-1] is None


def test_a_column_below_the_parse_threshold_stays_text(tmp_path):
    values = [str(i) for i in range(90)] + [f"x{i}" for i in range(10)]
    result = run(tmp_path, {"v": values})
    got = col(result, "v")
    assert (got.type, got.failures, got.parse_rate) == ("text", 0, 1.0)
    assert got.confidence == pytest.approx(0.1)
    assert "minimum parse rate" in got.note
    assert typed(tmp_path, "v") == values


def test_an_all_null_column_is_text_with_zero_confidence(tmp_path):
    result = run(tmp_path, {"empty": [None, None, None], "n": ["1", "2", "3"]})
    got = col(result, "empty")
    assert (got.type, got.non_null, got.confidence) == ("text", 0, 0.0)
    assert got.note == "no non-null values: typed as text"


def test_a_decimal_column_lists_integer_as_an_alternative(tmp_path):
    result = run(tmp_path, {"v": ["1.5", "2", "3", "4"]})
    assert col(result, "v").alternatives == (("integer", 0.75),)


# --- overrides -------------------------------------------------------------------------


def test_an_override_wins_over_inference(tmp_path):
    result = run(tmp_path, {"code": ["1", "2", "3"]}, {"code": ColumnOverride(type="text")})
    got = col(result, "code")
    assert (got.type, got.decided_by) == ("text", "override")
    assert typed(tmp_path, "code") == ["1", "2", "3"]


def test_an_override_records_the_values_it_cannot_parse(tmp_path):
    overrides = {"v": ColumnOverride(type="decimal", decimal_separator=",", unit="kg")}
    result = run(tmp_path, {"v": ["1,5", "abc", "2,25"]}, overrides)
    got = col(result, "v")
    assert (got.type, got.decimal_separator, got.unit, got.failures) == ("decimal", ",", "kg", 1)
    assert failures(tmp_path) == [(2, "v", "abc", "decimal")]
    assert typed(tmp_path, "v") == [1.5, None, 2.25]


def test_an_override_with_a_custom_date_format_is_used(tmp_path):
    result = run(tmp_path, {"d": ["2024|31|01", "2023|01|12"]}, {"d": ColumnOverride(type="date", format="%Y|%d|%m")})
    assert (col(result, "d").type, col(result, "d").format) == ("date", "%Y|%d|%m")
    assert typed(tmp_path, "d") == [date(2024, 1, 31), date(2023, 12, 1)]


def test_an_override_of_an_unknown_column_is_a_config_error_listing_the_columns(tmp_path):
    with pytest.raises(ConfigError, match=r"'nope'.*existing columns: 'a', 'b c'"):
        run(tmp_path, {"a": ["1"], "b c": ["2"]}, {"nope": ColumnOverride(type="integer")})


# --- outputs ---------------------------------------------------------------------------


def test_awkward_column_names_are_kept_exactly(tmp_path):
    names = ['we"ird; name', "a b", "x'); DROP TABLE raw; --", "ünï"]
    result = run(tmp_path, {n: ["1", "2", "oops"] + ["3"] * 40 for n in names})
    assert [c.name for c in result.columns] == names
    path = quote_literal(tmp_path / "out" / "typed.parquet")
    described = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet({path})").fetchall()
    assert [(r[0], r[1]) for r in described] == [("_row_id", "BIGINT")] + [(n, "BIGINT") for n in names]
    assert [f[1] for f in failures(tmp_path)] == names


def test_column_names_like_the_generated_aliases_do_not_shadow_them(tmp_path):
    dates = ["20240131"] * 999
    dates[900] = "20241341"  # makes the count pass cast every candidate of column 0
    cols = {"a": dates, "c0": ["x"] * 999, "k0_0": ["1.5"] * 999, "nn0": ["2024-01-01"] * 999}
    result = run(tmp_path, cols, settings=ONE_CHUNK)
    assert [c.type for c in result.columns] == ["integer", "text", "decimal", "date"]


def test_typed_file_keeps_every_row_and_the_column_order(tmp_path):
    result = run(tmp_path, {"z": ["b", "a"], "a": ["1.5", "2"], "m": ["2024-01-01", None]})
    path = quote_literal(tmp_path / "out" / "typed.parquet")
    described = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet({path})").fetchall()
    expected = [("_row_id", "BIGINT"), ("z", "VARCHAR"), ("a", "DOUBLE"), ("m", "DATE")]
    assert [(r[0], r[1]) for r in described] == expected
    assert [c.sql_type for c in result.columns] == ["VARCHAR", "DOUBLE", "DATE"]
    assert duckdb.sql(f"SELECT _row_id FROM read_parquet({path})").fetchall() == [(1,), (2,)]


def test_cast_failures_file_is_written_with_a_stable_schema_when_empty(tmp_path):
    result = run(tmp_path, {"n": ["1", "2"]})
    path = quote_literal(tmp_path / "out" / "cast_failures.parquet")
    described = duckdb.sql(f"DESCRIBE SELECT * FROM read_parquet({path})").fetchall()
    assert [(r[0], r[1]) for r in described] == [
        ("_row_id", "BIGINT"),
        ("column", "VARCHAR"),
        ("raw_value", "VARCHAR"),
        ("target_type", "VARCHAR"),
    ]
    assert result.cast_failures == 0 and failures(tmp_path) == []


def test_identical_input_gives_byte_identical_outputs(tmp_path):
    values = {"n": [str(i) for i in range(300)] + ["bad"], "t": [f"2024-01-{1 + i % 28:02d}" for i in range(301)]}
    first, second = run(tmp_path, values, out="one"), run(tmp_path, values, out="two")
    assert first == second
    for name in ("typed.parquet", "cast_failures.parquet"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_the_result_is_json_serialisable(known):
    text = json.dumps(dataclasses.asdict(known))
    assert json.loads(text)["columns"][0]["name"] == "c0"


def test_a_table_with_no_rows_types_every_column_as_text(tmp_path):
    result = run(tmp_path, {"a": [], "b": []})
    assert result.rows == 0 and [c.type for c in result.columns] == ["text", "text"]


# --- decisions that differ from the sample's guess -------------------------------------
# The typed table is first written with each column's leading candidate; these columns
# make the full column overturn that guess, so the table must be rewritten.


def test_leading_zeros_beyond_the_sample_make_the_column_text(tmp_path):
    values = [str(i) for i in range(1, 1000)]
    values[900] = "007"
    result = run(tmp_path, {"id": values}, settings=ONE_CHUNK)
    got = col(result, "id")
    assert (got.type, got.note, got.non_null, got.failures) == ("text", "leading zeros: kept as text", 999, 0)
    assert typed(tmp_path, "id") == values


def test_a_few_leading_zeros_below_the_configured_share_keep_the_integer(tmp_path):
    values = [str(i) for i in range(1, 100)] + ["007"]
    settings = DEFAULTS.model_copy(update={"leading_zero_text_share": 0.5})
    result = run(tmp_path, {"n": values}, settings=settings)
    assert (col(result, "n").type, col(result, "n").failures) == ("integer", 0)
    assert typed(tmp_path, "n")[-1] == 7


def test_a_leading_candidate_failing_beyond_the_sample_falls_back_to_the_next(tmp_path):
    values = ["20240131"] * 999
    values[900] = "20241341"  # no such date: YYYYMMDD must parse every value, so integer
    result = run(tmp_path, {"d": values}, settings=ONE_CHUNK)
    got = col(result, "d")
    assert (got.type, got.format, got.failures) == ("integer", None, 0)
    assert typed(tmp_path, "d")[900] == 20241341 and failures(tmp_path) == []


def test_a_column_failing_beyond_the_sample_becomes_text_with_its_raw_values(tmp_path):
    values = [str(i) for i in range(100)] + [f"item {i}" for i in range(900)]
    result = run(tmp_path, {"v": values}, settings=ONE_CHUNK)
    got = col(result, "v")
    assert (got.type, got.failures) == ("text", 0) and "minimum parse rate" in got.note
    assert typed(tmp_path, "v") == values and failures(tmp_path) == []


def test_the_rival_reading_winning_beyond_the_sample_rewrites_the_dates(tmp_path):
    values = ["01/02/2024"] * 999
    values[900] = "13/02/2024"
    run(tmp_path, {"d": values}, settings=ONE_CHUNK)
    out = typed(tmp_path, "d")
    assert out[0] == date(2024, 2, 1) and out[900] == date(2024, 2, 13)


def test_currency_units_count_only_the_values_that_parse(tmp_path):
    result = run(tmp_path, {"amount": ["$1.00"] * 40 + ["€n/a"]})
    got = col(result, "amount")
    assert (got.type, got.unit, got.units, got.failures) == ("currency", "USD", (), 1)


def test_an_amount_with_an_exponent_is_a_cast_failure(tmp_path):
    result = run(tmp_path, {"amount": ["$1.00"] * 40 + ["$1e3"]})
    assert (col(result, "amount").type, col(result, "amount").failure_examples) == ("currency", ("$1e3",))


def test_blank_text_values_do_not_count_as_non_null(tmp_path):
    result = run(tmp_path, {"t": ["a", "", "   ", "\u00a0", None, "b"], "u": ["\u00a0x", "y", None, "z", "w", "v"]})
    assert (col(result, "t").non_null, col(result, "u").non_null) == (2, 5)
    assert typed(tmp_path, "t") == ["a", "", "   ", "\u00a0", None, "b"]


# --- row order and determinism -------------------------------------------------------


def test_a_raw_table_out_of_row_order_is_typed_in_row_id_order(tmp_path):
    raw = tmp_path / "raw.parquet"
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT 1000 - i AS _row_id, CAST(1000 - i AS VARCHAR) AS n, 'x' || i AS t FROM range(1000) r(i)) "
        f"TO {quote_literal(raw)} (FORMAT parquet)"
    )
    run(tmp_path, {})
    path = quote_literal(tmp_path / "out" / "typed.parquet")
    rows = duckdb.sql(f"SELECT _row_id, n FROM read_parquet({path})").fetchall()
    assert rows == [(i, i) for i in range(1, 1001)]


def test_a_column_named_like_the_parquet_row_number_is_kept(tmp_path):
    result = run(tmp_path, {"file_row_number": ["1", "2", "x"] + ["3"] * 40})
    assert col(result, "file_row_number").type == "integer"
    assert typed(tmp_path, "file_row_number")[:3] == [1, 2, None]


def test_outputs_are_byte_identical_whatever_the_thread_count(tmp_path):
    raw = tmp_path / "raw.parquet"
    rows = 300_000  # several row groups, so threads really split the work
    duckdb.sql(
        f"COPY (SELECT i + 1 AS _row_id, CASE WHEN i % 997 = 0 THEN 'n/a' ELSE CAST(i % 5000 AS VARCHAR) END AS n, "
        f"'$' || format('{{:,.2f}}', i / 7) AS amount, 'text ' || (i % 13) AS t FROM range({rows}) r(i)) "
        f"TO {quote_literal(raw)} (FORMAT parquet)"
    )
    outputs = []
    for threads in (1, 2, 4):
        con = duckdb.connect(config={"threads": threads})
        result = infer_types(con, raw, tmp_path / f"t{threads}", DEFAULTS, {})
        files = [(tmp_path / f"t{threads}" / n).read_bytes() for n in ("typed.parquet", "cast_failures.parquet")]
        outputs.append((result, files))
    assert outputs[0] == outputs[1] == outputs[2]
    assert [c.type for c in outputs[0][0].columns] == ["integer", "currency", "text"]


# --- settings ---------------------------------------------------------------------------


def test_config_file_sets_every_setting_and_loads():
    data = read_yaml(CONFIG)
    assert set(data) == set(TypingSettings.model_fields)
    assert parse_model(TypingSettings, data, "config/typing.yaml") == DEFAULTS


@pytest.mark.parametrize(
    "change",
    [
        {"min_parse_rate": 1.5},
        {"min_parse_rate": -0.1},
        {"sample_values": 0},
        {"max_candidates": 0},
        {"compact_date_year_min": 2200},
        {"date_order_default": "year_first"},
        {"true_tokens": ["Yes"]},
        {"false_tokens": ["yes"]},
        {"trim_characters": "x"},
        {"currency_codes": ["usd"]},
        {"thousands_separators": ["ab"]},
        {"unknown_key": 1},
    ],
)
def test_invalid_settings_are_rejected(change):
    with pytest.raises(ValidationError):
        TypingSettings.model_validate({**DEFAULTS.model_dump(), **change})
    with pytest.raises(ConfigError, match="config/typing.yaml"):
        parse_model(TypingSettings, {**DEFAULTS.model_dump(), **change}, "config/typing.yaml")
