"""Optional LLM refinement of the semantic annotations (off unless config/llm.yaml says enabled).

A provider speaks one HTTP API through the standard library (no SDK, no extra dependency):
- `anthropic`: the Messages API, POST {base_url}/v1/messages with x-api-key and anthropic-version;
- `openai`: chat completions, POST {base_url}/v1/chat/completions with a Bearer key (OpenAI or any
  compatible server).
The key comes from the environment variable named in the config, never from a file.

The prompt carries the measured schema (names, types, roles, concepts, statistics; no values of
personal-data columns) and asks for JSON proposals of descriptions, business names and concepts.
Every answer is cached under state/llm_cache/<sha256 of provider, model, prompt version and
prompt>.json, outside any task folder (the runner clears those), so a rerun asks nothing. The
model and prompt version live in config/llm.yaml, so they are part of the task's signature.

The model can only refine: `accept` keeps known concept ids only, never touches roles, overrides
or confident concepts, and any failure (missing key, HTTP error, timeout, malformed answer)
raises LlmError, which the phase turns into a warning over the deterministic result.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from phases.artifacts.annotations import ColumnAnnotation
from phases.core.manifest import canonical_json, write_atomically
from phases.core.redact import redact
from phases.meaning.llm_settings import LlmSettings

DEFAULT_BASE_URLS = {"anthropic": "https://api.anthropic.com", "openai": "https://api.openai.com"}
MAX_DESCRIPTION = 400
MAX_BUSINESS_NAME = 80


class LlmError(Exception):
    """Why the model's answer cannot be used; the deterministic result stands."""


class Provider(Protocol):
    def complete(self, system: str, prompt: str) -> str:
        """The model's text answer to one system + user message."""
        ...


def _post(url: str, headers: Mapping[str, str], body: Mapping[str, Any], timeout: float) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode("utf-8"), method="POST",
        headers={"content-type": "application/json", **headers},
    )
    host = urlparse(url).hostname or ""
    # a local server must never be reached through a proxy from the environment
    handlers = [urllib.request.ProxyHandler({})] if host in ("localhost", "127.0.0.1", "::1") else []
    # what the request carried that must never be stored: an error body may echo it back
    secrets = [value for name, value in headers.items() if name.lower() in ("x-api-key", "authorization")]
    secrets += [value.split()[-1] for value in secrets if value.split()]
    shown = redact(url)
    try:
        with urllib.request.build_opener(*handlers).open(request, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        detail = " ".join(exc.read(300).decode("utf-8", "replace").split())
        raise LlmError(redact(f"HTTP {exc.code} from {shown}" + (f": {detail}" if detail else ""), secrets)) from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise LlmError(redact(f"request to {shown} failed: {reason or type(exc).__name__}", secrets)) from None
    try:
        return json.loads(raw)
    except ValueError:
        raise LlmError(f"the reply of {shown} is not JSON") from None


@dataclass(frozen=True)
class AnthropicProvider:
    settings: LlmSettings
    api_key: str

    def complete(self, system: str, prompt: str) -> str:
        s = self.settings
        base = (s.base_url or DEFAULT_BASE_URLS["anthropic"]).rstrip("/")
        data = _post(
            f"{base}/v1/messages", {"x-api-key": self.api_key, "anthropic-version": s.anthropic_version},
            {"model": s.model, "max_tokens": s.max_tokens, "temperature": 0, "system": system,
             "messages": [{"role": "user", "content": prompt}]},
            s.timeout_seconds,
        )
        blocks = data.get("content") if isinstance(data, dict) else None
        texts = [b["text"] for b in blocks or () if isinstance(b, dict) and b.get("type") == "text"
                 and isinstance(b.get("text"), str)]
        if not texts:
            raise LlmError("the Messages API reply has no text content")
        return "".join(texts)


@dataclass(frozen=True)
class OpenAIProvider:
    settings: LlmSettings
    api_key: str

    def complete(self, system: str, prompt: str) -> str:
        s = self.settings
        base = (s.base_url or DEFAULT_BASE_URLS["openai"]).rstrip("/")
        data = _post(
            f"{base}/v1/chat/completions", {"authorization": f"Bearer {self.api_key}"},
            {"model": s.model, "max_tokens": s.max_tokens, "temperature": 0,
             "messages": [{"role": "system", "content": system}, {"role": "user", "content": prompt}]},
            s.timeout_seconds,
        )
        try:
            text = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise LlmError("the chat completions reply has no choices[0].message.content") from None
        if not isinstance(text, str):
            raise LlmError("the chat completions reply's content is not text")
        return text


def make_provider(settings: LlmSettings) -> Provider:
    key = os.environ.get(settings.api_key_env, "").strip()
    if not key:
        raise LlmError(f"environment variable {settings.api_key_env} (llm.api_key_env) is not set")
    cls = AnthropicProvider if settings.provider == "anthropic" else OpenAIProvider
    return cls(settings, key)


# --- cache --------------------------------------------------------------------------------------


def cache_key(settings: LlmSettings, system: str, prompt: str) -> str:
    ident = {"provider": settings.provider, "model": settings.model, "prompt_version": settings.prompt_version,
             "max_tokens": settings.max_tokens, "system": system, "prompt": prompt}
    return hashlib.sha256(canonical_json(ident).encode("utf-8")).hexdigest()


def cached_completion(settings: LlmSettings, system: str, prompt: str, cache_dir: Path,
                      provider: Callable[[], Provider] | None = None) -> tuple[str, bool]:
    """(answer, whether it came from the cache). A cached answer needs no key and no network."""
    path = cache_dir / f"{cache_key(settings, system, prompt)}.json"
    if path.is_file():
        try:
            return json.loads(path.read_text(encoding="utf-8"))["response"], True
        except (OSError, ValueError, KeyError, TypeError):
            pass  # a damaged cache entry is asked again and rewritten
    text = (provider or (lambda: make_provider(settings)))().complete(system, prompt)
    write_atomically(path, canonical_json({
        "provider": settings.provider, "model": settings.model, "prompt_version": settings.prompt_version,
        "response": text,
    }))
    return text, False


# --- prompt and answer ----------------------------------------------------------------------------

SYSTEM = ("You document database tables for data analysts. You are given measured facts about each column. "
          "Answer with one JSON object and nothing else.")

INSTRUCTIONS = """Below is the measured schema of one data source: per table its kind, entity and grain, per column
its type, role, current concept (an id from `concepts` or null), statistics and, for categories only, frequent
values. Columns flagged `pii` hold personal data; their values are not shown and must not be guessed.

For every column, propose:
- "description": one or two sentences on what the column means for the business (no personal data values);
- "business_name": a short readable name;
- "concept": the best id from `concepts`, or null when none fits. Use only ids listed there.
Do not propose roles; they were measured.

Reply with exactly: {"columns": [{"table": "...", "column": "...", "concept": "..." or null,
"description": "...", "business_name": "..."}, ...]}

"""


def build_prompt(schema: Mapping[str, Any], concepts: Mapping[str, str], prompt_version: str,
                 send_values: bool = True) -> str:
    """The user message: the instructions, then the schema as JSON (`llm_schema` decides what it holds)."""
    payload = {"prompt_version": prompt_version, "concepts": dict(concepts), "schema": schema}
    instructions = INSTRUCTIONS if send_values else INSTRUCTIONS.replace(
        "statistics and, for categories only, frequent\nvalues.", "statistics (counts), and no value of the data.")
    return instructions + json.dumps(payload, sort_keys=True, indent=1, ensure_ascii=False, default=str)


@dataclass(frozen=True)
class Proposal:
    table: str
    column: str
    concept: str | None
    description: str | None
    business_name: str | None


def parse_reply(text: str) -> list[Proposal]:
    """The proposals of an answer; anything not shaped as asked raises LlmError."""
    body = re.sub(r"^\s*```(?:json)?\s*|\s*```\s*$", "", text.strip())
    start, end = body.find("{"), body.rfind("}")
    if start < 0:
        raise LlmError("the model's answer holds no JSON object")
    try:
        data = json.loads(body[start:end + 1] if end > start else body[start:])
    except ValueError as exc:
        raise LlmError(f"the model's answer is not valid JSON ({exc})") from None
    items = data.get("columns") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise LlmError("the model's answer has no 'columns' list")
    proposals = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("table"), str) or \
                not isinstance(item.get("column"), str):
            raise LlmError("a proposal of the model's answer lacks 'table' or 'column'")

        def text_of(key: str, limit: int, item: dict = item) -> str | None:
            value = item.get(key)
            return value.strip()[:limit] if isinstance(value, str) and value.strip() else None

        proposals.append(Proposal(item["table"], item["column"], text_of("concept", 100),
                                  text_of("description", MAX_DESCRIPTION), text_of("business_name", MAX_BUSINESS_NAME)))
    return proposals


@dataclass(frozen=True)
class Refinement:
    concept: str | None  # a new concept id, or None to keep the deterministic one
    description: str | None
    business_name: str | None
    note: str  # what was accepted and what was refused


def accept(proposals: Sequence[Proposal], columns: Sequence[ColumnAnnotation], known_concepts: Sequence[str],
           replace_below: float) -> dict[tuple[str, str], Refinement]:
    """The refinements allowed: known concept ids only, never for overridden columns, and a concept
    replaces a deterministic one only when that one's confidence is below `replace_below`."""
    by_key = {(c.table, c.column): c for c in columns}
    known = set(known_concepts)
    accepted: dict[tuple[str, str], Refinement] = {}
    for p in proposals:
        col = by_key.get((p.table, p.column))
        if col is None or col.decided_by == "override" or (p.table, p.column) in accepted:
            continue
        concept, notes = None, []
        if p.concept is not None and p.concept != col.concept:
            if p.concept not in known:
                notes.append(f"refused unknown concept {p.concept!r}")
            elif col.concept is not None and col.concept_confidence >= replace_below:
                notes.append(f"kept {col.concept} ({col.concept_confidence:.2f}) over the proposed {p.concept}")
            else:
                concept = p.concept
                notes.append(f"concept {p.concept} (was {col.concept or 'none'})")
        if p.description:
            notes.append("description")
        if p.business_name and p.business_name != col.business_name:
            notes.append(f"business name {p.business_name!r}")
        if concept or p.description or (p.business_name and p.business_name != col.business_name):
            accepted[(p.table, p.column)] = Refinement(concept, p.description, p.business_name, "; ".join(notes))
    return accepted
