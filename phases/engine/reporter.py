"""The reporter of a plain `doit` run in a project: doit's console output, plus the project's
run lock (a second `doit` while one runs stops at once, naming the holder, instead of
colliding on files), the sources skipped because their folder is gone, and at the end one
summary line and where each context document is. `dataraum run` takes the same lock itself
and prints the same summary."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from doit.exceptions import InvalidTask, UnmetDependency
from doit.reporter import ConsoleReporter

from phases.engine.project import ContextLocation, Project, load_project
from phases.engine.run_lock import ProjectBusy, RunLock, acquire
from phases.engine.schedule import critical_first, last_durations
from phases.engine.status import recorded_failure, split_task_name


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"


def summary_line(ran: int, up_to_date: int, failed: int, not_run: int, seconds: float) -> str:
    """The run's one-line result, the same for `doit` and `dataraum run`."""
    skipped = f", not run {not_run}" if not_run else ""
    return f"ran {ran}, up to date {up_to_date}, failed {failed}{skipped} in {fmt_duration(seconds)}"


def context_line(where: ContextLocation, shown: str) -> str:
    """Where a source's context document is, or why it is not there yet."""
    if where.exists:
        return f"context of {where.source}: {shown}"
    why = "" if where.phase_enabled else f"; the {where.phase} phase is disabled in config/pipeline.yaml"
    return f"context of {where.source}: not produced yet ({shown} is missing{why})"


def skipped_lines(project: Project) -> list[str]:
    return [f"skipped source {name}: {problem}" for name, problem in project.unusable_sources.items()]


class ProjectReporter(ConsoleReporter):
    """Holds the project's run lock from the start of the run to its end, and sums the run up."""

    desc = "console output, one run at a time per project"
    root: ClassVar[Path]
    _lock: RunLock | None = None

    def __init__(self, outstream: Any, options: Mapping[str, Any]) -> None:
        super().__init__(outstream, options)
        self.counts = {"ran": 0, "up to date": 0, "failed": 0}
        self.finished: set[str] = set()
        self.planned: list[str] = []
        self.began = time.time()

    def initialize(self, tasks: Mapping[str, Any], selected_tasks: Sequence[str]) -> None:
        try:
            self._lock = acquire(self.root, "doit run")
        except ProjectBusy as exc:
            raise InvalidTask(str(exc)) from None  # doit reports it and exits with its error code, 3
        self.planned = _planned(tasks, selected_tasks)
        if isinstance(selected_tasks, list):  # doit's own list, read once the first task is picked
            critical_first(tasks, selected_tasks, last_durations(self.root))
        for line in skipped_lines(self._project()):
            self.write(f"{line}\n")
        super().initialize(tasks, selected_tasks)

    def _count(self, task: Any, outcome: str) -> None:
        if task.actions and not task.has_subtask and task.name not in self.finished:
            self.finished.add(task.name)
            self.counts[outcome] += 1

    def _outcome(self, task: Any, fine: str) -> str | None:
        """'failed' for the task that recorded a failure of its input, None (not run) for the tasks
        downstream of it that only carry it, else `fine`."""
        failure = recorded_failure(task)
        if failure is None:
            return fine
        return "failed" if failure.task == task.name else None

    def add_success(self, task: Any) -> None:
        super().add_success(task)
        if (outcome := self._outcome(task, "ran")) is not None:
            self._count(task, outcome)

    def add_failure(self, task: Any, fail: Any) -> None:
        super().add_failure(task, fail)
        if not isinstance(fail, UnmetDependency):  # a task whose input failed did not run: 'not run'
            self._count(task, "failed")

    def skip_uptodate(self, task: Any) -> None:
        super().skip_uptodate(task)
        if (outcome := self._outcome(task, "up to date")) is not None:
            self._count(task, outcome)

    def complete_run(self) -> None:
        try:
            super().complete_run()
            not_run = sum(1 for name in self.planned if name not in self.finished)
            self.write(summary_line(self.counts["ran"], self.counts["up to date"], self.counts["failed"], not_run,
                                    time.time() - self.began) + "\n")
            project = self._project()
            sources = sorted({split_task_name(name)[1] for name in self.planned})
            for where in project.context_locations(sources):
                self.write(context_line(where, _shown(where.path)) + "\n")
        finally:
            if self._lock is not None:
                self._lock.release()

    def _project(self) -> Project:
        # dodo.py loaded and checked it moments ago
        return load_project(self.root, check_functions=False, check_settings=False)


def _planned(tasks: Mapping[str, Any], selected: Sequence[str]) -> list[str]:
    """The real tasks (not phase groups) the run will consider: the selected ones and their dependencies."""
    seen: set[str] = set()
    pending = list(selected)
    while pending:
        name = pending.pop()
        if name not in seen and name in tasks:
            seen.add(name)
            pending.extend(tasks[name].task_dep)
    return sorted(n for n in seen if tasks[n].actions and not tasks[n].has_subtask)


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def project_reporter(root: Path) -> type[ProjectReporter]:
    """The reporter class for the project at `root` (doit instantiates it per run)."""
    return type("ProjectReporter", (ProjectReporter,), {"root": root})
