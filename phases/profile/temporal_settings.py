"""Settings of the temporal phase (config/temporal.yaml), shared by the profile and the series analysis."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from phases.core.config import Model


class TemporalSettings(Model):
    """config/temporal.yaml; the comments there explain each key."""

    reference_date: date | None = None
    copy_max_rows: int = Field(2_000_000, ge=0, le=1_000_000_000)
    min_distinct_values: int = Field(3, ge=2, le=1000)
    min_granularity_confidence: float = Field(0.9, ge=0.5, le=1.0)
    min_modal_share: float = Field(0.2, ge=0.0, le=1.0)
    top_gaps: int = Field(5, ge=0, le=100)
    period_label_min_share: float = Field(0.95, ge=0.5, le=1.0)
    due_offset_min_share: float = Field(0.8, ge=0.5, le=1.0)
    due_offset_max_values: int = Field(5, ge=1, le=10)
    relations_listed_max: int = Field(50, ge=0, le=100_000)
    stale_after_periods: int = Field(2, ge=0, le=10000)
    min_series_periods: int = Field(8, ge=4, le=100)
    max_series_periods: int = Field(1500, ge=50, le=5000)
    max_amount_columns: int = Field(3, ge=0, le=20)
    trend_min_r2: float = Field(0.5, ge=0.0, le=1.0)
    seasonality_min_strength: float = Field(0.3, ge=0.0, le=1.0)
    seasonality_max_p_value: float = Field(0.001, gt=0.0, le=1.0)
    min_seasonal_cycles: float = Field(2.0, ge=1.5, le=10.0)
    level_shift_min_z: float = Field(6.0, ge=2.0, le=50.0)
    level_shift_min_relative: float = Field(0.1, ge=0.0, le=10.0)
    level_shift_min_segment: int = Field(5, ge=2, le=100)
    max_level_shifts: int = Field(3, ge=0, le=20)
    level_shift_seasonal_share: float = Field(0.5, ge=0.0, le=10.0)
    drift_bins: int = Field(10, ge=2, le=50)
    drift_quantile_rows: int = Field(1_000_000, ge=1000, le=1_000_000_000)
    drift_max_periods: int = Field(60, ge=2, le=1000)
    drift_min_rows: int = Field(100, ge=10, le=1_000_000)
    drift_min_psi: float = Field(0.25, ge=0.0, le=10.0)
    drift_max_p_value: float = Field(0.001, gt=0.0, le=1.0)
    top_drift_pairs: int = Field(5, ge=0, le=100)
    drift_listed_max: int = Field(50, ge=0, le=100_000)
    drift_edge_min_share: float = Field(0.5, ge=0.0, le=1.0)
    drift_min_ratio: float = Field(3.0, ge=1.0, le=100.0)
    drift_persistence_periods: int = Field(3, ge=2, le=24)
    drift_persistence_share: float = Field(0.5, ge=0.0, le=1.0)
    function_min_power: float = Field(0.5, ge=0.0, le=1.0)
    function_min_dates: int = Field(8, ge=2, le=1000)
    axis_min_year: int = Field(1700, ge=1, le=9999)
    axis_max_year: int = Field(2200, ge=1, le=9999)
    axis_max_null_share: float = Field(0.01, ge=0.0, le=1.0)
    panel_max_time_uniqueness: float = Field(0.9, ge=0.0, le=1.0)
    panel_min_uniqueness: float = Field(0.98, ge=0.5, le=1.0)
    panel_max_p_value: float = Field(0.001, gt=0.0, le=1.0)
    panel_min_rows_per_series: int = Field(3, ge=2, le=1000)
    panel_max_pair_candidates: int = Field(8, ge=0, le=20)
    panel_min_completeness: float = Field(0.5, ge=0.0, le=1.0)
    top_series: int = Field(5, ge=0, le=100)
