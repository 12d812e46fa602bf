"""What a phase function receives and returns. A phase is a plain function
`def produce_x(ctx: TableContext) -> PhaseOutput` (one task per table) or
`def produce_y(ctx: SourceContext) -> PhaseOutput` (one task per source). It reads its
inputs through `ctx` by their declarations in `phases.artifacts` (`ctx.read(RELATIONSHIPS)`),
writes its outputs through `ctx` (`ctx.write(SLICES, record)`, or into `ctx.output_path(...)`
for Parquet), and returns a summary. The runner checks the outputs and writes the manifest,
so no phase can forget the contract."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from phases.core.config import Model, RuntimeSettings, SourceConfig, parse_model
from phases.core.dag import PhaseSpec, Pipeline
from phases.core.errors import StateError
from phases.core.manifest import Failure, Manifest
from phases.core.records import ArtifactSpec, JsonArtifact, from_json
from phases.core.sources import TableRef
from phases.core.sql import COLUMNS_VARIABLE, VALUES_VARIABLE
from phases.core.threads import follow

if TYPE_CHECKING:
    import duckdb

M = TypeVar("M", bound=Model)
T = TypeVar("T")

Artifact = ArtifactSpec | str  # a declaration, or the name of one the project declares in pipeline.yaml


@dataclass(frozen=True)
class PhaseOutput:
    summary: Mapping[str, Any] = field(default_factory=dict)  # JSON-friendly, deterministic; goes into the manifest
    # facts for the catalogue in the history store: the table's 'rows' / 'quarantined',
    # and per column a dict with 'name' and any of 'original', 'position', 'type', 'unit', 'confidence'
    catalog_table: Mapping[str, Any] = field(default_factory=dict)
    catalog_columns: tuple[Mapping[str, Any], ...] = ()
    # scores to keep in the history store, one per target, so a later run can be compared with
    # this one: dicts with 'target', 'kind', 'score', 'readiness' and optionally 'dimension'
    scores: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class TaskContext:
    """What every task has; phases receive a TableContext or a SourceContext."""

    root: Path
    pipeline: Pipeline
    spec: PhaseSpec
    source: SourceConfig
    tables: tuple[TableRef, ...]  # all tables of the source
    out_dir: Path
    settings: Mapping[str, Any]  # merged YAML of the phase's config files
    runtime: RuntimeSettings
    upstream: Mapping[str, Mapping[str | None, Manifest]]  # phase -> table (or None) -> manifest
    settings_origins: Mapping[str, str] = field(default_factory=dict, kw_only=True)  # top-level key -> its file

    @property
    def settings_files(self) -> str:
        """The phase's config files, as errors name them."""
        return ", ".join(f"config/{name}" for name in self.spec.config) or "config"

    def parse_settings(self, model: type[M]) -> M:
        return parse_model(model, dict(self.settings), self.settings_files, self.settings_origins)

    # --- inputs ------------------------------------------------------------------------------

    def read(self, artifact: JsonArtifact[T]) -> T:
        """The record of an input: the source's, or (in a table task) this table's."""
        return artifact.load(self.path(artifact), self._producer(artifact.name))

    def path(self, artifact: Artifact) -> Path:
        """The file of an input: the source's, or (in a table task) this table's."""
        return self.input_manifest(artifact).path(_name(artifact))

    def input_manifest(self, artifact: Artifact) -> Manifest:
        """The upstream manifest holding an input for this task's table (or source)."""
        manifests = self._manifests(_name(artifact))
        key = None if None in manifests else self._table_key()
        if key not in manifests:
            raise StateError(
                f"phase {self.spec.name!r}: input {_name(artifact)!r} is one per table; "
                "a source task reads it with read_tables() or paths()"
            )
        return manifests[key]

    def _table_key(self) -> str | None:
        return None

    def _producer(self, name: str) -> str:
        return self.pipeline.producer.get(name, "upstream")

    def _manifests(self, name: str) -> Mapping[str | None, Manifest]:
        if name not in self.spec.inputs:
            raise StateError(f"phase {self.spec.name!r} does not declare input {name!r} in pipeline.yaml")
        return self.upstream[self.pipeline.producer[name]]

    # --- outputs -----------------------------------------------------------------------------

    def output_path(self, artifact: Artifact) -> Path:
        """Where this task writes one of its outputs (the runner checks it exists afterwards)."""
        return self.out_dir / self._output(artifact).file

    def write(self, artifact: JsonArtifact[T], record: T) -> Path:
        """Write an output record as canonical JSON."""
        self._output(artifact)
        return artifact.dump(self.out_dir, record)

    def _output(self, artifact: Artifact) -> ArtifactSpec:
        name = _name(artifact)
        if name not in self.spec.outputs:
            raise StateError(f"phase {self.spec.name!r} does not declare output {name!r} in pipeline.yaml")
        if isinstance(artifact, ArtifactSpec):
            return artifact
        if name not in self.pipeline.declared:
            raise StateError(f"artifact {name!r}: pass its declaration from phases.artifacts, not its name")
        return self.pipeline.declared[name]

    # --- resources ---------------------------------------------------------------------------

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A private in-memory DuckDB with the configured thread count and memory limit,
        spilling into this task's own folder, at most `spill_limit` of it (DuckDB's default, 90 %
        of the free disk, would let one task fill a shared disk)."""
        import duckdb

        spill = self.out_dir / ".duckdb_tmp"
        threads = self.runtime.duckdb.task_threads()
        con = duckdb.connect(
            config={
                "threads": threads,
                "memory_limit": self.runtime.duckdb.memory_limit,
                "temp_directory": str(spill),
                "max_temp_directory_size": self.runtime.duckdb.spill_limit,
            }
        )
        con.execute(f"SET VARIABLE {COLUMNS_VARIABLE} = {int(self.runtime.duckdb.columns_per_query)}")
        con.execute(f"SET VARIABLE {VALUES_VARIABLE} = {int(self.runtime.duckdb.batch_values)}")
        if self.runtime.duckdb.threads == "auto":
            follow(con, threads)  # its threads follow the run's free cores while the task runs
        return con


@dataclass(frozen=True)
class TableContext(TaskContext):
    """The context of a table-scoped task: one table of the source."""

    table: TableRef

    def _table_key(self) -> str | None:
        return self.table.name


@dataclass(frozen=True)
class SourceContext(TaskContext):
    """The context of a source-scoped task: all usable tables of the source at once. A table
    whose input failed (an empty or unreadable file) is left out of `tables` and of every
    per-table input, with its failure in `left_out`, so the other tables go on."""

    left_out: Mapping[str, Failure] = field(default_factory=dict)  # table -> the failure that left it out

    def read_tables(self, artifact: JsonArtifact[T]) -> dict[str, T]:
        """A per-table input's record for every table: table name -> record, in name order."""
        producer = self._producer(artifact.name)
        return {table: artifact.load(path, producer) for table, path in self.paths(artifact).items()}

    def paths(self, artifact: Artifact) -> dict[str, Path]:
        """A per-table input's file for every table: table name -> file, in name order."""
        return {table: m.path(_name(artifact)) for table, m in self.manifests(artifact).items()}

    def manifests(self, artifact: Artifact) -> dict[str, Manifest]:
        """A per-table input's manifest for every table: table name -> manifest, in name order."""
        return {table: m for table, m in sorted(self._manifests(_name(artifact)).items()) if table}

    def summaries(self, artifact: Artifact, record: type[T]) -> dict[str, T]:
        """The manifest summaries of a per-table input, each read as a `record`."""
        found = {}
        for table, manifest in self.manifests(artifact).items():
            try:
                found[table] = from_json(record, manifest.summary)
            except (TypeError, ValueError, KeyError) as exc:
                raise StateError(
                    f"{manifest.folder}: its summary does not match {record.__name__} ({exc}); "
                    f"forget and rerun the {manifest.phase} phase"
                ) from None
        return found


def _name(artifact: Artifact) -> str:
    return artifact.name if isinstance(artifact, ArtifactSpec) else artifact
