"""The import phase's settings (config/null_values.yaml), apart from the import itself so that
the project checks them when it loads without importing DuckDB."""

from __future__ import annotations

from pydantic import Field

from phases.core.config import Model


class NullTokenSettings(Model):
    """Thresholds of the judgement (config/null_values.yaml)."""

    null_token_shape_share: float = Field(0.5, gt=0.0, le=1.0)
    null_token_min_values: int = Field(2, ge=1)
    null_token_digit_share: float = Field(0.5, gt=0.0, le=1.0)
    null_token_co_missing_excess: float = Field(0.2, ge=0.0, le=1.0)
    null_token_co_missing_z: float = Field(3.0, ge=0.0)
    null_token_sample_values: int = Field(1000, ge=10, le=100_000)


class ImportTuning(NullTokenSettings):
    """The import phase's thresholds (config/null_values.yaml)."""

    encoding_alternative_p: float = Field(0.05, gt=0.0, lt=1.0)


class ImportSettings(ImportTuning):
    """The import phase's section: config/null_values.yaml."""

    null_values: tuple[str, ...]  # whole-field tokens that mean "no value"
