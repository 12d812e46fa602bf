"""The topology phase: the schema of a source as a graph, and what its shape tells an agent.

Tables are nodes and accepted relationships are edges, from the child (the referencing
table) to the parent. From that graph (networkx) the phase reports:

- connected components, with isolated tables (no relationship at all);
- per table its role by structure: a *fact* references other tables and nobody references
  it, a *dimension* is referenced and references nothing, an *intermediate* table does
  both (a snowflaked dimension, or a header such as orders between lines and customers);
  hubs (many neighbours) and leaves (one);
- per component its shape: star, snowflake, chain, constellation (several facts sharing
  dimensions), cyclic (some tables are connected in more than one way), pair or single;
- directed cycles (A references B references A) and self-references;
- for every pair of connected tables, the join paths between them up to a length: one path
  is a deterministic join, several are an ambiguity the agent must be told about. A path
  that walks from a parent to its children repeats rows (it fans out).

No persistent homology: counting loops is all the homology a schema needs, and the
cyclomatic number (edges - tables + 1 per component) does that.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from pydantic import Field

from phases.artifacts.relationships import RELATIONSHIPS, Relationship, Relationships
from phases.artifacts.schema_graph import (
    SCHEMA_GRAPH,
    Component,
    JoinPath,
    SchemaCycle,
    SchemaGraph,
    Step,
    TableNode,
    TablePair,
)
from phases.core.config import Model
from phases.core.context import PhaseOutput, SourceContext

if TYPE_CHECKING:
    import networkx as nx


class TopologySettings(Model):
    """config/topology.yaml; bounds are checked when the phase starts."""

    max_path_length: int = Field(4, ge=1, le=10)
    max_paths_per_pair: int = Field(10, ge=1, le=1000)
    max_paths_examined: int = Field(1000, ge=1, le=1_000_000)
    hub_min_degree: int = Field(3, ge=2, le=1000)
    max_cycle_length: int = Field(6, ge=2, le=50)
    max_cycles: int = Field(100, ge=0, le=100_000)


# --- the artifact ----------------------------------------------------------------------------


# --- the graph -------------------------------------------------------------------------------


def schema_multigraph(tables: Sequence[str], relationships: Sequence[Relationship]) -> nx.MultiDiGraph:
    """Tables as nodes, one edge per relationship from child to parent, keyed by its id."""
    import networkx as nx

    graph = nx.MultiDiGraph()
    graph.add_nodes_from(sorted(tables))
    for r in sorted(relationships, key=lambda r: r.id):
        graph.add_edge(r.child_table, r.parent_table, key=r.id)
    return graph


def _role(references: int, referenced_by: int) -> str:
    if references and referenced_by:
        return "intermediate"
    if references:
        return "fact"
    return "dimension" if referenced_by else "isolated"


def _shape(graph: nx.MultiDiGraph, nodes: Sequence[str], facts: Sequence[str]) -> str:
    """The component's shape, judged on its simple undirected graph (self-references aside)."""
    import networkx as nx

    simple = nx.Graph(graph.subgraph(nodes).to_undirected())
    simple.remove_edges_from(list(nx.selfloop_edges(simple)))
    if len(nodes) == 1:
        return "single"
    if len(nodes) == 2:
        return "pair"
    if simple.number_of_edges() >= len(nodes):  # a connected graph with as many edges as nodes has a cycle
        return "cyclic"
    if len(facts) > 1:
        return "constellation"
    depth = max(nx.single_source_shortest_path_length(simple, facts[0]).values())
    if depth == 1:
        return "star"
    if max(d for _, d in simple.degree()) <= 2 and simple.degree(facts[0]) == 1:
        return "chain"
    return "snowflake"


def _nodes(graph: nx.MultiDiGraph, rows: Mapping[str, int], component_of: Mapping[str, int],
           settings: TopologySettings) -> dict[str, TableNode]:
    nodes = {}
    for table in graph.nodes:
        out = [k for _, v, k in graph.out_edges(table, keys=True) if v != table]
        into = [k for u, _, k in graph.in_edges(table, keys=True) if u != table]
        loops = sorted(k for _, v, k in graph.out_edges(table, keys=True) if v == table)
        degree = len((set(graph.successors(table)) | set(graph.predecessors(table))) - {table})
        nodes[table] = TableNode(
            rows=rows.get(table), role=_role(len(out), len(into)), references=len(out), referenced_by=len(into),
            degree=degree, hub=degree >= settings.hub_min_degree, leaf=degree == 1,
            component=component_of[table], self_references=tuple(loops),
        )
    return nodes


def component_sets(graph: nx.MultiDiGraph) -> list[list[str]]:
    """Weakly connected components, largest first, then by their first table's name."""
    import networkx as nx

    return sorted((sorted(c) for c in nx.weakly_connected_components(graph)), key=lambda c: (-len(c), c[0]))


def components(graph: nx.MultiDiGraph, sets: Sequence[Sequence[str]], roles: Mapping[str, str]) -> list[Component]:
    result = []
    for index, nodes in enumerate(sets):
        edges = list(graph.subgraph(nodes).edges(keys=True))
        loops = sum(1 for u, v, _ in edges if u == v)
        facts = [t for t in nodes if roles[t] == "fact"]
        result.append(Component(
            id=index, tables=tuple(nodes), shape=_shape(graph, nodes, facts), facts=tuple(facts),
            dimensions=tuple(t for t in nodes if roles[t] in ("dimension", "intermediate")),
            relationships=tuple(sorted(k for _, _, k in edges)), independent_cycles=len(edges) - loops - len(nodes) + 1,
        ))
    return result


def directed_cycles(graph: nx.MultiDiGraph, settings: TopologySettings) -> list[SchemaCycle]:
    """Reference cycles among two or more tables (A -> B -> A), each rotated to start at its
    smallest table name, at most `max_cycles`, none longer than `max_cycle_length`."""
    import networkx as nx

    simple = nx.DiGraph(graph)
    simple.remove_edges_from(list(nx.selfloop_edges(simple)))
    found = []
    for cycle in itertools.islice(nx.simple_cycles(simple, length_bound=settings.max_cycle_length),
                                  settings.max_cycles * 10):
        start = cycle.index(min(cycle))
        tables = cycle[start:] + cycle[:start]
        ids = sorted(k for a, b in zip(tables, tables[1:] + tables[:1], strict=True)
                     for k in graph.get_edge_data(a, b))
        found.append(SchemaCycle(tables=tuple(tables), relationships=tuple(ids)))
    return sorted(found, key=lambda c: (len(c.tables), c.tables))[: settings.max_cycles]


def _step(relationship: Relationship, start: str) -> Step:
    """The relationship walked from `start`: towards its parent, or (backwards) towards its child."""
    child_side = (relationship.child_table, relationship.child_columns)
    parent_side = (relationship.parent_table, relationship.parent_columns)
    (a, a_cols), (b, b_cols) = (child_side, parent_side) if start == relationship.child_table else (parent_side,
                                                                                                   child_side)
    return Step(relationship=relationship.id, from_table=a, from_columns=a_cols, to_table=b, to_columns=b_cols,
                direction="to_parent" if start == relationship.child_table else "to_child")


def _fans_out(steps: Sequence[Step], by_id: Mapping[str, Relationship]) -> bool:
    """Walking to children repeats rows unless one-to-one; a parent key that is not unique does too."""
    return any((s.direction == "to_child" and by_id[s.relationship].cardinality != "one_to_one")
               or (s.direction == "to_parent" and by_id[s.relationship].fans_out) for s in steps)


def join_paths(graph: nx.MultiDiGraph, by_id: Mapping[str, Relationship],
               settings: TopologySettings) -> list[TablePair]:
    """For every pair of tables in one component, the simple paths between them up to
    `max_path_length` relationships, shortest and non-fanning first."""
    import networkx as nx

    undirected = nx.MultiGraph()
    undirected.add_nodes_from(graph.nodes)
    undirected.add_edges_from((u, v, k) for u, v, k in graph.edges(keys=True) if u != v)
    pairs = []
    connected = sorted(pair for tables in component_sets(graph) for pair in itertools.combinations(tables, 2))
    for a, b in connected:
        found = itertools.islice(nx.all_simple_edge_paths(undirected, a, b, cutoff=settings.max_path_length),
                                 settings.max_paths_examined + 1)
        paths = []
        for edges in found:
            table, steps = a, []
            for u, v, key in edges:
                steps.append(_step(by_id[key], table))
                table = v if table == u else u
            paths.append(JoinPath(length=len(steps), fans_out=_fans_out(steps, by_id), steps=tuple(steps)))
        if not paths:
            continue
        paths.sort(key=lambda p: (p.length, p.fans_out, [s.relationship for s in p.steps]))
        count = min(len(paths), settings.max_paths_examined)
        shortest = sum(p.length == paths[0].length for p in paths)
        pairs.append(TablePair(from_table=a, to_table=b, ambiguous=count > 1, path_count=count, shortest_paths=shortest,
                               truncated=len(paths) > settings.max_paths_per_pair,
                               paths=tuple(paths[: settings.max_paths_per_pair])))
    return pairs


def map_schema(tables: Sequence[str], report: Relationships, settings: TopologySettings) -> SchemaGraph:
    """The library twin of the phase: the schema graph of `tables` and `report`'s relationships."""
    names = sorted(set(tables) | set(report.tables))
    graph = schema_multigraph(names, report.relationships)
    sets = component_sets(graph)
    component_of = {t: index for index, tables in enumerate(sets) for t in tables}
    nodes = _nodes(graph, {t: s.rows for t, s in report.tables.items()}, component_of, settings)
    comps = components(graph, sets, {t: n.role for t, n in nodes.items()})
    by_id = {r.id: r for r in report.relationships}
    return SchemaGraph(
        source=report.source, tables=nodes, components=tuple(comps),
        isolated_tables=tuple(t for t in names if nodes[t].role == "isolated"),
        hubs=tuple(t for t in names if nodes[t].hub), leaves=tuple(t for t in names if nodes[t].leaf),
        facts=tuple(t for t in names if nodes[t].role == "fact"),
        dimensions=tuple(t for t in names if nodes[t].role in ("dimension", "intermediate")),
        self_references=tuple(sorted(r.id for r in report.relationships if r.self_reference)),
        cycles=tuple(directed_cycles(graph, settings)), join_paths=tuple(join_paths(graph, by_id, settings)),
    )


def map_topology(ctx: SourceContext) -> PhaseOutput:
    """Phase `topology`: schema_graph.json for one source from its relationships."""
    settings = ctx.parse_settings(TopologySettings)
    report = ctx.read(RELATIONSHIPS)
    graph = map_schema([t.name for t in ctx.tables], report, settings)
    ctx.write(SCHEMA_GRAPH, graph)
    return PhaseOutput(
        summary={
            "shapes": [c.shape for c in graph.components], "isolated_tables": list(graph.isolated_tables),
            "facts": list(graph.facts), "ambiguous_pairs": sum(p.ambiguous for p in graph.join_paths),
        },
    )
