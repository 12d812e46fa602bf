"""Where things live under state/ and what tasks are called; declared once here."""

from __future__ import annotations

from pathlib import Path

from phases.core.manifest import MANIFEST_NAME

STATE_DIR = "state"
DOIT_DB = "state/.doit.sqlite"  # doit's own up-to-date records (see doit_backend)
HISTORY_DB = "history.sqlite"  # run history and catalogue (see store)


def state_dir(root: Path) -> Path:
    return root / STATE_DIR


def task_dir(root: Path, source: str, phase: str, table: str | None = None) -> Path:
    """state/<source>/<phase>[/<table>]: the folder only this task writes."""
    folder = state_dir(root) / source / phase
    return folder / table if table is not None else folder


def stats_path(root: Path, source: str, phase: str, table: str | None = None) -> Path:
    """state/.stats/<source>/<phase>[/<table>].json: the sizes and times of a task's artifacts
    when it wrote them (volatile, so kept out of the task's folder; see engine.integrity)."""
    folder = state_dir(root) / ".stats" / source
    return folder / phase / f"{table}.json" if table is not None else folder / f"{phase}.json"


def manifest_path(root: Path, source: str, phase: str, table: str | None = None) -> Path:
    return task_dir(root, source, phase, table) / MANIFEST_NAME


def subtask_name(source: str, table: str | None = None) -> str:
    return f"{source}.{table}" if table is not None else source


def task_name(phase: str, source: str, table: str | None = None) -> str:
    """'typing:finance_example.customer_table' or 'semantic:finance_example'."""
    return f"{phase}:{subtask_name(source, table)}"
