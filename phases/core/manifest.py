"""Manifests: the contract between tasks. A task writes its artifacts first and its
manifest last, atomically; the manifest is deterministic (sorted keys, content
digests, relative paths, no times), so an identical rerun leaves it byte-identical
and doit's md5 check does not rerun the tasks downstream (early cutoff)."""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phases.core.errors import StateError

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class Artifact:
    path: str  # relative to the manifest's folder
    sha256: str
    bytes: int
    rows: int | None = None  # for tabular artifacts
    columns: tuple[tuple[str, str], ...] | None = None  # (name, DuckDB type)


@dataclass(frozen=True)
class Failure:
    """A task's recorded failure on unusable input: where it arose and why, in one line."""

    task: str  # the task whose input failed ('import:src.table'); downstream tasks carry it on
    reason: str


@dataclass(frozen=True)
class Manifest:
    phase: str
    source: str
    table: str | None
    artifacts: Mapping[str, Artifact]
    summary: Mapping[str, Any]
    folder: Path  # where it was read from; not part of the file
    failed: Failure | None = None  # set when the task recorded a failure instead of artifacts

    def path(self, artifact: str) -> Path:
        if self.failed is not None:
            raise StateError(f"{self.folder / MANIFEST_NAME}: {self.failed.task} failed: {self.failed.reason}")
        try:
            return self.folder / self.artifacts[artifact].path
        except KeyError:
            raise StateError(
                f"{self.folder / MANIFEST_NAME}: no artifact {artifact!r}; it has {sorted(self.artifacts)}"
            ) from None


def file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def canonical_json(data: Any) -> str:
    """The one JSON spelling used for manifests and signatures: sorted, no NaN. That of
    `json.dumps(sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False)`, written by
    `_indented` for plain data: with an indent, json.dumps runs its pure-Python encoder, whose
    generators took 12 s for the 150 MB temporal profiles of a 2,000-column file (3 times as long).
    Anything else (a NaN, a key that is not text, a value JSON has no spelling for) goes to
    json.dumps, which spells it or raises its own error."""
    parts: list[str] = []
    try:
        _indented(data, parts, "\n")
    except _NotPlain:
        return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    parts.append("\n")
    return "".join(parts)


class _NotPlain(Exception):
    """Data that `_indented` leaves to json.dumps."""


_STRING = json.encoder.encode_basestring  # json.dumps's own, for ensure_ascii=False


def _indented(value: Any, out: list[str], newline: str) -> None:
    """Append the JSON of `value` to `out`, `newline` being the line break and indent before it."""
    if isinstance(value, str):
        out.append(_STRING(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, float):
        if value != value or value in (math.inf, -math.inf):
            raise _NotPlain
        out.append(float.__repr__(value))
    elif isinstance(value, list | tuple):
        if not value:
            out.append("[]")
            return
        inner = newline + "  "
        out.append("[")
        for i, item in enumerate(value):
            out.append("," + inner if i else inner)
            _indented(item, out, inner)
        out.append(newline + "]")
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        if not all(isinstance(key, str) for key in value):
            raise _NotPlain
        inner = newline + "  "
        out.append("{")
        for i, (key, item) in enumerate(sorted(value.items())):
            out.append(("," + inner if i else inner) + _STRING(key) + ": ")
            _indented(item, out, inner)
        out.append(newline + "}")
    else:
        raise _NotPlain


def write_atomically(path: Path, text: str) -> None:
    """Write via a temp file in the same folder, fsync, then os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_manifest(
    folder: Path, phase: str, source: str, table: str | None,
    artifacts: Mapping[str, Artifact], summary: Mapping[str, Any], failed: Failure | None = None,
) -> Path:
    body: dict[str, Any] = {
        "manifest_version": MANIFEST_VERSION,
        "phase": phase,
        "source": source,
        "table": table,
        "artifacts": {
            name: {k: v for k, v in vars(a).items() if v is not None} for name, a in artifacts.items()
        },
        "summary": summary,
    }
    if failed is not None:
        body["failed"] = {"task": failed.task, "reason": failed.reason}
    path = folder / MANIFEST_NAME
    write_atomically(path, canonical_json(body))
    return path


def read_manifest(path: Path) -> Manifest:
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StateError(f"{path}: manifest missing; run the task that produces it first") from None
    except json.JSONDecodeError as exc:
        raise StateError(f"{path}: manifest is not valid JSON ({exc}); forget and rerun its task") from None
    if body.get("manifest_version") != MANIFEST_VERSION:
        raise StateError(f"{path}: manifest version {body.get('manifest_version')!r}, expected {MANIFEST_VERSION}")
    artifacts = {
        name: Artifact(
            path=a["path"], sha256=a["sha256"], bytes=a["bytes"], rows=a.get("rows"),
            columns=tuple(tuple(c) for c in a["columns"]) if "columns" in a else None,
        )
        for name, a in body["artifacts"].items()
    }
    return Manifest(
        phase=body["phase"], source=body["source"], table=body["table"],
        artifacts=artifacts, summary=body["summary"], folder=path.parent,
        failed=Failure(**body["failed"]) if "failed" in body else None,
    )
