"""What a phase function receives and returns. A phase is a plain function
`def produce_x(ctx: TaskContext) -> PhaseOutput`; it reads its inputs through
`ctx`, writes files into `ctx.out_dir` and returns their names. The runner
writes the manifest, so no phase can forget the contract."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from phases.core.config import Model, RuntimeSettings, SourceConfig, parse_model
from phases.core.dag import PhaseSpec, Pipeline
from phases.core.errors import StateError
from phases.core.manifest import Manifest
from phases.core.sources import TableRef

if TYPE_CHECKING:
    import duckdb

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class PhaseOutput:
    artifacts: Mapping[str, str]  # artifact name (as in pipeline.yaml) -> file name in out_dir
    summary: Mapping[str, Any] = field(default_factory=dict)  # JSON-friendly, deterministic
    # facts for the catalogue in the history store: the table's 'rows' / 'quarantined',
    # and per column a dict with 'name' and any of 'original', 'position', 'type', 'unit', 'confidence'
    catalog_table: Mapping[str, Any] = field(default_factory=dict)
    catalog_columns: tuple[Mapping[str, Any], ...] = ()
    # scores to keep in the history store, one per target, so a later run can be compared with
    # this one: dicts with 'target', 'kind', 'score', 'readiness' and optionally 'dimension'
    scores: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class TaskContext:
    root: Path
    pipeline: Pipeline
    spec: PhaseSpec
    source: SourceConfig
    table: TableRef | None  # None for source-scope phases
    tables: tuple[TableRef, ...]  # all tables of the source
    out_dir: Path
    settings: Mapping[str, Any]  # merged YAML of the phase's config files
    runtime: RuntimeSettings
    upstream: Mapping[str, Mapping[str | None, Manifest]]  # phase -> table (or None) -> manifest

    def parse_settings(self, model: type[M]) -> M:
        files = ", ".join(f"config/{name}" for name in self.spec.config) or "config"
        return parse_model(model, dict(self.settings), files)

    def _manifests(self, artifact: str) -> Mapping[str | None, Manifest]:
        if artifact not in self.spec.inputs:
            raise StateError(f"phase {self.spec.name!r} does not declare input {artifact!r} in pipeline.yaml")
        return self.upstream[self.pipeline.producer[artifact]]

    def input_manifest(self, artifact: str) -> Manifest:
        """The one upstream manifest holding `artifact` for this task's table (or source)."""
        manifests = self._manifests(artifact)
        key = None if None in manifests else (self.table.name if self.table else None)
        if key not in manifests:
            raise StateError(f"phase {self.spec.name!r}: input {artifact!r} is per table; use input_paths()")
        return manifests[key]

    def input_path(self, artifact: str) -> Path:
        return self.input_manifest(artifact).path(artifact)

    def input_manifests(self, artifact: str) -> dict[str, Manifest]:
        """For a source-scope phase reading a per-table artifact: table name -> its manifest."""
        return {table: m for table, m in sorted(self._manifests(artifact).items()) if table}

    def input_paths(self, artifact: str) -> dict[str, Path]:
        """For a source-scope phase reading a per-table artifact: table name -> file."""
        return {table: m.path(artifact) for table, m in sorted(self._manifests(artifact).items()) if table}

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A private in-memory DuckDB with the configured thread count and memory limit,
        spilling into this task's own folder."""
        import duckdb

        spill = self.out_dir / ".duckdb_tmp"
        return duckdb.connect(
            config={
                "threads": self.runtime.duckdb.threads,
                "memory_limit": self.runtime.duckdb.memory_limit,
                "temp_directory": str(spill),
            }
        )
