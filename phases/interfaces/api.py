"""The library API over the project's doit tasks: run, status, reset, history, the
graph and the context document. The `dataraum` command line is a thin layer
over these functions; each returns a frozen result with an `exit_code`.

Everything goes through doit itself: the project's own `dodo.py` is loaded as a
namespace and run with `DoitMain(ModuleTaskLoader(namespace))`, with doit's own
backend, checker and up-to-date rules, so `dataraum run` and `doit` never
disagree about what is up to date. Nothing here schedules tasks."""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import re
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from doit.cmd_base import DoitCmdBase, ModuleTaskLoader, get_loader
from doit.cmdparse import CmdParseError
from doit.control import TaskControl
from doit.doit_cmd import DoitConfig, DoitMain
from doit.exceptions import InvalidCommand, InvalidDodoFile, InvalidTask, UnmetDependency

from phases.artifacts.context_document import CONTEXT_DOCUMENT, CONTEXT_MARKDOWN
from phases.artifacts.entropy_scores import ENTROPY_SCORES, Readiness
from phases.core.errors import ConfigError, StateError
from phases.core.layout import HISTORY_DB, manifest_path, state_dir, stats_path, task_dir, task_name
from phases.core.manifest import read_manifest, write_atomically
from phases.core.records import ArtifactSpec
from phases.engine import integrity, run_lock
from phases.engine import status as status_mod
from phases.engine.project import Project, load_project
from phases.engine.status import LastRun, PipelineStatus, split_task_name
from phases.interfaces import runs

DODO = "dodo.py"
DEFAULT_PARALLEL = 4
# The built-in phase that writes the context documents; a project's pipeline.yaml names the
# phase that outputs `context_document` (see context_phase), this is the name when none does.
CONTEXT_PHASE = "entropy"
CONTEXT_FORMATS: Mapping[str, ArtifactSpec] = {"md": CONTEXT_MARKDOWN, "json": CONTEXT_DOCUMENT}


class ContextNotReady(StateError):
    """The entropy phase has not written the context document of a source yet."""


# ---------------------------------------------------------------- results

Outcome = Literal["ran", "up-to-date", "failed", "blocked", "not-run", "ignored"]
EventKind = Literal["plan", "start", "success", "failure", "blocked", "uptodate", "ignored", "not_run", "finish"]


@dataclass(frozen=True)
class TaskEvent:
    """One thing that happened to a task during a run (also one line of --events)."""

    kind: EventKind
    task: str | None = None
    at: float = field(default_factory=time.time)
    duration_s: float | None = None
    error: str | None = None
    tasks: tuple[str, ...] = ()  # 'plan': every task the run will consider, in dependency order

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"event": self.kind, "time": datetime.fromtimestamp(self.at, UTC).isoformat()}
        if self.task:
            phase, source, table = split_task_name(self.task)
            body.update(task=self.task, phase=phase, source=source, table=table)
        if self.duration_s is not None:
            body["duration_s"] = round(self.duration_s, 3)
        if self.error:
            body["error"] = self.error
        if self.kind == "plan":
            body["tasks"] = list(self.tasks)
        return body


@dataclass(frozen=True)
class ArtifactSummary:
    name: str
    path: Path
    rows: int | None
    bytes: int


@dataclass(frozen=True)
class TaskResult:
    task: str
    phase: str
    source: str
    table: str | None
    outcome: Outcome
    duration_s: float | None = None
    error: str | None = None  # one line
    stderr: str = field(default="", repr=False)  # everything the task wrote to stderr (failures)
    outputs: tuple[ArtifactSummary, ...] = ()
    summary: Mapping[str, Any] = field(default_factory=dict)  # the manifest's summary

    @property
    def success(self) -> bool:
        return self.outcome in ("ran", "up-to-date")


@dataclass(frozen=True)
class ContextLocation:
    source: str
    path: Path  # state/<source>/entropy/context.md
    exists: bool
    phase_enabled: bool
    phase: str = CONTEXT_PHASE  # the phase that writes it


@dataclass(frozen=True)
class RunResult:
    tasks: tuple[TaskResult, ...]
    wall_s: float
    contexts: tuple[ContextLocation, ...]
    errors: tuple[str, ...] = ()  # doit's own errors, not a task's

    def count(self, *outcomes: Outcome) -> int:
        return sum(1 for t in self.tasks if t.outcome in outcomes)

    @property
    def failed(self) -> tuple[TaskResult, ...]:
        return tuple(t for t in self.tasks if t.outcome == "failed")

    @property
    def exit_code(self) -> int:
        return 1 if self.errors or self.count("failed", "blocked", "not-run") else 0

    def result(self, name: str) -> TaskResult:
        for task in self.tasks:
            if task.task == name:
                return task
        raise KeyError(name)


@dataclass(frozen=True)
class ResetResult:
    tasks: tuple[str, ...]  # forgotten (or, with dry_run, to be forgotten)
    deleted: tuple[Path, ...]  # artifact folders removed (or to be removed)
    dry_run: bool
    exit_code: int = 0


@dataclass(frozen=True)
class HistoryEntry:
    task: str
    source: str
    phase: str
    table: str | None
    started_at: datetime
    duration_s: float
    success: bool
    error: str | None


@dataclass(frozen=True)
class HistoryResult:
    entries: tuple[HistoryEntry, ...]  # newest first
    exit_code: int = 0


@dataclass(frozen=True)
class DamagedArtifact:
    task: str
    file: Path
    problem: str  # missing | size | content


@dataclass(frozen=True)
class VerifyResult:
    checked: int  # task manifests checked
    damaged: tuple[DamagedArtifact, ...]

    @property
    def exit_code(self) -> int:
        return 1 if self.damaged else 0


@dataclass(frozen=True)
class ContextDocument:
    source: str
    path: Path
    format: Literal["md", "json"]
    text: str
    exit_code: int = 0


@dataclass(frozen=True)
class ColumnReadiness:
    table: str
    column: str
    score: float  # 0..1, higher is more uncertain
    readiness: Readiness
    issues: tuple[str, ...]  # the worst dimensions' findings, worst first


@dataclass(frozen=True)
class EntropyReport:
    source: str
    path: Path
    columns: tuple[ColumnReadiness, ...]  # most uncertain first
    exit_code: int = 0


@dataclass(frozen=True)
class ScoreChange:
    target: str  # "table.column", a table, or the source
    kind: str  # column | table | source
    before: float | None  # None when the target is new
    after: float | None  # None when it is gone
    readiness_before: str | None
    readiness_after: str | None


@dataclass(frozen=True)
class EntropyComparison:
    source: str
    snapshots: int  # distinct entropy outputs recorded for the source
    changes: tuple[ScoreChange, ...]  # largest change first; empty with fewer than two snapshots


@dataclass(frozen=True)
class GraphResult:
    format: str
    content: str | bytes
    exit_code: int = 0


# ---------------------------------------------------------------- the project and doit


def find_root(start: Path | None = None) -> Path:
    """The project root: the first folder from `start` (default: the current folder)
    upwards that holds dodo.py and config/."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / DODO).is_file() and (folder / "config").is_dir():
            return folder
    raise ConfigError(
        f"no dataraum project at {here}: no folder from there upwards holds {DODO} and config/; "
        "run inside a project or pass --root"
    )


@contextmanager
def _importable(root: Path) -> Iterator[None]:
    """A project may keep phase modules at its root (doit puts the dodo folder on sys.path too)."""
    entry = str(root)
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        yield
    finally:
        if added and entry in sys.path:
            sys.path.remove(entry)


# Loading a project parses phase modules with `ast` and dodo.py imports it; CPython 3.11's
# parser is not safe in two threads at once ("AST constructor recursion depth mismatch"), and
# the HTTP server answers requests in worker threads, so loads take turns.
_LOADING = threading.RLock()


def _project(root: Path) -> Project:
    with _LOADING, _importable(root):
        return load_project(root)


def open_project(root: Path | None = None) -> Project:
    """The project at `root` (default: found from the current folder up), its config validated."""
    return _project(find_root(root))


def _dodo_namespace(root: Path, **doit_config: Any) -> dict[str, Any]:
    """The project's dodo.py as a fresh namespace (never cached: config may have changed)."""
    spec = importlib.util.spec_from_file_location(f"_dataraum_dodo_{abs(hash(root))}", root / DODO)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{root / DODO}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    with _LOADING, _importable(root):
        spec.loader.exec_module(module)
    namespace = dict(vars(module))
    namespace["DOIT_CONFIG"] = {**namespace.get("DOIT_CONFIG", {}), **doit_config}
    return namespace


def _doit_file_config(root: Path) -> dict[str, dict[str, Any]]:
    """[tool.doit] of the project's pyproject.toml and doit.cfg, as the doit command reads them."""
    reader = DoitConfig()
    found: dict[str, dict[str, Any]] = {}
    if (root / "pyproject.toml").is_file():
        for section, values in reader.load_config_toml(str(root / "pyproject.toml"), "tool.doit").items():
            found.setdefault(section, {}).update(values)
    if (root / "doit.cfg").is_file():
        ini = reader.load_config_ini(str(root / "doit.cfg"))
        for section in ini.sections():
            found.setdefault(section, {}).update(ini[section].items())
    return found


def _doit(root: Path, namespace: dict[str, Any], command: str | Callable[..., DoitCmdBase],
          args: Sequence[str]) -> Any:
    """Run one doit command in this process, the way `doit COMMAND ARGS` would from `root`."""
    main = DoitMain(ModuleTaskLoader(namespace), config_filenames=(), extra_config=_doit_file_config(root))
    commands = main.get_cmds()
    loader = get_loader(main.config, main.task_loader, commands)
    cls = commands.get_plugin(command) if isinstance(command, str) else command
    cmd = cls(task_loader=loader, config=main.config, bin_name="dataraum", cmds=commands, opt_vals={})
    try:
        with _importable(root):
            return cmd.parse_execute(list(args))
    except InvalidDodoFile as exc:  # dodo.py turns a ConfigError into this
        raise ConfigError(str(exc)) from None
    except (CmdParseError, InvalidCommand, InvalidTask) as exc:
        raise ConfigError(f"doit: {exc}") from None


class _Snapshot(DoitCmdBase):
    """A doit command that runs nothing: it hands the tasks (with the implicit
    dependencies doit derives from file_dep) and doit's dependency manager,
    configured exactly as for `doit run`, to a callback, then closes the manager."""

    name = "dataraum-snapshot"

    def __init__(self, use: Callable[[dict, Any], Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.use = use

    def _execute(self) -> Any:
        try:
            control = TaskControl(self.task_list)
            return self.use(control.tasks, self.dep_manager)
        finally:
            self.dep_manager.close()


def _with_tasks(root: Path, use: Callable[[dict, Any], Any]) -> Any:
    return _doit(root, _dodo_namespace(root), functools.partial(_Snapshot, use), [])


# ---------------------------------------------------------------- choosing tasks


def _as_tuple(value: str | Sequence[str] | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    return (value,) if isinstance(value, str) else tuple(value) or None


def _sources(project: Project, sources: str | Sequence[str] | None) -> tuple[str, ...]:
    chosen = _as_tuple(sources) or tuple(sorted(project.sources))
    for name in chosen:
        project.source(name)  # raises naming the known sources
    return chosen


def select_tasks(
    project: Project, sources: str | Sequence[str] | None = None, phases: str | Sequence[str] | None = None,
    tables: str | Sequence[str] | None = None,
) -> list[str]:
    """Task names for the chosen phases (default: every enabled one) of the chosen sources
    (default: all). With `tables`, only per-table tasks of those tables."""
    enabled = {spec.name for spec in project.pipeline.enabled}
    wanted = _as_tuple(phases)
    for name in wanted or ():
        spec = project.pipeline.phase(name)  # raises naming the known phases
        if spec.name not in enabled:
            raise ConfigError(
                f"config/pipeline.yaml: phase {name!r} is disabled (enabled: false); "
                f"enabled phases: {', '.join(p.name for p in project.pipeline.enabled)}"
            )
    only_tables = _as_tuple(tables)
    names: list[str] = []
    seen_tables: set[str] = set()
    for source in _sources(project, sources):
        for spec in project.pipeline.enabled:
            if wanted and spec.name not in wanted:
                continue
            if spec.scope == "source":
                if only_tables is None:
                    names.append(task_name(spec.name, source))
                continue
            for table in project.tables(source):
                seen_tables.add(table.name)
                if only_tables is None or table.name in only_tables:
                    names.append(task_name(spec.name, source, table.name))
    unknown = sorted(set(only_tables or ()) - seen_tables)
    if unknown and seen_tables:
        raise ConfigError(f"no table {unknown[0]!r} in the chosen sources; tables: {', '.join(sorted(seen_tables))}")
    if not names:
        raise ConfigError("nothing to do: --table selects per-table tasks, and the chosen phases are per source")
    return names


# ---------------------------------------------------------------- running


class _EventReporter:
    """A doit reporter turning doit's callbacks into TaskEvents. It is passed to doit
    as an instance through DOIT_CONFIG['reporter']; under `-n N` doit calls it in the
    main process (the workers forward each call through a queue)."""

    desc = "dataraum task events"

    def __init__(self, emit: Callable[[TaskEvent], None]) -> None:
        self._emit = emit
        self.plan: list[str] = []
        self.started: dict[str, float] = {}
        self.outcomes: dict[str, tuple[Outcome, float | None, str | None, str]] = {}
        self.errors: list[str] = []

    def initialize(self, tasks: Mapping[str, Any], selected_tasks: Sequence[str]) -> None:
        wanted: set[str] = set()
        pending = list(selected_tasks)
        while pending:
            name = pending.pop()
            if name not in wanted:
                wanted.add(name)
                pending.extend(tasks[name].task_dep)
        real = {n for n in wanted if tasks[n].actions and not tasks[n].has_subtask}
        self.plan = status_mod.dependency_order(tasks, real)
        self._emit(TaskEvent("plan", tasks=tuple(self.plan)))

    def _finish(self, task: Any, outcome: Outcome, kind: EventKind, error: str | None = None,
                stderr: str = "") -> None:
        if task.name not in self.plan:  # a group task
            return
        began = self.started.get(task.name)
        duration = time.time() - began if began is not None else None
        self.outcomes[task.name] = (outcome, duration, error, stderr)
        self._emit(TaskEvent(kind, task.name, duration_s=duration, error=error))

    def get_status(self, task: Any) -> None:
        pass

    def execute_task(self, task: Any) -> None:
        if task.name in self.plan:
            self.started[task.name] = time.time()
            self._emit(TaskEvent("start", task.name))

    def add_success(self, task: Any) -> None:
        if not self._recorded_failure(task):
            self._finish(task, "ran", "success")

    def add_failure(self, task: Any, fail: Any) -> None:
        if isinstance(fail, UnmetDependency):
            self._finish(task, "blocked", "blocked", f"upstream failed: {fail.message}")
            return
        stderr = "".join(action.err or "" for action in task.actions)
        self._finish(task, "failed", "failure", _error_line(task.name, fail.message), stderr)

    def skip_uptodate(self, task: Any) -> None:
        if not self._recorded_failure(task):
            self._finish(task, "up-to-date", "uptodate")

    def _recorded_failure(self, task: Any) -> bool:
        """A task that finished by recording unusable input (an empty file) failed, for the run's
        result and exit code, although doit counts it done; its table's later tasks are blocked."""
        failure = status_mod.recorded_failure(task)
        if failure is None:
            return False
        if failure.task == task.name:
            self._finish(task, "failed", "failure", failure.reason)
        else:
            self._finish(task, "blocked", "blocked", f"upstream failed: {failure.task}: {failure.reason}")
        return True

    def skip_ignore(self, task: Any) -> None:
        self._finish(task, "ignored", "ignored")

    def cleanup_error(self, exception: Any) -> None:
        self.errors.append(exception.get_msg().strip())

    def runtime_error(self, msg: str) -> None:
        self.errors.append(msg.strip())

    def teardown_task(self, task: Any) -> None:
        pass

    def complete_run(self) -> None:
        for name in self.plan:
            if name not in self.outcomes:
                self.outcomes[name] = ("not-run", None, None, "")
                self._emit(TaskEvent("not_run", name))


def _error_line(name: str, message: str) -> str:
    """The first line of doit's failure message, without the runner's 'TASK failed:' prefix."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    line = lines[0] if lines else "failed"
    if line.startswith(name):
        line = line[len(name):].strip().removeprefix("failed:").strip()
    return line


def _outputs(root: Path, name: str) -> tuple[tuple[ArtifactSummary, ...], Mapping[str, Any]]:
    phase, source, table = split_task_name(name)
    path = manifest_path(root, source, phase, table)
    if not path.is_file():
        return (), {}
    try:
        manifest = read_manifest(path)
    except StateError:
        return (), {}
    artifacts = tuple(
        ArtifactSummary(artifact, manifest.folder / a.path, a.rows, a.bytes)
        for artifact, a in sorted(manifest.artifacts.items())
    )
    return artifacts, dict(manifest.summary)


def context_phase(project: Project) -> str:
    """The phase that writes the context documents (the producer of `context_document`)."""
    return project.pipeline.producer.get(CONTEXT_DOCUMENT.name, CONTEXT_PHASE)


def _context_phase_enabled(project: Project) -> bool:
    phase = context_phase(project)
    return any(spec.name == phase for spec in project.pipeline.enabled)


def context_locations(project: Project, sources: Sequence[str]) -> tuple[ContextLocation, ...]:
    phase = context_phase(project)
    enabled = _context_phase_enabled(project)
    paths = [(s, task_dir(project.root, s, phase) / CONTEXT_MARKDOWN.file) for s in sources]
    return tuple(ContextLocation(s, p, p.is_file(), enabled, phase) for s, p in paths)


def run_pipeline(
    source_id: str | Sequence[str] | None = None,
    tables: str | Sequence[str] | None = None,
    phases: str | Sequence[str] | None = None,
    skip_completed: bool = True,
    max_parallel: int = DEFAULT_PARALLEL,
    fail_fast: bool = True,
    *,
    root: Path | None = None,
    on_event: Callable[[TaskEvent], None] | None = None,
    run_id: str | None = None,
) -> RunResult:
    """Run the chosen phases (default: all enabled) of the chosen sources (default: all)
    and whatever they need, through doit. `skip_completed=False` forgets the chosen
    tasks first, so they rerun even when up to date; `fail_fast=False` is doit's
    --continue. `on_event` gets every TaskEvent as it happens. Returns one
    TaskResult per task doit considered. The run is recorded in the history store under
    `run_id` (default: a new one), with its events."""
    root = find_root(root)
    project = _project(root)
    names = select_tasks(project, source_id, phases, tables)
    began_at = datetime.now(UTC)
    events: list[dict[str, Any]] = []

    def emit(event: TaskEvent) -> None:
        events.append(event.to_json())
        if on_event is not None:
            on_event(event)

    reporter = _EventReporter(emit)
    namespace = _dodo_namespace(root, reporter=reporter)
    args = ["-v", "0"]  # capture every task's output: the reporter shows the errors
    if max_parallel > 1:
        args += ["-n", str(max_parallel)]
    if not fail_fast:
        args.append("--continue")
    started = time.time()
    with run_lock.holding(root, "dataraum run"):
        if not skip_completed:
            _forget(root, names, downstream=False, delete_artifacts=False)
        _doit(root, namespace, "run", [*args, *names])
    wall = time.time() - started
    results = []
    for name in reporter.plan:
        outcome, duration, error, stderr = reporter.outcomes[name]
        phase, source, table = split_task_name(name)
        outputs, summary = _outputs(root, name) if outcome in ("ran", "up-to-date") else ((), {})
        results.append(TaskResult(name, phase, source, table, outcome, duration, error, stderr, outputs, summary))
    result = RunResult(
        tasks=tuple(results), wall_s=wall, contexts=context_locations(project, _sources(project, source_id)),
        errors=tuple(reporter.errors),
    )
    emit(TaskEvent("finish", duration_s=wall))
    request = runs.RunRequest(_as_tuple(source_id) or (), _as_tuple(phases) or (), not skip_completed)
    tasks = [runs.RunTask(t.task, t.phase, t.source, t.table, t.outcome, t.duration_s, t.error) for t in results]
    runs.record_run(root, run_id or runs.new_run_id(began_at), began_at, wall, request, result.exit_code, tasks,
                    events)
    return result


async def run_pipeline_async(*args: Any, **kwargs: Any) -> RunResult:
    """run_pipeline for callers inside an event loop: doit runs in a worker thread, so the
    loop stays free. `on_event` is then called from that thread (use
    loop.call_soon_threadsafe to hand events to the loop). One run per project at a time."""
    return await asyncio.to_thread(run_pipeline, *args, **kwargs)


# ---------------------------------------------------------------- status, reset, history


def _last_runs(root: Path) -> dict[str, LastRun]:
    """The latest history row of every task; none when the history is missing or damaged (a
    status never depends on it: doit's records decide what is done)."""
    path = state_dir(root) / HISTORY_DB
    if not path.is_file():
        return {}
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from phases.engine import store

    try:
        engine = store.open_store(path)
    except StateError:
        return {}
    try:
        latest = select(func.max(store.Checkpoint.id)).group_by(store.Checkpoint.task)
        with Session(engine) as session:
            rows = session.scalars(select(store.Checkpoint).where(store.Checkpoint.id.in_(latest)))
            return {r.task: LastRun(r.finished_at.replace(tzinfo=UTC), r.duration_s, r.success, r.error) for r in rows}
    finally:
        engine.dispose()


def pipeline_status(
    source_id: str | Sequence[str] | None = None, *, root: Path | None = None,
) -> PipelineStatus:
    """Every task of the chosen sources: done, will run (with the reasons, propagated
    downstream), failed or never run. Reads doit's records; changes nothing."""
    root = find_root(root)
    project = _project(root)
    sources = _sources(project, source_id)
    names = select_tasks(project, sources)
    last_runs = _last_runs(root)
    judged = _with_tasks(
        root, lambda tasks, dep: status_mod.judge_tasks(tasks, names, status_mod.read_only(dep), last_runs, root)
    )
    return PipelineStatus(root=root, sources=sources, phases=tuple(p.name for p in project.pipeline.enabled),
                          tasks=tuple(judged))


def _downstream(tasks: Mapping[str, Any], names: Sequence[str]) -> list[str]:
    dependents: dict[str, list[str]] = {}
    for task in tasks.values():
        for dep in task.task_dep:
            dependents.setdefault(dep, []).append(task.name)
    found = dict.fromkeys(names)
    pending = list(names)
    while pending:
        for child in dependents.get(pending.pop(), []):
            if child not in found and tasks[child].actions and not tasks[child].has_subtask:
                found[child] = None
                pending.append(child)
    return status_mod.dependency_order(tasks, set(found))


def _forget(root: Path, names: Sequence[str], downstream: bool, delete_artifacts: bool,
            dry_run: bool = False) -> ResetResult:
    def use(tasks: Mapping[str, Any], dep: Any) -> ResetResult:
        chosen = _downstream(tasks, names) if downstream else list(names)
        folders = []
        for name in chosen:
            phase, source, table = split_task_name(name)
            folder = task_dir(root, source, phase, table)
            if delete_artifacts and folder.exists():
                folders.append(folder)
            if not dry_run:
                dep.remove(name)
        if not dry_run:
            for folder in folders:
                shutil.rmtree(folder)
        return ResetResult(tasks=tuple(chosen), deleted=tuple(folders), dry_run=dry_run)

    return _with_tasks(root, use)


def reset(
    source_id: str | Sequence[str] | None = None,
    phases: str | Sequence[str] | None = None,
    tables: str | Sequence[str] | None = None,
    downstream: bool = False,
    delete_artifacts: bool = False,
    dry_run: bool = False,
    *,
    root: Path | None = None,
) -> ResetResult:
    """Forget the chosen tasks in doit's records (all tasks of the chosen sources by
    default) so they rerun; with `downstream`, every task after them too (doit's own
    `forget` does not follow file_dep). `delete_artifacts` also removes their
    folders under state/. `dry_run` only says what it would do."""
    root = find_root(root)
    names = select_tasks(_project(root), source_id, phases, tables)
    if dry_run:
        return _forget(root, names, downstream, delete_artifacts, dry_run)
    with run_lock.holding(root, "dataraum reset"):
        return _forget(root, names, downstream, delete_artifacts, dry_run)


def verify(deep: bool = False, *, root: Path | None = None) -> VerifyResult:
    """Check every task's artifacts against its manifest: sizes, and the sha256 of files whose
    time changed (`deep`: of every file). A damaged task reruns at the next run."""
    root = find_root(root)
    state = state_dir(root)
    found: list[DamagedArtifact] = []
    checked = 0
    for path in integrity.manifests(state):
        checked += 1
        parts = path.parent.relative_to(state).parts  # source, phase[, table]
        task = task_name(parts[1], parts[0], parts[2] if len(parts) > 2 else None)
        stats = stats_path(root, parts[0], parts[1], parts[2] if len(parts) > 2 else None)
        found += [DamagedArtifact(task, d.file, d.problem) for d in integrity.damage(path, stats, deep=deep)]
    return VerifyResult(checked, tuple(found))


def history(source_id: str | None = None, limit: int = 20, *, root: Path | None = None) -> HistoryResult:
    """Past task runs, newest first, from the history store (pipeline_checkpoints)."""
    root = find_root(root)
    path = state_dir(root) / HISTORY_DB
    if not path.is_file():
        return HistoryResult(entries=())
    from phases.engine import store

    engine = store.open_store(path)
    try:
        rows = store.history(engine, source_id, limit)
        entries = tuple(
            HistoryEntry(r.task, r.source, r.phase, r.table_name, r.started_at.replace(tzinfo=UTC), r.duration_s,
                         r.success, r.error)
            for r in rows
        )
    finally:
        engine.dispose()
    return HistoryResult(entries=entries)


# ---------------------------------------------------------------- sources added by path

def source_name_for(path: Path) -> str:
    """A safe source name from a folder's (or file's) name: 'Sales Q1' -> 'sales_q1'."""
    base = path.name if path.is_dir() else path.stem
    name = re.sub(r"[^0-9A-Za-z_-]+", "_", base).strip("_-").lower() or "source"
    return f"s_{name}" if not name[0].isalnum() else name


def add_source(path: Path, *, root: Path | None = None) -> str:
    """Make a folder of CSV files a source without editing config/sources.yaml: it is
    recorded in state/added_sources.yaml under a name taken from the folder. Returns
    the source name (an existing source with the same folder is reused)."""
    import yaml

    from phases.core.config import SourceConfig
    from phases.core.sources import discover_tables
    from phases.engine import project as project_module

    root = find_root(root)
    added_name = getattr(project_module, "ADDED_SOURCES", None)  # where load_project reads added sources
    if added_name is None:
        raise ConfigError(
            "dataraum run PATH needs phases/core/project.py to read added sources (ADDED_SOURCES); "
            "until then add the folder to config/sources.yaml"
        )
    folder = path.expanduser().resolve()
    if not folder.exists():
        raise ConfigError(f"{path}: no such folder")
    project = _project(root)
    for name, source in project.sources.items():
        if (root / source.path).resolve() == folder:
            return name
    name = source_name_for(folder)
    if name in project.sources:
        raise ConfigError(
            f"a source named {name!r} already exists with path {project.sources[name].path!r}; "
            f"add {folder} to config/sources.yaml under another name"
        )
    entry = SourceConfig(name=name, path=str(folder))
    if not discover_tables(entry, root):
        raise ConfigError(f"{folder}: no CSV files found (a source is a folder of .csv files)")
    added_file = root / added_name
    data = yaml.safe_load(added_file.read_text(encoding="utf-8")) if added_file.is_file() else None
    data = data or {"sources": {}}
    data["sources"][name] = {"path": str(folder)}
    header = "# Sources added by `dataraum run PATH`; read together with config/sources.yaml.\n"
    write_atomically(added_file, header + yaml.safe_dump(data, sort_keys=True))
    return name


# ---------------------------------------------------------------- context and entropy


def _one_source(project: Project, source_id: str | None) -> str:
    if source_id:
        project.source(source_id)
        return source_id
    if len(project.sources) == 1:
        return next(iter(project.sources))
    raise ConfigError(f"the project has several sources ({', '.join(sorted(project.sources))}): give --source")


def context_file(project: Project, source: str, artifact: ArtifactSpec) -> Path:
    """The file of one of the context phase's artifacts for a source; ContextNotReady when the
    phase has not written it yet."""
    phase = context_phase(project)
    path = task_dir(project.root, source, phase) / artifact.file
    if path.is_file():
        return path
    shown = path.relative_to(project.root)
    if _context_phase_enabled(project):
        hint = f"run `dataraum run --source {source}` first"
    else:
        hint = f"the {phase} phase is disabled in config/pipeline.yaml"
    raise ContextNotReady(
        f"the {phase} phase has not produced a context for source {source!r} yet ({shown} is missing; {hint})"
    )


def context_document(source_id: str | None = None, fmt: Literal["md", "json"] = "md", *,
                     root: Path | None = None) -> ContextDocument:
    """The context document the entropy phase wrote for a source, as text (Markdown, or the
    JSON of `phases.artifacts.context_document.ContextDocument`)."""
    if fmt not in CONTEXT_FORMATS:
        raise ConfigError(f"unknown context format {fmt!r}; use md or json")
    root = find_root(root)
    project = _project(root)
    source = _one_source(project, source_id)
    path = context_file(project, source, CONTEXT_FORMATS[fmt])
    return ContextDocument(source, path, fmt, path.read_text(encoding="utf-8"))


def entropy_readiness(source_id: str | None = None, table: str | None = None, limit: int = 20, *,
                      root: Path | None = None) -> EntropyReport:
    """The most uncertain columns of a source (optionally of one table), read from the entropy
    phase's entropy_scores.json: each column's score, readiness and its worst findings."""
    root = find_root(root)
    project = _project(root)
    source = _one_source(project, source_id)
    path = context_file(project, source, ENTROPY_SCORES)
    scores = ENTROPY_SCORES.load(path, context_phase(project))
    found = [
        ColumnReadiness(c.table, c.column, c.score, c.readiness, tuple(top.summary for top in c.top))
        for c in scores.columns if not table or c.table == table
    ]
    found.sort(key=lambda c: (-c.score, c.table, c.column))
    return EntropyReport(source, path, tuple(found[:limit]))


def entropy_changes(source_id: str | None = None, *, root: Path | None = None) -> EntropyComparison:
    """How the entropy scores of a source changed between its last two distinct entropy outputs
    (the history store keeps one snapshot per distinct output)."""
    from phases.engine import store

    root = find_root(root)
    project = _project(root)
    source = _one_source(project, source_id)
    path = state_dir(root) / HISTORY_DB
    if not path.is_file():
        return EntropyComparison(source, 0, ())
    engine = store.open_store(path)
    try:
        snapshots = store.score_snapshots(engine, source)
    finally:
        engine.dispose()
    if len(snapshots) < 2:
        return EntropyComparison(source, len(snapshots), ())
    (_, _, before), (_, _, after) = snapshots[-2], snapshots[-1]
    changes = []
    for key in sorted(before.keys() | after.keys()):
        if not key.startswith(("column:", "table:", "source:")):
            continue  # findings and compound risks are kept for tools; the comparison is of scores
        b, a = before.get(key), after.get(key)
        if b is not None and a is not None and (b.score, b.readiness) == (a.score, a.readiness):
            continue
        entry = after[key] if key in after else before[key]
        changes.append(ScoreChange(entry.target, entry.kind, b.score if b else None, a.score if a else None,
                                   b.readiness if b else None, a.readiness if a else None))
    changes.sort(key=lambda c: (-abs((c.after or 0.0) - (c.before or 0.0)), c.kind, c.target))
    return EntropyComparison(source, len(snapshots), tuple(changes))


# ---------------------------------------------------------------- graph


def pipeline_graph(source_id: str | Sequence[str] | None = None, fmt: str = "text", color: bool = False, *,
                   root: Path | None = None) -> GraphResult:
    """The DAG of phases coloured by their status over the chosen sources."""
    from phases.engine import graph

    status = pipeline_status(source_id, root=root)
    project = _project(status.root)
    return GraphResult(fmt, graph.render(project.pipeline, status.phase_states(), fmt, color=color))

