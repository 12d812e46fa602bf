"""The topology phase's artifact (schema_graph.json): tables as nodes with their roles, connected
components and their shapes, cycles, and the join paths between tables with their ambiguity."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from phases.core.records import JsonArtifact


@dataclass(frozen=True)
class TableNode:
    rows: int | None  # None when the relationships phase did not see the table
    role: str  # fact | dimension | intermediate | isolated
    references: int  # relationships from this table to other tables
    referenced_by: int  # relationships from other tables to this one
    degree: int  # distinct neighbouring tables
    hub: bool
    leaf: bool
    component: int
    self_references: tuple[str, ...]  # relationship ids


@dataclass(frozen=True)
class Component:
    id: int
    tables: tuple[str, ...]
    shape: str  # star | snowflake | chain | constellation | cyclic | pair | single
    facts: tuple[str, ...]
    dimensions: tuple[str, ...]
    relationships: tuple[str, ...]
    independent_cycles: int  # relationships - tables + 1, self-references left out: extra ways to connect


@dataclass(frozen=True)
class SchemaCycle:
    tables: tuple[str, ...]  # in reference order, starting from the smallest name
    relationships: tuple[str, ...]


@dataclass(frozen=True)
class Step:
    relationship: str
    from_table: str
    from_columns: tuple[str, ...]
    to_table: str
    to_columns: tuple[str, ...]
    direction: str  # to_parent (many-to-one, keeps rows) | to_child (one-to-many, may repeat rows)


@dataclass(frozen=True)
class JoinPath:
    length: int
    fans_out: bool  # joining along it can repeat rows of from_table
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class TablePair:
    from_table: str
    to_table: str
    ambiguous: bool  # more than one path: the agent must choose
    path_count: int  # paths found up to max_path_length (at most max_paths_examined)
    shortest_paths: int  # paths of the shortest length: 1 means the shortest join is a clear default
    truncated: bool  # more paths exist than listed
    paths: tuple[JoinPath, ...]  # shortest first


@dataclass(frozen=True)
class SchemaGraph:
    source: str
    tables: Mapping[str, TableNode]
    components: tuple[Component, ...]
    isolated_tables: tuple[str, ...]
    hubs: tuple[str, ...]
    leaves: tuple[str, ...]
    facts: tuple[str, ...]
    dimensions: tuple[str, ...]
    self_references: tuple[str, ...]
    cycles: tuple[SchemaCycle, ...]
    join_paths: tuple[TablePair, ...]


SCHEMA_GRAPH = JsonArtifact("schema_graph", "schema_graph.json", record=SchemaGraph)
