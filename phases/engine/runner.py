"""Run one task of the pipeline in its own process:

    python -m phases.engine.runner --root ROOT PHASE SOURCE [TABLE]

It clears the task's folder, calls the phase function, describes the artifacts,
writes the manifest last and atomically, and records the run in the history
store. Any failure prints one clear line to stderr and exits non-zero, so doit
fails this task only."""

from __future__ import annotations

import argparse
import hashlib
import importlib
import shutil
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from doit.exceptions import TaskFailed

from phases.core.context import PhaseOutput, SourceContext, TableContext, TaskContext
from phases.core.dag import PhaseSpec
from phases.core.errors import DataraumError, InputError, PhaseError
from phases.core.layout import HISTORY_DB, manifest_path, state_dir, task_dir, task_name
from phases.core.manifest import MANIFEST_NAME, Artifact, Failure, Manifest, file_sha256, read_manifest, write_manifest
from phases.core.sources import find_table
from phases.engine.project import Project, load_project


class UpstreamFailed(Exception):
    """A table task whose upstream recorded a failure: it records the same failure, unrun."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(f"{failure.task} failed: {failure.reason}")
        self.failure = failure


def build_context(project: Project, phase: str, source: str, table: str | None) -> TableContext | SourceContext:
    """The context a phase function receives: a TableContext for a table task, else a
    SourceContext over the tables whose inputs did not fail."""
    spec = project.pipeline.phase(phase)
    if (spec.scope == "table") != (table is not None):
        raise PhaseError(f"phase {phase!r} has scope {spec.scope!r}: give a table name exactly when scope is 'table'")
    tables = project.tables(source)
    upstream: dict[str, dict[str | None, Manifest]] = {}
    left_out: dict[str, Failure] = {}
    for path in project.upstream_manifests(spec, source, table):
        manifest = read_manifest(path)
        if manifest.failed is not None and manifest.table is not None:
            if table is not None:
                raise UpstreamFailed(manifest.failed)
            left_out.setdefault(manifest.table, manifest.failed)
        upstream.setdefault(manifest.phase, {})[manifest.table] = manifest
    if left_out:
        if len(left_out) == len(tables):
            raise PhaseError(f"no table of source {source!r} can be used: "
                             + "; ".join(f"{f.task} failed: {f.reason}" for f in left_out.values()))
        tables = tuple(t for t in tables if t.name not in left_out)
        upstream = {p: {t: m for t, m in by.items() if t not in left_out} for p, by in upstream.items()}
    config, settings = project.source(source), project.phase_settings(spec)
    out_dir = task_dir(project.root, source, phase, table)
    if table is not None:
        return TableContext(
            root=project.root, pipeline=project.pipeline, spec=spec, source=config, tables=tables, out_dir=out_dir,
            settings=settings, runtime=project.runtime, upstream=upstream, table=find_table(tables, table),
        )
    return SourceContext(
        root=project.root, pipeline=project.pipeline, spec=spec, source=config, tables=tables, out_dir=out_dir,
        settings=settings, runtime=project.runtime, upstream=upstream, left_out=dict(sorted(left_out.items())),
    )


def load_function(dotted: str) -> Callable[[Any], PhaseOutput]:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def describe_artifacts(out_dir: Path, files: Mapping[str, str]) -> dict[str, Artifact]:
    """Digest every artifact; Parquet files also get their row count and schema."""
    import duckdb

    described = {}
    with duckdb.connect() as con:
        for name, file_name in sorted(files.items()):
            path = out_dir / file_name
            if not path.is_file():
                raise PhaseError(f"output {name!r}: the phase did not write {path.name} (pipeline.yaml declares it)")
            rows = columns = None
            if path.suffix == ".parquet":
                counted = con.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchone()
                assert counted is not None  # count(*) always returns one row
                rows = counted[0]
                schema = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
                columns = tuple((row[0], row[1]) for row in schema)
            described[name] = Artifact(
                path=file_name, sha256=file_sha256(path), bytes=path.stat().st_size, rows=rows, columns=columns
            )
    return described


def input_hash(project: Project, ctx: TaskContext) -> str:
    digest = hashlib.sha256()
    table = ctx.table if isinstance(ctx, TableContext) else None
    inputs = project.upstream_manifests(ctx.spec, ctx.source.name, table.name if table else None)
    if table is not None and not ctx.spec.inputs:
        inputs.insert(0, table.path)
    for path in inputs:
        digest.update(file_sha256(path).encode())
    return digest.hexdigest()


def run_task(root: Path, phase: str, source: str, table: str | None) -> Manifest:
    """Run one task in this process, record it in the history, return its manifest or raise.
    Unusable input (InputError, or an upstream that recorded one) is a result, not a crash:
    the task writes a manifest holding the failure, so doit counts it done until its input
    changes and the source's other tables go on."""
    started = time.time()
    project = load_project(root, check_functions=False)
    ctx = None
    names = (phase, source, table)
    try:
        ctx = build_context(project, phase, source, table)
        output = _produce(project, ctx)
    except (InputError, UpstreamFailed) as exc:
        own = task_name(phase, source, table)
        failure = exc.failure if isinstance(exc, UpstreamFailed) else Failure(own, _relative(str(exc), root))
        _record(project, started, names, ctx, None, error=f"{failure.task} failed: {failure.reason}")
        _record_failure(task_dir(root, source, phase, table), names, failure)
        return read_manifest(manifest_path(root, source, phase, table))
    except BaseException as exc:
        _record(project, started, names, ctx, None, error=_one_line(exc))
        raise
    _record(project, started, names, ctx, output)
    return read_manifest(manifest_path(root, source, phase, table))


def _record_failure(folder: Path, names: tuple[str, str, str | None], failure: Failure) -> None:
    """The task's result when its input cannot be used: no artifacts, the failure, written last."""
    (folder / MANIFEST_NAME).unlink(missing_ok=True)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    phase, source, table = names
    write_manifest(folder, phase, source, table, {}, {}, failed=failure)


def _relative(message: str, root: Path) -> str:
    """Messages name files relative to the project, so manifests stay the same wherever it lives."""
    return message.replace(f"{root}/", "")


def _produce(project: Project, ctx: TaskContext) -> PhaseOutput:
    """Clear the task's folder, call the phase, then write the manifest last."""
    # A stale manifest must never describe half-rewritten artifacts: remove it first.
    (ctx.out_dir / MANIFEST_NAME).unlink(missing_ok=True)
    shutil.rmtree(ctx.out_dir, ignore_errors=True)
    ctx.out_dir.mkdir(parents=True)
    output = load_function(ctx.spec.function)(ctx)
    shutil.rmtree(ctx.out_dir / ".duckdb_tmp", ignore_errors=True)
    files = {name: project.artifact(name).file for name in ctx.spec.outputs}
    artifacts = describe_artifacts(ctx.out_dir, files)
    table = ctx.table.name if isinstance(ctx, TableContext) else None
    write_manifest(ctx.out_dir, ctx.spec.name, ctx.source.name, table, artifacts, output.summary)
    return output


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, DataraumError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _record(project: Project, started: float, names: tuple[str, str, str | None], ctx: TaskContext | None,
            output: PhaseOutput | None, error: str | None = None) -> None:
    """Write the run history; a history failure is reported but never fails the task."""
    from phases.engine import store

    phase, source, table = names
    finished = time.time()
    try:
        engine = store.open_store(state_dir(project.root) / HISTORY_DB)
        manifest_text = None
        if output is not None:
            manifest_text = manifest_path(project.root, source, phase, table).read_text(encoding="utf-8")
        store.record_checkpoint(engine, store.Checkpoint(
            task=task_name(phase, source, table), source=source, phase=phase, table_name=table,
            started_at=datetime.fromtimestamp(started, UTC), finished_at=datetime.fromtimestamp(finished, UTC),
            duration_s=round(finished - started, 3), success=output is not None,
            input_hash=input_hash(project, ctx) if ctx else "", output_summary=manifest_text, error=error,
        ))
        if output is not None and manifest_text is not None:
            file = ctx.table.path.name if isinstance(ctx, TableContext) else None
            store.record_catalog(
                engine, source, project.source(source).path, table, file, output.catalog_table, output.catalog_columns,
            )
            if output.scores:
                digest = hashlib.sha256(manifest_text.encode()).hexdigest()
                store.record_scores(engine, source, phase, digest, output.scores)
        engine.dispose()
    except Exception as exc:  # history is a record, not the result: warn and go on
        print(f"warning: could not record the run history: {exc}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m phases.engine.runner", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="project root (holds config/ and state/)")
    parser.add_argument("phase")
    parser.add_argument("source")
    parser.add_argument("table", nargs="?")
    return parser


def run_in_subprocess(command: list[str]) -> TaskFailed | None:
    """The doit action of every task: run the phase in a child process, so that a
    crash or an out-of-memory kill ends only that child and fails only this task
    (a killed doit worker would hang `doit -n`). Module-level with plain arguments,
    so it pickles under any multiprocessing start method."""
    started = time.time()
    proc = subprocess.run(command, capture_output=True, text=True)
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    if proc.returncode < 0:
        name = signal.Signals(-proc.returncode).name
        hint = " (the operating system may have run out of memory)" if name == "SIGKILL" else ""
        message = f"the phase process was killed by {name}{hint}; its task is not done"
        record_killed(command[3:], started, message)
        return TaskFailed(message)
    if proc.returncode > 0:
        lines = proc.stderr.strip().splitlines()
        return TaskFailed(lines[-1] if lines else f"the phase process exited with status {proc.returncode}")
    return None


def runner_command(project: Project, spec: PhaseSpec, source: str, table: str | None) -> list[str]:
    command = [sys.executable, "-m", "phases.engine.runner", "--root", str(project.root), spec.name, source]
    return command + ([table] if table is not None else [])


def record_killed(argv: list[str], started: float, error: str) -> None:
    """History for a runner process that was killed before it could record itself."""
    args = _parser().parse_args(argv)
    try:
        project = load_project(args.root.resolve(), check_functions=False)
    except DataraumError:
        return
    _record(project, started, (args.phase, args.source, args.table), None, None, error=error)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    root = args.root.resolve()
    sys.path.insert(0, str(root))  # a project may keep its own phase modules at its root
    name = task_name(args.phase, args.source, args.table)
    try:
        manifest = run_task(root, args.phase, args.source, args.table)
        if manifest.failed is not None:
            told = "failed" if manifest.failed.task == name else f"not run: {manifest.failed.task} failed"
            print(f"{name} {told}: {manifest.failed.reason} (the source's other tables go on)", file=sys.stderr)
        return 0
    except DataraumError as exc:
        print(f"{name} failed: {exc}", file=sys.stderr)
    except Exception as exc:  # a bug in a phase: keep the traceback for whoever fixes it
        traceback.print_exc(file=sys.stderr)
        print(f"{name} failed with an unexpected error: {_one_line(exc)}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
