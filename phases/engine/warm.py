"""What the warm server of a run imports once, so that the task processes forked from it start
with everything a phase needs already in memory: the heavy libraries (DuckDB, pydantic,
SQLAlchemy), the runner, the history store and every built-in phase's module and settings
model. Importing the project's code once per run instead of once per task is most of the
fixed cost of a task (about a second of imports on this machine against a tenth of a second of
work on a small table).

multiprocessing's forkserver preloads modules by name and ignores only ImportError; this
module is the one name it is given, and it guards each import itself, so a broken phase module
costs its own task a fresh import (and the task fails there, with its own message) instead of
taking the server, and every task with it, down. Only the server imports this module: the
import is the preload.

phases.engine.launch restarts the server when the project's code changes (a long-lived caller
such as `dataraum serve` must not run stale code after an edit)."""

from __future__ import annotations

import importlib

# The third-party libraries every task needs, heaviest first.
LIBRARIES = ("duckdb", "pydantic", "sqlalchemy.orm", "yaml", "doit.exceptions", "charset_normalizer", "networkx")
# The project's own modules every task runs, and the SQLite dialect its history store uses.
ENGINE = ("phases.engine.runner", "phases.engine.store", "sqlalchemy.dialects.sqlite")


def builtin_phase_modules() -> tuple[str, ...]:
    """The module of every built-in phase function and settings model (the package's own
    pipeline.yaml), in the order the pipeline runs them."""
    import yaml

    from phases.core.config import DEFAULT_CONFIG

    data = yaml.safe_load((DEFAULT_CONFIG / "pipeline.yaml").read_text(encoding="utf-8")) or {}
    modules: list[str] = []
    for body in (data.get("phases") or {}).values():
        for key in ("function", "settings"):
            dotted = body.get(key) if isinstance(body, dict) else None
            if isinstance(dotted, str) and "." in dotted and dotted.rpartition(".")[0] not in modules:
                modules.append(dotted.rpartition(".")[0])
    return tuple(modules)


def preload() -> list[str]:
    """Import what the tasks of a run need; return the modules that would not import."""
    failed = []
    for name in LIBRARIES + ENGINE:
        try:
            importlib.import_module(name)
        except Exception:  # a task that needs it imports it again and reports why
            failed.append(name)
    try:  # the history's ORM classes, set up once here rather than at each task's first write
        from sqlalchemy.orm import configure_mappers

        configure_mappers()
    except Exception:
        failed.append("sqlalchemy.orm.configure_mappers")
    try:
        phases = builtin_phase_modules()
    except Exception:  # an unreadable package pipeline.yaml: the tasks say so
        phases = ()
    for name in phases:
        try:
            importlib.import_module(name)
        except Exception:
            failed.append(name)
    return failed


FAILED = preload()  # imported by name in the forkserver: that import is the preload
