"""Large inputs with the default settings: TPC-H lineitem at the given scale factors (tpchgen-cli,
CSV), the whole pipeline through `dataraum run`, and per task its wall time and peak resident
memory from the history store. A task that fails is listed with its one-line error.

    python bench/bench_memory.py [--sf 3] [--sf 10] [--jobs 2] [--out bench/out/memory]

The project uses the repository's config/ unchanged (runtime.yaml: 2GB DuckDB memory per task,
spilling into the task's folder). Generated data and state stay under --out (several GB at SF3:
lineitem is about 2.3 GB of CSV per 3 scale factors). Exits 1 when a task failed."""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def generate(sf: float, data: Path) -> Path:
    csv = data / "lineitem.csv"
    if not csv.exists():
        data.mkdir(parents=True, exist_ok=True)
        subprocess.run(["tpchgen-cli", "csv", "-s", str(sf), "--tables", "lineitem", "--output-dir", str(data)],
                       check=True)
    return csv


def make_project(root: Path, data: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(REPO / "config", root / "config")
    shutil.copy(REPO / "dodo.py", root / "dodo.py")
    (root / "config" / "sources.yaml").write_text(f"sources:\n  tpch:\n    path: {data}\n")


def tasks(root: Path) -> list[tuple[str, float, float | None, bool, str | None]]:
    with sqlite3.connect(root / "state" / "history.sqlite") as db:
        return db.execute("SELECT task, duration_s, peak_rss_mb, success, error FROM pipeline_checkpoints "
                          "ORDER BY started_at").fetchall()


def run(sf: float, jobs: int, out: Path) -> bool:
    data = out / f"sf{sf:g}" / "data"
    csv = generate(sf, data)
    root = out / f"sf{sf:g}" / "project"
    make_project(root, data)
    start = time.perf_counter()
    proc = subprocess.run(["dataraum", "--root", str(root), "run", "-j", str(jobs)], capture_output=True, text=True)
    wall = time.perf_counter() - start
    rows = tasks(root)
    print(f"\nTPC-H SF{sf:g} lineitem: {csv.stat().st_size / 1e9:.2f} GB CSV, `dataraum run -j {jobs}` "
          f"exit {proc.returncode} in {wall:.0f} s")
    print(f"{'task':<45} {'seconds':>8} {'peak RSS MB':>12}  result")
    for task, seconds, rss, ok, error in rows:
        shown = "ok" if ok else f"FAILED: {(error or '').splitlines()[0][:100] if error else ''}"
        print(f"{task:<45} {seconds:>8.1f} {rss if rss is not None else float('nan'):>12.0f}  {shown}")
    peak = max((r[2] or 0 for r in rows), default=0)
    print(f"largest task peak: {peak:.0f} MB")
    return proc.returncode == 0 and all(r[3] for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sf", type=float, action="append", help="scale factor (repeatable; default 3)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "memory")
    args = parser.parse_args()
    ok = [run(sf, args.jobs, args.out.resolve()) for sf in args.sf or [3.0]]
    sys.exit(0 if all(ok) else 1)


if __name__ == "__main__":
    main()
