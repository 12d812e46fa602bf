"""Run history and catalogue (SQLAlchemy 2.0 ORM): state/history.sqlite by default, or the
database of DATARAUM_DB_URL or runtime.yaml's `history_db` (PostgreSQL for a team whose runs
come from several machines).

History, not the source of truth for up-to-dateness (that stays doit's). Each task's runner
process writes its own rows, so there is no coordinating process: on SQLite WAL and a busy
timeout make `doit -n 4` safe; on PostgreSQL upserts and an advisory lock around the schema
make any number of writers on any number of machines safe. Only portable SQL is used."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    ForeignKeyConstraint,
    String,
    create_engine,
    event,
    inspect,
    make_url,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from phases.core.config import RuntimeSettings, load_runtime
from phases.core.errors import StateError
from phases.core.layout import HISTORY_DB, state_dir
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


def open_history(root: Path, runtime: RuntimeSettings | None = None) -> Engine:
    """The project's history: the database of DATARAUM_DB_URL or runtime.yaml's `history_db`, else
    state/history.sqlite; its tables are created on first use."""
    url = (runtime or load_runtime(root / "config")).history_db
    return open_url(url) if url is not None else open_store(state_dir(root) / HISTORY_DB)


def existing_history(root: Path, runtime: RuntimeSettings | None = None) -> Engine | None:
    """The history for a reader: None where the default SQLite file does not exist yet (a reader
    must not leave an empty history behind); a server database is always opened."""
    url = (runtime or load_runtime(root / "config")).history_db
    if url is None and not (state_dir(root) / HISTORY_DB).is_file():
        return None
    return open_history(root, runtime)


def open_store(path: Path) -> Engine:
    """The SQLite history file at `path`, created with its tables on first use."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return _ready(create_engine(f"sqlite:///{path}", connect_args={"timeout": 60}), str(path))


def open_url(url: str) -> Engine:
    """The history in the database at `url` (SQLite or PostgreSQL: tested; other SQLAlchemy
    dialects should work), its tables created on first use."""
    try:
        engine = create_engine(url, **_engine_options(make_url(url).get_backend_name()))
    except (ArgumentError, ImportError) as exc:
        raise StateError(f"history database {_shown(url)}: {exc}; install its driver "
                         "(pip install 'dataraum-context[postgres]' for PostgreSQL) or fix history_db") from None
    return _ready(engine, _shown(url))


def _engine_options(backend: str) -> dict[str, Any]:
    if backend == "sqlite":
        return {"connect_args": {"timeout": 60}}
    if backend == "postgresql":
        # Timestamps are stored without a zone and read back as UTC: the session must be in UTC, or
        # the server's zone would shift every aware datetime the runner writes.
        return {"connect_args": {"options": "-c timezone=UTC"}, "pool_pre_ping": True}
    return {"pool_pre_ping": True}


def _shown(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"


def _ready(engine: Engine, where: str) -> Engine:
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        _create_tables(engine)
    except OperationalError as exc:  # before DatabaseError, its base: a server down or refusing us
        engine.dispose()
        raise StateError(f"{where}: cannot open the run history ({_first_line(exc.orig)}); start the database "
                         "or fix history_db in config/runtime.yaml (or DATARAUM_DB_URL)") from None
    except DatabaseError as exc:
        engine.dispose()
        raise StateError(
            f"{where}: the run history is damaged ({exc.orig}); move it aside (it is only history: the "
            "checkpoints live in state/.doit.sqlite) and the next run starts a new one"
        ) from None
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL and a busy timeout: each task's runner process writes its own rows, with no coordinator.
    # synchronous=NORMAL: in WAL mode a commit then survives a killed process (the OS has it) and
    # skips the fsync that cost each task a few tens of milliseconds; only a crash of the machine
    # itself can lose the last commits, of a history, not of the checkpoints (doit's records).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _first_line(error: Any) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


SCHEMA_LOCK = 0x64617461  # a PostgreSQL advisory lock key ("data"): one process creates the tables at a time


def schema_version() -> int:
    """A number that changes with the tables and columns of the history (31 bits of their sha256)."""
    shape = json.dumps([[t.name, sorted(c.name for c in t.columns)] for t in Base.metadata.sorted_tables])
    return int(hashlib.sha256(shape.encode()).hexdigest()[:8], 16) & 0x7FFFFFFF


def _create_tables(engine: Engine, attempts: int = 5) -> None:
    """create_all checks, then creates: two first tasks racing under `-n 4` can both see no
    table. On PostgreSQL an advisory lock serialises them (its DDL is transactional); on SQLite
    the loser's CREATE fails and on retry it finds the tables. A SQLite file remembers the
    schema it holds (`user_version`), so every task after the first reads one number instead
    of checking every table and column again."""
    version = schema_version()
    for attempt in range(attempts):
        try:
            with engine.begin() as connection:
                sqlite = connection.dialect.name == "sqlite"
                if sqlite and connection.exec_driver_sql("PRAGMA user_version").scalar() == version:
                    return
                if connection.dialect.name == "postgresql":
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
                Base.metadata.create_all(connection)
                _add_missing_columns(connection)
                if sqlite:
                    connection.exec_driver_sql(f"PRAGMA user_version = {int(version)}")
            return
        except OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))


def _add_missing_columns(connection: Connection) -> None:
    """A history written by an older version lacks the columns added since: add them (nullable)."""
    quote = connection.dialect.identifier_preparer.quote
    for table in Base.metadata.sorted_tables:
        present = {column["name"] for column in inspect(connection).get_columns(table.name)}
        for column in table.columns:
            if column.name not in present and column.nullable:
                kind = column.type.compile(dialect=connection.dialect)
                connection.execute(text(f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(column.name)} {kind}"))


def record_checkpoint(engine: Engine, row: Checkpoint) -> None:
    """Add one task execution; its error text is stored with keys and tokens redacted."""
    row.error = redact_optional(row.error)
    with Session(engine) as session, session.begin():
        session.add(row)


def record_catalog(
    engine: Engine, source: str, source_path: str, table: str | None, file: str | None,
    table_facts: Mapping[str, Any], columns: Iterable[Mapping[str, Any]],
) -> None:
    """Upsert what a task learned about its source, table and columns. Tasks of one source write
    the same rows at once (on several machines, with PostgreSQL): each row is one INSERT .. ON
    CONFLICT statement, so no writer reads a row another is about to insert."""
    with Session(engine) as session, session.begin():
        _upsert(session, SourceEntry, {"name": source}, {"path": source_path})
        if table is None:
            return
        facts = {key: table_facts[key] for key in ("rows", "quarantined") if key in table_facts}
        _upsert(session, TableEntry, {"source": source, "name": table}, {**({"file": file} if file else {}), **facts},
                defaults={"file": ""})
        for column in columns:
            _upsert(session, ColumnEntry, {"source": source, "table_name": table, "name": column["name"]},
                    {key: column[key] for key in CATALOG_COLUMN_FIELDS if key in column})


def _upsert(session: Session, model: type[Base], key: Mapping[str, Any], values: Mapping[str, Any],
            defaults: Mapping[str, Any] | None = None) -> None:
    """Insert the row `key` with `values` (and `defaults` where a new row needs them), or set
    `values` on the row that exists."""
    dialect = session.get_bind().dialect.name
    if dialect not in ("sqlite", "postgresql"):  # no ON CONFLICT in SQLAlchemy for them: the ORM's merge
        row = session.get(model, tuple(key.values())) or model(**key, **(defaults or {}))
        for name, value in values.items():
            setattr(row, name, value)
        session.merge(row)
        return
    insert = sqlite_insert if dialect == "sqlite" else postgresql_insert
    statement = insert(model).values({**(defaults or {}), **key, **values})
    if values:
        statement = statement.on_conflict_do_update(index_elements=list(key), set_=dict(values))
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(key))
    session.execute(statement)


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
