"""config/thresholds.yaml as one typed model: every threshold, weight, multiplier and
readiness cut of the entropy phase, checked when the phase starts (unknown keys and
out-of-range values are errors naming the key)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from phases.core.config import Model

Unit = Field(ge=0, le=1)

DIMENSIONS = (
    "type_fidelity", "relationship_quality", "join_path", "duplicate_rows",
    "nulls", "outliers", "benford", "temporal_drift", "category_consistency",
    "business_meaning", "units", "time_role",
    "derived_consistency", "validation", "aggregation_risk",
)
Dimension = Literal[
    "type_fidelity", "relationship_quality", "join_path", "duplicate_rows",
    "nulls", "outliers", "benford", "temporal_drift", "category_consistency",
    "business_meaning", "units", "time_role",
    "derived_consistency", "validation", "aggregation_risk",
]
LAYER_OF: dict[str, str] = {
    "type_fidelity": "structural", "relationship_quality": "structural", "join_path": "structural",
    "duplicate_rows": "structural",
    "nulls": "value", "outliers": "value", "benford": "value", "temporal_drift": "value",
    "category_consistency": "value",
    "business_meaning": "semantic", "units": "semantic", "time_role": "semantic",
    "derived_consistency": "computational", "validation": "computational", "aggregation_risk": "computational",
}


def ramp(value: float, start: float, full: float) -> float:
    """0 at or below `start`, 1 at or above `full`, linear between."""
    if value <= start:
        return 0.0
    if value >= full or full <= start:
        return 1.0
    return (value - start) / (full - start)


class Ramp(Model):
    @model_validator(mode="after")
    def _ordered(self) -> Ramp:
        for name in type(self).model_fields:
            if name.endswith("_start") or name == "start":
                full = name[: -len("start")] + "full"
                if full in type(self).model_fields and getattr(self, full) <= getattr(self, name):
                    raise ValueError(f"{full} must be above {name}")
        return self


class Readiness(Model):
    investigate: float = Field(0.3, gt=0, le=1)
    blocked: float = Field(0.7, gt=0, le=1)
    top_dimensions: int = Field(3, ge=1, le=20)
    min_reported_score: float = Field(0.05, ge=0, le=1)
    annotation_dimensions: tuple[Dimension, ...] = ()
    caution_dimensions: tuple[Dimension, ...] = ()

    @model_validator(mode="after")
    def _ordered(self) -> Readiness:
        if self.blocked <= self.investigate:
            raise ValueError("blocked must be above investigate")
        return self


class TypeFidelity(Ramp):
    failure_any_score: float = Unit
    failure_start: float = Unit
    failure_full: float = Unit
    alternative_start: float = Unit
    alternative_full: float = Unit
    ambiguous_score: float = Unit
    mixed_formats_score: float = Unit
    ambiguous_reading_score: float = Unit
    quarantine_start: float = Unit
    quarantine_full: float = Unit


class RelationshipThresholds(Model):
    orphan_any_score: float = Unit
    coverage_in_span: float = Unit
    coverage_min_beyond: float = Unit
    orphan_full_ratio: float = Field(gt=0, le=1)
    min_confidence: float = Unit
    unverified_score: float = Unit
    likely_orphan_score: float = Unit
    fan_out_score: float = Unit
    ambiguous_path_score: float = Unit
    isolated_table_score: float = Unit


class Nulls(Ramp):
    any_score: float = Unit
    start: float = Unit
    full: float = Unit
    max_score: float = Unit
    optional_reference_min_share: float = Unit
    optional_reference_damping: float = Unit
    sentinel_score: float = Unit
    empty_table_score: float = Unit
    structural_min_gain: float = Field(gt=0, le=1)
    structural_damping: float = Unit
    harmless_damping: float = Unit
    coverage_damping: float = Unit
    coverage_max_chance: float = Field(gt=0, le=1)
    coverage_min_z: float = Field(ge=0, le=100)
    structural_max_categories: int = Field(ge=2, le=10_000)
    structural_min_rows_per_category: int = Field(ge=1, le=1_000_000)
    structural_max_candidates: int = Field(ge=0, le=100)

    @model_validator(mode="after")
    def _scores(self) -> Nulls:
        if self.max_score < self.any_score:
            raise ValueError("max_score must be at least any_score")
        return self


class Duplicates(Model):
    any_score: float = Unit
    full: float = Field(gt=0, le=1)


class Outliers(Ramp):
    extreme_score: float = Unit
    detached_gap: float = Field(ge=0, le=1000)
    detached_max_share: float = Unit
    mass_start: float = Unit
    mass_full: float = Unit
    share_start: float = Unit
    share_full: float = Unit
    heavy_tail_share: float = Unit
    sign_max_share: float = Field(ge=0, le=0.5)
    sign_start: float = Unit
    sign_full: float = Unit


class Benford(Ramp):
    mad_start: float = Unit
    mad_full: float = Unit
    uniform_share_start: float = Unit
    uniform_share_full: float = Unit
    uniform_min_z: float = Field(ge=0, le=100)
    uniform_min_orders: float = Field(ge=0, le=20)


class Temporal(Ramp):
    psi_start: float = Field(ge=0, le=100)
    psi_full: float = Field(ge=0, le=100)
    min_period_rows: int = Field(ge=1, le=1_000_000)
    level_shift_z_start: float = Field(ge=0, le=1000)
    level_shift_z_full: float = Field(ge=0, le=1000)
    level_shift_max_score: float = Unit
    edge_share: float = Field(ge=0, le=0.5)
    volume_window_days: int = Field(ge=0, le=3650)
    level_shift_max_gap_steps: float = Field(ge=1, le=1000)
    level_shift_scale_ratio: float = Field(gt=1, le=1e6)


class Categories(Model):
    variant_any_score: float = Unit
    variant_full: float = Field(gt=0, le=1)


class Semantic(Model):
    unclear_name_score: float = Unit
    confirmed_confidence: float = Unit
    abbreviated_name_score: float = Unit
    measure_without_unit_score: float = Unit
    mixed_units_score: float = Unit
    unclear_time_role_score: float = Unit
    conversion_min_rows: int = Field(ge=1, le=1_000_000)
    conversion_min_share: float = Unit
    conversion_full_share: float = Field(gt=0, le=1)
    conversion_unexplained_damping: float = Unit


class Computational(Ramp):
    mismatch_start: float = Unit
    mismatch_full: float = Unit
    cross_table_mismatch_start: float = Unit
    cross_table_mismatch_full: float = Unit
    cross_table_break_min_z: float = Field(ge=0, le=1000)
    cross_table_break_score: float = Unit
    match_absolute_tolerance: float = Field(ge=0, le=1_000_000)
    match_relative_tolerance: float = Field(ge=0, le=0.5)
    validation_error_score: float = Unit
    validation_warning_score: float = Unit
    point_in_time_score: float = Unit


class CompoundRisk(Model):
    dimensions: tuple[Dimension, Dimension]
    min_score: float = Unit
    multiplier: float = Field(ge=1, le=10)
    description: str


class ContextBudget(Model):
    max_markdown_chars: int = Field(24000, ge=2000, le=1_000_000)
    max_columns_detailed: int = Field(60, ge=1, le=100_000)
    max_findings_per_column: int = Field(3, ge=1, le=20)


class EntropySettings(Model):
    """config/thresholds.yaml."""

    readiness: Readiness = Readiness()
    weights: dict[Dimension, float]
    type_fidelity: TypeFidelity
    relationships: RelationshipThresholds
    nulls: Nulls
    duplicates: Duplicates
    outliers: Outliers
    benford: Benford
    temporal: Temporal
    categories: Categories
    semantic: Semantic
    computational: Computational
    compound_risks: tuple[CompoundRisk, ...] = ()
    context: ContextBudget = ContextBudget()
    # the verdict thresholds of the metrics phase, which checks them (phases.metrics.settings)
    metric_verdicts: dict[str, float | int] = {}

    @model_validator(mode="after")
    def _weights(self) -> EntropySettings:
        missing = [d for d in DIMENSIONS if d not in self.weights]
        if missing:
            raise ValueError(f"weights: missing {missing}")
        bad = [d for d, w in self.weights.items() if not 0 <= w <= 1]
        if bad:
            raise ValueError(f"weights: {bad} must lie in 0..1")
        return self
