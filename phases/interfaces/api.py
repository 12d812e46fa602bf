"""The library API over the project's doit tasks: run, status, reset, verify, history and the
graph here; the project and its sources (phases.interfaces.locate, source_admin, scaffold), the
context, the readiness and the profiles (reading, profiles) in their own modules, all reachable
from here. The `dataraum` command line is a thin layer over these functions; each returns a
frozen result with an `exit_code`.

Everything goes through doit itself (phases.interfaces.doit_bridge): the project's own dodo.py
run with doit's own backend, checker and up-to-date rules, so `dataraum run` and `doit` never
disagree about what is up to date. Nothing here schedules tasks."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from phases.core.errors import ConfigError
from phases.core.layout import state_dir, stats_path, task_dir, task_name
from phases.engine import integrity, run_lock
from phases.engine import status as status_mod
from phases.engine.project import ContextLocation, Project
from phases.engine.status import PipelineStatus, split_task_name
from phases.interfaces import runs
from phases.interfaces.doit_bridge import (
    EventReporter,
    dodo_namespace,
    last_runs,
    load,
    run_doit,
    task_outputs,
    with_tasks,
)
from phases.interfaces.locate import Located, find_root, locate, open_project
from phases.interfaces.profiles import ColumnProfileView, TableProfileView, column_profile, table_profile
from phases.interfaces.reading import (
    ContextNotReady,
    ContextStale,
    context_document,
    context_file,
    context_phase,
    entropy_changes,
    entropy_readiness,
    freshness,
    metrics_file,
    metrics_report,
)
from phases.interfaces.results import (
    ArtifactSummary,
    ColumnReadiness,
    ContextDocument,
    DamagedArtifact,
    EntropyComparison,
    EntropyReport,
    EventKind,
    Freshness,
    GraphResult,
    HistoryEntry,
    HistoryResult,
    MetricRow,
    MetricsReport,
    Outcome,
    ResetResult,
    RunResult,
    ScoreChange,
    TaskEvent,
    TaskResult,
    VerifyResult,
)
from phases.interfaces.scaffold import InitResult, init_project
from phases.interfaces.selection import SourceChoice, as_tuple, choose_source, chosen_sources, select_tasks
from phases.interfaces.source_admin import (
    PathSource,
    SourceAdded,
    SourceInfo,
    SourceRemoved,
    SourcesList,
    add_source,
    list_sources,
    remove_source,
    source_for_path,
    source_name_for,
)

__all__ = [
    "DEFAULT_PARALLEL", "ArtifactSummary", "ColumnProfileView", "ColumnReadiness", "ConfigError", "ContextDocument",
    "ContextLocation", "ContextNotReady", "ContextStale", "DamagedArtifact", "EntropyComparison", "EntropyReport",
    "EventKind", "Freshness", "GraphResult", "HistoryEntry", "HistoryResult", "InitResult", "Located",
    "MetricRow", "MetricsReport", "Outcome",
    "PathSource", "PipelineStatus", "ResetResult", "RunResult", "ScoreChange", "SourceAdded", "SourceChoice",
    "SourceInfo", "SourceRemoved", "SourcesList", "TableProfileView", "TaskEvent", "TaskResult", "VerifyResult",
    "add_source", "choose_source", "column_profile", "context_document", "context_file", "context_phase",
    "entropy_changes", "entropy_readiness", "find_root", "freshness", "history", "init_project", "list_sources",
    "locate", "metrics_file", "metrics_report", "open_project", "pipeline_graph", "pipeline_status", "remove_source",
    "reset",
    "run_pipeline", "run_pipeline_async", "select_tasks", "source_for_path", "source_name_for", "table_profile",
    "verify",
]

DEFAULT_PARALLEL = 4


# ---------------------------------------------------------------- running


def _expected(root: Path) -> dict[str, float]:
    """How long each task took when it last succeeded: a live view's time estimates."""
    return {name: run.duration_s for name, run in last_runs(root).items() if run.success}


def _doit_args(max_parallel: int, fail_fast: bool) -> list[str]:
    args = ["-v", "0"]  # capture every task's output: the reporter shows the errors
    if max_parallel > 1:
        args += ["-n", str(max_parallel)]
    # the project's dodo.py makes --continue doit's default; stopping at the first failure is asked for
    args.append("--no-continue" if fail_fast else "--continue")
    return args


def run_pipeline(
    source_id: str | Sequence[str] | None = None,
    tables: str | Sequence[str] | None = None,
    phases: str | Sequence[str] | None = None,
    skip_completed: bool = True,
    max_parallel: int = DEFAULT_PARALLEL,
    fail_fast: bool = False,
    *,
    root: Path | None = None,
    on_event: Callable[[TaskEvent], None] | None = None,
    run_id: str | None = None,
) -> RunResult:
    """Run the chosen phases (default: all enabled) of the chosen sources (default: every source
    whose files are there) and whatever they need, through doit. With `tables`: those tables'
    per-table tasks, plus the per-source phases named in `phases` (see select_tasks).
    `skip_completed=False` forgets the chosen tasks first, so they rerun even when up to date;
    `fail_fast=True` stops at the first failure (by default a failure stops only what depends
    on it). `on_event` gets every TaskEvent as it happens. Returns one TaskResult per task doit
    considered. The run is recorded in the history store under `run_id` (default: a new one),
    with its events."""
    root = find_root(root)
    project = load(root)
    names = select_tasks(project, source_id, phases, tables)
    began_at = datetime.now(UTC)
    events: list[dict[str, Any]] = []

    def emit(event: TaskEvent) -> None:
        if event.kind == "start":
            runs.prefetch_history()  # a task runs: the history store's import overlaps it
        events.append(event.to_json())
        if on_event is not None:
            on_event(event)

    reporter = EventReporter(emit, _expected(root))
    namespace = dodo_namespace(root, reporter=reporter)
    started = time.time()
    with run_lock.holding(root, "dataraum run"):
        if not skip_completed:
            _forget(root, names, downstream=False, delete_artifacts=False)
        run_doit(root, namespace, "run", [*_doit_args(max_parallel, fail_fast), *names])
    wall = time.time() - started
    results = []
    for name in reporter.plan:
        outcome, duration, error, stderr = reporter.outcomes[name]
        phase, source, table = split_task_name(name)
        outputs, summary = task_outputs(root, name) if outcome in ("ran", "up-to-date") else ((), {})
        results.append(TaskResult(name, phase, source, table, outcome, duration, error, stderr, outputs, summary))
    asked = as_tuple(source_id)
    result = RunResult(
        tasks=tuple(results), wall_s=wall, contexts=project.context_locations(chosen_sources(project, source_id)),
        errors=tuple(reporter.errors), skipped={} if asked else project.unusable_sources,
    )
    emit(TaskEvent("finish", duration_s=wall))
    request = runs.RunRequest(asked or (), as_tuple(phases) or (), not skip_completed)
    tasks = [runs.RunTask(t.task, t.phase, t.source, t.table, t.outcome, t.duration_s, t.error) for t in results]
    runs.record_run(root, run_id or runs.new_run_id(began_at), began_at, wall, request, result.exit_code, tasks,
                    events)
    return result


async def run_pipeline_async(*args: Any, **kwargs: Any) -> RunResult:
    """run_pipeline for callers inside an event loop: doit runs in a worker thread, so the
    loop stays free. `on_event` is then called from that thread (use
    loop.call_soon_threadsafe to hand events to the loop). One run per project at a time."""
    return await asyncio.to_thread(run_pipeline, *args, **kwargs)


# ---------------------------------------------------------------- status, reset, history


def pipeline_status(
    source_id: str | Sequence[str] | None = None, *, root: Path | None = None,
) -> PipelineStatus:
    """Every task of the chosen sources: done, will run (with the reasons, propagated
    downstream), failed or never run. Reads doit's records; changes nothing. Sources whose
    folder is gone are in `skipped`, with the reason."""
    root = find_root(root)
    project = load(root)
    sources = chosen_sources(project, source_id)
    names = select_tasks(project, sources)
    runs_by_task = last_runs(root)
    judged = with_tasks(
        root, lambda tasks, dep: status_mod.judge_tasks(tasks, names, status_mod.read_only(dep), runs_by_task, root)
    )
    return PipelineStatus(root=root, sources=sources, phases=tuple(p.name for p in project.pipeline.enabled),
                          tasks=tuple(judged), skipped={} if as_tuple(source_id) else project.unusable_sources)


def _downstream(tasks: Mapping[str, Any], names: Sequence[str]) -> list[str]:
    dependents: dict[str, list[str]] = {}
    for task in tasks.values():
        for dep in task.task_dep:
            dependents.setdefault(dep, []).append(task.name)
    found = dict.fromkeys(names)
    pending = list(names)
    while pending:
        for child in dependents.get(pending.pop(), []):
            if child not in found and tasks[child].actions and not tasks[child].has_subtask:
                found[child] = None
                pending.append(child)
    return status_mod.dependency_order(tasks, set(found))


def _forget(root: Path, names: Sequence[str], downstream: bool, delete_artifacts: bool,
            dry_run: bool = False) -> ResetResult:
    def use(tasks: Mapping[str, Any], dep: Any) -> ResetResult:
        chosen = _downstream(tasks, names) if downstream else list(names)
        folders = []
        for name in chosen:
            phase, source, table = split_task_name(name)
            folder = task_dir(root, source, phase, table)
            if delete_artifacts and folder.exists():
                folders.append(folder)
            if not dry_run:
                dep.remove(name)
        if not dry_run:
            for folder in folders:
                shutil.rmtree(folder)
        return ResetResult(tasks=tuple(chosen), deleted=tuple(folders), dry_run=dry_run)

    return with_tasks(root, use)


def reset(
    source_id: str | Sequence[str] | None = None,
    phases: str | Sequence[str] | None = None,
    tables: str | Sequence[str] | None = None,
    downstream: bool = False,
    delete_artifacts: bool = False,
    dry_run: bool = False,
    *,
    root: Path | None = None,
) -> ResetResult:
    """Forget the chosen tasks in doit's records (all tasks of the chosen sources by
    default) so they rerun; with `downstream`, every task after them too (doit's own
    `forget` does not follow file_dep). `delete_artifacts` also removes their
    folders under state/. `dry_run` only says what it would do."""
    root = find_root(root)
    names = select_tasks(load(root), source_id, phases, tables)
    if dry_run:
        return _forget(root, names, downstream, delete_artifacts, dry_run)
    with run_lock.holding(root, "dataraum reset"):
        return _forget(root, names, downstream, delete_artifacts, dry_run)


def verify(deep: bool = False, *, root: Path | None = None) -> VerifyResult:
    """Check every task's artifacts against its manifest: sizes, and the sha256 of files whose
    time changed (`deep`: of every file). A damaged task reruns at the next run."""
    root = find_root(root)
    state = state_dir(root)
    found: list[DamagedArtifact] = []
    checked = 0
    for path in integrity.manifests(state):
        checked += 1
        parts = path.parent.relative_to(state).parts  # source, phase[, table]
        task = task_name(parts[1], parts[0], parts[2] if len(parts) > 2 else None)
        stats = stats_path(root, parts[0], parts[1], parts[2] if len(parts) > 2 else None)
        found += [DamagedArtifact(task, d.file, d.problem) for d in integrity.damage(path, stats, deep=deep)]
    return VerifyResult(checked, tuple(found))


def history(source_id: str | None = None, limit: int = 20, *, root: Path | None = None) -> HistoryResult:
    """Past task runs, newest first, from the history store (pipeline_checkpoints)."""
    root = find_root(root)
    from phases.engine import store

    engine = store.existing_history(root)
    if engine is None:
        return HistoryResult(entries=())
    try:
        rows = store.history(engine, source_id, limit)
        entries = tuple(
            HistoryEntry(r.task, r.source, r.phase, r.table_name, r.started_at.replace(tzinfo=UTC), r.duration_s,
                         r.success, r.error, r.peak_rss_mb)
            for r in rows
        )
    finally:
        engine.dispose()
    return HistoryResult(entries=entries)


# ---------------------------------------------------------------- graph


def pipeline_graph(source_id: str | Sequence[str] | None = None, fmt: str = "text", color: bool = False, *,
                   root: Path | None = None) -> GraphResult:
    """The DAG of phases coloured by their status over the chosen sources."""
    from phases.engine import graph

    status = pipeline_status(source_id, root=root)
    project: Project = load(status.root)
    return GraphResult(fmt, graph.render(project.pipeline, status.phase_states(), fmt, color=color))
