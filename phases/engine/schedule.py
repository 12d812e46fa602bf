"""Which ready task a run starts first: the one with the longest remaining path (its own
expected seconds plus the longest chain of tasks that wait for it), so that under `-j N` the
long chain of the largest table starts at once and the small tables fill the other slots,
instead of every import, then every typing, and so on, with the chain's last tasks running
alone at the end.

doit picks what to run from the tasks its caller selected, in the order they were selected,
exploring each one's dependencies before moving on to the next (doit.control.TaskDispatcher).
A reporter's `initialize` receives that list before the first task is picked, so reordering it
there (every real task the selection needs, longest remaining path first, then the selection
itself) makes doit explore and start tasks in critical-path order. Nothing else changes: the
same tasks run, each after its dependencies, with the same up-to-date checks; a task the
selection does not need is never added.

The expected seconds of a task are its duration when it last succeeded (the history store),
else an estimate from the bytes of the CSV files upstream of it."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Mapping, MutableSequence
from pathlib import Path
from typing import Any

from phases.core.layout import HISTORY_DB, state_dir

# An estimate for a task never run: a fixed part (process start, manifest, history) plus the
# CSV bytes upstream of it at a rate typical of the heavier per-table phases on one core.
# Only the order of tasks depends on it, never a result.
FIXED_S = 0.3
BYTES_PER_S = 5e6


def critical_first(tasks: Mapping[str, Any], selected: MutableSequence[str],
                   known: Mapping[str, float] | None = None) -> None:
    """Reorder doit's `selected` list in place: the real tasks it needs, longest remaining path
    first (ties in definition order), then the selected names as they were. `known`: task ->
    seconds it took when it last succeeded."""
    needed = _closure(tasks, selected)
    real = [name for name in tasks if name in needed and _is_real(tasks[name])]
    if len(real) < 2:
        return
    seconds = expected_seconds(tasks, real, known or {})
    remaining = remaining_paths(tasks, real, seconds)
    position = {name: i for i, name in enumerate(real)}
    ordered = sorted(real, key=lambda name: (-remaining[name], position[name]))
    selected[:] = [*ordered, *selected]


def remaining_paths(tasks: Mapping[str, Any], real: list[str], seconds: Mapping[str, float]) -> dict[str, float]:
    """Task -> its seconds plus the longest remaining path among the real tasks that depend on it."""
    chosen = set(real)
    waiting: dict[str, list[str]] = {name: [] for name in real}
    for name in real:
        for dep in tasks[name].task_dep:
            if dep in chosen:
                waiting[dep].append(name)
    remaining: dict[str, float] = {}
    for name in _dependents_first(real, waiting):
        remaining[name] = seconds[name] + max((remaining[after] for after in waiting[name]), default=0.0)
    return remaining


def expected_seconds(tasks: Mapping[str, Any], real: list[str], known: Mapping[str, float]) -> dict[str, float]:
    """Task -> expected seconds: the last duration when known, else FIXED_S plus the bytes of the
    input files (not another task's output) of the task and of everything upstream of it."""
    produced = {target for task in tasks.values() for target in task.targets}
    own: dict[str, set[str]] = {name: {f for f in tasks[name].file_dep if f not in produced} for name in real}
    chosen = set(real)
    upstream: dict[str, set[str]] = {}
    for name in _dependencies_first(tasks, real):
        files = set(own[name])
        for dep in tasks[name].task_dep:
            if dep in chosen:
                files |= upstream[dep]
        upstream[name] = files
    return {name: max(0.01, known[name]) if name in known else FIXED_S + _bytes(upstream[name]) / BYTES_PER_S
            for name in real}


def last_durations(root: Path) -> dict[str, float]:
    """Task -> seconds of its last successful run, from the project's default history file (read
    with sqlite3: no SQLAlchemy import for a scheduling hint); empty when there is none."""
    path = state_dir(root) / HISTORY_DB
    if not path.is_file():
        return {}
    with contextlib.suppress(sqlite3.Error), contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True,
                                                                                 timeout=1)) as db:
        rows = db.execute("SELECT task, duration_s FROM pipeline_checkpoints WHERE success ORDER BY id").fetchall()
        return {task: float(seconds) for task, seconds in rows}
    return {}


def _is_real(task: Any) -> bool:
    return bool(task.actions) and not task.has_subtask


def _closure(tasks: Mapping[str, Any], selected: MutableSequence[str]) -> set[str]:
    seen: set[str] = set()
    pending = [name for name in selected if name in tasks]
    while pending:
        name = pending.pop()
        if name not in seen:
            seen.add(name)
            pending.extend(dep for dep in tasks[name].task_dep if dep in tasks)
    return seen


def _dependencies_first(tasks: Mapping[str, Any], real: list[str]) -> list[str]:
    """The tasks in an order where every task comes after the tasks it depends on."""
    chosen = set(real)
    return _post_order(real, lambda name: [d for d in tasks[name].task_dep if d in chosen])


def _dependents_first(real: list[str], waiting: Mapping[str, list[str]]) -> list[str]:
    """The tasks in an order where every task comes after all the tasks that wait for it."""
    return _post_order(real, lambda name: waiting[name])


def _post_order(roots: list[str], children: Callable[[str], list[str]]) -> list[str]:
    """Depth-first post-order over `children` from each root in turn (no recursion: chains may be long)."""
    order: list[str] = []
    done: set[str] = set()
    for root in roots:
        stack = [(root, iter(children(root)))]
        while stack:
            name, pending = stack[-1]
            child = next((c for c in pending if c not in done and c != name), None)
            if child is not None:
                stack.append((child, iter(children(child))))
                continue
            stack.pop()
            if name not in done:
                done.add(name)
                order.append(name)
    return order


def _bytes(files: set[str]) -> int:
    total = 0
    for path in files:
        with contextlib.suppress(OSError):
            total += os.stat(path).st_size
    return total
