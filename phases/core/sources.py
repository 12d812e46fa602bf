"""Sources and their tables: which CSV files a source holds and the safe table
name each file gets. Discovery only lists files; it never reads them."""

from __future__ import annotations

import glob
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from phases.core.config import SourceConfig
from phases.core.errors import ConfigError


@dataclass(frozen=True)
class TableRef:
    """A CSV file of a source and the table name the pipeline uses for it."""

    source: str
    name: str
    path: Path


def safe_table_name(file_name: str) -> str:
    """A lower-case ASCII identifier from a file name: 'Umsätze 2024.csv' -> 'umsatze_2024'."""
    stem = Path(file_name).stem
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    name = re.sub(r"[^0-9a-zA-Z]+", "_", ascii_stem).strip("_").lower() or "table"
    return f"t_{name}" if name[0].isdigit() else name


def _csv_files(source: SourceConfig, root: Path) -> list[Path]:
    location = root / source.path
    if location.is_dir():
        files = [p for p in location.iterdir() if p.is_file() and p.suffix.lower() == ".csv"]
    elif glob.has_magic(str(location)):
        files = [Path(p) for p in glob.glob(str(location)) if Path(p).is_file()]
    elif location.is_file():
        files = [location]
    else:
        raise ConfigError(
            f"config/sources.yaml: source {source.name!r}, field 'path': {source.path!r} is neither "
            "a folder, a file nor a glob that exists (paths are relative to the project root)"
        )
    return sorted(files, key=lambda p: p.name)


def discover_tables(source: SourceConfig, root: Path) -> tuple[TableRef, ...]:
    """The source's tables in file-name order; clashing safe names get _2, _3 ..."""
    tables: list[TableRef] = []
    used: set[str] = set()
    for path in _csv_files(source, root):
        base = safe_table_name(path.name)
        name, n = base, 1
        while name in used:
            n += 1
            name = f"{base}_{n}"
        used.add(name)
        tables.append(TableRef(source=source.name, name=name, path=path))
    return tuple(tables)


def find_table(tables: tuple[TableRef, ...], name: str) -> TableRef:
    for table in tables:
        if table.name == name:
            return table
    known = ", ".join(t.name for t in tables) or "none"
    raise ConfigError(f"no table {name!r} in this source; its tables are: {known}")
