"""The pipeline DAG from config/pipeline.yaml: phases, the artifacts they read and
write, and their scope. Validated on load so that every mistake is one clear
message naming the phase and the field, before any task is generated."""

from __future__ import annotations

import functools
import importlib.util
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import field_validator

from phases.core.config import SAFE_NAME, Model, parse_model, read_yaml
from phases.core.errors import ConfigError
from phases.core.records import ArtifactKind, ArtifactSpec

Scope = Literal["table", "source"]
CONTEXT_OF_SCOPE = {"table": "TableContext", "source": "SourceContext"}  # what a phase function receives
SAFE_FILE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class PhaseSpec(Model):
    """One phase as declared in pipeline.yaml."""

    name: str
    function: str  # import path "package.module.function"
    scope: Scope
    inputs: tuple[str, ...] = ()  # artifact names, each produced by exactly one phase
    outputs: tuple[str, ...]
    config: tuple[str, ...] = ()  # YAML files under config/ that form this phase's settings
    # the dotted path of the pydantic model of those settings (or of a function (settings, where,
    # origins) that validates them): the project checks them when it loads, before any task runs
    settings: str | None = None
    source_keys: tuple[Literal["csv", "overrides"], ...] = ()  # parts of sources.yaml it reads
    enabled: bool = True
    description: str = ""

    @field_validator("name")
    @classmethod
    def _safe(cls, value: str) -> str:
        if not SAFE_NAME.match(value):
            raise ValueError(f"phase name {value!r} must use letters, digits, '_' or '-' only")
        return value

    @property
    def module(self) -> str:
        return self.function.rpartition(".")[0]

    @property
    def function_name(self) -> str:
        return self.function.rpartition(".")[2]


class ArtifactDeclaration(Model):
    """An artifact of the project's own phases, declared in pipeline.yaml's `artifacts:` section
    (the built-in phases' artifacts are declared in `phases.artifacts`)."""

    file: str
    kind: ArtifactKind = "text"

    @field_validator("file")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if not SAFE_FILE.match(value):
            raise ValueError(f"file {value!r} must be a plain file name (letters, digits, '_', '-', '.')")
        return value


class _PipelineFile(Model):
    phases: dict[str, dict[str, Any]]
    artifacts: dict[str, ArtifactDeclaration] = {}


@dataclass(frozen=True)
class Pipeline:
    """The validated DAG. `phases` is in a topological order."""

    phases: tuple[PhaseSpec, ...]
    producer: dict[str, str]  # artifact name -> phase name
    declared: Mapping[str, ArtifactSpec] = field(default_factory=dict)  # the project's own artifacts

    def phase(self, name: str) -> PhaseSpec:
        for spec in self.phases:
            if spec.name == name:
                return spec
        known = ", ".join(p.name for p in self.phases)
        raise ConfigError(f"unknown phase {name!r}; the pipeline has: {known}")

    def upstream(self, spec: PhaseSpec) -> tuple[PhaseSpec, ...]:
        """The phases whose artifacts `spec` reads, without repeats, in input order."""
        names = dict.fromkeys(self.producer[artifact] for artifact in spec.inputs)
        return tuple(self.phase(name) for name in names)

    @property
    def enabled(self) -> tuple[PhaseSpec, ...]:
        return tuple(p for p in self.phases if p.enabled)


def load_pipeline(path: Path, check_functions: bool = True,
                  known: Mapping[str, ArtifactSpec] | None = None) -> Pipeline:
    """Read and validate pipeline.yaml; raise ConfigError naming the phase and field. With
    `known` (the built-in artifact declarations), every artifact a phase names must be one of
    them or declared in the file's `artifacts:` section."""
    raw = parse_model(_PipelineFile, read_yaml(path), str(path))
    declared = {name: ArtifactSpec(name=name, file=d.file, kind=d.kind) for name, d in raw.artifacts.items()}
    specs = []
    for name, body in raw.phases.items():
        if not isinstance(body, dict):
            raise ConfigError(f"{path}: phase {name!r}: expected a mapping of fields")
        specs.append(parse_model(PhaseSpec, {"name": name, **body}, f"{path}: phase {name!r}"))
    producer = _producers(specs, path)
    _check_inputs(specs, producer, path)
    if known is not None:
        _check_declared(specs, declared, known, path)
    ordered = _topological_order(specs, producer, path)
    _check_enabled_upstream(ordered, producer, path)
    if check_functions:
        for spec in ordered:
            if spec.enabled:
                _check_function(spec, path)
    return Pipeline(phases=ordered, producer=producer, declared=declared)


def _producers(specs: list[PhaseSpec], path: Path) -> dict[str, str]:
    producer: dict[str, str] = {}
    for spec in specs:
        for artifact in spec.outputs:
            if artifact in producer:
                raise ConfigError(
                    f"{path}: phase {spec.name!r}, field 'outputs': artifact {artifact!r} "
                    f"is already produced by phase {producer[artifact]!r}; each artifact has one producer"
                )
            producer[artifact] = spec.name
    return producer


def _check_declared(specs: list[PhaseSpec], declared: Mapping[str, ArtifactSpec],
                    known: Mapping[str, ArtifactSpec], path: Path) -> None:
    for name in sorted(declared.keys() & known.keys()):
        raise ConfigError(f"{path}: artifacts: {name!r} is a built-in artifact (phases.artifacts); choose another name")
    for spec in specs:  # inputs are checked through their producer's outputs
        for name in spec.outputs:
            if name not in known and name not in declared:
                raise ConfigError(
                    f"{path}: phase {spec.name!r}, field 'outputs': artifact {name!r} has no record; "
                    f"declare it in phases.artifacts, or under 'artifacts:' with its file name"
                )


def _check_inputs(specs: list[PhaseSpec], producer: dict[str, str], path: Path) -> None:
    for spec in specs:
        for artifact in spec.inputs:
            if artifact not in producer:
                raise ConfigError(
                    f"{path}: phase {spec.name!r}, field 'inputs': no phase produces artifact "
                    f"{artifact!r}; known artifacts: {', '.join(sorted(producer))}"
                )
            if producer[artifact] == spec.name:
                raise ConfigError(f"{path}: phase {spec.name!r}, field 'inputs': reads its own output {artifact!r}")


def _topological_order(specs: list[PhaseSpec], producer: dict[str, str], path: Path) -> tuple[PhaseSpec, ...]:
    """Depth-first order that keeps the YAML order where it can; a cycle is printed."""
    by_name = {s.name: s for s in specs}
    done: dict[str, PhaseSpec] = {}
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            cycle = visiting[visiting.index(name):] + [name]
            raise ConfigError(f"{path}: the phases form a cycle: {' -> '.join(cycle)}")
        visiting.append(name)
        for artifact in by_name[name].inputs:
            visit(producer[artifact])
        visiting.pop()
        done[name] = by_name[name]

    for spec in specs:
        visit(spec.name)
    return tuple(done.values())


def _check_enabled_upstream(specs: tuple[PhaseSpec, ...], producer: dict[str, str], path: Path) -> None:
    enabled = {s.name for s in specs if s.enabled}
    for spec in specs:
        if not spec.enabled:
            continue
        for artifact in spec.inputs:
            if producer[artifact] not in enabled:
                raise ConfigError(
                    f"{path}: phase {spec.name!r}, field 'inputs': artifact {artifact!r} comes from "
                    f"phase {producer[artifact]!r}, which is disabled; enable it or disable {spec.name!r}"
                )


def module_file(module: str) -> Path | None:
    """The source file of a module, found without importing the module itself."""
    try:
        found = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if found is None or not found.origin or not found.origin.endswith(".py"):
        return None
    return Path(found.origin)


def _first_parameters(source: Path) -> Mapping[str, str | None]:
    """Each top-level function of a module -> the annotation of its first parameter as written
    (None: no parameter or no annotation). Read with a pattern over the module's text, not its
    syntax tree: parsing the 15 phase modules with `ast` took 0.1 s of every command, a fifth of
    a no-op run. Cached per file version, so a long-lived process still sees edits."""
    stat = source.stat()
    return _parameters_in(str(source), stat.st_mtime_ns, stat.st_size)


TOP_LEVEL_DEF = re.compile(r"^def\s+(\w+)\s*\(", re.M)  # a top-level function, at the start of a line


@functools.lru_cache(maxsize=256)
def _parameters_in(path: str, _mtime_ns: int, _size: int) -> Mapping[str, str | None]:
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    return {m[1]: _first_annotation(text, m.end()) for m in TOP_LEVEL_DEF.finditer(text)}


def _first_annotation(text: str, start: int) -> str | None:
    """The annotation of the parameter list's first parameter starting at `start`: the text after
    its ':' up to the ',', '=' or ')' outside brackets, spaces collapsed and quotes removed."""
    depth, end = 0, start
    while end < len(text):
        char = text[end]
        if char in "([{":
            depth += 1
        elif char in ")]}" and depth:
            depth -= 1
        elif char in ",=)" and depth == 0:
            break
        end += 1
    name, colon, annotation = text[start:end].partition(":")
    if not colon or not name.strip():
        return None
    return " ".join(annotation.split()).strip("'\"")


def _check_function(spec: PhaseSpec, path: Path) -> None:
    """The function must exist; checked by reading the module's syntax tree, so that
    loading the DAG imports no heavy module and opens nothing."""
    where = f"{path}: phase {spec.name!r}, field 'function'"
    if not spec.module:
        raise ConfigError(f"{where}: {spec.function!r} is not a dotted path 'package.module.function'")
    source = module_file(spec.module)
    if source is None:
        raise ConfigError(f"{where}: cannot import module {spec.module!r} (for {spec.function!r})")
    functions = _first_parameters(source)
    if spec.function_name not in functions:
        raise ConfigError(
            f"{where}: module {spec.module!r} has no function {spec.function_name!r}"
        )
    expected = CONTEXT_OF_SCOPE[spec.scope]
    written = functions[spec.function_name]
    if written in CONTEXT_OF_SCOPE.values() and written != expected:
        raise ConfigError(f"{where}: {spec.function!r} takes a {written} but the phase has scope "
                          f"{spec.scope!r}, whose tasks pass a {expected}")
