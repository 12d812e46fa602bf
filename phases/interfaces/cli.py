"""The `dataraum` command line (also `python -m phases`). Each command parses its
options, calls one function of phases.interfaces.api and prints the result; errors are one
line and map to exit codes in one place (`DataraumGroup.invoke`): 0 success,
1 a phase failed, 2 a usage or configuration error."""

from __future__ import annotations

import json
import shutil
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import click

from phases.core.errors import DataraumError
from phases.engine.graph import FORMATS, STYLE
from phases.engine.status import Cell, PipelineStatus, TaskStatus
from phases.interfaces import api

STATE_COLOURS = {state: style[2] for state, style in STYLE.items()}


@dataclass(frozen=True)
class Options:
    root: Path | None
    debug: bool


class DataraumGroup(click.Group):
    """Maps every error to one line and an exit code; --debug shows the traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DataraumError as exc:
            self._fail(ctx, str(exc), exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:  # a bug: one line unless --debug
            self._fail(ctx, f"unexpected {type(exc).__name__}: {exc} (rerun with --debug for the traceback)", 1)

    @staticmethod
    def _fail(ctx: click.Context, message: str, code: int) -> None:
        if isinstance(ctx.obj, Options) and ctx.obj.debug:
            raise
        click.echo(f"error: {message}", err=True)
        ctx.exit(code)


@click.group(cls=DataraumGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--root", type=click.Path(file_okay=False, path_type=Path),
              help="Project root (the folder holding dodo.py and config/). Default: found from the current folder up.")
@click.option("--debug", is_flag=True, help="Show tracebacks and the full output of failed tasks.")
@click.pass_context
def cli(ctx: click.Context, root: Path | None, debug: bool) -> None:
    """Run the dataraum pipeline and look at its state: the doit tasks of
    config/pipeline.yaml, with an honest status, history and the context.

    doit's own commands (doit -n 4, doit list --status, doit forget) work on
    the same tasks.

    \b
    Examples:
      dataraum run -j 4                  run everything that is not up to date
      dataraum status                    what will run, and why
      dataraum run ~/exports/sales       profile a folder of CSV files
    """
    ctx.obj = Options(root, debug)


def _options(ctx: click.Context) -> Options:
    return ctx.find_object(Options) or Options(None, False)


# ---------------------------------------------------------------- run and its views


def _fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s"


class PlainLines:
    """One line per task event: what a pipe or a log file gets."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def __call__(self, event: api.TaskEvent) -> None:
        line = {
            "plan": lambda: f"plan      {len(event.tasks)} tasks",
            "start": lambda: f"start     {event.task}",
            "success": lambda: f"done      {event.task}  {_fmt_duration(event.duration_s)}",
            "uptodate": lambda: f"skip      {event.task}  up to date",
            "ignored": lambda: f"skip      {event.task}  ignored",
            "failure": lambda: f"FAILED    {event.task}  {_fmt_duration(event.duration_s)}  {event.error}",
            "blocked": lambda: f"blocked   {event.task}  {event.error}",
            "not_run": lambda: f"not run   {event.task}",
        }.get(event.kind)
        if line:
            self.out.write(line() + "\n")
            self.out.flush()

    def close(self) -> None:
        pass


class LiveView:
    """A table of the tasks redrawn in place: waiting, running (with elapsed time),
    done (with duration), up to date, failed (with the error's first line)."""

    SYMBOLS = {"waiting": "·", "running": "▶", "done": "✓", "up to date": "-", "failed": "✗",
               "blocked": "⊘", "not run": "·", "ignored": "!"}
    COLOURS = {"running": "cyan", "done": "green", "failed": "red", "blocked": "red", "up to date": "bright_black"}
    KINDS = {"success": "done", "uptodate": "up to date", "failure": "failed", "blocked": "blocked",
             "not_run": "not run", "ignored": "ignored"}

    def __init__(self, out: IO[str], jobs: int) -> None:
        self.out = out
        self.jobs = jobs
        self.plan: list[str] = []
        self.state: dict[str, tuple[str, float | None, float | None, str | None]] = {}
        self.finished: list[str] = []  # in the order they finished
        self.began = time.time()
        self.drawn = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.ticker: threading.Thread | None = None

    def __call__(self, event: api.TaskEvent) -> None:
        with self.lock:
            if event.kind == "plan":
                self.plan = list(event.tasks)
                self.state = {name: ("waiting", None, None, None) for name in self.plan}
            elif event.task is None:  # only 'plan' and 'finish' are about no task
                pass
            elif event.kind == "start":
                self.state[event.task] = ("running", event.at, None, None)
            elif event.kind in self.KINDS:
                self.state[event.task] = (self.KINDS[event.kind], None, event.duration_s, event.error)
                self.finished.append(event.task)
            self._draw()
        if event.kind == "start" and self.ticker is None:
            # started once the run is under way: doit has forked its workers by then
            self.ticker = threading.Thread(target=self._tick, daemon=True)
            self.ticker.start()

    def _tick(self) -> None:
        while not self.stop.wait(0.25):
            with self.lock:
                self._draw()

    def _line(self, name: str, width: int) -> str:
        state, started, duration, error = self.state[name]
        if state == "running" and started is not None:
            detail = f"running {_fmt_duration(time.time() - started)}"
        elif state == "done":
            detail = _fmt_duration(duration)
        elif state == "failed":
            detail = f"failed {_fmt_duration(duration)}: {error}"
        elif state == "blocked":
            detail = error or "blocked"
        else:
            detail = state
        text = f"  {self.SYMBOLS[state]} {name:<{width}}  {detail}"
        return text

    def _lines(self) -> list[str]:
        columns, rows = shutil.get_terminal_size((100, 30))
        counts: dict[str, int] = {}
        for state, *_ in self.state.values():
            counts[state] = counts.get(state, 0) + 1
        summary = "  ".join(f"{n} {state}" for state, n in counts.items())
        header = f"dataraum run  {len(self.plan)} tasks  -j {self.jobs}  {_fmt_duration(time.time() - self.began)}"
        width = max((len(n) for n in self.plan), default=0)
        names = self.plan
        room = max(rows - 3, 5)
        hidden = ""
        if len(names) > room:  # what matters: running, failed, the latest finished, then what comes next
            def having(*states: str) -> list[str]:
                return [n for n in self.plan if self.state[n][0] in states]

            ranked = having("running") + having("failed", "blocked") + self.finished[-3:] + having("waiting")
            keep = set(list(dict.fromkeys(ranked))[:room])
            names = [n for n in self.plan if n in keep]
            hidden = f"  ... {len(self.plan) - len(names)} more not shown"
        lines = [f"{header}  ({summary})"]
        for name in names:
            state = self.state[name][0]
            text = self._line(name, width)[:columns - 1]
            lines.append(click.style(text, fg=self.COLOURS.get(state)) if state in self.COLOURS else text)
        if hidden:
            lines.append(hidden)
        return lines

    def _draw(self) -> None:
        lines = self._lines()
        up = f"\x1b[{self.drawn}F" if self.drawn else ""
        body = "".join(f"\x1b[2K{line}\n" for line in lines)
        self.out.write(f"{up}{body}\x1b[J")
        self.out.flush()
        self.drawn = len(lines)

    def close(self) -> None:
        self.stop.set()
        if self.ticker is not None:
            self.ticker.join()
        with self.lock:
            if self.plan:
                self._draw()


def _show_path(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _summary(result: api.RunResult, debug: bool) -> list[str]:
    lines = [
        f"ran {result.count('ran')}, up to date {result.count('up-to-date')}, "
        f"failed {result.count('failed')}"
        + (f", not run {result.count('blocked', 'not-run')}" if result.count("blocked", "not-run") else "")
        + f" in {_fmt_duration(result.wall_s)}"
    ]
    for task in result.failed:
        lines.append(f"failed: {task.task}: {task.error}")
        if debug and task.stderr.strip():
            lines.append(task.stderr.rstrip())
    blocked = [t.task for t in result.tasks if t.outcome == "blocked"]
    if blocked:
        lines.append(f"not run because an upstream task failed: {', '.join(blocked)}")
    stopped = [t.task for t in result.tasks if t.outcome == "not-run"]
    if stopped:
        lines.append(f"not started after the first failure ({len(stopped)} task(s); --continue runs independent work)")
    lines += [f"doit: {error}" for error in result.errors]
    for where in result.contexts:
        shown = _show_path(where.path)
        if where.exists:
            lines.append(f"context of {where.source}: {shown}")
        else:
            why = "" if where.phase_enabled else f"; the {where.phase} phase is disabled in config/pipeline.yaml"
            lines.append(f"context of {where.source}: not produced yet ({shown} is missing{why})")
    return lines


@cli.command()
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@click.option("--source", "-s", "sources", multiple=True,
              help="A source of config/sources.yaml (repeatable). Default: all.")
@click.option("--phase", "-p", "phases", multiple=True,
              help="Run this phase and what it needs (repeatable). Default: every enabled phase.")
@click.option("--table", "-t", "tables", multiple=True, help="Only the per-table tasks of this table (repeatable).")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=api.DEFAULT_PARALLEL, show_default=True,
              help="Tasks at a time (doit's -n).")
@click.option("--continue", "keep_going", is_flag=True,
              help="Keep independent work going after a failure (default: stop at the first).")
@click.option("--force", is_flag=True, help="Rerun the asked tasks even if they are up to date.")
@click.option("--events", type=click.Path(dir_okay=False, path_type=Path),
              help="Write one JSON object per task event to this file.")
@click.option("--plain", is_flag=True, help="Plain lines even on a terminal.")
@click.pass_context
def run(ctx: click.Context, path: Path | None, sources: tuple[str, ...], phases: tuple[str, ...],
        tables: tuple[str, ...], jobs: int, keep_going: bool, force: bool, events: Path | None, plain: bool) -> None:
    """Run the asked phases for the asked sources, and everything they need.

    With PATH, profile a folder of CSV files that is not in config/sources.yaml:
    it becomes a source named after the folder (kept in state/added_sources.yaml).

    \b
    Examples:
      dataraum run -j 4
      dataraum run --source finance_example --phase typing
      dataraum run --phase import --force --events events.jsonl
      dataraum run ~/exports/sales_2024
    """
    options = _options(ctx)
    if path is not None:
        if sources:
            raise click.UsageError("give either PATH or --source, not both")
        sources = (api.add_source(path, root=options.root),)
    out = sys.stdout
    view = LiveView(out, jobs) if out.isatty() and not plain else PlainLines(out)
    sink = events.open("w", encoding="utf-8") if events else None

    def on_event(event: api.TaskEvent) -> None:
        view(event)
        if sink is not None:
            sink.write(json.dumps(event.to_json()) + "\n")
            sink.flush()

    try:
        result = api.run_pipeline(
            sources or None, tables or None, phases or None, skip_completed=not force, max_parallel=jobs,
            fail_fast=not keep_going, root=options.root, on_event=on_event,
        )
    finally:
        view.close()
        if sink is not None:
            sink.close()
    for line in _summary(result, options.debug):
        click.echo(line)
    ctx.exit(result.exit_code)


# ---------------------------------------------------------------- status


def _styled(text: str, state: str, width: int) -> str:
    return click.style(text, fg=STATE_COLOURS.get(state)) + " " * (width - len(text))


def _grid(status: PipelineStatus, by_table: bool) -> list[str]:
    """Phases across, one row per source (or, with by_table, the source's own row for
    per-source phases, then one row per table)."""
    rows: dict[str, dict[str, Cell]] = {}
    for cell in sorted(status.cells(by_table), key=lambda c: (status.sources.index(c.source), c.table is not None)):
        name = f"{cell.source}.{cell.table}" if cell.table else cell.source
        rows.setdefault(name, {})[cell.phase] = cell
    first = max([len("source")] + [len(r) for r in rows])
    widths = {p: max([len(p)] + [len(r[p].label) for r in rows.values() if p in r]) for p in status.phases}
    lines = ["  ".join([f"{'source':<{first}}", *(f"{p:<{widths[p]}}" for p in status.phases)]).rstrip()]
    for name, row in rows.items():
        parts = [f"{name:<{first}}"]
        for phase in status.phases:
            found = row.get(phase)
            parts.append(_styled(found.label, found.state, widths[phase]) if found else " " * widths[phase])
        lines.append("  ".join(parts).rstrip())
    return lines


def _reasons(task: TaskStatus, shown: int = 3) -> str:
    """The task's reasons in one line, its upstream tasks folded into one reason."""
    texts = [str(r) for r in task.reasons if r.kind != "upstream"]
    upstream = [r.detail for r in task.reasons if r.kind == "upstream"]
    if upstream:
        more = f" and {len(upstream) - shown} more" if len(upstream) > shown else ""
        texts.append(f"upstream {', '.join(upstream[:shown])}{more} will run")
    return "; ".join(texts)


def _why(status: PipelineStatus) -> list[str]:
    pending = [t for t in status.tasks if t.state != "done"]
    never = [t for t in pending if [r.kind for r in t.reasons] == ["never_run"]]
    listed = [t for t in pending if t not in never]
    lines = []
    width = max((len(t.task) for t in listed), default=0)
    if listed:
        lines += ["", "Why:"]
        for task in listed:
            mark = "" if task.certain else " *"
            lines.append(f"  {task.task:<{width}}  {_reasons(task)}{mark}")
    if never:
        names = f": {', '.join(t.task for t in never)}" if len(never) <= 6 else ""
        lines.append(f"never run: {len(never)} task(s){names}")
    if any(not t.certain for t in listed):
        lines.append("* runs only if that upstream task's output changes (doit skips it when the output is identical)")
    return lines


@cli.command()
@click.option("--source", "-s", help="Only this source. Default: all.")
@click.option("--tables", "by_table", is_flag=True, help="One row per table instead of folding tables.")
@click.option("--json", "as_json", is_flag=True, help="Every task with its state and reasons, as JSON.")
@click.pass_context
def status(ctx: click.Context, source: str | None, by_table: bool, as_json: bool) -> None:
    """The grid of phases by source: done, will run, failed or never run, with the
    reason each task will run, propagated downstream (unlike `doit list --status`).

    \b
    Examples:
      dataraum status
      dataraum status --source finance_example --tables
      dataraum status --json | jq '.tasks[] | select(.state != "done")'
    """
    result = api.pipeline_status(source, root=_options(ctx).root)
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
        return
    for line in _grid(result, by_table):
        click.echo(line)
    counts = {s: sum(1 for t in result.tasks if t.state == s) for s in ("done", "will run", "failed", "never run")}
    click.echo(f"\n{len(result.tasks)} tasks: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
    for line in _why(result):
        click.echo(line)


# ---------------------------------------------------------------- reset


@cli.command()
@click.option("--source", "-s", "sources", multiple=True, help="Only this source (repeatable). Default: all.")
@click.option("--phase", "-p", "phases", multiple=True, help="Only this phase (repeatable). Default: all.")
@click.option("--table", "-t", "tables", multiple=True, help="Only this table's tasks (repeatable).")
@click.option("--downstream", is_flag=True, help="Also forget every task after the chosen ones.")
@click.option("--delete-artifacts", is_flag=True, help="Also delete the tasks' folders under state/.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask.")
@click.pass_context
def reset(ctx: click.Context, sources: tuple[str, ...], phases: tuple[str, ...], tables: tuple[str, ...],
          downstream: bool, delete_artifacts: bool, yes: bool) -> None:
    """Forget tasks so that they rerun (doit forget, but following dependencies).

    \b
    Examples:
      dataraum reset --phase typing --downstream
      dataraum reset --source finance_example --delete-artifacts --yes
    """
    options = _options(ctx)

    def forget(dry_run: bool) -> api.ResetResult:
        return api.reset(sources or None, phases or None, tables or None, downstream=downstream,
                         delete_artifacts=delete_artifacts, dry_run=dry_run, root=options.root)

    plan = forget(dry_run=True)
    click.echo(f"Will forget {len(plan.tasks)} task(s):")
    for name in plan.tasks:
        click.echo(f"  {name}")
    for folder in plan.deleted:
        click.echo(f"  delete {folder}")
    if not yes:
        try:
            if not click.confirm("Go ahead?", default=False):
                click.echo("Nothing forgotten.")
                return
        except click.Abort:
            raise click.UsageError("reset needs a confirmation: answer at a terminal or pass --yes") from None
    done = forget(dry_run=False)
    deleted = f", deleted {len(done.deleted)} folder(s)" if done.deleted else ""
    click.echo(f"Forgot {len(done.tasks)} task(s){deleted}")


# ---------------------------------------------------------------- graph

SUFFIX_FORMATS = {".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".mermaid": "mermaid"}


@cli.command()
@click.option("--source", "-s", help="Colour by the status of this source. Default: all sources.")
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS),
              help="text (default), mermaid, dot, or svg/png through Graphviz's dot.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file (the format follows its suffix unless --format is given).")
@click.pass_context
def graph(ctx: click.Context, source: str | None, fmt: str | None, output: Path | None) -> None:
    """The DAG of phases, coloured by status.

    \b
    Examples:
      dataraum graph
      dataraum graph --format mermaid -o pipeline.mmd
      dataraum graph -o pipeline.svg          (needs Graphviz)
    """
    fmt = fmt or (SUFFIX_FORMATS.get(output.suffix.lower(), "text") if output else "text")
    out = sys.stdout
    if fmt == "png" and output is None:
        raise click.UsageError("PNG is binary: give -o FILE")
    result = api.pipeline_graph(source, fmt, color=output is None and out.isatty(), root=_options(ctx).root)
    if output is not None:
        if isinstance(result.content, bytes):
            output.write_bytes(result.content)
        else:
            output.write_text(result.content, encoding="utf-8")
        click.echo(f"wrote {output}")
    else:
        content = result.content.decode() if isinstance(result.content, bytes) else result.content
        click.echo(content, nl=False, color=out.isatty())


# ---------------------------------------------------------------- history, context, entropy


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    return ["  ".join(f"{cell:<{w}}" for cell, w in zip(row, widths, strict=True)).rstrip()
            for row in (headers, *rows)]


@cli.command()
@click.option("--deep", is_flag=True, help="Digest every artifact, not only those whose time changed.")
@click.pass_context
def verify(ctx: click.Context, deep: bool) -> None:
    """Check every task's artifacts against its manifest (a damaged task reruns at the next run).

    \b
    Example:
      dataraum verify --deep
    """
    result = api.verify(deep, root=_options(ctx).root)
    for d in result.damaged:
        click.echo(f"{d.task}: {d.file} ({d.problem})")
    click.echo(f"{result.checked} task(s) checked, {len(result.damaged)} damaged artifact(s)")
    ctx.exit(result.exit_code)


@cli.command()
@click.option("--source", "-s", help="Only this source.")
@click.option("--limit", "-n", type=click.IntRange(min=1), default=20, show_default=True, help="How many runs.")
@click.pass_context
def history(ctx: click.Context, source: str | None, limit: int) -> None:
    """Past task runs, newest first: when, how long, the result and the error.

    \b
    Example:
      dataraum history --source finance_example --limit 50
    """
    result = api.history(source, limit, root=_options(ctx).root)
    if not result.entries:
        click.echo("no task has run yet")
        return
    rows = [
        (e.started_at.astimezone().strftime("%Y-%m-%d %H:%M:%S"), e.task, _fmt_duration(e.duration_s),
         "ok" if e.success else "FAILED", e.error or "")
        for e in result.entries
    ]
    for line in _table(("started", "task", "took", "result", "error"), rows):
        click.echo(line)


@cli.command()
@click.option("--source", "-s", help="The source (needed when the project has several).")
@click.option("--format", "-f", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True)
@click.pass_context
def context(ctx: click.Context, source: str | None, fmt: Literal["md", "json"]) -> None:
    """Print the context document the entropy phase wrote for a source.

    \b
    Example:
      dataraum context --source finance_example --format json > context.json
    """
    document = api.context_document(source, fmt, root=_options(ctx).root)
    click.echo(document.text, nl=not document.text.endswith("\n"))


@cli.command()
@click.option("--source", "-s", help="The source (needed when the project has several).")
@click.option("--table", "-t", help="Only this table.")
@click.option("--limit", "-n", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--compare", is_flag=True, help="Show what changed since the previous distinct entropy output.")
@click.pass_context
def entropy(ctx: click.Context, source: str | None, table: str | None, limit: int, compare: bool) -> None:
    """A readiness table of the most uncertain columns, from the entropy phase.

    \b
    Examples:
      dataraum entropy --source finance_example --table invoices
      dataraum entropy --source finance_example --compare
    """
    if compare:
        _compare(api.entropy_changes(source, root=_options(ctx).root), limit)
        return
    report = api.entropy_readiness(source, table, limit, root=_options(ctx).root)
    if not report.columns:
        click.echo("no column scores" + (f" for table {table!r}" if table else ""))
        return
    rows = [
        (c.table, c.column, f"{c.score:.2f}", c.readiness, "; ".join(c.issues[:2]))
        for c in report.columns
    ]
    for line in _table(("table", "column", "entropy", "readiness", "top issues"), rows):
        click.echo(line)


def _compare(result: api.EntropyComparison, limit: int) -> None:
    if result.snapshots < 2:
        click.echo(f"{result.source}: {result.snapshots} entropy output(s) recorded; nothing to compare yet")
        return
    if not result.changes:
        click.echo(f"{result.source}: no score changed since the previous entropy output")
        return

    def fmt(score: float | None, readiness: str | None) -> str:
        return "-" if score is None else f"{score:.2f} {readiness}"

    rows = [(c.kind, c.target, fmt(c.before, c.readiness_before), fmt(c.after, c.readiness_after))
            for c in result.changes[:limit]]
    for line in _table(("kind", "target", "before", "after"), rows):
        click.echo(line)


# ---------------------------------------------------------------- serve


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Beyond localhost it needs DATARAUM_TOKEN, and every route needs the token.")
@click.option("--port", type=click.IntRange(1, 65535), default=8765, show_default=True)
@click.option("--token-for-reads", is_flag=True, help="Ask for the token on read routes too (always beyond localhost).")
@click.option("--cors-origin", "cors_origins", multiple=True,
              help="Allow a web page of this origin to call the API (repeatable). Default: none.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=api.DEFAULT_PARALLEL, show_default=True,
              help="Tasks at a time for runs started from the dashboard or the API.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, token_for_reads: bool, cors_origins: tuple[str, ...],
          jobs: int) -> None:
    """Serve the dashboard and the HTTP API (routes under /api, documented at /docs).

    Every POST (start a run, reset) needs the bearer token printed at start, or
    the one in DATARAUM_TOKEN.

    \b
    Examples:
      dataraum serve                       http://127.0.0.1:8765/
      DATARAUM_TOKEN=... dataraum serve --host 0.0.0.0 --port 80
    """
    from phases.interfaces import server

    settings = server.server_settings(host, port, token_for_reads, cors_origins, jobs)
    root = api.find_root(_options(ctx).root)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"dataraum: serving {root} at http://{shown}:{port}/ (API docs at /docs; Ctrl-C stops)")
    if settings.token_generated:
        click.echo(f"token for runs and resets (set DATARAUM_TOKEN to choose one): {settings.token}")
    else:
        click.echo("token: the one in DATARAUM_TOKEN")
    sys.stdout.flush()
    server.serve(settings, root)


def main(argv: Sequence[str] | None = None) -> None:
    cli.main(args=list(argv) if argv is not None else sys.argv[1:], prog_name="dataraum")


if __name__ == "__main__":
    main()
