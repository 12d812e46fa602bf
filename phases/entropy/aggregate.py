"""From entropy objects to column, table and source scores, compound risks and readiness.

- Per dimension the worst object counts (two detectors seeing the same outliers are one finding).
- Per column the dimensions combine as a noisy-or, 1 - prod(1 - weight * score), over the
  dimensions that apply only: a single severe finding keeps (at least) its weighted score,
  several moderate ones add up, and detectors with nothing to say dilute nothing.
- Compound risks (pairs of dimensions worse together) multiply the column's score.
- The annotation dimensions (an unclear name, a date's role: what the semantic phase could not
  establish, not what the data holds) count with their worst finding only, and with the caution
  dimensions (NULLs, Benford, drift: what to check, not answers that will be wrong) they never
  make a column `blocked`: with or without other findings, they raise its score at most to just
  below the `blocked` cut.
- A table scores its own findings (a noisy-or of them) or its worst column, whichever is worse:
  problems of different columns hit different queries, so they do not add up; the source is as
  ready as its worst table.
- Readiness cuts from config: `ready` below `investigate`, `blocked` from `blocked` on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from phases.artifacts.entropy_scores import (
    SCHEMA_VERSION,
    ColumnEntropy,
    CompoundRiskHit,
    DimensionScore,
    EntropyObject,
    EntropyScores,
    TableEntropy,
)
from phases.entropy.settings import LAYER_OF, EntropySettings


def noisy_or(scores: Iterable[float]) -> float:
    remaining = 1.0
    for score in scores:
        remaining *= 1.0 - min(1.0, max(0.0, score))
    return 1.0 - remaining


def readiness_of(score: float, s: EntropySettings) -> str:
    if score >= s.readiness.blocked:
        return "blocked"
    if score >= s.readiness.investigate:
        return "investigate"
    return "ready"


def _worst_per_dimension(objects: Iterable[EntropyObject]) -> dict[str, EntropyObject]:
    worst: dict[str, EntropyObject] = {}
    for o in objects:
        if o.dimension not in worst or o.score > worst[o.dimension].score:
            worst[o.dimension] = o
    return worst


def _combined(weighted: dict[str, float], s: EntropySettings) -> float:
    """The noisy-or of the dimensions that can make SQL answers wrong, raised by the cautions (a
    noisy-or of the caution dimensions and the worst annotation dimension) at most to just below
    `blocked`: cautions say what to check, not that answers will be wrong."""
    r = s.readiness
    annotation = max((w for d, w in weighted.items() if d in r.annotation_dimensions), default=0.0)
    caution = noisy_or(w for d, w in weighted.items() if d in r.caution_dimensions)
    hard = noisy_or(w for d, w in weighted.items() if d not in r.annotation_dimensions + r.caution_dimensions)
    soft = noisy_or([caution, annotation])
    if not soft:
        return hard
    return min(noisy_or([hard, soft]), max(hard, r.blocked - 0.001))


def score_column(table: str, column: str, objects: list[EntropyObject], s: EntropySettings) -> ColumnEntropy:
    worst = _worst_per_dimension(objects)
    weighted = {d: s.weights[d] * o.score for d, o in worst.items()}  # type: ignore[index]
    score = _combined(weighted, s)
    hits = []
    for rule in s.compound_risks:
        a, b = rule.dimensions
        if a in worst and b in worst and min(worst[a].score, worst[b].score) >= rule.min_score:
            hits.append(CompoundRiskHit(f"{table}.{column}", (a, b), rule.multiplier, rule.description))
    if hits:  # the worst compound risk counts; several do not multiply each other
        score = min(1.0, score * max(h.multiplier for h in hits))
    layers: dict[str, list[float]] = defaultdict(list)
    for d, w in weighted.items():
        layers[LAYER_OF[d]].append(w)
    ranked = sorted(worst.values(), key=lambda o: (-weighted[o.dimension], o.dimension))
    top = tuple(
        DimensionScore(o.dimension, o.layer, round(weighted[o.dimension], 4), o.summary)
        for o in ranked[: s.readiness.top_dimensions] if weighted[o.dimension] >= s.readiness.min_reported_score
    )
    readiness = readiness_of(score, s)
    reasons = tuple(
        f"{o.dimension} {weighted[o.dimension]:.2f}: {o.summary}" for o in ranked
        if weighted[o.dimension] >= s.readiness.investigate
    ) or ((f"no single finding reaches {s.readiness.investigate}; together they score {score:.2f}",)
          if readiness != "ready" else ())
    reasons += tuple(f"compound risk x{h.multiplier}: {h.description}" for h in hits)
    return ColumnEntropy(
        table=table, column=column, score=round(score, 4), readiness=readiness,  # type: ignore[arg-type]
        layers={layer: round(noisy_or(v), 4) for layer, v in sorted(layers.items())},
        top=top, reasons=reasons, compound_risks=tuple(hits),
    )


def aggregate(source: str, columns: list[tuple[str, str]], tables: tuple[str, ...],
              objects: list[EntropyObject], s: EntropySettings) -> EntropyScores:
    """Every column of the source gets a score (0 and `ready` when nothing was found)."""
    objects = sorted(
        (o for o in objects if o.score >= s.readiness.min_reported_score),
        key=lambda o: (-o.score, o.target, o.dimension, o.detector),
    )
    by_column: dict[tuple[str, str], list[EntropyObject]] = defaultdict(list)
    by_table: dict[str, list[EntropyObject]] = defaultdict(list)
    for o in objects:
        if o.column is not None and o.table is not None:
            by_column[(o.table, o.column)].append(o)
        elif o.table is not None:
            by_table[o.table].append(o)
    scored = [score_column(t, c, by_column.get((t, c), []), s) for t, c in columns]
    table_scores = []
    for table in tables:
        own = _worst_per_dimension(by_table.get(table, []))
        own_score = noisy_or(s.weights[d] * o.score for d, o in own.items())  # type: ignore[index]
        cols = [c for c in scored if c.table == table]
        worst_column = max((c.score for c in cols), default=0.0)
        score = max(own_score, worst_column)  # problems of different columns hit different queries: they do not add up
        counts = {r: sum(1 for c in cols if c.readiness == r) for r in ("ready", "investigate", "blocked")}
        reasons = tuple(o.summary for o in sorted(own.values(), key=lambda o: -o.score)
                        if s.weights[o.dimension] * o.score >= s.readiness.investigate)  # type: ignore[index]
        for level in ("blocked", "investigate"):
            names = [c.column for c in cols if c.readiness == level]
            if names:
                reasons += (f"{len(names)} column(s) {level}: {', '.join(names)}",)
        if not reasons and readiness_of(score, s) != "ready":  # several small findings that add up
            reasons = tuple(o.summary for o in sorted(own.values(), key=lambda o: -o.score))
            reasons += tuple(f"{c.column}: {c.top[0].summary}" for c in sorted(cols, key=lambda c: -c.score)[:2]
                             if c.top)
        table_scores.append(TableEntropy(table, round(score, 4), readiness_of(score, s),  # type: ignore[arg-type]
                                         reasons, counts))
    source_score = max((t.score for t in table_scores), default=0.0)
    readiness = readiness_of(source_score, s)
    level = "blocked" if readiness == "blocked" else "investigate"
    blockers = tuple(
        f"{c.table}.{c.column}: {c.top[0].dimension} ({c.top[0].summary})"
        for c in sorted(scored, key=lambda c: -c.score) if c.readiness == level and c.top
    ) + tuple(f"{t.table}: {r}" for t in table_scores for r in t.reasons[:1]
              if t.readiness == level and not any(c.table == t.table and c.readiness == level for c in scored))
    return EntropyScores(
        version=SCHEMA_VERSION, source=source, score=round(source_score, 4), readiness=readiness,  # type: ignore[arg-type]
        blockers=blockers,
        tables=tuple(sorted(table_scores, key=lambda t: (-t.score, t.table))),
        columns=tuple(sorted(scored, key=lambda c: (-c.score, c.table, c.column))),
        objects=tuple(objects),
        compound_risks=tuple(h for c in scored for h in c.compound_risks),
    )
