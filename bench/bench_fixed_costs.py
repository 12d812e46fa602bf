"""The fixed costs of the pipeline: a one-file source of a few hundred bytes run end to end
(`dataraum run PATH`, `doit -n 4`), the no-op rerun and `dataraum status`, with one or more
checkouts side by side (interleaved, repeated), so that the ratios hold on a loaded machine.

    python bench/bench_fixed_costs.py [--repeat 3] [--compare /work/main] [--work DIR]

Each checkout is used through its own `.venv/bin` (dataraum, doit), with the checkout first on
PYTHONPATH (so a plain copy of another revision beside a symlinked .venv works too), and its
modules compiled to bytecode first, as an installed package has them (a
PYTHONDONTWRITEBYTECODE environment would otherwise compile every module in every process). Prints per checkout and
command the wall seconds and the CPU seconds of the whole process tree (min / median): the
caller becomes a child subreaper, so the task processes (children of the warm server) are
counted too. CPU seconds are steadier than wall seconds when other work shares the cores."""

from __future__ import annotations

import argparse
import ctypes
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36  # prctl(2): orphaned descendants are reparented to this process
TINY_ROWS = 14


def become_subreaper() -> None:
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1)


def reap_orphans() -> None:
    """Wait for every descendant left over (the warm server exits once its run is gone), so its
    CPU time counts as this process's children's."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.01)


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the whole tree, exit code) of one command."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    reap_orphans()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        print(f"  {' '.join(command)} exited {proc.returncode}: {proc.stderr.strip()[-300:]}", file=sys.stderr)
    return wall, cpu, proc.returncode


def tiny_source(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rows = ["id,name,amount,day"] + [f"{i},n{i},{i * 1.5},2024-01-{i:02d}" for i in range(1, TINY_ROWS + 1)]
    (folder / "tiny.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return folder


def one_round(checkout: Path, work: Path) -> dict[str, tuple[float, float, int]]:
    bin_dir = checkout / ".venv" / "bin"
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    data = tiny_source(work / "data")
    project = data / ".dataraum"
    found = {"run (fresh)": timed([str(bin_dir / "dataraum"), "run", str(data), "--plain"], work, env)}
    found["run (no-op)"] = timed([str(bin_dir / "dataraum"), "run", str(data), "--plain"], work, env)
    found["status"] = timed([str(bin_dir / "dataraum"), "status"], project, env)
    shutil.rmtree(project / "state")
    found["doit -n 4 (fresh)"] = timed([str(bin_dir / "doit"), "-n", "4"], project, env)
    found["doit -n 4 (no-op)"] = timed([str(bin_dir / "doit"), "-n", "4"], project, env)
    return found


def spread(values: list[float]) -> str:
    return f"{min(values):6.2f} {statistics.median(values):6.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--compare", type=Path, nargs="*", default=[], help="other checkouts, each with a .venv")
    parser.add_argument("--work", type=Path, default=Path("/tmp/dataraum-bench-fixed"))
    args = parser.parse_args()
    become_subreaper()
    checkouts = [Path(__file__).resolve().parent.parent, *(p.absolute() for p in args.compare)]
    for checkout in checkouts:
        subprocess.run([str(checkout / ".venv" / "bin" / "python"), "-m", "compileall", "-q", str(checkout / "phases")],
                       check=True, capture_output=True)
    walls: dict[tuple[str, str], list[float]] = defaultdict(list)
    cpus: dict[tuple[str, str], list[float]] = defaultdict(list)
    for round_ in range(args.repeat):
        for checkout in checkouts:
            for command, (wall, cpu, _code) in one_round(checkout, args.work / checkout.name).items():
                walls[(str(checkout), command)].append(wall)
                cpus[(str(checkout), command)].append(cpu)
            load = os.getloadavg()[0]
            print(f"round {round_ + 1}: {checkout} done (load {load:.1f})", flush=True)
    print(f"\n{'checkout':<24} {'command':<20} {'wall min/med':>13} {'CPU min/med':>13}")
    for (checkout, command), values in walls.items():
        print(f"{Path(checkout).name:<24} {command:<20} {spread(values)} {spread(cpus[(checkout, command)])}")
    print(f"(load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
