"""The commands about the project itself: `init` makes one, `sources` lists, adds and removes
its sources, `serve` serves its dashboard and HTTP API."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.text import Text

from phases.interfaces import api
from phases.interfaces.cli_common import options, project_root
from phases.interfaces.terminal import console, show, table


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd())) or "."
    except ValueError:
        return str(path)


@click.command()
@click.argument("folder", required=False, default=".", type=click.Path(file_okay=False, path_type=Path))
def init(folder: Path) -> None:
    """Create a project in FOLDER (default: here): dodo.py, config/ with the default
    settings, a sources.yaml with a tiny example source, a .gitignore for state/ and
    a README. `doit -n 4` works in it at once.

    \b
    Examples:
      dataraum init shop && cd shop && doit -n 4
      dataraum init .
    """
    result = api.init_project(folder)
    where = _shown(result.root)
    click.echo(f"created a dataraum project in {where}: dodo.py, config/, data/example/, README.md, .gitignore")
    click.echo("next:")
    if result.root != Path.cwd().resolve():
        click.echo(f"  cd {where}")
    click.echo("  doit -n 4                       run the example source (or: dataraum run)")
    click.echo("  dataraum sources add FOLDER     add your own folder of CSV files")
    click.echo("  dataraum context                the context document an agent reads")


@click.group(invoke_without_command=True)
@click.pass_context
def sources(ctx: click.Context) -> None:
    """List the project's sources (the default), add a folder of CSV files, or remove
    an added one.

    \b
    Examples:
      dataraum sources
      dataraum sources add ~/exports/sales --name sales
      dataraum sources remove sales --delete-state
    """
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_sources)


@sources.command("list")
@click.pass_context
def list_sources(ctx: click.Context) -> None:
    """Each source: its folder, tables, last run and context, or why it cannot run.

    \b
    Example:
      dataraum sources list
    """
    result = api.list_sources(root=project_root(ctx))
    if not result.sources:
        click.echo("no sources yet: `dataraum sources add FOLDER` adds a folder of CSV files")
        return
    rows: list[list[str | Text]] = []
    for s in result.sources:
        state = (Text(f"cannot run: {s.problem}", style="red") if s.problem
                 else Text("context written", style="green") if s.context else Text("no context yet"))
        last = s.last_run.astimezone().strftime("%m-%d %H:%M") if s.last_run else "never"
        added = " (added)" if s.origin != "config/sources.yaml" else ""
        rows.append([s.name + added, s.path, "-" if s.tables is None else str(s.tables), last, state])
    show(console(), table(("source", "path", "tables", "last run", "state"), rows, fold=[1, 4], right=[2]))


@sources.command("add")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--name", help="The source's name. Default: from the folder's name.")
@click.pass_context
def add_source(ctx: click.Context, path: Path, name: str | None) -> None:
    """Add a folder (or one file) of CSV files as a source of the project (kept in
    state/added_sources.yaml; config/sources.yaml is left as it is).

    \b
    Example:
      dataraum sources add ~/exports/sales_2024 --name sales
    """
    result = api.add_source(path, name=name, root=project_root(ctx))
    if result.new:
        click.echo(f"added source {result.name} ({result.path}); `dataraum run --source {result.name}` runs it")
    else:
        click.echo(f"source {result.name} already has that folder ({result.path})")


@sources.command("remove")
@click.argument("name")
@click.option("--delete-state", is_flag=True, help="Also delete its artifacts (state/NAME).")
@click.pass_context
def remove_source(ctx: click.Context, name: str, delete_state: bool) -> None:
    """Remove a source that `dataraum run PATH` or `dataraum sources add` added: its tasks
    are forgotten (and with --delete-state, its state is deleted); the run history stays.

    \b
    Example:
      dataraum sources remove sales_2024 --delete-state
    """
    result = api.remove_source(name, delete_state=delete_state, root=project_root(ctx))
    deleted = f", deleted {_shown(result.deleted)}" if result.deleted else ""
    click.echo(f"removed source {result.name}: forgot {len(result.forgotten)} task(s){deleted}")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Beyond localhost it needs DATARAUM_TOKEN, and every route needs the token.")
@click.option("--port", type=click.IntRange(1, 65535), default=8765, show_default=True)
@click.option("--token-for-reads", is_flag=True, help="Ask for the token on read routes too (always beyond localhost).")
@click.option("--cors-origin", "cors_origins", multiple=True,
              help="Allow a web page of this origin to call the API (repeatable). Default: none.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=api.DEFAULT_PARALLEL, show_default=True,
              help="Tasks at a time for runs started from the dashboard or the API.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, token_for_reads: bool, cors_origins: tuple[str, ...],
          jobs: int) -> None:
    """Serve the dashboard and the HTTP API (routes under /api, documented at /docs).

    Every POST (start a run, reset) needs the bearer token printed at start, or
    the one in DATARAUM_TOKEN.

    \b
    Examples:
      dataraum serve                       http://127.0.0.1:8765/
      DATARAUM_TOKEN=... dataraum serve --host 0.0.0.0 --port 80
    """
    from phases.interfaces import server

    settings = server.server_settings(host, port, token_for_reads, cors_origins, jobs)
    root = project_root(ctx)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"dataraum: serving {root} at http://{shown}:{port}/ (API docs at /docs; Ctrl-C stops)")
    if settings.token_generated:
        click.echo(f"token for runs and resets (set DATARAUM_TOKEN to choose one): {settings.token}")
    else:
        click.echo("token: the one in DATARAUM_TOKEN")
    sys.stdout.flush()
    server.serve(settings, root)


__all__ = ["add_source", "init", "list_sources", "options", "remove_source", "serve", "sources"]
