"""Tiny phases for testing the orchestration itself: fast, with knobs to be slow
or to die the way an out-of-memory kill does."""

import os
import signal
import time

from phases.core.context import PhaseOutput, SourceContext, TableContext, TaskContext


def _knobs(ctx: TaskContext) -> None:
    # Environment knobs, not settings: they must not change a task's signature.
    # DEMO_SLEEP="double=30" sleeps in that phase; DEMO_DIE="double" SIGKILLs it;
    # DEMO_FAIL="double" makes it raise as a bug would.
    sleeps = dict(item.split("=") for item in os.environ.get("DEMO_SLEEP", "").split(",") if item)
    time.sleep(float(sleeps.get(ctx.spec.name, 0)))
    if ctx.spec.name in os.environ.get("DEMO_DIE", "").split(","):
        os.kill(os.getpid(), signal.SIGKILL)
    if ctx.spec.name in os.environ.get("DEMO_FAIL", "").split(","):
        raise ValueError(f"a bug in {ctx.spec.name}")


def count_lines(ctx: TableContext) -> PhaseOutput:
    """Per table: the number of data lines of the CSV file."""
    _knobs(ctx)
    lines = ctx.table.path.read_text(encoding="utf-8").splitlines()
    if "count" in os.environ.get("DEMO_APPEND", "").split(","):  # a writer adds rows meanwhile
        with ctx.table.path.open("a", encoding="utf-8") as handle:
            handle.write("8,appended\n")
    ctx.output_path("line_count").write_text(f"{len(lines) - 1}\n")
    return PhaseOutput(summary={"lines": len(lines) - 1})


def double(ctx: TableContext) -> PhaseOutput:
    """Per table: twice the count (depends only on the count, not on the CSV bytes)."""
    _knobs(ctx)
    count = int(ctx.path("line_count").read_text())
    ctx.output_path("doubled").write_text(f"{2 * count}\n")
    return PhaseOutput()


def total(ctx: SourceContext) -> PhaseOutput:
    """Per source: the sum over tables."""
    _knobs(ctx)
    paths = ctx.paths("doubled")
    value = sum(int(p.read_text()) for p in paths.values())
    ctx.output_path("grand_total").write_text(f"{value}\n")
    return PhaseOutput(summary={"tables": sorted(paths)})
