"""The reporter of a plain `doit` run in a project: doit's console output, plus the project's
run lock (a second `doit` while one runs stops at once, naming the holder, instead of
colliding on files). `dataraum run` takes the same lock itself."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from doit.exceptions import InvalidTask
from doit.reporter import ConsoleReporter

from phases.engine.run_lock import ProjectBusy, RunLock, acquire


class ProjectReporter(ConsoleReporter):
    """Holds the project's run lock from the start of the run to its end."""

    desc = "console output, one run at a time per project"
    root: ClassVar[Path]
    _lock: RunLock | None = None

    def initialize(self, tasks: Mapping[str, Any], selected_tasks: Sequence[str]) -> None:
        try:
            self._lock = acquire(self.root, "doit run")
        except ProjectBusy as exc:
            raise InvalidTask(str(exc)) from None  # doit reports it and exits with its error code, 3
        super().initialize(tasks, selected_tasks)

    def complete_run(self) -> None:
        try:
            super().complete_run()
        finally:
            if self._lock is not None:
                self._lock.release()


def project_reporter(root: Path) -> type[ProjectReporter]:
    """The reporter class for the project at `root` (doit instantiates it per run)."""
    return type("ProjectReporter", (ProjectReporter,), {"root": root})
