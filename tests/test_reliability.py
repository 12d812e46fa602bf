"""Reliability with real processes and real signals (issue 14): no hang and no orphan when doit
or a phase is killed, one run at a time, the last good output kept, failures as one clear line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from phases.engine.run_lock import ProjectBusy
from phases.interfaces import api
from tests.conftest import run_doit

pytestmark = pytest.mark.slow


def children() -> dict[int, list[int]]:
    """Every live process's children, from /proc."""
    found: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z":  # a zombie has ended already
            found.setdefault(int(fields[1]), []).append(int(proc.name))
    return found


def descendants(pid: int) -> list[int]:
    tree, found, pending = children(), [], [pid]
    while pending:
        kids = tree.get(pending.pop(), [])
        found += kids
        pending += kids
    return found


def phase_processes(doit_pid: int) -> list[int]:
    """The task processes of a doit run: its grandchildren (forked by the warm server, doit's child)."""
    tree = children()
    return [task for server in tree.get(doit_pid, []) for task in tree.get(server, [])]


def alive(pids: list[int]) -> list[int]:
    tree = children()
    living = {p for kids in tree.values() for p in kids}
    return [p for p in pids if p in living]


def wait_for(condition, timeout: float = 90.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def slow_run(demo_project: Path) -> Iterator[tuple[Path, subprocess.Popen[bytes]]]:
    """A `doit -n 2` whose double tasks sleep for a minute, started and running its phases."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "doit", "-n", "2"], cwd=demo_project, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, env={**os.environ, "DEMO_SLEEP": "double=60"},
    )
    assert wait_for(lambda: (demo_project / "state/demo/count/c/manifest.json").exists()
                    and len(phase_processes(proc.pid)) == 2), "the double tasks never started"
    yield demo_project, proc
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_killing_doit_leaves_no_phase_process_running(slow_run, sig):
    _root, proc = slow_run
    started = descendants(proc.pid)
    assert len(started) >= 2
    proc.send_signal(sig)
    proc.wait(timeout=10)
    assert wait_for(lambda: not alive(started), timeout=10), alive(started)


def test_a_killed_phase_process_fails_its_task_and_the_run_ends(slow_run):
    _root, proc = slow_run
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:  # doit goes on past a failure: kill each double
        for pid in phase_processes(proc.pid):
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.2)
    output, _ = proc.communicate(timeout=60)  # no hang: doit's workers are threads
    assert proc.returncode == 2  # doit: failed tasks and a task (total) whose input failed
    assert b"the phase process was killed by SIGKILL" in output


def test_a_second_run_stops_at_once_naming_the_first_while_status_still_works(slow_run):
    root, proc = slow_run
    second = run_doit(root, "-n", "2", timeout=60)
    assert second.returncode == 2  # doit's code for a run that could not start
    assert f"another run (doit run, pid {proc.pid}" in second.stdout
    assert second.ran == set()
    with pytest.raises(ProjectBusy, match=f"another run \\(doit run, pid {proc.pid}") as busy:
        api.run_pipeline(root=root)
    assert busy.value.exit_code == 3  # `dataraum run` exits 3
    with pytest.raises(ProjectBusy):
        api.reset(phases="count", root=root)
    assert {t.task for t in api.pipeline_status(root=root).tasks if t.state == "done"} >= {"count:demo.a"}
    started = descendants(proc.pid)
    proc.kill()  # the lock dies with its holder: no stale lock to clear
    proc.wait(timeout=10)
    assert wait_for(lambda: not alive(started), timeout=10)
    assert run_doit(root, "-n", "2", timeout=120).returncode == 0


def test_a_failing_task_keeps_the_last_good_output_and_says_why_in_one_line(demo_project):
    assert run_doit(demo_project, "-n", "2").returncode == 0
    good = (demo_project / "state/demo/double/a/double.txt").read_text()
    (demo_project / "data" / "a.csv").write_text((demo_project / "data" / "a.csv").read_text() + "9,z\n")
    failed = run_doit(demo_project, env={"DEMO_FAIL": "double"})
    assert failed.returncode == 2  # doit: a failed task and the total that could not run after it
    assert "double:demo.a failed with an unexpected ValueError: a bug in double (at demo_phases.py:20)" \
        in failed.stdout + failed.stderr
    assert (demo_project / "state/demo/double/a/double.txt").read_text() == good  # the last good output
    assert (demo_project / "state/demo/double/a/manifest.json").exists()
    fixed = run_doit(demo_project)
    assert fixed.returncode == 0
    assert "double:demo.a" in fixed.ran


@pytest.mark.parametrize("damage", ["truncate", "delete", "same-size edit"])
def test_a_damaged_artifact_is_noticed_and_its_task_alone_reruns(demo_project, damage):
    assert run_doit(demo_project, "-n", "2").returncode == 0
    artifact = demo_project / "state/demo/count/a/count.txt"
    good = artifact.read_text()
    if damage == "truncate":
        artifact.write_text("")
    elif damage == "delete":
        artifact.unlink()
    else:
        artifact.write_text(str(int(good) + 1 if int(good) < 9 else int(good) - 1) + "\n")
    found = api.verify(root=demo_project)
    assert [(d.task, d.file.name) for d in found.damaged] == [("count:demo.a", "count.txt")]
    assert found.exit_code == 1
    status = {t.task: t for t in api.pipeline_status(root=demo_project).tasks}
    assert status["count:demo.a"].state == "will run"
    assert "no longer matches its manifest: state/demo/count/a/count.txt" in str(status["count:demo.a"].reasons[0])
    rerun = run_doit(demo_project, "-n", "2")
    assert rerun.ran == {"count:demo.a"}  # the same bytes again: early cutoff spares the rest
    assert artifact.read_text() == good
    assert api.verify(deep=True, root=demo_project).damaged == ()


def test_touching_an_artifact_without_changing_it_reruns_nothing(demo_project):
    assert run_doit(demo_project, "-n", "2").returncode == 0
    (demo_project / "state/demo/total/total.txt").touch()
    assert run_doit(demo_project, "-n", "2").ran == set()


def test_a_csv_that_changes_while_it_is_read_fails_its_task_and_keeps_the_last_output(demo_project):
    assert run_doit(demo_project, "-n", "2").returncode == 0
    before = (demo_project / "state/demo/count/a/count.txt").read_text()
    csv = demo_project / "data" / "a.csv"
    csv.write_text(csv.read_text() + "7,q\n")
    changed = run_doit(demo_project, "count:demo.a", env={"DEMO_APPEND": "count"})
    assert changed.returncode == 1
    assert "count:demo.a failed: data/a.csv: the file changed while it was read" in changed.stdout + changed.stderr
    assert (demo_project / "state/demo/count/a/count.txt").read_text() == before
    assert run_doit(demo_project, "count:demo.a").returncode == 0  # read again, whole
    lines = len(csv.read_text().splitlines()) - 1
    assert (demo_project / "state/demo/count/a/count.txt").read_text().strip() == str(lines)


def test_a_moved_project_keeps_its_checkpoints(demo_project):
    assert run_doit(demo_project, "-n", "2").returncode == 0
    moved = demo_project.with_name("moved")
    demo_project.rename(moved)
    again = run_doit(moved, "-n", "2")
    assert again.returncode == 0
    assert again.ran == set()
    assert {t.state for t in api.pipeline_status(root=moved).tasks} == {"done"}
