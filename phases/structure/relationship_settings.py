"""Settings of the relationships phase (config/relationships.yaml), shared by the key search and
the foreign-key scoring."""

from __future__ import annotations

from pydantic import Field

from phases.core.config import ColumnType, Model


class Weights(Model):
    """How much each kind of evidence counts in a candidate's confidence (relative weights)."""

    containment: float = Field(0.45, ge=0, le=10)
    name: float = Field(0.30, ge=0, le=10)
    parent_key: float = Field(0.10, ge=0, le=10)
    coverage: float = Field(0.075, ge=0, le=10)
    shape: float = Field(0.075, ge=0, le=10)


class NameSettings(Model):
    """Words that carry no meaning for matching names, and words that mark a self-reference."""

    key_words: tuple[str, ...] = ("id", "key", "code", "no", "nr", "num", "number", "ref", "fk", "pk",
                                  "identifier", "uuid", "guid")
    glued_key_suffixes: tuple[str, ...] = ("key", "id")
    table_noise_words: tuple[str, ...] = ("table", "tbl", "tab", "dim", "fact", "master", "data", "of", "the",
                                          "and")
    self_reference_words: tuple[str, ...] = ("parent", "manager", "supervisor", "boss", "report", "superior",
                                             "predecessor", "previous", "prev", "next", "successor", "root",
                                             "ancestor", "referrer", "original", "replaced", "merged", "head")


class RelationshipSettings(Model):
    """config/relationships.yaml; bounds are checked when the phase starts."""

    key_types: tuple[ColumnType, ...] = ("integer", "text", "date", "timestamp")
    key_max_text_length: int = Field(64, ge=1, le=10_000)
    parent_min_uniqueness: float = Field(0.95, ge=0.5, le=1)
    parent_max_null_ratio: float = Field(0.05, ge=0, le=1)
    max_parent_keys_per_table: int = Field(8, ge=1, le=1000)
    max_composite_keys_per_table: int = Field(2, ge=0, le=100)
    key_search_max_columns: int = Field(12, ge=2, le=200)
    key_search_max_sets: int = Field(60, ge=0, le=10_000)
    min_child_distinct: int = Field(2, ge=1, le=1_000_000)
    min_containment: float = Field(0.8, ge=0.05, le=1)
    max_parents_per_child: int = Field(20, ge=1, le=10_000)
    max_candidate_pairs: int = Field(20_000, ge=1, le=10_000_000)
    max_composite_candidates: int = Field(20, ge=0, le=10_000)
    composite_sample_rows: int = Field(50_000, ge=1000, le=100_000_000)
    composite_sample_blocks: int = Field(10, ge=1, le=1000)
    composite_screen_margin: float = Field(0.2, ge=0, le=1)
    full_support_values: int = Field(3, ge=1, le=1000)
    chance_flag: float = Field(0.9, ge=0, le=1)
    min_confidence: float = Field(0.65, ge=0, le=1)
    ambiguity_margin: float = Field(0.02, ge=0, le=1)
    orphan_examples: int = Field(5, ge=0, le=100)
    max_rejected: int = Field(25, ge=0, le=10_000)
    rejected_min_containment: float = Field(0.5, ge=0, le=1)
    weights: Weights = Weights()
    names: NameSettings = NameSettings()
