"""Is a finished task's output still what its manifest says? doit only checks that a target
exists, so a truncated Parquet file, a deleted artifact or a hand-edited context.md would count
as done. Every task carries `artifacts_intact` as an up-to-date check: cheap on every run (the
size, and the modification time against a side record written with the manifest), a sha256 only
for a file whose time changed. A damaged task reruns; early cutoff spares what follows when it
writes the same bytes again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from phases.core.errors import StateError
from phases.core.manifest import Manifest, file_sha256, read_manifest, write_atomically


@dataclass(frozen=True)
class Damage:
    file: Path
    problem: str  # missing | size | content


def record_stats(manifest: Manifest, stats: Path) -> None:
    """Remember each artifact's size and modification time ({file: [bytes, mtime_ns]} in `stats`),
    so later checks need no digest."""
    found = {}
    for artifact in manifest.artifacts.values():
        st = (manifest.folder / artifact.path).stat()
        found[artifact.path] = [st.st_size, st.st_mtime_ns]
    write_atomically(stats, json.dumps(found, sort_keys=True))


def damage(manifest_file: Path, stats: Path, deep: bool = False) -> list[Damage]:
    """What no longer matches the manifest. `deep` digests every file whatever its time says."""
    try:
        manifest = read_manifest(manifest_file)
    except StateError:
        return [Damage(manifest_file, "content")]
    folder = manifest_file.parent
    recorded = _recorded(stats)
    found, changed = [], False
    for artifact in manifest.artifacts.values():
        path = folder / artifact.path
        try:
            st = path.stat()
        except FileNotFoundError:
            found.append(Damage(path, "missing"))
            continue
        if st.st_size != artifact.bytes:
            found.append(Damage(path, "size"))
        elif deep or recorded.get(artifact.path) != [st.st_size, st.st_mtime_ns]:
            if file_sha256(path) != artifact.sha256:
                found.append(Damage(path, "content"))
            else:  # touched, not changed: remember the new time
                recorded[artifact.path], changed = [st.st_size, st.st_mtime_ns], True
    if changed and not found:
        write_atomically(stats, json.dumps(recorded, sort_keys=True))
    return found


def artifacts_intact(manifest_file: str, stats: str) -> bool | None:
    """doit's up-to-date check of every task (module-level, plain arguments). None when the task
    has not written its manifest yet: doit's own target check decides then."""
    path = Path(manifest_file)
    if not path.is_file():
        return None
    return not damage(path, Path(stats))


def manifests(state: Path) -> Iterator[Path]:
    """Every task manifest under state/ (staging folders aside)."""
    for path in sorted(state.rglob("manifest.json")):
        if not any(part.startswith(".") for part in path.relative_to(state).parts):
            yield path


def _recorded(stats: Path) -> dict[str, list[int]]:
    try:
        data = json.loads(stats.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}

