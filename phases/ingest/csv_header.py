"""The header of a CSV file: its cells as column names, and Excel's "CSV UTF-8" as DuckDB can read it.

Names: each header cell on one line (line breaks and control characters become a space), blank,
duplicate and reserved names renamed, every renaming recorded.

Excel's "CSV UTF-8": a header cell holding a line break (`"Customer<LF>Name"`), CRLF records with
LF line breaks inside cells, and a BOM before a quoted first field.

DuckDB 2.0.1 fails on these (each checked by experiment): its sniffer reads a BOM before a quote
as part of an unquoted field and then cuts the header in two (or finds no dialect at all when the
cell's break is LF and the records end in CRLF), and with a header spanning lines `header = true`
and `skip` read no row or the header's second half as data. So such a file is read through a
copy whose first record is on one line (its breaks, all inside quoted cells, become spaces) and
which has no BOM; the header's own text is kept for the column names' record, and the lines the
copy saved are added back to the line numbers of quarantined records.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

ROW_ID = "_row_id"  # the column of raw.parquet numbering the records in file order
HEAD = 1 << 16  # characters read to find the first record (a header longer than this is left as it is)
BREAK = re.compile(r"\r\n|\r|\n")
LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")  # a physical line with its ending, as csv counts them


@dataclass(frozen=True)
class Readable:
    path: Path  # the file DuckDB reads: the input (or its UTF-8 copy), or a copy with a one-line header
    header_text: str | None = None  # the first record as written, when the copy changed it
    lines_saved: int = 0  # physical lines the copy's first record has fewer than the file's


def one_line_header(readable: Path, out_dir: Path, quote: str | None) -> Readable:
    """`readable` itself, or (for a first record spanning lines, or a BOM before a quote) a copy
    in `out_dir` with the first record on one line and no BOM; the caller deletes the copy."""
    with open(readable, "rb") as f:
        raw = f.read(HEAD * 4)
    bom = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    text = raw[bom:].decode("utf-8", errors="ignore")[:HEAD]
    quote = quote or '"'
    record = _first_record(text, quote)
    if record is None:
        return Readable(readable)
    body = record.rstrip("\r\n")
    breaks = len(BREAK.findall(body))
    if breaks == 0 and not (bom and text.startswith(quote)):
        return Readable(readable)
    flat = BREAK.sub(" ", body) + record[len(body):]
    target = out_dir / f".{readable.name}.header.tmp"
    with open(readable, "rb") as src, open(target, "wb") as sink:
        src.seek(bom + len(record.encode("utf-8")))
        sink.write(flat.encode("utf-8"))
        shutil.copyfileobj(src, sink, 1 << 20)
    return Readable(target, body, breaks)


def _first_record(text: str, quote: str) -> str | None:
    """The first record's text with its line ending, as a CSV reader with this quote character
    sees it (the delimiter does not move record boundaries); None when it does not end in the sample."""
    lines = io.StringIO(text, newline="")
    reader = csv.reader(lines, quotechar=quote, doublequote=True, strict=False)
    try:
        next(reader)
    except (csv.Error, StopIteration):
        return None
    taken = "".join(LINE.findall(text)[:reader.line_num])
    return taken if len(taken) < len(text) or text.endswith(("\n", "\r")) else None


@dataclass(frozen=True)
class ImportedColumn:
    name: str  # the column name in raw.parquet
    original: str | None  # the header text, trimmed; None when the file has no header
    position: int  # 1-based position in the file
    renamed_reason: str | None  # why name differs from original, if it does


CONTROL = re.compile(r"\s*[\x00-\x1f\x7f\x85\u2028\u2029]+\s*")  # line breaks, tabs, other control characters


def _one_line(header: str) -> str:
    """A header cell as a name: each run of line breaks and control characters (with the spaces
    around it) becomes one space, so `"Customer<CR><LF>Name"` names the column `Customer Name`."""
    return CONTROL.sub(" ", header).strip()


def name_columns(header: list[str] | None, width: int) -> tuple[ImportedColumn, ...]:
    """Header text as names, each on one line; blank, duplicate and reserved names get deterministic
    new ones. Names are compared case-insensitively, as DuckDB resolves identifiers."""
    if header is None:
        return tuple(ImportedColumn(f"column_{i}", None, i, None) for i in range(1, width + 1))
    originals = [text.strip() for text in header]
    plain = [_one_line(text) for text in originals]
    taken = {ROW_ID} | {text.casefold() for text in plain if text}  # real headers keep their names
    first: dict[str, int] = {}
    columns = []
    for position, (original, flat) in enumerate(zip(originals, plain, strict=True), 1):
        key, name, clash = flat.casefold(), flat, None
        if not flat:
            clash = "blank header"
        elif key == ROW_ID:
            clash = f"collides with the reserved column {ROW_ID}"
        elif key in first:
            clash = f"duplicate of the header at position {first[key]}"
        first.setdefault(key, position)
        if clash is not None:
            base = flat or f"column_{position}"
            tries = itertools.chain([base] if not flat else [], (f"{base}_{k}" for k in itertools.count(2)))
            name = next(candidate for candidate in tries if candidate.casefold() not in taken)
            taken.add(name.casefold())
        reason = clash or ("line breaks and control characters replaced by spaces" if flat != original else None)
        columns.append(ImportedColumn(name, original, position, reason))
    return tuple(columns)
