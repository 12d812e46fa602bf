"""The optional LLM refinement of the semantic phase against a local HTTP server started here that
speaks the Anthropic Messages API and the OpenAI chat completions API: a refined result, the
limits of what the model may change, every failure falling back to the deterministic result with
a warning (malformed answer, timeout, HTTP error, missing key), and the answer cache. No network."""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from phases.artifacts.annotations import Annotations
from phases.core.context import TaskContext
from phases.core.layout import state_dir
from phases.meaning.llm import LlmError, parse_reply
from tests.test_semantic import build_project, col, finance_tables, run, with_settings

KEY_ENV = "DATARAUM_TEST_LLM_KEY"


@dataclass
class FakeModel:
    """What the local server answers, and what it was asked."""

    answer: str = '{"columns": []}'
    delay: float = 0.0
    status: int = 200
    echo_key: bool = False  # an error body that repeats the key it was sent
    requests: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)


def make_handler(model: FakeModel) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the http.server spelling)
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            model.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            time.sleep(model.delay)
            if model.status != 200:
                sent = self.headers.get("x-api-key") or self.headers.get("authorization")
                message = f"invalid key {sent}" if model.echo_key else "overloaded"
                payload, status = {"error": {"message": message}}, model.status
            elif self.path == "/v1/messages":
                payload, status = {"id": "msg_1", "type": "message", "role": "assistant", "model": body["model"],
                                   "content": [{"type": "text", "text": model.answer}], "stop_reason": "end_turn"}, 200
            elif self.path == "/v1/chat/completions":
                payload, status = {"id": "c1", "object": "chat.completion", "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": model.answer},
                     "finish_reason": "stop"}]}, 200
            else:
                payload, status = {"error": "not found"}, 404
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up (the timeout test)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def server() -> Iterator[tuple[FakeModel, str]]:
    model = FakeModel()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(model))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield model, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> TaskContext:
    tables = {k: v for k, v in finance_tables().items() if k in ("invoices", "customers", "vendors")}
    return build_project(tmp_path_factory.mktemp("llm"), tables)


@pytest.fixture(scope="module")
def deterministic(project) -> Annotations:
    return run(project)


@pytest.fixture
def llm_project(project, monkeypatch) -> TaskContext:
    shutil.rmtree(state_dir(project.root) / "llm_cache", ignore_errors=True)
    monkeypatch.setenv(KEY_ENV, "test-key-123")
    return project


def llm_ctx(ctx: TaskContext, base_url: str, **settings: Any) -> TaskContext:
    llm = {"enabled": True, "provider": "anthropic", "model": "test-model", "base_url": base_url,
           "api_key_env": KEY_ENV, "timeout_seconds": 5, "prompt_version": "t1", **settings}
    return with_settings(ctx, llm=llm)


PROPOSALS = {"columns": [
    {"table": "invoices", "column": "year", "concept": "fiscal_period", "business_name": "Fiscal Year",
     "description": "The fiscal year the invoice is booked in."},
    {"table": "invoices", "column": "inv_amt", "concept": "revenue"},  # amount is confident: kept
    {"table": "customers", "column": "segment", "concept": "document_type"},  # no concept: taken
    {"table": "invoices", "column": "status", "concept": "banana", "description": "Where the invoice stands."},
    {"table": "invoices", "column": "custId", "role": "measure", "concept": "customer"},  # roles are not for it
    {"table": "invoices", "column": "amount", "concept": "amount", "description": "A reference code."},
    {"table": "nowhere", "column": "x", "concept": "vendor"},
]}


def same_meanings(a: Annotations, b: Annotations, skip: set[tuple[str, str]] = frozenset()) -> bool:
    return [c for c in a.columns if (c.table, c.column) not in skip] == \
        [c for c in b.columns if (c.table, c.column) not in skip] and a.tables == b.tables


def test_an_anthropic_answer_refines_descriptions_and_weak_concepts_only(llm_project, server, deterministic):
    model, url = server
    model.answer = "```json\n" + json.dumps(PROPOSALS) + "\n```"
    found = run(llm_ctx(llm_project, url))
    assert (found.llm.enabled, found.llm.used, found.llm.cached, found.llm.warning) == (True, True, False, None)
    year = col(found, "invoices", "year")
    # the calendar year its values and name show is confident: kept, while name and description are refined
    assert (year.concept, year.business_name, year.decided_by) == ("year", "Fiscal Year", "llm")
    assert any(e.kind == "llm" and "kept year" in e.detail for e in year.evidence)
    assert col(found, "customers", "segment").concept == "document_type"
    assert year.description == "The fiscal year the invoice is booked in."
    assert year.role == col(deterministic, "invoices", "year").role
    assert any(e.kind == "llm" and "test-model" in e.detail for e in year.evidence)
    assert col(found, "invoices", "inv_amt") == col(deterministic, "invoices", "inv_amt")
    status = col(found, "invoices", "status")
    assert (status.concept, status.description) == ("status", "Where the invoice stands.")
    assert any("refused unknown concept 'banana'" in e.detail for e in status.evidence)
    assert col(found, "invoices", "custId").role == "foreign_key"
    code = col(found, "invoices", "amount")  # a text column is no amount, whoever says so
    assert (code.concept, code.role, code.description) == (None, "identifier", "A reference code.")
    assert any("refused concept amount" in e.detail for e in code.evidence)
    skip = {("invoices", c) for c in ("year", "status", "amount")} | {("customers", "segment")}
    assert same_meanings(found, deterministic, skip=skip)
    (path, headers, body), = model.requests
    assert path == "/v1/messages"
    assert (headers["x-api-key"], headers["anthropic-version"]) == ("test-key-123", "2023-06-01")
    assert body["model"] == "test-model" and body["messages"][0]["role"] == "user"


def test_the_prompt_carries_the_measured_schema_but_no_personal_data_values(llm_project, server, deterministic):
    model, url = server
    run(llm_ctx(llm_project, url))
    prompt = model.requests[0][2]["messages"][0]["content"]
    assert '"inv_amt"' in prompt and '"foreign_key"' in prompt and '"payment_terms"' in prompt
    profiles = json.loads(llm_project.paths("column_profiles")["customers"].read_text())
    for c in deterministic.columns:
        if c.pii and c.table == "customers":
            profile = next(p for p in profiles["columns"] if p["name"] == c.column)
            for v in profile["top_values"]:
                assert str(v["value"]) not in prompt


def data_values(ctx: TaskContext) -> set[str]:
    """Every top value, minimum and maximum the statistics phase kept, as text (short ones aside:
    '1' or 'USD' may also be a count or a word of the prompt's own)."""
    found = set()
    for path in ctx.paths("column_profiles").values():
        for profile in json.loads(path.read_text())["columns"]:
            found |= {str(v["value"]) for v in profile["top_values"]}
            numeric = profile.get("numeric") or {}
            found |= {str(numeric[k]) for k in ("min", "max") if k in numeric}
    return {v for v in found if len(v) >= 5}


def test_with_send_values_off_no_value_of_the_data_is_in_the_prompt(llm_project, server):
    model, url = server
    run(llm_ctx(llm_project, url))
    run(llm_ctx(llm_project, url, send_values=False, prompt_version="t-names"))
    with_values, names_only = (request[2]["messages"][0]["content"] for request in model.requests)
    values = data_values(llm_project)
    assert {"wholesale", "cancelled", "due_on_receipt"} <= values
    assert {"wholesale", "cancelled", "due_on_receipt"} <= {v for v in values if v in with_values}
    assert sorted(v for v in values if v in names_only) == []
    assert not any(key in names_only for key in ('"frequent_values"', '"range"', '"value_shapes"', '"unit"'))
    assert '"inv_amt"' in names_only and '"decimal"' in names_only and "no value of the data" in names_only


def test_an_openai_compatible_server_works_the_same(llm_project, server):
    model, url = server
    model.answer = json.dumps(PROPOSALS)
    found = run(llm_ctx(llm_project, url, provider="openai"))
    assert found.llm.used and col(found, "customers", "segment").concept == "document_type"
    (path, headers, body), = model.requests
    assert path == "/v1/chat/completions" and headers["authorization"] == "Bearer test-key-123"
    assert [m["role"] for m in body["messages"]] == ["system", "user"]


@pytest.mark.parametrize(("setup", "warning"), [
    ({"answer": "Sure! Here are my thoughts, but no JSON."}, "no JSON object"),
    ({"answer": '{"columns": [{"table": "invoices"'}, "not valid JSON"),
    ({"answer": '{"tables": []}'}, "no 'columns' list"),
    ({"status": 500}, "HTTP 500"),
    ({"delay": 1.0}, "timed out"),
], ids=["prose", "truncated", "wrong shape", "http error", "timeout"])
def test_a_failure_keeps_the_deterministic_result_with_a_warning(llm_project, server, deterministic, setup, warning):
    model, url = server
    for key, value in setup.items():
        setattr(model, key, value)
    found = run(llm_ctx(llm_project, url, timeout_seconds=0.2))
    assert found.llm.enabled and not found.llm.used
    assert warning in found.llm.warning and "deterministic result kept" in found.llm.warning
    assert same_meanings(found, deterministic)


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_an_error_body_echoing_the_key_is_stored_without_it(llm_project, server, provider):
    model, url = server
    model.status, model.echo_key = 401, True
    found = run(llm_ctx(llm_project, url, provider=provider))
    assert found.llm.warning.startswith("HTTP 401 from ") and "[REDACTED]" in found.llm.warning
    assert "test-key-123" not in (llm_project.out_dir / "annotations.json").read_text()


def test_a_missing_key_is_a_warning_and_asks_nothing(llm_project, server, deterministic, monkeypatch):
    model, url = server
    monkeypatch.delenv(KEY_ENV)
    found = run(llm_ctx(llm_project, url))
    assert KEY_ENV in found.llm.warning and not model.requests
    assert same_meanings(found, deterministic)


def test_a_cached_answer_is_used_without_a_request(llm_project, server, monkeypatch):
    model, url = server
    model.answer = json.dumps(PROPOSALS)
    first = run(llm_ctx(llm_project, url))
    text = (llm_project.out_dir / "annotations.json").read_text()
    assert len(model.requests) == 1 and not first.llm.cached
    monkeypatch.delenv(KEY_ENV)  # a cached answer needs no key either
    second = run(llm_ctx(llm_project, url))
    assert len(model.requests) == 1 and second.llm.cached and second.llm.used
    assert second.columns == first.columns
    assert (llm_project.out_dir / "annotations.json").read_text() == text.replace('"cached": false', '"cached": true')
    assert len(list((state_dir(llm_project.root) / "llm_cache").glob("*.json"))) == 1
    run(llm_ctx(llm_project, url, prompt_version="t2"))  # another prompt version is another question
    assert len(model.requests) == 1  # ... but without a key it is not asked: a warning, no request


def test_parse_reply_takes_fenced_json_and_rejects_what_is_not_asked():
    assert parse_reply('```json\n{"columns": [{"table": "t", "column": "c", "concept": null}]}\n```')[0].column == "c"
    with pytest.raises(LlmError, match="lacks 'table'"):
        parse_reply('{"columns": [{"column": "c"}]}')


def test_a_disabled_llm_asks_nothing_and_caches_nothing(llm_project, server):
    model, url = server
    found = run(llm_ctx(llm_project, url, enabled=False))
    assert found.llm == type(found.llm)(enabled=False) and not model.requests
    assert not (state_dir(llm_project.root) / "llm_cache").exists()
