"""The real pipeline, run by doit as a user runs it, on the bundled example and on
a source whose names are hostile."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from phases.artifacts.registry import ARTIFACTS
from phases.artifacts.tables import ImportSummary
from phases.core.manifest import canonical_json, read_manifest
from phases.core.records import JsonArtifact, TableArtifact, from_json, to_json
from tests.conftest import REPO, run_doit

pytestmark = pytest.mark.slow

EXAMPLE = REPO / "examples" / "finance_example"
TABLES = ["customer_table", "master_txn_table", "payment_method", "product_service_table", "vendor_table"]


def make_repo_project(target: Path, sources_yaml: str | None = None) -> Path:
    shutil.copytree(REPO / "config", target / "config")
    shutil.copy(REPO / "dodo.py", target / "dodo.py")
    shutil.copytree(EXAMPLE, target / "examples" / "finance_example")
    if sources_yaml is not None:
        (target / "config" / "sources.yaml").write_text(sources_yaml)
    return target


@pytest.fixture(scope="module")
def example_run(tmp_path_factory) -> tuple[Path, object, object]:
    root = make_repo_project(tmp_path_factory.mktemp("example"))
    first = run_doit(root, "-n", "4", timeout=300)
    second = run_doit(root, timeout=120)
    return root, first, second


def manifest(root: Path, phase: str, table: str) -> dict:
    return json.loads((root / "state/finance_example" / phase / table / "manifest.json").read_text())


PHASES = ("import", "typing", "statistics", "temporal", "statistical_quality")
SOURCE_PHASES = ("relationships", "correlations", "topology", "semantic", "slicing", "business_cycles", "validation",
                 "entropy", "metrics", "context")


def test_the_example_runs_every_enabled_phase(example_run):
    _root, first, _second = example_run
    assert first.returncode == 0, first.stderr
    assert first.ran == {f"{p}:finance_example.{t}" for p in PHASES for t in TABLES} | {
        f"{p}:finance_example" for p in SOURCE_PHASES
    }


def test_a_second_run_does_nothing(example_run):
    _root, _first, second = example_run
    assert second.returncode == 0
    assert second.ran == set()


def test_import_conserves_rows_and_turns_the_placeholder_token_into_null(example_run):
    root, _first, _second = example_run
    defects = json.loads((EXAMPLE / "defects.json").read_text())["defects"]
    memo = next(d for d in defects if d["kind"] == "null_token" and d["column"] == "Memo")
    raw = root / "state/finance_example/import/master_txn_table/raw.parquet"
    with duckdb.connect() as con:
        rows, dashes = con.execute(
            'SELECT count(*), count(*) FILTER (WHERE "Memo" = \'--\') FROM read_parquet(?)', [str(raw)]
        ).fetchone()
    lines = (EXAMPLE / "Master_txn_table.csv").read_text().count("\n") - 1
    summary = manifest(root, "import", "master_txn_table")["summary"]
    assert summary["rows_loaded"] + summary["rows_quarantined"] == lines == rows
    assert dashes == 0 and memo["count"] > 0


def test_typing_records_exactly_the_unparseable_amounts(example_run):
    root, _first, _second = example_run
    defects = json.loads((EXAMPLE / "defects.json").read_text())["defects"]
    broken = next(d for d in defects if d["kind"] == "unparseable_amount")
    typing_dir = root / "state/finance_example/typing/master_txn_table"
    with duckdb.connect() as con:
        failures = con.execute(
            """SELECT t."Transaction ID", f.raw_value FROM read_parquet(?) f
               JOIN read_parquet(?) t USING (_row_id) WHERE f."column" = 'Amount' ORDER BY 1""",
            [str(typing_dir / "cast_failures.parquet"), str(typing_dir / "typed.parquet")],
        ).fetchall()
        types = dict(con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(typing_dir / "typed.parquet")])
                     .fetchall()[i][:2] for i in range(17))
    assert failures == sorted(zip(broken["rows"], broken["values"], strict=True))
    assert types["Transaction Date"] == "DATE"
    assert types["Amount"] == "DOUBLE"
    assert types["Transaction ID"] == "VARCHAR"


def test_the_run_history_has_one_row_per_task_and_the_catalogue_has_every_column(example_run):
    import sqlite3

    root, _first, _second = example_run
    with sqlite3.connect(root / "state/history.sqlite") as db:
        runs = db.execute("SELECT count(*), min(success) FROM pipeline_checkpoints").fetchone()
        typed = db.execute(
            "SELECT type FROM catalog_columns WHERE table_name = 'product_service_table' AND name = 'SKU'"
        ).fetchone()
    assert runs == (len(PHASES) * len(TABLES) + len(SOURCE_PHASES), 1)
    assert typed == ("text",)  # leading zeros keep SKU an identifier


def defect(kind: str, column: str | None = None) -> dict:
    defects = json.loads((EXAMPLE / "defects.json").read_text())["defects"]
    return next(d for d in defects if d["kind"] == kind and column in (None, d["column"]))


def transaction_ids(root: Path, row_ids: list[int]) -> list[str]:
    typed = root / "state/finance_example/typing/master_txn_table/typed.parquet"
    with duckdb.connect() as con:
        rows = con.execute(
            'SELECT "Transaction ID" FROM read_parquet(?) WHERE _row_id IN (SELECT unnest(?)) ORDER BY 1',
            [str(typed), row_ids],
        ).fetchall()
    return [r[0] for r in rows]


def findings(root: Path, kind: str, column: str) -> list[dict]:
    path = root / "state/finance_example/statistical_quality/master_txn_table/quality_findings.json"
    return [f for f in json.loads(path.read_text())["findings"] if f["kind"] == kind and f["column"] == column]


def test_quality_finds_the_planted_outlier(example_run):
    root, _first, _second = example_run
    (finding,) = findings(root, "outliers_modified_z", "Amount")
    planted = defect("outlier")
    assert transaction_ids(root, [e["row_id"] for e in finding["examples"]]) == planted["rows"]


def test_quality_finds_the_padded_customer_names_and_the_lowercase_type(example_run):
    root, _first, _second = example_run
    (spaces,) = findings(root, "whitespace", "Customer")
    assert transaction_ids(root, [e["row_id"] for e in spaces["examples"]]) == sorted(
        defect("whitespace", "Customer")["rows"]
    )
    (case,) = findings(root, "case_variants", "Transaction Type")
    assert case["evidence"]["other_spellings"] == defect("case_variant")["count"]


def test_statistics_finds_the_key_and_temporal_the_due_date(example_run):
    root, _first, _second = example_run
    base = root / "state/finance_example"
    table = json.loads((base / "statistics/master_txn_table/table_profile.json").read_text())
    assert table["candidate_keys"] == [["Transaction ID"]]
    temporal = json.loads((base / "temporal/master_txn_table/temporal_profiles.json").read_text())
    columns = {c["name"]: c for c in temporal["columns"]}
    assert columns["Transaction Date"]["granularity"]["unit"] == "day"
    assert columns["Transaction Date"]["completeness"]["ratio"] == 1.0
    assert columns["Due Date"]["role"]["kind"] == "due_date"
    assert columns["Due Date"]["role"]["relative_to"] == "Transaction Date"


def source_artifact(root: Path, phase: str, name: str) -> dict:
    return json.loads((root / "state/finance_example" / phase / name).read_text())


def test_relationships_find_the_customer_key_with_its_planted_orphans(example_run):
    root, _first, _second = example_run
    found = source_artifact(root, "relationships", "relationships.json")["relationships"]
    by_id = {r["id"]: r for r in found}
    customer = by_id["master_txn_table.Customer->customer_table.Customer"]
    orphan = defect("orphan_reference")
    padded = defect("whitespace", "Customer")
    examples = {e["value"]: e["rows"] for e in customer["orphan_examples"]}
    assert examples[orphan["values"][0]] == orphan["count"]
    assert customer["orphan_rows"] == orphan["count"] + padded["count"]  # padded names do not match either
    assert customer["cardinality"] == "many_to_one"
    assert {r["parent_table"] for r in found} == {"customer_table", "vendor_table", "product_service_table",
                                                  "payment_method"}


def test_correlations_find_the_derived_amount_columns(example_run):
    root, _first, _second = example_run
    derived = source_artifact(root, "correlations", "derived_columns.json")
    formulas = {d["formula"]: d for d in derived["derived_columns"] if d["table"] == "master_txn_table"}
    assert formulas["Amount = Debit - Credit"]["match_rate"] == 1.0
    assert formulas["Amount = Quantity * Rate"]["match_rate"] == 1.0


def test_topology_sees_the_ledger_as_a_star_around_the_transactions(example_run):
    root, _first, _second = example_run
    graph = source_artifact(root, "topology", "schema_graph.json")
    assert graph["facts"] == ["master_txn_table"]
    assert graph["isolated_tables"] == []


def test_every_artifact_of_the_run_round_trips_through_its_declared_record(example_run):
    root = example_run[0]
    manifests = sorted((root / "state").rglob("manifest.json"))
    assert len(manifests) == len(PHASES) * len(TABLES) + len(SOURCE_PHASES)
    seen = set()
    with duckdb.connect() as con:
        for path in manifests:
            manifest = read_manifest(path)
            for name, artifact in manifest.artifacts.items():
                spec, file = ARTIFACTS[name], manifest.path(name)
                seen.add(name)
                assert file.name == spec.file
                if isinstance(spec, JsonArtifact):
                    record = spec.load(file, manifest.phase)
                    # the record holds the whole file: written back, it gives the same bytes
                    assert canonical_json(to_json(record)) == file.read_text(encoding="utf-8"), file
                elif isinstance(spec, TableArtifact):
                    rows = con.execute("SELECT count(*) FROM read_parquet(?)", [str(file)]).fetchone()
                    schema = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(file)]).fetchall()
                    assert rows == (artifact.rows,)
                    assert tuple((c[0], c[1]) for c in schema) == artifact.columns
                else:
                    assert file.read_text(encoding="utf-8")
            if manifest.phase == "import":
                summary = from_json(ImportSummary, manifest.summary)
                assert summary.table == manifest.table
    assert seen == set(ARTIFACTS)


def test_a_forced_rerun_writes_a_byte_identical_manifest(example_run):
    root, _first, _second = example_run
    path = root / "state/finance_example/typing/customer_table/manifest.json"
    before = path.read_bytes()
    run_doit(root, "forget", "import:finance_example.customer_table")
    rerun = run_doit(root)
    assert rerun.ran == {"import:finance_example.customer_table"}  # typing stays up to date
    assert path.read_bytes() == before


def test_the_meaning_phases_and_the_context_rerun_byte_identical(example_run):
    root, _first, _second = example_run
    phases = ("semantic", "slicing", "business_cycles", "validation", "entropy", "metrics", "context")
    folder = root / "state/finance_example"
    before = {p: {f.name: f.read_bytes() for f in (folder / p).iterdir() if f.is_file()} for p in phases}
    for phase in phases:
        assert run_doit(root, "forget", f"{phase}:finance_example").returncode == 0
    rerun = run_doit(root, "-n", "2")
    assert rerun.ran == {f"{p}:finance_example" for p in phases}
    assert {p: {f.name: f.read_bytes() for f in (folder / p).iterdir() if f.is_file()} for p in phases} == before


HOSTILE_HEADER = '"Kunde ""Name""";Betrag; €;"a;b";Datum\n'


def state_json(root: Path, phase: str, file: str) -> dict:
    return json.loads((root / "state/finance_example" / phase / file).read_text())


def test_semantic_reads_the_ledger_as_a_fact_table_of_amounts(example_run):
    root, _, _ = example_run
    annotations = state_json(root, "semantic", "annotations.json")
    ledger = annotations["tables"]["master_txn_table"]
    assert (ledger["kind"], ledger["grain"]) == ("fact", ["Transaction ID"])
    columns = {(c["table"], c["column"]): c for c in annotations["columns"]}
    amount = columns[("master_txn_table", "Amount")]
    assert (amount["role"], amount["concept"], amount["aggregation"]) == ("measure", "amount", "additive")
    assert columns[("master_txn_table", "Customer")]["role"] == "foreign_key"
    assert columns[("customer_table", "Email")]["pii"] == "email"


def test_no_personal_value_reaches_the_context(example_run):
    root, _, _ = example_run
    emails = duckdb.sql(f"SELECT Email FROM read_csv('{EXAMPLE / 'customer_table.csv'}', all_varchar=true) "
                        "WHERE Email IS NOT NULL").fetchall()
    context = "".join((root / "state/finance_example/context" / f).read_text() for f in ("context.json", "context.md"))
    assert emails and not [e for (e,) in emails if e in context]


def test_slicing_cuts_the_ledger_by_transaction_type_and_cycles_find_order_to_cash(example_run):
    root, _, _ = example_run
    slices = state_json(root, "slicing", "slices.json")
    assert ("master_txn_table", "Transaction Type") in {(d["table"], d["column"]) for d in slices["dimensions"]}
    cycles = {c["id"]: c for c in state_json(root, "business_cycles", "cycles.json")["cycles"]}
    assert "order_to_cash" in cycles and cycles["order_to_cash"]["metrics"]


def test_validation_passes_the_amount_formula_and_fails_the_planted_orphans(example_run):
    root, _, _ = example_run
    checks = {c["id"]: c for c in state_json(root, "validation", "validations.json")["checks"]}
    derived = [c for c in checks.values() if c["kind"] == "derived" and c["status"] != "skipped"]
    assert derived and all(c["status"] == "passed" for c in derived)
    orphans = checks["referential_integrity:master_txn_table.Customer->customer_table.Customer"]
    assert (orphans["status"], orphans["violations"]) == ("failed", 7)  # 4 Northwind + 3 padded names
    assert all(c["reason"] for c in checks.values() if c["status"] == "skipped")


# each planted defect and the entropy dimension that must name it among the column's top findings
DEFECT_DIMENSIONS = {
    "unparseable_amount": "type_fidelity", "outlier": "outliers", "orphan_reference": "relationship_quality",
    "whitespace": "category_consistency", "case_variant": "category_consistency",
}


def test_the_planted_defects_are_among_the_top_findings_of_the_context(example_run):
    root, _, _ = example_run
    scores = state_json(root, "entropy", "entropy_scores.json")
    columns = {(c["table"], c["column"]): c for c in scores["columns"]}
    ranked = [(c["table"], c["column"]) for c in scores["columns"]]  # most uncertain first
    defects = json.loads((EXAMPLE / "defects.json").read_text())["defects"]
    for defect in defects:
        table = Path(defect["file"]).stem.lower()
        if defect["kind"] == "null_token":
            continue  # the import turns the token into NULL (tested above); what is left are the column's own nulls
        key = next(k for k in columns if k[0].lower() == table and k[1] == defect["column"])
        column = columns[key]
        assert column["readiness"] in ("investigate", "blocked"), (key, column)
        assert DEFECT_DIMENSIONS[defect["kind"]] in [t["dimension"] for t in column["top"]], (key, column["top"])
        assert ranked.index(key) < 15, (key, ranked.index(key))
    assert scores["readiness"] == "blocked"


def test_the_context_document_is_written_for_an_agent(example_run):
    root, _, _ = example_run
    document = state_json(root, "context", "context.json")
    assert document["schema"] == "dataraum-context/1"
    assert document["readiness"]["level"] == "blocked" and document["readiness"]["blockers"]
    customer = next(r for r in document["relationships"] if r["from"] == "master_txn_table(Customer)")
    assert (customer["join_safe"], customer["orphan_rows"]) == (False, 7)
    markdown = (root / "state/finance_example/context/context.md").read_text()
    assert markdown.startswith("# Data context: finance_example")
    assert "## Before you write SQL" in markdown and "987654.32" in markdown
    assert len(markdown) <= 24000


def test_the_scores_are_kept_in_the_history_store_for_later_comparison(example_run):
    import sqlite3

    root, _, _ = example_run
    with sqlite3.connect(root / "state/history.sqlite") as db:
        kinds = dict(db.execute("SELECT kind, count(*) FROM score_snapshots GROUP BY kind").fetchall())
        amount = db.execute("SELECT score FROM score_snapshots WHERE kind = 'finding' "
                            "AND target = 'master_txn_table.Amount' AND dimension = 'outliers'").fetchone()
    assert kinds["source"] == 1 and kinds["table"] == len(TABLES) and kinds["column"] > 30
    assert amount is not None and amount[0] >= 0.6


# the phases whose settings include thresholds.yaml: the scores, the metrics' verdicts, the context's budget
READ_THRESHOLDS = {f"{p}:finance_example" for p in ("entropy", "metrics", "context")}


def test_a_threshold_change_reruns_only_the_phases_that_read_thresholds(example_run):
    root, _, _ = example_run
    thresholds = root / "config" / "thresholds.yaml"
    original = thresholds.read_text()
    thresholds.write_text(original.replace("  investigate: 0.3 ", "  investigate: 0.35"))
    try:
        result = run_doit(root, "-n", "2")
        assert result.returncode == 0, result.stderr
        assert result.ran == READ_THRESHOLDS
    finally:
        thresholds.write_text(original)
    assert run_doit(root).ran == READ_THRESHOLDS


def test_hostile_file_and_column_names_go_through_import_and_typing(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / 'Umsätze; 2024 "final".csv').write_text(
        HOSTILE_HEADER + '"Müller ""GmbH""";1.234,50;x;1;31.12.2024\nSchmidt;99,00;y;2;01.02.2024\n',
        encoding="utf-8",
    )
    (data / "broken.csv").write_bytes(b"\x00\x01\x02binary")
    root = make_repo_project(tmp_path / "project", f"sources:\n  hostile:\n    path: {data}\n")
    result = run_doit(root, "-n", "2", "--continue", timeout=300)
    assert "typing:hostile.umsatze_2024_final" in result.ran
    # broken.csv fails its own table, recorded (the source's other tables go on, so doit exits 0) ...
    assert result.returncode == 0 and "failed 1" in result.stdout
    assert "broken.csv: line 1: contains a NUL byte" in result.stdout + result.stderr  # ... naming the file
    typed = root / "state/hostile/typing/umsatze_2024_final/typed.parquet"
    with duckdb.connect() as con:
        rows = con.execute(
            'SELECT "Kunde ""Name""", "Betrag", "a;b", "Datum" FROM read_parquet(?) ORDER BY _row_id', [str(typed)]
        ).fetchall()
    assert [r[0] for r in rows] == ['Müller "GmbH"', "Schmidt"]
    assert [r[1] for r in rows] == [1234.5, 99.0]
    assert str(rows[0][3]) == "2024-12-31"


def test_hostile_names_go_through_every_phase_into_the_context(tmp_path):
    """Quotes, semicolons, spaces and non-ASCII in table and column names, from import to the context."""
    data = tmp_path / "data"
    data.mkdir()
    kunden = ['Kunde "ID";Name; Region']
    kunden += [f"K-{k:02d};Kunde {k};{'Nord' if k % 2 else 'Süd'}" for k in range(1, 11)]
    (data / "Kunden 'Stamm'.csv").write_text("\n".join(kunden) + "\n", encoding="utf-8")
    rows = ['Beleg "Nr";Kunde "ID";Betrag €;Datum; Status']
    rows += [f"B-{i:03d};{'K-99' if i < 2 else f'K-{i % 10 + 1:02d}'};{10 + i * 3.5:.2f};2024-01-{i % 28 + 1:02d};"
             f"{'offen' if i % 3 else 'bezahlt'}" for i in range(60)]
    (data / "Umsätze; 2024.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    root = make_repo_project(tmp_path / "project", f"sources:\n  hostile:\n    path: {data}\n")
    result = run_doit(root, "-n", "2", timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    document = json.loads((root / "state/hostile/context/context.json").read_text())
    columns = {(c["table"], c["column"]): c for c in document["columns"]}
    assert columns[("umsatze_2024", 'Kunde "ID"')]["sql"] == 'umsatze_2024."Kunde ""ID"""'
    orphans = next(r for r in document["relationships"] if r["from"] == 'umsatze_2024(Kunde "ID")')
    assert orphans["orphan_rows"] == 2 and not orphans["join_safe"]


def test_an_override_reruns_only_its_table_and_wins_over_inference(tmp_path):
    root = make_repo_project(tmp_path / "project")
    assert run_doit(root, "-n", "2", "typing").returncode == 0
    sources = root / "config" / "sources.yaml"
    sources.write_text(
        sources.read_text() + "    overrides:\n      product_service_table:\n        SKU: {type: integer}\n"
    )
    result = run_doit(root, "typing")
    assert result.ran == {"typing:finance_example.product_service_table"}
    types = json.loads((root / "state/finance_example/typing/product_service_table/column_types.json").read_text())
    sku = next(c for c in types["columns"] if c["name"] == "SKU")
    assert (sku["type"], sku["decided_by"], sku["failures"]) == ("integer", "override", 0)


def test_a_typing_threshold_change_reruns_typing_but_not_import(tmp_path):
    root = make_repo_project(tmp_path / "project")
    assert run_doit(root, "-n", "2", "typing").returncode == 0
    settings = root / "config" / "typing.yaml"
    settings.write_text(settings.read_text().replace("max_failure_examples: 5", "max_failure_examples: 3"))
    result = run_doit(root, "-n", "2", "typing")
    assert result.ran == {f"typing:finance_example.{t}" for t in TABLES}
    assert not any(name.startswith("import:") for name in result.ran)
