"""Large inputs with the default settings: TPC-H lineitem at the given scale factors (tpchgen-cli,
CSV), the whole pipeline through `dataraum run`, and per task its wall time and peak resident
memory from the history store and the high-water mark of its DuckDB spill (the task folder's
.duckdb_tmp, polled every second). A task that fails is listed with its one-line error.

    python bench/bench_memory.py [--sf 3] [--sf 10] [--jobs 2] [--out bench/out/memory] [--keep]
                                 [--min-free-gb 10]

--keep reuses the project's state (tasks already done are skipped). The run is stopped when the
disk's free space falls below --min-free-gb (the disk is shared).

The project uses the repository's config/ unchanged (runtime.yaml: 2GB DuckDB memory per task,
spilling into the task's folder). Generated data and state stay under --out (several GB at SF3:
lineitem is about 2.3 GB of CSV per 3 scale factors). Exits 1 when a task failed."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
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


def _task_of(folder: Path) -> str:
    """The history's task name of a task folder: source/phase/[.]table[.staging] or source/[.]phase[.staging]."""
    parts = [part.lstrip(".").removesuffix(".staging") for part in folder.parts]
    return f"{parts[1]}:{parts[0]}.{parts[2]}" if len(parts) == 3 else f"{parts[1]}:{parts[0]}"


def _size(folder: Path) -> int:
    try:
        return sum(f.stat().st_size for f in folder.iterdir() if f.is_file())
    except OSError:  # the task finished and removed it meanwhile
        return 0


class Watch:
    """Polls the run: the spill high-water mark per task folder, and the disk's free space (the
    run is stopped below `min_free` bytes)."""

    def __init__(self, root: Path, proc: subprocess.Popen[str], min_free: float):
        self.root, self.proc, self.min_free = root, proc, min_free
        self.spill: dict[str, int] = {}
        self.stopped: str | None = None
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        while self.proc.poll() is None:
            for tmp in (self.root / "state").glob("**/.duckdb_tmp"):
                task = _task_of(tmp.parent.relative_to(self.root / "state"))
                self.spill[task] = max(self.spill.get(task, 0), _size(tmp))
            free = shutil.disk_usage(self.root).free
            if free < self.min_free and self.stopped is None:
                self.stopped = f"stopped: {free / 1e9:.1f} GB free on the disk"
                os.killpg(self.proc.pid, signal.SIGTERM)
            time.sleep(1)


def run(sf: float, jobs: int, out: Path, keep: bool, min_free_gb: float) -> bool:
    data = out / f"sf{sf:g}" / "data"
    csv = generate(sf, data)
    root = out / f"sf{sf:g}" / "project"
    if not keep or not (root / "config").exists():
        make_project(root, data)
    start = time.perf_counter()
    proc = subprocess.Popen(["dataraum", "--root", str(root), "run", "-j", str(jobs)], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    watch = Watch(root, proc, min_free_gb * 1e9)
    output, _ = proc.communicate()
    wall = time.perf_counter() - start
    rows = tasks(root)
    print(f"\nTPC-H SF{sf:g} lineitem: {csv.stat().st_size / 1e9:.2f} GB CSV, `dataraum run -j {jobs}` "
          f"exit {proc.returncode} in {wall:.0f} s{'; ' + watch.stopped if watch.stopped else ''}")
    print(f"{'task':<45} {'seconds':>8} {'peak RSS MB':>12} {'spill GB':>9}  result")
    for task, seconds, rss, ok, error in rows:
        shown = "ok" if ok else f"FAILED: {(error or '').splitlines()[0][:100] if error else ''}"
        spill = watch.spill.get(task, 0)
        print(f"{task:<45} {seconds:>8.1f} {rss if rss is not None else float('nan'):>12.0f} {spill / 1e9:>9.2f}  "
              f"{shown}")
    peak = max((r[2] or 0 for r in rows), default=0)
    print(f"largest task peak: {peak:.0f} MB; largest spill: {max(watch.spill.values(), default=0) / 1e9:.2f} GB")
    if proc.returncode:
        print("\n".join(output.splitlines()[-5:]))
    return proc.returncode == 0 and all(r[3] for r in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sf", type=float, action="append", help="scale factor (repeatable; default 3)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "out" / "memory")
    parser.add_argument("--keep", action="store_true", help="reuse the project's state: done tasks are skipped")
    parser.add_argument("--min-free-gb", type=float, default=10.0, help="stop the run below this much free disk")
    args = parser.parse_args()
    ok = [run(sf, args.jobs, args.out.resolve(), args.keep, args.min_free_gb) for sf in args.sf or [3.0]]
    sys.exit(0 if all(ok) else 1)


if __name__ == "__main__":
    main()
