"""Evaluate foreign-key discovery against known answers, running the real phases
(import -> typing -> statistics -> relationships -> topology) in a throw-away project:

- the bundled example (its name-based keys, documented in examples/finance_example/README.md);
- ../shared/data/finance_clean and finance_medium, against their ground_truth.json
  (skipped, with a message, when ../shared is missing);
- TPC-H at scale factor 0.01, generated with tpchgen-cli, against the keys of the
  TPC-H specification (clause 1.4.2).

    python bench/eval_relationships.py [--sf1] [--keep DIR] [--threads N]

Prints precision and recall of the discovered foreign keys per source, whether the primary
keys match, and the wall time of the relationships task (a runner process, as doit starts it).
`--sf1` also generates TPC-H at scale factor 1 (about 8.7 M rows; a few minutes for import,
typing and statistics) and times the relationships task on it."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from phases.artifacts.relationships import RELATIONSHIPS

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
Key = tuple[str, tuple[str, ...], str, tuple[str, ...]]  # child table, child columns, parent table, parent columns
PHASES = ("import", "typing", "statistics", "relationships", "topology")

EXAMPLE_FKS: set[Key] = {
    ("master_txn_table", ("Customer",), "customer_table", ("Customer",)),
    ("master_txn_table", ("Vendor",), "vendor_table", ("Vendor",)),
    ("master_txn_table", ("Product/Service",), "product_service_table", ("Product/Service",)),
    ("master_txn_table", ("Payment Method",), "payment_method", ("Payment Method",)),
}
EXAMPLE_ORPHANS = {("master_txn_table", ("Customer",), "customer_table", ("Customer",)): 7}  # 4 Northwind + 3 padded
TPCH_FKS: set[Key] = {
    ("supplier", ("s_nationkey",), "nation", ("n_nationkey",)),
    ("partsupp", ("ps_partkey",), "part", ("p_partkey",)),
    ("partsupp", ("ps_suppkey",), "supplier", ("s_suppkey",)),
    ("customer", ("c_nationkey",), "nation", ("n_nationkey",)),
    ("orders", ("o_custkey",), "customer", ("c_custkey",)),
    ("lineitem", ("l_orderkey",), "orders", ("o_orderkey",)),
    ("lineitem", ("l_partkey",), "part", ("p_partkey",)),
    ("lineitem", ("l_suppkey",), "supplier", ("s_suppkey",)),
    ("lineitem", ("l_partkey", "l_suppkey"), "partsupp", ("ps_partkey", "ps_suppkey")),
    ("nation", ("n_regionkey",), "region", ("r_regionkey",)),
}
TPCH_PKS = {"part": ("p_partkey",), "supplier": ("s_suppkey",), "partsupp": ("ps_partkey", "ps_suppkey"),
            "customer": ("c_custkey",), "orders": ("o_orderkey",), "lineitem": ("l_orderkey", "l_linenumber"),
            "nation": ("n_nationkey",), "region": ("r_regionkey",)}


@dataclass
class Truth:
    foreign_keys: set[Key]
    primary_keys: dict[str, tuple[str, ...]]
    orphans: dict[Key, int]  # orphan rows the truth records, where it does


def finance_truth(folder: Path) -> Truth:
    """ground_truth.json of a finance source: 'table.column' foreign keys with measured orphans."""
    data = json.loads((folder / "ground_truth.json").read_text())

    def split(ref: str) -> tuple[str, tuple[str, ...]]:
        table, column = ref.split(".", 1)
        return table, (column,)

    keys, orphans = set(), {}
    for fk in data["foreign_keys"]:
        key = (*split(fk["child"]), *split(fk["parent"]))
        keys.add(key)
        orphans[key] = fk["orphan_rows"]
    return Truth(keys, {pk["table"]: tuple(pk["columns"]) for pk in data["primary_keys"]}, orphans)


# --- running the pipeline --------------------------------------------------------------------


def make_project(root: Path, sources: dict[str, Path], threads: int) -> None:
    """A project with the repository's config, only the phases needed here enabled."""
    shutil.copytree(REPO / "config", root / "config")
    shutil.copy(REPO / "dodo.py", root / "dodo.py")
    body = {name: {"path": str(path)} for name, path in sources.items()}
    (root / "config" / "sources.yaml").write_text(yaml.safe_dump({"sources": body}))
    pipeline_file = root / "config" / "pipeline.yaml"
    pipeline = yaml.safe_load(pipeline_file.read_text())
    for name, spec in pipeline["phases"].items():
        spec["enabled"] = name in PHASES
    pipeline["phases"]["relationships"]["config"] = ["relationships.yaml"]
    pipeline["phases"]["topology"]["config"] = ["topology.yaml"]
    pipeline_file.write_text(yaml.safe_dump(pipeline, sort_keys=False))
    runtime = yaml.safe_load((root / "config" / "runtime.yaml").read_text()) or {}
    runtime.setdefault("duckdb", {})["threads"] = threads
    (root / "config" / "runtime.yaml").write_text(yaml.safe_dump(runtime))


def run(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return time.perf_counter() - start


def run_source(root: Path, source: str) -> float:
    """Upstream phases through doit, then the relationships task timed alone, then topology."""
    run([sys.executable, "-m", "doit", "-n", "2", "statistics"], root)
    runner = [sys.executable, "-m", "phases.engine.runner", "--root", str(root)]
    seconds = run([*runner, "relationships", source], root)
    run([*runner, "topology", source], root)
    return seconds


# --- scoring ---------------------------------------------------------------------------------


def discovered(root: Path, source: str) -> tuple[dict[Key, int], dict[str, tuple[str, ...]]]:
    """Found foreign keys (with their orphan rows) and each table's primary key."""
    sys.path.insert(0, str(REPO))
    report = RELATIONSHIPS.load(root / "state" / source / "relationships" / "relationships.json")
    found = {(r.child_table, r.child_columns, r.parent_table, r.parent_columns): r.orphan_rows
             for r in report.relationships}
    return found, {t: keys[0] for t, keys in report.primary_keys.items() if keys}


def shape(root: Path, source: str) -> str:
    graph = json.loads((root / "state" / source / "topology" / "schema_graph.json").read_text())
    return ", ".join(f"{c['shape']}({len(c['tables'])})" for c in graph["components"])


def label(key: Key) -> str:
    child, c_cols, parent, p_cols = key
    return f"{child}.{'+'.join(c_cols)} -> {parent}.{'+'.join(p_cols)}"


def report(name: str, root: Path, truth: Truth, seconds: float) -> tuple[float, float]:
    found, pks = discovered(root, name)
    hits = set(found) & truth.foreign_keys
    precision = len(hits) / len(found) if found else 1.0
    recall = len(hits) / len(truth.foreign_keys) if truth.foreign_keys else 1.0
    pk_ok = sum(pks.get(t) == k for t, k in truth.primary_keys.items())
    orphans_ok = sum(found[k] == n for k, n in truth.orphans.items() if k in found)
    print(f"\n{name}: {len(found)} found, {len(truth.foreign_keys)} true, {len(hits)} correct"
          f"  precision {precision:.3f}  recall {recall:.3f}  relationships task {seconds:.2f} s")
    print(f"  primary keys matching the truth: {pk_ok}/{len(truth.primary_keys)}"
          f"; orphan rows matching: {orphans_ok}/{len([k for k in truth.orphans if k in found])}"
          f"; schema: {shape(root, name)}")
    for key in sorted(set(found) - truth.foreign_keys):
        print(f"  false positive: {label(key)}")
    for key in sorted(truth.foreign_keys - set(found)):
        print(f"  missed: {label(key)}")
    for key in sorted(k for k in hits if found[k]):
        print(f"  orphans: {label(key)}: {found[key]} rows")
    return precision, recall


def generate_tpch(scale: float, folder: Path) -> Path | None:
    tool = shutil.which("tpchgen-cli") or str(Path(sys.executable).parent / "tpchgen-cli")
    if not Path(tool).exists():
        print("tpchgen-cli not found: `pip install -e '.[bench]'` to evaluate on TPC-H", file=sys.stderr)
        return None
    folder.mkdir(parents=True, exist_ok=True)
    seconds = run([tool, "csv", "-s", str(scale), "-o", str(folder)], folder)
    print(f"generated TPC-H SF {scale} in {seconds:.1f} s")
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sf1", action="store_true", help="also time the relationships task on TPC-H SF 1")
    parser.add_argument("--keep", type=Path, help="keep the work folder here instead of a temp dir")
    parser.add_argument("--threads", type=int, default=1, help="DuckDB threads per task (runtime.yaml)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="dataraum-eval-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        sources: dict[str, tuple[Path, Truth]] = {
            "finance_example": (REPO / "examples" / "finance_example", Truth(EXAMPLE_FKS, {}, EXAMPLE_ORPHANS)),
        }
        if SHARED.is_dir():
            for name in ("finance_clean", "finance_medium"):
                sources[name] = (SHARED / name, finance_truth(SHARED / name))
        else:
            print(f"{SHARED} is missing: skipping finance_clean and finance_medium (they live in ../shared)")
        tpch = generate_tpch(0.01, work / "tpch_sf001")
        if tpch:
            sources["tpch_sf001"] = (tpch, Truth(TPCH_FKS, TPCH_PKS, {}))
        if args.sf1 and (sf1 := generate_tpch(1, work / "tpch_sf1")):
            sources["tpch_sf1"] = (sf1, Truth(TPCH_FKS, TPCH_PKS, {}))
        results = {}
        for name, (folder, truth) in sources.items():
            root = work / f"project_{name}"
            make_project(root, {name: folder}, args.threads)
            results[name] = report(name, root, truth, run_source(root, name))
        print("\nsource            precision  recall")
        for name, (precision, recall) in results.items():
            aim = "" if min(precision, recall) >= 0.95 else "   below the 0.95 aim"
            print(f"{name:<16}  {precision:9.3f}  {recall:6.3f}{aim}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
