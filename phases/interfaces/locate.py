"""Which project a command works on: the first folder from the current one (or --root) upwards
that holds dodo.py and config/, or a `.dataraum/` project there (the one `dataraum run FOLDER`
keeps beside the data); failing that, a `.dataraum/` project in a folder just below, which is
where `dataraum run FOLDER` from here put it. Anything but the plain case comes with a note the
command line shows, so the user always knows which project answered."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from phases.core.errors import ConfigError
from phases.core.layout import DOIT_DB
from phases.engine.project import Project
from phases.interfaces.doit_bridge import DODO, load

HIDDEN = ".dataraum"  # the project `dataraum run FOLDER` creates inside FOLDER


@dataclass(frozen=True)
class Located:
    root: Path
    note: str | None = None  # how it was found, when that is not the obvious way


def is_project(folder: Path) -> bool:
    return (folder / DODO).is_file() and (folder / "config").is_dir()


def locate(start: Path | None = None, below: bool = True) -> Located:
    """The project for `start` (default: the current folder); with `below`, also a `.dataraum/`
    project of a folder right under it (the most recently run one when there are several)."""
    here = (start or Path.cwd()).expanduser().resolve()
    for folder in (here, *here.parents):
        for candidate in (folder, folder / HIDDEN):
            if is_project(candidate):
                return Located(candidate)
    found = _below(here) if below else []
    if found:
        chosen = max(found, key=_last_used)
        shown = _shown(chosen)
        others = f", the most recently run of {len(found)} below this folder" if len(found) > 1 else ""
        return Located(chosen, f"project: {shown}{others} (--root chooses another)")
    raise ConfigError(
        f"no dataraum project at {here}: no folder from there upwards holds {DODO} and config/; "
        "`dataraum init` creates one, `dataraum run FOLDER` profiles a folder of CSV files, "
        "or pass --root"
    )


def find_root(start: Path | None = None) -> Path:
    """The project root for `start` (see `locate`)."""
    return locate(start).root


def open_project(root: Path | None = None) -> Project:
    """The project at `root` (default: found from the current folder), its config validated."""
    return load(find_root(root))


def _below(here: Path) -> list[Path]:
    try:
        children = sorted(here.iterdir())
    except OSError:
        return []
    return [child / HIDDEN for child in children if child.is_dir() and is_project(child / HIDDEN)]


def _last_used(root: Path) -> float:
    records = root / DOIT_DB
    return records.stat().st_mtime if records.exists() else 0.0


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
