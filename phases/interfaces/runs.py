"""Pipeline runs as the history store keeps them (`pipeline_runs`): what was asked, each task's
outcome and the run's events. `run_pipeline` records every run, from the command line or the
HTTP API, so `GET /runs` and the dashboard show both, and a finished run's events can be
replayed."""

from __future__ import annotations

import importlib
import json
import secrets
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from phases.core.errors import DataraumError, StateError


class UnknownRun(DataraumError):
    """No run of that id in the history store."""

    exit_code = 2


@dataclass(frozen=True)
class RunRequest:
    sources: tuple[str, ...]  # empty: every source
    phases: tuple[str, ...]  # empty: every enabled phase
    force: bool


@dataclass(frozen=True)
class RunTask:
    task: str
    phase: str
    source: str
    table: str | None
    outcome: str  # ran, up-to-date, failed, blocked, not-run, ignored
    duration_s: float | None
    error: str | None


@dataclass(frozen=True)
class RunRecord:
    id: str
    started_at: datetime
    finished_at: datetime | None  # None while it runs
    duration_s: float | None
    request: RunRequest
    state: str  # running | succeeded | failed
    exit_code: int | None
    counts: Mapping[str, int]  # outcome -> tasks
    tasks: tuple[RunTask, ...]


def new_run_id(now: datetime | None = None) -> str:
    """Sortable by start time (the store lists runs by id), unique through a random tail."""
    when = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S")
    return f"{when}-{secrets.token_hex(3)}"


def counts_of(tasks: Sequence[RunTask]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for task in tasks:
        counts[task.outcome] = counts.get(task.outcome, 0) + 1
    return dict(sorted(counts.items()))


_prefetching = False  # the store's import has been started


def prefetch_history() -> None:
    """Import the history store (SQLAlchemy's ORM, about a third of a second) on a thread of its
    own while the run's tasks work in their processes, instead of after the last one: a command
    such as `dataraum run` does not import it otherwise, and `record_run` needs it at the end."""
    global _prefetching
    if not _prefetching and "phases.engine.store" not in sys.modules:
        _prefetching = True
        threading.Thread(target=importlib.import_module, args=("phases.engine.store",), daemon=True,
                         name="dataraum-prefetch").start()


def record_run(root: Path, run_id: str, started_at: datetime, duration_s: float, request: RunRequest,
               exit_code: int, tasks: Sequence[RunTask], events: Sequence[Mapping[str, Any]]) -> None:
    from phases.engine import store

    try:
        engine = store.open_history(root)
    except StateError:
        return  # a damaged history is no reason to fail a run: the run's result stands without it
    try:
        store.record_run(engine, store.RunEntry(
            id=run_id, started_at=started_at.replace(tzinfo=None), finished_at=datetime.now(UTC).replace(tzinfo=None),
            duration_s=duration_s, exit_code=exit_code,
            request=json.dumps({"sources": list(request.sources), "phases": list(request.phases),
                                "force": request.force}),
            tasks=json.dumps([t.__dict__ for t in tasks]), events=json.dumps(list(events)),
        ))
    finally:
        engine.dispose()


def _record(row: Any) -> RunRecord:
    request = json.loads(row.request)
    tasks = tuple(RunTask(**t) for t in json.loads(row.tasks))
    return RunRecord(
        id=row.id, started_at=row.started_at.replace(tzinfo=UTC), finished_at=row.finished_at.replace(tzinfo=UTC),
        duration_s=row.duration_s,
        request=RunRequest(tuple(request["sources"]), tuple(request["phases"]), bool(request["force"])),
        state="succeeded" if row.exit_code == 0 else "failed", exit_code=row.exit_code, counts=counts_of(tasks),
        tasks=tasks,
    )


def list_runs(root: Path, limit: int = 20) -> tuple[RunRecord, ...]:
    """The latest runs, newest first."""
    from phases.engine import store

    engine = store.existing_history(root)
    if engine is None:
        return ()
    try:
        return tuple(_record(row) for row in store.runs(engine, limit))
    finally:
        engine.dispose()


def _row(root: Path, run_id: str) -> Any:
    from phases.engine import store

    row = None
    engine = store.existing_history(root)
    if engine is not None:
        try:
            row = store.run(engine, run_id)
        finally:
            engine.dispose()
    if row is None:
        raise UnknownRun(f"no run {run_id!r} in the history; `dataraum history` or GET /api/runs lists the runs")
    return row


def get_run(root: Path, run_id: str) -> RunRecord:
    return _record(_row(root, run_id))


def run_events(root: Path, run_id: str) -> tuple[dict[str, Any], ...]:
    """A finished run's events, as `--events` wrote them."""
    return tuple(json.loads(_row(root, run_id).events))
