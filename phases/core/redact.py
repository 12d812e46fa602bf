"""Secrets never stored: text that may hold an API key or a token (an HTTP error body, an
exception message) passes through `redact` before it reaches a manifest, an artifact or the run
history. It removes the secrets the caller knows (the key it sent) and whatever looks like one:
bearer and basic credentials, `api_key=...`-style pairs, credentials in URLs and the shapes of
the common providers' keys. Redacting JSON text keeps it valid JSON."""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[REDACTED]"
MIN_SECRET = 8  # a known secret shorter than this is not searched for (it would match ordinary words)

_VALUE = r"[^\s\"'`,;&}\]\\)]"  # a secret's characters: up to a quote, separator or JSON escape
_NOT_DONE = rf"(?!{re.escape(REDACTED)})"
_PATTERNS = (
    # Bearer <token>, anywhere
    (re.compile(rf"(?i)\b(bearer\s+){_NOT_DONE}[A-Za-z0-9._~+/=-]{{8,}}"), rf"\1{REDACTED}"),
    # api_key=..., "x-api-key": "...", password: ..., access_token=..., Authorization: Basic ...
    (re.compile(
        r"(?i)((?:x-)?(?:api[_-]?key|apikey|secret|client[_-]?secret|password|passwd|"
        r"(?:access|auth|refresh|id|session)[_-]?token|token|authorization)[\"']?\s*[:=]\s*[\"']?"
        r"(?:(?:bearer|basic|token)\s+)?)"
        rf"{_NOT_DONE}(?!(?:bearer|basic|token)\s){_VALUE}{{6,}}"), rf"\1{REDACTED}"),
    # ?key=... in a URL's query
    (re.compile(rf"([?&](?:key|sig|signature|code)=){_NOT_DONE}{_VALUE}{{8,}}"), rf"\1{REDACTED}"),
    # https://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s:@\"']+:[^/\s@\"']+@"), rf"\1{REDACTED}@"),
    # the shapes of common keys: sk-..., sk-ant-..., GitHub, Slack, AWS, Google, Hugging Face, JWTs
    (re.compile(r"\b(?:sk|pk|rk)-[A-Za-z0-9_-]{16,}"), REDACTED),
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"), REDACTED),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"), REDACTED),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), REDACTED),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{35}"), REDACTED),
    (re.compile(r"\bhf_[A-Za-z0-9]{30,}"), REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), REDACTED),
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with the given secrets and anything that looks like a key or token replaced by
    [REDACTED]."""
    for secret in sorted({s.strip() for s in secrets if s and len(s.strip()) >= MIN_SECRET}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_optional(text: str | None) -> str | None:
    return None if text is None else redact(text)
