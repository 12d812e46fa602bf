"""The commands that read what the pipeline produced: the context document, the readiness of
the columns (and how it changed) and a table's or a column's profile. Each reads one source:
the given one, the only one, or the one that ran last, and says which."""

from __future__ import annotations

from typing import Literal

import click
from rich.console import RenderableType
from rich.padding import Padding
from rich.text import Text

from phases.interfaces import api
from phases.interfaces.cli_common import chosen, project_root
from phases.interfaces.profile_view import READINESS_STYLE, column_report, table_report
from phases.interfaces.profiles import split_target
from phases.interfaces.terminal import console, show, table

FRESH_HELP = "Refuse (exit 1) when it is stale: an upstream task failed or will run."


def warn_if_stale(source: str, freshness: api.Freshness) -> None:
    if freshness.stale:
        click.echo(click.style(f"warning: the context of {source} is stale: {freshness.summary()}; "
                               f"`dataraum run --source {source}` brings it up to date", fg="yellow"), err=True)


@click.command()
@click.option("--source", "-s", help="The source. Default: the only one, or the one that ran last.")
@click.option("--format", "-f", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True)
@click.option("--fresh", is_flag=True, help=FRESH_HELP)
@click.pass_context
def context(ctx: click.Context, source: str | None, fmt: Literal["md", "json"], fresh: bool) -> None:
    """Print the context document the entropy phase wrote for a source; a warning on
    stderr when it is stale.

    \b
    Example:
      dataraum context --source finance_example --format json > context.json
      dataraum context --fresh > context.md || dataraum run
    """
    document = api.context_document(source, fmt, root=project_root(ctx), check=True, fresh=fresh)
    chosen(document.source, document.chosen)
    warn_if_stale(document.source, document.freshness)
    click.echo(document.text, nl=not document.text.endswith("\n"))


@click.command()
@click.option("--source", "-s", help="The source. Default: the only one, or the one that ran last.")
@click.option("--table", "-t", "table_name", help="Only this table.")
@click.option("--limit", "-n", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--compare", is_flag=True, help="Show what changed since the previous distinct entropy output.")
@click.option("--fresh", is_flag=True, help=FRESH_HELP)
@click.pass_context
def entropy(ctx: click.Context, source: str | None, table_name: str | None, limit: int, compare: bool,
            fresh: bool) -> None:
    """A readiness table of the most uncertain columns, from the entropy phase.

    \b
    Examples:
      dataraum entropy --source finance_example --table invoices
      dataraum entropy --source finance_example --compare
    """
    root = project_root(ctx)
    if compare:
        _compare(api.entropy_changes(source, root=root), limit)
        return
    report = api.entropy_readiness(source, table_name, limit, root=root, check=True, fresh=fresh)
    chosen(report.source, report.chosen)
    warn_if_stale(report.source, report.freshness)
    if not report.columns:
        click.echo("no column scores" + (f" for table {table_name!r}" if table_name else ""))
        return
    show(console(), *readiness_blocks(report.columns))


def readiness_blocks(columns: tuple[api.ColumnReadiness, ...]) -> list[RenderableType]:
    """Each column on a line (readiness, entropy, table.column), its worst issues below it, indented:
    issues are sentences, too long for the last column of a table in 80 columns."""
    width = max(len(c.readiness) for c in columns)
    blocks: list[RenderableType] = []
    for c in columns:
        blocks.append(Text.assemble((c.readiness.ljust(width), READINESS_STYLE.get(c.readiness, "")),
                                    f"  {c.score:.2f}  {c.table}.{c.column}"))
        blocks += [Padding(Text(issue, style="dim" if i else ""), (0, 0, 0, 2)) for i, issue in enumerate(c.issues[:2])]
    return blocks


def _compare(result: api.EntropyComparison, limit: int) -> None:
    chosen(result.source, result.chosen)
    if result.snapshots < 2:
        click.echo(f"{result.source}: {result.snapshots} entropy output(s) recorded; nothing to compare yet")
        return
    if not result.changes:
        click.echo(f"{result.source}: no score changed since the previous entropy output")
        return

    def fmt(score: float | None, readiness: str | None) -> str:
        return "-" if score is None else f"{score:.2f} {readiness}"

    rows = [(c.kind, c.target, fmt(c.before, c.readiness_before), fmt(c.after, c.readiness_after))
            for c in result.changes[:limit]]
    show(console(), table(("kind", "target", "before", "after"), rows, fold=[1]))


@click.command()
@click.argument("target", metavar="TABLE[.COLUMN]")
@click.option("--source", "-s", help="The source. Default: the only one with that table, or the one that ran last.")
@click.pass_context
def profile(ctx: click.Context, target: str, source: str | None) -> None:
    """A column's profile (type, nulls, distinct values, a histogram or its top values,
    its findings and readiness), or for a table, all its columns in one screen.

    \b
    Examples:
      dataraum profile orders
      dataraum profile orders.amount
      dataraum profile master_txn_table.Amount --source finance_example
    """
    root = project_root(ctx)
    table_name, column = split_target(target)
    if column is None:
        view = api.table_profile(table_name, source, root=root)
        chosen(view.source, view.chosen)
        show(console(), table_report(view))
    else:
        one = api.column_profile(table_name, column, source, root=root)
        chosen(one.source, one.chosen)
        show(console(), column_report(one))
