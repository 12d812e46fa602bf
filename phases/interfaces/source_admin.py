"""Sources without editing YAML: list them, add a folder (kept in state/added_sources.yaml),
remove an added one (its tasks forgotten, its state deleted on request), and find the project
and source for `dataraum run PATH`: the project that already has PATH, or one created at
PATH/.dataraum so that the state lives beside the data."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from phases.core.config import SourceConfig
from phases.core.errors import ConfigError
from phases.core.layout import state_dir, task_name
from phases.core.manifest import MANIFEST_NAME
from phases.core.sources import discover_tables
from phases.engine import run_lock
from phases.engine.project import ADDED_SOURCES, Project, added_sources, write_added_sources
from phases.interfaces.doit_bridge import last_runs, load, with_tasks
from phases.interfaces.locate import HIDDEN, Located, is_project, locate
from phases.interfaces.scaffold import BESIDE_README, create_project


@dataclass(frozen=True)
class SourceInfo:
    name: str
    path: str  # as configured (relative to the project root, or absolute)
    origin: str  # config/sources.yaml or state/added_sources.yaml
    tables: int | None  # None when the source cannot run
    problem: str | None  # why it cannot run: its folder is gone, no CSV file
    last_run: datetime | None  # when a task of it last finished
    context: Path | None  # its context document, once written


@dataclass(frozen=True)
class SourcesList:
    root: Path
    sources: tuple[SourceInfo, ...]
    exit_code: int = 0


@dataclass(frozen=True)
class SourceAdded:
    root: Path
    name: str
    path: str  # as recorded
    new: bool  # False when a source of the project already had that folder
    exit_code: int = 0


@dataclass(frozen=True)
class SourceRemoved:
    root: Path
    name: str
    forgotten: tuple[str, ...]  # tasks removed from doit's records
    deleted: Path | None  # state/<name>, with delete_state
    exit_code: int = 0


@dataclass(frozen=True)
class PathSource:
    """The project and source `dataraum run PATH` runs."""

    root: Path
    source: str | None  # None when PATH is a project itself: all its sources
    created: bool  # a new project at PATH/.dataraum
    added: bool  # a new source in the project


def source_name_for(path: Path) -> str:
    """A safe source name from a folder's (or file's) name: 'Sales Q1' -> 'sales_q1'."""
    base = path.name if path.is_dir() else path.stem
    name = re.sub(r"[^0-9A-Za-z_-]+", "_", base).strip("_-").lower() or "source"
    return f"s_{name}" if not name[0].isalnum() else name


def _recorded_path(root: Path, target: Path) -> str:
    """Relative to the project when inside it; '..' and below for a project at FOLDER/.dataraum (the
    data and its project move together); else absolute."""
    root = root.resolve()
    if target.is_relative_to(root):
        return target.relative_to(root).as_posix()
    if root.name == HIDDEN and target.is_relative_to(root.parent):
        return "/".join(("..", *target.relative_to(root.parent).parts))
    return str(target)


def _same_source(project: Project, target: Path) -> str | None:
    for name, source in sorted(project.sources.items()):
        if (project.root / source.path).resolve() == target:
            return name
    return None


def _checked_target(path: Path) -> Path:
    target = path.expanduser().resolve()
    if not target.exists():
        raise ConfigError(f"{path}: no such folder or file")
    return target


def add_source(path: Path, *, name: str | None = None, root: Path | None = None) -> SourceAdded:
    """Make a folder (or file, or glob) of CSV files a source without editing config/sources.yaml:
    it is recorded in state/added_sources.yaml under `name` (default: taken from the folder).
    A source of the project with the same folder is reused."""
    project = load(locate(root).root)
    return _add(project, _checked_target(path), name)


def _add(project: Project, target: Path, name: str | None) -> SourceAdded:
    existing = _same_source(project, target)
    if existing is not None:
        return SourceAdded(project.root, existing, project.sources[existing].path, new=False)
    chosen = name or source_name_for(target)
    if chosen in project.sources:
        raise ConfigError(f"a source named {chosen!r} already exists with path {project.sources[chosen].path!r}; "
                          f"choose another name (`dataraum sources add {target} --name NAME`)")
    entry = SourceConfig(name=chosen, path=_recorded_path(project.root, target))
    if not discover_tables(entry, project.root):
        raise ConfigError(f"{target}: no CSV files found (a source is a folder of .csv files, a glob or one file)")
    with run_lock.holding(project.root, "dataraum sources add"):
        write_added_sources(project.root, {**added_sources(project.root), chosen: entry})
    return SourceAdded(project.root, chosen, entry.path, new=True)


def _task_names(project: Project, name: str) -> list[str]:
    """Every task the source has (or had: from the manifests under state/, when its folder is gone)."""
    names: list[str] = []
    tables = [t.name for t in project.tables(name)] if project.problem(name) is None else []
    for spec in project.pipeline.phases:
        if spec.scope == "source":
            names.append(task_name(spec.name, name))
        else:
            names += [task_name(spec.name, name, t) for t in tables]
    folder = state_dir(project.root) / name
    for manifest in sorted(folder.glob(f"*/*/{MANIFEST_NAME}")) if folder.is_dir() else []:
        names.append(task_name(manifest.parent.parent.name, name, manifest.parent.name))
    return list(dict.fromkeys(names))


def remove_source(name: str, *, delete_state: bool = False, root: Path | None = None) -> SourceRemoved:
    """Drop a source that `dataraum run PATH` or `dataraum sources add` added: forget its tasks in
    doit's records and, with `delete_state`, delete state/<name>. The run history keeps its rows."""
    project = load(locate(root).root)
    project.source(name)  # raises naming the known sources
    if project.origin(name) != ADDED_SOURCES:
        raise ConfigError(f"source {name!r} is defined in {project.origin(name)}: delete its entry there "
                          "(`dataraum sources remove` drops the sources added by `dataraum run PATH` or "
                          "`dataraum sources add`)")
    names = _task_names(project, name)
    with run_lock.holding(project.root, "dataraum sources remove"):
        write_added_sources(project.root, {k: v for k, v in added_sources(project.root).items() if k != name})

        def forget(_tasks: object, dep: Any) -> tuple[str, ...]:
            recorded = tuple(task for task in names if dep.backend.in_(task))
            for task in recorded:
                dep.remove(task)
            return recorded

        forgotten = with_tasks(project.root, forget)
        folder = state_dir(project.root) / name
        deleted = folder if delete_state and folder.is_dir() else None
        if deleted is not None:
            shutil.rmtree(deleted)
    return SourceRemoved(project.root, name, forgotten, deleted)


def list_sources(*, root: Path | None = None) -> SourcesList:
    """Every source: where it is defined, its tables, why it cannot run, its last run and context."""
    project = load(locate(root).root)
    runs = last_runs(project.root)
    latest: dict[str, datetime] = {}
    for task, run in runs.items():
        source = task.partition(":")[2].partition(".")[0]
        if source not in latest or run.finished_at > latest[source]:
            latest[source] = run.finished_at
    contexts = {c.source: c for c in project.context_locations(sorted(project.sources))}
    infos = []
    for name in sorted(project.sources):
        problem = project.problem(name)
        infos.append(SourceInfo(
            name, project.sources[name].path, project.origin(name),
            None if problem else len(project.tables(name)), problem,
            latest.get(name), contexts[name].path if contexts[name].exists else None,
        ))
    return SourcesList(project.root, tuple(infos))


def source_for_path(path: Path, *, root: Path | None = None) -> PathSource:
    """The project and source `dataraum run PATH` runs. With `root`: PATH becomes (or is already)
    a source of that project. Without: a project found from the current folder that has PATH as
    a source or holds it; PATH itself when it is a project; else the project at PATH/.dataraum
    (for a file, beside it), created on first use."""
    target = _checked_target(path)
    if root is not None:
        added = _add(load(locate(root).root), target, None)
        return PathSource(added.root, added.name, created=False, added=added.new)
    if target.is_dir() and is_project(target):
        return PathSource(target, None, created=False, added=False)
    here = _project_here()
    if here is not None:
        project = load(here.root)
        if _same_source(project, target) is not None or target.is_relative_to(project.root):
            added = _add(project, target, None)
            return PathSource(added.root, added.name, created=False, added=added.new)
    beside = (target if target.is_dir() else target.parent) / HIDDEN
    created = not is_project(beside)
    if created:
        name = source_name_for(target)
        _writable(beside)
        create_project(beside, {name: _recorded_path(beside, target)}, example=False,
                       readme=BESIDE_README.format(folder=path))
    added = _add(load(beside), target, None)
    return PathSource(beside, added.name, created=created, added=added.new and not created)


def _project_here() -> Located | None:
    try:
        return locate(below=False)
    except ConfigError:
        return None


def _writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the project {folder} beside the data ({exc.strerror}); "
                          "pass --root to keep the state in another project") from None
