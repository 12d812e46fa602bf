"""`dataraum metrics`: the business metrics of a source with their verdicts, read from the
metrics phase's metrics.json (see phases.interfaces.reading.metrics_report)."""

from __future__ import annotations

import click
from rich.console import RenderableType
from rich.padding import Padding
from rich.text import Text

from phases.interfaces import api
from phases.interfaces.cli_common import chosen, project_root
from phases.interfaces.cli_read import FRESH_HELP, warn_if_stale
from phases.interfaces.terminal import console, show

VERDICT_STYLE = {"answer": "green", "answer_with_caveats": "yellow", "refuse": "red"}
UNIT_SUFFIX = {"days": " d", "percent": "%", "ratio": ""}


@click.command()
@click.option("--source", "-s", help="The source. Default: the only one, or the one that ran last.")
@click.option("--period", "-p", help="A year (2025) or a month (2025-03). Default: every year.")
@click.option("--caveats", "-c", "all_caveats", is_flag=True, help="Every caveat, not only the first.")
@click.option("--fresh", is_flag=True, help=FRESH_HELP)
@click.pass_context
def metrics(ctx: click.Context, source: str | None, period: str | None, all_caveats: bool, fresh: bool) -> None:
    """The business metrics of a source, each with its verdict (answer, answer with caveats,
    refuse) and why, from the metrics phase.

    \b
    Examples:
      dataraum metrics --source finance_example
      dataraum metrics --period 2025-03 --caveats
    """
    report = api.metrics_report(source, period, root=project_root(ctx), check=True, fresh=fresh)
    chosen(report.source, report.chosen)
    warn_if_stale(report.source, report.freshness)
    if not report.rows:
        click.echo(f"no metric values{f' for period {period}' if period else ''} in {report.path}")
        return
    show(console(), *metric_blocks(report.rows, all_caveats))


def shown_value(row: api.MetricRow) -> str:
    if row.value is None:
        return "-"
    if row.unit == "currency":
        return f"{row.value:,.2f}"
    return f"{row.value:,.2f}{UNIT_SUFFIX.get(row.unit or '', '')}"


def metric_blocks(rows: tuple[api.MetricRow, ...], all_caveats: bool) -> list[RenderableType]:
    """Each value on a line (verdict, period, metric, value), its caveats below it, indented:
    caveats are sentences, too long for a table's last column in 80 columns."""
    width = max(len("verdict"), *(len(r.verdict) for r in rows))
    name = max(len("metric"), *(len(r.metric) for r in rows))
    period = max(len("period"), *(len(r.period) for r in rows))
    blocks: list[RenderableType] = [Text(f"{'verdict'.ljust(width)}  {'period'.ljust(period)}  {'metric'.ljust(name)}  "
                                         f"{'value':>16}", style="bold")]
    for row in rows:
        blocks.append(Text.assemble((row.verdict.ljust(width), VERDICT_STYLE.get(row.verdict, "")),
                                    f"  {row.period.ljust(period)}  {row.metric.ljust(name)}  {shown_value(row):>16}"))
        caveats = row.caveats if all_caveats else row.caveats[:1]
        blocks += [Padding(Text(c, style="dim" if i else ""), (0, 0, 0, 2)) for i, c in enumerate(caveats)]
        if not all_caveats and len(row.caveats) > 1:
            blocks.append(Padding(Text(f"(and {len(row.caveats) - 1} more; --caveats shows them)", style="dim"),
                                  (0, 0, 0, 2)))
    return blocks
