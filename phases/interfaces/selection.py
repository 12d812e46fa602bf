"""Which tasks a request means: the chosen phases (default: every enabled one) of the chosen
sources (default: every source whose files are there) and, with tables, only those tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from phases.core.errors import ConfigError, StateError
from phases.core.layout import task_name
from phases.engine.project import Project, SourceUnusable


def as_tuple(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(value) or None


def chosen_sources(project: Project, sources: str | Sequence[str] | None) -> tuple[str, ...]:
    """The asked sources (each must exist and have its files), or every usable one."""
    asked = as_tuple(sources)
    if asked:
        for name in asked:
            project.source(name)  # raises naming the known sources
            problem = project.problem(name)
            if problem is not None:
                raise SourceUnusable(problem)
        return asked
    if not project.sources:
        raise ConfigError("the project has no sources yet: `dataraum sources add FOLDER` adds a folder of CSV "
                          "files, or name one in config/sources.yaml")
    usable = project.usable_sources
    if not usable:
        raise SourceUnusable("no source can run: " + "; ".join(project.unusable_sources.values()))
    return usable


def _check_phases(project: Project, wanted: tuple[str, ...] | None) -> None:
    enabled = {spec.name for spec in project.pipeline.enabled}
    for name in wanted or ():
        spec = project.pipeline.phase(name)  # raises naming the known phases
        if spec.name not in enabled:
            raise ConfigError(
                f"config/pipeline.yaml: phase {name!r} is disabled (enabled: false); "
                f"enabled phases: {', '.join(p.name for p in project.pipeline.enabled)}"
            )


def select_tasks(
    project: Project, sources: str | Sequence[str] | None = None, phases: str | Sequence[str] | None = None,
    tables: str | Sequence[str] | None = None,
) -> list[str]:
    """Task names for the chosen phases of the chosen sources. With `tables`: the per-table
    tasks of those tables, plus the per-source phases named in `phases` for each source that
    holds one of the tables (such a phase reads every table of its source, so doit runs what it
    needs for all of them); per-source phases not named are left out."""
    wanted = as_tuple(phases)
    _check_phases(project, wanted)
    only_tables = as_tuple(tables)
    names: list[str] = []
    seen_tables: set[str] = set()
    for source in chosen_sources(project, sources):
        held = {t.name for t in project.tables(source)}
        seen_tables |= held
        for spec in project.pipeline.enabled:
            if wanted and spec.name not in wanted:
                continue
            if spec.scope == "source":
                if only_tables is None or (wanted and held & set(only_tables)):
                    names.append(task_name(spec.name, source))
                continue
            names += [task_name(spec.name, source, t.name) for t in project.tables(source)
                      if only_tables is None or t.name in only_tables]
    unknown = sorted(set(only_tables or ()) - seen_tables)
    if unknown:
        raise ConfigError(f"no table {unknown[0]!r} in the chosen sources; tables: {', '.join(sorted(seen_tables))}")
    if not names:
        raise ConfigError("nothing to do: the chosen phases have no task for the chosen sources and tables")
    return names


Chosen = Literal["given", "only", "table", "last run"]


@dataclass(frozen=True)
class SourceChoice:
    name: str
    # given | only (the project has one source) | table (the only source with the asked table) |
    # last run (the source that ran last)
    why: Chosen

    def note(self) -> str | None:
        """What the command line says when it chose for the user."""
        if self.why == "given":
            return None
        reason = {"only": "the only source", "table": "the only source with that table"}.get(self.why,
                                                                                           "the last one run")
        return f"source: {self.name} ({reason}; --source chooses another)"


def choose_source(project: Project, given: str | None) -> SourceChoice:
    """One source for a command that reads one: the given one, else the only one, else the one
    whose task ran last (from the run history, doit's own runs included)."""
    if given:
        project.source(given)  # raises naming the known sources
        return SourceChoice(given, "given")
    if len(project.sources) == 1:
        return SourceChoice(next(iter(project.sources)), "only")
    if not project.sources:
        raise ConfigError("the project has no sources yet: `dataraum sources add FOLDER` adds a folder of CSV files")
    last = last_run_source(project)
    if last is None:
        raise ConfigError(f"the project has several sources ({', '.join(sorted(project.sources))}) and none has "
                          "run yet: give --source")
    return SourceChoice(last, "last run")


def last_run_source(project: Project) -> str | None:
    """The source of the project whose task finished last, or None before any run."""
    from phases.engine import store

    try:
        engine = store.existing_history(project.root, project.runtime)
    except StateError:
        return None
    if engine is None:
        return None
    try:
        latest = {name: rows[0].finished_at for name in project.sources if (rows := store.history(engine, name, 1))}
    finally:
        engine.dispose()
    return max(latest, key=lambda name: (latest[name], name)) if latest else None
