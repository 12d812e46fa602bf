"""DuckDB threads that follow the run's free cores while a task runs (phases.core.threads and
the launcher's share file in phases.engine.launch), on real connections and task processes."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb
import pytest

from phases.core import threads
from phases.core.threads import SHARE_ENV, current_share, follow
from phases.engine import launch
from phases.engine.launch import run_phase_process


def refresh() -> None:
    """Apply the share now (the watchdog does not wait for it)."""
    worker = threads.refresh()
    if worker is not None:
        worker.join()


def threads_of(con: duckdb.DuckDBPyConnection) -> int:
    found = con.execute("SELECT current_setting('threads')").fetchone()
    assert found is not None
    return int(found[0])


@pytest.fixture
def share(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "threads"
    monkeypatch.setenv(SHARE_ENV, str(path))
    monkeypatch.setattr(threads, "_followed", type(threads._followed)())
    monkeypatch.setattr(threads, "_busy", False)
    return path


def test_a_followed_connection_takes_the_share_whenever_it_changes(share: Path):
    con = duckdb.connect(config={"threads": 1})
    follow(con, 1)
    for given in (2, 1, 3):
        share.write_text(f"{given}\n")
        refresh()
        assert threads_of(con) == given


def test_without_a_share_file_the_threads_stay(share: Path):
    con = duckdb.connect(config={"threads": 1})
    follow(con, 1)
    refresh()
    assert current_share() is None and threads_of(con) == 1


def test_a_connection_closed_by_its_phase_is_forgotten_without_an_error(share: Path):
    con = duckdb.connect(config={"threads": 1})
    follow(con, 1)
    con.close()
    share.write_text("2\n")
    refresh()
    assert dict(threads._followed) == {}


def test_a_pending_result_survives_a_change_of_threads(share: Path):
    con = duckdb.connect(config={"threads": 1})
    follow(con, 1)
    pending = con.execute("SELECT range AS i FROM range(100000) ORDER BY i DESC")
    share.write_text("2\n")
    refresh()
    assert pending.fetchone() == (99999,) and len(pending.fetchall()) == 99999


def test_a_drop_waiting_for_a_running_query_never_blocks_the_caller(share: Path):
    con = duckdb.connect(config={"threads": 2})
    follow(con, 2)
    running = threading.Thread(target=lambda: con.execute(
        "SELECT count(DISTINCT hash(range % 1000003)) FROM range(40000000)").fetchall())
    running.start()
    time.sleep(0.2)
    share.write_text("1\n")
    worker = threads.refresh()
    assert worker is not None and running.is_alive()  # back while the query still runs: it did not wait
    assert threads.refresh() is None  # one at a time
    running.join()
    worker.join()
    assert threads_of(con) == 1


def test_the_share_file_follows_the_tasks_of_the_run(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(launch, "cores", lambda: 2)
    with launch._slot():
        path = Path(str(launch._share_file))
        assert path.read_text() == "2\n"
        with launch._slot():
            assert path.read_text() == "1\n"
        assert path.read_text() == "2\n"


def outlives_its_sibling(argv: list[str]) -> int:
    """A task process: its connection has 1 thread while the sibling runs, then (once the sibling
    ended) the run's 2; prints what it saw."""
    seen_one, seen = Path(argv[0]), []
    con = duckdb.connect(config={"threads": 2})
    follow(con, 2)
    for wanted in (1, 2):
        deadline = time.monotonic() + 20
        while threads_of(con) != wanted and time.monotonic() < deadline:
            time.sleep(0.05)
        seen.append(threads_of(con))
        seen_one.write_text("yes")
    print(*seen)
    return 0


def waits_for_its_sibling(argv: list[str]) -> int:
    deadline = time.monotonic() + 20
    while not Path(argv[0]).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return 0


def test_a_task_that_outlives_its_sibling_takes_over_its_core(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(launch, "cores", lambda: 2)
    flag, results = tmp_path / "seen_one", {}

    def first() -> None:
        results["first"] = run_phase_process(outlives_its_sibling, [str(flag)])

    runner = threading.Thread(target=first)
    runner.start()
    time.sleep(0.3)
    assert run_phase_process(waits_for_its_sibling, [str(flag)]).returncode == 0
    runner.join()
    assert (results["first"].returncode, results["first"].stdout) == (0, "1 2\n")
