"""`dataraum metrics`: the command reads metrics.json through api.metrics_report and prints each
value with its verdict and first caveat."""

from __future__ import annotations

from click.testing import CliRunner
from rich.console import Console

from phases.interfaces import api
from phases.interfaces.cli import cli
from phases.interfaces.cli_metrics import metric_blocks


def test_a_project_without_the_metrics_phase_is_told_how_to_add_it(demo_project):
    result = CliRunner().invoke(cli, ["--root", str(demo_project), "metrics"])
    assert result.exit_code == 2
    assert "no phase of config/pipeline.yaml produces `metrics`" in result.output


def test_each_value_shows_its_verdict_and_its_first_caveat():
    rows = (api.MetricRow("dso", "Days sales outstanding", "days", "2025", 92.16, "answer_with_caveats",
                          ("journal_lines.debit scores 0.50 (nulls)", "the data covers half of 2025")),
            api.MetricRow("revenue", "Revenue", "currency", "2025", 1234.5, "answer", ()))
    out = Console(width=80, record=True)
    for block in metric_blocks(rows, all_caveats=False):
        out.print(block)
    assert [line.rstrip() for line in out.export_text().splitlines()] == [
        "verdict              period  metric              value",
        "answer_with_caveats  2025    dso               92.16 d",
        "  journal_lines.debit scores 0.50 (nulls)",
        "  (and 1 more; --caveats shows them)",
        "answer               2025    revenue          1,234.50",
    ]
