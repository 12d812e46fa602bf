"""The entropy phase's context documents: context.json for programs (its shape is documented
in docs/context-schema.md) and context.md for an agent's prompt."""

from __future__ import annotations

from typing import Any

from phases.core.records import JsonArtifact, TextArtifact

CONTEXT_DOCUMENT: JsonArtifact[dict[str, Any]] = JsonArtifact("context_document", "context.json", record=dict)
CONTEXT_MARKDOWN = TextArtifact("context_markdown", "context.md")
