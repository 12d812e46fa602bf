"""A project is a root folder with config/: the DAG, the sources, the runtime settings and
every enabled phase's settings, loaded and validated together. Loading reads YAML and lists
files; it opens no database, and of the phase groups it imports only the settings models
pipeline.yaml names (see phases.engine.phase_settings).

A source whose folder is gone (or holds no CSV file) does not stop the load: the project
reports it as unusable with the reason, its tasks are left out, and the other sources go on."""

from __future__ import annotations

import glob
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from phases.artifacts.context_document import CONTEXT_DOCUMENT, CONTEXT_MARKDOWN
from phases.artifacts.entropy_scores import ENTROPY_SCORES
from phases.artifacts.registry import ARTIFACTS
from phases.core.config import RuntimeSettings, SourceConfig, SourcesFile, load_runtime, load_sources, read_yaml
from phases.core.dag import PhaseSpec, Pipeline, load_pipeline
from phases.core.errors import ConfigError
from phases.core.layout import manifest_path, task_dir
from phases.core.manifest import write_atomically
from phases.core.records import ArtifactSpec
from phases.core.sources import TableRef, discover_tables
from phases.engine import settings_cache
from phases.engine.phase_settings import check_settings, merge_settings, validator_path

# Folders added by `dataraum run PATH` or `dataraum sources add`, read together with config/sources.yaml.
ADDED_SOURCES = "state/added_sources.yaml"
SOURCES_FILE = "config/sources.yaml"
# The built-in phase that writes the context documents; a project's pipeline.yaml names the
# phase that outputs `context_document` (see Project.context_phase), this is the name when none does.
CONTEXT_PHASE = "context"
SCORES_PHASE = "entropy"  # likewise for the producer of `entropy_scores`


class SourceUnusable(ConfigError):
    """A source's folder (or file, or glob) is gone or holds no CSV file."""


@dataclass(frozen=True)
class ContextLocation:
    """Where the context document of a source is (or will be) written."""

    source: str
    path: Path  # state/<source>/context/context.md
    exists: bool
    phase_enabled: bool
    phase: str = CONTEXT_PHASE  # the phase that writes it


@dataclass(frozen=True)
class Project:
    root: Path
    pipeline: Pipeline
    sources: dict[str, SourceConfig]
    runtime: RuntimeSettings
    # source -> the file that defines it (config/sources.yaml or state/added_sources.yaml)
    origins: Mapping[str, str] = field(default_factory=dict)
    _tables: dict[str, tuple[TableRef, ...]] = field(default_factory=dict, repr=False, compare=False)
    _problems: dict[str, str | None] = field(default_factory=dict, repr=False, compare=False)
    _settings: dict[str, tuple[dict[str, Any], dict[str, str]]] = field(
        default_factory=dict, repr=False, compare=False)

    @property
    def config_dir(self) -> Path:
        return self.root / "config"

    def source(self, name: str) -> SourceConfig:
        if name not in self.sources:
            known = ", ".join(sorted(self.sources)) or "none"
            raise ConfigError(f"{SOURCES_FILE}: no source {name!r}; known sources: {known}")
        return self.sources[name]

    def origin(self, name: str) -> str:
        return self.origins.get(name, SOURCES_FILE)

    def problem(self, source: str) -> str | None:
        """Why a source cannot run now (its folder is gone, it holds no CSV file), or None."""
        if source not in self._problems:
            try:
                self.tables(source)
                self._problems[source] = None
            except SourceUnusable as exc:
                self._problems[source] = str(exc)
        return self._problems[source]

    @property
    def usable_sources(self) -> tuple[str, ...]:
        """The sources whose files are there, by name: the ones that get tasks."""
        return tuple(name for name in sorted(self.sources) if self.problem(name) is None)

    @property
    def unusable_sources(self) -> dict[str, str]:
        """Source -> why it is skipped, for the sources that get no tasks."""
        return {name: problem for name in sorted(self.sources) if (problem := self.problem(name)) is not None}

    def tables(self, source: str) -> tuple[TableRef, ...]:
        if source not in self._tables:
            config = self.source(source)
            where = f"{self.origin(source)}: source {source!r}"
            location = self.root / config.path
            if not location.exists() and not glob.has_magic(str(location)):
                raise SourceUnusable(
                    f"{where}: its folder {config.path!r} is missing (moved or deleted); restore it, or "
                    f"`dataraum sources remove {source}`"
                )
            found = discover_tables(config, self.root)
            if not found:
                raise SourceUnusable(f"{where}: no CSV files under {config.path!r}")
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
        return self._merged(spec)[0]

    def settings_origins(self, spec: PhaseSpec) -> dict[str, str]:
        """Top-level key of the phase's section -> the file that holds it (`config/<name>`)."""
        return self._merged(spec)[1]

    def _merged(self, spec: PhaseSpec) -> tuple[dict[str, Any], dict[str, str]]:
        if spec.name not in self._settings:
            self._settings[spec.name] = merge_settings(self.config_dir, spec)
        return self._settings[spec.name]

    def check_settings(self) -> None:
        """Validate every enabled phase's settings against the model pipeline.yaml names for it;
        the first bad one raises ConfigError naming the file, the key and the reason. What passed
        before, unchanged, is not checked again (phases.engine.settings_cache)."""
        specs = self.pipeline.enabled
        trusted = [s for s in specs if settings_cache.cacheable(validator_path(s))]
        key = settings_cache.digest(self.root, ((s.name, validator_path(s), self.phase_settings(s)) for s in trusted))
        known = settings_cache.passed(self.root, key)
        for spec in specs:
            if not (known and spec in trusted):
                check_settings(spec, self.phase_settings(spec), self.settings_origins(spec))
        if not known:
            settings_cache.remember(self.root, key)

    # ------------------------------------------------------------ the context document

    @property
    def context_phase(self) -> str:
        """The phase that writes the context documents (the producer of `context_document`)."""
        return self.pipeline.producer.get(CONTEXT_DOCUMENT.name, CONTEXT_PHASE)

    @property
    def scores_phase(self) -> str:
        """The phase that writes the entropy scores (the producer of `entropy_scores`)."""
        return self.pipeline.producer.get(ENTROPY_SCORES.name, SCORES_PHASE)

    @property
    def context_phase_enabled(self) -> bool:
        return any(spec.name == self.context_phase for spec in self.pipeline.enabled)

    def context_locations(self, sources: Iterable[str]) -> tuple[ContextLocation, ...]:
        phase, enabled = self.context_phase, self.context_phase_enabled
        paths = [(s, task_dir(self.root, s, phase) / CONTEXT_MARKDOWN.file) for s in sources]
        return tuple(ContextLocation(s, p, p.is_file(), enabled, phase) for s, p in paths)


def added_sources(root: Path) -> dict[str, SourceConfig]:
    """The sources `dataraum run PATH` and `dataraum sources add` recorded (state/added_sources.yaml)."""
    added = root / ADDED_SOURCES
    if not added.is_file():
        return {}
    return dict(SourcesFile.from_yaml(read_yaml(added), ADDED_SOURCES).sources)


def write_added_sources(root: Path, sources: Mapping[str, SourceConfig]) -> None:
    """Replace state/added_sources.yaml (atomically) with these sources."""
    body = {"sources": {name: s.model_dump(mode="json", exclude={"name"}, exclude_defaults=True)
                        for name, s in sorted(sources.items())}}
    header = ("# Sources added by `dataraum run PATH` or `dataraum sources add`, read together with\n"
              "# config/sources.yaml; `dataraum sources remove NAME` drops one.\n")
    write_atomically(root / ADDED_SOURCES, header + yaml.safe_dump(body, sort_keys=True, allow_unicode=True))


def load_all_sources(root: Path) -> tuple[dict[str, SourceConfig], dict[str, str]]:
    """config/sources.yaml plus the added sources (a name may be in only one), and where each
    is defined."""
    sources = load_sources(root / "config")
    origins = dict.fromkeys(sources, SOURCES_FILE)
    extra = added_sources(root)
    clash = sorted(sources.keys() & extra.keys())
    if clash:
        raise ConfigError(
            f"{ADDED_SOURCES}: source(s) {clash} are also in {SOURCES_FILE}; remove them from one of the two "
            f"files (`dataraum sources remove NAME` drops an added one)"
        )
    sources.update(extra)
    origins.update(dict.fromkeys(extra, ADDED_SOURCES))
    return sources, origins


def load_project(root: Path, check_functions: bool = True, check_settings: bool = True) -> Project:
    """The project at `root`, its config validated: the DAG, the sources, the runtime settings,
    each enabled phase's function (`check_functions`) and settings (`check_settings`; a task's own
    process skips both: its phase parses its settings itself)."""
    config_dir = root / "config"
    sources, origins = load_all_sources(root)
    project = Project(
        root=root,
        pipeline=load_pipeline(config_dir / "pipeline.yaml", check_functions=check_functions, known=ARTIFACTS),
        sources=sources,
        runtime=load_runtime(config_dir),
        origins=origins,
    )
    if check_settings:
        project.check_settings()
    return project
