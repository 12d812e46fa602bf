"""A deterministic, seeded corruption injector over a folder of clean CSV files (issue 12, item 6).

    python bench/inject.py SOURCE OUT --rate 0.1 [--seed 7]

Reads SOURCE (the clean finance data in ../shared/data/finance_clean, or any folder with a
ground_truth.json of the same format: column types, primary and foreign keys), writes the
corrupted CSV files to OUT and `injected.json`, the truth: per injection its kind, the dimension
it corrupts, table, column(s), the rows affected and its parameters; the columns broken as a side
effect (collateral); the columns left untouched.

One injection of each kind, each on a column of its own chosen by the seed among the eligible ones
(never by name): junk tokens in a numeric column, mixed currencies, a level drift after a date,
a Benford break, a broken copy (a derived or copied column that stops matching), orphans in a
foreign key, NULLs, duplicate rows, obscured headers. The rate is the share of eligible rows hit
(for drift: the size of the level change, 1 + 2.5 x rate; for headers: the share of eligible
columns renamed). Targets depend on the seed only and the rows hit at a lower rate are a subset
of those hit at a higher rate (each injection draws one order of its rows and takes a prefix), so
a rising rate only adds corruption: findings that fall as the rate rises are the pipeline's, not
the injector's. Seeds are salted: no seed reproduces the generator's own injections
(../shared/data/finance_medium).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from random import Random

sys.path.insert(0, str(Path(__file__).resolve().parent))

from inject_data import Schema, Table, load_schema, number, read_tables  # noqa: E402
from inject_plan import (  # noqa: E402, F401  (bench/ is not a package; the names tests and eval read are re-exported)
    DIMENSION,
    DRIFT_GAIN,
    JUNK,
    KINDS,
    Target,
    benford_eligible,
    first_digit_mad,
    plan,
)
from inject_relations import Relation, holds, relations  # noqa: E402

VERSION = 1


# --- applying a plan at a rate -------------------------------------------------------------------


def hit_rows(eligible: list[int], rate: float, rng: Random) -> list[int]:
    """A seeded order of the eligible rows; the rate takes a prefix, so a higher rate hits a superset."""
    order = list(eligible)
    rng.shuffle(order)
    k = 0 if rate <= 0 else max(1, round(rate * len(order)))
    return order[:k]


def fmt(value: float, like: str) -> str:
    """A number written like the value it replaces: integers stay integers, decimals keep >= 2 places."""
    if "." not in like:
        return str(round(value))
    places = max(2, len(like.split(".", 1)[1]))
    text = f"{value:.{places}f}"
    return "0." + "0" * places if float(text) == 0 else text


def leading_digit(value: float, digit: int) -> float:
    text = f"{abs(value):.10g}"
    i = next(i for i, ch in enumerate(text) if ch in "123456789")
    new = float(text[:i] + str(digit) + text[i + 1:])
    return math.copysign(new, value)


def orphan_keys(parent_values: set[str], like: list[str], count: int, rng: Random) -> list[str]:
    """`count` keys of the shape of the real ones (prefix, digit count) that no parent row has: keys of
    parents deleted or never loaded, not a placeholder."""
    used, out = set(parent_values), []
    for value in (like[i % len(like)] for i in range(count)):
        m = re.search(r"\d+$", value)
        prefix, width = (value[: m.start()], len(m.group())) if m else (value + "-", 4)
        candidate = None
        while candidate is None or candidate in used:
            if candidate is not None and rng.random() < 0.1:
                width += 1  # a narrow key space is full: widen it
            candidate = prefix + "9" + "".join(str(rng.randrange(10)) for _ in range(max(width - 1, 1)))
        used.add(candidate)
        out.append(candidate)
    return out


def abbreviate(name: str, method: str) -> str:
    words = [w for w in re.split(r"[_\s\-]+|(?<=[a-z])(?=[A-Z])", name) if w]
    if method == "initials" and len(words) > 1:
        return "".join(w[0] for w in words).lower()
    if method == "truncate":
        return "".join(w[:2] for w in words).lower()
    first = words[0]
    skeleton = first[0] + "".join(ch for ch in first[1:] if ch.lower() not in "aeiou")
    return (skeleton[:4] + "".join(w[0] for w in words[1:])).lower()


@dataclass
class Applied:
    target: Target
    rows: list[int]
    params: dict


class Injector:
    def __init__(self, tables: dict[str, Table], schema: Schema, seed: int, rate: float):
        self.tables, self.schema, self.seed, self.rate = tables, schema, seed, rate

    def rng(self, target: Target) -> Random:
        return Random(f"inject/{self.seed}/{target.kind}/{target.table}.{'+'.join(target.columns)}")

    def numeric_rows(self, table: Table, column: str, nonzero: bool = False) -> list[int]:
        return [i for i, v in enumerate(table.values(column)) if (x := number(v)) is not None and (x or not nonzero)]

    def apply(self, target: Target) -> Applied:
        table = self.tables[target.table]
        return getattr(self, target.kind)(target, table, self.rng(target))

    def _rewrite(self, target: Target, table: Table, rows: list[int], new: list[str], params: dict) -> Applied:
        i = table.index(target.columns[0])
        for r, value in zip(rows, new, strict=True):
            table.rows[r][i] = value
        return Applied(target, sorted(rows), params)

    def junk_tokens(self, target: Target, table: Table, rng: Random) -> Applied:
        rows = hit_rows(self.numeric_rows(table, target.columns[0]), self.rate, rng)
        return self._rewrite(target, table, rows, [rng.choice(JUNK) for _ in rows], target.params)

    def mixed_currency(self, target: Target, table: Table, rng: Random) -> Applied:
        column, p = target.columns[0], target.params
        rows = hit_rows(self.numeric_rows(table, column, nonzero=True), self.rate, rng)
        old = table.values(column)
        applied = self._rewrite(target, table, rows, [fmt(float(old[r]) * p["factor"], old[r]) for r in rows], p)
        if p["currency_code_changed"]:
            cur = table.index(p["currency_column"])
            for r in rows:
                table.rows[r][cur] = p["alt_currency"]
        return applied

    def drift(self, target: Target, table: Table, rng: Random) -> Applied:
        column, p = target.columns[0], target.params
        gain = 1 + DRIFT_GAIN * self.rate
        factor = round(gain if p["direction"] == "up" else 1 / gain, 6)
        dates, old = table.values(p["date_column"]), table.values(column)
        rows = [r for r in self.numeric_rows(table, column) if dates[r] >= p["shift_date"]] if self.rate > 0 else []
        return self._rewrite(target, table, rows, [fmt(float(old[r]) * factor, old[r]) for r in rows],
                             {**p, "factor": factor})

    def benford_break(self, target: Target, table: Table, rng: Random) -> Applied:
        column, method = target.columns[0], target.params["method"]
        old = table.values(column)
        eligible = self.numeric_rows(table, column, nonzero=True)
        magnitudes = sorted(abs(float(old[r])) for r in eligible)
        low, high = magnitudes[len(magnitudes) // 20], magnitudes[-len(magnitudes) // 20 - 1]
        rows = hit_rows(eligible, self.rate, rng)
        new = []
        for r in rows:
            x = float(old[r])
            digit = rng.randint(1, 9)
            if method == "leading_digit":
                y = leading_digit(x, digit)
            elif method == "round_numbers":
                y = math.copysign(digit * 10 ** math.floor(math.log10(abs(x))), x)
            else:
                y = math.copysign(rng.uniform(low, high), x)
            new.append(fmt(y, old[r]))
        return self._rewrite(target, table, rows, new, target.params)

    def broken_copy(self, target: Target, table: Table, rng: Random) -> Applied:
        column = target.columns[0]
        old = table.values(column)
        rows = hit_rows(self.numeric_rows(table, column), self.rate, rng)
        new = []
        for r in rows:
            x = float(old[r])
            new.append(fmt(x + rng.choice((-1, 1)) * max(1.0, abs(x)) * rng.uniform(0.05, 0.5), old[r]))
        return self._rewrite(target, table, rows, new, target.params)

    def orphans(self, target: Target, table: Table, rng: Random) -> Applied:
        column = target.columns[0]
        parent, parent_column = target.params["parent"].split(".", 1)
        old = table.values(column)
        rows = hit_rows([i for i, v in enumerate(old) if v], self.rate, rng)
        # a few missing parents for a small key space, many for a large one: a tenth of the child's keys
        pool = orphan_keys(set(self.tables[parent].values(parent_column)), [old[r] for r in rows],
                           min(len(rows), max(3, len({v for v in old if v}) // 10)), rng)
        new = [pool[rng.randrange(len(pool))] for _ in rows]
        return self._rewrite(target, table, rows, new, {**target.params, "orphan_keys": len(set(new))})

    def nulls(self, target: Target, table: Table, rng: Random) -> Applied:
        rows = hit_rows(list(range(len(table.rows))), self.rate, rng)
        return self._rewrite(target, table, rows, [""] * len(rows), target.params)

    def duplicate_rows(self, target: Target, table: Table, rng: Random) -> Applied:
        rows = sorted(hit_rows(list(range(len(table.rows))), self.rate, rng))
        table.rows.extend([list(table.rows[r]) for r in rows])
        return Applied(target, rows, {"appended_after_row": len(table.rows) - len(rows) - 1})


def rename(tables: dict[str, Table], headers: list[Target], rate: float) -> dict[tuple[str, str], str]:
    """Rename the first ceil(rate x eligible) columns of the seeded order to unclear abbreviations."""
    k = math.ceil(rate * len(headers)) if rate > 0 else 0
    renamed = {}
    for target in headers[:k]:
        table, column = tables[target.table], target.columns[0]
        new = abbreviate(column, target.params["method"])
        n = 2
        while new in table.header or new == column.lower():
            new, n = f"{abbreviate(column, target.params['method'])}{n}", n + 1
        table.header[table.index(column)] = new
        renamed[(target.table, column)] = new
    return renamed


# --- the whole run and its truth ---------------------------------------------------------------


def collateral(rels: list[Relation], before: dict[str, float], tables: dict[str, Table], schema: Schema,
               altered: set[str], applied: list[Applied]) -> dict[str, list[str]]:
    """Untouched columns of a relation of the clean data that the injections broke: flagging them is right."""
    out: dict[str, list[str]] = {}
    for rel in rels:
        after = holds(rel, tables, schema)
        if after < before[rel.text] - 1e-9:
            values = rel.columns[:2] if rel.kind == "balance" else rel.columns  # a balance's group column is fine
            for column in values:
                if column not in altered:
                    out.setdefault(column, []).append(f"{rel.text} held on {before[rel.text]:.1%}, now {after:.1%}")
    for a in applied:
        if a.target.kind == "duplicate_rows" and a.rows:  # the key repeats; references to it fan out
            for column in schema.primary_keys.get(a.target.table, ()):
                out.setdefault(f"{a.target.table}.{column}", []).append("duplicate rows repeat the key")
            for fk in schema.foreign_keys:
                if fk.parent == a.target.table:
                    out.setdefault(f"{fk.child}.{fk.child_column}", []).append(
                        f"its parent {fk.parent}.{fk.parent_column} repeats keys (duplicate rows)")
    return {k: sorted(set(v)) for k, v in sorted(out.items())}


def injection_record(n: int, a: Applied, renamed: dict[tuple[str, str], str]) -> dict:
    t = a.target
    names = [renamed.get((t.table, c), c) for c in t.columns]
    record = {"id": f"{t.kind.upper()}-{n:02d}", "kind": t.kind, "dimension": DIMENSION[t.kind], "table": t.table,
              "columns": names, "rows": len(a.rows), "row_indices": a.rows, "parameters": a.params}
    if names != list(t.columns):
        record["original_columns"] = list(t.columns)
    if t.kind == "mixed_currency" and a.params.get("currency_code_changed"):
        record["also_changed"] = [a.params["currency_column"]]
    return record


def inject(source: Path, out: Path, rate: float, seed: int) -> dict:
    """Corrupt the CSV files of `source` into `out` at `rate`; return (and write) the truth."""
    if not 0 <= rate <= 1:
        raise ValueError(f"rate must lie in 0..1, got {rate}")
    tables = read_tables(source)
    if not tables:
        raise ValueError(f"no CSV files in {source}")
    schema = load_schema(source, tables)
    rels = relations(tables, schema)
    before = {r.text: r.holds for r in rels}
    the_plan = plan(tables, schema, rels, seed)
    injector = Injector(tables, schema, seed, rate)
    rows_first = sorted((t for t in the_plan.targets if t.kind not in ("obscured_headers", "duplicate_rows")),
                        key=lambda t: KINDS.index(t.kind))
    applied = [injector.apply(t) for t in rows_first]
    applied += [injector.apply(t) for t in the_plan.targets if t.kind == "duplicate_rows"]  # copies corrupted rows
    altered = {f"{a.target.table}.{c}" for a in applied if a.rows for c in a.target.columns}
    altered |= {f"{a.target.table}.{a.params['currency_column']}" for a in applied
                if a.rows and a.target.kind == "mixed_currency" and a.params.get("currency_code_changed")}
    broken = collateral(rels, before, tables, schema, altered, applied)
    headers = [t for t in the_plan.targets if t.kind == "obscured_headers"]
    renamed = rename(tables, headers, rate)
    records = [injection_record(i + 1, a, renamed) for i, a in enumerate(a for a in applied if a.rows)]
    records += [{"id": f"OBSCURED_HEADERS-{i + 1:02d}", "kind": "obscured_headers",
                 "dimension": DIMENSION["obscured_headers"], "table": t, "columns": [new], "rows": 0,
                 "row_indices": [], "parameters": {"original": c}, "original_columns": [c]}
                for i, ((t, c), new) in enumerate(sorted(renamed.items()))]
    touched = altered | {f"{t}.{c}" for t, c in renamed} | set(broken)
    columns = [f"{name}.{c}" for name, table in sorted(tables.items()) for c in table.header]
    original = {f"{t}.{new}": f"{t}.{c}" for (t, c), new in renamed.items()}
    truth = {
        "injector": "bench/inject.py", "version": VERSION, "source": source.name, "seed": seed, "rate": rate,
        "injections": records,
        "skipped_kinds": the_plan.skipped,
        "planned": [{"kind": t.kind, "table": t.table, "columns": list(t.columns)}
                    for t in the_plan.targets if t.kind != "obscured_headers"],
        "relations_in_clean_data": [{"kind": r.kind, "relation": r.text, "columns": list(r.columns), "holds": r.holds}
                                    for r in rels],
        "collateral": broken,
        "renamed": {f"{t}.{c}": new for (t, c), new in sorted(renamed.items())},
        "untouched": [c for c in columns if original.get(c, c) not in touched],
        "design_nulls": sorted(f"{t}.{c}" for t, c in schema.design_nulls),
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        (out / f"{name}.csv").write_text(table.to_csv(), encoding="utf-8")
    (out / "injected.json").write_text(json.dumps(truth, indent=1, sort_keys=True) + "\n")
    return truth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder of clean CSV files (with ground_truth.json)")
    parser.add_argument("out", type=Path, help="folder for the corrupted CSV files and injected.json")
    parser.add_argument("--rate", type=float, required=True, help="share of eligible rows hit (0..1)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    truth = inject(args.source, args.out, args.rate, args.seed)
    for r in truth["injections"]:
        print(f"{r['id']:<22} {r['table']}.{'/'.join(r['columns'])}: {r['rows']} rows {r['parameters']}")
    print(f"collateral: {', '.join(truth['collateral']) or 'none'}; "
          f"skipped: {', '.join(truth['skipped_kinds']) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
