"""Secrets never stored (issue 14): keys and tokens in error texts are redacted before they reach
the run history, a manifest or an artifact."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from phases.core.redact import REDACTED, redact
from phases.engine import store

KEY = "sk-ant-api03-Zx9fakeKEYfakeKEYfakeKEY"


@pytest.mark.parametrize(("text", "expected"), [
    (f'HTTP 401: {{"error": "invalid x-api-key {KEY}"}}', f'HTTP 401: {{"error": "invalid x-api-key {REDACTED}"}}'),
    ("Authorization: Bearer abcdefghijkl12345", f"Authorization: Bearer {REDACTED}"),
    ("authorization: Basic dXNlcjpwYXNzd29yZA==", f"authorization: Basic {REDACTED}"),
    ('{"api_key": "zzzzzzzzzzzz", "n": 1}', f'{{"api_key": "{REDACTED}", "n": 1}}'),
    ("password=hunter22&user=bob", f"password={REDACTED}&user=bob"),
    ("https://bob:hunter22@example.com/v1", f"https://{REDACTED}@example.com/v1"),
    ("GET /v1?key=AIzaSyA1234567890abcdefghijklmnopqrstu&x=1", f"GET /v1?key={REDACTED}&x=1"),
    ("token ghp_abcdefghijklmnopqrstuvwxyz0123 expired", f"token {REDACTED} expired"),
    ("AWS AKIAIOSFODNN7EXAMPLE denied", f"AWS {REDACTED} denied"),
], ids=["provider-key", "bearer", "basic", "json-pair", "form-pair", "url-credentials", "query-key", "github",
        "aws"])
def test_a_key_or_token_is_redacted(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "null token 'NA' kept in column country",
    "basic statistics of max_tokens: 8000",
    "manifest sha256 3e7a91fdc9b1f8df0d626fbbb74fcc4c2bad4a74afe969ec1393ea1a4a22613c differs",
    "config/llm.yaml: llm.api_key_env: Input should be a valid string",
    "state/s/import/t/raw.parquet: the file changed while it was read",
])
def test_ordinary_messages_are_left_alone(text):
    assert redact(text) == text


def test_a_known_secret_is_redacted_whatever_its_shape():
    assert redact("the server said: you sent plainsecret99, which is wrong", ["plainsecret99"]) == \
        f"the server said: you sent {REDACTED}, which is wrong"


def test_redacting_json_keeps_it_json():
    text = json.dumps({"tasks": [{"error": f"HTTP 401: bad key {KEY}", "auth": "Bearer abcdefghijklmnop"}]})
    assert json.loads(redact(text)) == {"tasks": [{"error": f"HTTP 401: bad key {REDACTED}",
                                                   "auth": f"Bearer {REDACTED}"}]}


def test_the_history_stores_errors_and_runs_without_the_key(tmp_path: Path):
    engine = store.open_store(tmp_path / "history.sqlite")
    now = datetime.now(UTC)
    try:
        store.record_checkpoint(engine, store.Checkpoint(
            task="semantic:s", source="s", phase="semantic", table_name=None, started_at=now, finished_at=now,
            duration_s=0.1, success=False, input_hash="", output_summary=None,
            error=f"semantic:s failed: HTTP 401 from https://api.example.com: echo x-api-key: {KEY}"))
        store.record_run(engine, store.RunEntry(
            id="r1", started_at=now, finished_at=now, duration_s=0.1, request="{}", exit_code=1,
            tasks=json.dumps([{"task": "semantic:s", "error": f"Authorization: Bearer {KEY}"}]),
            events=json.dumps([{"kind": "failed", "error": f"token={KEY}"}])))
        (row,) = store.history(engine)
        run = store.run(engine, "r1")
    finally:
        engine.dispose()
    stored = " ".join([row.error or "", run.tasks, run.events])
    assert KEY not in stored and KEY[:12] not in stored
    assert row.error == f"semantic:s failed: HTTP 401 from https://api.example.com: echo x-api-key: {REDACTED}"
    assert json.loads(run.tasks)[0]["error"] == f"Authorization: Bearer {REDACTED}"
