"""Run one task of the pipeline in its own process:

    python -m phases.engine.runner --root ROOT PHASE SOURCE [TABLE]

It clears the task's folder, calls the phase function, describes the artifacts,
writes the manifest last and atomically, and records the run in the history
store. Any failure prints one clear line to stderr and exits non-zero, so doit
fails this task only."""

from __future__ import annotations

import argparse
import ctypes
import dataclasses
import hashlib
import importlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from doit.exceptions import TaskFailed

from phases.core.context import PhaseOutput, SourceContext, TableContext, TaskContext
from phases.core.dag import PhaseSpec
from phases.core.errors import DataraumError, InputError, PhaseError
from phases.core.layout import manifest_path, stats_path, task_dir, task_name
from phases.core.manifest import MANIFEST_NAME, Artifact, Failure, Manifest, file_sha256, read_manifest, write_manifest
from phases.core.redact import redact
from phases.core.sources import find_table
from phases.engine.integrity import record_stats
from phases.engine.launch import PARENT_ENV, Finished, run_phase_process
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
            settings_origins=project.settings_origins(spec),
        )
    return SourceContext(
        root=project.root, pipeline=project.pipeline, spec=spec, source=config, tables=tables, out_dir=out_dir,
        settings=settings, runtime=project.runtime, upstream=upstream, left_out=dict(sorted(left_out.items())),
        settings_origins=project.settings_origins(spec),
    )


def load_function(dotted: str) -> Callable[[Any], PhaseOutput]:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def describe_artifacts(out_dir: Path, files: Mapping[str, str]) -> dict[str, Artifact]:
    """Digest every artifact; Parquet files also get their row count and schema (read with a
    DuckDB connection opened only when there is one: most phases write JSON alone)."""
    described = {}
    con = None
    try:
        for name, file_name in sorted(files.items()):
            path = out_dir / file_name
            if not path.is_file():
                raise PhaseError(f"output {name!r}: the phase did not write {path.name} (pipeline.yaml declares it)")
            rows = columns = None
            if path.suffix == ".parquet":
                if con is None:
                    import duckdb

                    con = duckdb.connect()
                counted = con.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchone()
                assert counted is not None  # count(*) always returns one row
                rows = counted[0]
                schema = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
                columns = tuple((row[0], row[1]) for row in schema)
            described[name] = Artifact(
                path=file_name, sha256=file_sha256(path), bytes=path.stat().st_size, rows=rows, columns=columns
            )
    finally:
        if con is not None:
            con.close()
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


PR_SET_PDEATHSIG = 1  # prctl(2) option: the signal this process gets when its parent dies


@dataclass(frozen=True)
class ErrorRecord:
    """A failed task in one line's worth of parts: what broke, where, and what to do."""

    task: str
    kind: str  # the exception's class name
    message: str
    expected: bool  # one of the project's own errors, whose message is written for users
    where: str | None = None  # file:line of the innermost frame in the project's code
    hint: str | None = None

    @classmethod
    def of(cls, task: str, exc: BaseException, root: Path) -> ErrorRecord:
        message = redact(_relative(str(exc).strip().splitlines()[0] if str(exc).strip() else "", root))
        frames = [f for f in traceback.extract_tb(exc.__traceback__)
                  if Path(f.filename).is_relative_to(root) or "/phases/" in f.filename]
        where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else None
        return cls(task, type(exc).__name__, message, isinstance(exc, DataraumError), where, _hint(exc))

    def line(self) -> str:
        if self.expected:
            text = f"{self.task} failed: {self.message}"
        else:
            text = f"{self.task} failed with an unexpected {self.kind}: {self.message}"
            text += f" (at {self.where})" if self.where else ""
        return text + (f"; {self.hint}" if self.hint else "")


def _hint(exc: BaseException) -> str | None:
    text = str(exc)
    if "max_temp_directory_size" in text:
        return "the task's spill reached duckdb.spill_limit in config/runtime.yaml; raise it if the disk has room"
    if type(exc).__name__ == "OutOfMemoryException" or "Out of Memory" in text:
        return "raise duckdb.memory_limit in config/runtime.yaml, or free memory on this machine"
    if isinstance(exc, MemoryError):
        return "the phase ran out of memory; raise duckdb.memory_limit or free memory"
    return None


def run_task(root: Path, phase: str, source: str, table: str | None) -> Manifest:
    """Run one task in this process, record it in the history, return its manifest or raise.
    Unusable input (InputError, or an upstream that recorded one) is a result, not a crash:
    the task writes a manifest holding the failure, so doit counts it done until its input
    changes and the source's other tables go on."""
    started = time.time()
    project = load_project(root, check_functions=False, check_settings=False)
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
    """The task's result when its input cannot be used: no artifacts, the failure, swapped in
    (the old output described input that is gone)."""
    staging = folder.with_name(f".{folder.name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    phase, source, table = names
    write_manifest(staging, phase, source, table, {}, {}, failed=failure)
    _swap_in(staging, folder)


def _relative(message: str, root: Path) -> str:
    """Messages name files relative to the project, so manifests stay the same wherever it lives."""
    return message.replace(f"{root}/", "")


def _produce(project: Project, ctx: TableContext | SourceContext) -> PhaseOutput:
    """Run the phase into a fresh staging folder, write the manifest there last, then swap it in
    for the task's folder: a phase that fails (bad settings, a crash, a kill) leaves the last
    good output in place, and doit, which forgets a failed task's success, reruns it."""
    final = ctx.out_dir
    staging = final.with_name(f".{final.name}.staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    source_file = ctx.table.path if isinstance(ctx, TableContext) and not ctx.spec.inputs else None
    before = _file_state(source_file)
    output = load_function(ctx.spec.function)(dataclasses.replace(ctx, out_dir=staging))
    if _file_state(source_file) != before:
        raise PhaseError(f"{_relative(str(source_file), ctx.root)}: the file changed while it was read; "
                         "run again once it is complete")
    shutil.rmtree(staging / ".duckdb_tmp", ignore_errors=True)
    files = {name: project.artifact(name).file for name in ctx.spec.outputs}
    artifacts = describe_artifacts(staging, files)
    table = ctx.table.name if isinstance(ctx, TableContext) else None
    write_manifest(staging, ctx.spec.name, ctx.source.name, table, artifacts, output.summary)
    _swap_in(staging, final)
    record_stats(read_manifest(final / MANIFEST_NAME), stats_path(ctx.root, ctx.source.name, ctx.spec.name, table))
    return output


def _peak_rss_mb() -> float | None:
    """This process's peak resident memory in MB (Linux reports KB, macOS bytes)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (2**20 if sys.platform == "darwin" else 2**10), 1)


def _file_state(path: Path | None) -> tuple[int, int] | None:
    """Size and modification time of the file a table's first phase reads (None: no such file)."""
    if path is None:
        return None
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def _swap_in(staging: Path, final: Path) -> None:
    """Replace `final` with `staging`. Between the two renames `final` is missing, never half
    written: a crash there makes doit rerun the task (its manifest, the target, is gone)."""
    old = final.with_name(f".{final.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    staging.rename(final)
    shutil.rmtree(old, ignore_errors=True)


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
        engine = store.open_history(project.root, project.runtime)
        manifest_text = None
        if output is not None:
            manifest_text = manifest_path(project.root, source, phase, table).read_text(encoding="utf-8")
        store.record_checkpoint(engine, store.Checkpoint(
            task=task_name(phase, source, table), source=source, phase=phase, table_name=table,
            started_at=datetime.fromtimestamp(started, UTC), finished_at=datetime.fromtimestamp(finished, UTC),
            duration_s=round(finished - started, 3), success=output is not None,
            input_hash=input_hash(project, ctx) if ctx else "", output_summary=manifest_text, error=error,
            peak_rss_mb=_peak_rss_mb(),
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
    parser.add_argument("--error-file", type=Path, help="where to write the failure as a JSON error record")
    return parser


def run_in_subprocess(command: list[str]) -> TaskFailed | None:
    """The doit action of every task: run the phase in a process of its own (see
    phases.engine.launch), so that a crash or an out-of-memory kill ends only that process
    and fails only this task. Module-level with plain arguments, so it pickles under any
    multiprocessing start method. `command` is the runner's command line."""
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="dataraum-error-") as scratch:
        error_file = Path(scratch) / "error.json"
        proc = run_phase_process(main, [*command[3:], "--error-file", str(error_file)])
        sys.stdout.write(proc.stdout)
        sys.stderr.write(proc.stderr)
        if proc.returncode < 0:
            name = signal.Signals(-proc.returncode).name
            hint = " (the operating system may have run out of memory)" if name == "SIGKILL" else ""
            message = f"the phase process was killed by {name}{hint}; its task is not done"
            record_killed(command[3:], started, message)
            return TaskFailed(message)
        if proc.returncode > 0:
            return TaskFailed(_error_line(error_file, proc))
    return None


def _error_line(error_file: Path, proc: Finished) -> str:
    """The failure as one clear line: the runner's error record, else the last line it printed."""
    try:
        return ErrorRecord(**json.loads(error_file.read_text(encoding="utf-8"))).line()
    except (OSError, ValueError, TypeError):
        lines = proc.stderr.strip().splitlines()
        return lines[-1] if lines else f"the phase process exited with status {proc.returncode}"


def runner_command(project: Project, spec: PhaseSpec, source: str, table: str | None) -> list[str]:
    command = [sys.executable, "-m", "phases.engine.runner", "--root", str(project.root), spec.name, source]
    return command + ([table] if table is not None else [])


def record_killed(argv: list[str], started: float, error: str) -> None:
    """History for a runner process that was killed before it could record itself."""
    args = _parser().parse_args(argv)
    try:
        project = load_project(args.root.resolve(), check_functions=False, check_settings=False)
    except DataraumError:
        return
    _record(project, started, (args.phase, args.source, args.table), None, None, error=error)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _die_with_parent()
    root = args.root.resolve()
    sys.path.insert(0, str(root))  # a project may keep its own phase modules at its root
    name = task_name(args.phase, args.source, args.table)
    try:
        manifest = run_task(root, args.phase, args.source, args.table)
        if manifest.failed is not None:
            told = "failed" if manifest.failed.task == name else f"not run: {manifest.failed.task} failed"
            print(f"{name} {told}: {manifest.failed.reason} (the source's other tables go on)", file=sys.stderr)
        return 0
    except Exception as exc:
        if not isinstance(exc, DataraumError):  # a bug in a phase: keep the traceback for whoever fixes it
            traceback.print_exc(file=sys.stderr)
        record = ErrorRecord.of(name, exc, root)
        print(record.line(), file=sys.stderr)
        if args.error_file is not None:
            args.error_file.write_text(json.dumps(dataclasses.asdict(record)), encoding="utf-8")
    return 1


def _die_with_parent() -> None:
    """Ask Linux to kill this process when the process that started it dies (doit killed with
    SIGKILL or SIGTERM), so no phase runs on as an orphan; elsewhere a no-op. If that parent is
    already gone, stop now."""
    expected = os.environ.get(PARENT_ENV)
    if expected is None or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != int(expected):
        os._exit(1)


if __name__ == "__main__":
    sys.exit(main())
