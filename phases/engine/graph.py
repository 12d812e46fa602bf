"""The DAG of phases as text for a terminal, Mermaid, Graphviz DOT, or (through
Graphviz's `dot`, when installed) SVG and PNG; each phase coloured by its status."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping

import click

from phases.core.dag import Pipeline
from phases.core.errors import ConfigError

FORMATS = ("text", "mermaid", "dot", "svg", "png")

# state -> (fill colour, border colour, terminal colour, symbol)
STYLE = {
    "done": ("#c8e6c9", "#2e7d32", "green", "●"),
    "will run": ("#ffe0b2", "#ef6c00", "yellow", "◐"),
    "failed": ("#ffcdd2", "#c62828", "red", "✗"),
    "never run": ("#eceff1", "#607d8b", "white", "○"),
    "ignored": ("#e1bee7", "#6a1b9a", "magenta", "!"),
    "disabled": ("#ffffff", "#9e9e9e", "bright_black", "·"),
}


class GraphvizMissing(ConfigError):
    """SVG or PNG was asked for, but Graphviz's `dot` is not on PATH."""


def edges(pipeline: Pipeline) -> list[tuple[str, str]]:
    """(upstream, downstream) for every phase that reads another's artifact."""
    return [(up.name, spec.name) for spec in pipeline.phases for up in pipeline.upstream(spec)]


def layers(pipeline: Pipeline) -> list[list[str]]:
    """Phases by depth: a phase sits one layer below its deepest upstream."""
    depth: dict[str, int] = {}
    for spec in pipeline.phases:  # already in topological order
        depth[spec.name] = 1 + max((depth[up.name] for up in pipeline.upstream(spec)), default=-1)
    found: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for spec in pipeline.phases:
        found[depth[spec.name]].append(spec.name)
    return found


def _state(pipeline: Pipeline, states: Mapping[str, str], name: str) -> str:
    if not pipeline.phase(name).enabled:
        return "disabled"
    return states.get(name, "never run")


def render_text(pipeline: Pipeline, states: Mapping[str, str], color: bool = False) -> str:
    width = max((len(spec.name) for spec in pipeline.phases), default=0)
    legend = "  ".join(f"{STYLE[s][3]} {s}" for s in STYLE)
    lines = [legend, ""]
    for number, layer in enumerate(layers(pipeline), start=1):
        for position, name in enumerate(layer):
            state = _state(pipeline, states, name)
            ups = ", ".join(up.name for up in pipeline.upstream(pipeline.phase(name)))
            head = f"{number:>2}  " if position == 0 else "    "
            cell = f"{STYLE[state][3]} {name:<{width}}  {state:<9}"
            if color:
                cell = click.style(cell, fg=STYLE[state][2], dim=state == "disabled")
            lines.append(f"{head}{cell}" + (f"  <- {ups}" if ups else ""))
    return "\n".join(lines) + "\n"


def render_mermaid(pipeline: Pipeline, states: Mapping[str, str]) -> str:
    lines = ["flowchart LR"]
    for spec in pipeline.phases:
        state = _state(pipeline, states, spec.name)
        lines.append(f'    {_id(spec.name)}["{spec.name}<br/>{state}"]:::{_node(state)}')
    lines += [f"    {_id(a)} --> {_id(b)}" for a, b in edges(pipeline)]
    for state, (fill, stroke, _, _) in STYLE.items():
        dash = ",stroke-dasharray: 4 4" if state == "disabled" else ""
        lines.append(f"    classDef {_node(state)} fill:{fill},stroke:{stroke}{dash}")
    return "\n".join(lines) + "\n"


def render_dot(pipeline: Pipeline, states: Mapping[str, str]) -> str:
    lines = ["digraph pipeline {", "    rankdir=LR;",
             '    node [shape=box, style="rounded,filled", fontname="Helvetica"];']
    for spec in pipeline.phases:
        state = _state(pipeline, states, spec.name)
        fill, stroke, _, _ = STYLE[state]
        style = ', style="rounded,filled,dashed"' if state == "disabled" else ""
        lines.append(f'    "{spec.name}" [label="{spec.name}\\n{state}", fillcolor="{fill}", color="{stroke}"{style}];')
    lines += [f'    "{a}" -> "{b}";' for a, b in edges(pipeline)]
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_image(dot_text: str, fmt: str) -> bytes:
    """SVG or PNG from DOT text through Graphviz's `dot`."""
    dot = shutil.which("dot")
    if dot is None:
        raise GraphvizMissing(
            f"--format {fmt} needs Graphviz's `dot`, which is not installed (e.g. `apt install graphviz`); "
            "--format mermaid or dot need nothing"
        )
    done = subprocess.run([dot, f"-T{fmt}"], input=dot_text.encode(), capture_output=True, timeout=60)
    if done.returncode != 0:
        raise ConfigError(f"dot -T{fmt} failed: {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def render(pipeline: Pipeline, states: Mapping[str, str], fmt: str, color: bool = False) -> str | bytes:
    if fmt == "text":
        return render_text(pipeline, states, color)
    if fmt == "mermaid":
        return render_mermaid(pipeline, states)
    if fmt == "dot":
        return render_dot(pipeline, states)
    if fmt in ("svg", "png"):
        return render_image(render_dot(pipeline, states), fmt)
    raise ConfigError(f"unknown graph format {fmt!r}; use one of {', '.join(FORMATS)}")


def _id(phase: str) -> str:
    """Mermaid node ids get a prefix: a phase may be called 'end', a Mermaid keyword."""
    return f"p_{_node(phase)}"


def _node(name: str) -> str:
    """Mermaid ids and class names: letters, digits and '_' only."""
    return "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in name)
