"""One run at a time per project: an exclusive lock on state/.run.lock, held by the process that
runs tasks (doit's run, `dataraum run`, `dataraum reset`, a run the HTTP server starts).

The lock is an OS file lock (flock), so it dies with its holder: a run killed with SIGKILL
leaves no stale lock to take over. The file also says who holds it (pid, host, start time), for
the message a second run prints. Read-only commands (status, context, history) never take it."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from phases.core.errors import DataraumError
from phases.core.layout import state_dir

LOCK_FILE = ".run.lock"


class ProjectBusy(DataraumError):
    """Another run holds the project."""

    exit_code = 3


class RunLock:
    """An acquired lock; release() (or the holder's death) frees it."""

    def __init__(self, handle: IO[str]) -> None:
        self._handle: IO[str] | None = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def acquire(root: Path, what: str) -> RunLock:
    """Take the project's run lock for `what` ('run', 'reset'), or raise ProjectBusy naming the holder."""
    path = state_dir(root) / LOCK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = _holder(handle.read())
        handle.close()
        raise ProjectBusy(f"another run ({holder}) holds the project at {root}; wait for it to finish") from None
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "what": what,
                             "started": time.strftime("%Y-%m-%d %H:%M:%S")}))
    handle.flush()
    return RunLock(handle)


@contextmanager
def holding(root: Path, what: str) -> Iterator[None]:
    lock = acquire(root, what)
    try:
        yield
    finally:
        lock.release()


def _holder(text: str) -> str:
    try:
        info = json.loads(text)
        return f"{info['what']}, pid {info['pid']} on {info['host']}, started {info['started']}"
    except (ValueError, KeyError, TypeError):
        return "unknown holder"
