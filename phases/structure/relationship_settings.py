"""Settings of the relationships phase (config/relationships.yaml), shared by the key ranking, the
candidate pruning and the foreign-key evidence."""

from __future__ import annotations

from pydantic import Field

from phases.core.config import ColumnType, Model


class EvidenceSettings(Model):
    """How a candidate's evidence is weighed, in decades (log10 of how much likelier the data is
    if the column references the parent than if it does not)."""

    location_scale: float = Field(2.0, ge=1, le=1000)
    value_cap: float = Field(6.0, ge=0.5, le=100)
    min_value: float = Field(0.25, ge=0, le=10)
    chance_flag: float = Field(1.0, ge=0, le=10)
    name_weight: float = Field(2.0, ge=0, le=10)
    no_name_penalty: float = Field(1.5, ge=0, le=10)
    text_chance_floor: float = Field(0.05, ge=0, le=1)
    shared_numbering_min: int = Field(3, ge=1, le=1_000_000)
    near_unique_penalty: float = Field(0.5, ge=0, le=10)
    accept: float = Field(2.0, ge=0, le=100)
    likely: float = Field(1.0, ge=0, le=100)
    full: float = Field(4.0, ge=0.1, le=100)
    accepted_confidence: float = Field(0.8, ge=0, le=1)
    ambiguity: float = Field(0.1, ge=0, le=10)
    exact_name: float = Field(0.95, ge=0.5, le=1)
    self_rows_max: float = Field(0.5, ge=0, le=1)
    min_in_span: float = Field(0.3, ge=0, le=1)


class NameSettings(Model):
    """Words that carry no meaning for matching names, and words that mark a self-reference."""

    key_words: tuple[str, ...] = ("id", "key", "code", "no", "nr", "num", "number", "ref", "fk", "pk", "sk",
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
    max_composite_keys_per_table: int = Field(4, ge=0, le=100)
    small_table_rows: int = Field(2, ge=1, le=1_000_000)
    date_parent_min_density: float = Field(0.5, ge=0, le=1)
    min_child_distinct: int = Field(1, ge=1, le=1_000_000)
    min_containment: float = Field(0.8, ge=0.05, le=1)
    max_parents_per_child: int = Field(20, ge=1, le=10_000)
    max_candidate_pairs: int = Field(20_000, ge=1, le=10_000_000)
    max_composite_candidates: int = Field(20, ge=0, le=10_000)
    composite_sample_rows: int = Field(50_000, ge=1000, le=100_000_000)
    composite_sample_blocks: int = Field(10, ge=1, le=1000)
    composite_screen_margin: float = Field(0.2, ge=0, le=1)
    orphan_examples: int = Field(5, ge=0, le=100)
    max_rejected: int = Field(25, ge=0, le=10_000)
    max_likely: int = Field(100, ge=0, le=10_000)
    rejected_min_containment: float = Field(0.5, ge=0, le=1)
    hierarchy_max_rows: int = Field(1_000_000, ge=0, le=1_000_000_000)
    evidence: EvidenceSettings = EvidenceSettings()
    names: NameSettings = NameSettings()
