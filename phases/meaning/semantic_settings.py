"""The semantic phase's settings: config/semantic.yaml, the `llm` key of config/llm.yaml and the
ontologies (config/ontologies/*.yaml), parsed and checked together by `read_settings`, which the
project also calls when it loads (pipeline.yaml names it), so a bad value stops the load."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from phases.artifacts.annotations import Role
from phases.core.config import Model, parse_model
from phases.core.errors import ConfigError
from phases.meaning.llm_settings import LlmSettings
from phases.meaning.ontology import Ontology, build_ontology
from phases.meaning.semantic_evidence import Scores
from phases.meaning.semantic_numbers import NumberSettings
from phases.meaning.semantic_roles import RoleSettings, TableSettings


class BalanceSettings(Model):
    activity_min_share: float = Field(0.05, ge=0, le=1)


class ValueSettings(Model):
    min_share: float = Field(0.8, ge=0, le=1)
    code_prefix_min_share: float = Field(0.9, ge=0, le=1)


class PiiSettings(Model):
    enabled: bool = True
    min_score: float = Field(0.5, ge=0, le=1)


class OverrideSpec(Model):
    """A human decision about one column; it wins over inference."""

    role: Role | None = None
    concept: str | None = None
    description: str | None = None


class SemanticSettings(Model):
    """config/semantic.yaml plus the llm key of config/llm.yaml (the ontologies are read apart)."""

    ontologies: tuple[str, ...] = Field(("general", "financial"), min_length=1)
    min_concept_confidence: float = Field(0.35, ge=0, le=1)
    unclear_max_token_length: int = Field(4, ge=1, le=20)
    word_min_length: int = Field(4, ge=1, le=20)
    roles: RoleSettings = RoleSettings()
    tables: TableSettings = TableSettings()
    scores: Scores = Scores()
    balances: BalanceSettings = BalanceSettings()
    values: ValueSettings = ValueSettings()
    pii: PiiSettings = PiiSettings()
    numbers: NumberSettings = NumberSettings()
    overrides: dict[str, dict[str, dict[str, OverrideSpec]]] = {}  # source -> table -> column -> decision
    llm: LlmSettings = LlmSettings()


def read_settings(settings: Mapping[str, Any], where: str,
                  origins: Mapping[str, str] | None = None) -> tuple[SemanticSettings, Ontology]:
    """The phase's settings and merged ontology. Top-level keys of ontologies not listed are ignored.
    `origins` (top-level key -> its file) lets errors name the very file."""
    listed = settings.get("ontologies", SemanticSettings.model_fields["ontologies"].default)
    names = set(listed) if isinstance(listed, list | tuple) else set()
    rest = {k: v for k, v in settings.items() if k not in names and not (
        k not in SemanticSettings.model_fields and isinstance(v, dict) and "concepts" in v)}
    parsed = parse_model(SemanticSettings, rest, where, origins)
    ontology = build_ontology(settings, parsed.ontologies, where)
    file = (origins or {}).get("overrides", where)
    for source, tables in parsed.overrides.items():
        for table, columns in tables.items():
            for column, spec in columns.items():
                if spec.concept is not None and spec.concept not in ontology.concepts:
                    raise ConfigError(f"{file}: overrides.{source}.{table}.{column}.concept: unknown concept "
                                      f"{spec.concept!r}; known: {', '.join(sorted(ontology.concepts))}")
    return parsed, ontology
