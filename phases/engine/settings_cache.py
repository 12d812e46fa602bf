"""Remember that a project's settings passed their check, so that the next command of an
unchanged project (`dataraum status`, a no-op `doit`) does not import every phase's settings
model again: that import and the pydantic checks were about half of a no-op command's time.

The record (state/.settings_checked) holds one digest over everything the verdict depends on:
the code of the `phases` package (path, size and time of every module, as the warm server's
fingerprint), every file under config/ (path, size, time), and each phase's merged settings
section with the dotted path of its model. Only models of the package itself are trusted to
the record; a project's own model (outside `phases`) is checked on every load. A read-only
command never creates state/: the record is written only where the folder exists."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from phases.core.layout import state_dir
from phases.core.manifest import write_atomically

RECORD = ".settings_checked"
PACKAGE = "phases."  # models under this package are covered by the code fingerprint


def cacheable(dotted: str | None) -> bool:
    return dotted is None or dotted.startswith(PACKAGE)


def digest(root: Path, sections: Iterable[tuple[str, str | None, object]]) -> str:
    """sha256 over the code, the config files and the (phase, model, section) triples."""
    from phases.engine.launch import code_fingerprint  # stat calls only; no import of the phases

    found = hashlib.sha256(code_fingerprint().encode())
    for folder, dirs, files in os.walk(root / "config"):
        dirs.sort()
        for name in sorted(files):
            with contextlib.suppress(OSError):
                st = os.stat(os.path.join(folder, name))
                found.update(f"{folder}/{name}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    text = json.dumps(sorted(sections, key=lambda s: s[0]), sort_keys=True, default=str)
    found.update(text.encode())
    return found.hexdigest()


def passed(root: Path, key: str) -> bool:
    try:
        return (state_dir(root) / RECORD).read_text(encoding="utf-8").strip() == key
    except OSError:
        return False


def remember(root: Path, key: str) -> None:
    """Record the verdict where the project's state/ exists (a read-only command creates nothing)."""
    if state_dir(root).is_dir():
        with contextlib.suppress(OSError):
            write_atomically(state_dir(root) / RECORD, key + "\n")
