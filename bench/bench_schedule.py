"""How much the order of tasks alone changes a run under `-j N`, independent of the machine's load:
doit's own dispatcher (doit.control.TaskDispatcher, driven the way its parallel runner drives it)
is replayed with the task durations of a finished run (its history store), once with the
selection `dataraum run` passes (phase by phase) and once reordered by critical path
(phases.engine.schedule). Prints each order's makespan, its speed-up over one slot and the first
tasks started. Fixed costs outside the tasks (launch, history, run start) are not in it.

    python bench/bench_schedule.py PROJECT [--jobs 2] [--history PROJECT/state/history.sqlite]"""

from __future__ import annotations

import argparse
import heapq
import importlib.util
import sqlite3
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from doit.control import TaskControl, TaskDispatcher
from doit.loader import load_tasks

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from phases.engine.schedule import critical_first  # noqa: E402  (the checkout's own engine)


def project_tasks(root: Path) -> TaskControl:
    spec = importlib.util.spec_from_file_location("bench_schedule_dodo", root / "dodo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(root))
    spec.loader.exec_module(module)
    return TaskControl(load_tasks(vars(module)))


def makespan(root: Path, seconds: Mapping[str, float], slots: int, reorder: bool) -> tuple[float, list[str]]:
    """The replayed run's length and its tasks in the order they started."""
    control = project_tasks(root)
    tasks = control.tasks
    selected = [name for name, task in tasks.items() if task.actions and not task.has_subtask]
    if reorder:
        critical_first(tasks, selected, seconds)
    generator = TaskDispatcher(tasks, control.targets, selected).generator
    held = 0

    def next_task(completed: Any) -> Any:
        nonlocal held
        try:
            node = generator.send(completed)
        except StopIteration:
            return None
        if node == "hold on":
            held += 1
            return None
        node.run_status = "run"  # every task runs (a fresh project)
        return node

    now, running, started, count = 0.0, [], [], 0
    for _ in range(slots):
        node = next_task(None)
        if node is not None:
            heapq.heappush(running, (now + seconds.get(node.task.name, 0.0), count, node))
            started.append(node.task.name)
            count += 1
    while running:
        now, _, done = heapq.heappop(running)
        done.run_status = "successful"
        free, held = held + 1, 0
        completed = done
        for _ in range(free):  # as doit's MRunner: one job per free worker, the first told what ended
            node = next_task(completed)
            completed = None
            if node is not None:
                heapq.heappush(running, (now + seconds.get(node.task.name, 0.0), count, node))
                started.append(node.task.name)
                count += 1
    return now, started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--history", type=Path, help="default: PROJECT/state/history.sqlite")
    args = parser.parse_args()
    history = args.history or args.project / "state" / "history.sqlite"
    with sqlite3.connect(history) as db:
        rows = db.execute("SELECT task, duration_s FROM pipeline_checkpoints WHERE success ORDER BY id").fetchall()
    seconds = dict(rows)
    total = sum(seconds.values())
    for reorder in (False, True):
        span, started = makespan(args.project.resolve(), seconds, args.jobs, reorder)
        label = "critical path" if reorder else "phase by phase"
        print(f"{label:<15} -j{args.jobs}: {span:7.1f} s of {total:7.1f} s of tasks ({total / span:4.2f}x); "
              f"first: {', '.join(started[:3])}")


if __name__ == "__main__":
    main()
