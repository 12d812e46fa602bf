"""The typed results of the library API (phases.interfaces.api): every function returns one of
these frozen records, most with an `exit_code` the command line exits with."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from phases.artifacts.entropy_scores import Readiness
from phases.engine.project import ContextLocation
from phases.engine.status import split_task_name
from phases.interfaces.selection import Chosen

# ---------------------------------------------------------------- results

Outcome = Literal["ran", "up-to-date", "failed", "blocked", "not-run", "ignored"]
EventKind = Literal["plan", "start", "success", "failure", "blocked", "uptodate", "ignored", "not_run", "finish"]


@dataclass(frozen=True)
class TaskEvent:
    """One thing that happened to a task during a run (also one line of --events)."""

    kind: EventKind
    task: str | None = None
    at: float = field(default_factory=time.time)
    duration_s: float | None = None
    error: str | None = None
    tasks: tuple[str, ...] = ()  # 'plan': every task the run will consider, in dependency order
    # 'plan': how long each task took when it last succeeded (seconds), for a view's time estimates
    expected_s: Mapping[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"event": self.kind, "time": datetime.fromtimestamp(self.at, UTC).isoformat()}
        if self.task:
            phase, source, table = split_task_name(self.task)
            body.update(task=self.task, phase=phase, source=source, table=table)
        if self.duration_s is not None:
            body["duration_s"] = round(self.duration_s, 3)
        if self.error:
            body["error"] = self.error
        if self.kind == "plan":
            body["tasks"] = list(self.tasks)
            if self.expected_s:
                body["expected_s"] = {name: round(s, 3) for name, s in self.expected_s.items()}
        return body


@dataclass(frozen=True)
class ArtifactSummary:
    name: str
    path: Path
    rows: int | None
    bytes: int


@dataclass(frozen=True)
class TaskResult:
    task: str
    phase: str
    source: str
    table: str | None
    outcome: Outcome
    duration_s: float | None = None
    error: str | None = None  # one line
    stderr: str = field(default="", repr=False)  # everything the task wrote to stderr (failures)
    outputs: tuple[ArtifactSummary, ...] = ()
    summary: Mapping[str, Any] = field(default_factory=dict)  # the manifest's summary

    @property
    def success(self) -> bool:
        return self.outcome in ("ran", "up-to-date")


@dataclass(frozen=True)
class RunResult:
    tasks: tuple[TaskResult, ...]
    wall_s: float
    contexts: tuple[ContextLocation, ...]
    errors: tuple[str, ...] = ()  # doit's own errors, not a task's
    skipped: Mapping[str, str] = field(default_factory=dict)  # source -> why it has no tasks (folder gone)

    def count(self, *outcomes: Outcome) -> int:
        return sum(1 for t in self.tasks if t.outcome in outcomes)

    @property
    def failed(self) -> tuple[TaskResult, ...]:
        return tuple(t for t in self.tasks if t.outcome == "failed")

    @property
    def exit_code(self) -> int:
        return 1 if self.errors or self.count("failed", "blocked", "not-run") else 0

    def result(self, name: str) -> TaskResult:
        for task in self.tasks:
            if task.task == name:
                return task
        raise KeyError(name)


@dataclass(frozen=True)
class ResetResult:
    tasks: tuple[str, ...]  # forgotten (or, with dry_run, to be forgotten)
    deleted: tuple[Path, ...]  # artifact folders removed (or to be removed)
    dry_run: bool
    exit_code: int = 0


@dataclass(frozen=True)
class HistoryEntry:
    task: str
    source: str
    phase: str
    table: str | None
    started_at: datetime
    duration_s: float
    success: bool
    error: str | None
    peak_rss_mb: float | None = None  # the task process's peak resident memory (None: not recorded)


@dataclass(frozen=True)
class HistoryResult:
    entries: tuple[HistoryEntry, ...]  # newest first
    exit_code: int = 0


@dataclass(frozen=True)
class DamagedArtifact:
    task: str
    file: Path
    problem: str  # missing | size | content


@dataclass(frozen=True)
class VerifyResult:
    checked: int  # task manifests checked
    damaged: tuple[DamagedArtifact, ...]

    @property
    def exit_code(self) -> int:
        return 1 if self.damaged else 0


@dataclass(frozen=True)
class Freshness:
    """Whether a context document still describes the data. Not `checked` when nobody asked."""

    checked: bool = False
    causes: tuple[str, ...] = ()  # "import:src.t will run (file changed: data/t.csv)": why it is stale
    pending: int = 0  # tasks upstream of the context (its own included) that are not done

    @property
    def stale(self) -> bool:
        return bool(self.causes)

    def summary(self, shown: int = 3) -> str:
        more = f"; and {len(self.causes) - shown} more" if len(self.causes) > shown else ""
        return "; ".join(self.causes[:shown]) + more


@dataclass(frozen=True)
class ContextDocument:
    source: str
    path: Path
    format: Literal["md", "json"]
    text: str
    exit_code: int = 0
    chosen: Chosen = "given"  # how the source was chosen (see SourceChoice)
    freshness: Freshness = Freshness()


@dataclass(frozen=True)
class ColumnReadiness:
    table: str
    column: str
    score: float  # 0..1, higher is more uncertain
    readiness: Readiness
    issues: tuple[str, ...]  # the worst dimensions' findings, worst first


@dataclass(frozen=True)
class MetricRow:
    metric: str
    label: str
    unit: str | None
    period: str
    value: float | None
    verdict: str  # answer | answer_with_caveats | refuse
    caveats: tuple[str, ...]  # the refusal's reason first


@dataclass(frozen=True)
class MetricsReport:
    source: str
    path: Path
    rows: tuple[MetricRow, ...]  # in configuration order, then by period
    exit_code: int = 0
    chosen: Chosen = "given"
    freshness: Freshness = Freshness()


@dataclass(frozen=True)
class EntropyReport:
    source: str
    path: Path
    columns: tuple[ColumnReadiness, ...]  # most uncertain first
    exit_code: int = 0
    chosen: Chosen = "given"  # how the source was chosen (see SourceChoice)
    freshness: Freshness = Freshness()


@dataclass(frozen=True)
class ScoreChange:
    target: str  # "table.column", a table, or the source
    kind: str  # column | table | source
    before: float | None  # None when the target is new
    after: float | None  # None when it is gone
    readiness_before: str | None
    readiness_after: str | None


@dataclass(frozen=True)
class EntropyComparison:
    source: str
    snapshots: int  # distinct entropy outputs recorded for the source
    changes: tuple[ScoreChange, ...]  # largest change first; empty with fewer than two snapshots
    chosen: Chosen = "given"  # how the source was chosen (see SourceChoice)


@dataclass(frozen=True)
class GraphResult:
    format: str
    content: str | bytes
    exit_code: int = 0


