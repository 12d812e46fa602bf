"""The honest status of every task: done, will run (and why), failed or never run.

`doit list --status` judges each task alone, so a task downstream of a changed
CSV still shows up to date. Here each task is judged by doit's own machinery
(`Dependency.get_status` with its reasons) and, walking the tasks in dependency
order, a task whose upstream will run is marked to run too, naming that
upstream. Such a task is not `certain`: if the upstream rewrites a byte-identical
manifest, doit's md5 check skips it (early cutoff), which no prediction can know.

Nothing here runs a task or writes doit's records: the dependency manager given
to `judge_tasks` is only read (see `read_only`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from doit.dependency import Dependency
from doit.task import Task
from doit.tools import config_changed

from phases.core.errors import StateError
from phases.core.manifest import MANIFEST_NAME, Failure, read_manifest
from phases.engine.integrity import artifacts_intact, damage

State = Literal["done", "will run", "failed", "never run", "ignored"]
STATES: tuple[State, ...] = ("done", "will run", "failed", "never run", "ignored")

ReasonKind = Literal[
    "never_run", "failed", "forgotten", "file_changed", "input_changed", "config_changed", "target_missing",
    "input_missing", "inputs_added", "inputs_removed", "upstream", "always", "checker_changed", "uptodate_false",
    "upstream_failed", "damaged",
]

_REASON_TEXT: dict[str, str] = {
    "never_run": "never run",
    "failed": "failed last time: {}",
    "forgotten": "its checkpoint was forgotten",
    "file_changed": "file changed: {}",
    "input_changed": "output of {} changed",
    "config_changed": "config or code changed",
    "target_missing": "output missing: {}",
    "input_missing": "input missing: {}",
    "inputs_added": "new input: {}",
    "inputs_removed": "input gone: {}",
    "upstream": "upstream {} will run",
    "always": "has no inputs, so it always runs",
    "checker_changed": "file checker changed ({})",
    "uptodate_false": "an up-to-date check is false ({})",
    "upstream_failed": "not run: {}",
    "damaged": "its output no longer matches its manifest: {}",
}


@dataclass(frozen=True)
class Reason:
    kind: ReasonKind
    detail: str = ""  # the file, task or error the reason is about

    def __str__(self) -> str:
        return _REASON_TEXT[self.kind].format(self.detail)

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "detail": self.detail, "text": str(self)}


@dataclass(frozen=True)
class LastRun:
    """The latest row of the task in the history (pipeline_checkpoints)."""

    finished_at: datetime
    duration_s: float
    success: bool
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return {"finished_at": self.finished_at.isoformat(), "duration_s": self.duration_s,
                "success": self.success, "error": self.error}


# The latest row of every task in the history store's pipeline_checkpoints table.
_LATEST = ("SELECT task, finished_at, duration_s, success, error FROM pipeline_checkpoints "
           "WHERE id IN (SELECT max(id) FROM pipeline_checkpoints GROUP BY task)")


def read_last_runs(history: Path) -> dict[str, LastRun]:
    """The latest history row of every task in the SQLite file `history`, read with the standard
    library's sqlite3: a status reads it on every call, and importing SQLAlchemy (the store's
    writer) would be a third of the command's time. None when the file is missing, damaged or
    has no such table yet: a status never depends on the history (doit's records decide)."""
    if not history.is_file():
        return {}
    try:
        with closing(sqlite3.connect(history, timeout=60)) as db:
            rows = db.execute(_LATEST).fetchall()
    except sqlite3.Error:
        return {}
    found = {}
    for task, finished_at, duration_s, success, error in rows:
        try:  # SQLAlchemy writes DateTime to SQLite as naive UTC text, 'YYYY-MM-DD HH:MM:SS.ffffff'
            when = datetime.fromisoformat(finished_at).replace(tzinfo=UTC)
        except (TypeError, ValueError):
            continue
        found[task] = LastRun(when, duration_s, bool(success), error)
    return found


@dataclass(frozen=True)
class TaskStatus:
    task: str  # 'phase:source.table' or 'phase:source'
    phase: str
    source: str
    table: str | None
    state: State
    reasons: tuple[Reason, ...] = ()
    # False when the task runs only because an upstream task runs: doit skips it
    # if that upstream writes a byte-identical output.
    certain: bool = True
    last_run: LastRun | None = None

    # True when it failed on unusable input and recorded that as its result: doit counts it done,
    # so it reruns only when its input (or code or settings) changes.
    recorded: bool = False

    @property
    def will_run(self) -> bool:
        return self.state in ("will run", "never run") or (self.state == "failed" and not self.recorded)

    def to_json(self) -> dict[str, Any]:
        return {
            "task": self.task, "phase": self.phase, "source": self.source, "table": self.table,
            "state": self.state, "certain": self.certain, "recorded": self.recorded,
            "reasons": [r.to_json() for r in self.reasons],
            "last_run": self.last_run.to_json() if self.last_run else None,
        }


@dataclass(frozen=True)
class Cell:
    """One phase of one source (tables folded) or of one table."""

    source: str
    table: str | None
    phase: str
    state: State
    pending: int  # tasks of the cell that are not done
    total: int

    @property
    def label(self) -> str:
        if self.total > 1 and 0 < self.pending < self.total:
            return f"{self.state} {self.pending}/{self.total}"
        return self.state

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "table": self.table, "phase": self.phase, "state": self.state,
                "pending": self.pending, "total": self.total}


@dataclass(frozen=True)
class PipelineStatus:
    """What `dataraum run` would do now, task by task."""

    root: Path
    sources: tuple[str, ...]
    phases: tuple[str, ...]  # enabled phases, in DAG order
    tasks: tuple[TaskStatus, ...]  # in dependency order
    exit_code: int = 0
    skipped: Mapping[str, str] = field(default_factory=dict)  # source -> why it has no tasks (folder gone)

    def task(self, name: str) -> TaskStatus:
        for status in self.tasks:
            if status.task == name:
                return status
        raise KeyError(name)

    @property
    def to_run(self) -> tuple[TaskStatus, ...]:
        return tuple(t for t in self.tasks if t.will_run)

    def cells(self, by_table: bool = False) -> list[Cell]:
        """The grid: one cell per (source, phase), or per (source, table, phase) with `by_table`
        (source-scope phases then sit on the source's own row, table None)."""
        groups: dict[tuple[str, str | None, str], list[TaskStatus]] = {}
        for status in self.tasks:
            key = (status.source, status.table if by_table else None, status.phase)
            groups.setdefault(key, []).append(status)
        return [
            Cell(source, table, phase, fold_states([s.state for s in members]),
                 sum(1 for s in members if s.state != "done"), len(members))
            for (source, table, phase), members in groups.items()
        ]

    def phase_states(self) -> dict[str, State]:
        """Each enabled phase folded over the chosen sources and tables (for the graph)."""
        by_phase: dict[str, list[State]] = {}
        for status in self.tasks:
            by_phase.setdefault(status.phase, []).append(status.state)
        return {phase: fold_states(states) for phase, states in by_phase.items()}

    def to_json(self) -> dict[str, Any]:
        counts = {state: sum(1 for t in self.tasks if t.state == state) for state in STATES}
        return {
            "root": str(self.root), "sources": list(self.sources), "phases": list(self.phases),
            "counts": counts, "tasks": [t.to_json() for t in self.tasks],
            "cells": [c.to_json() for c in self.cells()], "skipped": dict(self.skipped),
        }


def fold_states(states: Sequence[State]) -> State:
    """One state for several tasks: the same state if they agree, else the most urgent."""
    distinct = set(states)
    if len(distinct) == 1:
        return states[0]
    if "failed" in distinct:
        return "failed"
    if distinct & {"will run", "never run"}:
        return "will run"
    return "done"


def split_task_name(name: str) -> tuple[str, str, str | None]:
    """'typing:src.table' -> ('typing', 'src', 'table'); source names hold no dots."""
    phase, _, rest = name.partition(":")
    source, _, table = rest.partition(".")
    return phase, source, table or None


def recorded_failure(task: Task) -> Failure | None:
    """The failure a finished task recorded in its manifest (unusable input), if any."""
    for target in task.targets:
        path = Path(target)
        if path.name == MANIFEST_NAME and path.is_file():
            try:
                return read_manifest(path).failed
            except StateError:
                return None
    return None


def failure_reason(task_name: str, failure: Failure) -> Reason:
    """Why a task that recorded a failure failed: its own input, or its table's upstream task's."""
    if failure.task == task_name:
        return Reason("failed", failure.reason)
    return Reason("upstream_failed", f"{failure.task} failed: {failure.reason}")


def read_only(dep: Dependency) -> Dependency:
    """doit's get_status forgets a task whose file checker changed; a status must not."""
    dep.remove = lambda task_id: None
    return dep


def judge_tasks(
    tasks: Mapping[str, Task], names: Iterable[str], dep: Dependency,
    last_runs: Mapping[str, LastRun], root: Path,
) -> list[TaskStatus]:
    """Judge `names` (and nothing else) in dependency order. `tasks` is every task,
    with the implicit task_dep doit derives from file_dep on targets."""
    chosen = set(names)
    # Ask the backend (its public `in_`, which every doit dep-file backend implements) before
    # anything else: doit's sqlite backend caches an empty record on every read.
    recorded = {name for name in chosen if dep.backend.in_(name)}
    producer = {target: task.name for task in tasks.values() for target in task.targets}
    judged: dict[str, TaskStatus] = {}
    order = dependency_order(tasks, chosen)
    position = {name: index for index, name in enumerate(order)}
    for name in order:
        task = tasks[name]
        phase, source, table = split_task_name(name)
        last = last_runs.get(name)
        # in the order judged (doit keeps file_dep as a set, so task_dep order varies)
        upstream = tuple(
            Reason("upstream", d)
            for d in sorted((d for d in task.task_dep if d in judged and judged[d].will_run), key=position.__getitem__)
        )
        state: State
        own: tuple[Reason, ...]
        failure = None
        if dep.status_is_ignore(task):
            state, own = "ignored", ()
        elif name not in recorded:  # no record: never run, failed, or forgotten
            if last is None:
                state, own, upstream = "never run", (Reason("never_run"),), ()
            elif not last.success:
                state, own = "failed", (Reason("failed", last.error or "unknown error"),)
            else:
                state, own = "will run", (Reason("forgotten"),)
        else:
            own = own_reasons(task, tasks, dep, producer, root, upstream_runs={r.detail for r in upstream})
            state = "will run" if own or upstream else "done"
            failure = recorded_failure(task) if state == "done" else None
            if failure is not None:
                state, own = "failed", (failure_reason(name, failure),)
        judged[name] = TaskStatus(
            task=name, phase=phase, source=source, table=table, state=state,
            reasons=(*own, *upstream) if state != "ignored" else (), certain=bool(own) or not upstream,
            last_run=last, recorded=failure is not None,
        )
    return list(judged.values())


def dependency_order(tasks: Mapping[str, Task], chosen: set[str]) -> list[str]:
    """`chosen` in an order where every task comes after the chosen tasks it depends on
    (depth-first, keeping doit's definition order otherwise)."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        stack = [(name, iter(tasks[name].task_dep))]
        seen.add(name)
        while stack:
            current, deps = stack[-1]
            for dep_name in deps:
                if dep_name in chosen and dep_name not in seen:
                    seen.add(dep_name)
                    stack.append((dep_name, iter(tasks[dep_name].task_dep)))
                    break
            else:
                stack.pop()
                order.append(current)

    for name in tasks:
        if name in chosen and name not in seen:
            visit(name)
    return order


def own_reasons(
    task: Task, tasks: Mapping[str, Task], dep: Dependency, producer: Mapping[str, str], root: Path,
    upstream_runs: AbstractSet[str] = frozenset(),
) -> tuple[Reason, ...]:
    """Why doit itself would run this task now, judged alone (like `doit info`)."""
    result = dep.get_status(task, tasks, get_log=True)
    if result.status == "up-to-date":
        return ()
    reasons: list[Reason] = []
    for utd, _args, _kwargs in result.reasons.get("uptodate_false", []):
        if isinstance(utd, config_changed):
            reasons.append(Reason("config_changed"))
        elif utd is artifacts_intact:
            found = damage(Path(_args[0]), Path(_args[1]))
            reasons.append(Reason("damaged", ", ".join(f"{_show(str(d.file), root)} ({d.problem})" for d in found)))
        else:
            reasons.append(Reason("uptodate_false", getattr(utd, "__name__", repr(utd))))
    if result.reasons.get("has_no_dependencies"):
        reasons.append(Reason("always"))
    reasons += [Reason("target_missing", _show(p, root)) for p in result.reasons.get("missing_target", [])]
    if "checker_changed" in result.reasons:
        reasons.append(Reason("checker_changed", " -> ".join(result.reasons["checker_changed"])))
    reasons += [Reason("inputs_added", _input(p, producer, root)) for p in result.reasons.get("added_file_dep", [])]
    reasons += [Reason("inputs_removed", _input(p, producer, root))
                for p in result.reasons.get("removed_file_dep", [])]
    for path in result.reasons.get("changed_file_dep", []):
        if path in producer:
            reasons.append(Reason("input_changed", producer[path]))
        else:
            reasons.append(Reason("file_changed", _show(path, root)))
    for path in result.reasons.get("missing_file_dep", []):
        if producer.get(path) not in upstream_runs:  # an upstream that runs will write it
            reasons.append(Reason("input_missing", _input(path, producer, root)))
    return tuple(reasons)


def _input(path: str, producer: Mapping[str, str], root: Path) -> str:
    return producer[path] if path in producer else _show(path, root)


def _show(path: str, root: Path) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return str(path)

