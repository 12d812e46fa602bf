"""The commands about the state of the tasks: status, reset, graph, verify and history."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.text import Text

from phases.engine.graph import FORMATS
from phases.engine.reporter import fmt_duration
from phases.interfaces import api
from phases.interfaces.cli_common import project_root
from phases.interfaces.terminal import console, show, status_report, table


@click.command()
@click.option("--source", "-s", help="Only this source. Default: all.")
@click.option("--tables", "by_table", is_flag=True, help="One row per table instead of folding tables.")
@click.option("--json", "as_json", is_flag=True, help="Every task with its state and reasons, as JSON.")
@click.pass_context
def status(ctx: click.Context, source: str | None, by_table: bool, as_json: bool) -> None:
    """The grid of phases by source: done, will run, failed or never run, with the
    reason each task will run, propagated downstream (unlike `doit list --status`).

    \b
    Examples:
      dataraum status
      dataraum status --source finance_example --tables
      dataraum status --json | jq '.tasks[] | select(.state != "done")'
    """
    result = api.pipeline_status(source, root=project_root(ctx))
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
        return
    out = console()
    show(out, *status_report(result, by_table, out.width))


@click.command()
@click.option("--source", "-s", "sources", multiple=True, help="Only this source (repeatable). Default: all.")
@click.option("--phase", "-p", "phases", multiple=True, help="Only this phase (repeatable). Default: all.")
@click.option("--table", "-t", "tables", multiple=True, help="Only this table's tasks (repeatable).")
@click.option("--downstream", is_flag=True, help="Also forget every task after the chosen ones.")
@click.option("--delete-artifacts", is_flag=True, help="Also delete the tasks' folders under state/.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask.")
@click.pass_context
def reset(ctx: click.Context, sources: tuple[str, ...], phases: tuple[str, ...], tables: tuple[str, ...],
          downstream: bool, delete_artifacts: bool, yes: bool) -> None:
    """Forget tasks so that they rerun (doit forget, but following dependencies).

    \b
    Examples:
      dataraum reset --phase typing --downstream
      dataraum reset --source finance_example --delete-artifacts --yes
    """
    root = project_root(ctx)

    def forget(dry_run: bool) -> api.ResetResult:
        return api.reset(sources or None, phases or None, tables or None, downstream=downstream,
                         delete_artifacts=delete_artifacts, dry_run=dry_run, root=root)

    plan = forget(dry_run=True)
    click.echo(f"Will forget {len(plan.tasks)} task(s):")
    for name in plan.tasks:
        click.echo(f"  {name}")
    for folder in plan.deleted:
        click.echo(f"  delete {folder}")
    if not yes:
        try:
            if not click.confirm("Go ahead?", default=False):
                click.echo("Nothing forgotten.")
                return
        except click.Abort:
            raise click.UsageError("reset needs a confirmation: answer at a terminal or pass --yes") from None
    done = forget(dry_run=False)
    deleted = f", deleted {len(done.deleted)} folder(s)" if done.deleted else ""
    click.echo(f"Forgot {len(done.tasks)} task(s){deleted}")


SUFFIX_FORMATS = {".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".mermaid": "mermaid"}


@click.command()
@click.option("--source", "-s", help="Colour by the status of this source. Default: all sources.")
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS),
              help="text (default), mermaid, dot, or svg/png through Graphviz's dot.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file (the format follows its suffix unless --format is given).")
@click.pass_context
def graph(ctx: click.Context, source: str | None, fmt: str | None, output: Path | None) -> None:
    """The DAG of phases, coloured by status.

    \b
    Examples:
      dataraum graph
      dataraum graph --format mermaid -o pipeline.mmd
      dataraum graph -o pipeline.svg          (needs Graphviz)
    """
    fmt = fmt or (SUFFIX_FORMATS.get(output.suffix.lower(), "text") if output else "text")
    out = sys.stdout
    if fmt == "png" and output is None:
        raise click.UsageError("PNG is binary: give -o FILE")
    result = api.pipeline_graph(source, fmt, color=output is None and out.isatty(), root=project_root(ctx))
    if output is not None:
        if isinstance(result.content, bytes):
            output.write_bytes(result.content)
        else:
            output.write_text(result.content, encoding="utf-8")
        click.echo(f"wrote {output}")
    else:
        content = result.content.decode() if isinstance(result.content, bytes) else result.content
        click.echo(content, nl=False, color=out.isatty())


@click.command()
@click.option("--deep", is_flag=True, help="Digest every artifact, not only those whose time changed.")
@click.pass_context
def verify(ctx: click.Context, deep: bool) -> None:
    """Check every task's artifacts against its manifest (a damaged task reruns at the next run).

    \b
    Example:
      dataraum verify --deep
    """
    result = api.verify(deep, root=project_root(ctx))
    for d in result.damaged:
        click.echo(f"{d.task}: {d.file} ({d.problem})")
    click.echo(f"{result.checked} task(s) checked, {len(result.damaged)} damaged artifact(s)")
    ctx.exit(result.exit_code)


@click.command()
@click.option("--source", "-s", help="Only this source.")
@click.option("--limit", "-n", type=click.IntRange(min=1), default=20, show_default=True, help="How many runs.")
@click.pass_context
def history(ctx: click.Context, source: str | None, limit: int) -> None:
    """Past task runs, newest first: when, how long, the task process's peak memory (MB),
    the result and the error.

    \b
    Example:
      dataraum history --source finance_example --limit 50
    """
    result = api.history(source, limit, root=project_root(ctx))
    if not result.entries:
        click.echo("no task has run yet")
        return
    rows = [
        (e.started_at.astimezone().strftime("%m-%d %H:%M:%S"), e.task, fmt_duration(e.duration_s),
         f"{e.peak_rss_mb:.0f}" if e.peak_rss_mb is not None else "-",
         Text("ok", style="green") if e.success else Text("FAILED", style="red"), e.error or "")
        for e in result.entries
    ]
    show(console(), table(("started", "task", "took", "peak MB", "result", "error"), rows, fold=[1, 5], right=[2, 3]))
