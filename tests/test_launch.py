"""The warm task processes (phases.engine.launch), for real: forked from multiprocessing's
forkserver, their return code, output and death reported as a fresh interpreter's would be."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from phases.engine.launch import _exit_code, run_phase_process


def says_and_returns(argv: list[str]) -> int:
    print(f"out {argv[0]}")
    print(f"err {argv[0]}", file=sys.stderr)
    return int(argv[0])


def killed(argv: list[str]) -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return 0


def test_a_task_process_returns_its_code_and_its_output():
    for code in (0, 3):
        finished = run_phase_process(says_and_returns, [str(code)])
        assert (finished.returncode, finished.stdout, finished.stderr) == (code, f"out {code}\n", f"err {code}\n")


def test_a_killed_task_process_reports_the_signal():
    assert run_phase_process(killed, []).returncode == -signal.SIGKILL


def test_the_task_process_own_word_wins_over_a_status_the_forkserver_lost(tmp_path: Path):
    status = tmp_path / "status"
    assert _exit_code(status, 255) == 255  # no word of its own: killed, or never ran
    status.write_text("0", encoding="ascii")
    assert _exit_code(status, 255) == 0  # CPython issue 140867: 255 for a child that ended well
