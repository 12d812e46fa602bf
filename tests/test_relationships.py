"""The relationships phase on small schemas whose keys are known by construction: a star, a
snowflake, a self-reference, composite keys, a dirty foreign key, the small-integer trap, two
references to one parent, one-to-one direction, the example's name-based keys, a 2,000-column
table; plus names, settings, the typed reader and the phase adapter end to end."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from phases.artifacts.column_profiles import ColumnProfile, NumericStats
from phases.artifacts.relationships import RELATIONSHIPS, Relationships
from phases.artifacts.table_profile import DuplicateRows, TableProfile
from phases.core.config import parse_model
from phases.core.context import TaskContext
from phases.core.errors import ConfigError, StateError
from phases.core.manifest import read_manifest, write_manifest
from phases.core.records import dump_json
from phases.core.sql import quote_ident
from phases.engine.runner import describe_artifacts
from phases.profile.statistics import StatisticsSettings, profile_columns, profile_keys
from phases.structure.key_names import NameParts, column_name_parts, table_prefix, words_similarity
from phases.structure.relationship_settings import RelationshipSettings
from phases.structure.relationships import TableInput, discover_relationships, find_relationships
from tests.conftest import phase_context

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "finance_example"
Columns = dict[str, tuple[str, list[Any]]]


def make_table(con: duckdb.DuckDBPyConnection, name: str, columns: Columns) -> None:
    """A table with _row_id 1..n and the given (DuckDB type, values) columns."""
    n = len(next(iter(columns.values()))[1])
    selects = [f"unnest(range(1, {n + 1})) AS _row_id"]
    selects += [f"unnest(?::{sql_type}[]) AS {quote_ident(col)}" for col, (sql_type, _) in columns.items()]
    con.execute(f"CREATE OR REPLACE TABLE {quote_ident(name)} AS SELECT {', '.join(selects)}",
                [values for _, values in columns.values()])


def profiled(con: duckdb.DuckDBPyConnection, name: str) -> TableInput:
    """The statistics phase's own profiles of a table already in `con`."""
    stats = StatisticsSettings()
    profiles = profile_columns(con, name, {}, stats)
    return TableInput(view=name, table_profile=profile_keys(con, name, profiles, stats),
                      column_profiles={c.name: c for c in profiles.columns})


def discover(con: duckdb.DuckDBPyConnection, tables: dict[str, Columns], **settings: Any) -> Relationships:
    for name, columns in tables.items():
        make_table(con, name, columns)
    inputs = {name: profiled(con, name) for name in tables}
    return find_relationships(con, "s", inputs, RelationshipSettings(**settings))


def found(report: Relationships) -> set[str]:
    return {r.id for r in report.relationships}


def by_id(report: Relationships, rid: str):
    return next(r for r in report.relationships if r.id == rid)


def rejected(report: Relationships, rid: str):
    return next(r for r in report.rejected if r.id == rid)


def ints(values: list[int]) -> tuple[str, list[int]]:
    return ("BIGINT", values)


def texts(values: list[str | None]) -> tuple[str, list[str | None]]:
    return ("VARCHAR", values)


def amounts(n: int, rng: random.Random) -> tuple[str, list[float]]:
    return ("DOUBLE", [round(rng.uniform(1, 500), 2) for _ in range(n)])


# --- schemas with known answers --------------------------------------------------------------


def star(rng: random.Random) -> dict[str, Columns]:
    n = 400
    return {
        "customers": {"customer_id": ints(list(range(1, 41))), "name": texts([f"Customer {i}" for i in range(40)])},
        "products": {"product_code": texts([f"P-{i:03d}" for i in range(1, 26)]), "price": amounts(25, rng)},
        "stores": {"store_id": ints(list(range(1, 7))),
                   "city": texts(["Oslo", "Rome", "Lima", "Pune", "Kyiv", "Nice"])},
        "sales": {
            "sale_id": ints(list(range(1, n + 1))),
            "customer_id": ints([rng.randint(1, 40) for _ in range(n)]),
            "product_code": texts([f"P-{rng.randint(1, 25):03d}" for _ in range(n)]),
            "store_id": ints([rng.randint(1, 6) for _ in range(n)]),
            "quantity": ints([rng.randint(1, 10) for _ in range(n)]),  # inside customer_id's range: a trap
            "amount": amounts(n, rng),
        },
    }


def test_a_star_schema_finds_each_dimension_key_and_nothing_else(con):
    report = discover(con, star(random.Random(1)))
    assert found(report) == {
        "sales.customer_id->customers.customer_id",
        "sales.product_code->products.product_code",
        "sales.store_id->stores.store_id",
    }
    assert all(r.cardinality == "many_to_one" and not r.fans_out and r.orphan_rows == 0
               for r in report.relationships)
    assert report.primary_keys["sales"][0] == ("sale_id",)


def test_a_snowflake_finds_the_keys_between_dimensions_too(con):
    rng = random.Random(2)
    n = 300
    tables = {
        "categories": {"category_id": ints([1, 2, 3, 4, 5]), "label": texts(["a", "b", "c", "d", "e"])},
        "products": {"product_id": ints(list(range(1, 31))),
                     "category_id": ints([rng.randint(1, 5) for _ in range(30)])},
        "regions": {"region_code": texts(["R-N", "R-S", "R-E", "R-W"]), "manager": texts(["x", "y", "z", "w"])},
        "stores": {"store_id": ints(list(range(1, 9))), "region_code": texts([rng.choice("NSEW") for _ in range(8)])},
        "sales": {"sale_id": ints(list(range(1, n + 1))), "product_id": ints([rng.randint(1, 30) for _ in range(n)]),
                  "store_id": ints([rng.randint(1, 8) for _ in range(n)]), "amount": amounts(n, rng)},
    }
    tables["stores"]["region_code"] = texts([f"R-{c}" for c in tables["stores"]["region_code"][1]])
    report = discover(con, tables)
    assert found(report) == {
        "products.category_id->categories.category_id",
        "sales.product_id->products.product_id",
        "sales.store_id->stores.store_id",
        "stores.region_code->regions.region_code",
    }


def test_a_self_reference_is_found_and_marked(con):
    rng = random.Random(3)
    managers = [None, None, None] + [rng.randint(1, i) for i in range(3, 60)]
    report = discover(con, {"employees": {
        "employee_id": ints(list(range(1, 61))),
        "manager_id": ("BIGINT", managers),
        "dept_no": ints([rng.randint(1, 5) for _ in range(60)]),  # small integers inside employee_id's range
        "salary": amounts(60, rng),
    }})
    assert found(report) == {"employees.manager_id->employees.employee_id"}
    link = report.relationships[0]
    assert (link.self_reference, link.null_rows, link.orphan_rows) == (True, 3, 0)


def order_lines(rng: random.Random) -> tuple[list[int], list[int]]:
    orders, lines = [], []
    for order in range(1, 51):
        for line in range(1, rng.randint(1, 4) + 1):
            orders.append(order)
            lines.append(line)
    return orders, lines


def test_a_composite_foreign_key_is_found_on_both_columns_together(con):
    rng = random.Random(4)
    orders, lines = order_lines(rng)
    shipped = rng.sample(range(len(orders)), 60)
    report = discover(con, {
        "orders": {"order_id": ints(list(range(1, 51))), "placed": texts([f"day {i}" for i in range(50)])},
        "order_lines": {"order_id": ints(orders), "line_no": ints(lines), "qty": ints([7] * len(orders))},
        "shipments": {"shipment_id": ints(list(range(1, 61))), "order_id": ints([orders[i] for i in shipped]),
                      "line_no": ints([lines[i] for i in shipped])},
    })
    assert report.primary_keys["order_lines"][0] == ("order_id", "line_no")
    assert found(report) == {
        "order_lines.order_id->orders.order_id",
        "shipments.order_id->orders.order_id",
        "shipments.(order_id, line_no)->order_lines.(order_id, line_no)",
    }
    assert by_id(report, "shipments.(order_id, line_no)->order_lines.(order_id, line_no)").cardinality == "one_to_one"


def test_a_composite_reference_needs_whole_tuples_not_just_each_column(con):
    rng = random.Random(5)
    orders, lines = order_lines(rng)
    scrambled = [(o, 4 if rng.random() < 0.7 else 1) for o in rng.choices(range(1, 51), k=80)]
    report = discover(con, {
        "order_lines": {"order_id": ints(orders), "line_no": ints(lines)},
        "returns": {"return_id": ints(list(range(1, 81))), "order_id": ints([o for o, _ in scrambled]),
                    "line_no": ints([line for _, line in scrambled])},
    })
    assert not any("returns.(order_id, line_no)" in r.id for r in report.relationships)


def test_a_triple_composite_key_is_found_when_no_pair_is_unique(con):
    rows = [(a, b, d) for a in ("EUR", "GBP", "JPY") for b in ("USD", "CHF", "SEK") for d in range(10)]
    report = discover(con, {"rates": {
        "from_ccy": texts([a for a, _, _ in rows]), "to_ccy": texts([b for _, b, _ in rows]),
        "day": ints([d for _, _, d in rows]), "rate": ("DOUBLE", [1.0 + i / 100 for i in range(len(rows))]),
    }})
    assert report.primary_keys["rates"] == (("from_ccy", "to_ccy", "day"),)


def test_a_dirty_foreign_key_keeps_its_orphans_and_their_examples(con):
    rng = random.Random(6)
    codes = [f"C-{i:04d}" for i in range(1, 101)]
    valid = codes + [rng.choice(codes) for _ in range(540)]
    orphans = [f"C-9{i:03d}" for i in range(12) for _ in range(10)]  # 120 rows: 15 % of 800
    nulls = [None] * 40
    values = valid + orphans + nulls
    report = discover(con, {
        "customers": {"customer_code": texts(codes), "name": texts([f"Name {i}" for i in range(100)])},
        "invoices": {"invoice_no": ints(list(range(1, 801))), "customer_code": texts(values)},
    })
    link = by_id(report, "invoices.customer_code->customers.customer_code")
    assert (link.child_rows, link.matched_rows, link.orphan_rows, link.orphan_values, link.null_rows) == (
        800, 640, 120, 12, 40)
    assert link.inner_join_drop_ratio == (120 + 40) / 800
    assert [(e.value, e.rows) for e in link.orphan_examples] == [(f"C-9{i:03d}", 10) for i in range(5)]
    assert link.evidence["decades"] >= RelationshipSettings().evidence.accept


def test_small_integers_inside_an_id_range_are_not_a_key(con):
    rng = random.Random(7)
    report = discover(con, {
        "products": {"product_id": ints(list(range(1, 51))), "title": texts([f"Item {i}" for i in range(50)])},
        "orders": {"order_id": ints(list(range(1, 301))), "product_id": ints([rng.randint(1, 50) for _ in range(300)]),
                   "quantity": ints([rng.randint(1, 10) for _ in range(300)])},
    })
    assert found(report) == {"orders.product_id->products.product_id"}
    trap = rejected(report, "orders.quantity->products.product_id")
    assert trap.evidence["containment"] == 1.0 and trap.evidence["containment_expected_by_chance"] is True
    assert "expected by chance" in trap.reason


def test_two_references_from_one_table_to_the_same_parent_are_both_found(con):
    rng = random.Random(8)
    codes = ["OSL", "ROM", "LIM", "PNQ", "KBP", "NCE", "JFK", "SFO"]
    report = discover(con, {
        "airports": {"code": texts(codes), "city": texts(["Oslo", "Rome", "Lima", "Pune", "Kyiv", "Nice", "NY", "SF"])},
        "flights": {"flight_no": ints(list(range(1, 201))),
                    "from_airport": texts([rng.choice(codes) for _ in range(200)]),
                    "to_airport": texts([rng.choice(codes) for _ in range(200)])},
    })
    assert found(report) == {"flights.from_airport->airports.code", "flights.to_airport->airports.code"}


def test_a_one_to_one_pair_keeps_the_direction_towards_the_primary_key(con):
    rng = random.Random(9)
    invoices = [f"INV-{i:05d}" for i in range(1, 301)]
    paid = rng.sample(invoices, 260)
    report = discover(con, {
        "invoices": {"invoice_id": texts(invoices), "amount": amounts(300, rng)},
        "payments": {"payment_id": texts([f"PAY-{i:05d}" for i in range(1, 261)]), "invoice_id": texts(paid)},
    })
    assert found(report) == {"payments.invoice_id->invoices.invoice_id"}
    assert report.relationships[0].cardinality == "one_to_one"
    assert "reverse direction" in rejected(report, "invoices.invoice_id->payments.invoice_id").reason


def test_a_nearly_unique_parent_is_accepted_and_said_to_fan_out(con):
    rng = random.Random(10)
    ids = list(range(1, 101)) + [7]  # one duplicated customer row
    report = discover(con, {
        "customers": {"customer_id": ints(ids), "name": texts([f"N{i}" for i in range(101)])},
        "orders": {"order_id": ints(list(range(1, 401))),
                   "customer_id": ints([rng.randint(1, 100) for _ in range(400)])},
    })
    link = by_id(report, "orders.customer_id->customers.customer_id")
    sevens = con.execute("SELECT count(*) FROM orders WHERE customer_id = 7").fetchone()[0]
    assert (link.fans_out, link.fan_out_rows) == (sevens > 0, sevens)


def test_the_examples_name_based_keys_are_found_with_their_orphans(con):
    inputs = {}
    for path in sorted(EXAMPLE.glob("*.csv")):
        name = path.stem.lower()
        con.execute(f"CREATE TABLE {quote_ident(name)} AS SELECT row_number() OVER () AS _row_id, * "
                    f"FROM read_csv(?, nullstr = ['', '--'], sample_size = -1)", [str(path)])
        inputs[name] = profiled(con, name)
    report = find_relationships(con, "finance_example", inputs, RelationshipSettings())
    assert found(report) == {
        "master_txn_table.Customer->customer_table.Customer",
        "master_txn_table.Vendor->vendor_table.Vendor",
        "master_txn_table.Product/Service->product_service_table.Product/Service",
        "master_txn_table.Payment Method->payment_method.Payment Method",
    }
    customers = by_id(report, "master_txn_table.Customer->customer_table.Customer")
    assert (customers.orphan_rows, customers.orphan_values) == (7, 4)
    assert (customers.orphan_examples[0].value, customers.orphan_examples[0].rows) == ("Northwind Traders Ltd", 4)
    assert customers.evidence["orphans_matching_after_trim"] == {"values": 3, "rows": 3}


@pytest.mark.parametrize("column", ['Kunden "Nr"; DROP TABLE kunden; --', "it's", "Größe/Ort", "select"])
def test_column_names_that_look_like_sql_are_quoted_everywhere(con, column):
    rng = random.Random(14)
    lines = [(k, p) for k in range(1, 31) for p in range(1, k % 3 + 2)]  # 1 to 3 positions per customer
    picked = [rng.choice(lines) for _ in range(200)]
    report = discover(con, {
        "kunden": {column: ints(list(range(1, 31))), "name": texts([f"K{i}" for i in range(30)])},
        "lines": {"kunden_" + column: ints([k for k, _ in lines]), "pos " + column: ints([p for _, p in lines])},
        "rechnungen": {"nr": ints(list(range(1, 201))), column: ints([k for k, _ in picked]),
                       "pos " + column: ints([p for _, p in picked])},
    })
    assert f"rechnungen.{column}->kunden.{column}" in found(report)
    assert report.primary_keys["lines"][0] == ("kunden_" + column, "pos " + column)
    assert f"rechnungen.({column}, pos {column})->lines.(kunden_{column}, pos {column})" in found(report)


# --- a wide table ----------------------------------------------------------------------------


def integer_profile(name: str, position: int, values: list[int]) -> ColumnProfile:
    """A ColumnProfile of an integer column from its values, without the statistics phase's cost."""
    distinct = len(set(values))
    numeric = NumericStats(min=min(values), max=max(values), mean=0.0, std=None, skewness=None, kurtosis=None,
                           quantiles={}, zero_count=0, negative_count=0, histogram=())
    return ColumnProfile(name=name, position=position, sql_type="BIGINT", type="integer", unit=None, units=(),
                         rows=len(values), null_count=0, null_ratio=0.0, distinct_count=distinct,
                         cardinality_ratio=distinct / len(values), unique=distinct == len(values), entropy_bits=0.0,
                         entropy_normalized=0.0, top_values=(), numeric=numeric)


def integer_table(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, list[int]]) -> TableInput:
    make_table(con, name, {c: ints(v) for c, v in columns.items()})
    rows = len(next(iter(columns.values())))
    keys = tuple((c,) for c, v in columns.items() if len(set(v)) == rows)
    profile = TableProfile(table=name, rows=rows, columns=tuple(columns), candidate_keys=keys, chance_unique=(),
                           key_sets_checked=0, key_search_complete=True,
                           duplicates=DuplicateRows(rows=0, groups=0, examples=(), method="test"))
    return TableInput(view=name, table_profile=profile, column_profiles={
        c: integer_profile(c, i, v) for i, (c, v) in enumerate(columns.items(), start=1)})


def test_a_table_of_two_thousand_columns_measures_a_few_parents_per_column_not_all_pairs(con):
    rng = random.Random(11)
    rows = 200
    wide = {"row_key": list(range(1, rows + 1)), "customer_id": [rng.randint(1, 60) for _ in range(rows)]}
    for i in range(1998):  # small integers, large integers, all contained somewhere or nowhere
        high = 30 if i % 2 else 10**6
        wide[f"m{i}"] = [rng.randint(1, high) for _ in range(rows)]
    inputs = {
        "customers": integer_table(con, "customers", {"customer_id": list(range(1, 61))}),
        "wide": integer_table(con, "wide", wide),
    }
    settings = RelationshipSettings()
    report = find_relationships(con, "s", inputs, settings)
    assert found(report) == {"wide.customer_id->customers.customer_id"}
    # Parents are capped per table, so pairs grow with columns x a few parents, never columns x columns.
    assert report.search["parent_keys"] <= 1 + settings.max_parent_keys_per_table
    assert report.search["pairs_measured"] <= len(wide) * report.search["parent_keys"] < len(wide) ** 2 // 100


# --- names -----------------------------------------------------------------------------------

RULES = RelationshipSettings().names


@pytest.mark.parametrize(("a", "b", "similar"), [
    (("supp",), ("supplier",), 0.9),
    (("cust",), ("customer",), 0.9),
    (("acct",), ("account",), 0.8),
    (("account",), ("chart", "account"), 1.0),
    (("billing", "customer"), ("customer",), 1.0),
    (("region",), ("nation",), 0.0),
    (("quantity",), ("supp",), 0.0),
])
def test_word_lists_match_by_abbreviation_and_containment(a, b, similar):
    assert words_similarity(a, b) == pytest.approx(similar)


@pytest.mark.parametrize(("name", "prefix", "parts"), [
    ("l_suppkey", "l", NameParts(core=("supp",), id_like=True)),
    ("Customer ID", None, NameParts(core=("customer",), id_like=True)),
    ("entry_id", None, NameParts(core=("entry",), id_like=True)),
    ("parentAccountId", None, NameParts(core=("parent", "account"), id_like=True)),
    ("paid", None, NameParts(core=("paid",), id_like=False)),
    ("Product/Service", None, NameParts(core=("product", "service"), id_like=False)),
])
def test_column_names_split_into_meaningful_words(name, prefix, parts):
    assert column_name_parts(name, prefix, RULES) == parts


def test_a_prefix_shared_by_nearly_every_column_is_a_table_prefix():
    assert table_prefix(["c_custkey", "c_name", "c_nationkey", "c_phone"]) == "c"
    assert table_prefix(["account_id", "name", "parent_id"]) is None


# --- settings, artifact and reader -----------------------------------------------------------


def test_the_settings_file_documents_every_setting_of_the_model():
    text = (REPO / "config" / "relationships.yaml").read_text()
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() and not line.lstrip().startswith("#"):
            assert lines[i - 1].lstrip().startswith("#"), f"no comment above {line!r}"
    data = yaml.safe_load(text)
    assert set(data) == set(RelationshipSettings.model_fields)
    assert RelationshipSettings(**data) == RelationshipSettings()  # the file holds the defaults


@pytest.mark.parametrize(("key", "value"), [("min_containment", 2), ("max_candidate_pairs", 0),
                                            ("weights", {"name": -1})])
def test_out_of_range_settings_are_refused_naming_the_key(key, value):
    with pytest.raises(ConfigError, match=key):
        parse_model(RelationshipSettings, {key: value}, "config/relationships.yaml")


def test_the_reader_returns_what_was_written(con, tmp_path):
    report = discover(con, star(random.Random(12)))
    dump_json(tmp_path / "relationships.json", report)
    assert RELATIONSHIPS.load(tmp_path / "relationships.json") == report


def test_a_missing_artifact_is_a_state_error(tmp_path):
    with pytest.raises(StateError, match="run the relationships phase"):
        RELATIONSHIPS.load(tmp_path / "relationships.json", "relationships")


# --- the phase adapter -----------------------------------------------------------------------


def write_upstream(root: Path, table: str, columns: Columns) -> tuple[Any, Any]:
    """typed.parquet and the statistics artifacts of one table, with their manifests."""
    typing_dir, stats_dir = root / "state/s/typing" / table, root / "state/s/statistics" / table
    typing_dir.mkdir(parents=True)
    stats_dir.mkdir(parents=True)
    with duckdb.connect() as con:
        make_table(con, table, columns)
        con.execute(f"COPY {quote_ident(table)} TO '{typing_dir / 'typed.parquet'}' (FORMAT parquet)")
        stats = StatisticsSettings()
        profiles = profile_columns(con, table, {}, stats)
        dump_json(stats_dir / "column_profiles.json", profiles)
        dump_json(stats_dir / "table_profile.json", profile_keys(con, table, profiles, stats))
    (typing_dir / "column_types.json").write_text(json.dumps({"columns": []}))
    typed = {"typed_table": "typed.parquet", "column_types": "column_types.json"}
    write_manifest(typing_dir, "typing", "s", table, describe_artifacts(typing_dir, typed), {})
    profiles_files = {"column_profiles": "column_profiles.json", "table_profile": "table_profile.json"}
    write_manifest(stats_dir, "statistics", "s", table, describe_artifacts(stats_dir, profiles_files), {})
    return read_manifest(typing_dir / "manifest.json"), read_manifest(stats_dir / "manifest.json")


def build_context(tmp_path: Path) -> TaskContext:
    """A TaskContext as the runner builds it, over upstream manifests written by hand."""
    tables = star(random.Random(13))
    for table, columns in tables.items():
        write_upstream(tmp_path, table, columns)
    return phase_context(tmp_path, "relationships", sorted(tables))


def test_the_phase_writes_byte_identical_relationships_on_a_rerun(tmp_path):
    ctx = build_context(tmp_path)
    output = discover_relationships(ctx)
    first = (ctx.out_dir / "relationships.json").read_bytes()
    discover_relationships(ctx)
    assert (ctx.out_dir / "relationships.json").read_bytes() == first
    assert output.summary["relationships"] == [
        "sales.customer_id->customers.customer_id", "sales.product_code->products.product_code",
        "sales.store_id->stores.store_id",
    ]
    report = RELATIONSHIPS.load(ctx.out_dir / "relationships.json")
    assert report.tables["sales"].rows == 400 and report.primary_keys["stores"][0] == ("store_id",)
