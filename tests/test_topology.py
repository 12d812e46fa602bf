"""The topology phase on hand-made relationship sets whose shape is known: stars, snowflakes,
chains, constellations, cycles, self-references, isolated tables and join paths (one, or
several: an ambiguity); plus settings, the typed reader and the phase adapter end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from phases.artifacts.relationships import Relationship, Relationships, TableSummary
from phases.artifacts.schema_graph import SCHEMA_GRAPH, SchemaGraph
from phases.core.context import SourceContext
from phases.core.errors import StateError
from phases.core.manifest import write_manifest
from phases.core.records import dump_json
from phases.engine.runner import describe_artifacts
from phases.structure.topology import TopologySettings, map_schema, map_topology
from tests.conftest import phase_context

REPO = Path(__file__).resolve().parent.parent


def rel(child: str, parent: str, column: str | None = None, cardinality: str = "many_to_one",
        fans_out: bool = False) -> Relationship:
    """child.column -> parent.id (column defaults to '<parent>_id')."""
    column = column or f"{parent}_id"
    return Relationship(
        id=f"{child}.{column}->{parent}.id", child_table=child, child_columns=(column,), parent_table=parent,
        parent_columns=("id",), cardinality=cardinality, confidence=1.0, child_rows=100, null_rows=0,
        matched_rows=100, orphan_rows=0, orphan_values=0, orphan_examples=(), inner_join_drop_ratio=0.0,
        fans_out=fans_out, fan_out_rows=1 if fans_out else 0, self_reference=child == parent,
    )


def graph(*relationships: Relationship, tables: tuple[str, ...] = (), **settings: int) -> SchemaGraph:
    names = sorted({r.child_table for r in relationships} | {r.parent_table for r in relationships} | set(tables))
    report = Relationships(
        source="s", tables={t: TableSummary(rows=100, columns=3) for t in names},
        primary_keys={t: (("id",),) for t in names}, relationships=tuple(sorted(relationships, key=lambda r: r.id)),
        rejected=(), search={},
    )
    return map_schema(names, report, TopologySettings(**settings))


def pair(g: SchemaGraph, a: str, b: str):
    return next(p for p in g.join_paths if (p.from_table, p.to_table) == tuple(sorted((a, b))))


STAR = (rel("sales", "customers"), rel("sales", "products"), rel("sales", "stores"))
SNOWFLAKE = (rel("sales", "products"), rel("products", "categories"), rel("sales", "stores"))
CHAIN = (rel("lines", "orders"), rel("orders", "customers"), rel("customers", "countries"))
CONSTELLATION = (rel("sales", "customers"), rel("returns", "customers"), rel("returns", "reasons"))
TWO_ROUTES = (rel("payments", "invoices"), rel("invoices", "customers"), rel("payments", "customers"))
TWICE = (rel("flights", "airports", "from_airport"), rel("flights", "airports", "to_airport"))


@pytest.mark.parametrize(("relationships", "shape"), [
    (STAR, "star"), (SNOWFLAKE, "snowflake"), (CHAIN, "chain"), (CONSTELLATION, "constellation"),
    (TWO_ROUTES, "cyclic"), (TWICE, "pair"),
], ids=["star", "snowflake", "chain", "constellation", "two routes", "two references"])
def test_each_component_is_named_by_its_shape(relationships, shape):
    assert [c.shape for c in graph(*relationships).components] == [shape]


def test_a_star_has_one_fact_hub_and_dimension_leaves():
    g = graph(*STAR)
    assert (g.facts, g.dimensions, g.hubs) == (("sales",), ("customers", "products", "stores"), ("sales",))
    assert g.leaves == ("customers", "products", "stores")
    assert (g.tables["sales"].references, g.tables["customers"].referenced_by) == (3, 1)


def test_a_snowflaked_dimension_both_references_and_is_referenced():
    g = graph(*SNOWFLAKE)
    assert g.tables["products"].role == "intermediate"
    assert g.components[0].dimensions == ("categories", "products", "stores")


def test_a_table_without_relationships_is_isolated_in_its_own_component():
    g = graph(*STAR, tables=("fx_rates",))
    assert g.isolated_tables == ("fx_rates",)
    assert [(c.tables, c.shape) for c in g.components][-1] == (("fx_rates",), "single")
    assert g.tables["fx_rates"].role == "isolated"
    assert all("fx_rates" not in (p.from_table, p.to_table) for p in g.join_paths)


def test_a_single_path_between_two_tables_is_not_ambiguous():
    p = pair(graph(*STAR), "sales", "customers")
    assert (p.ambiguous, p.path_count, p.shortest_paths) == (False, 1, 1)
    assert [(s.from_table, s.to_table, s.direction) for s in p.paths[0].steps] == [
        ("customers", "sales", "to_child")]


def test_two_routes_between_the_same_tables_are_an_ambiguity_listed_shortest_first():
    g = graph(*TWO_ROUTES)
    p = pair(g, "payments", "customers")
    assert (p.ambiguous, p.path_count, p.shortest_paths) == (True, 2, 1)
    assert [[s.relationship for s in path.steps] for path in p.paths] == [
        ["payments.customers_id->customers.id"],
        ["invoices.customers_id->customers.id", "payments.invoices_id->invoices.id"],
    ]
    assert g.components[0].independent_cycles == 1


def test_two_references_to_one_parent_are_two_paths_of_the_same_length():
    g = graph(*TWICE)
    p = pair(g, "flights", "airports")
    assert (p.ambiguous, p.path_count, p.shortest_paths) == (True, 2, 2)
    assert g.components[0].independent_cycles == 1


def test_walking_from_a_parent_to_its_children_fans_out_and_the_other_way_does_not():
    g = graph(rel("orders", "customers"), rel("orders", "stores", fans_out=True))
    customers = pair(g, "customers", "orders").paths[0]  # from customers: to the child orders
    assert customers.fans_out is True
    assert pair(g, "orders", "stores").paths[0].fans_out is True  # to a parent whose key repeats
    one_to_one = graph(rel("payments", "invoices", cardinality="one_to_one"))
    assert pair(one_to_one, "invoices", "payments").paths[0].fans_out is False


def test_a_self_reference_is_listed_but_is_neither_a_cycle_nor_a_path():
    g = graph(rel("employees", "employees", "manager_id"), rel("employees", "departments"))
    assert g.self_references == ("employees.manager_id->employees.id",)
    assert g.tables["employees"].self_references == ("employees.manager_id->employees.id",)
    assert g.cycles == ()
    assert pair(g, "departments", "employees").path_count == 1
    assert g.components[0].shape == "pair" and g.components[0].independent_cycles == 0


def test_tables_that_reference_each_other_form_a_cycle():
    g = graph(rel("employees", "departments"), rel("departments", "employees", "head_id"))
    assert [(c.tables, c.relationships) for c in g.cycles] == [(
        ("departments", "employees"),
        ("departments.head_id->employees.id", "employees.departments_id->departments.id"),
    )]


def test_paths_longer_than_the_limit_are_not_listed():
    g = graph(*CHAIN, max_path_length=2)
    assert pair(g, "countries", "orders").path_count == 1
    assert all((p.from_table, p.to_table) != ("countries", "lines") for p in g.join_paths)


# --- settings, reader and the phase adapter --------------------------------------------------


def test_the_settings_file_documents_every_setting_of_the_model():
    text = (REPO / "config" / "topology.yaml").read_text()
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() and not line.startswith("#"):
            assert lines[i - 1].startswith("#"), f"no comment above {line!r}"
    assert TopologySettings(**yaml.safe_load(text)) == TopologySettings()
    assert set(yaml.safe_load(text)) == set(TopologySettings.model_fields)


def test_the_reader_returns_what_was_written(tmp_path):
    g = graph(*TWO_ROUTES, rel("employees", "employees", "manager_id"), tables=("fx_rates",))
    dump_json(tmp_path / "schema_graph.json", g)
    assert SCHEMA_GRAPH.load(tmp_path / "schema_graph.json") == g


def test_a_missing_artifact_is_a_state_error(tmp_path):
    with pytest.raises(StateError, match="run the topology phase"):
        SCHEMA_GRAPH.load(tmp_path / "schema_graph.json", "topology")


def build_context(tmp_path: Path) -> SourceContext:
    """A SourceContext as the runner builds it, over a relationships manifest written by hand."""
    rel_dir = tmp_path / "state/s/relationships"
    names = ("customers", "fx_rates", "invoices", "payments")
    report = Relationships(
        source="s", tables={t: TableSummary(rows=10, columns=2) for t in names if t != "fx_rates"},
        primary_keys={}, relationships=TWO_ROUTES, rejected=(), search={},
    )
    dump_json(rel_dir / "relationships.json", report)
    write_manifest(rel_dir, "relationships", "s", None,
                   describe_artifacts(rel_dir, {"relationships": "relationships.json"}), {})
    return phase_context(tmp_path, "topology", list(names))


def test_the_phase_writes_a_byte_identical_graph_on_a_rerun(tmp_path):
    ctx = build_context(tmp_path)
    output = map_topology(ctx)
    first = (ctx.out_dir / "schema_graph.json").read_bytes()
    map_topology(ctx)
    assert (ctx.out_dir / "schema_graph.json").read_bytes() == first
    assert output.summary == {"shapes": ["cyclic", "single"], "isolated_tables": ["fx_rates"],
                              "facts": ["payments"], "ambiguous_pairs": 3}
    g = SCHEMA_GRAPH.load(ctx.out_dir / "schema_graph.json")
    assert (g.tables["fx_rates"].rows, g.tables["payments"].rows) == (None, 10)
