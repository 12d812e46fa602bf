"""A short wide table is cast in long form (one cast per format): the typed file is the same."""

from __future__ import annotations

import duckdb

from phases.core.sql import COLUMNS_VARIABLE
from phases.ingest.type_inference import infer_types
from tests.test_type_inference import DEFAULTS, write_raw

COLUMNS = {
    "n": ["1", "2", "n/a", "4", None, "6"],
    "amount": ["$1,200.50", "$3.00", "", "$17.25", "$0.99", "$8"],
    "day": ["2024-01-31", "2024-02-29", "2024-03-01", None, "2024-12-31", "2025-01-01"],
    "zip": ["00501", "12345", "90210", "02134", "10001", "60601"],
    "word": ["alpha", "beta", " gamma ", "", None, "delta"],
    "flag": ["true", "false", "yes", "no", "true", "x"],
    "j": ["0.5", "1.25", "2", "3.75", "4", "5.5"],  # named like the long form's own aliases
    "v": ["10%", "20%", "5 %", "100%", "0%", "1%"],
}


def test_a_short_wide_table_gives_the_same_typed_file_cast_in_long_form(tmp_path):
    raw = write_raw(tmp_path / "raw.parquet", COLUMNS)
    wide = infer_types(duckdb.connect(), raw, tmp_path / "wide", DEFAULTS, {})
    con = duckdb.connect()
    con.execute(f"SET VARIABLE {COLUMNS_VARIABLE} = 2")  # more columns than a query reads: the long form
    long = infer_types(con, raw, tmp_path / "long", DEFAULTS, {})
    assert long == wide
    for name in ("typed.parquet", "cast_failures.parquet"):
        assert (tmp_path / "long" / name).read_bytes() == (tmp_path / "wide" / name).read_bytes()
    assert {c.name: c.type for c in wide.columns}["amount"] == "currency"
