"""Reconciling a copy across a relationship (a payment's amount equals its invoice's), measured
on the typed tables for the computational and semantic detectors:

- its *scope*: the categories of either table where the copy never holds (a partial payment is
  not its invoice's amount; a bill's rate is not the product's sales price), so that honest
  exceptions do not count as breaks;
- a *constant factor* behind many of the remaining breaks: one side holds values converted by
  a fixed rate (an undeclared currency or unit), which an exchange-rate table of the source may
  name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from phases.artifacts.entropy_scores import EntropyObject
from phases.core.sql import quote_ident, quote_literal, round_significant_sql
from phases.entropy.base import finding, fix, pct
from phases.entropy.evidence import Evidence
from phases.entropy.missing import category_columns
from phases.entropy.settings import EntropySettings, ramp


@dataclass(frozen=True)
class Scope:
    column: str  # "table.column" whose categories decide where the copy applies
    mismatch: float  # share of the rows in scope that break the copy
    excluded: tuple[str, ...]  # the categories where it never holds
    rows: int  # rows in scope
    where: str  # SQL condition selecting the rows in scope


@dataclass(frozen=True)
class Conversion:
    factor: float  # target / operand on the rows it explains
    rows: int  # breaking rows the factor explains
    breaks: int  # breaking rows in scope
    compared: int  # rows compared in scope
    rate_pair: str | None  # an exchange-rate pair of the source whose rates span the factor


@dataclass(frozen=True)
class CopyJoin:
    """The SQL pieces to compare target and operand of a copy across its relationship."""

    child: str
    parent: str
    relation: str  # FROM ... JOIN ... ON ...
    target: str  # the target as DOUBLE, qualified c. or p.
    operand: str
    bad: str  # the two differ beyond the tolerance

    @classmethod
    def of(cls, ev: Evidence, d: Any, typed: Mapping[str, str], s: EntropySettings) -> CopyJoin | None:
        rel = next((r for r in ev.relationships.relationships if r.id == d.via), None)
        if rel is None or rel.child_table not in typed or rel.parent_table not in typed or len(d.operands) != 1:
            return None
        side = {rel.child_table: "c", rel.parent_table: "p"}
        t = f"TRY_CAST({side[d.table]}.{quote_ident(d.column)} AS DOUBLE)"
        o = f"TRY_CAST({side[d.operands[0].table]}.{quote_ident(d.operands[0].column)} AS DOUBLE)"
        if d.operation == "negation":  # a = -b: compare with the operand's negation
            o = f"(-{o})"
        on = " AND ".join(f"c.{quote_ident(a)} = p.{quote_ident(b)}"
                          for a, b in zip(rel.child_columns, rel.parent_columns, strict=True))
        c = s.computational
        bad = (f"abs({t} - {o}) > greatest({c.match_absolute_tolerance!r}, "
               f"{c.match_relative_tolerance!r} * greatest(abs({t}), abs({o})))")
        relation = (f"{typed[rel.child_table]} c "
                    f"JOIN {typed[rel.parent_table]} p ON {on} "
                    f"WHERE {t} IS NOT NULL AND {o} IS NOT NULL")
        return cls(rel.child_table, rel.parent_table, relation, t, o, bad)

    def scope(self, ev: Evidence, s: EntropySettings, con: Any) -> Scope | None:
        """The category column of either table whose categories best separate where the copy
        applies from where it never does; None when none leaves at least half the rows in scope
        (or none excludes anything)."""
        best = None
        for table, alias in ((self.child, "c"), (self.parent, "p")):
            for profile in category_columns(ev.profiles.get(table, {}).values(), s.nulls):
                column = f"{alias}.{quote_ident(profile.name)}"
                rows = con.execute(f"SELECT {column}::VARCHAR, count(*) FILTER (WHERE {self.bad}), count(*) "
                                   f"FROM {self.relation} GROUP BY 1").fetchall()
                total = sum(r[2] for r in rows)
                kept = [r for r in rows if r[1] <= 0.5 * r[2]]
                in_scope = sum(r[2] for r in kept)
                if not total or in_scope < 0.5 * total or len(kept) == len(rows):
                    continue
                share = sum(r[1] for r in kept) / in_scope
                if best is None or share < best.mismatch:
                    excluded = tuple(sorted(str(r[0]) for r in rows if r not in kept))
                    out = [r[0] for r in rows if r not in kept]
                    values = ", ".join(quote_literal(str(v)) for v in out if v is not None)
                    where = " AND ".join(x for x in (
                        f"{column}::VARCHAR NOT IN ({values})" if values else "",
                        f"{column} IS NOT NULL" if None in out else "") if x)
                    best = Scope(f"{table}.{profile.name}", share, excluded, in_scope, where or "true")
        return best

    def constant_factor(self, ev: Evidence, s: EntropySettings, con: Any, scope: Scope | None,
                        typed: Mapping[str, str]) -> Conversion | None:
        """The one ratio target/operand (rounded to 3 significant digits) behind at least
        `conversion_min_share` of the breaks, when it is not 1: a fixed conversion."""
        m = s.semantic
        where = f"AND {scope.where}" if scope else ""
        ratio = round_significant_sql(f"({self.target} / {self.operand})")
        compared, breaks = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE {self.bad}) FROM {self.relation} {where}").fetchone()
        if not breaks:
            return None
        top = con.execute(
            f"SELECT {ratio} AS r, count(*) AS n FROM {self.relation} {where} AND {self.bad} AND {self.operand} <> 0 "
            f"AND {self.target} <> 0 GROUP BY 1 ORDER BY n DESC, r LIMIT 1").fetchone()
        if top is None or top[0] is None:
            return None
        factor, rows = float(top[0]), int(top[1])
        if rows < m.conversion_min_rows or rows < m.conversion_min_share * breaks or abs(factor) in (0.0, 1.0):
            return None
        return Conversion(factor, rows, int(breaks), int(compared), _rate_pair(ev, con, factor, typed))


def _rate_pair(ev: Evidence, con: Any, factor: float, typed: Mapping[str, str]) -> str | None:
    """The exchange-rate pairs of the source (a column with concept exchange_rate, beside two
    currency columns) whose rates, or their inverses, span the factor (within 5%), e.g.
    "EUR->USD or CHF->USD"; None when none does."""
    if ev.annotations is None:
        return None
    pairs: list[str] = []
    for rate in ev.annotations.with_concept("exchange_rate"):
        currencies = [a.column for a in ev.annotations.of_table(rate.table) if a.concept == "currency"]
        if len(currencies) != 2 or rate.table not in typed:
            continue
        a, b, r = (quote_ident(x) for x in (*currencies, rate.column))
        for low, high, pair in con.execute(
            f"SELECT min({r}), max({r}), {a} || '->' || {b} FROM {typed[rate.table]} "
            f"WHERE {r} > 0 GROUP BY {a}, {b} ORDER BY 3"
        ).fetchall():
            name = "/".join(sorted(str(pair).split("->")))  # EUR->USD and USD->EUR are one pair
            spans = any(lo * 0.95 <= factor <= hi * 1.05 for lo, hi in ((low, high), (1 / high, 1 / low)))
            if spans and name not in pairs:
                pairs.append(name)
    return " or ".join(pairs) if pairs else None


def conversion_findings(d: Any, conv: Conversion, s: EntropySettings) -> list[EntropyObject]:
    """A units finding on both sides of a copy across a join: one of them holds converted values."""
    targets = sorted({(d.table, d.column)} | {(o.table, o.column) for o in d.operands})
    return _conversion_objects(d.formula, d.via, conv, targets, s)


def formula_conversions(ev: Evidence, s: EntropySettings, typed: Mapping[str, str], con: Any
                        ) -> list[EntropyObject]:
    """A within-row formula check (net = debit - credit) whose breaks share one factor: the target
    holds values converted at one rate on those rows (its operands agree with each other, so the
    target is the one side that changed)."""
    m = s.semantic
    out: list[EntropyObject] = []
    for check in ev.validations.checks if ev.validations else ():
        e = check.evidence
        factor, rows, breaks = e.get("break_factor"), e.get("rows_at_break_factor"), check.violations
        if check.status != "failed" or check.kind != "derived" or factor is None or not rows or not breaks \
                or not check.checked or abs(factor) in (0.0, 1.0):
            continue
        if rows < m.conversion_min_rows or rows < m.conversion_min_share * breaks:
            continue
        conv = Conversion(float(factor), int(rows), int(breaks), int(check.checked),
                          _rate_pair(ev, con, float(factor), typed))
        table, _, column = check.columns[0].partition(".")
        out += _conversion_objects(str(e.get("formula", check.name)), None, conv, [(table, column)], s)
    return out


def _conversion_objects(formula: str, via: str | None, conv: Conversion, targets: Sequence[tuple[str, str]],
                        s: EntropySettings) -> list[EntropyObject]:
    m = s.semantic
    score = m.mixed_units_score * ramp(conv.rows / conv.compared, 0, m.conversion_full_share)
    share = f"{conv.rows} of {conv.compared} rows ({pct(conv.rows / conv.compared)})"
    if conv.rate_pair:
        summary = (f"{share} of {formula} differ by the same factor {conv.factor:g}, like the {conv.rate_pair} "
                   "rates of the source: one side holds amounts in another currency")
    else:  # a discount or a unit as much as a currency: less sure
        score *= m.conversion_unexplained_damping
        summary = (f"{share} of {formula} differ by the same factor {conv.factor:g}: a discount, a unit or a "
                   "currency applies to one side")
    evidence = {"formula": formula, "factor": conv.factor, "rows": conv.rows, "breaks": conv.breaks,
                "compared": conv.compared, "rate_pair": conv.rate_pair, "via": via}
    return [finding(table, column, "units", "hidden_conversion", score, summary, evidence,
                    (fix(f"find the {conv.rows} converted rows (factor {conv.factor:g}) and convert them back before "
                         "summing or comparing", 1.0, "medium"),))
            for table, column in targets]
