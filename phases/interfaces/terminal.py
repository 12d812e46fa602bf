"""What the command line draws, through `rich`: tables that fit the terminal (80 columns when
the output is not a terminal, so a log reads the same), the status grid, and plain lines with
no trailing blanks and no colour in a pipe. Names and messages are data: rich's markup is off,
so a '[' in a column name is printed as it is."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from phases.engine.graph import STYLE
from phases.engine.status import Cell, PipelineStatus, TaskStatus

STATE_COLOURS = {state: style[2] for state, style in STYLE.items()}
SYMBOLS = {"done": "✓", "will run": "●", "failed": "✗", "never run": "·", "ignored": "!"}


def console(err: bool = False) -> Console:
    """A console on the current stdout (or stderr): looked up at each call, so click's test runner
    and redirections are honoured."""
    return Console(file=sys.stderr if err else sys.stdout, markup=False, highlight=False, emoji=False)


def show(out: Console, *items: RenderableType | str) -> None:
    """Print; in a pipe without the blanks rich pads table rows with, line by line."""
    for item in items:
        if out.is_terminal:
            out.print(item)
            continue
        with out.capture() as captured:
            out.print(item)
        for line in captured.get().splitlines():
            out.file.write(line.rstrip() + "\n")
    out.file.flush()


def table(headers: Sequence[str], rows: Sequence[Sequence[str | Text]], *, fold: Sequence[int] = (),
          right: Sequence[int] = (), header: bool = True) -> Table:
    """Columns separated by two blanks, no borders; the `fold` columns wrap within the width."""
    grid = Table(box=None, show_edge=False, pad_edge=False, padding=(0, 1), header_style="bold", expand=False,
                 show_header=header)
    for index, title in enumerate(headers):
        grid.add_column(title, overflow="fold" if index in fold else "ellipsis", no_wrap=index not in fold,
                        justify="right" if index in right else "left")
    for row in rows:
        grid.add_row(*row)
    return grid


def pairs_of(pairs: Sequence[tuple[str | Text, str | Text]], width: int, indent: int = 0) -> RenderableType:
    """Names and what is said about them: side by side when the names leave room for the text,
    else each name on its line and the text below it, indented (long task names, 80 columns)."""
    longest = max((len(str(name)) for name, _ in pairs), default=0)
    if indent + longest + 2 <= width // 2:
        return Padding(table(["name", "text"], [list(p) for p in pairs], fold=[1], header=False), (0, 0, 0, indent))
    lines: list[RenderableType] = []
    for name, text in pairs:
        lines += [Padding(name, (0, 0, 0, indent)), Padding(text, (0, 0, 0, indent + 4))]
    return Group(*lines)


def styled(text: str, state: str) -> Text:
    return Text(text, style=STATE_COLOURS.get(state) or "")


# ---------------------------------------------------------------- the status grid


def _rows(status: PipelineStatus, by_table: bool) -> dict[str, dict[str, Cell]]:
    rows: dict[str, dict[str, Cell]] = {}
    for cell in sorted(status.cells(by_table), key=lambda c: (status.sources.index(c.source), c.table is not None)):
        name = f"{cell.source}.{cell.table}" if cell.table else cell.source
        rows.setdefault(name, {})[cell.phase] = cell
    return rows


def _width(columns: Sequence[Sequence[str]]) -> int:
    """The width of a two-blank separated grid of these columns (each: header, then cells)."""
    return sum(max(len(x) for x in column) for column in columns) + 2 * (len(columns) - 1)


def status_grid(status: PipelineStatus, by_table: bool, width: int) -> list[RenderableType]:
    """Phases across and one row per source (or per table): when that fits `width`. Otherwise
    the default grid turns (a row per phase, a column per source) and the table grid shows one
    symbol per task under numbered phases, with the legend below."""
    rows = _rows(status, by_table)
    across = [["source", *rows]] + [[p, *(r[p].label for r in rows.values() if p in r)] for p in status.phases]
    if _width(across) <= width:
        body = [[Text(name)] + [styled(r[p].label, r[p].state) if p in r else Text("") for p in status.phases]
                for name, r in rows.items()]
        return [table(["source", *status.phases], body)]
    if not by_table:
        body = [[Text(p)] + [styled(rows[s][p].label, rows[s][p].state) if p in rows[s] else Text("")
                             for s in rows] for p in status.phases]
        return [table(["phase", *rows], body, fold=range(1, len(rows) + 1))]
    numbers = [str(i) for i in range(1, len(status.phases) + 1)]
    body = [[Text(name)] + [styled(SYMBOLS[r[p].state], r[p].state) if p in r else Text("") for p in status.phases]
            for name, r in rows.items()]
    legend = Text("  ".join(f"{n} {p}" for n, p in zip(numbers, status.phases, strict=True)))
    states = Text("  ".join(f"{symbol} {state}" for state, symbol in SYMBOLS.items()))
    return [table(["table", *numbers], body), legend, states]


def _reasons(task: TaskStatus, shown: int = 3) -> str:
    """The task's reasons in one line, its upstream tasks folded into one reason."""
    texts = [str(r) for r in task.reasons if r.kind != "upstream"]
    upstream = [r.detail for r in task.reasons if r.kind == "upstream"]
    if upstream:
        more = f" and {len(upstream) - shown} more" if len(upstream) > shown else ""
        texts.append(f"upstream {', '.join(upstream[:shown])}{more} will run")
    return "; ".join(texts)


def status_report(status: PipelineStatus, by_table: bool, width: int) -> list[RenderableType]:
    """The grid, the counts, the sources skipped and why each pending task will run."""
    parts: list[RenderableType] = status_grid(status, by_table, width)
    counts = {s: sum(1 for t in status.tasks if t.state == s) for s in ("done", "will run", "failed", "never run")}
    parts.append(Text(f"\n{len(status.tasks)} tasks: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n)))
    for name, problem in status.skipped.items():
        parts.append(styled(f"skipped source {name}: {problem}", "failed"))
    pending = [t for t in status.tasks if t.state != "done"]
    never = [t for t in pending if [r.kind for r in t.reasons] == ["never_run"]]
    listed = [t for t in pending if t not in never]
    if listed:
        parts.append(Text("\nWhy:"))
        pairs = [(t.task, _reasons(t) + ("" if t.certain else " *")) for t in listed]
        parts.append(pairs_of(pairs, width, indent=2))
    if never:
        names = f": {', '.join(t.task for t in never)}" if len(never) <= 6 else ""
        parts.append(Text(f"never run: {len(never)} task(s){names}"))
    if any(not t.certain for t in listed):
        parts.append(Text("* runs only if that upstream task's output changes (doit skips it when the output is "
                          "identical)"))
    return parts
