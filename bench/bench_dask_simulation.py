"""How long a run of many sources would take on 1, 8 and 64 workers, simulated from the task
times the history store recorded for one real source.

    python bench/bench_dask_simulation.py [--root PROJECT] [--source NAME] [--sources 500]
                                          [--workers 1,8,64] [--overhead-ms 25]

The DAG of one source comes from the project (the same doit tasks a run makes); each task's
time is its latest successful run in the history (state/history.sqlite or the database of
runtime.yaml's history_db). The run copies that source `--sources` times (sources share no
task, so they run side by side) and list-schedules every task on W workers: a worker runs one
task at a time, a task starts once its upstream tasks are done, and of the ready tasks the one
with the longest path still ahead of it goes first. `--overhead-ms` is added to every task: what
the Dask path costs per task (bench/bench_dask_overhead.py measures it). Prints the total work,
the critical path, and for each W the simulated wall time against its lower bound
max(work / W, critical path)."""

from __future__ import annotations

import argparse
import heapq
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from phases.engine import store  # noqa: E402
from phases.engine.project import load_project  # noqa: E402
from phases.engine.tasks import generate_tasks  # noqa: E402

Dag = dict[str, list[str]]  # task -> its upstream tasks


def source_dag(root: Path, source: str) -> Dag:
    """One source's tasks and their upstream tasks, from the targets and file_dep doit gets."""
    sys.path.insert(0, str(root))
    tasks = [t for t in generate_tasks(load_project(root)) if t.get("actions") and t["name"].split(".")[0] == source]
    by_target = {t["targets"][0]: f"{t['basename']}:{t['name']}" for t in tasks}
    return {f"{t['basename']}:{t['name']}": [by_target[d] for d in t["file_dep"] if d in by_target] for t in tasks}


def recorded_times(root: Path, tasks: list[str]) -> dict[str, float]:
    """Each task's latest successful duration in the history."""
    engine = store.existing_history(root)
    if engine is None:
        raise SystemExit(f"{root}: no run history yet; run the pipeline there first (doit -n 4)")
    try:
        rows = store.history(engine, limit=100_000)
    finally:
        engine.dispose()
    times: dict[str, float] = {}
    for row in rows:  # newest first
        if row.success and row.task in tasks:
            times.setdefault(row.task, row.duration_s)
    missing = sorted(set(tasks) - set(times))
    if missing:
        raise SystemExit(f"no successful run recorded for {', '.join(missing[:5])}; run the pipeline first")
    return times


def remaining_paths(dag: Dag, time: dict[str, float]) -> dict[str, float]:
    """For every task, its own time plus the longest chain of tasks after it."""
    after: dict[str, list[str]] = defaultdict(list)
    for task, ups in dag.items():
        for up in ups:
            after[up].append(task)
    memo: dict[str, float] = {}

    def path(task: str) -> float:
        if task not in memo:
            memo[task] = time[task] + max((path(t) for t in after[task]), default=0.0)
        return memo[task]

    return {task: path(task) for task in dag}


def simulate(dag: Dag, time: dict[str, float], copies: int, workers: int) -> float:
    """The wall time of `copies` independent copies of `dag` list-scheduled on `workers`."""
    priority = remaining_paths(dag, time)
    after: dict[str, list[str]] = defaultdict(list)
    for task, ups in dag.items():
        for up in ups:
            after[up].append(task)
    waiting = {(c, t): len(ups) for c in range(copies) for t, ups in dag.items()}
    ready = [(-priority[t], c, t) for (c, t), n in waiting.items() if n == 0]
    heapq.heapify(ready)
    running: list[tuple[float, int, str]] = []  # (end, copy, task)
    now, free = 0.0, workers
    while ready or running:
        while free and ready:
            _, c, t = heapq.heappop(ready)
            heapq.heappush(running, (now + time[t], c, t))
            free -= 1
        now, c, t = heapq.heappop(running)
        free += 1
        for nxt in after[t]:
            waiting[(c, nxt)] -= 1
            if waiting[(c, nxt)] == 0:
                heapq.heappush(ready, (-priority[nxt], c, nxt))
    return now


def fmt(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO, help="a project that has run (default: this repository)")
    parser.add_argument("--source", help="the source whose task times to use (default: the project's first)")
    parser.add_argument("--sources", type=int, default=500, help="how many such sources the simulated run has")
    parser.add_argument("--workers", default="1,8,64", help="comma-separated worker counts")
    parser.add_argument("--overhead-ms", type=float, default=25.0, help="added to every task (the Dask path)")
    args = parser.parse_args()
    root = args.root.resolve()
    source = args.source or load_project(root).usable_sources[0]
    dag = source_dag(root, source)
    time = {t: s + args.overhead_ms / 1000 for t, s in recorded_times(root, list(dag)).items()}
    work, critical = sum(time.values()), max(remaining_paths(dag, time).values())
    print(f"source {source}: {len(dag)} tasks, work {fmt(work)}, critical path {fmt(critical)} "
          f"(recorded task times + {args.overhead_ms:g} ms each)")
    print(f"{args.sources} such sources: {len(dag) * args.sources} tasks, total work {fmt(work * args.sources)}")
    print(f"{'workers':>7}  {'simulated wall':>14}  {'lower bound':>11}  {'speed-up':>8}  bound by")
    serial = work * args.sources
    for workers in (int(w) for w in args.workers.split(",")):
        wall = simulate(dag, time, args.sources, workers)
        bound = max(serial / workers, critical)
        print(f"{workers:>7}  {fmt(wall):>14}  {fmt(bound):>11}  {serial / wall:>7.1f}x  "
              f"{'total work' if serial / workers >= critical else 'critical path'}")
    alone = simulate(dag, time, 1, max(int(w) for w in args.workers.split(",")))
    print(f"one source alone on the most workers: {fmt(alone)} (its critical path: {fmt(critical)}), "
          "so a single source gains little beyond a few workers; many sources fill any cluster")


if __name__ == "__main__":
    main()
