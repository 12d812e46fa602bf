"""A phase's code fingerprint: sha256 over its module and every `phases.*` module it imports,
transitively. With records in `phases.artifacts` and each group importing only core, the
artifacts and its own modules, the fingerprint covers exactly the code that decides the
phase's output: an edit to another phase's algorithm does not rerun it, an edit to a
record it reads does."""

from __future__ import annotations

import functools
import hashlib
import re
from pathlib import Path

from phases.core.dag import module_file

_IMPORT = re.compile(
    r"^[ \t]*(?:from[ \t]+(phases(?:\.\w+)*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#]+)"  # from phases.x import ...
    r"|import[ \t]+(phases\.[\w.]+))",  # import phases.x
    re.M,
)


def code_digest(module: str) -> str:
    """sha256 over the module's source and every project module it imports, transitively."""
    digest = hashlib.sha256()
    for name, source in sorted(_closure(module).items()):
        digest.update(name.encode() + b"\0" + source.read_bytes() + b"\0")
    return digest.hexdigest()


def code_closure(module: str) -> set[str]:
    """The modules a phase's fingerprint covers: it and every project module it imports, transitively."""
    return set(_closure(module))


def _closure(module: str) -> dict[str, Path]:
    seen: dict[str, Path] = {}
    pending = [module]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        source = module_file(name)
        if source is None:
            continue
        seen[name] = source
        for imported, names in project_imports(source):
            pending.append(imported)
            if names and _is_package(imported):  # `from phases.core import sql`: sql is a module
                pending.extend(f"{imported}.{n}" for n in names)
    return seen


def _is_package(module: str) -> bool:
    found = module_file(module)
    return found is not None and found.name == "__init__.py"


def project_imports(source: Path) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The `phases.*` imports of a file: (module, names imported from it). A regular
    expression, not the syntax tree: dodo.py runs this for every phase on every doit call,
    and it must stay cheap. Cached per file version, so a long-lived process sees edits."""
    stat = source.stat()
    return _imports_in(str(source), stat.st_mtime_ns, stat.st_size)


@functools.cache
def _imports_in(path: str, _mtime_ns: int, _size: int) -> tuple[tuple[str, tuple[str, ...]], ...]:
    found = []
    for package, names, plain in _IMPORT.findall(Path(path).read_text(encoding="utf-8")):
        if plain:
            found.append((plain, ()))
        else:
            # 'sql as q' -> sql
            imported = tuple(n.split()[0] for n in names.strip("()").split(",") if n.strip())
            found.append((package, imported))
    return tuple(found)
