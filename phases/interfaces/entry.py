"""The `dataraum` command's entry point (and `python -m phases`'s). A `run` whose tasks will all
run (a first run, or --force) starts the warm server of the task processes (phases.engine.launch)
before anything else is imported: the server's preload (DuckDB, pydantic, SQLAlchemy, every
phase's module; about a second of CPU) then overlaps the command line's own imports (click, rich,
the API; about a third of a second) and the project's load, instead of starting after them. On a
source of a few hundred bytes that start-up is most of the run. The guess is cheap and may be
wrong either way: a server started for nothing idles until the command exits, and when it was
not started here the run starts it when its first task needs it (as before)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

PROJECT_FILES = ("dodo.py", "config")  # what makes a folder a project (phases.interfaces.locate)
HIDDEN = ".dataraum"  # the project `dataraum run FOLDER` keeps beside the data


def main() -> None:
    # phases.engine.launch imports the standard library and two small modules of the package only
    from phases.engine.launch import first_run, start_warm

    if _runs_every_task(sys.argv[1:], first_run):
        start_warm()
    from phases.interfaces.cli import main as cli_main

    cli_main()


def _runs_every_task(args: list[str], first_run: Callable[[Path], bool]) -> bool:
    """Whether the command line is a local `run` that will run every task it asks for."""
    words = [a for i, a in enumerate(args) if not a.startswith("-") and not (i and args[i - 1] in _VALUED)]
    if not words or words[0] != "run" or any(a in ("--executor", "--scheduler", "-h", "--help") for a in args):
        return False
    if "--force" in args:
        return True
    root = _given_root(args) or _project_of(Path(words[1]) if len(words) > 1 else Path.cwd())
    return root is None or first_run(root)


def _given_root(args: list[str]) -> Path | None:
    for i, arg in enumerate(args[:-1]):
        if arg == "--root":
            return _project_of(Path(args[i + 1]))
    return None


def _project_of(start: Path) -> Path | None:
    """The project a run from `start` uses, as phases.interfaces.locate finds it (upwards, also
    a `.dataraum/` folder on the way); None: there is none yet, the run creates one."""
    here = start.expanduser().resolve()
    here = here.parent if here.is_file() else here
    for folder in (here, *here.parents):
        for candidate in (folder, folder / HIDDEN):
            if (candidate / PROJECT_FILES[0]).is_file() and (candidate / PROJECT_FILES[1]).is_dir():
                return candidate
    return None


# options of `dataraum` and `dataraum run` that take the next word as their value
_VALUED = frozenset({"--root", "--source", "-s", "--phase", "-p", "--table", "-t", "-j", "--jobs", "--events",
                     "--executor", "--scheduler"})
