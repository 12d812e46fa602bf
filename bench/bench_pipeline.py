"""Time the pipeline as a user runs it: a full run, a no-op rerun and a one-table
change, on the bundled example and on a generated source of about a million
transaction rows; and import + typing of the big table against DuckDB's own
read_csv of the same file, measured in the same run.

    python bench/bench_pipeline.py [--rows 1000000] [--jobs 4] [--keep DIR]

Prints a table of seconds. Needs nothing outside the repository."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parent.parent
GENERATOR = REPO / "examples" / "generate_finance_example.py"
BIG_TABLE = "Master_txn_table.csv"


def make_project(root: Path, data: Path) -> None:
    shutil.copytree(REPO / "config", root / "config")
    shutil.copy(REPO / "dodo.py", root / "dodo.py")
    (root / "config" / "sources.yaml").write_text(f"sources:\n  bench:\n    path: {data}\n")


def timed(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return elapsed


def doit(root: Path, jobs: int, *args: str) -> float:
    return timed([sys.executable, "-m", "doit", "-n", str(jobs), *args], root)


def scenario(name: str, data: Path, jobs: int, work: Path) -> list[tuple[str, float]]:
    root = work / name
    make_project(root, data)
    results = [(f"{name}: full run (-n {jobs})", doit(root, jobs))]
    results.append((f"{name}: no-op rerun", doit(root, jobs)))
    with (data / "payment_method.csv").open("a") as handle:
        handle.write("PM-BENCH,Bench Method,No\n")
    results.append((f"{name}: one small table changed", doit(root, jobs)))
    return results


def baseline_vs_phases(data: Path, work: Path) -> list[tuple[str, float]]:
    """DuckDB's own typed read_csv vs our import + typing tasks of the same file.
    The generated file has unparseable amounts beyond DuckDB's 20,480-row sniffing
    sample, so plain read_csv fails on it; it needs ignore_errors (dropping those
    rows) or sample_size=-1 (sniffing the whole file). Both are timed."""
    csv_path = str(data / BIG_TABLE)
    with duckdb.connect(config={"threads": 1}) as con:
        start = time.perf_counter()
        con.execute("CREATE TABLE t1 AS SELECT * FROM read_csv(?, ignore_errors=true)", [csv_path])
        duck = time.perf_counter() - start
        start = time.perf_counter()
        con.execute("CREATE TABLE t2 AS SELECT * FROM read_csv(?, sample_size=-1)", [csv_path])
        duck_full = time.perf_counter() - start
    root = work / "big"
    table = "master_txn_table"
    runner = [sys.executable, "-m", "phases.engine.runner", "--root", str(root)]
    ours_import = timed([*runner, "import", "bench", table], root)
    ours_typing = timed([*runner, "typing", "bench", table], root)
    return [
        ("duckdb read_csv ignore_errors (1 thread)", duck),
        ("duckdb read_csv sample_size=-1 (1 thread)", duck_full),
        ("import task (process incl. start-up)", ours_import),
        ("typing task (process incl. start-up)", ours_typing),
        ("ratio (import + typing) / read_csv ignore_errors", (ours_import + ours_typing) / duck),
    ]


def show(results: list[tuple[str, float]]) -> None:
    for label, value in results:
        print(f"{label:<52}  {value:8.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--keep", type=Path, help="keep the work folder here instead of a temp dir")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="dataraum-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        example = work / "example-data"
        shutil.copytree(REPO / "examples" / "finance_example", example)
        big = work / "big-data"
        gen = timed([sys.executable, str(GENERATOR), "--rows", str(args.rows), "--out", str(big)], REPO)
        show([(f"generate {args.rows:,} rows", gen)])
        show(scenario("example", example, args.jobs, work))
        show(scenario("big", big, args.jobs, work))
        show(baseline_vs_phases(big, work))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
