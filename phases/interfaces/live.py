"""How a run looks while it runs. On a terminal (`LiveView`, through rich): one bar for the run
with the time it has taken and an estimate of the time left, one row per running task with its
elapsed time (and, when the task ran before, a bar against how long it took then and the time
left), and a line above them as each task finishes. In a pipe (`PlainLines`): one line per event."""

from __future__ import annotations

import statistics
import time
from typing import IO

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressBar, ProgressColumn, Task, TaskID, TextColumn
from rich.table import Column
from rich.text import Text

from phases.engine.reporter import fmt_duration
from phases.interfaces.results import TaskEvent


class PlainLines:
    """One line per task event: what a pipe or a log file gets."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def __call__(self, event: TaskEvent) -> None:
        line = {
            "plan": lambda: f"plan      {len(event.tasks)} tasks",
            "start": lambda: f"start     {event.task}",
            "success": lambda: f"done      {event.task}  {fmt_duration(event.duration_s)}",
            "uptodate": lambda: f"skip      {event.task}  up to date",
            "ignored": lambda: f"skip      {event.task}  ignored",
            "failure": lambda: f"FAILED    {event.task}  {fmt_duration(event.duration_s)}  {event.error}",
            "blocked": lambda: f"blocked   {event.task}  {event.error}",
            "not_run": lambda: f"not run   {event.task}",
        }.get(event.kind)
        if line:
            self.out.write(line() + "\n")
            self.out.flush()

    def close(self) -> None:
        pass


FINISHED = {  # event kind -> symbol, word, style of its line
    "success": ("✓", "", "green"),
    "failure": ("✗", "failed", "red"),
    "blocked": ("⊘", "not run", "red"),
    "not_run": ("·", "not run", "bright_black"),
    "ignored": ("!", "ignored", "yellow"),
}


def _clock(seconds: float) -> str:
    return fmt_duration(max(seconds, 0.0))


class _BarColumn(BarColumn):
    """The run's bar: tasks finished of all; a task's bar: its time so far against how long it took
    last time (a pulse when it never ran)."""

    def render(self, task: Task) -> ProgressBar:
        expected = task.fields.get("expected")
        if task.fields.get("overall") or expected is None:
            return super().render(task)
        return ProgressBar(total=expected, completed=min(task.elapsed or 0.0, expected), width=self.bar_width,
                           style=self.style, complete_style=self.complete_style, pulse_style=self.pulse_style)


class _TimeColumn(ProgressColumn):
    """Elapsed time, and the time left when there is something to estimate it from."""

    def __init__(self, view: LiveView) -> None:
        super().__init__(table_column=Column(no_wrap=True, min_width=16))
        self.view = view

    def render(self, task: Task) -> Text:
        elapsed = task.elapsed or 0.0
        if task.fields.get("overall"):
            left = self.view.time_left()
            return Text(_clock(elapsed) + (f"  ~{_clock(left)} left" if left is not None else ""))
        expected = task.fields.get("expected")
        if expected is None:
            return Text(_clock(elapsed))
        return Text(f"{_clock(elapsed)}  ~{_clock(expected - elapsed)} left" if elapsed < expected
                    else f"{_clock(elapsed)}  (took {_clock(expected)})")


class LiveView:
    """The run on a terminal, redrawn in place by rich; fits the terminal's width."""

    def __init__(self, out: Console, jobs: int, auto_refresh: bool = True) -> None:
        self.jobs = jobs
        self.plan: tuple[str, ...] = ()
        self.expected: dict[str, float] = {}
        self.started: dict[str, float] = {}
        self.finished: set[str] = set()
        self.took: list[float] = []  # durations of the tasks that ran in this run
        self.counts = {"ran": 0, "up to date": 0, "failed": 0}
        self.progress = Progress(
            TextColumn("{task.fields[symbol]}", table_column=Column(no_wrap=True, width=1)),
            TextColumn("{task.description}", table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1)),
            _BarColumn(bar_width=16),
            _TimeColumn(self),
            console=out, auto_refresh=auto_refresh, refresh_per_second=4, expand=True,
        )
        self.overall: TaskID | None = None
        self.rows: dict[str, TaskID] = {}
        self.progress.start()

    def __call__(self, event: TaskEvent) -> None:
        if event.kind == "plan":
            self.plan, self.expected = event.tasks, dict(event.expected_s)
            self.overall = self.progress.add_task(self._headline(), total=len(self.plan), symbol=" ", overall=True)
        elif event.kind == "start" and event.task:
            self.started[event.task] = event.at
            self.rows[event.task] = self.progress.add_task(event.task, total=None, symbol="▶",
                                                           expected=self.expected.get(event.task))
        elif event.task and event.kind in (*FINISHED, "uptodate"):
            self._finish(event)
        if self.overall is not None:
            self.progress.update(self.overall, completed=len(self.finished), description=self._headline())
        self.progress.refresh()

    def _finish(self, event: TaskEvent) -> None:
        assert event.task is not None  # checked by the caller
        self.finished.add(event.task)
        row = self.rows.pop(event.task, None)
        if row is not None:
            self.progress.remove_task(row)
        if event.kind == "uptodate":
            self.counts["up to date"] += 1
            return
        if event.kind == "success":
            self.counts["ran"] += 1
        elif event.kind == "failure":
            self.counts["failed"] += 1
        if event.duration_s is not None and event.kind == "success":
            self.took.append(event.duration_s)
        symbol, word, style = FINISHED[event.kind]
        detail = " ".join(x for x in (word, fmt_duration(event.duration_s)) if x)
        error = f": {event.error}" if event.error else ""
        self.progress.console.print(Text(f"{symbol} {event.task}  {detail}{error}", style=style), overflow="fold")

    def _headline(self) -> str:
        done = ", ".join(f"{n} {what}" for what, n in self.counts.items() if n)
        return f"{len(self.finished)}/{len(self.plan)} tasks, -j {self.jobs}" + (f" ({done})" if done else "")

    def time_left(self) -> float | None:
        """The work left (each task's last duration, else the typical one) spread over the workers."""
        known = list(self.expected.values()) or self.took
        if not known:
            return None
        typical = statistics.median(known)
        now = time.time()
        work = 0.0
        for name in self.plan:
            if name in self.finished:
                continue
            estimate = self.expected.get(name, typical)
            work += max(estimate - (now - self.started[name]), 0.0) if name in self.started else estimate
        pending = len(self.plan) - len(self.finished)
        return work / min(self.jobs, pending) if pending else None

    def close(self) -> None:
        for row in list(self.rows.values()):
            self.progress.remove_task(row)
        self.progress.refresh()
        self.progress.stop()
