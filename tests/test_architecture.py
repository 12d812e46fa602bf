"""The layers of the package, enforced: what each sub-package may import, no import circles,
and phase fingerprints that follow the artifact contract instead of other phases' code."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

from phases.core.dag import load_pipeline
from phases.engine.code_digest import code_closure

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "phases"
GROUPS = ("ingest", "profile", "structure", "meaning", "domain", "entropy", "metrics")
# What each sub-package may import besides itself (third-party and the standard library aside).
ALLOWED = {
    "core": set(),
    "artifacts": {"core"},
    "shared": {"core", "artifacts"},
    **{group: {"core", "artifacts", "shared"} for group in GROUPS},
    "engine": {"core", "artifacts"},
    "interfaces": {"core", "artifacts", "engine"},
}


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports_of(path: Path, known: set[str]) -> set[str]:
    """Every project module a file imports, anywhere in it (functions and TYPE_CHECKING blocks too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("phases")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("phases"):
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in known else node.module)
    return found


def layer(module: str) -> str:
    """The sub-package of `phases` a module belongs to; 'package' for phases/__init__ and __main__."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in ALLOWED) else "package"


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(path, set(found)) - {name} for name, path in found.items()}


def test_every_module_lives_in_a_known_layer(graph):
    strays = sorted(m for m in graph if layer(m) not in ALLOWED and m not in ("phases", "phases.__main__"))
    assert strays == []


def test_each_layer_imports_only_the_layers_below_it(graph):
    breaches = sorted(
        f"{module} imports {imported}"
        for module, imported_set in graph.items() if layer(module) in ALLOWED
        for imported in imported_set
        if layer(imported) != layer(module) and layer(imported) not in ALLOWED[layer(module)]
    )
    assert breaches == []


def test_no_modules_import_each_other_in_a_circle(graph):
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert circles == []


PIPELINE = load_pipeline(REPO / "config" / "pipeline.yaml", check_functions=False)


@pytest.mark.parametrize("spec", PIPELINE.phases, ids=lambda s: s.name)
def test_a_phase_lives_in_a_group_and_its_fingerprint_holds_no_other_phase(spec):
    assert layer(spec.module) in GROUPS
    others = {p.module for p in PIPELINE.phases if p.module != spec.module}
    assert sorted(code_closure(spec.module) & others) == []


def test_a_record_is_in_the_fingerprint_of_exactly_the_phases_that_read_or_write_it():
    readers = defaultdict(set)
    for spec in PIPELINE.phases:
        for module in code_closure(spec.module):
            if module.startswith("phases.artifacts."):
                readers[module].add(spec.name)
    # the relationships record: its producer and the phases that declare it as an input
    declared = {s.name for s in PIPELINE.phases if "relationships" in s.inputs or "relationships" in s.outputs}
    assert readers["phases.artifacts.relationships"] == declared
    # the context phase writes the documents; the entropy phase too, for a pipeline.yaml from before the context phase
    assert readers["phases.artifacts.context_document"] == {"context", "entropy"}
