"""Relations that hold in the clean data, for the corruption injector (bench/inject.py): formulas
within a row, copies across a foreign key, balances per group and aggregates of a child table that
a parent table stores. An injection that breaks one of them makes its other columns collateral:
a pipeline that flags them is right to.

Stdlib only, like bench/inject_data.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import permutations

from inject_data import ForeignKey, Schema, Table, number

TOLERANCE = 0.005  # money in cents: two sides agree when they differ by less than half a cent
FORMULA_MIN_SHARE = 0.99  # a formula or balance of the clean data holds on this share of its rows (groups)
COPY_MIN_SHARE = 0.95  # a copy or an aggregate across a foreign key holds on this share of the rows
MAX_FORMULA_COLUMNS = 12  # numeric columns per table tried as formula operands (triples grow as n^3)


@dataclass(frozen=True)
class Relation:
    """A relation between columns that holds in the clean data; `columns` are 'table.column' names."""

    kind: str  # formula (c = a + b or a - b on a row), copy (x = +-y across a foreign key), balance, aggregate
    columns: tuple[str, ...]
    text: str
    holds: float  # share of rows (formula, copy, aggregate) or groups (balance) on which it holds
    grouping: Grouping | None = None  # how an aggregate groups the child's rows

    @property
    def target(self) -> str:
        """The column a broken copy alters: the result of a formula, the child side of a copy."""
        return self.columns[0]


@dataclass(frozen=True)
class Grouping:
    """parent.y = sum(child.x) per (child's reference to the parent's key column, period of a date): a monthly
    balance stores the sum of the journal's lines per account and month."""

    parent: str
    key: str  # the parent's key column that is a reference (account_id)
    period: str | None  # the parent's period column (year_month or date), if its key has one
    child: str
    child_key: str  # the child's column referring to the same table as `key`
    date: tuple[str, ...]  # (column) of the child, or (reference, table, key, column) to a dated parent of the child


def _share(hits: int, total: int) -> float:
    return hits / total if total else 0.0


def _formula_share(a: list[float | None], b: list[float | None], c: list[float | None], sign: int) -> float:
    rows = [(x, y, z) for x, y, z in zip(a, b, c, strict=True) if x is not None and y is not None and z is not None]
    # c = a + b where b is (nearly) always 0 is a copy of a, no formula: each operand alone must fail
    alone = max(_share(sum(abs(x - z) < TOLERANCE for x, _, z in rows), len(rows)),
                _share(sum(abs(sign * y - z) < TOLERANCE for _, y, z in rows), len(rows)))
    if len(rows) < 10 or alone >= FORMULA_MIN_SHARE:
        return 0.0
    return _share(sum(abs(x + sign * y - z) < TOLERANCE for x, y, z in rows), len(rows))


def formulas(table: Table, schema: Schema) -> list[Relation]:
    """c = a + b or c = a - b on (nearly) every row; of the equivalent spellings, the one whose result has the
    most distinct values (a sum or difference has more values than either operand)."""
    columns = schema.measures(table)[:MAX_FORMULA_COLUMNS]
    values = {c: [number(v) for v in table.values(c)] for c in columns}
    distinct = {c: len(set(v)) for c, v in values.items()}
    found: dict[frozenset[str], Relation] = {}
    for c, a, b in permutations(columns, 3):
        if distinct[c] < max(distinct[a], distinct[b]) or frozenset((a, b, c)) in found:
            continue
        for sign, op in ((1, "+"), (-1, "-")):
            share = _formula_share(values[a], values[b], values[c], sign)
            if share >= FORMULA_MIN_SHARE:
                found[frozenset((a, b, c))] = Relation("formula", tuple(f"{table.name}.{x}" for x in (c, a, b)),
                                                       f"{table.name}.{c} = {a} {op} {b}", round(share, 4))
                break
    return list(found.values())


def copies(tables: dict[str, Table], schema: Schema) -> list[Relation]:
    found = []
    for fk in schema.foreign_keys:
        child, parent = tables[fk.child], tables[fk.parent]
        if child.name == parent.name:
            continue
        for x in schema.measures(child):
            for y in schema.measures(parent):
                found.extend(_copy(child, parent, fk, x, y))
    return found


def _copy(child: Table, parent: Table, fk: ForeignKey, x: str, y: str) -> list[Relation]:
    lookup = dict(zip(parent.values(fk.parent_column), parent.values(y), strict=True))
    pairs = []
    for k, v in zip(child.values(fk.child_column), child.values(x), strict=True):
        a, b = number(v), number(lookup.get(k, ""))
        if a is not None and b is not None:
            pairs.append((a, b))
    out = []
    for sign, text in ((1, ""), (-1, "-")):
        share = _share(sum(abs(a - sign * b) < TOLERANCE for a, b in pairs), len(pairs))
        if pairs and share >= COPY_MIN_SHARE:
            out.append(Relation("copy", (f"{child.name}.{x}", f"{parent.name}.{y}"),
                                f"{child.name}.{x} = {text}{parent.name}.{y} via {fk.child_column}", round(share, 4)))
    return out


def balances(table: Table, schema: Schema) -> list[Relation]:
    """sum(a) = sum(b) within every group of a grouping column: double entry and its kin."""
    measures = schema.measures(table)
    groupers = [c for c in table.header
                if c not in measures and 2 <= len(set(table.values(c))) <= len(table.rows) / 1.5]
    found = []
    for g in groupers:
        keys = table.values(g)
        for i, a in enumerate(measures):
            for b in measures[i + 1:]:
                share = balance_share(keys, table.values(a), table.values(b))
                if share >= FORMULA_MIN_SHARE:
                    found.append(Relation("balance", (f"{table.name}.{a}", f"{table.name}.{b}", f"{table.name}.{g}"),
                                          f"sum({a}) = sum({b}) per {table.name}.{g}", round(share, 4)))
    return found


def balance_share(keys: list[str], a: list[str], b: list[str]) -> float:
    sums: dict[str, float] = {}
    broken: set[str] = set()
    for k, x, y in zip(keys, a, b, strict=True):
        u, v = number(x), number(y)
        if u is None or v is None:
            broken.add(k)  # a line that does not parse leaves its group unbalanced
            continue
        sums[k] = sums.get(k, 0.0) + u - v
    groups = set(keys)
    return _share(sum(k not in broken and abs(sums.get(k, 0.0)) < TOLERANCE for k in groups), len(groups))


def relations(tables: dict[str, Table], schema: Schema) -> list[Relation]:
    found = [r for t in tables.values() for r in formulas(t, schema)]
    found += copies(tables, schema)
    found += [r for t in tables.values() for r in balances(t, schema)]
    found += aggregates(tables, schema)
    return sorted(found, key=lambda r: (r.kind, r.columns))


def holds(relation: Relation, tables: dict[str, Table], schema: Schema) -> float:
    """The share on which a relation of the clean data holds in (corrupted) tables, original names."""
    table, *_ = relation.columns[0].split(".", 1)
    names = [c.split(".", 1)[1] for c in relation.columns]
    if relation.kind == "formula":
        t = tables[table]
        sign = -1 if " - " in relation.text else 1
        c, a, b = ([number(v) for v in t.values(n)] for n in names)
        rows = list(zip(a, b, c, strict=True))
        return _share(sum(x is not None and y is not None and z is not None and abs(x + sign * y - z) < TOLERANCE
                          for x, y, z in rows), len(rows))
    if relation.kind == "balance":
        t = tables[table]
        return balance_share(t.values(names[2]), t.values(names[0]), t.values(names[1]))
    if relation.kind == "aggregate" and relation.grouping is not None:
        return aggregate_share(tables, relation.grouping, names[0], names[1])
    child_table, parent_table = (c.split(".", 1)[0] for c in relation.columns)
    fk = next(f for f in schema.foreign_keys if (f.child, f.parent) == (child_table, parent_table)
              and relation.text.endswith(f"via {f.child_column}"))
    sign = -1 if "= -" in relation.text else 1
    child, parent = tables[child_table], tables[parent_table]
    lookup = dict(zip(parent.values(fk.parent_column), parent.values(names[1]), strict=True))
    pairs = [(number(v), number(lookup.get(k, ""))) for k, v in zip(child.values(fk.child_column),
                                                                      child.values(names[0]), strict=True)
             if k in lookup]
    return _share(sum(a is not None and b is not None and abs(a - sign * b) < TOLERANCE for a, b in pairs), len(pairs))


# --- aggregates: a parent table that stores sums of a child table ---------------------------------


def _targets(schema: Schema, table: str, column: str) -> set[tuple[str, str]]:
    return {(fk.parent, fk.parent_column) for fk in schema.foreign_keys
            if (fk.child, fk.child_column) == (table, column)}


def _dates(tables: dict[str, Table], schema: Schema, child: str) -> list[tuple[str, ...]]:
    """The child's own date columns, then those of the tables its references lead to."""
    own: list[tuple[str, ...]] = [(d,) for d in schema.dates(tables[child])]
    via: list[tuple[str, ...]] = [(fk.child_column, fk.parent, fk.parent_column, d) for fk in schema.foreign_keys
           if fk.child == child and fk.parent != child for d in schema.dates(tables[fk.parent])]
    return own + via


def groupings(tables: dict[str, Table], schema: Schema) -> list[Grouping]:
    """Parents keyed by (a reference, a period) or by a reference alone, and children referring to the same table."""
    found = []
    for parent, key in schema.primary_keys.items():
        if parent not in tables:
            continue
        refs = [c for c in key if _targets(schema, parent, c)]
        periods = [c for c in key if schema.kinds.get((parent, c)) in ("year_month", "date")]
        if len(refs) != 1 or len(key) != 1 + len(periods) or len(periods) > 1:
            continue
        for fk in schema.foreign_keys:
            if fk.child == parent or (fk.parent, fk.parent_column) not in _targets(schema, parent, refs[0]):
                continue
            dates: list[tuple[str, ...]] = _dates(tables, schema, fk.child) if periods else [()]
            found += [Grouping(parent, refs[0], periods[0] if periods else None, fk.child, fk.child_column, d)
                      for d in dates]
    return found


def _child_groups(tables: dict[str, Table], g: Grouping, period_width: int) -> list[tuple[str, str]]:
    child = tables[g.child]
    if not g.date:
        return [(k, "") for k in child.values(g.child_key)]
    if len(g.date) == 1:
        days = child.values(g.date[0])
    else:
        link, table, key, column = g.date
        lookup = dict(zip(tables[table].values(key), tables[table].values(column), strict=True))
        days = [lookup.get(v, "") for v in child.values(link)]
    return [(k, d[:period_width] if d else "") for k, d in zip(child.values(g.child_key), days, strict=True)]


def aggregate_share(tables: dict[str, Table], g: Grouping, y: str, x: str) -> float:
    """Share of the parent's rows whose y equals the sum of the child's x over its group."""
    parent = tables[g.parent]
    periods = parent.values(g.period) if g.period else [""] * len(parent.rows)
    width = max((len(p) for p in periods), default=0)
    sums: dict[tuple[str, str], float | None] = {}
    for group, value in zip(_child_groups(tables, g, width), tables[g.child].values(x), strict=True):
        v, before = number(value), sums.get(group, 0.0)
        sums[group] = None if v is None or before is None else before + v  # one unparseable line spoils its group
    rows = list(zip(parent.values(g.key), periods, parent.values(y), strict=True))
    hits = 0
    for k, p, value in rows:
        total, v = sums.get((k, p), 0.0), number(value)
        hits += total is not None and v is not None and abs(total - v) < TOLERANCE
    return _share(hits, len(rows))


def aggregates(tables: dict[str, Table], schema: Schema) -> list[Relation]:
    found = []
    for g in groupings(tables, schema):
        for y in schema.measures(tables[g.parent]):
            for x in schema.measures(tables[g.child]):
                share = aggregate_share(tables, g, y, x)
                if share >= COPY_MIN_SHARE:
                    per = g.child_key + (f", period of {'.'.join(g.date[1::2]) if len(g.date) > 1 else g.date[0]}"
                                         if g.date else "")
                    found.append(Relation("aggregate", (f"{g.parent}.{y}", f"{g.child}.{x}"),
                                          f"{g.parent}.{y} = sum({g.child}.{x}) per {per}", round(share, 4), g))
    return found
