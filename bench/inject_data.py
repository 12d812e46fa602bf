"""The data side of the corruption injector (bench/inject.py): tables as text, the schema the
injector needs (column kinds, keys, foreign keys), and the relations that hold in the clean data
(formulas, copies across a foreign key, balances per group), so that the injector can tell which
untouched columns an injection breaks as a side effect (collateral).

Stdlib only: the injector must not depend on any phase of the pipeline it evaluates.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from itertools import permutations
from pathlib import Path

# ISO 4217 codes of the most traded currencies: a three-letter constant such as a data provider's
# acronym is no currency
CURRENCIES = frozenset(["USD", "EUR", "JPY", "GBP", "CNY", "AUD", "CAD", "CHF", "HKD", "SGD", "SEK", "NOK", "DKK",
                        "NZD", "KRW", "INR", "MXN", "BRL", "ZAR", "PLN"])
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
INTEGER = re.compile(r"^-?\d+$")
TOLERANCE = 0.005  # money in cents: two sides agree when they differ by less than half a cent
FORMULA_MIN_SHARE = 0.99  # a formula or balance of the clean data holds on this share of its rows (groups)
COPY_MIN_SHARE = 0.95  # a copy across a foreign key holds on this share of the joined rows
MAX_FORMULA_COLUMNS = 12  # numeric columns per table tried as formula operands (triples grow as n^3)


@dataclass
class Table:
    name: str
    header: list[str]
    rows: list[list[str]]

    def index(self, column: str) -> int:
        return self.header.index(column)

    def values(self, column: str) -> list[str]:
        i = self.index(column)
        return [r[i] for r in self.rows]

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.header)
        writer.writerows(self.rows)
        return out.getvalue()


@dataclass(frozen=True)
class ForeignKey:
    child: str
    child_column: str
    parent: str
    parent_column: str


@dataclass
class Schema:
    """What the injector must know about the clean data: column kinds, keys and foreign keys."""

    kinds: dict[tuple[str, str], str]  # (table, column) -> integer, float, date, string, ...
    primary_keys: dict[str, tuple[str, ...]]
    foreign_keys: list[ForeignKey]
    design_nulls: set[tuple[str, str]] = field(default_factory=set)

    def is_key(self, table: str, column: str) -> bool:
        in_fk = any((fk.child, fk.child_column) == (table, column) or (fk.parent, fk.parent_column) == (table, column)
                    for fk in self.foreign_keys)
        return in_fk or column in self.primary_keys.get(table, ())

    def measures(self, table: Table) -> list[str]:
        """Decimal columns that are no key: the amounts an agent sums."""
        return [c for c in table.header
                if self.kinds.get((table.name, c)) == "float" and not self.is_key(table.name, c)]

    def dates(self, table: Table) -> list[str]:
        return [c for c in table.header if self.kinds.get((table.name, c)) == "date"]


def read_tables(folder: Path) -> dict[str, Table]:
    tables = {}
    for path in sorted(folder.glob("*.csv")):
        with path.open(newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
        tables[path.stem] = Table(path.stem, rows[0], rows[1:])
    return tables


def number(text: str) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def infer_kind(values: list[str]) -> str:
    present = [v for v in values if v != ""]
    if not present:
        return "string"
    if all(INTEGER.match(v) for v in present):
        return "integer"
    if all(number(v) is not None for v in present):
        return "float"
    if all(DATE.match(v) for v in present):
        return "date"
    return "string"


def load_schema(folder: Path, tables: dict[str, Table]) -> Schema:
    """Keys and foreign keys from the folder's ground_truth.json (the finance data's format); the kinds of
    the columns it does not describe are inferred from their values."""
    path = folder / "ground_truth.json"
    truth = json.loads(path.read_text()) if path.exists() else {}
    kinds = {}
    for name, table in tables.items():
        described = truth.get("tables", {}).get(name, {}).get("columns", {})
        for column in table.header:
            spec = described.get(column, {})
            kinds[(name, column)] = spec.get("csv_type_in_clean") or spec.get("csv_type") or infer_kind(
                table.values(column))
    pks = {pk["table"]: tuple(pk["columns"]) for pk in truth.get("primary_keys", [])}
    fks = []
    for fk in truth.get("foreign_keys", []):
        child, child_column = fk["child"].split(".", 1)
        parent, parent_column = fk["parent"].split(".", 1)
        if child in tables and parent in tables:
            fks.append(ForeignKey(child, child_column, parent, parent_column))
    design = {tuple(k.split(".", 1)) for k in truth.get("design_nulls_in_clean_data", {})}
    return Schema(kinds, pks, fks, {(t, c) for t, c in design})


def currency_column(table: Table) -> str | None:
    """A column of one three-letter currency code on every row (the table's amounts are all in it)."""
    for column in table.header:
        values = set(table.values(column))
        if len(values) == 1 and values <= CURRENCIES:
            return column
    return None


# --- relations of the clean data ---------------------------------------------------------------


@dataclass(frozen=True)
class Relation:
    """A relation between columns that holds in the clean data; `columns` are 'table.column' names."""

    kind: str  # formula (c = a + b or a - b on a row), copy (x = +-y across a foreign key), balance
    columns: tuple[str, ...]
    text: str
    holds: float  # share of rows (formula, copy) or groups (balance) on which it holds

    @property
    def target(self) -> str:
        """The column a broken copy alters: the result of a formula, the child side of a copy."""
        return self.columns[0]


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
    pairs = [(number(v), number(lookup.get(k, ""))) for k, v in zip(child.values(fk.child_column), child.values(x),
                                                                       strict=True)]
    pairs = [(a, b) for a, b in pairs if a is not None and b is not None]
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
