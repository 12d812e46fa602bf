"""The run history on a real database server: PostgreSQL started by the test (Debian's
`postgresql` package: initdb and pg_ctl in a temporary folder, on a random port), or the one
DATARAUM_TEST_PG_URL names (CI may start its own). The same checks run on SQLite, the default.
Skipped, saying why, only where no server can be started."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from phases.core.config import DB_URL_ENV
from phases.core.errors import StateError
from phases.engine import store
from phases.interfaces import api, runs
from tests.conftest import REPO

PG_URL_ENV = "DATARAUM_TEST_PG_URL"  # a server to use instead of starting one: postgresql+psycopg://...


def _pg_bin() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def pg_server() -> Iterator[str]:
    """A PostgreSQL server's URL (its `postgres` database), started here unless one is given."""
    pytest.importorskip("psycopg", reason="PostgreSQL needs its driver: pip install -e '.[postgres]'")
    if os.environ.get(PG_URL_ENV):
        yield os.environ[PG_URL_ENV]
        return
    binaries = _pg_bin()
    if binaries is None:
        pytest.skip("no PostgreSQL server: install Debian's postgresql package (initdb) or set "
                    f"{PG_URL_ENV}")
    # initdb refuses root: as root, the server runs as the package's `postgres` user
    user = "postgres" if os.geteuid() == 0 else None
    if user is not None and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as another user")
    folder = Path(tempfile.mkdtemp(prefix="dataraum-pg-"))
    if user is not None:
        shutil.chown(folder, user)
    as_user = ["runuser", "-u", user, "--"] if user else []
    port = _free_port()
    data, log = folder / "data", folder / "server.log"
    try:
        subprocess.run([*as_user, str(binaries / "initdb"), "-D", str(data), "-U", "dataraum", "--auth=trust",
                        "-E", "UTF8", "--no-sync"], check=True, capture_output=True, text=True)
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=50"
        subprocess.run([*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w",
                        "start"], check=True, capture_output=True, text=True, timeout=60)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"could not start PostgreSQL: {getattr(exc, 'stderr', '') or exc}")
    try:
        yield f"postgresql+psycopg://dataraum@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: str) -> str:
    """A fresh, empty database on the server, for one test."""
    name = f"history_{uuid.uuid4().hex[:12]}"
    admin = create_engine(pg_server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return pg_server.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'history.sqlite'}"
    return request.getfixturevalue("pg_url")


def write_many(url: str, writer: str, count: int, go: str) -> None:
    """One writer process: open the history (schema on first use) at the same moment as the
    other, then record `count` task runs and the same catalogue rows the other records."""
    while not Path(go).exists():
        time.sleep(0.005)
    engine = store.open_url(url)
    for i in range(count):
        now = datetime.now(UTC)
        store.record_checkpoint(engine, store.Checkpoint(
            task=f"count:demo.t{i}", source="demo", phase="count", table_name=f"t{i % 3}", started_at=now,
            finished_at=now, duration_s=0.1, success=True, input_hash=writer, output_summary=None, error=None))
        store.record_catalog(engine, "demo", "data", f"t{i % 3}", f"t{i % 3}.csv", {"rows": i},
                             [{"name": f"c{j}", "type": "integer", "position": j} for j in range(4)])
    engine.dispose()


@pytest.mark.slow
def test_two_processes_writing_at_once_lose_nothing(db_url: str, tmp_path: Path):
    go = tmp_path / "go"
    code = "import sys; from tests.test_store_postgres import write_many; write_many(*sys.argv[1:3], 40, sys.argv[3])"
    writers = [subprocess.Popen([sys.executable, "-c", code, db_url, name, str(go)], cwd=REPO,
                                env={**os.environ, "PYTHONPATH": str(REPO)}, stderr=subprocess.PIPE, text=True)
               for name in ("a", "b")]
    time.sleep(1.0)  # both imported and waiting
    go.touch()
    errors = [w.communicate(timeout=120)[1] for w in writers]
    assert [w.returncode for w in writers] == [0, 0], errors
    engine = store.open_url(db_url)
    with Session(engine) as session:
        per_writer = dict(session.execute(select(store.Checkpoint.input_hash, func.count())
                                          .group_by(store.Checkpoint.input_hash)).all())
        columns = session.scalar(select(func.count()).select_from(store.ColumnEntry))
        tables = session.scalar(select(func.count()).select_from(store.TableEntry))
    engine.dispose()
    assert per_writer == {"a": 40, "b": 40}
    assert (tables, columns) == (3, 12)


@pytest.mark.slow
def test_a_run_records_its_history_in_postgresql_and_leaves_no_sqlite_file(pg_url: str, demo_project: Path,
                                                                            monkeypatch):
    monkeypatch.setenv(DB_URL_ENV, pg_url)
    result = api.run_pipeline(root=demo_project, max_parallel=2)
    assert result.exit_code == 0
    entries = api.history(root=demo_project, limit=50).entries
    assert sorted(e.task for e in entries) == sorted(t.task for t in result.tasks)
    assert all(e.started_at.tzinfo is UTC and e.success for e in entries)
    assert [r.exit_code for r in runs.list_runs(demo_project)] == [0]
    assert not (demo_project / "state" / "history.sqlite").exists()


@pytest.mark.slow
def test_runtime_yaml_names_the_history_database(pg_url: str, demo_project: Path):
    (demo_project / "config" / "runtime.yaml").write_text(f"history_db: {pg_url}\n")
    engine = store.open_history(demo_project)
    try:
        assert engine.dialect.name == "postgresql"
        with Session(engine) as session:
            assert session.scalar(select(func.count()).select_from(store.Checkpoint)) == 0
    finally:
        engine.dispose()


@pytest.mark.slow
def test_an_older_postgresql_history_gains_the_new_columns(pg_url: str):
    engine = create_engine(pg_url)
    with engine.begin() as connection:  # pipeline_checkpoints as an earlier version created it
        connection.execute(text("CREATE TABLE pipeline_checkpoints (id SERIAL PRIMARY KEY, task VARCHAR NOT NULL, "
                                "source VARCHAR NOT NULL, phase VARCHAR NOT NULL, table_name VARCHAR, "
                                "started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP NOT NULL, "
                                "duration_s FLOAT NOT NULL, success BOOLEAN NOT NULL, input_hash VARCHAR NOT NULL, "
                                "output_summary VARCHAR, error VARCHAR)"))
        connection.execute(text("INSERT INTO pipeline_checkpoints (task, source, phase, started_at, finished_at, "
                                "duration_s, success, input_hash) VALUES ('t', 's', 'p', now(), now(), 1, true, '')"))
    engine.dispose()
    engine = store.open_url(pg_url)
    try:
        (row,) = store.history(engine)
        assert (row.task, row.peak_rss_mb) == ("t", None)
    finally:
        engine.dispose()


def test_a_database_that_does_not_answer_is_a_clear_error():
    pytest.importorskip("psycopg", reason="PostgreSQL needs its driver: pip install -e '.[postgres]'")
    url = f"postgresql+psycopg://nobody:secret@127.0.0.1:{_free_port()}/history"
    with pytest.raises(StateError, match=r"nobody:\*\*\*@127.0.0.1:\d+/history: cannot open the run history .*"
                                         r"fix history_db in config/runtime.yaml \(or DATARAUM_DB_URL\)"):
        store.open_url(url)


def test_a_url_without_its_driver_is_a_clear_error():
    with pytest.raises(StateError, match=r"history database mysql://h/db: .*install its driver"):
        store.open_url("mysql://h/db")
