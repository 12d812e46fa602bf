"""The context phase: the documents an agent reads before it writes SQL over a source.

Runs after the entropy scores and the metrics (entropy scores -> metrics -> context), so the
document carries both: entropy.document builds context.json (docs/context-schema.md) from the
scores, the metrics (entropy.metrics_section) and the earlier phases' evidence, and
entropy.markdown renders context.md from it, cut to the size budget in config/thresholds.yaml.
"""

from __future__ import annotations

from phases.artifacts.entropy_scores import ENTROPY_SCORES
from phases.artifacts.metrics import METRICS
from phases.core.context import PhaseOutput, SourceContext
from phases.entropy.document import write_documents
from phases.entropy.evidence import load_evidence
from phases.entropy.metrics_section import metric_entries
from phases.entropy.settings import EntropySettings


def write_context(ctx: SourceContext) -> PhaseOutput:
    settings = ctx.parse_settings(EntropySettings)
    metrics = metric_entries(ctx.read(METRICS))
    document, markdown = write_documents(ctx, load_evidence(ctx), ctx.read(ENTROPY_SCORES), settings, metrics)
    return PhaseOutput(summary={"readiness": document.readiness.level, "characters": len(markdown),
                                "metrics": {m.metric: m.verdict for m in document.metrics}})
