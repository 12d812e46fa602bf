"""Run history and catalogue in state/history.sqlite (SQLAlchemy 2.0 ORM).

History, not the source of truth for up-to-dateness (that stays doit's). Each
task's runner process writes its own row once, so WAL and a busy timeout make
`doit -n 4` safe without a coordinating process."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, ForeignKeyConstraint, String, create_engine, event, select
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from phases.core.errors import StateError
from phases.core.redact import redact, redact_optional


class Base(DeclarativeBase):
    pass


class Checkpoint(Base):
    """One row per task execution, successful or not."""

    __tablename__ = "pipeline_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    task: Mapped[str] = mapped_column(String, index=True)
    source: Mapped[str] = mapped_column(String, index=True)
    phase: Mapped[str] = mapped_column(String, index=True)
    table_name: Mapped[str | None]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    duration_s: Mapped[float]
    success: Mapped[bool]
    input_hash: Mapped[str]
    output_summary: Mapped[str | None]  # JSON: artifact rows and digests from the manifest
    error: Mapped[str | None]
    peak_rss_mb: Mapped[float | None] = mapped_column(default=None)  # the task process's peak memory


class RunEntry(Base):
    """One row per pipeline run (`dataraum run`, the API, `dataraum serve`): what was asked, each
    task's outcome and the run's events, so a run can be shown and its events replayed later."""

    __tablename__ = "pipeline_runs"

    id: Mapped[str] = mapped_column(String, primary_key=True)  # sortable: UTC start time and a random tail
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    duration_s: Mapped[float]
    request: Mapped[str]  # JSON: sources, phases, force
    exit_code: Mapped[int]
    tasks: Mapped[str]  # JSON: one object per task (task, outcome, duration_s, error)
    events: Mapped[str]  # JSON: the run's events, as `dataraum run --events` writes them


class SourceEntry(Base):
    __tablename__ = "catalog_sources"

    name: Mapped[str] = mapped_column(primary_key=True)
    path: Mapped[str]


class TableEntry(Base):
    __tablename__ = "catalog_tables"

    source: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(primary_key=True)
    file: Mapped[str]
    rows: Mapped[int | None]
    quarantined: Mapped[int | None]


class ColumnEntry(Base):
    __tablename__ = "catalog_columns"
    __table_args__ = (
        ForeignKeyConstraint(["source", "table_name"], ["catalog_tables.source", "catalog_tables.name"]),
    )

    source: Mapped[str] = mapped_column(primary_key=True)
    table_name: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(primary_key=True)
    original: Mapped[str | None]
    position: Mapped[int | None]
    type: Mapped[str | None]
    unit: Mapped[str | None]
    confidence: Mapped[float | None]


class ScoreEntry(Base):
    """A phase's scores per target (the entropy of each column, table and source), once per
    distinct output: a rerun with identical output adds nothing, a changed one adds a snapshot."""

    __tablename__ = "score_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String, index=True)
    phase: Mapped[str]
    snapshot: Mapped[str] = mapped_column(String, index=True)  # sha256 of the manifest that holds the scores
    recorded_at: Mapped[datetime]
    target: Mapped[str]
    kind: Mapped[str]  # column | table | source | finding (one per target and dimension) | compound_risk
    score: Mapped[float]  # the multiplier for a compound risk
    readiness: Mapped[str | None]
    dimension: Mapped[str | None]  # the worst dimension; the finding's dimension; a compound risk's pair


CATALOG_COLUMN_FIELDS = ("original", "position", "type", "unit", "confidence")


def open_store(path: Path) -> Engine:
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 60})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    try:
        _create_tables(engine)
    except DatabaseError as exc:
        engine.dispose()
        raise StateError(
            f"{path}: the run history is damaged ({exc.orig}); move it aside (it is only history: the "
            "checkpoints live in state/.doit.sqlite) and the next run starts a new one"
        ) from None
    return engine


def _create_tables(engine: Engine, attempts: int = 5) -> None:
    """create_all checks, then creates: two first tasks racing under `-n 4` can both
    see no table. The loser's CREATE fails; on retry it finds the tables."""
    for attempt in range(attempts):
        try:
            Base.metadata.create_all(engine)
            _add_missing_columns(engine)
            return
        except OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


def _add_missing_columns(engine: Engine) -> None:
    """A history written by an older version lacks the columns added since: add them (nullable)."""
    with engine.begin() as connection:
        for table in Base.metadata.sorted_tables:
            present = {row[1] for row in connection.exec_driver_sql(f"PRAGMA table_info({table.name})")}
            for column in table.columns:
                if column.name not in present and column.nullable:
                    kind = column.type.compile(dialect=engine.dialect)
                    connection.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}")


def record_checkpoint(engine: Engine, row: Checkpoint) -> None:
    """Add one task execution; its error text is stored with keys and tokens redacted."""
    row.error = redact_optional(row.error)
    with Session(engine) as session, session.begin():
        session.add(row)


def record_catalog(
    engine: Engine, source: str, source_path: str, table: str | None, file: str | None,
    table_facts: Mapping[str, Any], columns: Iterable[Mapping[str, Any]],
) -> None:
    """Upsert what a task learned about its source, table and columns."""
    with Session(engine) as session, session.begin():
        session.merge(SourceEntry(name=source, path=source_path))
        if table is None:
            return
        entry = session.get(TableEntry, (source, table)) or TableEntry(source=source, name=table, file=file or "")
        entry.file = file or entry.file
        for key in ("rows", "quarantined"):
            if key in table_facts:
                setattr(entry, key, table_facts[key])
        session.merge(entry)
        for facts in columns:
            column = session.get(ColumnEntry, (source, table, facts["name"])) or ColumnEntry(
                source=source, table_name=table, name=facts["name"]
            )
            for key in CATALOG_COLUMN_FIELDS:
                if key in facts:
                    setattr(column, key, facts[key])
            session.merge(column)


def record_scores(engine: Engine, source: str, phase: str, snapshot: str, scores: Iterable[Mapping[str, Any]]) -> None:
    with Session(engine) as session, session.begin():
        seen = session.scalar(select(ScoreEntry.id).where(ScoreEntry.source == source,
                                                           ScoreEntry.snapshot == snapshot).limit(1))
        if seen is not None:
            return
        now = datetime.now(UTC)
        session.add_all(ScoreEntry(source=source, phase=phase, snapshot=snapshot, recorded_at=now,
                                   target=row["target"], kind=row["kind"], score=row["score"],
                                   readiness=row.get("readiness"), dimension=row.get("dimension"))
                        for row in scores)


def score_snapshots(engine: Engine, source: str) -> list[tuple[str, datetime, dict[str, ScoreEntry]]]:
    """The recorded snapshots of a source, oldest first: (snapshot, when, target -> entry)."""
    with Session(engine) as session:
        rows = list(session.scalars(select(ScoreEntry).where(ScoreEntry.source == source).order_by(ScoreEntry.id)))
    snapshots: dict[str, tuple[datetime, dict[str, ScoreEntry]]] = {}
    for row in rows:
        key = f"{row.kind}:{row.target}" + (f":{row.dimension}" if row.kind in ("finding", "compound_risk") else "")
        snapshots.setdefault(row.snapshot, (row.recorded_at, {}))[1][key] = row
    return [(key, when, entries) for key, (when, entries) in snapshots.items()]


def history(engine: Engine, source: str | None = None, limit: int = 50) -> list[Checkpoint]:
    query = select(Checkpoint).order_by(Checkpoint.id.desc()).limit(limit)
    if source:
        query = query.where(Checkpoint.source == source)
    with Session(engine) as session:
        return list(session.scalars(query))


def record_run(engine: Engine, row: RunEntry) -> None:
    """Add (or update) a run; the errors in its tasks and events are stored with keys and tokens redacted."""
    row.tasks, row.events = redact(row.tasks), redact(row.events)
    with Session(engine) as session, session.begin():
        session.merge(row)


def runs(engine: Engine, limit: int = 50) -> list[RunEntry]:
    """The latest runs, newest first."""
    with Session(engine) as session:
        return list(session.scalars(select(RunEntry).order_by(RunEntry.id.desc()).limit(limit)))


def run(engine: Engine, run_id: str) -> RunEntry | None:
    with Session(engine) as session:
        return session.get(RunEntry, run_id)


def summary_json(manifest_summary: Mapping[str, Any]) -> str:
    return json.dumps(manifest_summary, sort_keys=True, default=str)
