"""The HTTP API of `dataraum serve` through FastAPI's test client, over real runs: the demo
project (run by doit once per session, see tests/test_api.py) for the pipeline routes, the
token rules and the errors; and, in the slow lane, the whole pipeline on a tiny two-table
source for the entropy, context and artifact routes."""

from __future__ import annotations

import json
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from phases.core.errors import ConfigError
from phases.engine import run_lock
from phases.interfaces import api
from phases.interfaces.server.app import create_app
from phases.interfaces.server.settings import ServerSettings, server_settings
from tests.conftest import REPO
from tests.test_api import restored_project

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def client_for(root: Path, **settings: object) -> TestClient:
    options = {"token": TOKEN, "extra_hosts": ("testserver",), **settings}
    return TestClient(create_app(root, ServerSettings(**options)))  # type: ignore[arg-type]


@pytest.fixture
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with client_for(restored_project(tmp_path_factory)) as client:
        yield client


def sse(client: TestClient, url: str, headers: dict[str, str] | None = None) -> list[dict]:
    events = []
    with client.stream("GET", url, headers=headers or {}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    return events


# ---------------------------------------------------------------- reads on the demo project


def test_sources_list_the_demo_source_with_its_tables_and_rows(demo):
    (source,) = demo.get("/api/sources").json()["sources"]
    assert source["name"] == "demo" and source["readiness"] is None  # the demo pipeline has no entropy phase
    assert [t["name"] for t in source["tables"]] == ["a", "b", "c"]
    assert source["last_run"] is not None
    assert demo.get("/api/sources/demo").json()["tables"] == source["tables"]


def test_status_says_what_dataraum_status_json_says_with_the_dag(demo):
    body = demo.get("/api/sources/demo/status").json()
    assert body["counts"]["done"] == 7 and body["phases"] == ["count", "double", "total"]
    assert {t["task"]: t["state"] for t in body["tasks"]}["total:demo"] == "done"
    assert [(n["name"], n["upstream"]) for n in body["dag"]] == [("count", []), ("double", ["count"]),
                                                                 ("total", ["double"])]


def test_status_shows_a_changed_file_and_the_reason(demo):
    root = demo.app.state.server.root
    with (root / "data" / "b.csv").open("a") as handle:
        handle.write("3,z\n")
    demo.app.state.server.cache.fingerprint.forget()
    tasks = {t["task"]: t for t in demo.get("/api/sources/demo/status").json()["tasks"]}
    assert tasks["count:demo.b"]["state"] == "will run"
    assert tasks["count:demo.b"]["reasons"][0]["text"] == "file changed: data/b.csv"


def test_artifacts_list_every_manifest_of_the_source(demo):
    body = demo.get("/api/sources/demo/artifacts").json()
    assert [m["task"] for m in body["manifests"]][:3] == ["count:demo.a", "count:demo.b", "count:demo.c"]
    assert body["manifests"][0]["artifacts"][0]["name"] == "line_count"


def test_history_lists_the_task_runs(demo):
    entries = demo.get("/api/history", params={"source": "demo"}).json()["entries"]
    assert {e["task"] for e in entries} >= {"count:demo.a", "total:demo"}
    assert all(e["peak_rss_mb"] > 1 for e in entries)  # each task process's peak memory, in MB


@pytest.mark.parametrize(("url", "named"), [
    ("/api/sources/nope", "'nope'"),
    ("/api/sources/nope/status", "'nope'"),
    ("/api/sources/demo/entropy/nope", "'nope'"),
    ("/api/sources/demo/artifacts/nophase/x", "'nophase'"),
    ("/api/sources/demo/artifacts/count/x?table=zz", "'zz'"),
    ("/api/sources/demo/artifacts/count/../../etc", "no route"),
    ("/api/sources/demo/artifacts/count/..%2F..%2Fpasswd?table=a", "passwd"),
    ("/api/runs/20990101T000000-abcdef", "'20990101T000000-abcdef'"),
])
def test_an_unknown_name_is_a_404_problem_naming_it(demo, url, named):
    response = demo.get(url)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert named in response.json()["detail"]


def test_the_context_before_the_entropy_phase_is_a_404_with_the_cli_message(demo):
    response = demo.get("/api/sources/demo/context", params={"format": "md"})
    assert response.status_code == 404
    with pytest.raises(api.ContextNotReady) as cli_error:
        api.context_document("demo", "md", root=demo.app.state.server.root)
    assert response.json()["detail"] == str(cli_error.value)


def test_the_api_documentation_page_loads_nothing_from_elsewhere(demo):
    page = demo.get("/docs")
    assert page.status_code == 200 and "swagger" in page.text.lower()
    scripts = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert scripts and all(url.startswith("/docs/assets/") for url in scripts), scripts
    for url in scripts:
        assert demo.get(url).status_code == 200, url


def test_the_openapi_schema_documents_every_route_with_typed_responses(demo):
    schema = demo.get("/openapi.json").json()
    routes = {(path, method) for path, item in schema["paths"].items() for method in item}
    assert routes >= {
        ("/api/sources", "get"), ("/api/sources/{source}", "get"), ("/api/sources/{source}/status", "get"),
        ("/api/sources/{source}/entropy", "get"), ("/api/sources/{source}/entropy/{table}", "get"),
        ("/api/sources/{source}/entropy/{table}/{column}", "get"), ("/api/sources/{source}/entropy/compare", "get"),
        ("/api/sources/{source}/context", "get"), ("/api/sources/{source}/artifacts", "get"),
        ("/api/sources/{source}/metrics", "get"),
        ("/api/sources/{source}/artifacts/{phase}/{artifact}", "get"), ("/api/runs", "get"), ("/api/runs", "post"),
        ("/api/runs/{run_id}", "get"), ("/api/runs/{run_id}/events", "get"), ("/api/reset", "post"),
    }
    for path, method in routes - {("/api/runs/{run_id}/events", "get")}:
        ok = schema["paths"][path][method]["responses"]
        answer = ok.get("200") or ok.get("202")
        assert "$ref" in json.dumps(answer["content"]["application/json"]["schema"]), (path, method)
    assert "ColumnView" in schema["components"]["schemas"]


# ---------------------------------------------------------------- the token


def test_a_post_without_the_token_is_401(demo):
    for headers in ({}, {"Authorization": "Bearer wrong-token-000000000"}, {"Authorization": TOKEN}):
        response = demo.post("/api/runs", json={}, headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
    assert demo.post("/api/reset", json={"phase": "total"}).status_code == 401


def test_reads_need_the_token_with_token_for_reads(tmp_path_factory):
    with client_for(restored_project(tmp_path_factory), token_for_reads=True) as client:
        assert client.get("/api/sources").status_code == 401
        assert client.get("/api/sources", headers=AUTH).status_code == 200


def test_a_foreign_host_header_is_refused_on_localhost(demo):
    assert demo.get("/api/sources", headers={"Host": "evil.example"}).status_code == 400


def test_binding_beyond_localhost_without_a_token_refuses_to_start(monkeypatch):
    monkeypatch.delenv("DATARAUM_TOKEN", raising=False)
    with pytest.raises(ConfigError, match="refusing to listen on 0.0.0.0 without a token"):
        server_settings("0.0.0.0")
    monkeypatch.setenv("DATARAUM_TOKEN", TOKEN)
    settings = server_settings("0.0.0.0")
    assert settings.token == TOKEN and settings.reads_need_token
    assert not server_settings("127.0.0.1").reads_need_token


def test_no_cors_header_unless_an_origin_is_configured(demo):
    response = demo.get("/api/sources", headers={"Origin": "http://elsewhere.example"})
    assert "access-control-allow-origin" not in response.headers


# ---------------------------------------------------------------- runs


def test_a_run_answers_202_streams_its_events_and_lands_in_the_history(demo):
    started = demo.post("/api/runs", json={"phases": ["count"], "force": True}, headers=AUTH)
    assert started.status_code == 202
    run_id = started.json()["id"]
    events = sse(demo, started.json()["events"])
    kinds = [e["event"] for e in events]
    assert kinds[0] == "plan" and kinds[-1] == "finish"
    assert sorted(e["task"] for e in events if e["event"] == "success") == ["count:demo.a", "count:demo.b",
                                                                             "count:demo.c"]
    run = demo.get(f"/api/runs/{run_id}").json()
    assert (run["state"], run["exit_code"], run["counts"]) == ("succeeded", 0, {"ran": 3})
    assert run["request"] == {"sources": [], "phases": ["count"], "force": True}
    assert demo.get("/api/runs").json()["runs"][0]["id"] == run_id
    assert sse(demo, f"/api/runs/{run_id}/events") == events  # replayed from the history store
    assert sse(demo, f"/api/runs/{run_id}/events", {"Last-Event-ID": "0"}) == events[1:]


def test_a_second_run_while_one_runs_is_409_naming_the_running_one(demo, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DEMO_SLEEP", "count=3")  # the first run must still run when the second comes (tasks are fast)
    first = demo.post("/api/runs", json={"phases": ["count"], "force": True}, headers=AUTH).json()["id"]
    second = demo.post("/api/runs", json={}, headers=AUTH)
    assert second.status_code == 409
    assert first in second.json()["detail"]
    assert demo.post("/api/reset", json={}, headers=AUTH).status_code == 409
    assert demo.get("/api/runs").json()["running"] == first
    sse(demo, f"/api/runs/{first}/events")  # wait for it
    assert demo.get("/api/runs").json()["running"] is None


def test_a_run_while_the_command_line_holds_the_project_is_409_naming_the_holder(demo):
    lock = run_lock.acquire(demo.app.state.server.root, "dataraum run")
    try:
        response = demo.post("/api/runs", json={}, headers=AUTH)
        assert response.status_code == 409 and "dataraum run" in response.json()["detail"]
        assert demo.post("/api/reset", json={"phase": "total"}, headers=AUTH).status_code == 409
    finally:
        lock.release()
    assert demo.get("/api/runs").json()["running"] is None


def test_a_run_of_an_unknown_phase_is_a_404_and_starts_nothing(demo):
    response = demo.post("/api/runs", json={"phases": ["nope"]}, headers=AUTH)
    assert response.status_code == 404 and "'nope'" in response.json()["detail"]
    assert demo.post("/api/runs", json={"source": "x"}, headers=AUTH).status_code == 404
    assert demo.post("/api/runs", json={"sauce": "x"}, headers=AUTH).status_code == 422
    assert demo.get("/api/runs").json()["running"] is None


def test_reset_forgets_a_phase_and_what_follows(demo):
    response = demo.post("/api/reset", json={"phase": "double", "downstream": True}, headers=AUTH)
    assert response.status_code == 200
    assert response.json()["tasks"] == ["double:demo.a", "double:demo.b", "double:demo.c", "total:demo"]
    states = {t["task"]: t["state"] for t in demo.get("/api/sources/demo/status").json()["tasks"]}
    assert states["total:demo"] == "will run" and states["count:demo.a"] == "done"


def test_the_dashboard_is_served_at_the_root(demo):
    response = demo.get("/")
    assert response.status_code == 200 and "<html" in response.text.lower()


# ---------------------------------------------------------------- the whole pipeline on a tiny source


def tiny_source(folder: Path) -> None:
    """Two tables: 20 customers and 120 orders, three of them for a customer that does not exist,
    one absurd amount and two amounts that are not numbers."""
    folder.mkdir(parents=True)
    lines = ["customer_id,name,region"]
    lines += [f"C{i:03d},Customer {i},{('North', 'South', 'East')[i % 3]}" for i in range(1, 21)]
    (folder / "customers.csv").write_text("\n".join(lines) + "\n")
    lines = ["order_id,customer_id,order_date,amount"]
    for i in range(1, 121):
        customer = "C999" if i <= 3 else f"C{(i * 7) % 20 + 1:03d}"
        amount = "99999.00" if i == 50 else "#VALUE!" if i in (7, 8) else f"{10 + (i * 37) % 490}.{i % 100:02d}"
        lines.append(f"O{i:04d},{customer},2024-{i % 12 + 1:02d}-{i % 27 + 1:02d},{amount}")
    (folder / "orders.csv").write_text("\n".join(lines) + "\n")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("shop")
    shutil.copytree(REPO / "config", root / "config")
    shutil.copy(REPO / "dodo.py", root / "dodo.py")
    (root / "config" / "sources.yaml").write_text("sources:\n  shop:\n    path: data\n")
    tiny_source(root / "data")
    assert api.run_pipeline(root=root, max_parallel=2).exit_code == 0
    with client_for(root) as client:
        yield client


@pytest.mark.slow
def test_entropy_lists_source_table_column_and_relationship_scores(shop):
    body = shop.get("/api/sources/shop/entropy").json()
    assert body["readiness"] in ("ready", "investigate", "blocked")
    assert {t["table"] for t in body["tables"]} == {"customers", "orders"}
    assert body["table_columns"]["orders"] == ["order_id", "customer_id", "order_date", "amount"]
    (relationship,) = [r for r in body["relationships"] if r["child_table"] == "orders"]
    assert relationship["orphan_rows"] == 3 and not relationship["join_safe"]
    assert body["findings"] and body["findings_total"] >= len(body["findings"])


@pytest.mark.slow
def test_a_column_has_its_findings_evidence_sql_and_profile(shop):
    body = shop.get("/api/sources/shop/entropy/orders/amount").json()
    assert body["entry"]["sql"] == "orders.amount"
    assert any("#VALUE!" in json.dumps(f["evidence"]) + f["summary"] for f in body["findings"])
    assert body["profile"]["null_count"] == 2 and body["profile"]["numeric"]["histogram"]
    table = shop.get("/api/sources/shop/entropy/orders").json()
    assert {c["column"] for c in table["columns"]} == {"order_id", "customer_id", "order_date", "amount"}
    assert shop.get("/api/sources/shop/entropy/orders/nope").status_code == 404


@pytest.mark.slow
def test_the_metrics_refuse_what_the_source_lacks_and_measure_what_it_has(shop):
    body = shop.get("/api/sources/shop/metrics").json()
    metrics = {m["metric"]: m for m in body["metrics"]}
    assert metrics["revenue"]["refusal"].startswith("cannot compute: concept")  # no ledger in a shop's orders
    completeness = metrics["data_completeness"]["values"]
    assert completeness and all(v["value"] is not None for v in completeness)
    assert {s["id"] for s in body["statements"]} >= set(metrics["data_completeness"]["statements"])


@pytest.mark.slow
def test_context_compare_and_a_parquet_preview(shop):
    markdown = shop.get("/api/sources/shop/context", params={"format": "md"}).json()
    assert markdown["text"].startswith("#") and markdown["document"] is None
    document = shop.get("/api/sources/shop/context").json()["document"]
    assert document["source"] == "shop"
    assert shop.get("/api/sources/shop/entropy/compare").json()["snapshots"] == 1
    page = shop.get("/api/sources/shop/artifacts/typing/typed_table",
                    params={"table": "orders", "limit": 2, "offset": 3}).json()
    assert page["total"] == 120 and [r[1] for r in page["rows"]] == ["O0004", "O0005"]
    assert page["columns"][0] == ["_row_id", "BIGINT"]


def test_a_project_root_stays_importable_until_its_last_concurrent_load_ends(tmp_path):
    from phases.interfaces.doit_bridge import importable

    root = str(tmp_path)
    first, second = importable(tmp_path), importable(tmp_path)
    first.__enter__()
    second.__enter__()  # a request's load while a run's load is going on
    first.__exit__(None, None, None)
    assert root in sys.path  # the run that ended first must not take it from the other
    second.__exit__(None, None, None)
    assert root not in sys.path
