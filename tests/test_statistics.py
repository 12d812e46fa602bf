"""The statistics phase: every statistic on small tables whose answers are known by construction,
keys and duplicate rows, the typed reader, and the phase adapter end to end."""

from __future__ import annotations

import dataclasses
import json
import math
import statistics as pystats
from fractions import Fraction
from pathlib import Path
from typing import Any

import duckdb
import pytest

from phases.artifacts.column_profiles import COLUMN_PROFILES, ColumnProfile
from phases.artifacts.column_types import COLUMN_TYPES
from phases.artifacts.table_profile import TABLE_PROFILE
from phases.core.config import read_yaml
from phases.core.errors import ConfigError, StateError
from phases.core.manifest import Artifact, file_sha256, write_manifest
from phases.core.records import dump_json, round_scaled, round_sig
from phases.core.sql import quote_ident
from phases.profile.statistics import (
    StatisticsSettings,
    TypeInfo,
    profile_columns,
    profile_keys,
    profile_table,
)
from tests.conftest import phase_context

REPO = Path(__file__).resolve().parent.parent
SETTINGS = StatisticsSettings()


def make_table(con: duckdb.DuckDBPyConnection, columns: dict[str, tuple[str, list[Any]]], name: str = "t") -> str:
    """A table with _row_id 1..n and the given (DuckDB type, values) columns, built in one statement."""
    n = len(next(iter(columns.values()))[1]) if columns else 0
    selects = [f"unnest(range(1, {n + 1})) AS _row_id"]
    selects += [f"unnest(?::{sql_type}[]) AS {quote_ident(col)}" for col, (sql_type, _) in columns.items()]
    con.execute(f"CREATE OR REPLACE TABLE {quote_ident(name)} AS SELECT {', '.join(selects)}",
                [values for _, values in columns.values()])
    return name


def profile(con: duckdb.DuckDBPyConnection, sql_type: str, values: list[Any], **settings: Any) -> ColumnProfile:
    make_table(con, {"x": (sql_type, values)})
    return profile_columns(con, "t", {}, StatisticsSettings(**settings)).columns[0]


def population_moments(values: list[float]) -> tuple[float, float]:
    """Skewness g1 and excess kurtosis g2 as scipy.stats.skew / kurtosis define them by default
    (bias=True, fisher=True), computed exactly in rationals (scipy is not a dependency, and floats
    lose the third moment of values near 1e9)."""
    exact = [Fraction(v) for v in values]
    n = len(exact)
    mean = sum(exact) / n
    m2, m3, m4 = (sum((v - mean) ** k for v in exact) / n for k in (2, 3, 4))
    return float(m3) / float(m2) ** 1.5, float(m4 / m2**2) - 3


def linear_quantile(values: list[float], q: float) -> float:
    """numpy's default ('linear') quantile: position (n - 1)·q between the sorted values."""
    ordered = sorted(values)
    h = (len(ordered) - 1) * q
    low = math.floor(h)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (h - low) * (ordered[high] - ordered[low])


# --- counts ----------------------------------------------------------------------------------


def test_counts_nulls_and_distinct_values_are_exact(con):
    p = profile(con, "BIGINT", [1, 2, 2, None, 3, None, 3, 3])
    assert (p.rows, p.null_count, p.non_null_count, p.distinct_count) == (8, 2, 6, 3)
    assert p.null_ratio == 0.25
    assert p.cardinality_ratio == 3 / 8
    assert p.unique is False


@pytest.mark.parametrize(("values", "unique"), [([1, 2, 3], True), ([1, None, 3], True), ([1, 1, 2], False),
                                                ([None, None], False)])
def test_a_column_is_unique_when_every_non_null_value_occurs_once(con, values, unique):
    assert profile(con, "BIGINT", values).unique is unique


def test_top_values_are_sorted_by_count_then_value_with_shares_of_non_null_values(con):
    p = profile(con, "VARCHAR", ["b", "a", "c", "b", "a", None, "d"], top_values=3)
    third, sixth = round_sig(1 / 3), round_sig(1 / 6)  # floats are stored to 10 significant digits
    assert [(v.value, v.count, v.share) for v in p.top_values] == [("a", 2, third), ("b", 2, third), ("c", 1, sixth)]


def test_an_all_null_column_has_no_distribution(con):
    p = profile(con, "DOUBLE", [None, None, None])
    assert (p.null_count, p.distinct_count, p.numeric, p.top_values, p.entropy_bits) == (3, 0, None, (), 0.0)


# --- numbers ---------------------------------------------------------------------------------


def test_number_summary_matches_the_definitions(con):
    values = [4.0, -2.5, 0.0, 10.0, 0.0, 7.25, 3.0, -1.0]
    n = profile(con, "DOUBLE", values).numeric
    assert (n.min, n.max, n.zero_count, n.negative_count) == (-2.5, 10.0, 2, 2)
    # to 10 significant digits of the column's scale (max |x| = 10): sums over threads vary in the last bits
    assert n.mean == pytest.approx(pystats.fmean(values), abs=1e-8)
    assert n.std == pytest.approx(pystats.stdev(values), abs=1e-8)


@pytest.mark.parametrize("values", [
    [1.0, 2.0, 3.0, 4.0, 100.0],
    [float(i % 7) ** 2 for i in range(50)],
    [1e9 + (i % 5) * 0.001 for i in range(40)],  # far from zero: needs the two-pass central moments
    [-3.0, -1.0, 0.0, 0.5, 0.5, 8.0],
])
def test_skewness_and_kurtosis_equal_scipys_population_definitions(con, values):
    n = profile(con, "DOUBLE", values).numeric
    skew, kurt = population_moments(values)
    assert n.skewness == pytest.approx(skew, rel=1e-6, abs=1e-9)
    assert n.kurtosis == pytest.approx(kurt, rel=1e-6, abs=1e-9)


def test_skewness_and_kurtosis_are_none_for_a_constant_column(con):
    n = profile(con, "DOUBLE", [0.1, 0.1, 0.1]).numeric
    assert (n.skewness, n.kurtosis) == (None, None)


@pytest.mark.parametrize(("sql_type", "values"), [
    ("DOUBLE", list(range(1, 101))),  # distinct values: quantile_cont on the rows
    ("DOUBLE", [2.5, 1.0, 9.0, 4.0, 4.0, 7.5, 3.0]),
    ("DOUBLE", [5.0]),
    ("DOUBLE", [float(i % 7) * 0.3 for i in range(203)]),  # repeated values: from the value counts
    ("BIGINT", [i % 5 - 2 for i in range(61)] + [1000] * 3),
], ids=["distinct", "few", "one", "repeated", "repeated-integers"])
def test_quantiles_interpolate_linearly_between_sorted_values(con, sql_type, values):
    n = profile(con, sql_type, values).numeric
    for q in (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99):
        assert n.quantile(q) == pytest.approx(linear_quantile(values, q), rel=1e-9, abs=1e-12)


def test_quantiles_from_value_counts_equal_duckdbs_quantile_cont(con):
    values = [round((i * 7919) % 101 / 7, 3) for i in range(5000)]
    levels = "[0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]"
    expected = con.execute(f"SELECT quantile_cont(v, {levels}) FROM (SELECT unnest(?::DOUBLE[]) AS v)",
                           [values]).fetchone()[0]
    n = profile(con, "DOUBLE", values).numeric
    assert list(n.quantiles.values()) == [round_sig(v) for v in expected]


@pytest.mark.parametrize(("sql_type", "values"), [
    ("DOUBLE", [0.5, 1.0, 2.0, 2.0, 3.3, 9.9, 10.0]),
    ("DOUBLE", [-5.0, -4.999, 0.0, 12.5]),
    ("BIGINT", [3, 4, 100, 1000, 1000]),
    ("BIGINT", list(range(1, 1001))),
])
def test_histogram_covers_min_to_max_and_counts_every_value(con, sql_type, values):
    n = profile(con, sql_type, values, histogram_buckets=7).numeric
    assert n.histogram[0].lower == min(values) and n.histogram[-1].upper == max(values)
    assert sum(b.count for b in n.histogram) == len(values)
    assert n.histogram[0].count >= values.count(min(values))  # the minimum lands in the first bucket
    assert n.histogram[-1].count >= values.count(max(values))  # and the maximum in the last
    assert all(a.upper == b.lower for a, b in zip(n.histogram, n.histogram[1:], strict=False))


def test_an_integer_histogram_never_has_buckets_narrower_than_one(con):
    n = profile(con, "BIGINT", [0, 1, 2, 3, 3, 4], histogram_buckets=20).numeric
    assert [(b.lower, b.upper, b.count) for b in n.histogram] == [(0, 1, 1), (1, 2, 1), (2, 3, 1), (3, 4, 3)]


def test_a_constant_number_gets_one_bucket(con):
    n = profile(con, "BIGINT", [7, 7, 7]).numeric
    assert [(b.lower, b.upper, b.count) for b in n.histogram] == [(7, 7, 3)]


# --- entropy ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("values", "bits", "normalized"), [
    (list(range(16)), 4.0, 1.0),  # uniform over 16 values
    (["a", "b"] * 5, 1.0, 1.0),
    (["x"] * 9, 0.0, 0.0),  # constant
    (["a", "a", "a", "b"], -(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25)),
     -(0.75 * math.log2(0.75) + 0.25 * math.log2(0.25))),
])
def test_entropy_in_bits_and_normalised_by_log2_of_distinct(con, values, bits, normalized):
    p = profile(con, "VARCHAR", [str(v) for v in values])
    assert p.entropy_bits == pytest.approx(bits, abs=1e-9)
    assert p.entropy_normalized == pytest.approx(normalized, abs=1e-9)


# --- text and dates --------------------------------------------------------------------------


def test_text_lengths_and_blanks(con):
    t = profile(con, "VARCHAR", ["abc", "", "  ", "x\u00a0", "\t", "hello", None]).text
    assert (t.min_length, t.max_length, t.blank_count) == (0, 5, 3)
    assert t.mean_length == pytest.approx((3 + 0 + 2 + 2 + 1 + 5) / 6)


@pytest.mark.parametrize(("value", "shape"), [
    ("ABC-1234", "AAA-9999"), ("ab 12", "AA 99"), ("Ä1-é", "A9-A"), ("(555) 010", "(999) 999"), ("", ""),
])
def test_pattern_shapes_map_letters_to_A_and_digits_to_9_one_per_character(con, value, shape):
    t = profile(con, "VARCHAR", [value]).text
    assert [(p.pattern, p.count, p.share) for p in t.patterns] == [(shape, 1, 1.0)]


def test_pattern_shares_count_rows_and_long_texts_are_cut(con):
    values = ["AB-1", "CD-2", "XY-99", "free text that goes on"]
    t = profile(con, "VARCHAR", values, pattern_max_length=8).text
    assert [(p.pattern, p.count) for p in t.patterns] == [("AA-9", 2), ("AA-99", 1), ("AAAA AAA…", 1)]
    assert (t.pattern_count, t.patterns_sampled) == (3, False)


def test_many_distinct_texts_are_shaped_from_a_deterministic_sample(con):
    values = [f"A{i}" for i in range(1000, 2500)] + [f"{i}" for i in range(10000, 10500)]
    first = profile(con, "VARCHAR", values, pattern_max_values=200).text
    again = profile(con, "VARCHAR", values, pattern_max_values=200).text
    assert first == again and first.patterns_sampled
    shares = {p.pattern: p.share for p in first.patterns}
    assert shares["A9999"] == pytest.approx(0.75, abs=0.08)


def test_dates_and_timestamps_report_their_range(con):
    d = profile(con, "DATE", ["2024-03-01", None, "2023-12-31"]).temporal
    ts = profile(con, "TIMESTAMP", ["2024-03-01 10:00:00", "2024-01-01 00:00:01"]).temporal
    assert (d.min, d.max) == ("2023-12-31", "2024-03-01")
    assert (ts.min, ts.max) == ("2024-01-01T00:00:01", "2024-03-01T10:00:00")


def test_semantic_types_and_units_come_from_the_typing_phase(con):
    make_table(con, {"amount": ("DOUBLE", [1.0, 2.0]), "n": ("BIGINT", [1, 2])})
    info = {"amount": TypeInfo(type="currency", unit=None, units=(("USD", 90), ("EUR", 10)))}
    amount, n = profile_columns(con, "t", info, SETTINGS).columns
    assert (amount.type, amount.units) == ("currency", (("USD", 90), ("EUR", 10)))
    assert (n.type, n.unit, n.units) == ("integer", None, ())  # default from the DuckDB type


def test_awkward_column_names_are_quoted(con):
    name = 'we"ird; DROP TABLE t; -- ümlaut'
    make_table(con, {name: ("VARCHAR", ["a", "b"])})
    assert profile_columns(con, "t", {}, SETTINGS).columns[0].name == name


@pytest.mark.parametrize(("value", "scale", "rounded"), [
    (-4.304362971e-15, 1.0, 0.0),  # the skewness of a symmetric column, as one multi-threaded run gave it
    (1.529683423e-15, 1.0, 0.0),  # ... and as the next one did
    (3.000000000000001e-12, 1e6, 0.0),  # the mean of a column centred on zero with values up to a million
    (1234.56789012345, 1e4, 1234.567890),
    (0.123456789012, 1.0, 0.123456789),
])
def test_statistics_are_rounded_against_their_scale_so_thread_noise_vanishes(value, scale, rounded):
    assert round_scaled(value, scale) == rounded


# --- keys and duplicates ---------------------------------------------------------------------


def keys_of(con: duckdb.DuckDBPyConnection, columns: dict[str, tuple[str, list[Any]]], **settings: Any):
    make_table(con, columns)
    chosen = StatisticsSettings(**settings)
    return profile_keys(con, "t", profile_columns(con, "t", {}, chosen), chosen)


@pytest.mark.parametrize(("columns", "keys"), [
    ({"id": ("BIGINT", [1, 2, 3]), "v": ("VARCHAR", ["a", "a", "b"])}, (("id",),)),
    ({"a": ("BIGINT", [1, 1, 2, 2]), "b": ("VARCHAR", ["x", "y", "x", "y"]), "c": ("BIGINT", [5, 5, 5, 6])},
     (("a", "b"),)),
    ({"a": ("BIGINT", [1, 1, 2]), "b": ("BIGINT", [1, 1, 2])}, ()),
    ({"id": ("BIGINT", [1, None, 3]), "v": ("BIGINT", [1, 1, 1])}, ()),  # a key has no nulls
    ({"amount": ("DOUBLE", [1.5, 2.5, 3.5])}, ()),  # decimals are not key types
], ids=["single", "pair", "none", "nulls", "decimal"])
def test_candidate_keys(con, columns, keys):
    assert keys_of(con, columns).candidate_keys == keys


def test_no_composite_is_counted_when_the_budget_is_zero_and_the_search_says_so(con):
    table = keys_of(con, {"a": ("BIGINT", [1, 1, 2, 2]), "b": ("BIGINT", [1, 2, 1, 2])}, key_max_sets=0)
    assert (table.candidate_keys, table.key_sets_checked, table.key_search_complete) == ((), 0, False)


def grid(*sizes: int) -> list[tuple[int, ...]]:
    """Every combination of 1..size per column: a table whose only key is all the columns."""
    import itertools

    return list(itertools.product(*(range(1, n + 1) for n in sizes)))


def test_a_four_column_key_is_found_when_no_smaller_set_is_unique(con):
    rows = grid(3, 4, 2, 5)
    table = keys_of(con, {name: ("BIGINT", [r[i] for r in rows]) for i, name in enumerate("abcd")}
                    | {"v": ("BIGINT", [7] * len(rows))})
    assert table.candidate_keys == (("a", "b", "c", "d"),)
    assert table.key_search_complete


def test_composite_keys_are_searched_even_when_a_single_column_is_a_key(con):
    rows = grid(6, 5)
    table = keys_of(con, {"id": ("BIGINT", list(range(1, 31))), "a": ("BIGINT", [r[0] for r in rows]),
                          "b": ("VARCHAR", [f"x{r[1]}" for r in rows])})
    assert table.candidate_keys == (("id",), ("a", "b"))


def test_a_measure_unique_by_chance_ranks_after_a_key_of_identifying_columns(con):
    import random

    rng = random.Random(1)
    rows = grid(40, 12)
    population = rng.sample(range(50_000, 1_300_000_000), len(rows))
    table = keys_of(con, {"country": ("VARCHAR", [f"c{r[0]}" for r in rows]),
                          "year": ("BIGINT", [1950 + 5 * r[1] for r in rows]), "pop": ("BIGINT", population)})
    assert table.chance_unique == ("pop",)
    assert table.candidate_keys == (("country", "year"), ("pop",))


def test_a_nearly_unique_measure_never_joins_a_composite_key(con):
    import random

    rng = random.Random(2)
    rows = grid(30, 10)
    population = rng.sample(range(1000, 1_300_000_000), len(rows) - 1)
    population.append(population[0])  # one repeated value: the measure is only nearly unique
    table = keys_of(con, {"country": ("VARCHAR", [f"c{r[0]}" for r in rows]),
                          "year": ("BIGINT", [2000 + r[1] for r in rows]), "population": ("BIGINT", population)})
    assert table.candidate_keys == (("country", "year"),)


def test_a_set_unique_on_the_sample_is_verified_on_the_whole_table(con):
    n = 3000
    a = [i % 50 for i in range(n)]
    b = [i // 50 for i in range(n)]  # (a, b) is a key; (a, c) is unique in every early block only
    c = [i // 50 if i < n - 10 else 0 for i in range(n)]
    table = keys_of(con, {"a": ("BIGINT", a), "b": ("BIGINT", b), "c": ("BIGINT", c)},
                    key_sample_rows=500, key_sample_blocks=2)
    assert ("a", "b") in table.candidate_keys and ("a", "c") not in table.candidate_keys


@pytest.mark.parametrize("verify_rows", [100_000, 1000], ids=["whole table", "larger sample first"])
def test_a_set_unique_on_the_sample_repeating_on_a_larger_one_is_never_counted_on_the_whole_table(
        con, verify_rows):
    """(a, c) is unique in the 500 sampled rows and repeats within the 1,000-row verification
    sample; (a, d) repeats only in the last rows. Whether or not a larger sample screens the
    sets first, the keys found are the same."""
    n = 4000
    a = [i % 50 for i in range(n)]
    b = [i // 50 for i in range(n)]  # (a, b) is a key
    c = [(i // 50) % 6 for i in range(n)]  # (a, c) repeats every 300 rows: unique in a 250-row block only
    d = [i // 50 if i < n - 10 else 0 for i in range(n)]  # (a, d) repeats in the last 10 rows
    table = keys_of(con, {"a": ("BIGINT", a), "b": ("BIGINT", b), "c": ("BIGINT", c), "d": ("BIGINT", d)},
                    key_sample_rows=500, key_sample_blocks=2, key_verify_rows=verify_rows)
    assert ("a", "b") in table.candidate_keys
    assert ("a", "c") not in table.candidate_keys and ("a", "d") not in table.candidate_keys


def test_a_column_that_determines_another_never_shares_a_key_with_it(con):
    rows = grid(10, 6)
    table = keys_of(con, {"country": ("VARCHAR", [f"c{r[0]}" for r in rows]),
                          "iso": ("VARCHAR", [f"i{r[0]}" for r in rows]),
                          "year": ("BIGINT", [r[1] for r in rows])})
    assert set(table.candidate_keys) == {("country", "year"), ("iso", "year")}


def test_duplicate_rows_are_counted_with_their_row_ids(con):
    table = keys_of(con, {"a": ("BIGINT", [1, 2, 1, 3, 1, 2]), "b": ("VARCHAR", ["x", "y", "x", "z", "x", "y"])},
                    duplicate_examples=2)
    d = table.duplicates
    assert (d.rows, d.groups, d.examples, d.method) == (3, 2, ((1, 3), (2, 6)), "grouped all columns")
    assert table.candidate_keys == ()


def test_a_unique_column_rules_out_duplicate_rows_without_a_query(con):
    d = keys_of(con, {"id": ("BIGINT", [1, 2]), "v": ("BIGINT", [0, 0])}).duplicates
    assert (d.rows, d.method) == (0, "implied: column 'id' is unique")


def test_an_empty_table_has_rows_zero_and_no_keys(con):
    table = keys_of(con, {"a": ("BIGINT", []), "b": ("VARCHAR", [])})
    assert (table.rows, table.candidate_keys, table.duplicates.rows) == (0, (), 0)


# --- settings, reader, phase -----------------------------------------------------------------


@pytest.mark.parametrize("bad", [{"histogram_buckets": 0}, {"top_values": 0}, {"key_types": ["money"]}, {"x": 1}])
def test_out_of_range_or_unknown_settings_are_config_errors(bad):
    from phases.core.config import parse_model

    with pytest.raises(ConfigError, match="config/statistics.yaml"):
        parse_model(StatisticsSettings, bad, "config/statistics.yaml")


def test_the_shipped_config_file_is_valid_and_equals_the_defaults():
    assert StatisticsSettings(**read_yaml(REPO / "config" / "statistics.yaml")) == StatisticsSettings()


@pytest.mark.parametrize("text", ["not json", '{"cols": []}', '{"columns": [{"name": "x"}]}'])
def test_a_malformed_column_types_file_is_a_state_error_naming_it(tmp_path, text):
    path = tmp_path / "column_types.json"
    path.write_text(text)
    with pytest.raises(StateError, match="column_types.json: .*rerun the typing phase"):
        COLUMN_TYPES.load(path, "typing")


def test_profiles_read_back_equal_to_what_was_written(con, tmp_path):
    make_table(con, {"n": ("DOUBLE", [1.5, None, -2.0]), "s": ("VARCHAR", ["a", "b", "b"]),
                     "d": ("DATE", ["2024-01-01", "2024-01-02", None]), "f": ("BOOLEAN", [True, False, True])})
    profiles = profile_columns(con, "t", {}, SETTINGS)
    table = profile_keys(con, "t", profiles, SETTINGS)
    dump_json(tmp_path / "c.json", profiles)
    dump_json(tmp_path / "t.json", table)
    assert tuple(COLUMN_PROFILES.load(tmp_path / "c.json").by_name.values()) == profiles.columns
    assert TABLE_PROFILE.load(tmp_path / "t.json") == table


def typing_manifest(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> Path:
    """A fake typing task folder: typed.parquet, column_types.json and its manifest."""
    folder = tmp_path / "state" / "src" / "typing" / "t"
    folder.mkdir(parents=True)
    con.execute(f"COPY (SELECT * FROM t ORDER BY _row_id) TO '{folder / 'typed.parquet'}' (FORMAT parquet)")
    types = {"table": "t", "rows": 4, "cast_failures": 0, "columns": [
        {"name": "id", "type": "integer", "sql_type": "BIGINT", "unit": None, "units": []},
        {"name": "amount", "type": "currency", "sql_type": "DOUBLE", "unit": "USD", "units": []},
        {"name": "status", "type": "text", "sql_type": "VARCHAR", "unit": None, "units": []},
    ]}
    (folder / "column_types.json").write_text(json.dumps(types))
    (folder / "cast_failures.parquet").write_bytes(b"")
    artifacts = {
        name: Artifact(path=file, sha256=file_sha256(folder / file), bytes=(folder / file).stat().st_size)
        for name, file in (("typed_table", "typed.parquet"), ("column_types", "column_types.json"),
                           ("cast_failures", "cast_failures.parquet"))
    }
    return write_manifest(folder, "typing", "src", "t", artifacts, {})


def test_the_phase_writes_both_artifacts_identically_on_every_run(con, tmp_path):
    make_table(con, {"id": ("BIGINT", [1, 2, 3, 4]), "amount": ("DOUBLE", [9.5, 12.25, None, 3.0]),
                     "status": ("VARCHAR", ["paid", "open", "paid", "void"])})
    typing_manifest(tmp_path, con)
    ctx = phase_context(tmp_path, "statistics", ["t"], table="t", source="src")
    output = profile_table(ctx)
    files = ("column_profiles.json", "table_profile.json")
    first = {file: (ctx.out_dir / file).read_bytes() for file in files}
    again = profile_table(ctx)
    assert {file: (ctx.out_dir / file).read_bytes() for file in files} == first
    assert output.summary == again.summary == {
        "rows": 4, "columns": 3, "candidate_keys": [["id"]], "duplicate_rows": 0,
    }
    profiles = COLUMN_PROFILES.load(ctx.out_dir / "column_profiles.json").by_name
    assert (profiles["amount"].type, profiles["amount"].unit, profiles["amount"].null_count) == ("currency", "USD", 1)
    assert TABLE_PROFILE.load(ctx.out_dir / "table_profile.json").rows == 4


def test_free_text_joins_no_composite_key_but_stays_a_key_of_its_own(con):
    import random

    rng = random.Random(3)
    words = ["quick", "fox", "lazy", "dog", "blithe", "ironic", "deposits", "sleep", "carefully", "final"]
    comments = [" ".join(rng.choice(words) for _ in range(rng.randint(2, 6))) + f" {i}" for i in range(200)]
    comments[1] = comments[0]  # nearly unique: pairs with it would be unique by accident
    table = keys_of(con, {"code": ("VARCHAR", [f"ORD-{i:05d}" for i in range(200)]), "comment": ("VARCHAR", comments),
                          "flag": ("BOOLEAN", [i % 2 == 0 for i in range(200)])})
    assert table.candidate_keys == (("code",),)
    unique = keys_of(con, {"code": ("VARCHAR", [f"ORD-{i:05d}" for i in range(200)]),
                           "comment": ("VARCHAR", [c + f" #{i}" for i, c in enumerate(comments)])})
    assert unique.candidate_keys == (("code",), ("comment",))


# --- many columns at once --------------------------------------------------------------------


def _wide_columns(count: int, rows: int) -> dict[str, tuple[str, list[Any]]]:
    """`count` columns of four types, each with its own values (repeats, NULLs, text shapes)."""
    kinds = ("BIGINT", "DOUBLE", "VARCHAR", "DATE")
    columns: dict[str, tuple[str, list[Any]]] = {}
    for i in range(count):
        kind = kinds[i % len(kinds)]
        raw = [(r * (i + 3)) % (7 + i % 11) if (r + i) % 9 else None for r in range(rows)]
        if kind == "DOUBLE":
            values: list[Any] = [None if v is None else v * 1.25 - i for v in raw]
        elif kind == "VARCHAR":
            values = [None if v is None else f"{'AB'[v % 2]}-{v * i}" for v in raw]
        elif kind == "DATE":
            values = [None if v is None else f"2024-01-{v + 1:02d}" for v in raw]
        else:
            values = raw
        columns[f"c {i}"] = (kind, values)
    return columns


@pytest.mark.parametrize(("count", "rows"), [(300, 30), (60, 400)])
def test_a_300_column_table_is_profiled_as_each_column_alone(con, count, rows):
    columns = _wide_columns(count, rows)
    make_table(con, columns, "wide")
    together = profile_columns(con, "wide", {}, SETTINGS).columns
    for position, (name, column) in enumerate(columns.items(), start=1):
        make_table(con, {name: column}, "alone")
        alone = profile_columns(con, "alone", {}, SETTINGS).columns[0]
        assert together[position - 1] == dataclasses.replace(alone, position=position)


def test_columns_batched_in_chunks_profile_as_in_one_batch(con):
    make_table(con, _wide_columns(40, 50), "wide")
    one_batch = profile_columns(con, "wide", {}, SETTINGS)
    con.execute("SET VARIABLE dataraum_columns_per_query = 3")
    assert profile_columns(con, "wide", {}, SETTINGS) == one_batch
    con.execute("SET VARIABLE dataraum_batch_values = 1")  # a column per batch
    assert profile_columns(con, "wide", {}, SETTINGS) == one_batch
