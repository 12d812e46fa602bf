"""A bad file fails its own table; the source-wide phases go on with the good tables (issue 12,
item 6): run for real with doit on a source holding an empty CSV beside two good tables."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from phases.core.manifest import read_manifest
from phases.interfaces import api
from tests.conftest import REPO, run_doit
from tests.test_fingerprints import CUSTOMERS, ORDERS, SOURCE_PHASES

pytestmark = pytest.mark.slow

TABLE_PHASES = ("import", "typing", "statistics", "temporal", "statistical_quality")


@pytest.fixture(scope="module")
def degraded(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("degrade")
    shutil.copytree(REPO / "config", root / "config")
    shutil.copy(REPO / "dodo.py", root / "dodo.py")
    (root / "data").mkdir()
    (root / "data" / "customers.csv").write_text(CUSTOMERS)
    (root / "data" / "orders.csv").write_text(ORDERS)
    (root / "data" / "empty.csv").write_bytes(b"")
    (root / "config" / "sources.yaml").write_text("sources:\n  s:\n    path: data\n")
    first = run_doit(root, "-n", "2", timeout=300)
    assert first.returncode == 0, first.stderr
    assert "import:s.empty failed: data/empty.csv: the file is empty" in first.stderr
    return root


def manifest(root: Path, phase: str, table: str | None = None) -> dict:
    folder = root / "state" / "s" / phase
    return json.loads(((folder / table) if table else folder).joinpath("manifest.json").read_text())


def test_the_bad_file_fails_its_own_tasks_with_the_reason_and_the_source_phases_run_on_the_rest(degraded):
    failed = manifest(degraded, "import", "empty")["failed"]
    assert failed == {"task": "import:s.empty",
                      "reason": "data/empty.csv: the file is empty (0 bytes); expected a header line or data"}
    for phase in TABLE_PHASES[1:]:
        assert manifest(degraded, phase, "empty")["failed"] == failed  # carried on, not run
        assert manifest(degraded, phase, "empty")["artifacts"] == {}
    for phase in SOURCE_PHASES:
        assert "failed" not in manifest(degraded, phase)
    relationships = json.loads((degraded / "state/s/relationships/relationships.json").read_text())
    assert [r["id"] for r in relationships["relationships"]] == ["orders.customer_id->customers.id"]
    assert sorted(relationships["tables"]) == ["customers", "orders"]


def test_the_context_names_the_missing_table_and_why(degraded):
    document = json.loads((degraded / "state/s/context/context.json").read_text())
    reason = "data/empty.csv: the file is empty (0 bytes); expected a header line or data"
    assert document["missing_tables"] == [{"table": "empty", "task": "import:s.empty", "reason": reason}]
    assert document["guidance"][0].startswith("Table `empty` is missing from this context: import:s.empty failed")
    markdown = (degraded / "state/s/context/context.md").read_text()
    assert "Table `empty` is missing from this context" in markdown


def test_status_and_the_api_call_the_bad_table_failed_and_its_later_tasks_blocked(degraded):
    status = {t.task: t for t in api.pipeline_status(root=degraded).tasks}
    assert status["import:s.empty"].state == "failed"
    assert str(status["import:s.empty"].reasons[0]).startswith("failed last time: data/empty.csv: the file is empty")
    assert status["typing:s.empty"].state == "failed"
    assert str(status["typing:s.empty"].reasons[0]).startswith("not run: import:s.empty failed: data/empty.csv")
    assert status["relationships:s"].state == "done"
    result = api.run_pipeline(source_id="s", root=degraded)
    outcomes = {t.task: t.outcome for t in result.tasks}
    assert outcomes["import:s.empty"] == "failed"
    assert outcomes["typing:s.empty"] == "blocked"
    assert outcomes["entropy:s"] == "up-to-date"
    assert result.exit_code == 1


def test_once_the_file_is_fixed_its_table_joins_the_source(degraded):
    (degraded / "data" / "empty.csv").write_text("code,label\n1,one\n2,two\n")
    again = run_doit(degraded, "-n", "2", timeout=300)
    assert again.returncode == 0, again.stderr
    assert {f"{p}:s.empty" for p in TABLE_PHASES} <= again.ran
    assert read_manifest(degraded / "state/s/import/empty/manifest.json").failed is None
    relationships = json.loads((degraded / "state/s/relationships/relationships.json").read_text())
    assert sorted(relationships["tables"]) == ["customers", "empty", "orders"]
