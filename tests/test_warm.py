"""The warm server of a run, for real: its task processes start with the phases imported, it
restarts when the project's code changes (never under a running task), and a module that
will not import costs only its own task."""

from __future__ import annotations

import multiprocessing.forkserver
import os
import subprocess
import sys
from pathlib import Path

import pytest

from phases.engine import dodo, launch, warm

REPO = Path(__file__).resolve().parent.parent


def imported_phases(argv: list[str]) -> int:
    """Print which of the named modules this process had imported before it began."""
    print(" ".join(name for name in argv if name in sys.modules))
    return 0


def says_hello(argv: list[str]) -> int:
    print("hello", *argv)
    return 0


def server_pid() -> int | None:
    return multiprocessing.forkserver._forkserver._forkserver_pid  # type: ignore[attr-defined]


def test_a_task_process_starts_with_the_phases_and_libraries_already_imported():
    wanted = ["duckdb", "sqlalchemy.orm", "phases.engine.runner", "phases.engine.store", "phases.profile.statistics"]
    finished = launch.run_phase_process(imported_phases, wanted)
    assert finished.returncode == 0
    assert finished.stdout.split() == wanted


def test_every_builtin_phase_module_is_preloaded():
    modules = warm.builtin_phase_modules()
    assert "phases.profile.statistics" in modules and "phases.ingest.csv_import" in modules
    finished = launch.run_phase_process(imported_phases, list(modules))
    assert finished.stdout.split() == list(modules)


def test_the_server_restarts_when_the_code_changes(monkeypatch: pytest.MonkeyPatch):
    assert launch.run_phase_process(says_hello, ["before"]).stdout == "hello before\n"
    before = server_pid()
    monkeypatch.setattr(launch, "code_fingerprint", lambda: "an edited checkout")
    assert launch.run_phase_process(says_hello, ["after"]).stdout == "hello after\n"
    assert server_pid() not in (None, before)


def test_changed_code_under_a_running_task_gets_a_fresh_interpreter_not_a_stopped_server(
        monkeypatch: pytest.MonkeyPatch):
    launch.run_phase_process(says_hello, ["warm"])
    before = server_pid()
    monkeypatch.setattr(launch, "code_fingerprint", lambda: "edited while a task runs")
    monkeypatch.setattr(launch, "_running", 1)  # another task of this process still runs from the server
    finished = launch.run_phase_process(says_hello, ["spawned"])
    assert (finished.returncode, finished.stdout) == (0, "hello spawned\n")
    assert server_pid() == before


def test_a_module_that_will_not_import_is_reported_and_the_rest_still_load(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "broken_phase.py").write_text("raise RuntimeError('a bug at import')\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(warm, "builtin_phase_modules", lambda: ("broken_phase", "phases.engine.integrity"))
    assert warm.preload() == ["broken_phase"]
    assert "phases.engine.integrity" in sys.modules


def test_the_code_fingerprint_follows_an_edit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "phase.py").write_text("x = 1\n", encoding="utf-8")
    monkeypatch.setattr(launch, "PACKAGE_DIR", tmp_path)
    first = launch.code_fingerprint()
    assert launch.code_fingerprint() == first
    (tmp_path / "phase.py").write_text("x = 22\n", encoding="utf-8")
    assert launch.code_fingerprint() != first



CALLER = """
import sys
from pathlib import Path
if __name__ != "__main__":  # what an unguarded script does each time it is imported again
    Path(sys.argv[1]).write_text("imported again", encoding="utf-8")
from phases.engine.launch import run_phase_process
from tests.test_warm import says_hello
if __name__ == "__main__":
    print(run_phase_process(says_hello, ["from a script"]).stdout, end="")
"""


def test_a_task_process_does_not_import_the_callers_main_script_again(tmp_path: Path):
    script, marker = tmp_path / "caller.py", tmp_path / "marker"
    script.write_text(CALLER, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script), str(marker)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert (proc.returncode, proc.stdout) == (0, "hello from a script\n"), proc.stderr
    assert not marker.exists()



@pytest.mark.parametrize(("args", "runs"), [
    ("", True), ("-n 4", True), ("run", True), ("typing", True), ("-n 4 typing:s.t", True), ("-v 2 run", True),
    ("list", False), ("list --all --status", False), ("info typing:s.t", False), ("forget --all", False),
    ("-v 2 list", False), ("clean import", False),
])
def test_doit_command_lines_that_run_tasks_are_told_from_those_that_do_not(args: str, runs: bool):
    assert dodo._runs_tasks(args.split()) is runs


def test_a_project_whose_tasks_never_ran_is_a_first_run(tmp_path: Path):
    assert dodo.first_run(tmp_path)
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / ".doit.sqlite").write_bytes(b"")
    assert dodo.first_run(tmp_path)
    (tmp_path / "state" / "sales").mkdir()
    assert not dodo.first_run(tmp_path)



FORKED = """
import os, sys
from phases.engine.launch import run_phase_process, start_warm
from tests.test_warm import says_hello
start_warm()
pid = os.fork()  # as doit's `-P process` workers are forked from a doit that started the server
if pid == 0:
    print(run_phase_process(says_hello, ["from a forked copy"]).stdout, end="", flush=True)
    os._exit(0)
os.waitpid(pid, 0)
print(run_phase_process(says_hello, ["from its parent"]).stdout, end="")
"""


def test_a_forked_copy_of_the_process_that_started_the_server_starts_its_own():
    proc = subprocess.run([sys.executable, "-c", FORKED], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert (proc.returncode, proc.stdout) == (0, "hello from a forked copy\nhello from its parent\n"), proc.stderr


if __name__ == "__main__":  # the fresh interpreter a task gets when the server cannot be used
    sys.exit(says_hello(sys.argv[1:]))
