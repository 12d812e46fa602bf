"""A project is a root folder with config/: the DAG, the sources and the runtime
settings, loaded and validated together. Loading reads YAML and lists files;
it opens no database and imports no phase module."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phases.artifacts.registry import ARTIFACTS
from phases.core.config import RuntimeSettings, SourceConfig, SourcesFile, load_runtime, load_sources, read_yaml
from phases.core.dag import PhaseSpec, Pipeline, load_pipeline
from phases.core.errors import ConfigError
from phases.core.layout import manifest_path
from phases.core.records import ArtifactSpec
from phases.core.sources import TableRef, discover_tables

# Folders added by `dataraum run PATH`, read together with config/sources.yaml.
ADDED_SOURCES = "state/added_sources.yaml"


@dataclass(frozen=True)
class Project:
    root: Path
    pipeline: Pipeline
    sources: dict[str, SourceConfig]
    runtime: RuntimeSettings
    _tables: dict[str, tuple[TableRef, ...]] = field(default_factory=dict, repr=False, compare=False)
    _settings: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    def source(self, name: str) -> SourceConfig:
        if name not in self.sources:
            known = ", ".join(sorted(self.sources)) or "none"
            raise ConfigError(f"config/sources.yaml: no source {name!r}; known sources: {known}")
        return self.sources[name]

    def tables(self, source: str) -> tuple[TableRef, ...]:
        if source not in self._tables:
            found = discover_tables(self.source(source), self.root)
            if not found:
                raise ConfigError(
                    f"config/sources.yaml: source {source!r} has no CSV files under "
                    f"{self.sources[source].path!r}"
                )
            self._tables[source] = found
        return self._tables[source]

    def artifact(self, name: str) -> ArtifactSpec:
        """The declaration of an artifact named in pipeline.yaml: built in, or the project's own."""
        found = ARTIFACTS.get(name) or self.pipeline.declared.get(name)
        if found is None:
            raise ConfigError(f"config/pipeline.yaml: no artifact {name!r} is declared")
        return found

    def upstream_manifests(self, spec: PhaseSpec, source: str, table: str | None) -> list[Path]:
        """The manifests a task reads: every upstream phase's, for its table or for all tables."""
        deps: list[Path] = []
        for up in self.pipeline.upstream(spec):
            if up.scope == "source":
                deps.append(manifest_path(self.root, source, up.name))
            elif table is not None:
                deps.append(manifest_path(self.root, source, up.name, table))
            else:
                deps += [manifest_path(self.root, source, up.name, t.name) for t in self.tables(source)]
        return deps

    def phase_settings(self, spec: PhaseSpec) -> dict[str, Any]:
        """The phase's own config section: its YAML files merged (keys must not clash)."""
        if spec.name not in self._settings:
            self._settings[spec.name] = _merge_settings(self.config_dir, spec)
        return self._settings[spec.name]


def _merge_settings(config_dir: Path, spec: PhaseSpec) -> dict[str, Any]:
    section: dict[str, Any] = {}
    for name in spec.config:
        data = read_yaml(config_dir / name) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"config/{name}: expected a mapping of settings at the top level")
        clash = section.keys() & data.keys()
        if clash:
            raise ConfigError(
                f"config/pipeline.yaml: phase {spec.name!r}, field 'config': key(s) "
                f"{sorted(clash)} appear in more than one of its files"
            )
        section.update(data)
    return section


def load_all_sources(root: Path) -> dict[str, SourceConfig]:
    """config/sources.yaml plus the folders `dataraum run PATH` added; a name may be in only one."""
    sources = load_sources(root / "config")
    added = root / ADDED_SOURCES
    if added.is_file():
        extra = SourcesFile.from_yaml(read_yaml(added), str(added)).sources
        clash = sorted(sources.keys() & extra.keys())
        if clash:
            raise ConfigError(
                f"{added}: source(s) {clash} are also in config/sources.yaml; remove them from one of the two files"
            )
        sources.update(extra)
    return sources


def load_project(root: Path, check_functions: bool = True) -> Project:
    config_dir = root / "config"
    return Project(
        root=root,
        pipeline=load_pipeline(config_dir / "pipeline.yaml", check_functions=check_functions, known=ARTIFACTS),
        sources=load_all_sources(root),
        runtime=load_runtime(config_dir),
    )
