"""The HTTP API's request and response models. Views that the library already returns as
frozen dataclasses are wrapped as they are (pydantic documents and serialises dataclasses), so
the API, its OpenAPI schema and the typed client of the dashboard follow the library."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, RootModel

from phases.artifacts.metrics import Metrics
from phases.engine.status import State
from phases.interfaces.api import EntropyComparison, HistoryEntry
from phases.interfaces.explore import (
    ArtifactPreview,
    ColumnView,
    ContextView,
    EntropyView,
    ManifestView,
    PhaseNode,
    SourceOverview,
    TableView,
)
from phases.interfaces.runs import RunRecord


class Problem(BaseModel):
    """An error, as RFC 9457 problem details; `detail` is the command line's one-line message."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str


class Info(BaseModel):
    project: str  # the project folder's name
    version: str
    reads_need_token: bool
    running: str | None  # the id of the run in progress


class SourceList(BaseModel):
    sources: tuple[SourceOverview, ...]


class SourceDetail(RootModel[SourceOverview]):
    pass


class Reason(BaseModel):
    kind: str
    detail: str
    text: str  # the sentence the command line prints


class LastRun(BaseModel):
    finished_at: datetime
    duration_s: float
    success: bool
    error: str | None


class TaskStatus(BaseModel):
    task: str
    phase: str
    source: str
    table: str | None
    state: State
    certain: bool  # False: runs only if the upstream task's output changes
    recorded: bool  # a recorded failure on unusable input
    reasons: list[Reason]
    last_run: LastRun | None


class Cell(BaseModel):
    source: str
    table: str | None
    phase: str
    state: State
    pending: int
    total: int


class Status(BaseModel):
    """What `dataraum status --json` says for one source, with the DAG to draw it on."""

    source: str
    phases: list[str]
    counts: dict[str, int]
    tasks: list[TaskStatus]
    cells: list[Cell]
    dag: tuple[PhaseNode, ...]
    running: str | None


class SourceEntropy(RootModel[EntropyView]):
    pass


class TableDetail(RootModel[TableView]):
    pass


class ColumnDetail(RootModel[ColumnView]):
    pass


class Comparison(RootModel[EntropyComparison]):
    pass


class Context(RootModel[ContextView]):
    pass


class MetricsDetail(RootModel[Metrics]):
    """metrics.json: every metric with its values per period, verdicts, caveats and SQL."""


class Manifests(BaseModel):
    source: str
    manifests: tuple[ManifestView, ...]


class Preview(RootModel[ArtifactPreview]):
    pass


class RunList(BaseModel):
    runs: tuple[RunRecord, ...]  # newest first; a run in progress comes first
    running: str | None


class Run(RootModel[RunRecord]):
    pass


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str | None = Field(default=None, description="A source; default: every source")
    phases: list[str] = Field(default_factory=list, description="Run these phases and what they need; default: all")
    force: bool = Field(default=False, description="Rerun the asked tasks even if they are up to date")


class RunStarted(BaseModel):
    id: str
    events: str  # the URL of its event stream


class ResetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str | None = None
    phase: str | None = Field(default=None, description="Forget this phase's tasks; default: every phase")
    downstream: bool = Field(default=True, description="Also forget every task after them")


class ResetDone(BaseModel):
    tasks: tuple[str, ...]  # the forgotten tasks


class History(BaseModel):
    entries: list[HistoryEntry]
