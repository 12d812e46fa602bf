"""`dataraum run`: the asked phases and what they need, with a live view on a terminal and one
line per event in a pipe, then a summary with the path to each context document."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.text import Text

from phases.engine import dask_executor
from phases.engine.launch import first_run, start_warm
from phases.engine.reporter import context_line, summary_line
from phases.interfaces import api
from phases.interfaces.cli_common import note, options, project_root
from phases.interfaces.live import LiveView, PlainLines
from phases.interfaces.terminal import console


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def summary(result: api.RunResult, debug: bool) -> list[str]:
    lines = [summary_line(result.count("ran"), result.count("up-to-date"), result.count("failed"),
                          result.count("blocked", "not-run"), result.wall_s)]
    for task in result.failed:
        lines.append(f"failed: {task.task}: {task.error}")
        if debug and task.stderr.strip():
            lines.append(task.stderr.rstrip())
    blocked = [t.task for t in result.tasks if t.outcome == "blocked"]
    if blocked:
        lines.append(f"not run because an upstream task failed: {', '.join(blocked)}")
    stopped = [t.task for t in result.tasks if t.outcome == "not-run"]
    if stopped:
        lines.append(f"not started after the first failure ({len(stopped)} task(s); without --fail-fast the "
                     "independent work goes on)")
    lines += [f"doit: {error}" for error in result.errors]
    lines += [f"skipped source {name}: {problem}" for name, problem in result.skipped.items()]
    lines += [context_line(where, _shown(where.path)) for where in result.contexts]
    return lines


def _target(ctx: click.Context, path: Path | None, sources: tuple[str, ...]) -> tuple[Path, tuple[str, ...]]:
    """The project and sources to run: PATH's (see api.source_for_path), else the project's."""
    if path is None:
        return project_root(ctx), sources
    if sources:
        raise click.UsageError("give either PATH or --source, not both")
    found = api.source_for_path(path, root=options(ctx).root)
    if found.created:
        note(f"project: created {_shown(found.root)} for {path} (its state lives there, beside the data)")
    elif found.added:
        note(f"project: {_shown(found.root)}; added source {found.source} for {path}")
    else:
        note(f"project: {_shown(found.root)}" + (f", source {found.source}" if found.source else ""))
    return found.root, (found.source,) if found.source else ()


@click.command()
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--source", "-s", "sources", multiple=True,
              help="A source of the project (repeatable). Default: all.")
@click.option("--phase", "-p", "phases", multiple=True,
              help="Run this phase and what it needs (repeatable). Default: every enabled phase.")
@click.option("--table", "-t", "tables", multiple=True,
              help="Only this table's per-table tasks, plus the per-source phases given with --phase (repeatable).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=api.DEFAULT_PARALLEL, show_default=True,
              help="Tasks at a time (doit's -n).")
@click.option("--fail-fast", is_flag=True,
              help="Stop at the first failure (default: a failure stops only the tasks that need its output).")
@click.option("--continue", "keep_going", is_flag=True, hidden=True, help="The default; kept for old scripts.")
@click.option("--force", is_flag=True, help="Rerun the asked tasks even if they are up to date.")
@click.option("--events", type=click.Path(dir_okay=False, path_type=Path),
              help="Write one JSON object per task event to this file.")
@click.option("--plain", is_flag=True, help="Plain lines even on a terminal.")
@click.option("--executor", type=click.Choice(["local", "dask"]),
              help="Where phases run: here, or on a Dask cluster (default: executor in config/runtime.yaml).")
@click.option("--scheduler", metavar="ADDRESS",
              help="The Dask scheduler, e.g. tcp://head:8786 (implies --executor dask; without it a LocalCluster).")
@click.pass_context
def run(ctx: click.Context, path: Path | None, sources: tuple[str, ...], phases: tuple[str, ...],
        tables: tuple[str, ...], jobs: int, fail_fast: bool, keep_going: bool, force: bool, events: Path | None,
        plain: bool, executor: str | None, scheduler: str | None) -> None:
    """Run the asked phases for the asked sources, and everything they need.

    With PATH, profile a folder of CSV files (or one file): outside a project, in a
    project created at PATH/.dataraum, so the state lives beside the data; the
    folder becomes a source named after it. With --root, it becomes a source of that
    project (kept in state/added_sources.yaml).

    \b
    Examples:
      dataraum run -j 4
      dataraum run --source finance_example --phase typing
      dataraum run --phase import --force --events events.jsonl
      dataraum run ~/exports/sales_2024
      dataraum run -j 32 --executor dask --scheduler tcp://head:8786
    """
    if fail_fast and keep_going:
        raise click.UsageError("give either --fail-fast or --continue, not both")
    root, chosen_sources = _target(ctx, path, sources)
    if executor == "local" and scheduler:
        raise click.UsageError("--scheduler is for --executor dask")
    cluster = dask_executor.prepare(root, executor, scheduler)  # an unreachable scheduler stops here, exit 2
    if cluster is not None:
        note(dask_executor.describe(cluster))
    elif force or first_run(root):
        # Tasks will run here: the task processes' server imports the phases while this process
        # loads the project. A rerun may have nothing to do and starts it only when a task needs it.
        start_warm()
    out = console()
    view: LiveView | PlainLines = (LiveView(out, jobs) if out.is_terminal and not plain
                                   else PlainLines(sys.stdout))
    sink = events.open("w", encoding="utf-8") if events else None

    def on_event(event: api.TaskEvent) -> None:
        view(event)
        if sink is not None:
            sink.write(json.dumps(event.to_json()) + "\n")
            sink.flush()

    try:
        result = api.run_pipeline(
            chosen_sources or None, tables or None, phases or None, skip_completed=not force, max_parallel=jobs,
            fail_fast=fail_fast, root=root, on_event=on_event,
        )
    finally:
        view.close()
        if sink is not None:
            sink.close()
        dask_executor.shutdown()
    lines = summary(result, options(ctx).debug)
    if out.is_terminal:
        styles = {"failed:": "red", "not run": "red", "skipped": "yellow", "context": "bold"}
        for line in lines:
            style = next((s for prefix, s in styles.items() if line.startswith(prefix)), "")
            out.print(Text(line, style=style), overflow="fold")
    else:  # whole lines in a pipe, for grep
        for line in lines:
            click.echo(line)
    ctx.exit(result.exit_code)
