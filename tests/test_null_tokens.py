"""Null tokens only where they behave as nulls (phases.ingest.null_tokens), on small files whose
answers are known by construction: real in-memory DuckDB, files under tmp_path."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import duckdb
import pytest

from phases.artifacts.column_types import ColumnTyping
from phases.artifacts.tables import ImportSummary, NullToken
from phases.core.config import CsvOptions
from phases.core.records import from_json
from phases.ingest.csv_import import ImportTuning, import_csv
from phases.ingest.null_tokens import shape, shape_share
from phases.ingest.type_inference import _with_null_tokens

NULLS = ("", "NA", "N/A", "None", "Null", "null", "-")
SETTINGS = ImportTuning()
CODES = ["US", "DE", "FR", "NA", "GB", "IT", "ES", "NL", "BE", "AT"]


def imported(tmp_path: Path, header: str, rows: list[str]) -> tuple[dict[str, list], tuple[NullToken, ...]]:
    """The raw columns (in row order) and the token decisions of a CSV made of `rows`."""
    path = tmp_path / "data.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    con = duckdb.connect()
    result = import_csv(con, path, tmp_path / "out", CsvOptions(), NULLS, SETTINGS)
    cur = con.execute("SELECT * EXCLUDE (_row_id) FROM read_parquet(?) ORDER BY _row_id",
                      [str(tmp_path / "out" / "raw.parquet")])
    names = [d[0] for d in cur.description]
    columns = dict(zip(names, (list(c) for c in zip(*cur.fetchall(), strict=True)), strict=True))
    return columns, result.null_tokens


def decision(tokens: tuple[NullToken, ...], column: str, token: str) -> NullToken:
    return next(t for t in tokens if (t.column, t.token) == (column, token))


def test_a_two_letter_code_among_two_letter_codes_stays_a_value(tmp_path):
    rows = [f"{code},{i}" for i, code in enumerate(CODES * 3)]
    columns, tokens = imported(tmp_path, "iso2,n", rows)
    assert columns["iso2"].count("NA") == 3 and None not in columns["iso2"]
    got = decision(tokens, "iso2", "NA")
    assert (got.read_as, got.rows, got.ambiguous) == ("value", 3, False)
    assert "'AA'" in got.reason


def test_na_in_a_column_of_one_letter_answers_is_null(tmp_path):
    columns, tokens = imported(tmp_path, "answer", ["Y", "N", "NA", "Y", "N", "N"])
    assert columns["answer"] == ["Y", "N", None, "Y", "N", "N"]
    assert decision(tokens, "answer", "NA").read_as == "null"


def test_the_only_non_numeric_value_of_a_numeric_column_is_null(tmp_path):
    columns, tokens = imported(tmp_path, "qty", ["1", "2", "NA", "4", "N/A", "6"])
    assert columns["qty"] == ["1", "2", None, "4", None, "6"]
    assert {t.token: t.read_as for t in tokens} == {"NA": "null", "N/A": "null"}


def test_a_token_among_other_junk_of_a_numeric_column_is_kept_for_typing_to_record(tmp_path):
    rows = ["1.5", "N/A", "2.5", "PENDING", "3.5", "#ERR", "4.5", "5.5"]
    columns, tokens = imported(tmp_path, "debit", rows)
    assert columns["debit"] == rows
    got = decision(tokens, "debit", "N/A")
    assert (got.read_as, got.ambiguous) == ("value", True)
    assert "'#ERR', 'PENDING'" in got.reason


def test_a_surname_spelled_like_a_token_stays_a_value(tmp_path):
    names = ["Smith", "Li", "Null", "Brown", "Taylor", "Wilson", "Davies", "Evans"]
    columns, tokens = imported(tmp_path, "last_name", names)
    assert columns["last_name"] == names
    assert decision(tokens, "last_name", "Null").read_as == "value"


def test_a_token_unlike_the_column_values_is_null(tmp_path):
    sizes = ["small", "medium", "N/A", "large", "extra large", "N/A"]
    columns, tokens = imported(tmp_path, "size", sizes)
    assert columns["size"] == ["small", "medium", None, "large", "extra large", None]
    assert decision(tokens, "size", "N/A").rows == 2


def test_a_same_shaped_token_whose_rows_miss_their_other_fields_is_null(tmp_path):
    full = [f"{code},{i},{i * 2},x{i}" for i, code in enumerate(CODES[:3] + CODES[4:] * 3)]
    empty = ["NA,,,"] * 4
    columns, tokens = imported(tmp_path, "code,a,b,c", full + empty)
    assert columns["code"][-4:] == [None] * 4
    got = decision(tokens, "code", "NA")
    assert (got.read_as, got.ambiguous) == ("null", True)
    assert "miss 100% of their other fields" in got.reason


def test_a_column_of_only_tokens_and_empty_fields_is_all_null(tmp_path):
    columns, tokens = imported(tmp_path, "a,b", ["NA,1", ",2", "NA,3"])
    assert columns["a"] == [None, None, None]
    assert decision(tokens, "a", "NA").reason == "the column holds no other value"


def test_empty_fields_are_null_and_not_listed(tmp_path):
    columns, tokens = imported(tmp_path, "a,b", ["x,1", ",2"])
    assert columns["a"] == ["x", None] and tokens == ()


def test_a_file_with_tokens_gives_a_byte_identical_raw_parquet(tmp_path):
    rows = [f"{code},{'NA' if i % 4 == 0 else i}" for i, code in enumerate(CODES * 50)]
    for run in ("one", "two"):
        (tmp_path / run).mkdir()
        imported(tmp_path / run, "iso2,n", rows)
    first, second = ((tmp_path / d / "out" / "raw.parquet").read_bytes() for d in ("one", "two"))
    assert first == second


@pytest.mark.parametrize(
    ("value", "loose", "exact"),
    [("NA", "A", "AA"), ("Namibia", "Aa", "Aaaaaaa"), ("N/A", "A/A", "A/A"), ("12.50", "9.9", "99.99"),
     ("extra large", "a a", "aaaaa aaaaa"), ("Ödön", "Aa", "Aaaa")],
)
def test_a_shape_is_the_pattern_of_character_classes(value, loose, exact):
    assert (shape(value), shape(value, loose=False)) == (loose, exact)


def test_a_token_has_the_shape_of_values_only_within_their_lengths():
    assert shape_share("NA", ["Y", "N", "Y"]) == (0.0, 0)
    assert shape_share("NA", ["US", "DE", "FR", "12"]) == (0.75, 3)
    assert shape_share("Null", ["Smith", "Li", "Johnson"]) == (1.0, 3)
    assert shape_share("Null", ["Smith", "Jones", "Johnson"]) == (0.0, 0)


def test_typing_records_the_import_reading_of_each_token_in_its_column():
    tokens = (NullToken("iso2", "NA", 3, "value", False, "why"), NullToken("qty", "N/A", 1, "null", False, "why"))
    columns = (ColumnTyping("iso2", "text"), ColumnTyping("qty", "integer"), ColumnTyping("other", "text"))
    got = _with_null_tokens(columns, tokens)
    assert [c.null_tokens for c in got] == [tokens[:1], tokens[1:], ()]


def test_the_decisions_reach_the_import_summary_that_typing_reads(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("iso2,n\n" + "".join(f"{code},{i}\n" for i, code in enumerate(CODES)), encoding="utf-8")
    result = import_csv(duckdb.connect(), path, tmp_path / "out", CsvOptions(), NULLS, SETTINGS)
    summary = json.loads(json.dumps({**dataclasses.asdict(result), "table": "t"}))  # as the manifest holds it
    assert from_json(ImportSummary, summary).null_tokens == result.null_tokens
    assert [t.token for t in result.null_tokens] == ["NA"]


def test_a_token_the_source_declares_is_null_even_where_it_looks_like_a_value(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("iso2\n" + "\n".join(CODES) + "\n", encoding="utf-8")
    con = duckdb.connect()
    result = import_csv(con, path, tmp_path / "out", CsvOptions(null_values=("NA",)), NULLS, SETTINGS)
    raw = con.execute("SELECT iso2 FROM read_parquet(?) ORDER BY _row_id", [str(tmp_path / "out" / "raw.parquet")])
    assert [v for (v,) in raw.fetchall()].count(None) == 1 and result.null_tokens == ()
