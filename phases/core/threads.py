"""DuckDB threads that follow the run's free cores for as long as a task runs.

`threads: auto` gives a task the cores of the run shared among the tasks running: a task alone
on the critical path of a serial chain (TPC-H lineitem: import, typing, statistics, ...) should
use every core, two tasks on two cores one each. That share changes while a task runs: it starts
beside short tasks of other tables and outlives them. The launcher (phases.engine.launch)
therefore keeps the current share in a small file named by `SHARE_ENV`, rewritten whenever a
task process of the run starts or ends; a task's connections (TaskContext.connect) are followed
here, and `refresh()`, called by the task process's watchdog thread a few times a second, sets
their threads to the share when it changed. `SET threads` is a setting of the database
instance, so it is issued on a cursor of its own and never disturbs a query or a pending result
of the phase's connection. A rise takes effect at once for the running query's next pipelines
(DuckDB fixes a pipeline's tasks when it starts it), a drop once the running query's tasks end.
Results do not depend on the thread count (the phases order and round what they write), so this
changes only the time a task takes."""

from __future__ import annotations

import contextlib
import os
import threading
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

SHARE_ENV = "DATARAUM_THREADS_FILE"  # set by the launcher: the file holding the run's current threads per task
THREADS_ENV = "DATARAUM_TASK_THREADS"  # set by the launcher: the threads `auto` gave the task at its start


def cores() -> int:
    """The processors this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1

_lock = threading.Lock()
# each followed connection of this task process -> the threads it has now
_followed: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, int] = weakref.WeakKeyDictionary()
_busy = False  # a thread is setting threads now


def current_share() -> int | None:
    """The threads per task the run's launcher gives now; None without a launcher's file."""
    path = os.environ.get(SHARE_ENV)
    if not path:
        return None
    try:
        with open(path, encoding="ascii") as handle:
            text = handle.read().strip()
    except OSError:  # the run ended, or no task has started yet
        return None
    return int(text) if text.isdigit() and int(text) > 0 else None


def follow(con: duckdb.DuckDBPyConnection, threads: int) -> None:
    """Keep `con`'s threads at the run's share from now on (it was opened with `threads`)."""
    with _lock:
        _followed[con] = threads


def refresh() -> threading.Thread | None:
    """Give every followed connection the run's current share where it differs; the thread doing
    it, if any. Cheap (one small file read) when nothing changed; safe from any thread, and it
    never blocks its caller (the watchdog, whose other job is to end an orphaned task): a drop of
    threads waits in DuckDB until the running query's tasks end, so it happens on a thread of its
    own, one at a time."""
    global _busy
    share = current_share()
    if share is None:
        return None
    with _lock:
        stale = [con for con, threads in _followed.items() if threads != share]
        if _busy or not stale:
            return None
        _busy = True
    worker = threading.Thread(target=_apply, args=(stale, share), daemon=True, name="dataraum-threads")
    worker.start()
    return worker


def _apply(connections: list[duckdb.DuckDBPyConnection], share: int) -> None:
    global _busy
    try:
        for con in connections:
            try:
                with contextlib.closing(con.cursor()) as cursor:
                    cursor.execute(f"SET threads = {int(share)}")
            except Exception:  # closed by the phase (or its database is going): nothing left to follow
                with _lock:
                    _followed.pop(con, None)
                continue
            with _lock:
                if con in _followed:
                    _followed[con] = share
    finally:
        with _lock:
            _busy = False
