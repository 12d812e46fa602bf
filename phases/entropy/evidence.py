"""Everything the earlier phases measured about one source, loaded once into typed records,
for the entropy detectors to read. Detectors never open files; tests build an Evidence from
real phase outputs on tiny tables."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from phases.artifacts.annotations import ANNOTATIONS, Annotations, ColumnAnnotation
from phases.artifacts.column_profiles import COLUMN_PROFILES, ColumnProfile
from phases.artifacts.column_types import COLUMN_TYPES, ColumnTyping
from phases.artifacts.correlations import CORRELATIONS, Correlations
from phases.artifacts.cycles import CYCLES, Cycles
from phases.artifacts.derived_columns import DERIVED_COLUMNS, DerivedColumns
from phases.artifacts.quality_findings import QUALITY_FINDINGS, QualityFindings
from phases.artifacts.relationships import RELATIONSHIPS, Relationships
from phases.artifacts.schema_graph import SCHEMA_GRAPH, SchemaGraph
from phases.artifacts.slices import SLICES, Slices
from phases.artifacts.table_profile import TABLE_PROFILE, TableProfile
from phases.artifacts.tables import QUARANTINE, ImportEncoding, ImportSummary, NullToken
from phases.artifacts.temporal_profiles import TEMPORAL_PROFILES, TemporalProfiles
from phases.artifacts.validations import VALIDATIONS, Validations

if TYPE_CHECKING:
    from phases.core.context import SourceContext


@dataclass(frozen=True)
class TableImport:
    file: str
    rows_loaded: int
    rows_quarantined: int
    null_tokens: tuple[NullToken, ...] = ()
    encoding: ImportEncoding | None = None


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


def load_evidence(ctx: SourceContext) -> Evidence:
    """Read every input artifact the entropy phase declares in pipeline.yaml."""
    imports = {
        table: TableImport(file=s.file, rows_loaded=s.rows_loaded, rows_quarantined=s.rows_quarantined,
                           null_tokens=s.null_tokens, encoding=s.dialect)
        for table, s in ctx.summaries(QUARANTINE, ImportSummary).items()
    }
    return Evidence(
        source=ctx.source.name,
        tables=tuple(t.name for t in ctx.tables),
        imports=imports,
        types={t: c.by_name for t, c in ctx.read_tables(COLUMN_TYPES).items()},
        profiles={t: p.by_name for t, p in ctx.read_tables(COLUMN_PROFILES).items()},
        table_profiles=ctx.read_tables(TABLE_PROFILE),
        quality=ctx.read_tables(QUALITY_FINDINGS),
        temporal=ctx.read_tables(TEMPORAL_PROFILES),
        relationships=ctx.read(RELATIONSHIPS),
        schema=ctx.read(SCHEMA_GRAPH),
        correlations=ctx.read(CORRELATIONS),
        derived=ctx.read(DERIVED_COLUMNS),
        annotations=ctx.read(ANNOTATIONS),
        slices=ctx.read(SLICES),
        cycles=ctx.read(CYCLES),
        validations=ctx.read(VALIDATIONS),
    )
