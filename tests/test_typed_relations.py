"""phases.core.sql.typed_relations: one relation per typed file for a task's many queries, a
small table copied into memory once, a large one a view over its file, both giving the file's rows."""

from __future__ import annotations

import duckdb

from phases.core.sql import quote_literal, typed_relations


def test_a_small_table_is_copied_and_a_large_one_stays_a_view_with_the_same_rows(tmp_path):
    con = duckdb.connect()
    files = {}
    for name, rows in (("small", 3), ("large", 50)):
        files[name] = tmp_path / f"{name}.parquet"
        con.execute(f"COPY (SELECT range AS id, range * 2 AS \"two words\" FROM range({rows})) "
                    f"TO {quote_literal(str(files[name]))} (FORMAT parquet)")
    con.execute("SET VARIABLE dataraum_batch_values = 10")  # 3 x 2 cells fit, 50 x 2 do not
    names = typed_relations(con, files, {"small": 3 * 2, "large": 50 * 2}, "__t")
    kinds = dict(con.execute("SELECT table_name, table_type FROM information_schema.tables "
                             "WHERE table_name LIKE '\\_\\_t%' ESCAPE '\\'").fetchall())
    assert kinds == {names["small"]: "LOCAL TEMPORARY", names["large"]: "VIEW"}
    for table, file in files.items():
        read = con.execute(f"SELECT sum(\"two words\"), count(*) FROM {names[table]}").fetchone()
        assert read == con.execute(f"SELECT sum(\"two words\"), count(*) FROM read_parquet({quote_literal(str(file))})"
                                   ).fetchone()
    file = files["small"]
    file.unlink()  # the copy no longer needs its file; the view would
    assert con.execute(f"SELECT count(*) FROM {names['small']}").fetchone() == (3,)
