"""Compile the project's DAG into doit task dictionaries.

Each task runs its phase in a child process (`python -m phases.engine.runner ...`), so a phase
that crashes or is killed by the OS fails only its own task, and nothing relies on
fork. `file_dep` is the set of upstream manifests (plus the CSV file for import),
`targets` is the task's own manifest, and `config_changed` carries the phase's
config section and code digest, so doit reruns exactly what a change touches."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from typing import Any

from doit.tools import config_changed

from phases.core.dag import PhaseSpec
from phases.core.layout import manifest_path, stats_path, subtask_name, task_dir
from phases.core.sources import TableRef
from phases.engine.code_digest import code_digest
from phases.engine.integrity import artifacts_intact
from phases.engine.project import Project
from phases.engine.runner import run_in_subprocess, runner_command


def task_signature(project: Project, spec: PhaseSpec, source: str, table: str | None,
                   code: str) -> dict[str, Any]:
    """Everything besides input files that decides a task's output."""
    src = project.source(source)
    used: dict[str, Any] = {}
    if "csv" in spec.source_keys:
        used["csv"] = src.csv.model_dump(mode="json")
    if "overrides" in spec.source_keys:
        chosen = {table: src.overrides.get(table, {})} if table else src.overrides
        used["overrides"] = {
            t: {c: o.model_dump(mode="json") for c, o in cols.items()} for t, cols in chosen.items()
        }
    return {"code": code, "settings": project.phase_settings(spec), "source": used}


def signature_digest(project: Project, spec: PhaseSpec, source: str, table: str | None, code: str) -> str:
    """sha256 of the signature; doit stores it per task and reruns the task when it changes."""
    # YAML may hold dates; str() keeps the text stable and JSON-safe.
    text = json.dumps(task_signature(project, spec, source, table, code), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def remove_task_dir(folder: str) -> None:
    """`doit clean`: remove the task's artifacts along with its manifest."""
    shutil.rmtree(folder, ignore_errors=True)


def _task(project: Project, spec: PhaseSpec, source: str, table: TableRef | None, code: str) -> dict:
    table_name = table.name if table else None
    file_dep = project.upstream_manifests(spec, source, table_name)
    if table is not None and not spec.inputs:
        file_dep.insert(0, table.path)  # a table's first phase reads its CSV file
    what = f"table {table_name!r} of source {source!r}" if table else f"source {source!r}"
    target = manifest_path(project.root, source, spec.name, table_name)
    return {
        "basename": spec.name,
        "name": subtask_name(source, table_name),
        "doc": f"{spec.name} of {what}",
        "actions": [(run_in_subprocess, [runner_command(project, spec, source, table_name)])],
        "file_dep": [str(p) for p in file_dep],
        "targets": [str(target)],
        "uptodate": [config_changed(signature_digest(project, spec, source, table_name, code)),
                     (artifacts_intact, [str(target), str(stats_path(project.root, source, spec.name, table_name))])],
        "clean": [(remove_task_dir, [str(task_dir(project.root, source, spec.name, table_name))])],
    }


def generate_tasks(project: Project) -> Iterator[dict]:
    """One task per (enabled phase, source) or (enabled phase, table), plus a group
    task per phase so that `doit typing` runs all of its subtasks."""
    for spec in project.pipeline.enabled:
        code = code_digest(spec.module)
        yield {"basename": spec.name, "name": None, "doc": spec.description or f"phase {spec.name}"}
        for source in project.usable_sources:  # a source whose folder is gone gets no tasks
            tables = project.tables(source) if spec.scope == "table" else (None,)
            for table in tables:
                yield _task(project, spec, source, table, code)
