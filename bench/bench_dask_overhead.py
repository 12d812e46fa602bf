"""What the Dask path adds to each task, against the local path.

    python bench/bench_dask_overhead.py [--repeat 30] [--scheduler tcp://HOST:8786]

Runs the same real task (the demo project's `count:demo.a`, a small phase) through
phases.engine.launch.run_phase_process again and again: locally (a process forked from the
warm server) and through the Dask executor (submitted to a worker, which starts the same
process there), interleaved so both see the same load. Without --scheduler the executor starts
a LocalCluster (a worker in a process of its own, over TCP, as a remote one would be).

The phase's own time varies by far more than the overhead on a shared machine, so the overhead
is measured directly: the worker times its local run of the phase, and the overhead of a task
is the head's round trip (submit to result) minus that. The medians of both paths are printed
too."""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from phases.engine import dask_executor, launch  # noqa: E402
from phases.engine.runner import main as runner_main  # noqa: E402


def timed(call: Callable[[], launch.Finished]) -> float:
    began = time.perf_counter()
    finished = call()
    if finished.returncode != 0:
        raise SystemExit(f"the task failed: {finished.stderr.strip().splitlines()[-1:]}")
    return time.perf_counter() - began


def timed_on_worker(*args: object) -> tuple[tuple[launch.Finished, str], float]:
    """dask_executor.run_on_worker, timed on the worker (pickled by value: this is __main__)."""
    began = time.perf_counter()
    result = dask_executor.run_on_worker(*args)  # type: ignore[arg-type]
    return result, time.perf_counter() - began


def round_trip(executor: dask_executor.DaskExecutor, argv: list[str]) -> float:
    """The head's round trip minus the worker's time in the phase: what Dask adds to one task."""
    began = time.perf_counter()
    (finished, _), inside = executor.client().submit(timed_on_worker, runner_main, argv, {}, None,
                                                     pure=False).result()
    if finished.returncode != 0:
        raise SystemExit(f"the task failed: {finished.stderr.strip().splitlines()[-1:]}")
    return time.perf_counter() - began - inside


def quartiles(values: list[float]) -> tuple[float, float, float]:
    q1, median, q3 = statistics.quantiles(values, n=4)
    return q1, median, q3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--scheduler", help="a running Dask scheduler (default: a LocalCluster)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dataraum-bench-") as scratch:
        root = Path(scratch) / "demo"
        shutil.copytree(REPO / "tests" / "data" / "demo_project", root)
        shutil.copy(REPO / "dodo.py", root / "dodo.py")
        subprocess.run([sys.executable, "-m", "doit", "-n", "2"], cwd=root, check=True, capture_output=True)
        argv = ["--root", str(root), "count", "demo", "a"]
        executor = dask_executor.DaskExecutor(args.scheduler, None)
        started = time.perf_counter()
        executor.client()
        connect = time.perf_counter() - started
        local, remote, extra = [], [], []
        for _ in range(2):  # warm both paths: the forkserver here, the worker's imports and forkserver there
            timed(lambda: launch.run_phase_process(runner_main, argv))
            timed(lambda: executor(runner_main, argv))
        for _ in range(args.repeat):
            local.append(timed(lambda: launch.run_phase_process(runner_main, argv)))
            remote.append(timed(lambda: executor(runner_main, argv)))
            extra.append(round_trip(executor, argv))
        executor.close()
    (lq1, lmed, lq3), (rq1, rmed, rq3) = quartiles(local), quartiles(remote)
    where = args.scheduler or "a LocalCluster"
    print(f"one task (count:demo.a), {args.repeat} runs each, interleaved; Dask: {where} "
          f"(connecting once: {connect:.2f} s)")
    print(f"local path: median {lmed * 1000:6.1f} ms  (quartiles {lq1 * 1000:.1f}..{lq3 * 1000:.1f})")
    print(f"dask path:  median {rmed * 1000:6.1f} ms  (quartiles {rq1 * 1000:.1f}..{rq3 * 1000:.1f})")
    eq1, emed, eq3 = quartiles(extra)
    print(f"overhead per task: median {emed * 1000:.1f} ms (quartiles {eq1 * 1000:.1f}..{eq3 * 1000:.1f}): "
          "the head's round trip minus the worker's time in the phase")


if __name__ == "__main__":
    main()
