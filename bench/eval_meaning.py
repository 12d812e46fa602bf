"""Evaluate the meaning phases (issue 5) on ../shared/data/finance_clean and finance_medium, running the
pipeline through validation with doit in a throw-away project:

- semantic: per source, the share of columns whose role, whose concept, and both, are among the values a
  careful data engineer would defend (the hand-written key bench/finance_semantics_expected.json, written
  without looking at the phase's output; finance_medium renames invoices.vendor_id -> vid and
  invoices.payment_terms -> pt, scored against the original names), and every disagreement;
- validation: the balance, derived and trial_balance_vs_journal checks on clean vs medium, against the
  ground truth (clean: every one passes; medium: ground_truth.json's `collateral_effects` say 1602 journal
  entries no longer balance and 915 rows break net_amount = debit - credit);
- the wall time of the run.

    python bench/eval_meaning.py [--keep DIR] [--threads N]

A report, not a gate: the exit code is 0 unless the pipeline fails.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

from phases.artifacts.annotations import ANNOTATIONS
from phases.artifacts.validations import VALIDATIONS

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
KEY_FILE = REPO / "bench" / "finance_semantics_expected.json"
SOURCES = ("clean", "medium")
CHECK_KINDS = ("balance", "derived", "trial_balance_vs_journal")
TOLERANCE = Decimal("0.005")  # the checks' absolute tolerance in config/validation.yaml


def make_project(root: Path, threads: int) -> None:
    shutil.copytree(REPO / "config", root / "config")
    shutil.copy(REPO / "dodo.py", root / "dodo.py")
    body = {name: {"path": str(SHARED / f"finance_{name}")} for name in SOURCES}
    (root / "config" / "sources.yaml").write_text(yaml.safe_dump({"sources": body}))
    runtime = yaml.safe_load((root / "config" / "runtime.yaml").read_text()) or {}
    runtime.setdefault("duckdb", {})["threads"] = threads
    (root / "config" / "runtime.yaml").write_text(yaml.safe_dump(runtime))


def shown(values: list | tuple) -> str:
    return " / ".join("—" if v is None else str(v) for v in values)


# --- semantic --------------------------------------------------------------------------------


def evaluate_semantic(root: Path, source: str, key: dict) -> None:
    annotations = ANNOTATIONS.load(root / "state" / source / "semantic" / "annotations.json")
    renamed = key["renamed_in_medium"] if source == "medium" else {}
    expected = key["columns"]
    rows, role_ok, concept_ok, both_ok = [], 0, 0, 0
    seen = set()
    for column in annotations.columns:
        name = f"{column.table}.{column.column}"
        truth_name = renamed.get(name, name)
        truth = expected.get(truth_name)
        if truth is None:
            rows.append((name, column.role, column.concept, "(not in the key)", "", "unknown column"))
            continue
        seen.add(truth_name)
        r_ok, c_ok = column.role in truth["role"], column.concept in truth["concept"]
        role_ok += r_ok
        concept_ok += c_ok
        both_ok += r_ok and c_ok
        if not (r_ok and c_ok):
            wrong = " and ".join(w for w, ok in (("role", r_ok), ("concept", c_ok)) if not ok)
            label = name if name == truth_name else f"{name} (= {truth_name})"
            rows.append((label, column.role, column.concept, shown(truth["role"]), shown(truth["concept"]), wrong))
    for missing in sorted(set(expected) - seen):
        rows.append((missing, "—", "—", shown(expected[missing]["role"]), shown(expected[missing]["concept"]),
                     "not annotated"))
    total = len(expected)
    print(f"\n### finance_{source}: {len(annotations.columns)} columns annotated, {total} in the key\n")
    print(f"- role acceptable: {role_ok}/{total} = {role_ok / total:.2f}")
    print(f"- concept acceptable: {concept_ok}/{total} = {concept_ok / total:.2f}")
    print(f"- both: {both_ok}/{total} = {both_ok / total:.2f}")
    for name in renamed:
        column = annotations.column(*name.split(".", 1))
        if column is not None:
            print(f"- renamed `{name}`: business name {column.business_name!r}, name clarity {column.name_clarity},"
                  f" role {column.role}, concept {column.concept}, references {column.references}")
    if rows:
        print("\n| column | got role | got concept | expected role | expected concept | disagreement |")
        print("|---|---|---|---|---|---|")
        for name, role, concept, e_role, e_concept, wrong in rows:
            print(f"| {name} | {role} | {'—' if concept is None else concept} | {e_role} | {e_concept} | {wrong} |")


# --- validation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expectation:
    table: str  # the table the check should run on
    status: dict[str, str]  # source -> passed | failed | skipped
    count: dict[str, int | None]  # source -> violating rows or groups, None when no count is known
    basis: str


def number(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:
        return None


def csv_counts(source: str) -> tuple[int, int]:
    """From the CSV files: unbalanced journals overall (0/1) and trial-balance periods whose debits and
    credits differ, both beyond the checks' tolerance (a reference where the ground truth gives no count)."""
    folder = SHARED / f"finance_{source}"
    debit = credit = Decimal(0)
    with (folder / "journal_lines.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            debit += number(row["debit"]) or 0
            credit += number(row["credit"]) or 0
    periods: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    with (folder / "trial_balance.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            periods[row["period"]][0] += number(row["debit_balance"]) or 0
            periods[row["period"]][1] += number(row["credit_balance"]) or 0
    unbalanced = sum(abs(d - c) > TOLERANCE for d, c in periods.values())
    return int(abs(debit - credit) > TOLERANCE), unbalanced


def expectations() -> dict[str, Expectation]:
    effects = json.loads((SHARED / "finance_medium" / "ground_truth.json").read_text())["collateral_effects"]
    entries = next(v for k, v in effects.items() if k.startswith("journal_entries whose lines no longer balance"))
    net = next(v for k, v in effects.items() if k.startswith("journal_lines.net_amount != debit - credit"))
    overall = {s: csv_counts(s) for s in SOURCES}
    none = "no table holds these concepts together"
    return {
        "double_entry_overall": Expectation(
            "journal_lines", {"clean": "passed", "medium": "failed"},
            {s: overall[s][0] for s in SOURCES}, "clean: invariant journal_balanced; medium: column sums of the CSV"),
        "double_entry_by_entry": Expectation(
            "journal_lines", {"clean": "passed", "medium": "failed"}, {"clean": 0, "medium": entries},
            "ground truth collateral_effects"),
        "trial_balance_by_period": Expectation(
            "trial_balance", {"clean": "passed", "medium": "failed"}, {s: overall[s][1] for s in SOURCES},
            "clean: invariant trial_balance_balanced; medium: periods unbalanced in the CSV"),
        "trial_balance_vs_journal": Expectation(
            "trial_balance", {"clean": "passed", "medium": "failed"}, {"clean": 0, "medium": None},
            "clean: derived from the journal; medium: both sides injected, no count in the truth"),
        "net_amount_derived": Expectation(
            "journal_lines", {"clean": "passed", "medium": "failed"}, {"clean": 0, "medium": net},
            "ground truth collateral_effects"),
        "signed_amount_derived": Expectation("", {s: "skipped" for s in SOURCES}, {s: None for s in SOURCES}, none),
        "total_derived": Expectation("", {s: "skipped" for s in SOURCES}, {s: None for s in SOURCES}, none),
        "extended_amount_derived": Expectation("", {s: "skipped" for s in SOURCES}, {s: None for s in SOURCES}, none),
    }


def evaluate_validation(root: Path) -> None:
    results = {s: VALIDATIONS.load(root / "state" / s / "validation" / "validations.json") for s in SOURCES}
    expected = expectations()
    ids = []
    for source in SOURCES:
        ids += [c.id for c in results[source].checks if c.kind in CHECK_KINDS and c.id not in ids]
    print("\n## Validation checks (balance, derived, trial_balance_vs_journal)\n")
    print("| check | clean | medium | expected clean | expected medium | matches | basis |")
    print("|---|---|---|---|---|---|---|")
    matched = total = 0
    for check_id in ids:
        base = check_id.split(":", 1)[0]
        got = {s: results[s].check(check_id) for s in SOURCES}
        cells = []
        for source in SOURCES:
            c = got[source]
            if c is None:
                cells.append("not run")
            elif c.status == "skipped":
                first = got[SOURCES[0]]
                same = source != SOURCES[0] and first is not None and first.reason == c.reason
                cells.append(f"skipped ({'same reason' if same else c.reason})")
            else:
                cells.append(f"{c.status}, {c.violations}/{c.checked}")
        spec = expected.get(base)
        applies = spec is not None and (
            spec.table == "" or any(spec.table in c.tables for c in got.values() if c is not None))
        if not applies:
            print(f"| {check_id} | {cells[0]} | {cells[1]} | — | — | n/a | not in the expectations |")
            continue
        wants, verdicts = [], []
        for source in SOURCES:
            count = spec.count[source]
            wants.append(spec.status[source] + ("" if count is None else f", {count}"))
            c = got[source]
            verdicts.append(c is not None and c.status == spec.status[source]
                            and (count is None or c.violations == count))
        ok = all(verdicts)
        matched += ok
        total += 1
        how = "yes" if ok else "no (" + ", ".join(s for s, v in zip(SOURCES, verdicts, strict=True) if not v) + ")"
        print(f"| {check_id} | {cells[0]} | {cells[1]} | {wants[0]} | {wants[1]} | {how} | {spec.basis} |")
    run_ids = {i.split(":", 1)[0] for i in ids}
    for base, spec in expected.items():
        if base not in run_ids and spec.table:
            total += 1
            print(f"| {base} | not run | not run | {spec.status['clean']} | {spec.status['medium']} | no | "
                  f"{spec.basis} |")
    print(f"\nchecks matching the ground truth (status, and count where one is known): {matched}/{total}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it")
    parser.add_argument("--threads", type=int, default=1, help="DuckDB threads per task (runtime.yaml)")
    args = parser.parse_args()
    if not (SHARED / "finance_medium").is_dir() or not (SHARED / "finance_clean").is_dir():
        print(f"skipped: {SHARED} is missing (the shared evaluation data is not part of a user's clone)")
        return 0
    root = args.keep or Path(tempfile.mkdtemp(prefix="eval_meaning_"))
    if not (root / "config").exists():
        root.mkdir(parents=True, exist_ok=True)
        make_project(root, args.threads)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "doit", "-n", "2", "validation"], cwd=root,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"doit failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    sys.path.insert(0, str(REPO))
    key = json.loads(KEY_FILE.read_text())
    print(f"# Meaning on finance_clean + finance_medium\n\npipeline through validation (doit -n 2): {seconds:.1f} s")
    print("\n## Semantic roles and concepts (against bench/finance_semantics_expected.json)")
    for source in SOURCES:
        evaluate_semantic(root, source, key)
    evaluate_validation(root)
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
