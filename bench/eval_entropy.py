"""Evaluate the entropy phase against the injected issues of ../shared/data/finance_medium and the
clean baseline ../shared/data/finance_clean, running the whole pipeline with doit in a throw-away
project:

- recall: a column of `columns_with_injected_issues` counts as found when it is scored
  `investigate` or `blocked` and one of its top dimensions matches the layer/dimension of an
  injection into it (the mapping below; the generator's dimension names differ from ours);
- false alarms: columns of finance_clean listed in `columns_without_injected_issues` scored
  `investigate` or `blocked`; a column whose nulls are by design (`design_nulls_in_clean_data`)
  is not a false alarm when nulls is what flagged it.

    python bench/eval_entropy.py [--keep DIR] [--threads N] [--tpch]

With `--tpch` it also runs the pipeline on TPC-H at scale factor 0.01 (a source from another
domain, with no injected issues; `pip install -e '.[bench]'`) and lists the columns it does not
score `ready`, as a check of false alarms beyond the finance data.

Aim (issue 6): recall >= 0.9 and false alarms <= 0.1. Nothing here special-cases column names.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"

# the generator's dimension -> the entropy dimensions that name the same problem
MATCHING = {
    "type_fidelity": {"type_fidelity"},
    "format_consistency": {"type_fidelity"},
    "completeness": {"nulls"},
    "distribution": {"outliers", "benford"},
    "temporal_stability": {"temporal_drift"},
    "unit_consistency": {"units"},
    "business_meaning": {"business_meaning"},
    "referential_integrity": {"relationship_quality"},
    "dimensional_structure": {"derived_consistency", "validation", "outliers"},
    "cross_table_consistency": {"derived_consistency", "validation"},
    "derived_consistency": {"derived_consistency", "validation"},
}


def make_project(root: Path, threads: int) -> None:
    shutil.copytree(REPO / "config", root / "config")
    shutil.copy(REPO / "dodo.py", root / "dodo.py")
    body = {name: {"path": str(SHARED / f"finance_{name}")} for name in ("clean", "medium")}
    (root / "config" / "sources.yaml").write_text(yaml.safe_dump({"sources": body}))
    runtime = yaml.safe_load((root / "config" / "runtime.yaml").read_text()) or {}
    runtime.setdefault("duckdb", {})["threads"] = threads
    (root / "config" / "runtime.yaml").write_text(yaml.safe_dump(runtime))


def scores(root: Path, source: str) -> dict[str, dict]:
    data = json.loads((root / "state" / source / "entropy" / "entropy_scores.json").read_text())
    return {f"{c['table']}.{c['column']}": c for c in data["columns"]}


def flagged(column: dict) -> bool:
    return column["readiness"] in ("investigate", "blocked")


def top(column: dict) -> list[str]:
    return [d["dimension"] for d in column["top"]]


def evaluate(root: Path) -> tuple[float, float]:
    truth = json.loads((SHARED / "finance_medium" / "ground_truth.json").read_text())
    injections = json.loads((SHARED / "finance_medium" / "truth" / "entropy_map.json").read_text())["injections"]
    medium = scores(root, "medium")
    print("\n## Recall on finance_medium (injected columns)\n")
    print("| column | injected (layer/dimension) | readiness | score | top dimensions | found |")
    print("|---|---|---|---:|---|---|")
    found = 0
    injected = sorted(truth["columns_with_injected_issues"])
    for name in injected:
        table = name.split(".")[0]
        dims = sorted({i["dimension"] for i in injections if i["target_file"] == f"{table}.csv"
                       and name.split(".", 1)[1] in str(i["target_column"]).split("/")})
        column = medium.get(name)
        if column is None:
            print(f"| {name} | {', '.join(dims)} | missing | | | no |")
            continue
        wanted = set().union(*(MATCHING.get(d, {d}) for d in dims)) if dims else set()
        ok = flagged(column) and bool(wanted & set(top(column)))
        found += ok
        print(f"| {name} | {', '.join(dims)} | {column['readiness']} | {column['score']:.2f} | "
              f"{', '.join(top(column))} | {'yes' if ok else 'no'} |")
    recall = found / len(injected)

    clean_truth = json.loads((SHARED / "finance_clean" / "ground_truth.json").read_text())
    clean = scores(root, "clean")
    design = set(clean_truth.get("design_nulls_in_clean_data", {}))
    candidates = clean_truth["columns_without_injected_issues"]
    alarms = []
    for name in candidates:
        column = clean[name]
        if flagged(column) and not (name in design and top(column)[:1] == ["nulls"]):
            alarms.append((name, column))
    print("\n## False alarms on finance_clean\n")
    for name, column in alarms:
        print(f"- {name}: {column['readiness']} {column['score']:.2f} ({'; '.join(column['reasons'][:2])})")
    excused = [n for n in design if flagged(clean[n])]
    if excused:
        print(f"- (by design, not counted: {', '.join(sorted(excused))})")
    rate = len(alarms) / len(candidates)
    print(f"\nrecall {found}/{len(injected)} = {recall:.2f}; false alarms {len(alarms)}/{len(candidates)} = {rate:.2f}")
    return recall, rate


def tpch_report(root: Path) -> None:
    from eval_relationships import generate_tpch  # bench/ is on sys.path when run as a script

    folder = generate_tpch(0.01, root / "tpch-data")
    if folder is None:
        return
    project = root / "tpch"
    shutil.copytree(REPO / "config", project / "config")
    shutil.copy(REPO / "dodo.py", project / "dodo.py")
    (project / "config" / "sources.yaml").write_text(yaml.safe_dump({"sources": {"tpch": {"path": str(folder)}}}))
    proc = subprocess.run([sys.executable, "-m", "doit", "-n", "2"], cwd=project, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"doit failed on TPC-H:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    columns = scores(project, "tpch").values()
    flagged_columns = [c for c in columns if flagged(c)]
    print(f"\n## TPC-H SF 0.01 (no injected issues)\n\n{len(columns) - len(flagged_columns)} of {len(columns)} "
          "columns ready; the others:")
    for c in sorted(flagged_columns, key=lambda c: -c["score"]):
        print(f"- {c['table']}.{c['column']}: {c['readiness']} {c['score']:.2f} ({'; '.join(c['reasons'][:1])})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="run in this folder and keep it")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--tpch", action="store_true", help="also report the columns of TPC-H SF 0.01 not ready")
    args = parser.parse_args()
    if not (SHARED / "finance_medium").is_dir():
        print(f"skipped: {SHARED} is missing (the shared evaluation data is not part of a user's clone)")
        return 0
    root = args.keep or Path(tempfile.mkdtemp(prefix="eval_entropy_"))
    if not (root / "config").exists():
        make_project(root, args.threads)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "doit", "-n", "2"], cwd=root, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"doit failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    print(f"pipeline on finance_clean + finance_medium: {time.perf_counter() - start:.1f} s")
    recall, rate = evaluate(root)
    if args.tpch:
        tpch_report(root)
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if recall >= 0.9 and rate <= 0.1 else 1


if __name__ == "__main__":
    sys.exit(main())
