"""Read-only views over a source's artifacts for the HTTP API and the dashboard: the sources
with their readiness, the entropy scores joined with the context document and the profiles,
the manifests, a page of a Parquet artifact and the DAG. Everything is read through the typed
records of `phases.artifacts` and the manifests; every name from a caller is checked against
the project (its sources, tables, phases, the manifest's artifacts) before a path is built
from it, so no request reaches a file the project did not write."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from phases.artifacts.column_profiles import COLUMN_PROFILES, ColumnProfile
from phases.artifacts.context_document import CONTEXT_DOCUMENT, ColumnEntry, ContextDocument, TableEntry
from phases.artifacts.entropy_scores import (
    ENTROPY_SCORES,
    ColumnEntropy,
    EntropyObject,
    EntropyScores,
    Readiness,
    TableEntropy,
)
from phases.artifacts.metrics import METRICS, Metrics
from phases.artifacts.relationships import RELATIONSHIPS
from phases.artifacts.tables import RAW_TABLE, TYPED_TABLE
from phases.core.errors import ConfigError, StateError
from phases.core.layout import manifest_path, task_dir
from phases.core.manifest import Manifest, read_manifest
from phases.core.records import Scalar, from_json, json_scalar
from phases.engine.project import Project
from phases.interfaces import api

TOP_FINDINGS = 50  # findings listed with a source's scores; a column's view lists all of its own
MAX_PREVIEW_ROWS = 500


class UnknownName(ConfigError):
    """A source, table, column, phase or artifact the project does not have (HTTP 404)."""


def _known(kind: str, name: str, known: list[str], where: str = "") -> None:
    if name not in known:
        shown = ", ".join(sorted(known)) or "none"
        raise UnknownName(f"no {kind} {name!r}{where}; {kind}s: {shown}")


def check_source(project: Project, source: str) -> None:
    _known("source", source, list(project.sources))


def check_table(project: Project, source: str, table: str) -> None:
    check_source(project, source)
    _known("table", table, [t.name for t in project.tables(source)], f" in source {source!r}")


def check_phase(project: Project, phase: str) -> None:
    _known("phase", phase, [p.name for p in project.pipeline.phases])


# ---------------------------------------------------------------- sources


@dataclass(frozen=True)
class ScorePoint:
    recorded_at: datetime
    score: float
    readiness: str | None


@dataclass(frozen=True)
class TableOverview:
    name: str
    file: str  # the CSV file, relative to the project root when inside it
    rows: int | None  # imported rows; None before import
    columns: tuple[str, ...]  # in the typed table's order; empty before typing
    score: float | None  # None before the entropy phase
    readiness: Readiness | None


@dataclass(frozen=True)
class SourceOverview:
    name: str
    path: str
    score: float | None
    readiness: Readiness | None
    column_readiness: Mapping[str, int]  # ready / investigate / blocked -> columns
    last_run: datetime | None  # when a task of the source last finished
    score_history: tuple[ScorePoint, ...]  # the source score per distinct entropy output, oldest first
    tables: tuple[TableOverview, ...]


def _manifest(root: Path, source: str, phase: str, table: str | None) -> Manifest | None:
    path = manifest_path(root, source, phase, table)
    if not path.is_file():
        return None
    try:
        return read_manifest(path)
    except StateError:
        return None


def _producer(project: Project, artifact: str) -> str | None:
    return project.pipeline.producer.get(artifact)


def _artifact_rows(project: Project, source: str, table: str, artifact: str) -> Manifest | None:
    phase = _producer(project, artifact)
    return _manifest(project.root, source, phase, table) if phase else None


def _scores_or_none(project: Project, source: str) -> EntropyScores | None:
    phase = project.scores_phase
    path = task_dir(project.root, source, phase) / ENTROPY_SCORES.file
    return ENTROPY_SCORES.load(path, phase) if path.is_file() else None


def _history(root: Path, source: str) -> tuple[datetime | None, tuple[ScorePoint, ...]]:
    from phases.engine import store

    engine = store.existing_history(root)
    if engine is None:
        return None, ()
    try:
        latest = store.history(engine, source, 1)
        snapshots = store.score_snapshots(engine, source)
    finally:
        engine.dispose()
    last = latest[0].finished_at.replace(tzinfo=UTC) if latest else None
    points = tuple(
        ScorePoint(when.replace(tzinfo=UTC), entry.score, entry.readiness)
        for _, when, entries in snapshots for key, entry in entries.items() if key.startswith("source:")
    )
    return last, points


def _shown(root: Path, path: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)


def source_overview(source: str, *, root: Path | None = None) -> SourceOverview:
    """A source's tables (rows, columns, scores) and readiness, its last run and its score over time."""
    project = api.open_project(root)
    check_source(project, source)
    scores = _scores_or_none(project, source)
    by_table = {t.table: t for t in scores.tables} if scores else {}
    tables = []
    # a source whose folder is gone still lists (without tables), so the other sources stay visible
    for ref in project.tables(source) if project.problem(source) is None else ():
        raw = _artifact_rows(project, source, ref.name, RAW_TABLE.name)
        typed = _artifact_rows(project, source, ref.name, TYPED_TABLE.name)
        rows = raw.artifacts[RAW_TABLE.name].rows if raw and RAW_TABLE.name in raw.artifacts else None
        typed_artifact = typed.artifacts.get(TYPED_TABLE.name) if typed else None
        columns = tuple(name for name, _ in (typed_artifact.columns or ()) if name != "_row_id") \
            if typed_artifact else ()
        entropy = by_table.get(ref.name)
        tables.append(TableOverview(ref.name, _shown(project.root, ref.path), rows, columns,
                                    entropy.score if entropy else None, entropy.readiness if entropy else None))
    counts: dict[str, int] = {"ready": 0, "investigate": 0, "blocked": 0}
    for column in scores.columns if scores else ():
        counts[column.readiness] += 1
    last_run, points = _history(project.root, source)
    return SourceOverview(
        name=source, path=project.sources[source].path, score=scores.score if scores else None,
        readiness=scores.readiness if scores else None, column_readiness=counts, last_run=last_run,
        score_history=points, tables=tuple(tables),
    )


def sources_overview(*, root: Path | None = None) -> tuple[SourceOverview, ...]:
    project = api.open_project(root)
    return tuple(source_overview(name, root=project.root) for name in sorted(project.sources))


# ---------------------------------------------------------------- entropy


@dataclass(frozen=True)
class RelationshipView:
    id: str
    child_table: str
    child_columns: tuple[str, ...]
    parent_table: str
    parent_columns: tuple[str, ...]
    cardinality: str
    confidence: float
    child_rows: int
    orphan_rows: int
    null_rows: int
    fans_out: bool
    fan_out_rows: int
    join_safe: bool  # no finding about the relationship
    score: float  # the worst finding about it; 0 with none
    issues: tuple[str, ...]


@dataclass(frozen=True)
class EntropyView:
    source: str
    score: float
    readiness: Readiness
    blockers: tuple[str, ...]
    guidance: tuple[str, ...]  # the context document's instructions for an agent
    tables: tuple[TableEntropy, ...]
    table_columns: Mapping[str, tuple[str, ...]]  # table -> its columns in file order (the heat map's axes)
    columns: tuple[ColumnEntropy, ...]  # most uncertain first
    relationships: tuple[RelationshipView, ...]
    findings: tuple[EntropyObject, ...]  # the most severe, at most TOP_FINDINGS
    findings_total: int


@dataclass(frozen=True)
class TableView:
    source: str
    table: str
    entropy: TableEntropy
    entry: TableEntry | None  # the context document's entry (kind, grain, rows)
    columns: tuple[ColumnEntropy, ...]
    findings: tuple[EntropyObject, ...]  # every finding about the table, its columns and relationships
    relationships: tuple[RelationshipView, ...]


@dataclass(frozen=True)
class ColumnView:
    source: str
    table: str
    column: str
    entropy: ColumnEntropy
    entry: ColumnEntry | None  # the context document's entry: the SQL to use, type, role, stats
    findings: tuple[EntropyObject, ...]  # every finding with its evidence and resolutions, worst first
    profile: ColumnProfile | None  # the statistics phase's profile: histogram, top values, nulls
    guidance: tuple[str, ...]


def entropy_scores(project: Project, source: str) -> tuple[EntropyScores, ContextDocument]:
    """The entropy scores and the context document of a source; ContextNotReady before the entropy phase."""
    check_source(project, source)
    phase = api.context_phase(project)
    scores = ENTROPY_SCORES.load(api.context_file(project, source, ENTROPY_SCORES), project.scores_phase)
    document = CONTEXT_DOCUMENT.load(api.context_file(project, source, CONTEXT_DOCUMENT), phase)
    return scores, document


def _relationships(project: Project, source: str, scores: EntropyScores,
                   document: ContextDocument) -> tuple[RelationshipView, ...]:
    phase = _producer(project, RELATIONSHIPS.name)
    path = task_dir(project.root, source, phase) / RELATIONSHIPS.file if phase else None
    if path is None or not path.is_file():
        return ()
    found = RELATIONSHIPS.load(path, phase)
    entries = {r.id: r for r in document.relationships}
    worst: dict[str, float] = {}
    for finding in scores.objects:
        if finding.target_kind == "relationship":
            worst[finding.target] = max(worst.get(finding.target, 0.0), finding.score)
    views = []
    for r in found.relationships:
        entry = entries.get(r.id)
        views.append(RelationshipView(
            r.id, r.child_table, r.child_columns, r.parent_table, r.parent_columns, r.cardinality, r.confidence,
            r.child_rows, r.orphan_rows, r.null_rows, r.fans_out, r.fan_out_rows,
            entry.join_safe if entry else worst.get(r.id, 0.0) == 0.0, worst.get(r.id, 0.0),
            entry.issues if entry else (),
        ))
    return tuple(views)


def _table_columns(project: Project, source: str) -> dict[str, tuple[str, ...]]:
    found = {}
    for ref in project.tables(source):
        typed = _artifact_rows(project, source, ref.name, TYPED_TABLE.name)
        artifact = typed.artifacts.get(TYPED_TABLE.name) if typed else None
        found[ref.name] = tuple(n for n, _ in (artifact.columns or ()) if n != "_row_id") if artifact else ()
    return found


def entropy_view(source: str, *, root: Path | None = None) -> EntropyView:
    project = api.open_project(root)
    scores, document = entropy_scores(project, source)
    return EntropyView(
        source=source, score=scores.score, readiness=scores.readiness, blockers=scores.blockers,
        guidance=document.guidance, tables=scores.tables, table_columns=_table_columns(project, source),
        columns=scores.columns, relationships=_relationships(project, source, scores, document),
        findings=scores.objects[:TOP_FINDINGS], findings_total=len(scores.objects),
    )


def table_view(source: str, table: str, *, root: Path | None = None) -> TableView:
    project = api.open_project(root)
    check_table(project, source, table)
    scores, document = entropy_scores(project, source)
    entropy = next((t for t in scores.tables if t.table == table), None)
    if entropy is None:
        raise UnknownName(f"table {table!r} of source {source!r} has no entropy scores (it failed or is new); "
                          f"run `dataraum run --source {source}`")
    relationships = tuple(r for r in _relationships(project, source, scores, document)
                          if table in (r.child_table, r.parent_table))
    return TableView(
        source, table, entropy, next((t for t in document.tables if t.table == table), None),
        tuple(c for c in scores.columns if c.table == table),
        tuple(o for o in scores.objects if o.table == table), relationships,
    )


def _profile(project: Project, source: str, table: str, column: str) -> ColumnProfile | None:
    phase = _producer(project, COLUMN_PROFILES.name)
    path = task_dir(project.root, source, phase, table) / COLUMN_PROFILES.file if phase else None
    if path is None or not path.is_file():
        return None
    return next((c for c in COLUMN_PROFILES.load(path, phase).columns if c.name == column), None)


def column_view(source: str, table: str, column: str, *, root: Path | None = None) -> ColumnView:
    project = api.open_project(root)
    check_table(project, source, table)
    scores, document = entropy_scores(project, source)
    _known("column", column, [c.column for c in scores.columns if c.table == table], f" in table {table!r}")
    entropy = scores.column(table, column)
    assert entropy is not None  # checked just above
    return ColumnView(
        source, table, column, entropy,
        next((c for c in document.columns if c.table == table and c.column == column), None),
        tuple(o for o in scores.objects if o.table == table and o.column == column),
        _profile(project, source, table, column), document.guidance,
    )


@dataclass(frozen=True)
class ContextView:
    source: str
    format: Literal["md", "json"]
    text: str  # the file as the entropy phase wrote it
    document: ContextDocument | None  # with json: the same, as its record


def context_view(source: str, fmt: Literal["md", "json"] = "json", *, root: Path | None = None) -> ContextView:
    """The context document of `dataraum context`, and with json its parsed record."""
    project = api.open_project(root)
    check_source(project, source)
    found = api.context_document(source, fmt, root=project.root)
    document = from_json(ContextDocument, json.loads(found.text)) if fmt == "json" else None
    return ContextView(source, fmt, found.text, document)


def metrics_view(source: str, *, root: Path | None = None) -> Metrics:
    """The metrics phase's record of a source: every metric, period, verdict and statement."""
    project = api.open_project(root)
    check_source(project, source)
    path, phase = api.metrics_file(project, source)
    return METRICS.load(path, phase)


# ---------------------------------------------------------------- manifests and previews


@dataclass(frozen=True)
class ArtifactView:
    name: str
    file: str  # relative to the task's folder
    kind: str  # json | table | text
    rows: int | None
    bytes: int
    columns: tuple[tuple[str, str], ...] | None  # (name, DuckDB type) of a table


@dataclass(frozen=True)
class ManifestView:
    task: str
    phase: str
    table: str | None
    artifacts: tuple[ArtifactView, ...]
    summary: Mapping[str, Any]
    failed: str | None  # the recorded failure of unusable input


def manifests(source: str, *, root: Path | None = None) -> tuple[ManifestView, ...]:
    """The manifest of every task of the source that has written one, in DAG order."""
    project = api.open_project(root)
    check_source(project, source)
    views = []
    for spec in project.pipeline.enabled:
        tables: list[str | None] = [t.name for t in project.tables(source)] if spec.scope == "table" else [None]
        for table in tables:
            manifest = _manifest(project.root, source, spec.name, table)
            if manifest is None:
                continue
            artifacts = tuple(
                ArtifactView(name, a.path, project.artifact(name).kind if _declared(project, name) else "text",
                             a.rows, a.bytes, a.columns)
                for name, a in sorted(manifest.artifacts.items())
            )
            failed = f"{manifest.failed.task}: {manifest.failed.reason}" if manifest.failed else None
            task = f"{spec.name}:{source}" + (f".{table}" if table else "")
            views.append(ManifestView(task, spec.name, table, artifacts, dict(manifest.summary), failed))
    return tuple(views)


def _declared(project: Project, name: str) -> bool:
    try:
        project.artifact(name)
    except ConfigError:
        return False
    return True


@dataclass(frozen=True)
class ArtifactPreview:
    source: str
    phase: str
    table: str | None
    artifact: str
    columns: tuple[tuple[str, str], ...]
    rows: tuple[tuple[Scalar, ...], ...]
    total: int
    offset: int
    limit: int


def preview(source: str, phase: str, artifact: str, table: str | None = None, limit: int = 50, offset: int = 0,
            *, root: Path | None = None) -> ArtifactPreview:
    """A page of a Parquet artifact's rows (`limit` at most MAX_PREVIEW_ROWS), in file order."""
    import duckdb

    project = api.open_project(root)
    check_source(project, source)
    check_phase(project, phase)
    spec = project.pipeline.phase(phase)
    if spec.scope == "table":
        if table is None:
            raise UnknownName(f"phase {phase!r} runs per table: give the table")
        check_table(project, source, table)
    elif table is not None:
        raise UnknownName(f"phase {phase!r} runs per source: it has no table {table!r}")
    manifest = _manifest(project.root, source, phase, table)
    if manifest is None:
        raise UnknownName(f"no manifest of {phase} for {source}{'.' + table if table else ''}: run the phase first")
    _known("artifact", artifact, list(manifest.artifacts), f" in the manifest of {phase}")
    entry = manifest.artifacts[artifact]
    if entry.columns is None:
        raise UnknownName(f"artifact {artifact!r} is not a table; only Parquet artifacts have a preview")
    folder = task_dir(project.root, source, phase, table).resolve()
    path = (folder / entry.path).resolve()
    if not path.is_relative_to(folder) or not path.is_file():  # a manifest never points outside its folder
        raise UnknownName(f"artifact {artifact!r} of {phase} is missing; rerun the phase")
    limit = max(0, min(limit, MAX_PREVIEW_ROWS))
    with duckdb.connect() as con:
        con.execute("SET threads = 1")  # one thread keeps the file's row order
        result = con.execute("SELECT * FROM read_parquet(?) LIMIT ? OFFSET ?", [str(path), limit, max(0, offset)])
        rows = tuple(tuple(json_scalar(v) for v in row) for row in result.fetchall())
    return ArtifactPreview(source, phase, table, artifact, entry.columns, rows, entry.rows or 0, offset, limit)


# ---------------------------------------------------------------- the DAG


@dataclass(frozen=True)
class PhaseNode:
    name: str
    scope: str  # table | source
    enabled: bool
    upstream: tuple[str, ...]  # the phases whose artifacts it reads


def pipeline_dag(*, root: Path | None = None) -> tuple[PhaseNode, ...]:
    """The phases of pipeline.yaml in topological order, with their upstream phases."""
    project = api.open_project(root)
    pipeline = project.pipeline
    return tuple(PhaseNode(p.name, p.scope, p.enabled, tuple(u.name for u in pipeline.upstream(p)))
                 for p in pipeline.phases)
