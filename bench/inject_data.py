"""The data side of the corruption injector (bench/inject.py): tables as text and the schema the
injector needs (column kinds, keys, foreign keys).

Stdlib only: the injector must not depend on any phase of the pipeline it evaluates.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

# ISO 4217 codes of the most traded currencies: a three-letter constant such as a data provider's
# acronym is no currency
CURRENCIES = frozenset(["USD", "EUR", "JPY", "GBP", "CNY", "AUD", "CAD", "CHF", "HKD", "SGD", "SEK", "NOK", "DKK",
                        "NZD", "KRW", "INR", "MXN", "BRL", "ZAR", "PLN"])
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
INTEGER = re.compile(r"^-?\d+$")


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
