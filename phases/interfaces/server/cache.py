"""Answers kept until the project changes. Judging the status loads doit's tasks (about a
second on the example), reading the scores parses JSON; twenty clients polling a dashboard
must not repeat that. Each answer is kept with a fingerprint of everything it can depend on
(the config files, the manifests and databases under state/, the sources' CSV files and
folders: path, size and mtime) and
served while the fingerprint is unchanged. The fingerprint is taken again at most four times
a second, so a change on disk shows within about a quarter of a second. Changes to the installed
package's code are not watched: restart the server after an upgrade."""

from __future__ import annotations

import asyncio
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path

from pydantic import BaseModel

from phases.core.layout import state_dir
from phases.core.manifest import MANIFEST_NAME

MAX_ENTRIES = 256  # previews are keyed by page; the oldest answers go first


def files(folder: Path, wanted: Callable[[str], bool] = lambda name: True) -> Iterator[tuple[str, int, int]]:
    """(path, size, mtime) of the files under `folder` whose name is `wanted`."""
    if not folder.is_dir():
        return
    stack = [folder]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "llm_cache":  # answers of the LLM step: many files, never read here
                        stack.append(Path(entry.path))
                elif wanted(entry.name):
                    info = entry.stat(follow_symlinks=False)
                    yield entry.path, info.st_size, info.st_mtime_ns


def _state_file(name: str) -> bool:
    """The files of state/ that change when anything there changes: a task writes its manifest
    last, doit and the history store commit to their SQLite files, `run PATH` writes a YAML file.
    SQLite's -wal and -shm files are left out: every reader creates and removes them."""
    return name == MANIFEST_NAME or name.endswith((".sqlite", ".yaml"))


class Fingerprint:
    """A hash of the project's inputs and state as the file system shows them. It is taken
    again at most every FRESH_S seconds, in a worker thread while the answers go on with the
    previous value, so twenty clients at once never wait for a walk of state/; after `forget`
    (a task finished, a reset) the next request waits for a fresh one."""

    FRESH_S = 0.25

    def __init__(self, root: Path, data_folders: Callable[[], list[Path]]) -> None:
        self.root = root
        self.data_folders = data_folders
        self.taken: tuple[float, int] | None = None
        self.refreshing: asyncio.Task[None] | None = None

    async def current(self) -> int:
        taken = self.taken
        if taken is None:
            value = await asyncio.to_thread(self.take)
            self.taken = (time.monotonic(), value)
            return value
        if time.monotonic() - taken[0] >= self.FRESH_S and self.refreshing is None:
            self.refreshing = asyncio.create_task(self._refresh())
        return taken[1]

    async def _refresh(self) -> None:
        try:
            value = await asyncio.to_thread(self.take)
            self.taken = (time.monotonic(), value)
        finally:
            self.refreshing = None

    def forget(self) -> None:
        """The next call walks the files again (after a run or a reset through this server)."""
        self.taken = None

    def take(self) -> int:
        seen: list[tuple[str, int, int]] = []
        seen.extend(files(self.root / "config"))
        seen.extend(files(state_dir(self.root), _state_file))
        for path in self.data_folders():
            seen.extend(_single(path))
        seen.sort()
        return hash(tuple(seen))


def _single(path: Path) -> Iterator[tuple[str, int, int]]:
    if path.exists():
        info = path.stat()
        yield str(path), info.st_size, info.st_mtime_ns


class AnswerCache:
    def __init__(self, fingerprint: Fingerprint) -> None:
        self.fingerprint = fingerprint
        self.entries: OrderedDict[str, tuple[int, bytes]] = OrderedDict()
        self.locks: dict[str, asyncio.Lock] = {}

    async def get(self, key: str, compute: Callable[[], BaseModel]) -> bytes:
        """The JSON of `compute()`, computed in a worker thread once per change of the project;
        concurrent requests for the same key wait for one computation."""
        current = await self.fingerprint.current()
        hit = self.entries.get(key)
        if hit is not None and hit[0] == current:
            self.entries.move_to_end(key)
            return hit[1]
        lock = self.locks.setdefault(key, asyncio.Lock())
        async with lock:
            current = await self.fingerprint.current()
            hit = self.entries.get(key)
            if hit is not None and hit[0] == current:
                return hit[1]
            body = (await asyncio.to_thread(compute)).model_dump_json().encode()
            self.entries[key] = (current, body)
            self.entries.move_to_end(key)
            while len(self.entries) > MAX_ENTRIES:
                old, _ = self.entries.popitem(last=False)
                self.locks.pop(old, None)
            return body
