"""Tests of phases.ingest.csv_import: real in-memory DuckDB, files under tmp_path, known answers."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import duckdb
import pytest

from phases.core.config import CsvOptions
from phases.core.errors import ImportFailed
from phases.core.sql import quote_ident, quote_literal
from phases.ingest.csv_import import ImportResult, import_csv

DATA = Path(__file__).parent / "data" / "csv_import"
NULLS = ("", "NULL", "N/A", "#N/A", "--", "null", "NaN")


@dataclasses.dataclass
class Imported:
    result: ImportResult
    rows: list[tuple]  # raw.parquet without _row_id, in _row_id order
    row_ids: list[int]
    bad: list[tuple[int, str, str]]  # quarantine.parquet: (line, reason, raw_line)

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.result.columns]


def load(path: Path, out: Path, con: duckdb.DuckDBPyConnection | None = None, **options) -> Imported:
    con = con or duckdb.connect()
    result = import_csv(con, path, out, CsvOptions(**options), NULLS)
    raw = con.execute("SELECT * FROM read_parquet(?) ORDER BY _row_id", [str(out / "raw.parquet")]).fetchall()
    bad = con.execute(
        "SELECT line, reason, raw_line FROM read_parquet(?) ORDER BY line", [str(out / "quarantine.parquet")]
    ).fetchall()
    return Imported(result, [row[1:] for row in raw], [row[0] for row in raw], bad)


def run(tmp_path: Path, content: str | bytes, name: str = "data.csv", **options) -> Imported:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return load(path, tmp_path / "out", **options)


# --- dialect ------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_the_delimiter_is_detected(tmp_path, delimiter):
    lines = ["id,name,city", "1,Ann,Oslo", "2,Bob,Rome", "3,Cy,Graz"]
    imported = run(tmp_path, "\n".join(line.replace(",", delimiter) for line in lines) + "\n")
    assert imported.result.dialect.delimiter == delimiter
    assert imported.names == ["id", "name", "city"]
    assert imported.rows == [("1", "Ann", "Oslo"), ("2", "Bob", "Rome"), ("3", "Cy", "Graz")]


def test_quoted_fields_keep_embedded_delimiters_quotes_and_newlines(tmp_path):
    imported = load(DATA / "quoted_semicolon.csv", tmp_path / "out")
    assert imported.result.dialect.delimiter == ";"
    assert imported.rows == [("1", "Smith; John", 'said "hi"'), ("2", "two\nlines", "plain"), ("3", None, "x")]
    assert imported.bad == []


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings_are_detected_and_values_keep_no_line_ending(tmp_path, newline):
    imported = run(tmp_path, newline.join(["a,b", "1,x", "2,y", "3,z"]) + newline)
    assert imported.result.dialect.newline == newline
    assert imported.rows == [("1", "x"), ("2", "y"), ("3", "z")]


def test_the_delimiter_can_be_overridden(tmp_path):
    # Detection would pick ',' (two columns on every line); the option says ';'.
    imported = run(tmp_path, "a;b,c\n1;2,3\n4;5,6\n", delimiter=";")
    assert imported.result.dialect.delimiter == ";"
    assert imported.names == ["a", "b,c"]
    assert imported.rows == [("1", "2,3"), ("4", "5,6")]


def test_a_headerless_file_declared_so_gets_positional_names(tmp_path):
    imported = run(tmp_path, "alice,paris\nbob,rome\n", header=False)
    assert imported.result.dialect.header is False
    assert imported.names == ["column_1", "column_2"]
    assert [column.original for column in imported.result.columns] == [None, None]
    assert imported.rows == [("alice", "paris"), ("bob", "rome")]


# --- encoding -----------------------------------------------------------------


def test_a_utf8_bom_is_not_part_of_the_first_column_name(tmp_path):
    imported = run(tmp_path, "\ufeffid,name\n1,Zoë\n")
    assert imported.names == ["id", "name"]
    assert imported.rows == [("1", "Zoë")]
    assert imported.result.dialect.encoding == "utf-8-sig"


def excel(cell_break: str) -> bytes:
    """Excel's "CSV UTF-8": a BOM, CRLF records, a header cell and a value holding a line break."""
    return (f'\ufeff"Customer{cell_break}Name",Amount\r\nAlice,10.5\r\nBob,20\r\n'
            f'"Carol{cell_break}Smith",30\r\n').encode()


@pytest.mark.parametrize("cell_break", ["\r\n", "\n"], ids=["crlf-in-cell", "lf-in-cell"])
@pytest.mark.parametrize("options", [{}, {"delimiter": ",", "quote": '"', "header": True}],
                         ids=["detected", "declared"])
def test_an_excel_csv_with_a_line_break_in_a_quoted_header_cell_keeps_every_row(tmp_path, options, cell_break):
    imported = run(tmp_path, excel(cell_break), **options)
    assert imported.names == ["Customer Name", "Amount"]
    assert imported.result.columns[0].original == f"Customer{cell_break}Name"
    assert imported.result.columns[0].renamed_reason == "line breaks and control characters replaced by spaces"
    assert imported.rows == [("Alice", "10.5"), ("Bob", "20"), (f"Carol{cell_break}Smith", "30")]
    assert imported.bad == []
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["quarantine.parquet", "raw.parquet"]


def test_a_bad_record_after_a_two_line_header_is_quarantined_with_its_own_line_number(tmp_path):
    imported = run(tmp_path, b'"Customer\nName",Amount\r\nAlice,10.5\r\nBob,20,7\r\nCy,30\r\n')
    assert imported.rows == [("Alice", "10.5"), ("Cy", "30")]
    assert imported.bad == [(4, "expected 2 fields, found 3", "Bob,20,7")]


def test_a_headerless_file_keeps_the_line_break_of_its_first_value(tmp_path):
    imported = run(tmp_path, '"a\nb",1\nc,2\nd,3\n', header=False)
    assert imported.rows == [("a\nb", "1"), ("c", "2"), ("d", "3")]


@pytest.mark.parametrize(("header", "names"), [
    ('Id,"Customer\nName",Amount', ["Id", "Customer Name", "Amount"]),
    ('"A\r\n x","B\ty",C', ["A x", "B y", "C"]),
    ('"a\nb","a b"', ["a b", "a b_2"]),
], ids=["middle-cell", "several-breaks-and-a-tab", "a-duplicate-after-the-break"])
def test_line_breaks_in_header_cells_become_single_spaces(tmp_path, header, names):
    width = len(names)
    imported = run(tmp_path, f"{header}\r\n" + "".join(",".join([str(i)] * width) + "\r\n" for i in range(3)))
    assert imported.names == names
    assert len(imported.rows) == 3 and imported.bad == []


def test_a_cp1252_file_is_transcoded_with_its_accented_letters_intact(tmp_path):
    imported = load(DATA / "cp1252.csv", tmp_path / "out")
    assert imported.result.dialect.encoding == "cp1252"
    assert imported.result.dialect.encoding_source == "detected"
    assert [row[1:] for row in imported.rows] == [
        ("José", "Zürich"),
        ("François", "Besançon"),
        ("Søren", "Århus"),
        ("Renée", "Köln"),
    ]
    # The temporary UTF-8 copy is gone.
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["quarantine.parquet", "raw.parquet"]


DANISH = ["Århus", "København", "Ålborg", "Hørsholm", "Næstved", "Køge", "Hillerød", "Sønderborg", "Hjørring",
          "Nørresundby", "Ølstykke", "Ærøskøbing", "Fåborg", "Græsted", "Løgstør", "Søren", "Åse", "Jørgen", "Bjørn",
          "Åge", "Ørsted", "Kjær", "Møller", "Sørensen", "Østergaard", "Bøgh", "Løkke", "Kærgaard", "Brøndum", "Høj"]


def test_a_latin1_file_is_read_as_western_not_central_european(tmp_path):
    body = "".join(f"{i},{word}\n" for i, word in enumerate(DANISH))
    imported = run(tmp_path, ("id,name\n" + body).encode("latin-1"))
    dialect = imported.result.dialect
    assert (dialect.encoding, dialect.encoding_alternatives) == ("cp1252", ())
    assert [row[1] for row in imported.rows] == DANISH
    assert "30 distinct words" in dialect.encoding_note


def test_a_reading_that_stays_ambiguous_is_reported_with_its_alternative(tmp_path):
    imported = run(tmp_path, "id,city\n1,Århus\n".encode("latin-1"))
    dialect = imported.result.dialect
    assert dialect.encoding == "cp1252" and imported.rows == [("1", "Århus")]
    assert "cp1250" in dialect.encoding_alternatives or "iso8859-16" in dialect.encoding_alternatives
    assert "ambiguous" in dialect.encoding_note


@pytest.mark.parametrize(
    ("text", "codec"),
    [
        ("id,name,city\n1,Dvořák,Plzeň\n2,Šťastný,Brno\n3,Čapek,Ústí nad Labem\n4,Žižka,Třebíč\n", "cp1250"),
        ("id,name,city\n1,Łukasz,Łódź\n2,Wojciech,Kraków\n3,Zofia,Gdańsk\n4,Paweł,Wrocław\n", "cp1250"),
        ("id,name,city\n1,Иван,Москва\n2,Пётр,Санкт-Петербург\n3,Ольга,Новосибирск\n", "cp1251"),
    ],
)
def test_a_central_european_or_cyrillic_file_is_read_in_its_code_page(tmp_path, text, codec):
    imported = run(tmp_path, text.encode(codec))
    assert imported.result.dialect.encoding == codec
    assert imported.rows == [tuple(line.split(",")) for line in text.splitlines()[1:]]


def test_a_utf16_file_with_bom_is_transcoded(tmp_path):
    imported = run(tmp_path, "name;city\nJosé;Zürich\n李;北京\n".encode("utf-16"))
    assert imported.result.dialect.encoding == "utf-16"
    assert imported.rows == [("José", "Zürich"), ("李", "北京")]


def test_a_declared_encoding_wins_over_detection(tmp_path):
    imported = run(tmp_path, "name\nŐrs\nGyőr\n".encode("iso8859-2"), encoding="latin2")
    assert (imported.result.dialect.encoding, imported.result.dialect.encoding_source) == ("iso8859-2", "declared")
    assert imported.rows == [("Őrs",), ("Győr",)]


def test_a_line_with_invalid_utf8_in_a_utf8_file_is_quarantined_not_mangled(tmp_path):
    imported = run(tmp_path, "a,b\nJosé,1\n".encode() + b"Jos\xe9,2\n" + "Zoë,3\n".encode())
    assert imported.result.dialect.encoding == "utf-8"
    assert imported.rows == [("José", "1"), ("Zoë", "3")]
    assert imported.bad == [(3, "invalid UTF-8", "Jos\\xe9,2")]


# --- column names -------------------------------------------------------------


def test_blank_and_duplicate_headers_are_renamed_and_recorded(tmp_path):
    imported = run(tmp_path, "a, ,A,a_2,,a\n1,2,3,4,5,6\n")
    renamed = [(c.name, c.original, c.renamed_reason) for c in imported.result.columns]
    assert renamed == [
        ("a", "a", None),
        ("column_2", "", "blank header"),
        ("A_3", "A", "duplicate of the header at position 1"),  # a_2 is taken by a real header
        ("a_2", "a_2", None),
        ("column_5", "", "blank header"),
        ("a_4", "a", "duplicate of the header at position 1"),
    ]
    assert imported.rows == [("1", "2", "3", "4", "5", "6")]


def test_a_header_colliding_with_row_id_is_renamed(tmp_path):
    imported = run(tmp_path, "_row_id,x\n7,8\n")
    assert imported.names == ["_row_id_2", "x"]
    assert imported.result.columns[0].renamed_reason == "collides with the reserved column _row_id"
    assert imported.row_ids == [1]
    assert imported.rows == [("7", "8")]


def test_names_with_quotes_spaces_semicolons_and_non_ascii_letters_are_kept(tmp_path):
    header = '"say ""hi""",  with space  ,semi;colon,Straße,naïve\'s'
    imported = run(tmp_path, header + "\n1,2,3,4,5\n", name="my dätä file's.csv")
    names = ['say "hi"', "with space", "semi;colon", "Straße", "naïve's"]
    assert imported.names == names
    assert imported.result.file == "my dätä file's.csv"
    con = duckdb.connect()
    selected = ", ".join(quote_ident(name) for name in names)
    parquet = quote_literal(tmp_path / "out" / "raw.parquet")
    assert con.execute(f"SELECT {selected} FROM {parquet}").fetchall() == [("1", "2", "3", "4", "5")]


def test_an_output_folder_with_quotes_and_spaces_works(tmp_path):
    (tmp_path / "in.csv").write_text("a\n1\n")
    imported = load(tmp_path / "in.csv", tmp_path / "out 'dir' \"x\"")
    assert imported.rows == [("1",)]


# --- values -------------------------------------------------------------------


def test_null_tokens_become_null_and_other_values_stay(tmp_path):
    imported = run(tmp_path, 'a,b,c,d\n--,N/A,,"0"\nnone of them, --,NULL ,0\n')
    assert imported.rows == [(None, None, None, "0"), ("none of them", " --", "NULL ", "0")]
    assert imported.result.null_values == tuple(sorted(NULLS))


def test_extra_null_tokens_from_the_options_are_added(tmp_path):
    imported = run(tmp_path, "a,b\n?,x\n", null_values=("?",))
    assert imported.rows == [(None, "x")]
    assert "?" in imported.result.null_values


def test_row_ids_follow_file_order(tmp_path):
    body = "".join(f"{i},v{i}\n" for i in range(1, 5001))
    imported = run(tmp_path, "n,v\n" + body)
    assert imported.row_ids == list(range(1, 5001))
    assert [row[0] for row in imported.rows] == [str(i) for i in range(1, 5001)]


# --- malformed lines ----------------------------------------------------------

MALFORMED_BAD = [
    (3, "expected 3 fields, found 2", "2,beta"),
    (4, "expected 3 fields, found 4", "3,gamma,30,extra"),
    (8, "expected 3 fields, found 5", "6,delta,60,,"),
    (10, "unterminated quote", '"8,broken,80\n9,zeta,90'),
]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_malformed_lines_are_quarantined_with_their_line_numbers_and_reasons(tmp_path, newline):
    content = (DATA / "malformed.csv").read_text().replace("\n", newline)
    imported = run(tmp_path, content)
    assert [(line, reason, raw.replace(newline, "\n")) for line, reason, raw in imported.bad] == MALFORMED_BAD
    assert [row[0] for row in imported.rows] == ["1", "4", "5", "7"]
    assert imported.rows[1] == ("4", f"multi{newline}line", "40")
    assert (imported.result.rows_loaded, imported.result.rows_quarantined) == (4, 4)  # 8 data records


CONSERVATION_CASES = [
    # (content, data records, rows loaded)
    ("a,b\n1,2\n3\n4,5,6\n7,8\n", 4, 2),
    ("a,b\n1,2\n\n\n3,4\n", 2, 2),  # blank lines are not records
    ("a,b\n1,2\n   \n3,4\n", 3, 2),  # a line of spaces is a record with too few fields
    ('a,b\n1,2\n"oops,3\n4,5\n"x",6\n7,8\n', 3, 2),  # the quote runs on to the next quote
    ('a,b\n"x"y,1\n2,3\n', 2, 1),  # text after a closing quote
    ("a,b\n1,2,\n3,4,,\n5,6\n", 3, 1),  # trailing empty fields are still fields
    ("a,b,c\n" + "1,2,3\n" * 50 + "x\n" * 3, 53, 50),
    ("h\n" + "v\n" * 10, 10, 10),
]


@pytest.mark.parametrize(("content", "records", "loaded"), CONSERVATION_CASES)
def test_row_counts_are_conserved(tmp_path, content, records, loaded):
    imported = run(tmp_path, content)
    assert imported.result.rows_loaded == loaded
    assert imported.result.rows_loaded + imported.result.rows_quarantined == records
    assert len(imported.rows) == loaded and len(imported.bad) == records - loaded


def test_text_after_a_closing_quote_is_named_as_such(tmp_path):
    imported = run(tmp_path, 'a,b\n"x"y,1\n2,3\n')
    assert imported.bad == [(2, "text after a closing quote", '"x"y,1')]


def test_lines_before_the_header_are_quarantined_not_loaded(tmp_path):
    body = "".join(f"{i},n{i},{i * 2}\n" for i in range(30))
    imported = run(tmp_path, "Report generated 2024-01-01\n\nid,name,x\n" + body)
    assert imported.names == ["id", "name", "x"]
    assert imported.result.rows_loaded == 30
    assert imported.bad == [(1, "line before the header row, skipped", "Report generated 2024-01-01")]


def test_a_declared_quote_is_kept_when_the_sample_has_an_unterminated_quote(tmp_path):
    # DuckDB's sniffer fails outright with quote='"' here; the import sniffs without it.
    imported = run(tmp_path, (DATA / "malformed.csv").read_text(), quote='"', escape='"')
    assert (imported.result.dialect.quote, imported.result.dialect.escape) == ('"', '"')
    assert imported.bad == MALFORMED_BAD


def test_backslash_escapes_are_detected(tmp_path):
    imported = run(tmp_path, 'a,b\n"say \\"hi\\", ok",1\n"p",2\n')
    assert imported.result.dialect.escape == "\\"
    assert imported.rows == [('say "hi", ok', "1"), ("p", "2")]


def test_a_line_longer_than_duckdbs_maximum_is_quarantined(tmp_path):
    imported = run(tmp_path, "a,b\n1,2\n" + "x" * 2_200_000 + ",3\n4,5\n")
    assert imported.rows == [("1", "2"), ("4", "5")]
    assert [(line, reason) for line, reason, _ in imported.bad] == [(3, "line longer than DuckDB's maximum line size")]


# --- files that cannot be imported -------------------------------------------


def test_a_header_only_file_loads_zero_rows(tmp_path):
    imported = run(tmp_path, "id,name,amount\n")
    assert imported.names == ["id", "name", "amount"]
    assert (imported.result.rows_loaded, imported.result.rows_quarantined) == (0, 0)
    assert imported.rows == [] and imported.bad == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", r"the file is empty \(0 bytes\)"),
        (b"  \n\r\n\t\n", "the file holds only whitespace"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", r"line 3: contains a NUL byte"),
        (b"a,b\n1,2\n3,\x004\n", r"line 3: contains a NUL byte"),
    ],
    ids=["zero-bytes", "whitespace", "png", "nul-in-text"],
)
def test_a_file_that_is_not_csv_text_fails_naming_the_file(tmp_path, content, message):
    with pytest.raises(ImportFailed, match=r"bad file\.csv: " + message):
        run(tmp_path, content, name="bad file.csv")


def test_a_missing_file_fails_naming_the_file(tmp_path):
    with pytest.raises(ImportFailed, match=r"nowhere\.csv: cannot read the file \(No such file"):
        load(tmp_path / "nowhere.csv", tmp_path / "out")


def test_a_directory_fails_naming_it(tmp_path):
    (tmp_path / "folder.csv").mkdir()
    with pytest.raises(ImportFailed, match=r"folder\.csv: cannot read the file"):
        load(tmp_path / "folder.csv", tmp_path / "out")


def test_an_unknown_declared_encoding_fails_naming_the_file(tmp_path):
    with pytest.raises(ImportFailed, match=r"data\.csv: unknown encoding 'klingon'"):
        run(tmp_path, "a\n1\n", encoding="klingon")


def test_bytes_invalid_in_the_declared_encoding_fail_with_the_line(tmp_path):
    with pytest.raises(ImportFailed, match=r"data\.csv: line 2: bytes that are not valid ascii"):
        run(tmp_path, "a\nJosé\n", encoding="ascii")


# --- outputs ------------------------------------------------------------------


def test_the_same_file_gives_a_byte_identical_raw_parquet(tmp_path):
    path = DATA / "malformed.csv"
    first = load(path, tmp_path / "one")
    con = duckdb.connect()
    con.execute("SET threads = 2")
    second = load(path, tmp_path / "two", con=con)
    assert first.result == second.result
    for name in ("raw.parquet", "quarantine.parquet"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


def test_raw_parquet_keeps_the_file_order_and_its_bytes_whatever_the_thread_count(tmp_path):
    path = tmp_path / "long.csv"  # more rows than a Parquet row group holds, so threads may split the work
    path.write_text("k,v\n" + "".join(f"{i},v{i % 97}\n" for i in range(250_000)), encoding="utf-8")
    files = []
    for threads in (1, 2, 4):
        con = duckdb.connect(config={"threads": threads})
        load(path, tmp_path / f"t{threads}", con=con)
        files.append((tmp_path / f"t{threads}" / "raw.parquet").read_bytes())
    assert files[0] == files[1] == files[2]
    stored = duckdb.connect().execute(  # as stored, without sorting: row ids and values in the file's order
        "SELECT count(*) FILTER (WHERE _row_id <> k::BIGINT + 1), count(*) FROM read_parquet(?)",
        [str(tmp_path / "t2" / "raw.parquet")]).fetchone()
    assert stored == (0, 250_000)


def test_outputs_have_the_promised_schema_even_when_empty(tmp_path):
    run(tmp_path, "id,name\n")
    con = duckdb.connect()
    raw = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(tmp_path / "out" / "raw.parquet")]).fetchall()
    bad = con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(tmp_path / "out" / "quarantine.parquet")])
    assert [(r[0], r[1]) for r in raw] == [("_row_id", "BIGINT"), ("id", "VARCHAR"), ("name", "VARCHAR")]
    assert [(r[0], r[1]) for r in bad.fetchall()] == [
        ("file", "VARCHAR"),
        ("line", "BIGINT"),
        ("reason", "VARCHAR"),
        ("raw_line", "VARCHAR"),
    ]


def test_the_quarantine_names_the_file(tmp_path):
    run(tmp_path, "a,b\n1\n", name="x y.csv")
    con = duckdb.connect()
    rows = con.execute("SELECT file, line FROM read_parquet(?)", [str(tmp_path / "out" / "quarantine.parquet")])
    assert rows.fetchall() == [("x y.csv", 2)]


def test_the_result_is_json_serialisable(tmp_path):
    imported = run(tmp_path, "a,,a\n1,2,3\n")
    data = json.loads(json.dumps(dataclasses.asdict(imported.result)))
    assert data["dialect"] == {
        "delimiter": ",",
        "quote": '"',
        "escape": '"',
        "header": True,
        "newline": "\n",
        "encoding": "utf-8",
        "encoding_source": "detected",
        "encoding_note": None,
        "encoding_alternatives": [],
    }
    assert data["columns"][2] == {
        "name": "a_2",
        "original": "a",
        "position": 3,
        "renamed_reason": "duplicate of the header at position 1",
    }


def test_the_connection_settings_are_left_as_they_were(tmp_path):
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = false")
    (tmp_path / "in.csv").write_text("a\n1\n")
    load(tmp_path / "in.csv", tmp_path / "out", con=con)
    assert con.execute("SELECT current_setting('preserve_insertion_order')").fetchone() == (False,)
    assert not [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]


# --- sql helpers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "quoted"), [("plain", '"plain"'), ('a "b"', '"a ""b"""'), ("x;DROP", '"x;DROP"'), ("ß é", '"ß é"')]
)
def test_quote_ident_doubles_double_quotes(name, quoted):
    assert quote_ident(name) == quoted
    assert duckdb.connect().execute(f"SELECT 1 AS {quoted}").description[0][0] == name


def test_quote_literal_doubles_single_quotes_and_accepts_paths():
    assert quote_literal("it's") == "'it''s'"
    assert quote_literal(Path("/a b/c'd")) == "'/a b/c''d'"
    assert duckdb.connect().execute(f"SELECT {quote_literal(chr(39) * 3)}").fetchone() == ("'''",)
