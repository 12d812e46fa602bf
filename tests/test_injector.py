"""The corruption injector (bench/inject.py) on a tiny generated ledger (bench/ledger.py): each kind of
injection does what its truth says, the same seed gives the same bytes, and a higher rate only adds
corruption (the rows hit at a lower rate are hit again), so a finding that falls as the rate rises
is the pipeline's fault, never the injector's. Stdlib and tmp_path only: no pipeline run, no ../shared."""

from __future__ import annotations

import csv
import importlib
import json
import math
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


def bench(name: str) -> ModuleType:
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))  # bench/ is a folder of scripts, not a package
    return importlib.import_module(name)


inject, ledger, inject_data = bench("inject"), bench("ledger"), bench("inject_data")
relations = bench("inject_relations")
SEED = 11  # a seed whose plan holds every kind on this ledger (checked below)


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("clean")
    ledger.make_ledger(folder, seed=3, entries_count=250)
    return folder


@pytest.fixture(scope="module")
def runs(clean: Path, tmp_path_factory) -> dict[float, tuple[Path, dict]]:
    out = {}
    for rate in (0.0, 0.1, 0.3):
        folder = tmp_path_factory.mktemp(f"rate{rate}")
        out[rate] = folder, inject.inject(clean, folder, rate, SEED)
    return out


def rows(folder: Path, table: str) -> list[dict[str, str]]:
    with (folder / f"{table}.csv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def injection(truth: dict, kind: str) -> dict:
    return next(i for i in truth["injections"] if i["kind"] == kind)


def test_the_ledger_is_reproducible_byte_for_byte(tmp_path: Path):
    ledger.make_ledger(tmp_path / "a", seed=3, entries_count=50)
    ledger.make_ledger(tmp_path / "b", seed=3, entries_count=50)
    for path in sorted((tmp_path / "a").iterdir()):
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes(), path.name


def test_every_journal_entry_of_the_ledger_balances(clean: Path):
    tables = inject_data.read_tables(clean)
    schema = inject_data.load_schema(clean, tables)
    found = {r.text for r in relations.relations(tables, schema)}
    assert "sum(debit) = sum(credit) per journal_lines.entry_id" in found
    assert "journal_lines.net_amount = debit - credit" in found
    assert "payments.amount = invoices.amount via invoice_id" in found


def test_rate_zero_reproduces_the_clean_files_and_injects_nothing(clean: Path, runs):
    folder, truth = runs[0.0]
    assert truth["injections"] == [] and truth["collateral"] == {} and truth["renamed"] == {}
    for path in sorted(clean.glob("*.csv")):
        assert (folder / path.name).read_bytes() == path.read_bytes(), path.name


def test_the_plan_holds_every_kind_for_this_seed(runs):
    _, truth = runs[0.3]
    assert truth["skipped_kinds"] == []
    assert {i["kind"] for i in truth["injections"]} == set(inject.KINDS)


def test_the_same_seed_and_rate_give_the_same_bytes(clean: Path, runs, tmp_path: Path):
    folder, _ = runs[0.3]
    inject.inject(clean, tmp_path, 0.3, SEED)
    for path in sorted(folder.iterdir()):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


def test_the_targets_depend_on_the_seed_alone(runs):
    plans = [truth["planned"] for _, truth in runs.values()]
    assert plans[0] == plans[1] == plans[2]


def test_another_seed_chooses_other_targets(clean: Path, tmp_path: Path, runs):
    _, truth = runs[0.3]
    other = [inject.inject(clean, tmp_path / str(s), 0.3, s)["planned"] for s in (1, 2, 3)]
    assert any(plan != truth["planned"] for plan in other)


def test_a_higher_rate_hits_every_row_a_lower_rate_hit(runs):
    _, low = runs[0.1]
    _, high = runs[0.3]
    for a in low["injections"]:
        b = next(i for i in high["injections"] if i["kind"] == a["kind"] and i["table"] == a["table"]
                 and i.get("original_columns", i["columns"]) == a.get("original_columns", a["columns"]))
        assert set(a["row_indices"]) <= set(b["row_indices"]), a["id"]
        assert b["rows"] >= a["rows"]


def test_no_column_receives_two_injections(runs):
    _, truth = runs[0.3]
    columns = [(i["table"], c) for i in truth["injections"] for c in i["columns"]]
    assert len(columns) == len(set(columns))


def test_row_injections_hit_the_share_of_rows_the_rate_asks(runs):
    _, truth = runs[0.3]
    for kind in ("junk_tokens", "nulls", "broken_copy", "orphans"):
        record = injection(truth, kind)
        total = len(rows(runs[0.0][0], record["table"]))
        assert abs(record["rows"] - 0.3 * total) <= 0.02 * total + 1, kind


def test_junk_tokens_replace_exactly_the_recorded_cells(clean: Path, runs):
    folder, truth = runs[0.3]
    record = injection(truth, "junk_tokens")
    column = record["columns"][0]
    before, after = rows(clean, record["table"]), rows(folder, record["table"])
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a[column] != b[column]]
    assert changed == record["row_indices"]
    assert {after[i][column] for i in changed} <= set(inject.JUNK)


def test_mixed_currency_converts_the_hit_amounts_by_the_recorded_factor(clean: Path, runs):
    folder, truth = runs[0.3]
    record = injection(truth, "mixed_currency")
    column, factor = record["columns"][0], record["parameters"]["factor"]
    before, after = rows(clean, record["table"]), rows(folder, record["table"])
    for i in record["row_indices"]:
        assert float(after[i][column]) == pytest.approx(float(before[i][column]) * factor, abs=0.006)


def test_drift_scales_every_amount_after_the_shift_date_and_none_before(clean: Path, runs):
    folder, truth = runs[0.3]
    record = injection(truth, "drift")
    p, column = record["parameters"], record["columns"][0]
    gain = 1 + inject.DRIFT_GAIN * 0.3
    assert p["factor"] == pytest.approx(gain if p["direction"] == "up" else 1 / gain, abs=1e-6)
    before, after = rows(clean, record["table"]), rows(folder, record["table"])
    for a, b in zip(before, after, strict=False):
        expected = float(a[column]) * (p["factor"] if a[p["date_column"]] >= p["shift_date"] else 1)
        assert float(b[column]) == pytest.approx(expected, abs=0.006)


def test_a_broken_copy_stops_matching_on_exactly_the_hit_rows(clean: Path, runs):
    folder, truth = runs[0.3]
    record = injection(truth, "broken_copy")
    spec = next(r for r in truth["relations_in_clean_data"] if r["relation"] == record["parameters"]["relation"])
    relation = relations.Relation(spec["kind"], tuple(spec["columns"]), spec["relation"], spec["holds"])
    tables = inject_data.read_tables(folder)
    schema = inject_data.load_schema(clean, inject_data.read_tables(clean))
    table = tables[record["table"]]
    assert record["columns"][0] == relation.target.split(".", 1)[1]
    if relation.kind == "formula":
        assert relations.holds(relation, tables, schema) == pytest.approx(1 - record["rows"] / len(table.rows))
    else:
        assert relations.holds(relation, tables, schema) < spec["holds"]


def test_orphans_keep_the_shape_of_the_keys_and_have_no_parent(clean: Path, runs):
    folder, truth = runs[0.3]
    record = injection(truth, "orphans")
    column = record["columns"][0]
    parent, parent_column = record["parameters"]["parent"].split(".")
    parents = {r[parent_column] for r in rows(folder, parent)}
    before, after = rows(clean, record["table"]), rows(folder, record["table"])
    for i in record["row_indices"]:
        assert after[i][column] not in parents
        assert after[i][column].rstrip("0123456789") == before[i][column].rstrip("0123456789")
        assert len(after[i][column]) >= len(before[i][column])


def test_nulls_empty_the_recorded_cells(runs):
    folder, truth = runs[0.3]
    record = injection(truth, "nulls")
    values = rows(folder, record["table"])
    assert [i for i, r in enumerate(values) if r[record["columns"][0]] == ""] == record["row_indices"]


def test_duplicate_rows_append_exact_copies(clean: Path, runs):
    folder, truth = runs[0.3]
    record = injection(truth, "duplicate_rows")
    after = rows(folder, record["table"])
    n = len(rows(clean, record["table"]))
    assert len(after) == n + record["rows"]
    assert after[n:] == [after[i] for i in record["row_indices"]]


def test_benford_breaks_change_the_first_digits(clean: Path, runs):
    folder, truth = runs[0.3]
    record = injection(truth, "benford_break")
    column = record["columns"][0]
    before, after = rows(clean, record["table"]), rows(folder, record["table"])
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=False)) if a[column] != b[column]]
    assert set(changed) <= set(record["row_indices"]) and len(changed) >= 0.5 * record["rows"]
    assert all(math.copysign(1, float(after[i][column])) == math.copysign(1, float(before[i][column]))
               for i in changed)


def test_headers_are_renamed_to_new_names_in_proportion_to_the_rate(runs):
    _, low = runs[0.1]
    folder, high = runs[0.3]
    assert 0 < len(low["renamed"]) < len(high["renamed"])
    assert set(low["renamed"].items()) <= set(high["renamed"].items())
    for old, new in high["renamed"].items():
        table, column = old.split(".")
        header = rows(folder, table)[0].keys()
        assert new in header and column not in header


def test_untouched_columns_are_neither_injected_renamed_nor_collateral(runs):
    _, truth = runs[0.3]
    touched = {f"{i['table']}.{c}" for i in truth["injections"] for c in i["columns"]}
    assert not touched & set(truth["untouched"])
    assert not set(truth["collateral"]) & set(truth["untouched"])
    assert not set(truth["renamed"]) & set(truth["untouched"])


def test_an_injection_on_a_formula_operand_makes_the_other_columns_collateral(tmp_path: Path):
    folder = tmp_path / "clean"
    folder.mkdir()
    lines = ["id,a,b,c"] + [f"{i},{i % 50}.25,{i * 3 % 41}.50,{i % 50 + i * 3 % 41 + 0.75:.2f}" for i in range(200)]
    (folder / "t.csv").write_text("\n".join(lines) + "\n")
    (folder / "ground_truth.json").write_text(json.dumps({"primary_keys": [{"table": "t", "columns": ["id"]}]}))
    truth = inject.inject(folder, tmp_path / "out", 0.2, 5)
    copy = injection(truth, "broken_copy")
    assert copy["columns"] == ["c"] and copy["parameters"]["relation"] == "t.c = a + b"
    assert {"t.a", "t.b"} <= set(truth["collateral"]) and "t.c" not in truth["collateral"]


@pytest.mark.parametrize(("name", "method", "expected"), [
    ("payment_terms", "initials", "pt"),
    ("vendor_id", "truncate", "veid"),
    ("counterparty", "consonants", "cntr"),
    ("createdBy", "initials", "cb"),
])
def test_headers_are_abbreviated_deterministically(name: str, method: str, expected: str):
    assert inject.abbreviate(name, method) == expected


@pytest.mark.parametrize(("value", "like", "expected"), [
    (1234.5, "10.00", "1234.50"), (0.1234567, "1.098415", "0.123457"), (12.6, "7", "13"), (-0.001, "1.0", "0.00"),
])
def test_numbers_are_written_like_the_values_they_replace(value: float, like: str, expected: str):
    assert inject.fmt(value, like) == expected


def test_only_columns_that_follow_benfords_law_are_eligible_for_a_benford_break():
    benford = [f"{10 ** (i / 997 * 4):.2f}" for i in range(1000)]  # log-uniform over four decades
    uniform = [f"{500 + i % 400}.00" for i in range(1000)]
    assert inject.benford_eligible(benford) and not inject.benford_eligible(uniform)


def test_a_rate_outside_zero_to_one_is_refused(clean: Path, tmp_path: Path):
    with pytest.raises(ValueError, match="rate must lie in 0..1"):
        inject.inject(clean, tmp_path, 1.5, 1)


# --- the judgement of bench/eval_injected.py, on hand-made scores ----------------------------------


def column(readiness: str, *dims: tuple[str, float]) -> dict:
    return {"table": "t", "column": "x", "readiness": readiness, "score": max((s for _, s in dims), default=0.0),
            "reasons": [], "top": [{"dimension": d, "score": s} for d, s in dims]}


def verdict(col: dict, dimension: str = "type_fidelity") -> Any:
    evaluate = bench("eval_injected")
    record = {"kind": "junk_tokens", "dimension": dimension, "table": "t", "columns": ["x"], "rows": 5}
    objects = [{"target": "t.x", "dimension": d["dimension"], "score": d["score"]} for d in col["top"]]
    context = {"columns": [{"table": "t", "column": "x", "type": "decimal"}]}
    return evaluate.judge(record, {"t.x": col}, objects, context, 0.3)


@pytest.mark.parametrize(("col", "found", "strict"), [
    (column("blocked", ("type_fidelity", 1.0)), True, True),
    (column("investigate", ("validation", 0.9), ("type_fidelity", 0.1)), True, False),
    (column("investigate", ("nulls", 0.6)), False, False),
    (column("ready", ("type_fidelity", 0.2)), False, False),
])
def test_an_injection_is_found_by_a_flag_with_a_matching_dimension(col: dict, found: bool, strict: bool):
    v = verdict(col)
    assert (v.found, v.strict, v.type) == (found, strict, "decimal")


def test_a_finding_lost_at_a_higher_rate_is_reported():
    evaluate = bench("eval_injected")

    def run(rate: float, found: bool, nulls: int):
        v = evaluate.Verdict("junk_tokens t.x", "junk_tokens", 5, found, "-", [], None, None)
        return evaluate.RunScore(1, rate, [v], findings=Counter({"nulls": nulls}))

    lines = evaluate.falls({1: [run(0.1, True, 3), run(0.3, False, 2)]})
    assert lines == ["seed 1: junk_tokens t.x: found at 10%, missed at 30%",
                     "seed 1: findings of nulls fall from 3 at 10% to 2 at 30%"]
