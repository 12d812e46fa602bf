"""The semantic phase (per source): what each column and table means, from measured evidence and
domain vocabularies, deterministic and offline by default.

Per column: a role (phases.meaning.semantic_roles), a business concept from the ontologies
(phases.meaning.ontology, scored in phases.meaning.semantic_evidence from the name, initials of unclear names,
value sets, patterns and code prefixes, value ranges, relationships and key status, the type), a
unit, an aggregation for measures decided from evidence of an amount (phases.meaning.semantic_numbers:
additive only when the rows add something up) with its reason, a time role for dates, whether the
name is clear, personal data, the whole foreign key a column belongs to, a readable name and
description (phases.meaning.semantic_text), a confidence and every piece of evidence. Per table:
fact, dimension, bridge or reference from the FK graph, its entity, its grain (a key that is no
measure unique by chance), its main date and its foreign keys, each whole.

It reads only the small JSON artifacts of earlier phases (types, profiles, keys, relationships,
correlations, and the derived columns when the pipeline declares them as an input); the profiles'
top values, ranges and value shapes are the value evidence. Human
overrides (config/semantic.yaml) win and are recorded; an optional LLM step (phases.meaning.llm) can
only refine descriptions, names and weak concepts, and its failure leaves a warning, not an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from phases.artifacts.annotations import (
    ANNOTATIONS,
    AnnotationEvidence,
    Annotations,
    ColumnAnnotation,
    DecidedBy,
    LlmStatus,
    NameClarity,
    Role,
    TableAnnotation,
)
from phases.artifacts.column_profiles import COLUMN_PROFILES
from phases.artifacts.column_types import COLUMN_TYPES
from phases.artifacts.correlations import CORRELATIONS
from phases.artifacts.derived_columns import DERIVED_COLUMNS, DerivedColumn
from phases.artifacts.relationships import RELATIONSHIPS
from phases.artifacts.table_profile import TABLE_PROFILE
from phases.core.context import PhaseOutput, SourceContext
from phases.core.layout import state_dir
from phases.meaning.llm import (
    SYSTEM,
    LlmError,
    Refinement,
    accept,
    build_prompt,
    cached_completion,
    parse_reply,
)
from phases.meaning.ontology import Ontology, bare_acronym
from phases.meaning.semantic_evidence import (
    DATES,
    NUMERIC,
    ColumnFacts,
    ConceptScore,
    TableFacts,
    gather_tables,
    ranked,
    reference_text,
    score_concepts,
    strong_name_concepts,
)
from phases.meaning.semantic_numbers import aggregation_of, formulas_of
from phases.meaning.semantic_roles import (
    annotate_table,
    decide_role,
    shared_dimension,
    time_role_of,
    unit_of,
)
from phases.meaning.semantic_settings import SemanticSettings, read_settings
from phases.meaning.semantic_text import business_name, describe, name_evidence, statistics_evidence

LLM_CACHE_DIR = "llm_cache"
CLARITY_FACTOR = {"clear": 1.0, "abbreviated": 0.95, "unclear": 0.8}
NO_CONCEPT_FACTOR = {"clear": 0.9, "other": 0.7}


@dataclass(frozen=True)
class Forced:
    """A decision that wins over inference: a human override or an accepted LLM refinement."""

    by: Literal["override", "llm"]
    role: Role | None = None
    concept: str | None = None
    description: str | None = None
    business_name: str | None = None
    note: str = ""


# --- the phase ----------------------------------------------------------------------------------


def annotate_semantics(ctx: SourceContext) -> PhaseOutput:
    where = ", ".join(f"config/{name}" for name in ctx.spec.config)
    settings, ontology = read_settings(ctx.settings, where)
    typings = {t: c.by_name for t, c in ctx.read_tables(COLUMN_TYPES).items()}
    profiles = {t: p.by_name for t, p in ctx.read_tables(COLUMN_PROFILES).items()}
    table_profiles = ctx.read_tables(TABLE_PROFILE)
    relationships = ctx.read(RELATIONSHIPS)
    correlations = ctx.read(CORRELATIONS)
    corr_keys = {t.table: t.dependencies.candidate_keys for t in correlations.tables}
    lengths = (settings.unclear_max_token_length, settings.word_min_length)
    facts = gather_tables(ontology, lengths, typings, profiles, table_profiles, relationships, corr_keys)
    # the correlations phase's formulas (amount = quantity * price) are value evidence of what adds up;
    # read when the pipeline declares them as an input of this phase
    derived = ctx.read(DERIVED_COLUMNS).derived_columns if DERIVED_COLUMNS.name in ctx.spec.inputs else ()
    overrides, unused = _overrides(settings, ctx.source.name, facts)
    tables, columns = annotate(facts, ontology, settings, overrides, derived)
    status = LlmStatus(enabled=False)
    if settings.llm.enabled:
        refined, status = refine_with_llm(facts, tables, columns, ontology, settings,
                                          state_dir(ctx.root) / LLM_CACHE_DIR)
        if refined:
            tables, columns = annotate(facts, ontology, settings, {**refined, **overrides}, derived)
    result = Annotations(source=ctx.source.name, ontologies=tuple(settings.ontologies), tables=tables,
                         columns=tuple(columns), llm=status)
    ctx.write(ANNOTATIONS, result)
    return PhaseOutput(summary=summarise(result, unused))


def summarise(result: Annotations, unused_overrides: Sequence[str]) -> dict[str, Any]:
    roles: dict[str, int] = {}
    for c in result.columns:
        roles[c.role] = roles.get(c.role, 0) + 1
    return {
        "columns": len(result.columns), "roles": dict(sorted(roles.items())),
        "with_concept": sum(c.concept is not None for c in result.columns),
        "unclear_names": [f"{c.table}.{c.column}" for c in result.columns if c.name_clarity == "unclear"],
        "pii": [f"{c.table}.{c.column}" for c in result.columns if c.pii],
        "overridden": [f"{c.table}.{c.column}" for c in result.columns if c.decided_by == "override"],
        "unused_overrides": list(unused_overrides),
        "tables": {t: a.kind for t, a in sorted(result.tables.items())},
        "llm": {"enabled": result.llm.enabled, "used": result.llm.used, "cached": result.llm.cached,
                "warning": result.llm.warning},
    }


def _overrides(settings: SemanticSettings, source: str, facts: Mapping[str, TableFacts]
               ) -> tuple[dict[tuple[str, str], Forced], list[str]]:
    forced, unused = {}, []
    for table, columns in sorted(settings.overrides.get(source, {}).items()):
        for column, spec in sorted(columns.items()):
            if table not in facts or facts[table].column(column) is None:
                unused.append(f"{table}.{column}")
                continue
            forced[(table, column)] = Forced("override", spec.role, spec.concept, spec.description)
    return forced, unused


def annotate(facts: Mapping[str, TableFacts], ontology: Ontology, settings: SemanticSettings,
             forced: Mapping[tuple[str, str], Forced], derived: Sequence[DerivedColumn] = (),
             ) -> tuple[dict[str, TableAnnotation], list[ColumnAnnotation]]:
    tables: dict[str, TableAnnotation] = {}
    columns: list[ColumnAnnotation] = []
    for name, t in facts.items():
        cols = annotate_columns(t, facts, ontology, settings, forced, derived)
        tables[name] = annotate_table(t, cols, facts, ontology, settings.tables)
        columns += cols
    return tables, columns


@dataclass
class _Decision:
    col: ColumnFacts
    scores: list[ConceptScore]
    concept: str | None
    concept_confidence: float
    pii: str | None
    pii_score: ConceptScore | None
    role: Role
    role_confidence: float
    role_evidence: AnnotationEvidence
    forced: Forced | None


def annotate_columns(t: TableFacts, tables: Mapping[str, TableFacts], ontology: Ontology,
                     settings: SemanticSettings, forced: Mapping[tuple[str, str], Forced],
                     derived: Sequence[DerivedColumn] = ()) -> list[ColumnAnnotation]:
    strong = strong_name_concepts(t, ontology)
    decisions = []
    for col in t.columns:
        companions: set[str] = set().union(*(v for k, v in strong.items() if k != col.name))
        if t.entity is not None:
            companions.add(t.entity)
        scores = ranked(score_concepts(
            col, t, tables, ontology, settings.scores, companions, settings.values.min_share,
            settings.values.code_prefix_min_share, settings.roles.text_date_min_share,
        ), ontology)
        decisions.append(_decide(col, scores, ontology, settings, forced.get((t.name, col.name)), t.rows))
    currency = [d.col for d in decisions if d.concept == "currency" and d.col.type == "text"
                and d.role in ("dimension", "key", "foreign_key")]
    by_concept = {d.concept: d.col for d in decisions if d.concept}
    entity = ontology.entities.get(t.entity) if t.entity is not None else None
    entity_label = entity.spec.label if entity is not None else None
    table = _TableContext(
        currency=currency, by_concept=by_concept, entity_label=entity_label, derived=derived,
        types={c.name: c.type for c in t.columns},
        records_events=_records_events(t, tables, decisions, ontology, settings))
    return [_finish(d, ontology, settings, table) for d in decisions]


def _decide(col: ColumnFacts, scores: list[ConceptScore], ontology: Ontology, settings: SemanticSettings,
            forced: Forced | None, rows: int) -> _Decision:
    usable = [s for s in scores if s.score >= settings.min_concept_confidence]
    concept = usable[0].concept if usable else None
    confidence = usable[0].score if usable else 0.0
    pii, pii_score = None, None
    if settings.pii.enabled:
        flagged = [s for s in scores if ontology.concepts[s.concept].spec.pii and s.score >= settings.pii.min_score]
        if flagged:
            pii_score = flagged[0]
            pii = ontology.concepts[pii_score.concept].spec.pii
    if forced is not None and forced.concept is not None:
        concept = forced.concept
        known = next((s.score for s in scores if s.concept == concept), 0.0)
        confidence = 1.0 if forced.by == "override" else max(known, 0.5)
        pii = ontology.concepts[concept].spec.pii or pii
    spec = ontology.concepts[concept].spec if concept else None
    decision = decide_role(col, spec, pii, settings.roles, rows, settings.numbers)
    role, role_conf = decision.role, decision.confidence
    evidence = AnnotationEvidence(decision.kind, f"role {decision.role}: {decision.reason}")
    if forced is not None and forced.role is not None and forced.role != role:
        evidence = AnnotationEvidence("override", f"role {forced.role} set by config/semantic.yaml overrides (inferred "
                                        f"{role}: {decision.reason})")
        role, role_conf = forced.role, 1.0
    return _Decision(col, scores, concept, confidence, pii, pii_score, role, role_conf, evidence, forced)


def _records_events(t: TableFacts, tables: Mapping[str, TableFacts], decisions: Sequence[_Decision],
                    ontology: Ontology, settings: SemanticSettings) -> bool:
    """The table's rows are events or periods: it has a date or a calendar part, or references a table
    that has a date (a date dimension: facts keyed by date surrogates hold no date themselves). A
    dimension that other tables share records none: its dates and money describe its rows, unless
    one of its dates is an event time (a payment's date): then its rows are events whoever refers to
    them, and that does not change when a damaged key turns a reference around."""
    if any(time_role_of(d.role, ontology.concepts[d.concept].spec if d.concept else None) == "event"
           for d in decisions):
        return True
    if shared_dimension(t, tables, settings.tables):
        return False
    if any(d.role == "timestamp" or d.col.text_date_share >= settings.roles.text_date_min_share
           or (d.concept is not None and ontology.concepts[d.concept].spec.calendar_part) for d in decisions):
        return True
    parents = [tables[r.parent_table] for r in t.outgoing if r.parent_table in tables]
    return any(c.type in DATES for p in parents for c in p.columns)


@dataclass(frozen=True)
class _TableContext:
    """What the columns of one table are finished with."""

    currency: Sequence[ColumnFacts]  # text columns holding currency codes
    by_concept: Mapping[str, ColumnFacts]
    entity_label: str | None
    derived: Sequence[DerivedColumn]
    types: Mapping[str, str]
    records_events: bool  # the table has a date or a calendar part: its rows are events or periods


def _finish(d: _Decision, ontology: Ontology, settings: SemanticSettings, table: _TableContext) -> ColumnAnnotation:
    col, role = d.col, d.role
    currency, by_concept, entity_label = table.currency, table.by_concept, table.entity_label
    spec = ontology.concepts[d.concept].spec if d.concept else None
    evidence = [AnnotationEvidence("name", name_evidence(col)),
                AnnotationEvidence("type", _type_evidence(col)),
                AnnotationEvidence("statistics", statistics_evidence(col, d.pii)),
                d.role_evidence]
    unclear_sources: list[str] = []
    chosen = next((s for s in d.scores if s.concept == d.concept), None)
    if d.concept and chosen is not None:
        for kind, score, detail in chosen.parts:
            evidence.append(AnnotationEvidence(kind, f"{detail} (+{score:.2f} for {d.concept})"))
            source = {"values": "its values", "relationship": "its relationship"}.get(kind)
            if col.reading.unclear and source and source not in unclear_sources:
                unclear_sources.append(source)
        if chosen.type_note:
            evidence.append(AnnotationEvidence("type", chosen.type_note))
    if col.reading.unclear and d.concept and not unclear_sources:
        unclear_sources.append("a guess at its initials")
    runner_up = next((s for s in d.scores if s.concept != d.concept and s.score > 0), None)
    if d.concept:
        tail = f"; next {runner_up.concept} ({runner_up.score:.2f})" if runner_up else ""
        evidence.append(AnnotationEvidence("ontology", f"concept {d.concept} ({d.concept_confidence:.2f}){tail}"))
    else:
        best = f"; best {runner_up.concept} ({runner_up.score:.2f}) is below " \
               f"{settings.min_concept_confidence}" if runner_up else ""
        evidence.append(AnnotationEvidence("ontology", f"no concept{best}"))
    for refused in d.scores:
        if refused.score == 0 and refused.type_note and refused.before_type >= settings.min_concept_confidence:
            evidence.append(AnnotationEvidence("type", refused.type_note))
    if d.pii:
        parts = d.pii_score.parts if d.pii_score else []
        strength = f"{d.pii_score.score:.2f}" if d.pii_score else "by override"
        evidence.append(AnnotationEvidence("values" if any(k == "values" for k, _, _ in parts) else "name",
                                 f"personal data: {d.pii} ({strength}); sample values are not written to the context"))
    aggregation = unit = unit_source = None
    summing = None
    if col.type in NUMERIC and role != "measure":
        summing = f"not summed: {d.role_evidence.detail.removeprefix(f'role {role}: ')}"
    if role == "measure":
        partner = by_concept.get(spec.one_sided_pair) if spec and spec.one_sided_pair else None
        formulas = formulas_of(col.table, col.name, table.types, table.derived)
        aggregation, why = aggregation_of(col, spec, partner, settings.balances.activity_min_share, formulas,
                                          table.records_events, settings.numbers)
        evidence.append(AnnotationEvidence("ontology" if spec else "statistics",
                                           f"aggregation {aggregation or 'not claimed'}: {why}"))
        summing = why
        unit, unit_source, note = unit_of(col, spec, currency)
        if note:
            evidence.append(AnnotationEvidence("values" if unit_source == "values" else "type", f"unit {unit}: {note}"))
    time_role = time_role_of(role, spec)
    references = None
    if role == "foreign_key" and col.foreign_key is not None:
        references = reference_text(col.foreign_key)
    # a bare acronym ('so') with no concept to read it by says no more than an unclear word
    clarity: NameClarity = col.reading.clarity
    if clarity == "clear" and not d.concept and bare_acronym(col.reading, ontology):
        clarity = "unclear"
    if clarity != col.reading.clarity:
        evidence.append(AnnotationEvidence("name", f"{col.name!r} is a bare acronym that names no concept: unclear"))
    # without a concept a clear name still says what the column holds; an unclear one leaves it to guesswork
    bare = NO_CONCEPT_FACTOR["clear" if clarity == "clear" else "other"]
    confidence = d.role_confidence * ((0.6 + 0.4 * d.concept_confidence) if d.concept else bare)
    if spec is not None and spec.roles and role not in spec.roles:
        confidence *= 0.85
        evidence.append(AnnotationEvidence("ontology", f"a {d.concept} is usually {'/'.join(spec.roles)}, not {role}"))
    confidence *= CLARITY_FACTOR[clarity]
    name = business_name(col, role, spec, entity_label, ontology)
    description = describe(col, name, role, spec, aggregation, unit, time_role, references, d.pii, unclear_sources)
    decided_by: DecidedBy = "inferred"
    f = d.forced
    if f is not None:
        decided_by = f.by
        if f.by == "override":
            confidence = 1.0
            settings_set = [f"{k}={v!r}" for k, v in (("role", f.role), ("concept", f.concept),
                                                      ("description", f.description)) if v is not None]
            evidence.append(AnnotationEvidence("override",
                                               f"config/semantic.yaml overrides set {', '.join(settings_set)}"))
        else:
            evidence.append(AnnotationEvidence("llm", f.note))
        name = f.business_name or name
        description = f.description or description
    return ColumnAnnotation(
        table=col.table, column=col.name, role=role, business_name=name, concept=d.concept,
        concept_confidence=round(d.concept_confidence, 3) if d.concept else 0.0, unit=unit, unit_source=unit_source,
        aggregation=aggregation, time_role=time_role, name_clarity=clarity, pii=d.pii,
        references=references, description=description, confidence=round(min(1.0, confidence), 3),
        decided_by=decided_by, evidence=tuple(evidence),
        money=(spec is not None and spec.unit == "currency") or col.type == "currency", aggregation_reason=summing,
    )


def _type_evidence(col: ColumnFacts) -> str:
    t = col.typing
    text = f"typed {col.type} ({col.profile.sql_type})"
    if col.profile.unit:
        text += f", unit {col.profile.unit}"
    if t is not None and t.confidence is not None:
        text += f", typing confidence {t.confidence:.2f}"
    if t is not None and t.decided_by == "override":
        text += ", type set by a source override"
    return text


# --- LLM refinement -----------------------------------------------------------------------------


def refine_with_llm(facts: Mapping[str, TableFacts], tables: Mapping[str, TableAnnotation],
                    columns: Sequence[ColumnAnnotation], ontology: Ontology, settings: SemanticSettings,
                    cache_dir: Path) -> tuple[dict[tuple[str, str], Forced], LlmStatus]:
    """Accepted LLM proposals as forced decisions, and the status to record. Never raises for the model."""
    s = settings.llm
    base = LlmStatus(enabled=True, provider=s.provider, model=s.model, prompt_version=s.prompt_version)
    schema = llm_schema(facts, tables, columns, s.max_columns, s.send_values)
    concepts = {cid: c.spec.label for cid, c in ontology.concepts.items()}
    prompt = build_prompt(schema, concepts, s.prompt_version, s.send_values)
    cached = False
    try:
        text, cached = cached_completion(s, SYSTEM, prompt, cache_dir)
        proposals = parse_reply(text)
    except LlmError as exc:
        return {}, replace(base, cached=cached, warning=f"{exc}; deterministic result kept")
    accepted: dict[tuple[str, str], Refinement] = accept(proposals, columns, list(ontology.concepts),
                                                         s.replace_concept_below)
    forced = {}
    for (table, column), r in accepted.items():
        concept, note = r.concept, r.note
        types = ontology.concepts[concept].spec.types if concept else ()
        col_type = facts[table].known_column(column).type
        if types and col_type not in types:  # the model cannot make a text column an amount either
            concept, note = None, f"{note}; refused concept {r.concept}: a {col_type} column cannot hold it"
        forced[(table, column)] = Forced("llm", None, concept, r.description, r.business_name,
                                         f"{s.provider} {s.model} (prompt {s.prompt_version}): {note}")
    warning = None if accepted else "the model proposed nothing usable; deterministic result kept"
    return forced, replace(base, used=bool(accepted), cached=cached, warning=warning)


def llm_schema(facts: Mapping[str, TableFacts], tables: Mapping[str, TableAnnotation],
               columns: Sequence[ColumnAnnotation], max_columns: int, send_values: bool = True) -> dict[str, Any]:
    """The measured schema sent to the model; the least confident columns first when it must be cut.
    Personal-data columns carry no values, no ranges and no examples; with `send_values` off, no
    column does (names, types, the measured meaning and counts only)."""
    chosen = sorted(columns, key=lambda c: (c.confidence, c.table, c.column))[:max_columns]
    keep = {(c.table, c.column) for c in chosen}
    out: dict[str, Any] = {}
    for name, t in facts.items():
        ta = tables[name]
        cols = []
        for c in columns:
            if c.table != name or (c.table, c.column) not in keep:
                continue
            f = t.known_column(c.column)
            p = f.profile
            item: dict[str, Any] = {
                "column": c.column, "type": p.type, "role": c.role, "concept": c.concept,
                "concept_confidence": c.concept_confidence, "business_name": c.business_name,
                "references": c.references, "name_clarity": c.name_clarity, "pii": c.pii,
                "null_ratio": round(p.null_ratio, 3), "distinct": p.distinct_count, "unique": p.unique,
            }
            if send_values:
                item["unit"] = c.unit  # a currency code is a value of the data too
            if c.pii is None and send_values:
                if c.role == "dimension":
                    item["frequent_values"] = [[v.value, round(v.share, 3)] for v in p.top_values[:8]]
                if p.numeric is not None and c.role == "measure":
                    item["range"] = [p.numeric.min, p.numeric.max]
                if f.shapes:
                    item["value_shapes"] = [s for s, _ in f.shapes[:3]]
            cols.append(item)
        out[name] = {"kind": ta.kind, "entity": ta.entity, "grain": list(ta.grain), "rows": ta.rows, "columns": cols}
    return out
