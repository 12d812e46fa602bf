"""Settings of the typing phase (config/typing.yaml), shared by type inference and the format catalogue."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from phases.core.config import Model


class TypingSettings(Model):
    """Thresholds and patterns of type inference; values live in config/typing.yaml."""

    sample_rows: int = Field(20_000, ge=100, le=10_000_000)
    sample_chunks: int = Field(8, ge=1, le=100)
    sample_values: int = Field(1_000, ge=10, le=100_000)
    sample_frequent_values: int = Field(100, ge=1, le=100_000)
    propose_min_match_rate: float = Field(0.5, gt=0.0, le=1.0)
    max_candidates: int = Field(2, ge=1, le=10)
    min_parse_rate: float = Field(0.95, ge=0.5, le=1.0)
    min_typed_share: float = Field(0.5, ge=0.0, le=1.0)
    compact_date_min_parse_rate: float = Field(1.0, ge=0.5, le=1.0)
    compact_date_year_min: int = Field(1900, ge=1, le=9999)
    compact_date_year_max: int = Field(2100, ge=1, le=9999)
    date_year_min: int = Field(1000, ge=1, le=9999)
    date_year_max: int = Field(9999, ge=1, le=9999)
    date_order_default: Literal["month_first", "day_first"] = "month_first"
    decimal_separator_default: Literal[".", ","] = "."
    ambiguous_confidence_factor: float = Field(0.5, ge=0.0, le=1.0)
    leading_zero_text_share: float = Field(0.0, ge=0.0, le=1.0)
    max_failure_examples: int = Field(5, ge=0, le=100)
    trim_characters: str = Field(" \t\r\n\u00a0\u202f", min_length=1)
    true_tokens: tuple[str, ...] = ("true", "yes", "y", "t")
    false_tokens: tuple[str, ...] = ("false", "no", "n", "f")
    thousands_separators: tuple[str, ...] = (",", ".", " ", "'", "\u00a0", "\u202f")
    currency_symbols: dict[str, str] = {"$": "USD", "€": "EUR", "£": "GBP", "¥": "JPY"}
    currency_codes: tuple[str, ...] = (
        "USD",
        "EUR",
        "GBP",
        "JPY",
        "CHF",
        "CAD",
        "AUD",
        "NZD",
        "CNY",
        "SEK",
        "NOK",
        "DKK",
        "PLN",
        "INR",
    )
    date_formats: tuple[str, ...] = (
        "%Y-%m-%d",
        "%Y/%m/%d",
        "%m/%d/%Y",
        "%d/%m/%Y",
        "%m-%d-%Y",
        "%d-%m-%Y",
        "%d.%m.%Y",
        "%d-%b-%Y",
        "%d %b %Y",
        "%b %d, %Y",
        "%B %d, %Y",
        "%d %B %Y",
        "%b %d %Y",
        "%B %d %Y",
        "%d-%b-%y",
        "%Y-%m",
        "%b %Y",
        "%B %Y",
    )
    time_formats: tuple[str, ...] = ("%H:%M:%S", "%H:%M", "%H:%M:%S.%f", "%I:%M:%S %p", "%I:%M %p")

    @field_validator("trim_characters")
    @classmethod
    def _whitespace_only(cls, value: str) -> str:
        # Blank detection relies on every trim character sorting below '!' or at or above U+00A0.
        if not value.isspace() or any("\u0080" <= c < "\u00a0" for c in value):
            raise ValueError("must contain whitespace characters only (none in U+0080..U+009F)")
        return value

    @field_validator("true_tokens", "false_tokens")
    @classmethod
    def _lowercase_tokens(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value or any(not v or v != v.strip().lower() for v in value):
            raise ValueError("must be a non-empty list of lowercase, trimmed, non-empty tokens")
        return value

    @field_validator("thousands_separators")
    @classmethod
    def _single_characters(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(len(v) != 1 or v.isalnum() for v in value):
            raise ValueError("each separator must be one character, not a letter or digit")
        return value

    @field_validator("currency_codes")
    @classmethod
    def _iso_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(len(v) != 3 or not (v.isascii() and v.isalpha() and v.isupper()) for v in value):
            raise ValueError("each code must be three uppercase letters (ISO 4217)")
        return value

    @field_validator("currency_symbols")
    @classmethod
    def _symbols(cls, value: dict[str, str]) -> dict[str, str]:
        if any(not s or any(c.isdigit() or c.isspace() for c in s) for s in value):
            raise ValueError("symbols must be non-empty and contain no digits or spaces")
        return value

    @field_validator("date_formats", "time_formats")
    @classmethod
    def _strptime_formats(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value or any("%" not in v for v in value):
            raise ValueError("must be a non-empty list of strptime formats")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> TypingSettings:
        if self.compact_date_year_min > self.compact_date_year_max:
            raise ValueError("compact_date_year_min must not exceed compact_date_year_max")
        if self.sample_frequent_values >= self.sample_values:
            raise ValueError("sample_frequent_values must be below sample_values")
        if self.date_year_min > self.date_year_max:
            raise ValueError("date_year_min must not exceed date_year_max")
        if set(self.true_tokens) & set(self.false_tokens):
            raise ValueError("true_tokens and false_tokens must not overlap")
        return self
