"""The library behind the `import` phase: one CSV file becomes raw.parquet and quarantine.parquet.

Nothing is lost at import. Every column is read as VARCHAR, only empty fields, the
source's own null tokens (sources.yaml) and the tokens of null_values.yaml that
behave as nulls in their column become NULL (see `phases.ingest.null_tokens`:
Namibia's 'NA' among country codes stays), and every
record DuckDB cannot read as a row of the header's width goes to quarantine.parquet
with its physical line number and a readable reason: rows_loaded + rows_quarantined
is the number of records in the file (blank lines are not records; lines before the
header are quarantined).

Steps: find the encoding (UTF-8 is validated in one streaming pass, anything else
is transcoded to a temporary UTF-8 file); detect the dialect with DuckDB's
sniffer, the options overriding it; name the columns from the header; one COPY
reads the CSV with a fixed all-VARCHAR schema into raw.parquet while DuckDB's
reject tables collect the bad records, which are then located in the file; the
null tokens are judged per column on that file, which is rewritten only if some
token occurring in it is to become NULL.

DuckDB 2.0.1 behaviours worked around here (each checked by experiment):
- strict sniff_csv gives up on any malformed line in its sample and answers a
  one-column '|' dialect; with ignore_errors it survives bad lines but misses
  preambles; an unterminated quote in the sample makes it report no quoting.
- read_csv sniffs even when every dialect option is given, and fails the same
  way; auto_detect=false with an explicit column list avoids the sniffer.
- reject_errors.line counts records, not physical lines; line_byte_position is
  off by one depending on the newline style; csv_line may start with the previous
  line's newline and is cut at 10,000 characters.
- strict_mode=false silently truncates rows with too many fields, and even with
  strict_mode surplus trailing fields equal to a null string (the default null
  string is '') are dropped without an error; so null tokens are applied in SQL.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import dataclasses
import io
import os
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypedDict

import duckdb

from phases.artifacts.tables import QUARANTINE, RAW_TABLE, NullToken
from phases.core.config import CsvOptions
from phases.core.context import PhaseOutput, TableContext
from phases.core.errors import ImportFailed
from phases.core.sql import quote_ident, quote_literal, wide_projection
from phases.ingest.csv_header import ROW_ID, ImportedColumn, Readable, name_columns, one_line_header
from phases.ingest.encodings import EncodingChoice, line_numbers, text_source
from phases.ingest.import_settings import ImportSettings, ImportTuning, NullTokenSettings
from phases.ingest.null_tokens import judge_null_tokens, nulled
from phases.shared.narrow import one_row

SAMPLE = 1 << 20  # bytes read to find the header and any lines before it
LONG_LINE = 1 << 25  # max_line_size to sniff a file with a line over DuckDB's 2 MB default
NEWLINE = re.compile(r"\r\n|\r|\n")
NO_NULLS = ["\x00"]  # a null string that never occurs: files with NUL bytes are rejected

Quarantined = tuple[int, str, str]  # (physical line, reason, raw text)


@dataclass(frozen=True)
class Dialect:
    delimiter: str
    quote: str  # '' means no quoting
    escape: str
    header: bool
    newline: str  # "\n", "\r\n" or "\r"
    encoding: str  # Python codec name of the file's bytes
    encoding_source: str  # "detected" or "declared"
    # when a detected single-byte encoding was chosen among several readings: why, and the
    # encodings whose reading was about as plausible (then the choice is ambiguous)
    encoding_note: str | None = None
    encoding_alternatives: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportResult:
    file: str
    rows_loaded: int
    rows_quarantined: int
    columns: tuple[ImportedColumn, ...]
    dialect: Dialect
    null_values: tuple[str, ...]
    null_tokens: tuple[NullToken, ...]  # how each token occurring in a column was read there


def import_csv(
    con: duckdb.DuckDBPyConnection,
    csv_path: Path,
    out_dir: Path,
    options: CsvOptions,
    null_values: Sequence[str],
    tuning: ImportTuning | None = None,
) -> ImportResult:
    """Import one CSV file into out_dir/raw.parquet and out_dir/quarantine.parquet."""
    path, out_dir = Path(csv_path), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tuning = tuning or ImportTuning()
    tokens = tuple(sorted(set(null_values) | set(options.null_values)))
    # Always NULL: empty fields carry nothing to judge, and a source's own tokens
    # (sources.yaml csv.null_values) are a human decision, like a type override.
    always = tuple(t for t in tokens if not t.strip() or t in options.null_values)
    choice, source, text = text_source(path, out_dir, options, tuning.encoding_alternative_p)
    readable = Readable(text)
    target = out_dir / RAW_TABLE.file
    temp = target.with_name(target.name + ".tmp")
    try:
        readable, found = _sniff_readable(con, path, text, out_dir, options)
        dialect = _dialect(found, options, choice, source)
        skip, header, bad = _read_top(path, readable, dialect, found["comment"], found["skip"])
        columns = name_columns(header, found["columns"])
        with _reject_tables(con) as rejects:
            loaded = _write_raw(con, path, readable.path, temp, columns, dialect, skip, always, rejects)
            bad += _describe_rejects(con, readable, rejects[0], dialect, len(columns))
        judged = tuple(t for t in tokens if t not in always)
        decisions = _apply_null_tokens(con, temp, target, columns, judged, tuning)
        _write_quarantine(con, out_dir / QUARANTINE.file, path.name, bad)
    finally:
        temp.unlink(missing_ok=True)
        for copy in {readable.path, text} - {path}:
            copy.unlink(missing_ok=True)
    return ImportResult(path.name, loaded, len(bad), columns, dialect, tokens, decisions)


def _sniff_readable(con: duckdb.DuckDBPyConnection, path: Path, text: Path, out_dir: Path,
                    options: CsvOptions) -> tuple[Readable, _Sniffed]:
    """The file DuckDB reads (see phases.ingest.one_line_header) and its dialect. A first record put
    on one line that turns out to be data, not a header, is read as it is after all."""
    readable = one_line_header(text, out_dir, options.quote) if options.header is not False else Readable(text)
    found = _sniff(con, path, readable.path, options)
    if readable.header_text is not None and not (options.header or found["header"]):
        readable.path.unlink(missing_ok=True)
        readable = Readable(text)
        found = _sniff(con, path, text, options)
    return readable, found


# --- dialect and header ------------------------------------------------------

SNIFF = "SELECT Delimiter, Quote, Escape, NewLineDelimiter, Comment, SkipRows, HasHeader, len(Columns) "
_SniffOptions = Mapping[str, str | bool | int]  # sniff_csv's named parameters


class _Sniffed(TypedDict):
    """What sniff_csv found (the columns of SNIFF); '(empty)' spelled '', the newline unescaped."""

    delimiter: str
    quote: str
    escape: str
    newline: str
    comment: str
    skip: int
    header: bool
    columns: int


def _sniff(con: duckdb.DuckDBPyConnection, path: Path, readable: Path, options: CsvOptions) -> _Sniffed:
    given = {"delim": options.delimiter, "quote": options.quote, "escape": options.escape, "header": options.header}
    overrides = {key: value for key, value in given.items() if value is not None}
    # Fallbacks: a declared quote makes the sniffer fail on any unterminated quote in
    # its sample (the declared quote still wins in _dialect), and a line longer than
    # DuckDB's maximum makes it fail outright (the read then quarantines that line).
    unquoted = {key: value for key, value in overrides.items() if key not in ("quote", "escape")}
    attempts: list[_SniffOptions] = [overrides, unquoted, {**unquoted, "max_line_size": LONG_LINE}]
    for kw in [kw for i, kw in enumerate(attempts) if kw not in attempts[:i]]:
        found = _sniff_once(con, readable, kw, lenient=True)
        if found is None or found["columns"] == 1:
            # Lenient sniffing misses lines before the header and then reports a single
            # column; strict sniffing finds them when no line is malformed.
            strict = _sniff_once(con, readable, kw, lenient=False)
            found = strict if strict is not None and strict["columns"] > 1 else found
        if found is not None:
            return found
    raise ImportFailed(f"{path}: no CSV dialect found; expected lines of fields separated by a delimiter")


def _sniff_once(con: duckdb.DuckDBPyConnection, readable: Path, kw: _SniffOptions, lenient: bool) -> _Sniffed | None:
    args = "".join(f", {key} = ${key}" for key in kw) + (", ignore_errors = true" if lenient else "")
    try:
        row = one_row(con.execute(f"{SNIFF} FROM sniff_csv($path{args})", {"path": str(readable), **kw}))
    except duckdb.Error:
        return None
    delimiter, quote, escape, newline, comment, skip, header, columns = row
    return _Sniffed(
        delimiter=_unempty(delimiter), quote=_unempty(quote), escape=_unempty(escape),
        newline={"\\r\\n": "\r\n", "\\r": "\r"}.get(newline, "\n"), comment=_unempty(comment),
        skip=skip, header=header, columns=columns,
    )


def _unempty(sniffed: str) -> str:
    """sniff_csv spells an absent quote, escape or comment character '(empty)'."""
    return "" if sniffed == "(empty)" else sniffed


def _dialect(found: _Sniffed, options: CsvOptions, choice: EncodingChoice, source: str) -> Dialect:
    # Without a quote in its sample (or after an unterminated one) the sniffer reports
    # none; RFC 4180's '"' is then the safe choice: a '"' inside an unquoted field
    # stays literal, and quoted fields later in the file still parse.
    quote = options.quote if options.quote is not None else (found["quote"] or '"')
    escape = options.escape if options.escape is not None else (found["escape"] or quote)
    delimiter = options.delimiter if options.delimiter is not None else found["delimiter"]
    header = options.header if options.header is not None else bool(found["header"])
    return Dialect(delimiter, quote, escape if quote else "", header, found["newline"], choice.encoding, source,
                   choice.note, choice.alternatives)


def _read_top(
    path: Path, readable: Readable, dialect: Dialect, comment: str, skip: int
) -> tuple[int, list[str] | None, list[Quarantined]]:
    """(lines to skip, header fields or None, quarantine rows for the skipped lines).
    Lines before the header (a preamble the sniffer found, comment lines, blank
    lines) are skipped; the non-blank ones are quarantined so that nothing vanishes.
    A header the readable copy put on one line is read as the file writes it."""
    with open(readable.path, "rb") as f:
        text = f.read(SAMPLE).decode("utf-8", errors="backslashreplace").removeprefix("\ufeff")
    before, start, number = [], len(text), 1
    for number, (offset, line) in enumerate(_lines(text), 1):
        if number > skip and line and not (comment and line.startswith(comment)):
            start = offset
            break
        if line.strip():
            before.append((number, "line before the header row, skipped", line))
    if not dialect.header:
        return number - 1, None, before
    if readable.header_text is not None and start == 0:
        text, start = readable.header_text, 0
    try:
        header = next(csv.reader(io.StringIO(text[start:], newline=""), **_csv_format(dialect)), None)
    except (csv.Error, TypeError) as exc:
        raise ImportFailed(f"{path}: line {number}: cannot read the header row ({exc})") from None
    return number - 1, header or [""], before


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """(offset, text) of each line, without its line ending."""
    start = 0
    for match in NEWLINE.finditer(text):
        yield start, text[start : match.start()]
        start = match.end()
    yield start, text[start:]


def _csv_format(dialect: Dialect) -> dict[str, Any]:
    """Python csv settings matching the dialect (used for the header row only)."""
    if not dialect.quote:
        return {"delimiter": dialect.delimiter, "quoting": csv.QUOTE_NONE}
    doubled = dialect.escape in ("", dialect.quote)
    escape = None if doubled else dialect.escape
    return {"delimiter": dialect.delimiter, "quotechar": dialect.quote, "doublequote": doubled, "escapechar": escape}


# --- loading -----------------------------------------------------------------

READ_CSV = (
    "read_csv($path, auto_detect = false, columns = $columns, header = $header, skip = $skip, "
    "delim = $delim, quote = $quote, escape = $escape, nullstr = $nullstr, strict_mode = true, "
    "null_padding = false, ignore_errors = true, store_rejects = true, "
    "rejects_table = $rejects_table, rejects_scan = $rejects_scan)"
)


@contextlib.contextmanager
def _reject_tables(con: duckdb.DuckDBPyConnection) -> Iterator[tuple[str, str]]:
    """Private names for DuckDB's reject tables (the default ones accumulate across scans)."""
    names = (f"_csv_rejects_{uuid.uuid4().hex}", f"_csv_scans_{uuid.uuid4().hex}")
    try:
        yield names
    finally:
        for name in names:
            con.execute(f"DROP TABLE IF EXISTS {quote_ident(name)}")


def _write_raw(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    readable: Path,
    target: Path,
    columns: tuple[ImportedColumn, ...],
    dialect: Dialect,
    skip: int,
    tokens: tuple[str, ...],
    rejects: tuple[str, str],
) -> int:
    """Read the CSV with a fixed schema into target; returns the number of rows loaded."""
    select = ", ".join(f"{nulled(f'c{c.position}', tokens)} AS {quote_ident(c.name)}" for c in columns)
    row_id, temp = quote_ident(ROW_ID), target
    # Kept insertion order alone makes the file byte-identical across runs and thread counts:
    # the rows come in the file's order and the row groups follow DuckDB's CSV buffers, which do
    # not depend on the threads (DuckDB 2.0.1, TPC-H lineitem SF0.1 and SF1 on 1, 2 and 4
    # threads). An ORDER BY of the row number sorted the whole file for nothing (it is in that
    # order): on SF1 lineitem 18.9 s of CPU against 10.8 s without, and the sort spilled. A
    # 64 KB cap on string dictionaries keeps them for low-cardinality columns but gives
    # up early on unique ones, where building them cost a fifth of the import time.
    sql = (
        f"COPY (SELECT row_number() OVER () AS {row_id}, {select} FROM {READ_CSV}) "
        f"TO {quote_literal(temp)} (FORMAT parquet, STRING_DICTIONARY_PAGE_SIZE_LIMIT 65536)"
    )
    columns_param = {f"c{c.position}": "VARCHAR" for c in columns}
    params = dict(path=str(readable), columns=columns_param, header=dialect.header, skip=skip, nullstr=NO_NULLS)
    params.update(delim=dialect.delimiter, quote=dialect.quote, escape=dialect.escape)
    params.update(rejects_table=rejects[0], rejects_scan=rejects[1])
    (kept,) = one_row(con.execute("SELECT current_setting('preserve_insertion_order')"))
    try:
        # row_number() OVER () follows the file's order only while insertion order is kept.
        con.execute("SET preserve_insertion_order = true")
        with wide_projection(con, len(columns)):
            (rows,) = one_row(con.execute(sql, params))
    except duckdb.Error as exc:
        message = str(exc).strip().splitlines()[0]
        raise ImportFailed(f"{path}: DuckDB could not read the file as CSV: {message}") from None
    finally:
        con.execute(f"SET preserve_insertion_order = {'true' if kept else 'false'}")
    return rows


def _apply_null_tokens(
    con: duckdb.DuckDBPyConnection,
    temp: Path,
    target: Path,
    columns: tuple[ImportedColumn, ...],
    tokens: tuple[str, ...],
    settings: NullTokenSettings,
) -> tuple[NullToken, ...]:
    """Judge the tokens per column on the loaded file; move it to `target`, rewritten with
    the tokens read as NULL where there are any (the rewrite keeps the row order)."""
    source = f"read_parquet({quote_literal(temp)})"
    decisions = judge_null_tokens(con, source, [c.name for c in columns], tokens, settings)
    nulls: dict[str, list[str]] = {}
    for d in decisions:
        if d.read_as == "null":
            nulls.setdefault(d.column, []).append(d.token)
    if not nulls:
        os.replace(temp, target)
        return decisions
    select = ", ".join(
        [quote_ident(ROW_ID), *(f"{nulled(quote_ident(c.name), nulls.get(c.name, []))} AS {quote_ident(c.name)}"
                                for c in columns)]
    )
    rewritten = target.with_name(target.name + ".nulls.tmp")
    (kept,) = one_row(con.execute("SELECT current_setting('preserve_insertion_order')"))
    try:
        con.execute("SET preserve_insertion_order = true")
        with wide_projection(con, len(columns)):
            con.execute(
                f"COPY (SELECT {select} FROM {source}) TO {quote_literal(rewritten)} "
                "(FORMAT parquet, STRING_DICTIONARY_PAGE_SIZE_LIMIT 65536)"
            )
    finally:
        con.execute(f"SET preserve_insertion_order = {'true' if kept else 'false'}")
    os.replace(rewritten, target)
    return decisions


# One row per rejected record; a record can carry several errors.
REJECTS = """
SELECT line, min(line_byte_position), list(DISTINCT error_type::VARCHAR),
       min(found) FILTER (WHERE error_type = 'MISSING COLUMNS'),
       max(found) FILTER (WHERE error_type = 'TOO MANY COLUMNS'),
       any_value(csv_line), any_value(error_message)
FROM (SELECT *, TRY_CAST(regexp_extract(error_message, 'Found: (\\d+)', 1) AS BIGINT) AS found FROM {table})
GROUP BY line ORDER BY line
"""


def _describe_rejects(
    con: duckdb.DuckDBPyConnection, readable: Readable, table: str, dialect: Dialect, width: int
) -> list[Quarantined]:
    rows = con.execute(REJECTS.format(table=quote_ident(table))).fetchall()
    with open(readable.path, "rb") as f:
        bom = len(codecs.BOM_UTF8) if f.read(3) == codecs.BOM_UTF8 else 0
        starts = [_locate(f, lbp, csv_line or "", bom) for _, lbp, _, _, _, csv_line, _ in rows]
        # DuckDB shows undecodable bytes as '?'; show the line's bytes as \x.. escapes instead.
        raws = [
            _raw_line(f, start) if "INVALID ENCODING" in types else _clean(csv_line or "")
            for start, (_, _, types, _, _, csv_line, _) in zip(starts, rows, strict=True)
        ]
    numbers = line_numbers(readable.path, starts)
    return [
        (numbers[start] + readable.lines_saved, _reason(types, fewer, more, raw, width, dialect) or message, raw)
        for start, raw, (_, _, types, fewer, more, _, message) in zip(starts, raws, rows, strict=True)
    ]


def _locate(f: BinaryIO, lbp: int, csv_line: str, bom: int) -> int:
    """Byte offset where a rejected record starts. line_byte_position is off by one
    depending on the newline style and lands early after blank lines, so look for
    the record's own text at a line start near it, the nearest match first."""
    lead = len(csv_line) - len(csv_line.lstrip("\r\n"))
    needle = csv_line.lstrip("\r\n").encode("utf-8")[:256]
    low = max(0, lbp - 8 - lead)
    shift = max(0, low - 1)  # file offset of window[0]: one byte early, to see what precedes `low`
    f.seek(shift)
    window = f.read(lbp - shift + 10 + len(needle))

    def starts_line(at: int) -> bool:
        return at in (0, bom) or window[at - shift - 1 : at - shift] in (b"\n", b"\r")

    spots = [at for at in range(low, shift + len(window)) if starts_line(at)]
    matching = [at for at in spots if window.startswith(needle, at - shift)]
    return min(matching or spots or [lbp], key=lambda at: (abs(at - lbp), at))


def _raw_line(f: BinaryIO, start: int) -> str:
    f.seek(start)
    line = NEWLINE.split(f.read(1 << 16).decode("latin-1"), maxsplit=1)[0]  # latin-1: bytes as they are
    return line.encode("latin-1").decode("utf-8", errors="backslashreplace")


def _clean(csv_line: str) -> str:
    """csv_line without the previous line's newline DuckDB may prefix, or the record's own."""
    text = csv_line.lstrip("\r\n")
    return text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith(("\n", "\r")) else text


def _reason(types: list[str], fewer: int | None, more: int | None, raw: str, width: int, dialect: Dialect) -> str:
    reasons = []
    if "INVALID ENCODING" in types:
        reasons.append("invalid UTF-8")
    if "UNQUOTED VALUE" in types:
        # An odd number of quote characters means a quoted field never closes.
        text = raw.replace(dialect.escape + dialect.quote, "") if dialect.escape != dialect.quote else raw
        reasons.append("unterminated quote" if text.count(dialect.quote) % 2 else "text after a closing quote")
    if "LINE SIZE OVER MAXIMUM" in types:
        reasons.append("line longer than DuckDB's maximum line size")
    reasons += [f"expected {width} fields, found {found}" for found in (more, fewer) if found is not None]
    return "; ".join(reasons)


def _write_quarantine(con: duckdb.DuckDBPyConnection, target: Path, file: str, rows: list[Quarantined]) -> None:
    """Always written, with a stable schema, even when nothing was quarantined."""
    lines, reasons, raws = zip(*sorted(rows), strict=True) if rows else ((), (), ())
    temp = target.with_name(target.name + ".tmp")
    con.execute(
        "COPY (SELECT $file::VARCHAR AS file, unnest($lines::BIGINT[]) AS line, "
        "unnest($reasons::VARCHAR[]) AS reason, unnest($raws::VARCHAR[]) AS raw_line ORDER BY line) "
        f"TO {quote_literal(temp)} (FORMAT parquet)",
        {"file": file, "lines": list(lines), "reasons": list(reasons), "raws": list(raws)},
    )
    os.replace(temp, target)


def import_table(ctx: TableContext) -> PhaseOutput:
    """Phase `import`: one CSV file of the source -> raw_table and quarantine."""
    settings = ctx.parse_settings(ImportSettings)
    with ctx.connect() as con:
        tuning = ImportTuning(**settings.model_dump(exclude={"null_values"}))
        result = import_csv(con, ctx.table.path, ctx.out_dir, ctx.source.csv, settings.null_values, tuning)
    summary = dataclasses.asdict(result)
    summary["table"] = ctx.table.name
    return PhaseOutput(
        summary=summary,
        catalog_table={"rows": result.rows_loaded, "quarantined": result.rows_quarantined},
        catalog_columns=tuple(
            {"name": c.name, "original": c.original, "position": c.position} for c in result.columns
        ),
    )
