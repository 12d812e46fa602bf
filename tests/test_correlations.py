"""The correlations phase: each statistic against a value computed by hand, functional dependencies
and keys, associations across a relationship, the settings file, the typed readers, the phase
adapter (byte-identical reruns, also on two threads) and the example source end to end.
Derived columns have their own file, tests/test_derived_columns.py."""

from __future__ import annotations

import json
import math
import statistics as pystats
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from phases.artifacts.column_profiles import ColumnProfile
from phases.artifacts.correlations import CORRELATIONS, Association, TableCorrelations
from phases.artifacts.derived_columns import DERIVED_COLUMNS, DerivedColumn
from phases.artifacts.relationships import RELATIONSHIPS
from phases.core.config import CsvOptions, RuntimeSettings, SourceConfig, parse_model, read_yaml
from phases.core.context import SourceContext
from phases.core.dag import PhaseSpec, Pipeline
from phases.core.errors import ConfigError, StateError
from phases.core.manifest import read_manifest, write_manifest
from phases.core.records import dump_json, round_sig
from phases.core.sources import TableRef, safe_table_name
from phases.core.sql import quote_ident
from phases.engine.runner import describe_artifacts
from phases.ingest.csv_import import import_csv
from phases.ingest.type_inference import infer_types
from phases.ingest.typing_settings import TypingSettings
from phases.profile.statistics import StatisticsSettings, TypeInfo, profile_columns, profile_keys, profile_parquet
from phases.structure.correlations import (
    CorrelationSettings,
    Join,
    analyse_join,
    analyse_table,
    measure_correlations,
)

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "finance_example"


# --- helpers ----------------------------------------------------------------------------------


def settings(**sections: dict[str, Any]) -> CorrelationSettings:
    """Defaults, except for the given keys of each section; small tables need min_rows lowered."""
    base = {"associations": {"min_rows": 3, "min_strength": 0.0}, "dependencies": {"min_rows": 3},
            "derived": {"min_rows": 3, "min_nonzero_matches": 2, "min_sample_matches": 2}}
    for name, values in sections.items():
        base[name] = {**base.get(name, {}), **values}
    return CorrelationSettings.model_validate(base)


def make_table(con: duckdb.DuckDBPyConnection, columns: dict[str, tuple[str, list[Any]]], name: str = "t") -> str:
    """A table with _row_id 1..n and the given (DuckDB type, values) columns."""
    n = len(next(iter(columns.values()))[1])
    selects = [f"unnest(range(1, {n + 1})) AS _row_id"]
    selects += [f"unnest(?::{sql_type}[]) AS {quote_ident(col)}" for col, (sql_type, _) in columns.items()]
    con.execute(f"CREATE OR REPLACE TABLE {quote_ident(name)} AS SELECT {', '.join(selects)}",
                [values for _, values in columns.values()])
    return name


def profiles_of(con: duckdb.DuckDBPyConnection, table: str, types: dict[str, str] | None = None
                ) -> tuple[dict[str, ColumnProfile], tuple[tuple[str, ...], ...]]:
    """The statistics phase's profiles and candidate keys of a table in `con`."""
    info = {name: TypeInfo(type=t) for name, t in (types or {}).items()}
    profiles = profile_columns(con, table, info, StatisticsSettings())
    keys = profile_keys(con, table, profiles, StatisticsSettings()).candidate_keys
    return {c.name: c for c in profiles.columns}, keys


def analyse(
    con: duckdb.DuckDBPyConnection, columns: dict[str, tuple[str, list[Any]]], types: dict[str, str] | None = None,
    config: CorrelationSettings | None = None,
) -> tuple[TableCorrelations, list[Association], list[DerivedColumn]]:
    make_table(con, columns)
    profiles, keys = profiles_of(con, "t", types)
    record, found, derived, _ = analyse_table(con, "t", "t", profiles, keys, config or settings())
    return record, found, derived


def value(found: list[Association], measure: str, x: str, y: str) -> float | None:
    matches = [a.value for a in found if a.measure == measure and a.x == x and a.y == y]
    return matches[0] if matches else None


def average_ranks(values: list[float]) -> list[float]:
    order = sorted(values)
    first = {v: order.index(v) + 1 for v in set(values)}
    return [first[v] + (order.count(v) - 1) / 2 for v in values]


def bergsma_v(pairs: list[tuple[Any, Any]]) -> float:
    """Bias-corrected Cramér's V from the definition: chi-square over every cell of the table."""
    n, cells = len(pairs), Counter(pairs)
    rows, cols = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    chi2 = sum((cells[(a, b)] - rows[a] * cols[b] / n) ** 2 / (rows[a] * cols[b] / n) for a in rows for b in cols)
    r, k = len(rows), len(cols)
    phi2 = max(0.0, chi2 / n - (k - 1) * (r - 1) / (n - 1))
    r_c, k_c = r - (r - 1) ** 2 / (n - 1), k - (k - 1) ** 2 / (n - 1)
    return math.sqrt(phi2 / min(k_c - 1, r_c - 1))


def eta(categories: list[str], numbers: list[float]) -> float:
    mean = pystats.fmean(numbers)
    groups: dict[str, list[float]] = {}
    for c, v in zip(categories, numbers, strict=True):
        groups.setdefault(c, []).append(v)
    between = sum(len(g) * (pystats.fmean(g) - mean) ** 2 for g in groups.values())
    return math.sqrt(between / sum((v - mean) ** 2 for v in numbers))


# --- numbers ----------------------------------------------------------------------------------

X = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]
Y = [2.0, 4.0, 5.0, 4.0, 5.0, 9.0, 7.0, 12.0]


def test_pearson_equals_the_textbook_value(con):
    _, found, _ = analyse(con, {"x": ("DOUBLE", X), "y": ("DOUBLE", Y)})
    assert value(found, "pearson", "x", "y") == pytest.approx(pystats.correlation(X, Y), abs=1e-9)
    assert value(found, "pearson", "x", "y") == pytest.approx(0.8910563851, abs=1e-9)  # 49 / sqrt(42 * 72)


def test_spearman_gives_ties_the_mean_of_their_ranks(con):
    _, found, _ = analyse(con, {"x": ("DOUBLE", X), "y": ("DOUBLE", Y)})
    expected = pystats.correlation(average_ranks(X), average_ranks(Y))  # y ranks: 1, 2.5, 4.5, 2.5, 4.5, 7, 6, 8
    assert value(found, "spearman", "x", "y") == pytest.approx(expected, abs=1e-9)
    assert value(found, "spearman", "x", "y") == pytest.approx(0.9157291162, abs=1e-9)


def test_spearman_ranks_each_pair_again_on_its_complete_rows(con):
    y = [2.0, None, 5.0, 4.0, None, 9.0, 7.0, 12.0]
    _, found, _ = analyse(con, {"x": ("DOUBLE", X), "y": ("DOUBLE", y), "z": ("DOUBLE", Y)})
    complete = [(a, b) for a, b in zip(X, y, strict=True) if b is not None]
    xs, ys = zip(*complete, strict=True)
    assert value(found, "spearman", "x", "y") == pytest.approx(
        pystats.correlation(average_ranks(list(xs)), average_ranks(list(ys))), abs=1e-9)
    association = next(a for a in found if a.measure == "spearman" and a.y == "y")
    assert (association.rows, association.sampled) == (6, False)


def test_spearman_on_a_large_table_uses_a_sample_and_records_its_size(con):
    n = 500
    config = settings(associations={"spearman_sample_rows": 100})
    _, found, _ = analyse(con, {"x": ("DOUBLE", [float(i) for i in range(n)]),
                                "y": ("DOUBLE", [float(i % 97) for i in range(n)])}, config=config)
    by_measure = {a.measure: a for a in found}
    assert (by_measure["spearman"].rows, by_measure["spearman"].sampled) == (100, True)
    assert (by_measure["pearson"].rows, by_measure["pearson"].sampled) == (n, False)


def test_a_pair_whose_complete_rows_are_constant_gets_no_value(con):
    record, found, _ = analyse(con, {"x": ("DOUBLE", [1.0, 1.0, 1.0, 2.0, None]),
                                     "y": ("DOUBLE", [3.0, 4.0, 5.0, None, 6.0])})
    assert [a for a in found if a.measure == "pearson"] == []
    assert record.pairs_tested["pearson"] == 0


def test_pairs_below_min_strength_are_counted_but_not_listed(con):
    config = settings(associations={"min_strength": 0.99})
    record, found, _ = analyse(con, {"x": ("DOUBLE", X), "y": ("DOUBLE", Y)}, config=config)
    assert found == []
    assert (record.pairs_tested["pearson"], record.pairs_tested["spearman"]) == (1, 1)


# --- categories -------------------------------------------------------------------------------

REGION = ["north", "north", "north", "south", "south", "south", "east", "east", "east", "north", "south", "east"] * 2
SEGMENT = ["a", "a", "b", "b", "b", "c", "c", "c", "a", "a", "b", "c"] * 2
TIER = ["x", "y"] * 12  # independent of both


def test_cramers_v_with_bias_correction_equals_the_value_from_the_definition(con):
    _, found, _ = analyse(con, {"region": ("VARCHAR", REGION), "segment": ("VARCHAR", SEGMENT)},
                          config=settings(associations={"min_category_rows": 2}))
    assert value(found, "cramers_v", "region", "segment") == pytest.approx(
        bergsma_v(list(zip(REGION, SEGMENT, strict=True))), abs=1e-9)


def test_a_categorical_association_is_found_and_an_independent_pair_is_not(con):
    region = ["north"] * 30 + ["south"] * 30 + ["east"] * 30
    segment = ["retail"] * 27 + ["online"] * 3 + ["online"] * 28 + ["retail"] * 2 + ["b2b"] * 30
    tier = ["x", "y", "z"] * 30
    _, found, _ = analyse(con, {"region": ("VARCHAR", region), "segment": ("VARCHAR", segment),
                                "tier": ("VARCHAR", tier)}, config=settings(associations={"min_strength": 0.3}))
    strong = value(found, "cramers_v", "region", "segment")
    assert strong == pytest.approx(bergsma_v(list(zip(region, segment, strict=True))), abs=1e-9)
    assert strong > 0.8
    assert value(found, "cramers_v", "region", "tier") is None  # independent: V = 0, below min_strength


@pytest.mark.parametrize(("a", "b", "expected"), [
    (["p", "q"] * 10, ["p", "q"] * 10, 1.0),  # perfect association
    (["p", "p", "q", "q"] * 5, ["r", "s"] * 10, 0.0),  # every cell equally full
])
def test_cramers_v_is_one_for_a_perfect_association_and_zero_for_independence(con, a, b, expected):
    _, found, _ = analyse(con, {"a": ("VARCHAR", a), "b": ("VARCHAR", b)})
    assert value(found, "cramers_v", "a", "b") == expected


def test_the_correlation_ratio_equals_the_value_from_the_definition(con):
    amount = [10.0, 12.0, 11.0, 30.0, 28.0, 35.0, 20.0, 18.0, 22.0, 9.0, 31.0, 21.0] * 2
    _, found, _ = analyse(con, {"region": ("VARCHAR", REGION), "amount": ("DOUBLE", amount)},
                          config=settings(associations={"min_category_rows": 2}))
    assert value(found, "correlation_ratio", "region", "amount") == pytest.approx(eta(REGION, amount), abs=1e-9)


def test_identifiers_and_names_take_no_part_in_associations(con):
    n = 20
    record, _, _ = analyse(con, {"id": ("BIGINT", list(range(n))), "name": ("VARCHAR", [f"n{i}" for i in range(n)]),
                                 "amount": ("DOUBLE", [float(i % 7) for i in range(n)]),
                                 "kind": ("VARCHAR", ["a", "b"] * 10)}, types={"id": "integer"})
    assert (record.numeric_columns, record.categorical_columns) == (("amount",), ("kind",))


def test_columns_beyond_the_maximum_are_listed_as_left_out(con):
    config = settings(associations={"max_numeric_columns": 2})
    record, _, _ = analyse(con, {"a": ("DOUBLE", [1.0, 2.0, None, 4.0]), "b": ("DOUBLE", [1.0, 3.0, 2.0, 5.0]),
                                 "c": ("DOUBLE", [4.0, 2.0, 2.0, 1.0])}, config=config)
    assert (record.numeric_columns, record.columns_left_out) == (("b", "c"), ("a",))  # fewest NULLs kept


def test_an_empty_table_has_no_associations_dependencies_or_derived_columns(con):
    record, found, derived = analyse(con, {"a": ("DOUBLE", []), "b": ("VARCHAR", []), "c": ("DOUBLE", [])})
    assert (found, derived, record.rows, record.dependencies.functional_dependencies) == ([], [], 0, ())


def test_any_column_name_is_quoted_in_every_statistic(con):
    names = ['Preis "netto"', "Menge; DROP TABLE t", "Région"]
    region = ["a", "b", "c"] * 10
    record, found, _ = analyse(con, {names[0]: ("DOUBLE", [float(i % 7) for i in range(30)]),
                                     names[1]: ("DOUBLE", [float(i % 7) * 2 + 1 for i in range(30)]),
                                     names[2]: ("VARCHAR", region), "n": ("VARCHAR", [r.upper() for r in region])})
    assert value(found, "pearson", names[0], names[1]) == 1.0
    assert value(found, "correlation_ratio", names[2], names[0]) is not None
    assert ((names[2],), "n") in {(f.determinant, f.dependent) for f in record.dependencies.functional_dependencies}


# --- functional dependencies ------------------------------------------------------------------

CITIES = {"Lyon": "FR", "Paris": "FR", "Nice": "FR", "Bonn": "DE", "Köln": "DE", "Graz": "AT", "Wien": "AT"}


def city_table(n: int = 70, typo_rows: tuple[int, ...] = ()) -> dict[str, tuple[str, list[Any]]]:
    """id (unique), city -> country (except on typo_rows), amount (noise)."""
    names = list(CITIES)
    city = [names[i % len(names)] for i in range(n)]
    country = [("XX" if i in typo_rows else CITIES[c]) for i, c in enumerate(city)]
    return {"id": ("BIGINT", list(range(1, n + 1))), "city": ("VARCHAR", city), "country": ("VARCHAR", country),
            "amount": ("DOUBLE", [round((i * 37 % 101) * 1.5, 2) for i in range(n)])}


def test_a_dependency_hidden_behind_a_unique_column_is_found_and_the_key_reported_once(con):
    record, _, _ = analyse(con, city_table(), types={"id": "integer"})
    deps = record.dependencies
    assert deps.candidate_keys == (("id",),)
    assert [(f.determinant, f.dependent, f.confidence) for f in deps.functional_dependencies] == [
        (("city",), "country", 1.0)]
    assert deps.functional_dependencies[0].determinant_values == len(CITIES)


def test_an_approximate_dependency_reports_its_confidence_and_the_violating_rows(con):
    config = settings(dependencies={"min_confidence": 0.9})
    record, _, _ = analyse(con, city_table(typo_rows=(10,)), types={"id": "integer"}, config=config)
    (fd,) = record.dependencies.functional_dependencies
    assert (fd.determinant, fd.dependent, fd.violating_rows, fd.rows) == (("city",), "country", 1, 70)
    assert fd.confidence == round_sig(69 / 70)
    (violation,) = fd.violations
    assert (violation.determinant_values, violation.expected, violation.found, violation.rows, violation.row_ids) == (
        ("Bonn",), "DE", "XX", 1, (11,))  # row 10 counted from 0 is _row_id 11


def test_a_dependency_below_min_confidence_is_not_reported(con):
    record, _, _ = analyse(con, city_table(typo_rows=tuple(range(0, 70, 5))), types={"id": "integer"})
    assert record.dependencies.functional_dependencies == ()


def test_a_dependency_on_two_columns_is_found_when_neither_alone_determines(con):
    country = ["FR", "DE"] * 30
    zip_code = [str(10 + i % 3) for i in range(60)]
    city = [f"{c}-{z}" for c, z in zip(country, zip_code, strict=True)]
    record, _, _ = analyse(con, {"country": ("VARCHAR", country), "zip": ("VARCHAR", zip_code),
                                 "city": ("VARCHAR", city)})
    fds = {(f.determinant, f.dependent) for f in record.dependencies.functional_dependencies}
    assert (("country", "zip"), "city") in fds
    assert not any(d == ("country", "zip") and y != "city" for d, y in fds)
    assert record.dependencies.pair_determinants_checked >= 1


def test_a_unique_pair_is_reported_as_a_key_and_not_as_dependencies(con):
    a = [i // 10 for i in range(100)]
    b = [i % 10 for i in range(100)]
    v = [float(i) for i in range(100)]
    record, _, _ = analyse(con, {"a": ("BIGINT", a), "b": ("BIGINT", b), "v": ("DOUBLE", v)},
                           types={"a": "integer", "b": "integer"})
    assert ("a", "b") in record.dependencies.candidate_keys
    assert not any(f.determinant == ("a", "b") for f in record.dependencies.functional_dependencies)


def test_a_column_constant_wherever_the_determinant_is_present_is_no_dependency(con):
    # Due dates exist only on debit lines, so Credit is always NULL where a due date is present.
    due = [f"2024-01-{1 + i % 5:02d}" if i % 2 == 0 else None for i in range(40)]
    credit = [None if i % 2 == 0 else float(i) for i in range(40)]
    record, _, _ = analyse(con, {"due": ("VARCHAR", due), "credit": ("DOUBLE", credit)})
    assert record.dependencies.functional_dependencies == ()


def test_a_large_table_is_searched_on_a_sample_and_confirmed_on_every_row(con):
    n = 3000
    make_table(con, city_table(n))
    sampled = {r[0] for r in con.execute("SELECT _row_id FROM t ORDER BY hash(_row_id), _row_id LIMIT 1000").fetchall()}
    # 'broken' follows city on the sampled rows only; elsewhere it is noise
    con.execute("ALTER TABLE t ADD COLUMN broken VARCHAR")
    con.execute("UPDATE t SET broken = CASE WHEN list_contains(?, _row_id) THEN country ELSE 'n' || (_row_id % 3) END",
                [sorted(sampled)])
    profiles, keys = profiles_of(con, "t", {"id": "integer"})
    config = settings(dependencies={"sample_rows": 1000})
    record, _, _, _ = analyse_table(con, "t", "t", profiles, keys, config)
    fds = {(f.determinant, f.dependent): f for f in record.dependencies.functional_dependencies}
    assert fds[(("city",), "country")].rows == n  # confirmed on every row
    assert (("city",), "broken") not in fds
    assert record.dependencies.searched_rows == 1000


# --- across a relationship --------------------------------------------------------------------


def relationship(child: str = "lines", parent: str = "products", **fields: Any) -> dict[str, Any]:
    """One relationship as the relationships phase writes it."""
    return {"id": f"{child}.product->{parent}.product", "child_table": child, "child_columns": ["product"],
            "parent_table": parent, "parent_columns": ["product"], "cardinality": "many_to_one",
            "confidence": 1.0, "child_rows": 0, "null_rows": 0, "matched_rows": 0, "orphan_rows": 0,
            "orphan_values": 0, "orphan_examples": [], "inner_join_drop_ratio": 0.0, "fans_out": False,
            "fan_out_rows": 0, "self_reference": False, "evidence": {}, **fields}


def write_relationships(path: Path, *relationships: dict[str, Any], keys: dict | None = None) -> Path:
    """relationships.json in the relationships phase's shape (only the fields read here matter)."""
    path.write_text(json.dumps({"source": "s", "tables": {}, "primary_keys": keys or {},
                                "relationships": list(relationships), "rejected": [], "search": {}}))
    return path


def shop(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, ColumnProfile]]:
    """products (price, kind) and lines (product, qty, amount = qty * price, a noisy measure)."""
    products = [f"P{i}" for i in range(8)]
    price = [5.0, 7.5, 12.0, 20.0, 33.0, 41.0, 55.0, 80.0]
    kind = ["cheap"] * 3 + ["mid"] * 3 + ["dear"] * 2
    make_table(con, {"product": ("VARCHAR", products), "price": ("DOUBLE", price), "kind": ("VARCHAR", kind)},
               "products")
    line_product = [i % 8 for i in range(80)]
    qty = [1 + (i * 7) % 5 for i in range(80)]
    make_table(con, {"product": ("VARCHAR", [products[p] for p in line_product]), "qty": ("BIGINT", qty),
                     "amount": ("DOUBLE", [q * price[p] for q, p in zip(qty, line_product, strict=True)]),
                     "weight": ("DOUBLE", [price[p] * 2 + (i % 3) for i, p in enumerate(line_product)])}, "lines")
    con.execute("CREATE OR REPLACE VIEW v_lines AS SELECT * FROM lines")
    con.execute("CREATE OR REPLACE VIEW v_products AS SELECT * FROM products")
    return {t: profiles_of(con, t, {"qty": "integer"})[0] for t in ("lines", "products")}


def test_a_fact_measure_correlates_with_its_dimension_attributes(con):
    profiles = shop(con)
    join = Join("r", "lines", ("product",), "products", ("product",), "many_to_one", 1.0, False)
    tested, found, _, _ = analyse_join(con, {"lines": "v_lines", "products": "v_products"}, join, profiles,
                                       settings(associations={"min_category_rows": 2}))
    weight = next(a for a in found if a.measure == "pearson" and (a.x, a.y) == ("weight", "price"))
    assert (weight.x_table, weight.y_table, weight.rows, weight.via) == ("lines", "products", 80, "r")
    assert weight.value > 0.99
    assert value(found, "correlation_ratio", "kind", "weight") > 0.9  # the dimension's category explains it
    assert tested["pearson"] == 3  # qty, amount, weight against price


@pytest.mark.parametrize(("fields", "config", "reason"), [
    ({"cardinality": "many_to_many"}, {}, "cardinality many_to_many"),
    ({"fans_out": True}, {}, "fans out"),
    ({"confidence": 0.5}, {}, "below cross_table.min_confidence"),
    ({"parent_table": "nowhere"}, {}, "not among this source's typed tables"),
    ({}, {"enabled": False}, "cross_table.enabled is false"),
    ({}, {"max_relationships": 0}, "beyond cross_table.max_relationships"),
])
def test_a_relationship_that_cannot_be_followed_is_listed_with_the_reason(tmp_path, fields, config, reason):
    ctx = source_context(tmp_path, {"lines": LINES, "products": PRODUCTS}, [relationship(**fields)])
    ctx = replace(ctx, settings={**ctx.settings, "cross_table": {**ctx.settings["cross_table"], **config}})
    measure_correlations(ctx)
    (use,) = CORRELATIONS.load(ctx.out_dir / "correlations.json").relationships
    assert not use.used
    assert reason in use.reason


@pytest.mark.parametrize("text", ["not json", '{"relationships": [{"id": "x"}]}', '{"primary_keys": {}}'])
def test_a_malformed_relationships_file_is_a_state_error_naming_it(tmp_path, text):
    path = tmp_path / "relationships.json"
    path.write_text(text)
    with pytest.raises(StateError, match="relationships.json: .*rerun the relationships phase"):
        RELATIONSHIPS.load(path, "relationships")


# --- settings and readers ---------------------------------------------------------------------


def test_the_yaml_file_holds_every_setting_at_its_default_with_a_comment():
    text = (REPO / "config" / "correlations.yaml").read_text()
    data = yaml.safe_load(text)
    assert CorrelationSettings.model_validate(data) == CorrelationSettings()
    assert set(data) == set(CorrelationSettings.model_fields)
    for section, model in CorrelationSettings.model_fields.items():
        if isinstance(data[section], dict):
            assert set(data[section]) == set(model.annotation.model_fields), section
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() and not line.lstrip().startswith("#") and not line.rstrip().endswith(":"):
            assert lines[i - 1].lstrip().startswith("#"), f"no comment above {line!r}"


@pytest.mark.parametrize("bad", [
    {"associations": {"max_categories": 1}}, {"dependencies": {"min_confidence": 0.2}},
    {"derived": {"relative_tolerance": -0.1}}, {"derived": {"colour": 1}}, {"cross_table": {"min_confidence": 2}},
])
def test_out_of_range_or_unknown_settings_are_config_errors(bad):
    with pytest.raises(ConfigError, match="config/correlations.yaml"):
        parse_model(CorrelationSettings, bad, "config/correlations.yaml")


@pytest.mark.parametrize("spec", [CORRELATIONS, DERIVED_COLUMNS], ids=lambda s: s.name)
def test_a_missing_or_foreign_artifact_is_a_state_error(tmp_path, spec):
    with pytest.raises(StateError, match="artifact missing; run the correlations phase"):
        spec.load(tmp_path / "nothing.json", "correlations")
    (tmp_path / "foreign.json").write_text('{"rows": 3}')
    with pytest.raises(StateError, match="does not match"):
        spec.load(tmp_path / "foreign.json", "correlations")


# --- the phase adapter ------------------------------------------------------------------------

PRODUCTS = {"product": ("VARCHAR", [f"P{i}" for i in range(8)]),
            "price": ("DOUBLE", [5.0, 7.5, 12.0, 20.0, 33.0, 41.0, 55.0, 80.0]),
            "kind": ("VARCHAR", ["cheap"] * 3 + ["mid"] * 3 + ["dear"] * 2)}
LINES = {"product": ("VARCHAR", [f"P{i % 8}" for i in range(120)]),
         "qty": ("BIGINT", [1 + (i * 7) % 5 for i in range(120)]),
         "rate": ("DOUBLE", [PRODUCTS["price"][1][i % 8] for i in range(120)]),
         "amount": ("DOUBLE", [(1 + (i * 7) % 5) * PRODUCTS["price"][1][i % 8] for i in range(120)]),
         "channel": ("VARCHAR", ["web", "shop", "web", "phone"] * 30)}
SPECS = (
    PhaseSpec(name="typing", function="phases.ingest.type_inference.type_table", scope="table", inputs=(),
              outputs=("typed_table",)),
    PhaseSpec(name="statistics", function="phases.profile.statistics.profile_table", scope="table",
              inputs=("typed_table",), outputs=("column_profiles", "table_profile")),
    PhaseSpec(name="relationships", function="phases.structure.relationships.discover_relationships", scope="source",
              inputs=("typed_table",), outputs=("relationships",)),
    PhaseSpec(name="correlations", function="phases.structure.correlations.measure_correlations", scope="source",
              inputs=("typed_table", "column_profiles", "table_profile", "relationships"),
              outputs=("correlations", "derived_columns"), config=("correlations.yaml",)),
)
PIPELINE = Pipeline(phases=SPECS, producer={"typed_table": "typing", "column_profiles": "statistics",
                                            "table_profile": "statistics", "relationships": "relationships",
                                            "correlations": "correlations", "derived_columns": "correlations"})


def typed_state(con: duckdb.DuckDBPyConnection, root: Path, table: str, types: dict[str, str] | None = None) -> None:
    """The typing and statistics task folders of one table (in `con`), with their manifests."""
    typing_dir, stats_dir = root / "state/s/typing" / table, root / "state/s/statistics" / table
    typing_dir.mkdir(parents=True)
    con.execute(f"COPY (SELECT * FROM {quote_ident(table)} ORDER BY _row_id) TO '{typing_dir / 'typed.parquet'}' "
                f"(FORMAT parquet)")
    write_manifest(typing_dir, "typing", "s", table, describe_artifacts(typing_dir, {"typed_table": "typed.parquet"}),
                   {})
    info = {name: TypeInfo(type=t) for name, t in (types or {}).items()}
    profiles, keys = profile_parquet(con, str(typing_dir / "typed.parquet"), table, info, StatisticsSettings())
    stats_dir.mkdir(parents=True)
    dump_json(stats_dir / "column_profiles.json", profiles)
    dump_json(stats_dir / "table_profile.json", keys)
    files = {"column_profiles": "column_profiles.json", "table_profile": "table_profile.json"}
    write_manifest(stats_dir, "statistics", "s", table, describe_artifacts(stats_dir, files), {})


def context(root: Path, tables: list[str], relationships: list[dict[str, Any]], threads: int = 1,
            out: str = "correlations") -> SourceContext:
    """The correlations SourceContext of source `s`, as the runner builds it, over state written by hand."""
    rel_dir = root / "state/s/relationships"
    if not (rel_dir / "manifest.json").exists():
        rel_dir.mkdir(parents=True, exist_ok=True)
        write_relationships(rel_dir / "relationships.json", *relationships)
        write_manifest(rel_dir, "relationships", "s", None,
                       describe_artifacts(rel_dir, {"relationships": "relationships.json"}), {})
    out_dir = root / "state/s" / out
    out_dir.mkdir(parents=True, exist_ok=True)
    refs = tuple(TableRef(source="s", name=t, path=root / f"{t}.csv") for t in tables)
    upstream = {phase: {t: read_manifest(root / "state/s" / phase / t / "manifest.json") for t in tables}
                for phase in ("typing", "statistics")}
    upstream["relationships"] = {None: read_manifest(rel_dir / "manifest.json")}
    return SourceContext(
        root=root, pipeline=PIPELINE, spec=SPECS[3], source=SourceConfig(name="s", path="."),
        tables=refs, out_dir=out_dir, settings=read_yaml(REPO / "config" / "correlations.yaml"),
        runtime=RuntimeSettings.model_validate({"duckdb": {"threads": threads}}), upstream=upstream,
    )


def source_context(root: Path, tables: dict[str, dict[str, tuple[str, list[Any]]]],
                   relationships: list[dict[str, Any]]) -> SourceContext:
    with duckdb.connect() as con:
        for name, columns in tables.items():
            make_table(con, columns, name)
            typed_state(con, root, name, {"qty": "integer"})
    return context(root, list(tables), relationships)


def test_the_phase_writes_both_artifacts_identically_on_every_run_and_thread_count(tmp_path):
    ctx = source_context(tmp_path, {"lines": LINES, "products": PRODUCTS}, [relationship()])
    output = measure_correlations(ctx)
    files = ("correlations.json", "derived_columns.json")
    first = {file: (ctx.out_dir / file).read_bytes() for file in files}
    assert measure_correlations(ctx).summary == output.summary
    assert {file: (ctx.out_dir / file).read_bytes() for file in files} == first
    two = context(tmp_path, ["lines", "products"], [], threads=2, out="correlations_2")
    measure_correlations(two)
    assert {file: (two.out_dir / file).read_bytes() for file in files} == first
    assert output.summary["derived_columns"] == ["amount = qty * rate", "lines.amount = products.price * lines.qty",
                                                 "lines.rate = products.price"]


def test_the_artifacts_read_back_into_the_records_that_were_written(tmp_path):
    ctx = source_context(tmp_path, {"lines": LINES, "products": PRODUCTS}, [relationship()])
    measure_correlations(ctx)
    correlations = CORRELATIONS.load(ctx.out_dir / "correlations.json")
    derived = DERIVED_COLUMNS.load(ctx.out_dir / "derived_columns.json")
    dump_json(tmp_path / "again.json", correlations)
    dump_json(tmp_path / "again_derived.json", derived)
    assert (tmp_path / "again.json").read_bytes() == (ctx.out_dir / "correlations.json").read_bytes()
    assert (tmp_path / "again_derived.json").read_bytes() == (ctx.out_dir / "derived_columns.json").read_bytes()
    assert [t.table for t in correlations.tables] == ["lines", "products"]
    # the statistics phase's keys (read from table_profile): a unique price is no key
    assert correlations.tables[1].dependencies.candidate_keys == (("product",),)


# --- the example source -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def example(tmp_path_factory) -> SourceContext:
    """The bundled example imported, typed and profiled into a throw-away state folder."""
    root = tmp_path_factory.mktemp("example")
    typing_settings = TypingSettings.model_validate(read_yaml(REPO / "config" / "typing.yaml"))
    nulls = read_yaml(REPO / "config" / "null_values.yaml")["null_values"]
    tables = []
    for csv in sorted(EXAMPLE.glob("*.csv")):
        table = safe_table_name(csv.name)
        tables.append(table)
        typing_dir = root / "state/s/typing" / table
        with duckdb.connect() as con:
            import_csv(con, csv, root / "import" / table, CsvOptions(), nulls)
            result = infer_types(con, root / "import" / table / "raw.parquet", typing_dir, typing_settings, {})
            write_manifest(typing_dir, "typing", "s", table,
                           describe_artifacts(typing_dir, {"typed_table": "typed.parquet"}), {})
            con.execute(f"CREATE TABLE {quote_ident(table)} AS SELECT * FROM read_parquet(?)",
                        [str(typing_dir / "typed.parquet")])
            info = {c.name: TypeInfo(type=c.type, unit=c.unit) for c in result.columns}
            profiles, keys = profile_parquet(con, str(typing_dir / "typed.parquet"), table, info, StatisticsSettings())
        stats_dir = root / "state/s/statistics" / table
        stats_dir.mkdir(parents=True)
        dump_json(stats_dir / "column_profiles.json", profiles)
        dump_json(stats_dir / "table_profile.json", keys)
        write_manifest(stats_dir, "statistics", "s", table, describe_artifacts(
            stats_dir, {"column_profiles": "column_profiles.json", "table_profile": "table_profile.json"}), {})
    rels = [relationship("master_txn_table", "customer_table", id="customer", child_columns=["Customer"],
                         parent_columns=["Customer"], confidence=0.99, orphan_rows=7),
            relationship("master_txn_table", "vendor_table", id="vendor", child_columns=["Vendor"],
                         parent_columns=["Vendor"])]
    ctx = context(root, tables, rels)
    measure_correlations(ctx)
    return ctx


def test_the_example_source_has_its_derived_columns(example):
    derived = {d.formula: d for d in DERIVED_COLUMNS.load(example.out_dir / "derived_columns.json").derived_columns}
    debit_credit = derived["Amount = Debit - Credit"]
    assert (debit_credit.table, debit_credit.nulls_as_zero, debit_credit.rows_compared) == (
        "master_txn_table", True, 4994)  # 5000 rows less the 6 unparseable amounts
    assert debit_credit.match_rate >= 0.99
    quantity_rate = derived["Amount = Quantity * Rate"]
    assert (quantity_rate.nulls_as_zero, quantity_rate.match_rate >= 0.99) == (False, True)
    assert quantity_rate.rows_compared < 4994  # product lines only
    assert derived["customer_table.Balance = SUM(master_txn_table.Open Balance)"].match_rate >= 0.99
    assert derived["vendor_table.Balance = SUM(master_txn_table.Open Balance)"].via == "vendor"


def test_the_example_source_has_its_candidate_keys_and_the_city_state_dependency(example):
    tables = {t.table: t for t in CORRELATIONS.load(example.out_dir / "correlations.json").tables}
    assert tables["master_txn_table"].dependencies.candidate_keys == (("Transaction ID",),)
    customers = tables["customer_table"].dependencies
    found = {(f.determinant, f.dependent) for f in customers.functional_dependencies}
    assert (("Billing City",), "Billing State") in found
    assert not any("Customer ID" in f.determinant for f in customers.functional_dependencies)
