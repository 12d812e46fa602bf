"""The `dataraum` entry point's guess whether a run will run every task, so that it starts the warm
task server before importing the command line (phases.interfaces.entry)."""

from __future__ import annotations

from pathlib import Path

import pytest

from phases.engine.launch import first_run
from phases.interfaces.entry import _runs_every_task


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / "dodo.py").write_text("", encoding="utf-8")
    return tmp_path


def guess(args: str) -> bool:
    return _runs_every_task(args.split(), first_run)


@pytest.mark.parametrize("args", ["status", "run --help", "run --executor dask", "run --scheduler tcp://h:1", ""])
def test_commands_that_run_no_local_task_start_no_server(project: Path, monkeypatch, args: str):
    monkeypatch.chdir(project)
    assert not guess(args)


def test_a_project_that_never_ran_runs_every_task(project: Path, monkeypatch):
    monkeypatch.chdir(project)
    assert guess("run -j 2")


def test_a_project_that_ran_before_runs_what_changed_only_unless_forced(project: Path, monkeypatch):
    (project / "state" / "shop").mkdir(parents=True)
    monkeypatch.chdir(project)
    assert not guess("run -j 2") and guess("run --force")
    assert not guess(f"--root {project} run") and not guess(f"run {project}")


def test_a_folder_outside_any_project_gets_a_new_one_and_runs_every_task(tmp_path: Path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    monkeypatch.chdir(tmp_path)
    assert guess(f"run {data} --plain")
    hidden = data / ".dataraum"
    (hidden / "config").mkdir(parents=True)
    (hidden / "dodo.py").write_text("", encoding="utf-8")
    (hidden / "state" / "data").mkdir(parents=True)
    assert not guess(f"run {data} --plain")
