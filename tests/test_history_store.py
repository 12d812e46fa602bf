"""The run history is history: a damaged history.sqlite never stops a status, and the commands
that read it say what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from phases.core.errors import StateError
from phases.interfaces import api


def test_a_damaged_history_is_a_clear_error_for_history_and_no_obstacle_to_status(demo_project: Path):
    (demo_project / "state").mkdir()
    (demo_project / "state" / "history.sqlite").write_text("not a database at all")
    with pytest.raises(StateError, match="history.sqlite: the run history is damaged .*move it aside"):
        api.history(root=demo_project)
    assert {t.state for t in api.pipeline_status(root=demo_project).tasks} == {"never run"}


def test_an_older_history_gains_the_new_columns_and_keeps_its_rows(tmp_path: Path):
    import sqlite3

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from phases.engine import store

    path = tmp_path / "history.sqlite"
    with sqlite3.connect(path) as db:  # the table as an earlier version created it
        db.execute("CREATE TABLE pipeline_checkpoints (id INTEGER PRIMARY KEY, task VARCHAR, source VARCHAR, "
                   "phase VARCHAR, table_name VARCHAR, started_at DATETIME, finished_at DATETIME, duration_s FLOAT, "
                   "success BOOLEAN, input_hash VARCHAR, output_summary VARCHAR, error VARCHAR)")
        db.execute("INSERT INTO pipeline_checkpoints VALUES (1, 't', 's', 'p', NULL, '2026-01-01 00:00:00', "
                   "'2026-01-01 00:00:01', 1.0, 1, '', NULL, NULL)")
    engine = store.open_store(path)
    try:
        with Session(engine) as session:
            (row,) = session.scalars(select(store.Checkpoint)).all()
        assert (row.task, row.peak_rss_mb) == ("t", None)
    finally:
        engine.dispose()


def test_the_status_reads_the_latest_row_of_each_task_as_the_store_wrote_it(tmp_path: Path):
    from datetime import UTC, datetime, timedelta

    from phases.engine import store
    from phases.engine.status import LastRun, read_last_runs

    engine = store.open_store(tmp_path / "history.sqlite")
    began = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    for i, (task, ok, error) in enumerate([("a", False, "a failed"), ("b", True, None), ("a", True, None)]):
        store.record_checkpoint(engine, store.Checkpoint(
            task=task, source="s", phase="p", table_name=None, started_at=began, input_hash="",
            finished_at=began + timedelta(seconds=i), duration_s=float(i), success=ok, error=error))
    engine.dispose()
    assert read_last_runs(tmp_path / "history.sqlite") == {
        "a": LastRun(began + timedelta(seconds=2), 2.0, True, None),
        "b": LastRun(began + timedelta(seconds=1), 1.0, True, None),
    }
    assert read_last_runs(tmp_path / "missing.sqlite") == {}


def test_a_history_file_remembers_its_schema_so_later_opens_skip_the_checks(tmp_path: Path):
    import sqlite3

    from phases.engine import store

    path = tmp_path / "history.sqlite"
    store.open_store(path).dispose()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == store.schema_version()
        db.execute("DROP TABLE score_snapshots")  # a schema another version left: the number is stale
        db.execute("PRAGMA user_version = 1")
    store.open_store(path).dispose()
    with sqlite3.connect(path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "score_snapshots" in tables
        assert db.execute("PRAGMA user_version").fetchone()[0] == store.schema_version()
