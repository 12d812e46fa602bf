"""The context phase after the metrics: context.md and context.json carry the metrics' verdicts;
a project whose pipeline.yaml predates the context phase still gets its documents from the
entropy phase."""

from __future__ import annotations

import json
import re
import shutil

from click.testing import CliRunner

from phases.interfaces import api
from phases.interfaces.cli import cli
from tests.conftest import REPO, run_upstream

ORDERS = "order_id,ordered,amount\n" + "".join(f"O{i},2024-{i % 12 + 1:02d}-{i % 27 + 1:02d},{10 + i}.50\n"
                                                   for i in range(60))
THROUGH_ENTROPY = ("import", "typing", "statistics", "temporal", "statistical_quality", "relationships",
                   "correlations", "topology", "semantic", "slicing", "business_cycles", "validation", "entropy")


def test_the_context_lists_each_metric_with_its_verdict(tmp_path):
    run_upstream(tmp_path, {"orders": ORDERS}, (*THROUGH_ENTROPY, "metrics", "context"))
    folder = tmp_path / "state" / "s" / "context"
    document = json.loads((folder / "context.json").read_text())
    metrics = {m["metric"]: m for m in document["metrics"]}
    assert metrics["revenue"]["verdict"] == "refuse" and metrics["revenue"]["value"] is None
    assert metrics["revenue"]["caveats"][0].startswith("cannot compute: concept")
    assert metrics["data_completeness"]["period"] == "2024" and metrics["data_completeness"]["value"] == 100
    markdown = (folder / "context.md").read_text()
    assert "## Business metrics (computed from the concepts; every period and its SQL in metrics.json)" in markdown
    (refused,) = [line for line in markdown.splitlines() if line.startswith("- Revenue (`revenue`)")]
    assert "**refuse**: cannot compute: concept" in refused  # with the metrics refused for the same reason
    shutil.copy(REPO / "dodo.py", tmp_path / "dodo.py")  # a whole project, as the commands find one
    report = api.metrics_report(root=tmp_path)  # what `dataraum metrics` prints: every year by default
    rows = {(r.metric, r.period): r for r in report.rows}
    assert rows[("data_completeness", "2024")].value == 100 and rows[("revenue", "-")].verdict == "refuse"
    printed = CliRunner().invoke(cli, ["--root", str(tmp_path), "metrics", "--period", "2024-03"])
    assert printed.exit_code == 0 and "  2024-03  data_completeness" in printed.stdout


def test_a_pipeline_from_before_the_context_phase_gets_its_documents_from_the_entropy_phase(tmp_path):
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config)
    (config / "sources.yaml").write_text("sources:\n  s:\n    path: data\n")
    old = (config / "pipeline.yaml").read_text().split("\n  metrics:\n")[0]  # metrics and context come last
    old = re.sub(r"outputs: \[entropy_scores\]", "outputs: [entropy_scores, context_document, context_markdown]", old)
    (config / "pipeline.yaml").write_text(old + "\n")
    run_upstream(tmp_path, {"orders": ORDERS}, THROUGH_ENTROPY)
    folder = tmp_path / "state" / "s" / "entropy"
    assert (folder / "context.md").read_text().startswith("# Data context: s")
    assert json.loads((folder / "context.json").read_text())["metrics"] == []
