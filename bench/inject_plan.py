"""Planning for the corruption injector (bench/inject.py): which column receives which kind of
injection. The seed alone decides, among the columns eligible by their values and the schema
(never by their names), each column receiving at most one injection; the rate plays no part, so
the same seed corrupts the same columns at every rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from random import Random
from typing import TypeVar

from inject_data import Schema, Table, currency_column, number
from inject_relations import Relation

T = TypeVar("T")

JUNK = ("N/A", "#REF!", "—", "missing")  # what spreadsheets and exports leave in numeric cells
BENFORD_METHODS = ("leading_digit", "round_numbers", "invented")
DRIFT_GAIN = 2.5  # the level after the shift date is 1 + gain x rate times the level before
BENFORD_MIN_VALUES = 300  # first-digit tests need a few hundred values
BENFORD_MIN_SPREAD = 100  # ... spanning two orders of magnitude
BENFORD_MAX_MAD = 0.015  # ... and following Benford's law in the clean data (Nigrini's acceptable conformity)
ABBREVIATIONS = ("initials", "consonants", "truncate")

# the generator's dimension names (bench/eval_entropy.py maps them onto the pipeline's dimensions)
DIMENSION = {
    "junk_tokens": "type_fidelity",
    "mixed_currency": "unit_consistency",
    "drift": "temporal_stability",
    "benford_break": "distribution",
    "broken_copy": "derived_consistency",
    "orphans": "referential_integrity",
    "nulls": "completeness",
    "duplicate_rows": "uniqueness",
    "obscured_headers": "business_meaning",
}
KINDS = tuple(DIMENSION)
# planning order: the kinds with the fewest eligible columns choose first
PLAN_ORDER = ("broken_copy", "mixed_currency", "drift", "benford_break", "junk_tokens", "orphans", "nulls",
              "duplicate_rows", "obscured_headers")


@dataclass
class Target:
    """One planned injection, independent of the rate."""

    kind: str
    table: str
    columns: tuple[str, ...]  # the columns it alters (original names); () for duplicate rows
    reads: tuple[str, ...] = ()  # columns it relies on, kept intact by the other injections
    params: dict = field(default_factory=dict)


@dataclass
class Plan:
    seed: int
    targets: list[Target]
    skipped: list[str]  # kinds with no eligible column left


# --- planning: which column gets which injection (the seed alone decides) ---------------------


class Planner:
    def __init__(self, tables: dict[str, Table], schema: Schema, rels: list[Relation], seed: int):
        self.tables, self.schema, self.rels = tables, schema, rels
        self.rng = Random(f"inject-plan/{seed}")
        self.altered: set[tuple[str, str]] = set()
        self.protected: set[tuple[str, str]] = set()

    def free(self, table: str, column: str) -> bool:
        return (table, column) not in self.altered | self.protected

    def take(self, target: Target) -> Target:
        self.altered |= {(target.table, c) for c in target.columns}
        self.protected |= {(target.table, c) for c in target.reads}
        return target

    def measures(self) -> list[tuple[str, str]]:
        return [(t.name, c) for t in self.tables.values() for c in self.schema.measures(t) if self.free(t.name, c)]

    def pick(self, options: list[T]) -> T | None:
        return self.rng.choice(sorted(options)) if options else None  # type: ignore[type-var]  # tuples of str sort

    def broken_copy(self) -> Target | None:
        options = [r for r in self.rels if r.kind in ("formula", "copy", "aggregate")
                   and all(self.free(*c.split(".", 1)) for c in r.columns)]
        rel = self.pick([(r.columns, r.text, r.kind) for r in options])
        if rel is None:
            return None
        columns, text, kind = rel
        table, column = columns[0].split(".", 1)
        self.protected |= {(c.split(".", 1)[0], c.split(".", 1)[1]) for c in columns[1:]}
        return self.take(Target("broken_copy", table, (column,), (), {"relation": text, "relation_kind": kind}))

    def mixed_currency(self) -> Target | None:
        options = [(t, c) for t, c in self.measures()
                   if (cur := currency_column(self.tables[t])) and self.free(t, cur)]
        chosen = self.pick(options)
        if chosen is None:
            return None
        table, column = chosen
        code_column = str(currency_column(self.tables[table]))
        code = self.tables[table].values(code_column)[0]
        alt, factor = self.rng.choice([(c, f) for c, f in ALT_RATES if c != code])
        declared = self.rng.random() < 0.5
        return self.take(Target("mixed_currency", table, (column,), (code_column,),
                                {"currency_column": code_column, "currency": code, "alt_currency": alt,
                                 "factor": round(factor / dict(ALT_RATES).get(code, 1.0), 6),
                                 "currency_code_changed": declared}))

    def drift(self) -> Target | None:
        options = [(t, c, d) for t, c in self.measures() for d in self.schema.dates(self.tables[t]) if self.free(t, d)]
        chosen = self.pick(options)
        if chosen is None:
            return None
        table, column, date = chosen
        days = sorted({v for v in self.tables[table].values(date) if v})
        shift = days[int(len(days) * self.rng.uniform(0.35, 0.65))]  # away from the edges of the period
        direction = self.rng.choice(("up", "down"))
        return self.take(Target("drift", table, (column,), (date,),
                                {"date_column": date, "shift_date": shift, "direction": direction}))

    def benford_break(self) -> Target | None:
        options = [(t, c) for t, c in self.measures() if benford_eligible(self.tables[t].values(c))]
        chosen = self.pick(options)
        if chosen is None:
            return None
        table, column = chosen
        return self.take(Target("benford_break", table, (column,), (), {"method": self.rng.choice(BENFORD_METHODS)}))

    def junk_tokens(self) -> Target | None:
        chosen = self.pick(self.measures())
        return None if chosen is None else self.take(Target("junk_tokens", chosen[0], (chosen[1],), (),
                                                            {"tokens": list(JUNK)}))

    def orphans(self) -> Target | None:
        options = [(fk.child, fk.child_column, fk.parent, fk.parent_column) for fk in self.schema.foreign_keys
                   if self.free(fk.child, fk.child_column) and fk.child != fk.parent]
        chosen = self.pick(options)
        if chosen is None:
            return None
        table, column, parent, parent_column = chosen
        return self.take(Target("orphans", table, (column,), (), {"parent": f"{parent}.{parent_column}"}))

    def nulls(self) -> Target | None:
        options = [(t.name, c) for t in self.tables.values() for c in t.header
                   if self.free(t.name, c) and not self.schema.is_key(t.name, c)
                   and (t.name, c) not in self.schema.design_nulls and "" not in t.values(c)]
        chosen = self.pick(options)
        return None if chosen is None else self.take(Target("nulls", chosen[0], (chosen[1],)))

    def duplicate_rows(self) -> Target | None:
        chosen = self.pick([t.name for t in self.tables.values() if len(t.rows) >= 20])
        return None if chosen is None else Target("duplicate_rows", str(chosen), ())

    def obscured_headers(self) -> list[Target]:
        """Every eligible column in a seeded order; the rate decides how many of the first are renamed."""
        options = sorted((t.name, c) for t in self.tables.values() for c in t.header
                         if self.free(t.name, c) and not self.schema.is_key(t.name, c) and len(c) >= 4)
        self.rng.shuffle(options)
        return [Target("obscured_headers", t, (c,), (), {"method": self.rng.choice(ABBREVIATIONS)})
                for t, c in options]


# units of another currency per US dollar (rounded market rates): the factor a converted amount is multiplied by
ALT_RATES = (("EUR", 0.92), ("GBP", 0.79), ("CHF", 0.88), ("JPY", 151.0), ("CAD", 1.36), ("USD", 1.0))


def first_digit_mad(magnitudes: list[float]) -> float:
    """Mean absolute deviation of the first-digit shares from Benford's law."""
    counts = [0] * 10
    for x in magnitudes:
        counts[int(f"{x:.6e}"[0])] += 1
    return sum(abs(counts[d] / len(magnitudes) - math.log10(1 + 1 / d)) for d in range(1, 10)) / 9


def benford_eligible(values: list[str]) -> bool:
    """A column whose clean values follow Benford's law: only there is a break a defect."""
    magnitudes = [abs(x) for v in values if (x := number(v))]
    return (len(magnitudes) >= BENFORD_MIN_VALUES and max(magnitudes) >= BENFORD_MIN_SPREAD * min(magnitudes)
            and first_digit_mad(magnitudes) <= BENFORD_MAX_MAD)


def plan(tables: dict[str, Table], schema: Schema, rels: list[Relation], seed: int) -> Plan:
    """Targets for every kind, the most constrained first; the rate plays no part."""
    planner = Planner(tables, schema, rels, seed)
    targets, skipped = [], []
    for kind in PLAN_ORDER:
        if kind == "obscured_headers":
            targets += planner.obscured_headers()
            continue
        target = getattr(planner, kind)()
        if target is None:
            skipped.append(kind)
        else:
            targets.append(target)
    return Plan(seed, targets, skipped)
