"""The entropy phase: how far an agent can trust each column, table and join of a source.

Reads what every earlier phase measured (see entropy.evidence), runs the detectors of the
four layers (entropy.measured: structural and value, with entropy.missing for NULLs and
duplicates and entropy.extremes for outliers; entropy.meaning: semantic and computational, with
entropy.reconcile for copies across a join), aggregates their verdicts
into scores and readiness (entropy.aggregate), and writes entropy_scores.json: every entropy
object, column, table and source score, compound risk. The metrics phase reads the scores, and
the context phase (entropy.context) writes the documents from both.

The scores of every distinct output are also kept in state/history.sqlite, so a later run can
be compared with this one (`dataraum entropy --compare`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from phases.artifacts.context_document import CONTEXT_DOCUMENT
from phases.artifacts.entropy_scores import ENTROPY_SCORES, EntropyObject, EntropyScores
from phases.artifacts.tables import TYPED_TABLE
from phases.core.context import PhaseOutput, SourceContext
from phases.core.sql import typed_relations
from phases.entropy.aggregate import aggregate
from phases.entropy.document import write_documents
from phases.entropy.evidence import Evidence, load_evidence
from phases.entropy.extremes import outliers, wrong_signs
from phases.entropy.meaning import (
    aggregation_risk,
    business_meaning,
    derived_consistency,
    time_roles,
    units,
    validations,
)
from phases.entropy.measured import (
    benford,
    category_consistency,
    join_paths,
    relationship_quality,
    temporal_drift,
    type_fidelity,
)
from phases.entropy.missing import duplicate_rows, nulls
from phases.entropy.reconcile import formula_conversions
from phases.entropy.settings import EntropySettings
from phases.entropy.shifts import level_shifts

DETECTORS = (
    type_fidelity, relationship_quality, join_paths, duplicate_rows,
    category_consistency, benford, temporal_drift, wrong_signs,
    business_meaning, units, time_roles,
    validations, aggregation_risk,
)


def detect(ev: Evidence, settings: EntropySettings, typed: Mapping[str, str], con: Any) -> list[EntropyObject]:
    """Every detector's objects for one source. `typed`: each table's typed rows as a SQL relation
    of `con` (a name from phases.core.sql.typed_relations, or a read_parquet(...) expression)."""
    objects = [o for detector in DETECTORS for o in detector(ev, settings)]
    # the detectors that measure on the typed tables themselves
    for measuring in (nulls, outliers, level_shifts, derived_consistency, formula_conversions):
        objects += measuring(ev, settings, typed, con)
    return objects


def score(ev: Evidence, settings: EntropySettings, typed: Mapping[str, str], con: Any) -> EntropyScores:
    return aggregate(ev.source, ev.columns(), ev.tables, detect(ev, settings, typed, con), settings)


def history_rows(scores: EntropyScores) -> tuple[dict[str, Any], ...]:
    rows: list[dict[str, Any]] = [{"target": scores.source, "kind": "source", "score": scores.score,
                                   "readiness": scores.readiness}]
    rows += [{"target": t.table, "kind": "table", "score": t.score, "readiness": t.readiness} for t in scores.tables]
    rows += [{"target": f"{c.table}.{c.column}", "kind": "column", "score": c.score, "readiness": c.readiness,
              "dimension": c.top[0].dimension if c.top else None} for c in scores.columns]
    worst: dict[tuple[str, str], float] = {}
    for o in scores.objects:
        worst[(o.target, o.dimension)] = max(o.score, worst.get((o.target, o.dimension), 0.0))
    rows += [{"target": target, "kind": "finding", "score": score, "dimension": dimension}
             for (target, dimension), score in sorted(worst.items())]
    rows += [{"target": h.target, "kind": "compound_risk", "score": h.multiplier, "dimension": "+".join(h.dimensions)}
             for h in scores.compound_risks]
    return tuple(rows)


def score_entropy(ctx: SourceContext) -> PhaseOutput:
    settings = ctx.parse_settings(EntropySettings)
    ev = load_evidence(ctx)
    files = ctx.paths(TYPED_TABLE)
    cells = {t: p.rows * len(ev.profiles.get(t, {})) for t, p in ev.table_profiles.items()}
    with ctx.connect() as con:
        scores = score(ev, settings, typed_relations(con, files, cells, "__entropy_t"), con)
    ctx.write(ENTROPY_SCORES, scores)
    if CONTEXT_DOCUMENT.name in ctx.spec.outputs:  # a project's pipeline.yaml from before the context phase
        write_documents(ctx, ev, scores, settings)
    counts = {r: sum(1 for c in scores.columns if c.readiness == r) for r in ("ready", "investigate", "blocked")}
    return PhaseOutput(
        summary={"readiness": scores.readiness, "score": scores.score, "columns": counts,
                 "objects": len(scores.objects)},
        scores=history_rows(scores),
    )
