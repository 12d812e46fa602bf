"""The whole pipeline against the floor: what DuckDB alone needs to load every CSV file typed
and profile every column exactly in one pass. On TPC-H (SF0.01, SF0.1, SF1: all 8 tables as
CSV, made by tpchgen-cli) and on a wide file (bench/make_wide.py: 2,000 columns x 5 rows),
interleaved (every dataset once, then again) and repeated; ydata-profiling too when importable.

    python bench/bench_vs_floor.py [--repeat 2] [--scales 0.01 0.1 1] [--jobs 1 2] [--work DIR]
                                   [--baseline OTHER_CHECKOUT/.venv/bin/python]

Prints per dataset the floor and each run's seconds (min / median), the ratio of the medians
to the floor's, the peak RSS of the largest task, and per phase the seconds (summed over its
tasks) and the peak RSS of its largest task, from the run's history store
(state/history.sqlite). Needs tpchgen-cli (pip install tpchgen-cli) for TPC-H."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from make_wide import write_wide  # noqa: E402  (a script beside this one)

PROFILE_COLUMNS = 25  # columns per profiling query of the floor: DuckDB plans many DISTINCT aggregates slowly
QUANTILES = "[0.25, 0.5, 0.75]"


# --- the floor: run in a fresh process (--floor DIR), prints its seconds ---------------------------


def floor(folder: Path) -> float:
    """Typed load of every CSV file (DuckDB's sniffer on the whole file), then per column count,
    exact distinct count, min, max, and for numbers mean, standard deviation and quartiles."""
    import duckdb

    start = time.perf_counter()
    con = duckdb.connect()
    for path in sorted(folder.glob("*.csv")):
        table = f'"{path.stem}"'
        con.execute(f"CREATE TABLE {table} AS SELECT * FROM read_csv(?, sample_size = -1)", [str(path)])
        described = con.execute(f"DESCRIBE {table}").fetchall()
        for i in range(0, len(described), PROFILE_COLUMNS):
            exprs = []
            for name, sql_type, *_ in described[i : i + PROFILE_COLUMNS]:
                c = '"' + name.replace('"', '""') + '"'
                exprs += [f"count({c})", f"count(DISTINCT {c})", f"min({c})", f"max({c})"]
                if sql_type in ("BIGINT", "INTEGER", "DOUBLE", "SMALLINT", "TINYINT") or sql_type.startswith("DECIMAL"):
                    exprs += [f"avg({c})", f"stddev_samp({c})", f"quantile_cont({c}, {QUANTILES})"]
            con.execute(f"SELECT {', '.join(exprs)} FROM {table}").fetchall()
    return time.perf_counter() - start


def ydata(folder: Path) -> float:
    """ydata-profiling's default report of every file, as JSON."""
    import pandas as pd
    from ydata_profiling import ProfileReport

    start = time.perf_counter()
    for path in sorted(folder.glob("*.csv")):
        ProfileReport(pd.read_csv(path), title=path.stem, progress_bar=False).to_json()
    return time.perf_counter() - start


# --- the pipeline -----------------------------------------------------------------------------


def pipeline(folder: Path, root: Path, jobs: int, timeout: float, python: str = sys.executable) -> tuple[float, bool]:
    """`dataraum run -j JOBS` in a fresh project whose one source is `folder`: (seconds, ok); a run
    still going after `timeout` seconds is stopped (its tasks die with it) and counts as failed.
    `python`: the interpreter whose installed package runs (another checkout's, for a baseline)."""
    shutil.rmtree(root, ignore_errors=True)
    subprocess.run([python, "-m", "phases", "init", str(root)], check=True, capture_output=True)
    (root / "config" / "sources.yaml").write_text(f"sources:\n  bench:\n    path: {folder}\n")
    start = time.perf_counter()
    try:
        proc = subprocess.run([python, "-m", "phases", "run", "-j", str(jobs), "--plain"], cwd=root,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return time.perf_counter() - start, False
    return time.perf_counter() - start, proc.returncode == 0


def per_phase(root: Path) -> dict[str, tuple[float, float, str]]:
    """phase -> (seconds summed over its tasks, peak RSS MB of its largest task, that task)."""
    with sqlite3.connect(root / "state" / "history.sqlite") as db:
        rows = db.execute("SELECT phase, task, duration_s, coalesce(peak_rss_mb, 0) FROM pipeline_checkpoints")
    found: dict[str, tuple[float, float, str]] = {}
    for phase, task, seconds, rss in rows.fetchall():
        total, peak, top = found.get(phase, (0.0, -1.0, ""))
        found[phase] = (total + seconds, max(peak, rss), task if rss > peak else top)
    return found


def timeline(root: Path) -> dict[str, float]:
    """Where the last run's wall time went, from its history: before the first task process
    started (imports, project load, doit's checks, the warm server's preload), after the last one
    ended, the launch (doit's start of a task to its process's own start) and return latencies
    (the process's recorded end to doit's success) summed over the tasks, and the tasks' own
    seconds summed. The run's events carry doit's side, the checkpoints the task processes'."""
    def seconds(text: str) -> float:
        moment = datetime.fromisoformat(text)
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()

    with sqlite3.connect(root / "state" / "history.sqlite") as db:
        checkpoints = db.execute("SELECT task, started_at, finished_at FROM pipeline_checkpoints").fetchall()
        run = db.execute("SELECT started_at, events FROM pipeline_runs ORDER BY started_at DESC").fetchone()
    if not checkpoints or run is None:
        return {}
    spans = {task: (seconds(start), seconds(end)) for task, start, end in checkpoints}
    events = json.loads(run[1])
    began = {e["task"]: seconds(e["time"]) for e in events if e["event"] == "start"}
    ended = {e["task"]: seconds(e["time"]) for e in events if e["event"] in ("success", "failure")}
    finish = max((seconds(e["time"]) for e in events if e["event"] == "finish"), default=None)
    first, last = min(s for s, _ in spans.values()), max(e for _, e in spans.values())
    return {
        "before first task": first - seconds(run[0]),
        "after last task": (finish - last) if finish else 0.0,
        "launch latency (sum)": sum(spans[t][0] - began[t] for t in spans if t in began),
        "return latency (sum)": sum(ended[t] - spans[t][1] for t in spans if t in ended),
        "tasks (sum)": sum(e - s for s, e in spans.values()),
    }


def timed_subprocess(kind: str, folder: Path) -> float | None:
    proc = subprocess.run([sys.executable, __file__, f"--{kind}", str(folder)], capture_output=True, text=True)
    return float(proc.stdout.strip().splitlines()[-1]) if proc.returncode == 0 else None


# --- data and report --------------------------------------------------------------------------


def datasets(work: Path, scales: list[str], wide_columns: int) -> dict[str, Path]:
    found = {}
    for scale in scales:
        folder = work / f"tpch-sf{scale}"
        if not folder.exists():
            subprocess.run(["tpchgen-cli", "csv", "-s", scale, "--output-dir", str(folder)], check=True,
                           capture_output=True)
        found[f"TPC-H SF{scale}"] = folder
    if wide_columns <= 0:
        return found
    wide = work / f"wide-{wide_columns}"
    wide.mkdir(parents=True, exist_ok=True)
    write_wide(wide / "wide.csv", columns=wide_columns)
    found[f"wide {wide_columns}x5"] = wide
    return found


def spread(values: list[float]) -> str:
    return f"{min(values):7.1f} {statistics.median(values):7.1f}" if values else "      -       -"


def report(times: dict[str, dict[str, list[float]]], phases: dict[str, dict[str, dict]], failed: set[str]) -> None:
    kinds = sorted({k for per in times.values() for k in per if k != "floor"})
    heads = "  ".join(f"{k + ' min/med':>15} {'x floor':>7}" for k in kinds)
    print(f"\n{'dataset':<16} {'floor min/med':>15}  {heads}  {'peak RSS (task)':>24}")
    for name, per in times.items():
        base = statistics.median(per["floor"]) if per.get("floor") else None
        cells = [f"{name:<16} {spread(per.get('floor', []))}  "]
        for k in kinds:
            med = statistics.median(per[k]) if per.get(k) else None
            ratio = f"{med / base:7.1f}" if med and base else "      -"
            cells.append(f"{spread(per.get(k, []))} {ratio}  ")
        top = max(phases.get(name, {}).get("-j2", phases.get(name, {}).get(kinds[-1], {})).values(),
                  key=lambda v: v[1], default=(0, 0, ""))
        cells.append(f"{top[1]:6.0f} MB {top[2]:<15}")
        print("".join(cells) + ("  (failed or stopped at --timeout)" if name in failed else ""))
    for name, per_run in phases.items():
        for run, found in per_run.items():
            print(f"\n{name}, pipeline {run} (last run): seconds per phase (summed over tasks), "
                  "peak RSS of its largest task")
            for phase, (seconds, rss, task) in sorted(found.items(), key=lambda kv: -kv[1][0]):
                print(f"  {phase:<20} {seconds:7.1f} s  {rss:6.0f} MB  {task}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--scales", nargs="*", default=["0.01", "0.1", "1"])
    parser.add_argument("--jobs", nargs="*", type=int, default=[2])
    parser.add_argument("--wide-columns", type=int, default=2000, help="0: no wide file")
    parser.add_argument("--work", type=Path, default=Path("/tmp/dataraum-bench-floor"))
    parser.add_argument("--timeout", type=float, default=900, help="seconds one pipeline run may take")
    parser.add_argument("--baseline", help="another checkout's python (e.g. ../main/.venv/bin/python): its "
                        "pipeline runs too, interleaved with this one's, as 'base -jN'")
    parser.add_argument("--floor", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--ydata", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor or args.ydata:
        print(floor(args.floor) if args.floor else ydata(args.ydata))
        return
    try:
        import ydata_profiling  # noqa: F401
        with_ydata = True
    except ImportError:
        with_ydata = False
        print("ydata-profiling: skipped (not installed; pip install ydata-profiling to measure it)")
    data = datasets(args.work, args.scales, args.wide_columns)
    times: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    phases: dict[str, dict[str, dict]] = defaultdict(dict)
    timelines: dict[str, dict[str, dict[str, float]]] = defaultdict(dict)
    failed: set[str] = set()
    for round_ in range(args.repeat):
        for name, folder in data.items():
            if (seconds := timed_subprocess("floor", folder)) is not None:
                times[name]["floor"].append(seconds)
            if with_ydata and (seconds := timed_subprocess("ydata", folder)) is not None:
                times[name]["ydata"].append(seconds)
            runs = [(f"-j{jobs}", jobs, sys.executable) for jobs in args.jobs]
            if args.baseline:  # alternate which goes first, so neither always meets the same load
                base = [(f"base -j{jobs}", jobs, args.baseline) for jobs in args.jobs]
                runs = [run for pair in zip(runs, base, strict=True) for run in (pair[::-1] if round_ % 2 else pair)]
            for kind, jobs, python in runs:
                root = args.work / "projects" / f"{folder.name}{kind.replace(' ', '-')}"
                seconds, ok = pipeline(folder, root, jobs, args.timeout, python)
                times[name][kind].append(seconds)
                phases[name][kind] = per_phase(root)
                timelines[name][kind] = timeline(root)
                failed |= set() if ok else {name}
                print(json.dumps({"round": round_ + 1, "dataset": name, "run": kind, "seconds": round(seconds, 2),
                                  "ok": ok, "floor": times[name]["floor"][-1:],
                                  "load": round(os.getloadavg()[0], 1)}), flush=True)
    report(times, phases, failed)
    for name, per_run in timelines.items():
        for run, parts in per_run.items():
            print(f"\n{name}, pipeline {run} (last run): where the wall time went (the run's own start counts "
                  "from the project load, after the command's imports)")
            for part, value in parts.items():
                print(f"  {part:<22} {value:7.2f} s")


if __name__ == "__main__":
    main()
