"""The bridge to doit: the project's own dodo.py loaded as a namespace and run with
`DoitMain(ModuleTaskLoader(namespace))`, with doit's own backend, checker and up-to-date rules,
so `dataraum run` and `doit` never disagree about what is up to date; a read-only snapshot of the
tasks and doit's records; and the reporter that turns doit's callbacks into TaskEvents."""

from __future__ import annotations

import functools
import importlib.util
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC
from pathlib import Path
from typing import Any

from doit.cmd_base import DoitCmdBase, ModuleTaskLoader, get_loader
from doit.cmdparse import CmdParseError
from doit.control import TaskControl
from doit.doit_cmd import DoitConfig, DoitMain
from doit.exceptions import InvalidCommand, InvalidDodoFile, InvalidTask, UnmetDependency

from phases.core.config import load_runtime
from phases.core.errors import ConfigError, StateError
from phases.core.layout import HISTORY_DB, manifest_path, state_dir
from phases.core.manifest import read_manifest
from phases.engine import status as status_mod
from phases.engine.project import Project, load_project
from phases.engine.schedule import critical_first
from phases.engine.status import LastRun, split_task_name
from phases.interfaces.results import ArtifactSummary, EventKind, Outcome, TaskEvent

DODO = "dodo.py"


_PATH_LOCK = threading.Lock()
_PATH_USERS: dict[str, int] = {}  # project root -> loads using it now (only those this module put on sys.path)


@contextmanager
def importable(root: Path) -> Iterator[None]:
    """A project may keep phase modules at its root (doit puts the dodo folder on sys.path too).
    Counted per root: the HTTP server loads one project in several threads at once (a run, a
    request), and the first to finish must not take the root off sys.path under the others (a
    run then failed with "cannot import module 'demo_phases'")."""
    entry = str(root)
    with _PATH_LOCK:
        if entry in _PATH_USERS:
            _PATH_USERS[entry] += 1
        elif entry not in sys.path:
            sys.path.insert(0, entry)
            _PATH_USERS[entry] = 1
    try:
        yield
    finally:
        with _PATH_LOCK:
            if entry in _PATH_USERS:
                _PATH_USERS[entry] -= 1
                if not _PATH_USERS[entry]:
                    del _PATH_USERS[entry]
                    if entry in sys.path:
                        sys.path.remove(entry)


# Loading a project reads phase modules and dodo.py imports it; CPython 3.11's
# parser is not safe in two threads at once ("AST constructor recursion depth mismatch"), and
# the HTTP server answers requests in worker threads, so loads take turns.
_LOADING = threading.RLock()


def load(root: Path) -> Project:
    """The project at `root`, its config validated (phase functions included)."""
    with _LOADING, importable(root):
        return load_project(root)


def dodo_namespace(root: Path, **doit_config: Any) -> dict[str, Any]:
    """The project's dodo.py as a fresh namespace (never cached: config may have changed)."""
    spec = importlib.util.spec_from_file_location(f"_dataraum_dodo_{abs(hash(root))}", root / DODO)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{root / DODO}: cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    with _LOADING, importable(root):
        spec.loader.exec_module(module)
    namespace = dict(vars(module))
    namespace["DOIT_CONFIG"] = {**namespace.get("DOIT_CONFIG", {}), **doit_config}
    return namespace


def doit_file_config(root: Path) -> dict[str, dict[str, Any]]:
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


def run_doit(root: Path, namespace: dict[str, Any], command: str | Callable[..., DoitCmdBase],
          args: Sequence[str]) -> Any:
    """Run one doit command in this process, the way `doit COMMAND ARGS` would from `root`."""
    main = DoitMain(ModuleTaskLoader(namespace), config_filenames=(), extra_config=doit_file_config(root))
    commands = main.get_cmds()
    loader = get_loader(main.config, main.task_loader, commands)
    cls = commands.get_plugin(command) if isinstance(command, str) else command
    cmd = cls(task_loader=loader, config=main.config, bin_name="dataraum", cmds=commands, opt_vals={})
    streams = sys.stdout, sys.stderr
    try:
        with importable(root):
            return cmd.parse_execute(list(args))
    except InvalidDodoFile as exc:  # dodo.py turns a ConfigError into this
        raise ConfigError(str(exc)) from None
    except (CmdParseError, InvalidCommand, InvalidTask) as exc:
        raise ConfigError(f"doit: {exc}") from None
    finally:
        # doit swaps sys.stdout and sys.stderr for a capture around each Python action; two actions
        # ending together in doit's threads can restore each other's capture, which then swallows
        # everything this process prints after the run (seen with tasks that start and end in step)
        sys.stdout, sys.stderr = streams


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


def with_tasks(root: Path, use: Callable[[dict, Any], Any]) -> Any:
    return run_doit(root, dodo_namespace(root), functools.partial(_Snapshot, use), [])



class EventReporter:
    """A doit reporter turning doit's callbacks into TaskEvents. It is passed to doit
    as an instance through DOIT_CONFIG['reporter']; under `-n N` doit calls it in the
    main process (the workers forward each call through a queue)."""

    desc = "dataraum task events"

    def __init__(self, emit: Callable[[TaskEvent], None], expected: Mapping[str, float] | None = None) -> None:
        self._emit = emit
        self.expected = dict(expected or {})  # task -> seconds it took when it last succeeded
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
        if isinstance(selected_tasks, list):  # doit's own list, read once the first task is picked
            critical_first(tasks, selected_tasks, self.expected)
        known = {name: self.expected[name] for name in self.plan if name in self.expected}
        self._emit(TaskEvent("plan", tasks=tuple(self.plan), expected_s=known))

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


def task_outputs(root: Path, name: str) -> tuple[tuple[ArtifactSummary, ...], Mapping[str, Any]]:
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


def last_runs(root: Path) -> dict[str, LastRun]:
    """The latest history row of every task; none when the history is missing or damaged (a
    status never depends on it: doit's records decide what is done)."""
    try:
        url = load_runtime(root / "config").history_db
    except ConfigError:
        return {}
    if url is None:  # the default SQLite file, read without SQLAlchemy (see read_last_runs)
        return status_mod.read_last_runs(state_dir(root) / HISTORY_DB)
    from sqlalchemy import func, select
    from sqlalchemy.orm import Session

    from phases.engine import store

    try:
        engine = store.open_url(url)
    except StateError:
        return {}
    try:
        latest = select(func.max(store.Checkpoint.id)).group_by(store.Checkpoint.task)
        with Session(engine) as session:
            rows = session.scalars(select(store.Checkpoint).where(store.Checkpoint.id.in_(latest)))
            return {r.task: LastRun(r.finished_at.replace(tzinfo=UTC), r.duration_s, r.success, r.error) for r in rows}
    finally:
        engine.dispose()
