"""Reading what the pipeline produced for an agent: the context document, the readiness of the
columns and how the scores changed, each for one source (the given one, the only one, or the
one that ran last), and whether it is still current: a context written before a CSV changed, or
while an upstream task fails, describes data that is no longer there."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from phases.artifacts.context_document import CONTEXT_DOCUMENT, CONTEXT_MARKDOWN
from phases.artifacts.entropy_scores import ENTROPY_SCORES
from phases.artifacts.metrics import METRICS
from phases.core.errors import ConfigError, StateError
from phases.core.layout import task_dir, task_name
from phases.core.records import ArtifactSpec
from phases.engine.project import Project
from phases.engine.status import TaskStatus, judge_tasks, read_only
from phases.interfaces.doit_bridge import last_runs, load, with_tasks
from phases.interfaces.locate import find_root
from phases.interfaces.results import (
    ColumnReadiness,
    ContextDocument,
    EntropyComparison,
    EntropyReport,
    Freshness,
    MetricRow,
    MetricsReport,
    ScoreChange,
)
from phases.interfaces.selection import choose_source, select_tasks

CONTEXT_FORMATS: Mapping[str, ArtifactSpec] = {"md": CONTEXT_MARKDOWN, "json": CONTEXT_DOCUMENT}


class ContextNotReady(StateError):
    """The entropy phase has not written the context document of a source yet."""


class ContextStale(StateError):
    """Asked for a current context (--fresh), and an upstream task failed or will run."""


def context_phase(project: Project) -> str:
    """The phase that writes the context documents (the producer of `context_document`)."""
    return project.context_phase


def context_file(project: Project, source: str, artifact: ArtifactSpec) -> Path:
    """The file of one of the context's artifacts for a source (the documents of the context
    phase, the entropy phase's scores); ContextNotReady when its phase has not written it yet."""
    phase = project.scores_phase if artifact.name == ENTROPY_SCORES.name else project.context_phase
    path = task_dir(project.root, source, phase) / artifact.file
    if path.is_file():
        return path
    shown = path.relative_to(project.root)
    if any(spec.name == phase for spec in project.pipeline.enabled):
        hint = f"run `dataraum run --source {source}` first"
    else:
        hint = f"the {phase} phase is disabled in config/pipeline.yaml"
    raise ContextNotReady(
        f"the {phase} phase has not produced a context for source {source!r} yet ({shown} is missing; {hint})"
    )


# ---------------------------------------------------------------- freshness


def freshness(project: Project, source: str) -> Freshness:
    """The tasks upstream of the source's context (its own task included) that are not done:
    will run (a CSV, the settings or the code changed), failed, or never ran. Judged like
    `dataraum status`, from doit's records; changes nothing."""
    problem = project.problem(source)
    if problem is not None:
        return Freshness(True, (problem,), 1)
    if not project.context_phase_enabled:
        return Freshness()
    target = task_name(project.context_phase, source)
    names = select_tasks(project, source)
    runs = last_runs(project.root)

    def judge(tasks: Mapping[str, Any], dep: Any) -> list[TaskStatus]:
        upstream = _closure(tasks, target)
        return judge_tasks(tasks, [n for n in names if n in upstream], read_only(dep), runs, project.root)

    pending = [t for t in with_tasks(project.root, judge) if t.state != "done"]
    # name the causes, not every task downstream of them
    causes = [t for t in pending if any(r.kind != "upstream" for r in t.reasons)] or pending
    return Freshness(True, tuple(_cause(t) for t in causes), len(pending))


def _closure(tasks: Mapping[str, Any], target: str) -> set[str]:
    found: set[str] = set()
    pending = [target] if target in tasks else []
    while pending:
        name = pending.pop()
        if name not in found:
            found.add(name)
            pending += tasks[name].task_dep
    return found


def _cause(task: TaskStatus) -> str:
    own = [str(r) for r in task.reasons if r.kind != "upstream"]
    return f"{task.task} {task.state}" + (f" ({own[0]})" if own else "")


def _check_fresh(found: Freshness, source: str, fresh: bool) -> None:
    if fresh and found.stale:
        raise ContextStale(f"the context of {source!r} is stale: {found.summary()}; run `dataraum run "
                           f"--source {source}`")


# ---------------------------------------------------------------- context, readiness, changes


def context_document(source_id: str | None = None, fmt: Literal["md", "json"] = "md", *,
                     root: Path | None = None, check: bool = False, fresh: bool = False) -> ContextDocument:
    """The context document the entropy phase wrote for a source, as text (Markdown, or the
    JSON of `phases.artifacts.context_document.ContextDocument`). With `check`, its freshness
    is judged; with `fresh`, a stale context is refused (ContextStale)."""
    if fmt not in CONTEXT_FORMATS:
        raise ConfigError(f"unknown context format {fmt!r}; use md or json")
    project = load(find_root(root))
    chosen = choose_source(project, source_id)
    path = context_file(project, chosen.name, CONTEXT_FORMATS[fmt])
    found = freshness(project, chosen.name) if check or fresh else Freshness()
    _check_fresh(found, chosen.name, fresh)
    return ContextDocument(chosen.name, path, fmt, path.read_text(encoding="utf-8"), chosen=chosen.why,
                           freshness=found)


def entropy_readiness(source_id: str | None = None, table: str | None = None, limit: int = 20, *,
                      root: Path | None = None, check: bool = False, fresh: bool = False) -> EntropyReport:
    """The most uncertain columns of a source (optionally of one table), read from the entropy
    phase's entropy_scores.json: each column's score, readiness and its worst findings.
    `check` and `fresh` as for context_document."""
    project = load(find_root(root))
    chosen = choose_source(project, source_id)
    path = context_file(project, chosen.name, ENTROPY_SCORES)
    found = freshness(project, chosen.name) if check or fresh else Freshness()
    _check_fresh(found, chosen.name, fresh)
    scores = ENTROPY_SCORES.load(path, project.scores_phase)
    columns = [
        ColumnReadiness(c.table, c.column, c.score, c.readiness, tuple(top.summary for top in c.top))
        for c in scores.columns if not table or c.table == table
    ]
    columns.sort(key=lambda c: (-c.score, c.table, c.column))
    return EntropyReport(chosen.name, path, tuple(columns[:limit]), chosen=chosen.why, freshness=found)


def metrics_file(project: Project, source: str) -> tuple[Path, str]:
    """metrics.json of a source and the phase that wrote it; ContextNotReady before it ran."""
    phase = project.pipeline.producer.get(METRICS.name)
    if phase is None:
        raise ConfigError("no phase of config/pipeline.yaml produces `metrics`; add the metrics phase "
                          "(see the package's config/pipeline.yaml)")
    path = task_dir(project.root, source, phase) / METRICS.file
    if not path.is_file():
        raise ContextNotReady(f"the {phase} phase has not produced metrics for source {source!r} yet "
                              f"({path.relative_to(project.root)} is missing; run `dataraum run --source "
                              f"{source}` first)")
    return path, phase


def metrics_report(source_id: str | None = None, period: str | None = None, *, root: Path | None = None,
                   check: bool = False, fresh: bool = False) -> MetricsReport:
    """The metrics phase's values of a source with their verdicts: for one period ('2025' or
    '2025-03'), else for every year. `check` and `fresh` as for context_document."""
    project = load(find_root(root))
    chosen = choose_source(project, source_id)
    path, phase = metrics_file(project, chosen.name)
    found = freshness(project, chosen.name) if check or fresh else Freshness()
    _check_fresh(found, chosen.name, fresh)
    rows = []
    for metric in METRICS.load(path, phase).metrics:
        if metric.refusal:
            rows.append(MetricRow(metric.metric, metric.label, metric.unit, period or "-", None, "refuse",
                                  (metric.refusal,)))
            continue
        rows += [MetricRow(metric.metric, metric.label, metric.unit, v.period, v.value, v.verdict, v.caveats)
                 for v in metric.values if (v.period == period if period else len(v.period) == 4)]
    return MetricsReport(chosen.name, path, tuple(rows), chosen=chosen.why, freshness=found)


def entropy_changes(source_id: str | None = None, *, root: Path | None = None) -> EntropyComparison:
    """How the entropy scores of a source changed between its last two distinct entropy outputs
    (the history store keeps one snapshot per distinct output)."""
    from phases.engine import store

    root = find_root(root)
    project = load(root)
    chosen = choose_source(project, source_id)
    source = chosen.name
    engine = store.existing_history(root, project.runtime)
    if engine is None:
        return EntropyComparison(source, 0, (), chosen=chosen.why)
    try:
        snapshots = store.score_snapshots(engine, source)
    finally:
        engine.dispose()
    if len(snapshots) < 2:
        return EntropyComparison(source, len(snapshots), (), chosen=chosen.why)
    (_, _, before), (_, _, after) = snapshots[-2], snapshots[-1]
    changes = []
    for key in sorted(before.keys() | after.keys()):
        if not key.startswith(("column:", "table:", "source:")):
            continue  # findings and compound risks are kept for tools; the comparison is of scores
        b, a = before.get(key), after.get(key)
        if b is not None and a is not None and (b.score, b.readiness) == (a.score, a.readiness):
            continue
        entry = after[key] if key in after else before[key]
        changes.append(ScoreChange(entry.target, entry.kind, b.score if b else None, a.score if a else None,
                                   b.readiness if b else None, a.readiness if a else None))
    changes.sort(key=lambda c: (-abs((c.after or 0.0) - (c.before or 0.0)), c.kind, c.target))
    return EntropyComparison(source, len(snapshots), tuple(changes), chosen=chosen.why)
