"""config/llm.yaml: the optional LLM refinement of the semantic phase (phases.meaning.llm)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from phases.core.config import Model


class LlmSettings(Model):
    """config/llm.yaml, key llm."""

    enabled: bool = False
    # false: names, types, the measured meaning and counts only; no value, range or value shape
    send_values: bool = True
    provider: Literal["anthropic", "openai"] = "anthropic"
    model: str = Field("claude-sonnet-4-5", min_length=1)
    base_url: str | None = None
    api_key_env: str = Field("ANTHROPIC_API_KEY", min_length=1)
    anthropic_version: str = "2023-06-01"
    timeout_seconds: float = Field(60.0, ge=0.01, le=600)
    max_tokens: int = Field(8000, ge=1, le=200_000)
    prompt_version: str = Field("1", min_length=1)
    max_columns: int = Field(300, ge=1, le=10_000)
    replace_concept_below: float = Field(0.6, ge=0, le=1)
