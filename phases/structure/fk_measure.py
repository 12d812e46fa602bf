"""Exact measurements of foreign-key candidates in DuckDB, for the relationships phase.

1. Every parent's distinct values are read once into one table per type family, with their
   position in the parent's row order (pid, value, rows, position).
2. Child columns of one table are grouped into (value, rows), a batch of columns per scan, and
   joined with the values of all their parents in one query: exact value and row containment,
   fan-out, how many matched values sit at the same position in both tables' row orders, the
   child values inside the parent's range, and the density of the parent in the overlap of the
   two ranges (the chance containment).
3. Composite candidates are measured as tuples against the parent key's distinct tuples
   (screened first on a deterministic sample of a big child table).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from phases.core.records import Scalar, json_scalar
from phases.core.sql import quote_ident
from phases.shared.narrow import one_row
from phases.structure.fk_evidence import Measure
from phases.structure.key_candidates import ORDINAL, STORAGE, KeyColumn, ParentKey, TableInfo, measured_floor

if TYPE_CHECKING:
    import duckdb

    from phases.structure.relationship_settings import RelationshipSettings

ROW_ID = "_row_id"
CHILD = "__rel_child"  # the value counts of the child columns being measured (dropped after)
PAIRS = "__rel_pairs"  # (child cid, parent pid) pairs of the batch being measured
RANGES = "__rel_ranges"  # (pid, lo, hi) of the ordinal parents
ORPHANS = "__rel_orphans"  # (cid, pid, value, rows) of the child values no parent holds
UNPIVOT_MAX_CELLS = 4_000_000  # rows x columns unpivoted in one batch; never changes results, only speed
PARENT_TUPLES = "__rel_parent_tuples"  # the distinct tuples of the composite key being measured (dropped after)


def cast(column: str, fam: str) -> str:
    return f"TRY_CAST({quote_ident(column)} AS {STORAGE[fam]})"


def load_parent_values(con: duckdb.DuckDBPyConnection, tables: Mapping[str, TableInfo],
                       parents: Sequence[ParentKey]) -> dict[int, int]:
    """The distinct values of every parent, as one table of (pid, value, rows, position, first row)
    per type family, position being the rank of the value's first row: each parent is read once,
    whatever the number of children measured against it. Returns pid -> distinct values."""
    families = sorted({tables[p.table].columns[p.column].key_family for p in parents})
    for fam in families:
        con.execute(f"CREATE OR REPLACE TEMP TABLE __rel_pv_{fam} (pid INTEGER, v {STORAGE[fam]}, n BIGINT, "
                    f"pos BIGINT, first BIGINT)")
    for p in sorted(parents, key=lambda p: p.pid):
        table = tables[p.table]
        fam = table.columns[p.column].key_family
        con.execute(
            f"INSERT INTO __rel_pv_{fam} SELECT {p.pid}, v, n, row_number() OVER (ORDER BY first, v), first FROM "
            f"(SELECT v, count(*) AS n, min({ROW_ID}) AS first FROM (SELECT {cast(p.column, fam)} AS v, {ROW_ID} "
            f"FROM {quote_ident(table.view)}) WHERE v IS NOT NULL GROUP BY v)"
        )
    sizes = {p.pid: 0 for p in parents}
    for fam in families:
        sizes |= dict(con.execute(f"SELECT pid, count(*) FROM __rel_pv_{fam} GROUP BY pid").fetchall())
    return sizes


def drop_parent_values(con: duckdb.DuckDBPyConnection) -> None:
    for fam in STORAGE:
        con.execute(f"DROP TABLE IF EXISTS __rel_pv_{fam}")


def _child_values(con: duckdb.DuckDBPyConnection, table: TableInfo, columns: Sequence[KeyColumn], fam: str) -> None:
    """(cid, value, rows, first row, position) of a batch of child columns, cid being the position
    in `columns` and position the rank of the value's first row. One column is grouped directly;
    several are unpivoted in one scan, which on a wide table costs one read instead of one per
    column (499 columns of 5,000 rows: 0.15 s against 11 s)."""
    if len(columns) == 1:
        source = f"SELECT 0 AS cid, {cast(columns[0].name, fam)} AS v, {ROW_ID} FROM {quote_ident(table.view)}"
    else:
        casts = ", ".join(f'{cast(c.name, fam)} AS "{i}"' for i, c in enumerate(columns))
        source = (f"SELECT CAST(cid AS INTEGER) AS cid, v, {ROW_ID} FROM (UNPIVOT (SELECT {ROW_ID}, {casts} "
                  f"FROM {quote_ident(table.view)}) ON COLUMNS(* EXCLUDE ({ROW_ID})) INTO NAME cid VALUE v)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {CHILD} AS SELECT cid, v, n, first, "
                f"row_number() OVER (PARTITION BY cid ORDER BY first, v) AS pos FROM "
                f"(SELECT cid, v, count(*) AS n, min({ROW_ID}) AS first FROM ({source}) WHERE v IS NOT NULL "
                f"GROUP BY cid, v)")


def batches(table: TableInfo, columns: Sequence[KeyColumn]) -> list[list[KeyColumn]]:
    """Child columns in groups whose unpivoted size stays under UNPIVOT_MAX_CELLS: a tall table gets
    one column per group (direct grouping is twice as fast there), a wide one hundreds."""
    size = max(1, UNPIVOT_MAX_CELLS // max(1, table.rows))
    return [list(columns[i:i + size]) for i in range(0, len(columns), size)]


def _pairs_table(con: duckdb.DuckDBPyConnection, pairs: Sequence[tuple[int, int]]) -> None:
    con.execute(f"CREATE OR REPLACE TEMP TABLE {PAIRS} AS SELECT unnest(?::INTEGER[]) AS cid, "
                f"unnest(?::INTEGER[]) AS pid", [[c for c, _ in pairs], [p for _, p in pairs]])


def _ranges(con: duckdb.DuckDBPyConnection, fam: str,
            pairs: Sequence[tuple[int, int]]) -> dict[tuple[int, int], tuple[float, int]]:
    """For each pair of an ordinal family: how densely the parent fills the overlap of the two
    ranges (the containment a column of arbitrary values there would reach by chance), and how
    many child values lie inside the parent's range."""
    if fam not in ORDINAL or not pairs:
        return {}
    width = "datediff('day', o.lo, o.hi) + 1" if fam == "date" else "CAST(o.hi AS HUGEINT) - o.lo + 1"
    _pairs_table(con, pairs)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {RANGES} AS SELECT pid, min(v) AS lo, max(v) AS hi "
                f"FROM __rel_pv_{fam} WHERE pid IN (SELECT pid FROM {PAIRS}) GROUP BY pid")
    density = {(cid, pid): min(1.0, n / int(w)) if w and w > 0 else 0.0 for cid, pid, n, w in con.execute(
        f"WITH c AS (SELECT cid, min(v) AS lo, max(v) AS hi FROM {CHILD} GROUP BY cid), "
        f"o AS (SELECT g.cid, g.pid, greatest(c.lo, r.lo) AS lo, least(c.hi, r.hi) AS hi FROM {PAIRS} g "
        f"JOIN c USING (cid) JOIN {RANGES} r USING (pid)) "
        f"SELECT o.cid, o.pid, count(p.v), any_value({width}) FROM o "
        f"LEFT JOIN __rel_pv_{fam} p ON p.pid = o.pid AND p.v BETWEEN o.lo AND o.hi GROUP BY o.cid, o.pid"
    ).fetchall()}
    inside = dict(((cid, pid), n) for cid, pid, n in con.execute(
        f"SELECT g.cid, g.pid, count(c.v) FROM {PAIRS} g JOIN {RANGES} r USING (pid) "
        f"LEFT JOIN {CHILD} c ON c.cid = g.cid AND c.v BETWEEN r.lo AND r.hi GROUP BY g.cid, g.pid"
    ).fetchall())
    con.execute(f"DROP TABLE IF EXISTS {RANGES}")
    return {k: (d, int(inside.get(k, 0))) for k, d in density.items()}


def measure_batch(con: duckdb.DuckDBPyConnection, table: TableInfo, columns: Sequence[KeyColumn],
                  parents: Mapping[str, Sequence[ParentKey]], sizes: Mapping[int, int],
                  settings: RelationshipSettings) -> list[tuple[str, int, Measure]]:
    """Measure a batch of child columns of one family against all their parents in one join:
    matched values and rows, the most rows per matched value, fan-out, the positions of the
    matched parent values. Returns (child column, pid, measure) for every pair."""
    fam = columns[0].key_family
    _child_values(con, table, columns, fam)
    pairs = [(cid, p.pid) for cid, c in enumerate(columns) for p in parents[c.name]]
    totals = {cid: (values, int(rows)) for cid, values, rows in
              con.execute(f"SELECT cid, count(*), sum(n) FROM {CHILD} GROUP BY cid").fetchall()}
    _pairs_table(con, pairs)
    found = {(cid, pid): rest for cid, pid, *rest in con.execute(
        f"SELECT g.cid, g.pid, count(*), sum(c.n), max(c.n), sum(c.n * (p.n - 1)), count(*) FILTER (c.pos = p.pos), "
        f"max(c.pos), count(*) FILTER (c.first = p.first), max(c.first) "
        f"FROM {PAIRS} g JOIN {CHILD} c ON c.cid = g.cid JOIN __rel_pv_{fam} p ON p.pid = g.pid AND p.v = c.v "
        f"GROUP BY g.cid, g.pid"
    ).fetchall()}
    floor = measured_floor(settings)
    measures = {}
    for cid, pid in pairs:
        values, non_null = totals.get(cid, (0, 0))
        matched, rows, most, fan, aligned, last, same_rows, last_row = found.get((cid, pid), (0,) * 8)
        measures[(cid, pid)] = Measure(
            child_values=values, child_non_null=non_null, matched_values=matched, matched_rows=int(rows),
            max_rows_per_value=int(most), fan_out_rows=int(fan), parent_values=sizes[pid], density=0.0,
            in_span_values=values, aligned_ranks=int(aligned), last_rank=int(last or 0), aligned_rows=int(same_rows),
            last_first_row=int(last_row or 0))
    ranges = _ranges(con, fam, [k for k, m in measures.items() if m.child_values and m.containment >= floor / 2])
    for key, m in measures.items():
        density, inside = ranges.get(key, (0.0, m.child_values))
        measures[key] = replace(m, density=density, in_span_values=inside)
    dirty = [k for k, m in measures.items()
             if m.child_values and m.matched_values < m.child_values
             and max(m.containment, m.in_span_containment) >= floor]
    examples, trimmed = _orphans(con, fam, dirty, settings)
    result = []
    for (cid, pid), m in measures.items():
        if (cid, pid) in examples or (cid, pid) in trimmed:
            m = replace(m, orphan_examples=examples.get((cid, pid), ()), trimmed_orphans=trimmed.get((cid, pid)))
        result.append((columns[cid].name, pid, m))
    con.execute(f"DROP TABLE IF EXISTS {CHILD}")
    return result


Examples = tuple[tuple[Scalar | tuple[Scalar, ...], int], ...]


def _orphans(con: duckdb.DuckDBPyConnection, fam: str, pairs: Sequence[tuple[int, int]], settings: RelationshipSettings
             ) -> tuple[dict[tuple[int, int], Examples], dict[tuple[int, int], tuple[int, int]]]:
    """For every pair at once: the most frequent orphan values and, for text, how many orphans
    would match after trimming and lower-casing (padded or re-cased names are orphans to an exact
    join, not to a reader)."""
    if not pairs:
        return {}, {}
    _pairs_table(con, pairs)
    orphans = (f"SELECT g.cid, g.pid, c.v, c.n FROM {PAIRS} g JOIN {CHILD} c ON c.cid = g.cid "
               f"WHERE NOT EXISTS (SELECT 1 FROM __rel_pv_{fam} p WHERE p.pid = g.pid AND p.v = c.v)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {ORPHANS} AS {orphans}")
    examples: dict[tuple[int, int], list[tuple[Scalar | tuple[Scalar, ...], int]]] = {}
    for cid, pid, v, n in con.execute(
        f"SELECT cid, pid, v, n FROM (SELECT *, row_number() OVER (PARTITION BY cid, pid ORDER BY n DESC, v) AS k "
        f"FROM {ORPHANS}) WHERE k <= {settings.orphan_examples} ORDER BY cid, pid, n DESC, v"
    ).fetchall():
        examples.setdefault((cid, pid), []).append((json_scalar(v), int(n)))
    trimmed: dict[tuple[int, int], tuple[int, int]] = {}
    if fam == "text":
        trimmed = {k: (0, 0) for k in pairs}
        for cid, pid, values, rows in con.execute(
            f"SELECT o.cid, o.pid, count(*), sum(o.n) FROM {ORPHANS} o WHERE EXISTS (SELECT 1 FROM __rel_pv_{fam} p "
            f"WHERE p.pid = o.pid AND lower(trim(p.v)) = lower(trim(o.v))) GROUP BY o.cid, o.pid"
        ).fetchall():
            trimmed[(cid, pid)] = (int(values), int(rows))
    con.execute(f"DROP TABLE IF EXISTS {ORPHANS}")
    return {k: tuple(v) for k, v in examples.items()}, trimmed


def self_rows(con: duckdb.DuckDBPyConnection, table: TableInfo, child: str, parent: str) -> int:
    """Rows of one table whose child column equals their own parent column: a column that points
    at its own row is a copy, not a reference to another row."""
    fam = table.columns[child].key_family
    return int(one_row(con.execute(
        f"SELECT count(*) FROM {quote_ident(table.view)} WHERE {cast(child, fam)} = {cast(parent, fam)}"))[0])


def pointers(con: duckdb.DuckDBPyConnection, table: TableInfo, child: str, parent: str) -> tuple[int, float]:
    """For a column that references its own table: the rows that point at another row, and the
    share of them that point at a row which itself points somewhere (only those can close a cycle)."""
    fam = table.columns[child].key_family
    c, p = cast(child, fam), cast(parent, fam)
    count, closing = one_row(con.execute(
        f"WITH e AS (SELECT {p} AS node, {c} AS target FROM {quote_ident(table.view)} "
        f"WHERE {c} IS NOT NULL AND {p} IS NOT NULL AND {c} <> {p}) "
        f"SELECT count(*), count(*) FILTER (WHERE target IN (SELECT node FROM e)) FROM e"))
    return int(count), (closing / count if count else 0.0)


def acyclic(con: duckdb.DuckDBPyConnection, table: TableInfo, child: str, parent: str) -> bool:
    """Whether following a column that references its own table never comes back to a row (a
    hierarchy: managers above employees); rows pointing at themselves aside."""
    fam = table.columns[child].key_family
    up = dict(con.execute(f"SELECT {cast(parent, fam)}, {cast(child, fam)} FROM {quote_ident(table.view)} "
                          f"WHERE {cast(child, fam)} IS NOT NULL AND {cast(parent, fam)} IS NOT NULL "
                          f"AND {cast(child, fam)} <> {cast(parent, fam)}").fetchall())
    state: dict[object, int] = {}  # 1: on the current path, 2: known to end without a cycle
    for start in up:
        path, node = [], start
        while node in up and state.get(node) is None:
            state[node] = 1
            path.append(node)
            node = up[node]
        if state.get(node) == 1:
            return False
        for visited in path:
            state[visited] = 2
    return True


def identical_columns(con: duckdb.DuckDBPyConnection, table: TableInfo,
                      columns: Sequence[str]) -> list[tuple[str, str]]:
    """Pairs (a, b) of the given columns, a before b, equal on every row. Only columns alike in
    the profiles (family, distinct and null counts, minimum and maximum) are compared."""
    alike: dict[tuple[object, ...], list[str]] = {}
    for name in columns:
        c = table.columns[name]
        bounds = (None, None) if c.family == "text" else _bounds(c)
        alike.setdefault((c.family, c.distinct, c.profile.null_count, *bounds), []).append(name)
    out = []
    for group in alike.values():
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                fam = table.columns[a].key_family
                differ = one_row(con.execute(f"SELECT count(*) FROM {quote_ident(table.view)} "
                                             f"WHERE {cast(a, fam)} IS DISTINCT FROM {cast(b, fam)}"))[0]
                if differ == 0:
                    out.append((a, b))
    return sorted(out, key=lambda pair: (columns.index(pair[0]), columns.index(pair[1])))


def _bounds(column: KeyColumn) -> tuple[object, object]:
    p = column.profile
    if p.numeric is not None:
        return p.numeric.min, p.numeric.max
    if p.temporal is not None:
        return p.temporal.min, p.temporal.max
    return None, None


# --- composite keys --------------------------------------------------------------------------


def _tuples_sql(table: TableInfo, columns: Sequence[str], families: Sequence[str], sample: str = "") -> str:
    """(k0, k1, ..., n): the distinct complete tuples of `columns` with their row counts, on the
    rows `sample` (a WHERE condition) selects, or on all."""
    casts = ", ".join(f"{cast(c, f)} AS k{i}" for i, (c, f) in enumerate(zip(columns, families, strict=True)))
    keys = [f"k{i}" for i in range(len(columns))]
    where = f" WHERE {sample}" if sample else ""
    return (f"SELECT {', '.join(keys)}, count(*) AS n FROM (SELECT {casts} FROM {quote_ident(table.view)}{where}) "
            f"WHERE {' AND '.join(f'{k} IS NOT NULL' for k in keys)} GROUP BY ALL")


def sample_blocks(con: duckdb.DuckDBPyConnection, table: TableInfo, settings: RelationshipSettings) -> str:
    """A WHERE condition picking `composite_sample_blocks` evenly spaced runs of _row_id, about
    `composite_sample_rows` rows in all: deterministic, and Parquet skips the row groups in between
    (on 6 M rows, 0.08 s against 0.32 s for every n-th row). Empty when the table is small."""
    if table.rows <= settings.composite_sample_rows:
        return ""
    low, high = one_row(con.execute(f"SELECT min({ROW_ID}), max({ROW_ID}) FROM {quote_ident(table.view)}"))
    blocks = settings.composite_sample_blocks
    length, stride = settings.composite_sample_rows // blocks, (high - low + 1) // blocks
    starts = [low + b * stride for b in range(blocks)]
    return " OR ".join(f"{ROW_ID} BETWEEN {start} AND {start + length - 1}" for start in starts)


ParentTuples = tuple[int, int, tuple[tuple[object, object] | None, ...]]  # tuples, value product, ordinal ranges


def load_parent_tuples(con: duckdb.DuckDBPyConnection, parent: TableInfo, key: Sequence[str]) -> ParentTuples:
    """Materialise a composite key's distinct tuples once for all its candidates. Returns the
    number of tuples, the size of the product of its columns' distinct values, and the range of
    each ordinal column (None for the others)."""
    families = [parent.columns[k].key_family for k in key]
    con.execute(f"CREATE OR REPLACE TEMP TABLE {PARENT_TUPLES} AS {_tuples_sql(parent, key, families)}")
    product = " * ".join(f"count(DISTINCT k{i})" for i in range(len(key)))
    bounds = ", ".join(f"min(k{i}), max(k{i})" for i in range(len(key)))
    row = one_row(con.execute(f"SELECT count(*), {product}, {bounds} FROM {PARENT_TUPLES}"))
    ranges = tuple((row[2 + 2 * i], row[3 + 2 * i]) if f in ORDINAL else None for i, f in enumerate(families))
    return int(row[0]), int(row[1] or 0), ranges


def measure_tuples(con: duckdb.DuckDBPyConnection, child: TableInfo, columns: Sequence[str], parent: TableInfo,
                   key: Sequence[str], parent_size: ParentTuples, settings: RelationshipSettings,
                   sample: str = "") -> Measure:
    """Exact containment of child tuples in the parent's key tuples (loaded by `load_parent_tuples`),
    on every row or, when screening, on the rows `sample` selects. The density is that of the
    parent's tuples in the product of its columns' values: given that each column matches, how
    often the whole tuple would. Child tuples whose ordinal columns lie outside the parent's
    ranges (a fact table covering years its lookup does not) are counted apart."""
    families = [parent.columns[k].key_family for k in key]
    keys = ", ".join(f"k{i}" for i in range(len(key)))
    tuples, space, ranges = parent_size
    inside = " AND ".join(f"k{i} BETWEEN ? AND ?" for i, r in enumerate(ranges) if r is not None) or "true"
    bounds = [b for r in ranges if r is not None for b in r]
    c_sql = _tuples_sql(child, columns, families, sample)
    values, non_null, matched, matched_rows, most, fan, in_span = one_row(con.execute(
        f"WITH c AS MATERIALIZED ({c_sql}) "
        f"SELECT count(*), coalesce(sum(c.n), 0), count(p.n), coalesce(sum(c.n) FILTER (WHERE p.n IS NOT NULL), 0), "
        f"coalesce(max(c.n) FILTER (WHERE p.n IS NOT NULL), 0), coalesce(sum(c.n * (p.n - 1)), 0), "
        f"count(*) FILTER (WHERE {inside}) FROM c LEFT JOIN {PARENT_TUPLES} p USING ({keys})", bounds
    ))
    m = Measure(child_values=values, child_non_null=int(non_null), matched_values=matched,
                matched_rows=int(matched_rows), max_rows_per_value=int(most), fan_out_rows=int(fan),
                parent_values=tuples, density=min(1.0, tuples / space) if space else 0.0,
                in_span_values=int(in_span))
    if not sample and m.matched_values < m.child_values and settings.orphan_examples:
        examples = con.execute(
            f"WITH c AS ({c_sql}) SELECT {keys}, n FROM c ANTI JOIN {PARENT_TUPLES} USING ({keys}) "
            f"ORDER BY n DESC, {keys} LIMIT {settings.orphan_examples}"
        ).fetchall()
        m = replace(m, orphan_examples=tuple((tuple(json_scalar(v) for v in row[:-1]), int(row[-1]))
                                             for row in examples))
    return m


def drop_parent_tuples(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"DROP TABLE IF EXISTS {PARENT_TUPLES}")
