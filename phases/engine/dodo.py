"""What a project's dodo.py holds, so that the repository's dodo.py and the one `dataraum init`
writes are the same few lines: doit's configuration and the task creator of the pipeline.
Loading reads YAML and lists CSV files; it opens no database."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from doit.exceptions import InvalidDodoFile

from phases.core.errors import ConfigError
from phases.core.layout import DOIT_DB
from phases.engine import dask_executor
from phases.engine.launch import first_run, start_warm
from phases.engine.project import load_project
from phases.engine.reporter import project_reporter
from phases.engine.tasks import generate_tasks


def doit_config(root: Path) -> dict[str, Any]:
    return {
        "backend": "sqlite3_durable",  # commits per task: see phases/engine/doit_backend.py
        "dep_file": str(root / DOIT_DB),
        "verbosity": 2,
        # Every task already runs its phase in a child process of its own, so doit's workers can be
        # threads: no worker process to kill and hang the run, none to leak when doit is killed.
        "par_type": "thread",
        # A failing task stops only what depends on it: the other tables and sources go on (doit's
        # --continue as the default; `doit --no-continue` stops at the first failure).
        "continue": True,
        "reporter": project_reporter(root),  # one run at a time per project (state/.run.lock), a summary
    }


def pipeline_tasks(root: Path) -> Callable[[], Iterator[dict[str, Any]]]:
    """The task creator doit finds as `task_pipeline` in dodo.py."""

    def task_pipeline() -> Iterator[dict[str, Any]]:
        """Yield the tasks of every enabled phase (doit names them after the phase)."""
        if _on_doit_command_line() and _runs_tasks(sys.argv[1:]) and first_run(root):
            # A first run of a plain `doit`: every task will run, so the task processes' server
            # imports the phases while doit loads and checks the tasks (see dataraum run).
            start_warm()
        try:
            project = load_project(root)
            dask_executor.select(project.runtime)  # where the phases run: here, or on a Dask cluster
            yield from generate_tasks(project)
        except ConfigError as exc:
            if _on_doit_command_line():
                # doit exits 3 for any dodo file it cannot load; a configuration error exits 2, as
                # it does for `dataraum`, so scripts tell a bad setting from a failed task
                sys.stderr.write(f"ERROR: {exc}\n")
                raise SystemExit(exc.exit_code) from None
            raise InvalidDodoFile(str(exc)) from None  # in-process callers (dataraum, the API) read this

    return task_pipeline


# doit's commands that run no task (`doit` alone, `doit run ...` and `doit TASK ...` run tasks).
_NOT_RUNNING = frozenset({"auto", "clean", "dumpdb", "forget", "help", "ignore", "info", "list", "reset-dep",
                          "strace", "tabcompletion"})


def _runs_tasks(args: list[str]) -> bool:
    """Whether doit's command line asks it to run tasks: its first word that is not an option
    (or an option's value, such as the 4 of `-n 4`) is no other command."""
    words = [a for i, a in enumerate(args) if not a.startswith("-") and not (i and args[i - 1] in _VALUED)]
    return not words or words[0] not in _NOT_RUNNING


# doit's options that take the next word as their value
_VALUED = frozenset({"-n", "--process", "-P", "--parallel-type", "-f", "--file", "-d", "--dir", "--db-file",
                     "--backend", "--check_file_uptodate", "-r", "--reporter", "-o", "--output-file", "-v",
                     "--verbosity", "--failure-verbosity"})


def _on_doit_command_line() -> bool:
    """Whether this process is doit's own command (`doit ...` or `python -m doit ...`)."""
    entry = Path(sys.argv[0]) if sys.argv and sys.argv[0] else Path()
    return entry.name == "doit" or entry.parts[-2:] == ("doit", "__main__.py")
