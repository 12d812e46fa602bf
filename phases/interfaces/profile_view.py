"""How `dataraum profile` draws a column (its counts, a histogram or its top values as bars, its
readiness and findings) and a table (one row per column, with a sparkline or the top value), in
80 columns."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.text import Text

from phases.artifacts.column_profiles import ColumnProfile
from phases.interfaces.profiles import ColumnProfileView, TableProfileView
from phases.interfaces.terminal import table

BLOCKS = " ▏▎▍▌▋▊▉█"
SPARKS = "▁▂▃▄▅▆▇█"
READINESS_STYLE = {"ready": "green", "investigate": "yellow", "blocked": "red"}
BAR_WIDTH = 30
TOP_VALUES = 10


def number(value: float | int | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, int) or float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:,.4g}" if abs(value) < 1e6 else f"{value:.3e}"


def bar(count: int, most: int, width: int = BAR_WIDTH) -> str:
    """A horizontal bar of `count` against `most`, in eighths of a character."""
    eighths = round(width * 8 * count / most) if most else 0
    full, part = divmod(eighths, 8)
    return ("█" * full + (BLOCKS[part] if part else "")).ljust(width)


def sparkline(counts: Sequence[int]) -> str:
    most = max(counts, default=0)
    if not most:
        return ""
    return "".join(SPARKS[min(len(SPARKS) - 1, int(c * (len(SPARKS) - 1) / most + 0.999))] if c else " "
                   for c in counts)


def share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _facts(p: ColumnProfile) -> list[str]:
    facts = [f"type {p.type}" + (f" ({p.unit})" if p.unit else ""), f"{number(p.rows)} rows",
             f"nulls {number(p.null_count)} ({share(p.null_count, p.rows)})",
             f"distinct {number(p.distinct_count)} ({share(p.distinct_count, p.rows)})"]
    if p.unique:
        facts.append("unique")
    if p.numeric:
        n = p.numeric
        facts += [f"min {number(n.min)}", f"median {number(n.quantiles.get('p50'))}", f"max {number(n.max)}",
                  f"mean {number(n.mean)}"]
    if p.temporal:
        facts.append(f"from {p.temporal.min} to {p.temporal.max}")
    if p.text:
        facts.append(f"length {p.text.min_length}..{p.text.max_length}")
    return facts


def _distribution(p: ColumnProfile) -> list[RenderableType]:
    if p.numeric and p.numeric.histogram:
        buckets = p.numeric.histogram
        most = max(b.count for b in buckets)
        rows: list[list[str | Text]] = [
            [f"{number(b.lower)} ..", number(b.upper), Text(bar(b.count, most), style="cyan"), number(b.count)]
            for b in buckets]
        return [Text(f"\nhistogram ({len(buckets)} buckets of equal width)", style="bold"),
                table(["from", "to", "", "rows"], rows, right=[0, 1, 3], header=False)]
    if p.top_values:
        most = max(v.count for v in p.top_values)
        shown = p.top_values[:TOP_VALUES]
        tops: list[list[str | Text]] = [
            [str(v.value), Text(bar(v.count, most, 24), style="cyan"), number(v.count), f"{100 * v.share:.1f}%"]
            for v in shown]
        more = p.distinct_count - len(shown)
        title = f"\ntop values (of {number(p.non_null_count)} non-null" + (f"; {number(more)} more values)" if more > 0
                                                                          else ")")
        return [Text(title, style="bold"), table(["value", "", "rows", "share"], tops, right=[2, 3], header=False)]
    return []


def _readiness(view: ColumnProfileView) -> list[RenderableType]:
    if view.readiness is None:
        return [Text("\nreadiness: not scored yet (the entropy phase has not run for this source)", style="dim")]
    parts: list[RenderableType] = [Text.assemble(
        "\nreadiness: ", (view.readiness, READINESS_STYLE.get(view.readiness, "")),
        f" (entropy {view.score:.2f}; 0 is certain, 1 gives wrong answers)")]
    parts += [Padding(Text(reason), (0, 0, 0, 2)) for reason in view.reasons]  # wrapped lines indented too
    if view.findings:
        rows = [[f"{o.score:.2f}", o.dimension, o.summary] for o in view.findings]
        parts += [Text("\nfindings", style="bold"), table(["score", "dimension", "finding"], rows, fold=[2])]
    return parts


def column_report(view: ColumnProfileView) -> RenderableType:
    title = Text.assemble((f"{view.table}.{view.column}", "bold"), f"  (source {view.source})")
    return Group(title, Text(" · ".join(_facts(view.profile))), *_distribution(view.profile), *_readiness(view))


def _shape(p: ColumnProfile) -> str:
    """The column in a few characters: a sparkline of its histogram, its range of dates, or its
    most common value with its share (a column of distinct values says so instead)."""
    if p.numeric and p.numeric.histogram:
        return sparkline([b.count for b in p.numeric.histogram])
    if p.temporal:
        return f"{p.temporal.min[:10]}..{p.temporal.max[:10]}"
    if p.unique:
        return "all distinct"
    if p.top_values:
        top = p.top_values[0]
        return f"{top.value} {100 * top.share:.0f}%"
    return ""


def table_report(view: TableProfileView) -> RenderableType:
    rows: list[list[str | Text]] = []
    for c in view.columns:
        p = c.profile
        readiness = (Text(f"{c.score:.2f} {c.readiness}", style=READINESS_STYLE.get(c.readiness, ""))
                     if c.readiness is not None and c.score is not None else Text("-"))
        rows.append([c.column, p.type, share(p.null_count, p.rows), number(p.distinct_count), _shape(p), readiness])
    title = Text.assemble((view.table, "bold"), f"  (source {view.source}, {number(view.rows)} rows, "
                                                f"{len(view.columns)} columns)")
    hint = Text(f"dataraum profile {view.table}.COLUMN shows one column"
                + ("" if view.scored else "; readiness comes with the entropy phase"), style="dim")
    return Group(title, table(["column", "type", "nulls", "distinct", "values", "readiness"], rows,
                              right=[2, 3]), hint)
