"""The context phase: the documents an agent reads before it writes SQL over a source.

Runs after the entropy scores and the metrics (entropy scores -> metrics -> context), so the
document carries both: entropy.document builds context.json (docs/context-schema.md) from the
scores, the metrics (entropy.metrics_section) and the earlier phases' evidence, and
entropy.markdown renders context.md from it, cut to the size budget in config/thresholds.yaml.
"""

from __future__ import annotations

import dataclasses

from phases.artifacts.context_document import CONTEXT_DOCUMENT, CONTEXT_MARKDOWN
from phases.artifacts.entropy_scores import ENTROPY_SCORES
from phases.artifacts.metrics import METRICS
from phases.core.context import PhaseOutput, SourceContext
from phases.core.manifest import write_atomically
from phases.entropy.document import build_context
from phases.entropy.evidence import load_evidence
from phases.entropy.markdown import render_markdown
from phases.entropy.metrics_section import metric_entries
from phases.entropy.settings import EntropySettings


def write_context(ctx: SourceContext) -> PhaseOutput:
    settings = ctx.parse_settings(EntropySettings)
    scores = ctx.read(ENTROPY_SCORES)
    metrics = ctx.read(METRICS)
    document = build_context(load_evidence(ctx), scores, settings, ctx.left_out)
    document = dataclasses.replace(document, metrics=metric_entries(metrics))
    ctx.write(CONTEXT_DOCUMENT, document)
    markdown = render_markdown(document, settings)
    write_atomically(ctx.output_path(CONTEXT_MARKDOWN), markdown)
    return PhaseOutput(summary={"readiness": document.readiness.level, "characters": len(markdown),
                                "metrics": {m.metric: m.verdict for m in document.metrics}})
