"""Everything the earlier phases measured about one source, loaded once into typed records,
for the entropy detectors to read. Detectors never open files; tests build an Evidence from
real phase outputs on tiny tables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from phases.artifacts.annotations import Annotations, ColumnAnnotation, load_annotations
from phases.artifacts.column_types import ColumnTyping, load_column_types
from phases.artifacts.cycles import Cycles, load_cycles
from phases.artifacts.profiles import (
    ColumnProfile,
    QualityFindings,
    TableProfile,
    load_column_profiles,
    load_quality_findings,
    load_table_profile,
)
from phases.artifacts.slices import Slices, load_slices
from phases.artifacts.validations import Validations, load_validations
from phases.profile.temporal import TemporalProfiles, load_temporal_profiles
from phases.structure.correlations import Correlations, load_correlations
from phases.structure.derived_columns import DerivedColumns, load_derived_columns
from phases.structure.relationships import Relationships, load_relationships
from phases.structure.topology import SchemaGraph, load_schema_graph

if TYPE_CHECKING:
    from phases.core.context import TaskContext


@dataclass(frozen=True)
class TableImport:
    file: str
    rows_loaded: int
    rows_quarantined: int


@dataclass(frozen=True)
class Evidence:
    source: str
    tables: tuple[str, ...]
    imports: Mapping[str, TableImport]
    types: Mapping[str, Mapping[str, ColumnTyping]]  # table -> column -> typing decision
    profiles: Mapping[str, Mapping[str, ColumnProfile]]
    table_profiles: Mapping[str, TableProfile]
    quality: Mapping[str, QualityFindings]
    temporal: Mapping[str, TemporalProfiles]
    relationships: Relationships
    schema: SchemaGraph
    correlations: Correlations | None = None
    derived: DerivedColumns | None = None
    annotations: Annotations | None = None
    slices: Slices | None = None
    cycles: Cycles | None = None
    validations: Validations | None = None

    def columns(self) -> list[tuple[str, str]]:
        """Every (table, column) of the source, in table order."""
        return [(t, c) for t in self.tables for c in self.types.get(t, {})]

    def annotation(self, table: str, column: str) -> ColumnAnnotation | None:
        return self._annotation_index.get((table, column))

    @cached_property
    def _annotation_index(self) -> dict[tuple[str, str], ColumnAnnotation]:
        columns = self.annotations.columns if self.annotations else ()
        return {(a.table, a.column): a for a in columns}


def load_evidence(ctx: TaskContext) -> Evidence:
    """Read every input artifact the entropy phase declares in pipeline.yaml."""
    def per_table(artifact, reader):
        return {table: reader(path) for table, path in ctx.input_paths(artifact).items()}

    imports = {
        table: TableImport(
            file=str(m.summary.get("file", table)),
            rows_loaded=int(m.summary.get("rows_loaded", 0)),
            rows_quarantined=int(m.summary.get("rows_quarantined", 0)),
        )
        for table, m in ctx.input_manifests("quarantine").items()
    }
    return Evidence(
        source=ctx.source.name,
        tables=tuple(t.name for t in ctx.tables),
        imports=imports,
        types=per_table("column_types", load_column_types),
        profiles=per_table("column_profiles", load_column_profiles),
        table_profiles=per_table("table_profile", load_table_profile),
        quality=per_table("quality_findings", load_quality_findings),
        temporal=per_table("temporal_profiles", load_temporal_profiles),
        relationships=load_relationships(ctx.input_path("relationships")),
        schema=load_schema_graph(ctx.input_path("schema_graph")),
        correlations=load_correlations(ctx.input_path("correlations")),
        derived=load_derived_columns(ctx.input_path("derived_columns")),
        annotations=load_annotations(ctx.input_path("annotations")),
        slices=load_slices(ctx.input_path("slices")),
        cycles=load_cycles(ctx.input_path("cycles")),
        validations=load_validations(ctx.input_path("validations")),
    )
