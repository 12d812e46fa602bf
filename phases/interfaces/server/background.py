"""Runs started over HTTP: one at a time per server, in a worker thread (doit runs as under
`dataraum run`), their events kept for the event streams of the run's subscribers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from phases.core.errors import DataraumError, StateError
from phases.engine import run_lock
from phases.interfaces import api, runs
from phases.interfaces.runs import RunRecord, RunRequest


class RunBusy(StateError):
    """A run is in progress (HTTP 409)."""


@dataclass
class ActiveRun:
    id: str
    request: RunRequest
    started_at: datetime
    events: list[dict[str, Any]] = field(default_factory=list)
    done: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def push(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        self._wake()

    def finish(self) -> None:
        """After run_pipeline returned: the run is in the history store by now."""
        self.done = True
        self._wake()

    def _wake(self) -> None:
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()  # wakes every subscriber waiting for this change

    def record(self, failed: bool = False) -> RunRecord:
        """The run while it is in progress (or `failed` before doit ran), its tasks as the events show them."""
        finished = [e for e in self.events if e.get("task") and e["event"] != "start"]
        tasks = tuple(
            runs.RunTask(e["task"], e["phase"], e["source"], e["table"], _OUTCOMES.get(e["event"], e["event"]),
                         e.get("duration_s"), e.get("error"))
            for e in finished
        )
        return RunRecord(self.id, self.started_at, None, None, self.request, "failed" if failed else "running",
                         2 if failed else None, runs.counts_of(tasks), tasks)


_OUTCOMES = {"success": "ran", "uptodate": "up-to-date", "failure": "failed", "not_run": "not-run"}


class RunManager:
    def __init__(self, root: Path, jobs: int, on_change: Callable[[], None]) -> None:
        self.root = root
        self.jobs = jobs
        self.on_change = on_change  # after each task: cached answers are stale
        self.current: ActiveRun | None = None
        self.failure: str | None = None  # why the latest run stopped before doit finished it
        self.tasks: set[asyncio.Task[None]] = set()  # keeps the background tasks referenced

    @property
    def running(self) -> str | None:
        return self.current.id if self.current is not None and not self.current.done else None

    def check_idle(self, doing: str) -> None:
        if self.running is not None and self.current is not None:
            asked = _describe(self.current.request)
            raise RunBusy(f"run {self.current.id} ({asked}) is in progress; {doing} when it has finished")

    async def start(self, request: RunRequest) -> ActiveRun:
        self.check_idle("start another run")
        # the request is checked before the answer, so a bad source or phase is an error, not a failed run
        project = await asyncio.to_thread(api.open_project, self.root)
        api.select_tasks(project, request.sources or None, request.phases or None)
        self.check_idle("start another run")  # another request may have started one meanwhile
        run_lock.acquire(self.root, "a check by dataraum serve").release()  # ProjectBusy (409) when a CLI run holds it
        active = ActiveRun(runs.new_run_id(), request, datetime.now(UTC))
        self.current = active
        task = asyncio.create_task(self._run(active))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return active

    async def _run(self, active: ActiveRun) -> None:
        loop = asyncio.get_running_loop()

        def on_event(event: api.TaskEvent) -> None:  # called from doit's thread
            self.on_change()
            loop.call_soon_threadsafe(active.push, event.to_json())

        try:
            await api.run_pipeline_async(
                active.request.sources or None, None, active.request.phases or None,
                skip_completed=not active.request.force, max_parallel=self.jobs, fail_fast=True, root=self.root,
                on_event=on_event, run_id=active.id,
            )
        except Exception as exc:  # noqa: BLE001 - the run's stream says why it stopped, then ends
            self.failure = f"{type(exc).__name__}: {exc}" if not isinstance(exc, DataraumError) else str(exc)
            active.push({"event": "error", "time": datetime.now(UTC).isoformat(), "error": self.failure})
            active.push({"event": "finish", "time": datetime.now(UTC).isoformat()})
        active.finish()

    def active(self, run_id: str) -> ActiveRun | None:
        return self.current if self.current is not None and self.current.id == run_id else None

    async def events(self, run_id: str, after: int = 0) -> AsyncIterator[tuple[int, dict[str, Any]]]:
        """The run's events from index `after` on, live while it runs, then the stream ends.
        A run this server did not start (or started before the latest) is replayed from the store."""
        active = self.active(run_id)
        if active is None:
            stored = await asyncio.to_thread(runs.run_events, self.root, run_id)
            for index, event in enumerate(stored[after:], start=after):
                yield index, event
            return
        index = after
        while True:
            changed = active.changed
            while index < len(active.events):
                yield index, active.events[index]
                index += 1
            if active.done:
                return
            await changed.wait()


def _describe(request: RunRequest) -> str:
    what = ", ".join(request.phases) if request.phases else "every phase"
    where = ", ".join(request.sources) if request.sources else "every source"
    return f"{what} of {where}" + (", forced" if request.force else "")
