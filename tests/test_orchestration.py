"""The doit layer, run for real in subprocesses on the tiny demo project:
invalidation, early cutoff, durable checkpoints under kill -9, and killed phases."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from phases.engine.doit_backend import DurableSqliteDB
from tests.conftest import run_doit

ALL = {
    "count:demo.a", "count:demo.b", "count:demo.c",
    "double:demo.a", "double:demo.b", "double:demo.c", "total:demo",
}

pytestmark = pytest.mark.slow


def test_a_second_run_does_nothing(demo_project):
    first = run_doit(demo_project, "-n", "2")
    assert first.returncode == 0, first.stderr
    assert first.ran == ALL
    second = run_doit(demo_project)
    assert second.ran == set()
    assert second.skipped == ALL


def test_changing_one_csv_reruns_only_its_tasks_and_the_source_tasks(demo_project):
    run_doit(demo_project)
    with (demo_project / "data" / "b.csv").open("a") as handle:
        handle.write("3,z\n")
    result = run_doit(demo_project)
    assert result.ran == {"count:demo.b", "double:demo.b", "total:demo"}
    assert (demo_project / "state/demo/total/total.txt").read_text() == "14\n"


def test_an_identical_upstream_output_does_not_rerun_dependents(demo_project):
    """Early cutoff: b.csv changes but keeps its line count, so count:demo.b reruns,
    writes a byte-identical manifest, and nothing after it reruns."""
    run_doit(demo_project)
    manifest = demo_project / "state/demo/count/b/manifest.json"
    before = manifest.read_bytes()
    (demo_project / "data" / "b.csv").write_text("id,v\n1,changed\n2,values\n")
    result = run_doit(demo_project)
    assert result.ran == {"count:demo.b"}
    assert manifest.read_bytes() == before


def test_a_config_change_reruns_only_the_phase_that_owns_it(demo_project):
    run_doit(demo_project)
    (demo_project / "config" / "total.yaml").write_text("label: changed\n")
    result = run_doit(demo_project)
    assert result.ran == {"total:demo"}


def test_a_code_change_reruns_the_phases_of_that_module(demo_project):
    run_doit(demo_project)
    code = demo_project / "demo_phases.py"
    code.write_text(code.read_text() + "\n# a harmless edit\n")
    result = run_doit(demo_project)
    assert result.ran == ALL  # all three demo phases live in demo_phases.py


def test_a_phase_killed_by_the_os_fails_its_task_without_hanging_the_run(demo_project):
    result = run_doit(demo_project, "-n", "2", "--continue", timeout=60, env={"DEMO_DIE": "double"})
    assert result.returncode != 0
    assert "double:demo.a" in result.stdout + result.stderr
    assert "killed by SIGKILL (the operating system may have run out of memory)" in result.stdout + result.stderr
    assert {"count:demo.a", "count:demo.b", "count:demo.c"} <= result.ran
    assert not (demo_project / "state/demo/double/a/manifest.json").exists()
    with sqlite3.connect(demo_project / "state/history.sqlite") as db:
        errors = db.execute("SELECT error FROM pipeline_checkpoints WHERE task = 'double:demo.a'").fetchall()
    assert errors == [("the phase process was killed by SIGKILL (the operating system may have run out of memory);"
                       " its task is not done",)]


def test_thread_mode_runs_the_same_tasks(demo_project):
    result = run_doit(demo_project, "-n", "2", "-P", "thread")
    assert result.returncode == 0, result.stderr
    assert result.ran == ALL


def committed(root: Path) -> set[str]:
    """The tasks whose success doit's dep file holds now (read-only, beside the running doit)."""
    path = root / "state" / ".doit.sqlite"
    if not path.exists():
        return set()
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            return {row[0] for row in db.execute("SELECT task_id FROM doit")}
    except sqlite3.OperationalError:  # created but not yet holding the table
        return set()


def test_finished_tasks_survive_kill_9_of_the_whole_run(demo_project):
    """The count tasks finish fast; each double sleeps. Kill the run with SIGKILL
    while doubles run: the rerun must skip the finished counts and redo the rest."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "doit", "-n", "2"], cwd=demo_project, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ, "DEMO_SLEEP": "double=30"},
    )
    counts = [demo_project / f"state/demo/count/{t}/manifest.json" for t in "abc"]
    deadline = time.monotonic() + 120
    # wait until doit has committed the three successes (a loaded machine delays them)
    while committed(demo_project) < {"count:demo.a", "count:demo.b", "count:demo.c"} \
            and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert all(p.exists() for p in counts)
    assert not (demo_project / "state/demo/double/a/manifest.json").exists()

    rerun = run_doit(demo_project, "-n", "2")
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.skipped == {"count:demo.a", "count:demo.b", "count:demo.c"}
    assert rerun.ran == {"double:demo.a", "double:demo.b", "double:demo.c", "total:demo"}


def test_the_backend_commits_a_success_before_the_run_ends(tmp_path):
    from doit.dependency import JSONCodec

    path = tmp_path / "deps.sqlite"
    db = DurableSqliteDB(str(path), JSONCodec())
    db.set("t1", "_values_:", {})
    db.set("t1", "deps:", ["a.csv"])
    db.set("t2", "_values_:", {})  # t2 has not finished saving its success
    other = DurableSqliteDB(str(path), JSONCodec())  # what a rerun after kill -9 sees
    assert other.in_("t1")
    assert other.get("t1", "deps:") == ["a.csv"]
    assert not other.in_("t2")


def test_forget_and_clean_work(demo_project):
    run_doit(demo_project)
    assert run_doit(demo_project, "forget", "total:demo").returncode == 0
    assert run_doit(demo_project).ran == {"total:demo"}
    assert run_doit(demo_project, "clean", "double").returncode == 0
    assert not (demo_project / "state/demo/double/a").exists()
    assert run_doit(demo_project).ran >= {"double:demo.a", "double:demo.b", "double:demo.c"}
