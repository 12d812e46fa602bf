"""Shared fixtures: throw-away project folders and a way to run doit in them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from phases.core.context import TaskContext
from phases.engine.project import load_project
from phases.engine.runner import build_context, run_task

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@dataclass
class DoitRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def ran(self) -> set[str]:
        """Tasks doit executed ('.  name' lines)."""
        return {line[3:].strip() for line in self.stdout.splitlines() if line.startswith(".  ")}

    @property
    def skipped(self) -> set[str]:
        """Tasks doit found up to date ('-- name' lines)."""
        return {line[3:].strip() for line in self.stdout.splitlines() if line.startswith("-- ")}


def run_doit(root: Path, *args: str, timeout: float = 120, env: dict[str, str] | None = None) -> DoitRun:
    proc = subprocess.run(
        [sys.executable, "-m", "doit", *args], cwd=root, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    return DoitRun(proc.returncode, proc.stdout, proc.stderr)


def make_project(target: Path, template: Path) -> Path:
    shutil.copytree(template, target, dirs_exist_ok=True)
    shutil.copy(REPO / "dodo.py", target / "dodo.py")
    return target


@pytest.fixture
def demo_project(tmp_path: Path) -> Path:
    """A three-table project of tiny test phases (tests/data/demo_project)."""
    return make_project(tmp_path / "demo", DATA / "demo_project")


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    with duckdb.connect() as connection:
        yield connection


def phase_context(root: Path, phase: str, tables: list[str], table: str | None = None, source: str = "s",
                  threads: int = 1) -> TaskContext:
    """The TaskContext the runner would build for `phase` in a project at `root` whose
    upstream manifests a test has written under state/<source>/<phase>/[<table>/]: the
    repository's config and pipeline, and a source of empty CSV files named after `tables`."""
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    for name in tables:
        (data / f"{name}.csv").touch()
    if not (root / "config").exists():
        shutil.copytree(REPO / "config", root / "config")
        (root / "config" / "sources.yaml").write_text(f"sources:\n  {source}:\n    path: data\n")
        (root / "config" / "runtime.yaml").write_text(f"duckdb:\n  threads: {threads}\n")
    ctx = build_context(load_project(root, check_functions=False), phase, source, table)
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    return ctx


TABLE_SCOPED = ("import", "typing", "statistics", "temporal", "statistical_quality")


def run_upstream(root: Path, csvs: Mapping[str, str | bytes], phases: tuple[str, ...], source: str = "s") -> None:
    """Write `csvs` (table -> CSV text) as source `source` of a project at `root` (the repository's
    config) and run `phases` for real, in-process, in the given order: table-scoped phases once
    per table, the others once."""
    (root / "data").mkdir(parents=True, exist_ok=True)
    for name, text in csvs.items():
        file = root / "data" / f"{name}.csv"
        file.write_bytes(text) if isinstance(text, bytes) else file.write_text(text)
    phase_context(root, "import", list(csvs), table=next(iter(csvs)), source=source)  # creates the project
    for phase in phases:
        for table in (sorted(csvs) if phase in TABLE_SCOPED else [None]):
            run_task(root, phase, source, table)


def write_annotations(root: Path, annotations, source: str = "s") -> None:
    """A semantic phase output written by hand (annotations.json and its manifest)."""
    from phases.core.manifest import write_manifest
    from phases.core.records import dump_json
    from phases.engine.runner import describe_artifacts

    out = root / "state" / source / "semantic"
    out.mkdir(parents=True, exist_ok=True)
    dump_json(out / "annotations.json", annotations)
    write_manifest(out, "semantic", source, None, describe_artifacts(out, {"annotations": "annotations.json"}), {})
