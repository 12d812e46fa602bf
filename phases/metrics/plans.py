"""From a metric's step to the SQL that extracts it: the columns carrying the step's concepts
(annotations.json), the joins between their tables (relationships.json), and a statement
built from templates with every identifier and literal quoted.

Every statement returns one row per month of its table's dates (and one with a NULL period for
rows without a date): `period` ('YYYY-MM'), `value`, `rows` (those the step selects),
`missing` (of them, rows whose amount was NULL or did not parse; they count as 0),
`other_currency` (rows in another currency than the column's most common one), `first_day`
and `last_day` (the table's dates in the month).
Amounts are summed as DECIMAL(38, 6), so sums are exact and reruns byte-identical.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from phases.artifacts.annotations import Annotations, ColumnAnnotation
from phases.artifacts.relationships import Relationship, Relationships
from phases.core.errors import Unresolved
from phases.core.sql import quote_ident, quote_literal
from phases.metrics.settings import AccountClass, CellsStep, ColumnStep, LatestStep, LedgerStep, MetricsSettings

AMOUNT = "DECIMAL(38, 6)"


@dataclass(frozen=True)
class JoinUse:
    relationship: Relationship
    nulls_drop: bool  # a NULL key loses the row's contribution (not so for a hierarchy's roots)


@dataclass(frozen=True)
class Plan:
    """One statement of a step, and the evidence its verdict weighs."""

    purpose: str
    sql: str
    inputs: tuple[str, ...]  # "table.column" the statement reads
    measures: tuple[str, ...]  # of them, the amounts: blocked ones refuse the metric
    joins: tuple[JoinUse, ...]
    assumptions: tuple[str, ...] = ()  # what the statement takes for granted: caveats of every value


@dataclass(frozen=True)
class Dating:
    """How a table's rows get a date: their own time column, or their parent's through a key."""

    expr: str
    join: str
    inputs: tuple[str, ...]
    joins: tuple[JoinUse, ...]


def q(name: str) -> str:
    return quote_ident(name)


def as_date(ref: str) -> str:
    """A date from a date, a timestamp, ISO text or a 'YYYY-MM' period; NULL when none fits."""
    text = f"TRY_CAST({ref} AS VARCHAR)"
    return f"CAST(COALESCE(TRY_CAST({text} AS TIMESTAMP), TRY_CAST({text} || '-01' AS TIMESTAMP)) AS DATE)"


def same(left: str, right: str) -> str:
    """Key equality whatever the two columns' types (typing may read one as text, one as number)."""
    return f"CAST({left} AS VARCHAR) = CAST({right} AS VARCHAR)"


class Resolver:
    def __init__(self, annotations: Annotations, relationships: Relationships, settings: MetricsSettings) -> None:
        self.ann = annotations
        self.rels = relationships.relationships
        self.settings = settings

    # --- concepts to columns -------------------------------------------------------------------

    def column(self, table: str, concepts: Sequence[str]) -> ColumnAnnotation | None:
        """The column of `table` carrying the first of `concepts` it has, confidently enough."""
        for concept in concepts:
            found = [c for c in self.ann.with_concept(concept, table=table)
                     if c.concept_confidence >= self.settings.min_concept_confidence]
            if found:
                return found[0]
        return None

    def reference(self, table: str, concepts: Sequence[str]) -> Relationship | None:
        """A single-column foreign key of `table`, to another table, whose column carries one of `concepts`."""
        wanted = {c.column for c in self.ann.of_table(table) if c.concept in concepts}
        found = [r for r in self.rels if r.child_table == table and r.parent_table != table
                 and len(r.child_columns) == 1 and r.child_columns[0] in wanted]
        return min(found, key=lambda r: (-r.confidence, r.id), default=None)

    def dating(self, table: str) -> Dating:
        """The table's main date, else the main date of a parent it references one to one."""
        entry = self.ann.tables.get(table)
        if entry is not None and entry.time_column:
            return Dating(as_date(f"t.{q(entry.time_column)}"), "", (f"{table}.{entry.time_column}",), ())
        parents = [r for r in self.rels if r.child_table == table and r.parent_table != table
                   and len(r.child_columns) == 1 and not r.fans_out
                   and (p := self.ann.tables.get(r.parent_table)) is not None and p.time_column]
        if not parents:
            raise Unresolved(f"cannot compute: no date for the rows of {table} (no time column, "
                             "none through a reference)")
        rel = min(parents, key=lambda r: (-r.confidence, r.id))
        time_column = self.ann.tables[rel.parent_table].time_column or ""
        join = (f"LEFT JOIN {q(rel.parent_table)} AS h ON "
                f"{same('t.' + q(rel.child_columns[0]), 'h.' + q(rel.parent_columns[0]))}")
        inputs = (f"{table}.{rel.child_columns[0]}", f"{rel.parent_table}.{time_column}")
        return Dating(as_date(f"h.{q(time_column)}"), join, inputs, (JoinUse(rel, True),))

    # --- the ledger ----------------------------------------------------------------------------

    def ledger_table(self) -> tuple[str, Relationship | None, ColumnAnnotation | None]:
        """The table of ledger lines (debit and credit, or a net amount) and how its lines name
        their account: a reference to an account table, else a column of its own (an export
        that writes the account's name on every line)."""
        led = self.settings.ledger
        found = []
        for table, entry in self.ann.tables.items():
            amounts = (self.column(table, led.debit) and self.column(table, led.credit)) or self.column(table, led.net)
            reference = self.reference(table, led.account)
            inline = None if reference else self.column(table, led.account)
            if amounts and (reference or inline):
                found.append((reference is None, -entry.rows, table, reference, inline))
        if not found:
            have_amounts = any(self.column(t, led.debit) or self.column(t, led.net) for t in self.ann.tables)
            missing = led.account[0] if have_amounts else led.debit[0]
            raise Unresolved(f"cannot compute: concept {missing} missing (no table of ledger lines with "
                             "amounts and an account)")
        _, _, table, reference, inline = min(found, key=lambda f: f[:3])
        return table, reference, inline

    def account_filter(self, table: str, alias: str, labels: list[ColumnAnnotation], cls: AccountClass,
                       name: str) -> tuple[str, tuple[str, ...]]:
        """The condition selecting the class's accounts among the rows of `table` (as `alias`), by
        its account-type column and the words of its `labels`, and the columns it reads."""
        conditions, inputs = [], []
        type_col = self.column(table, self.settings.ledger.account_type)
        kind = f"lower(trim(TRY_CAST({alias}.{q(type_col.column)} AS VARCHAR)))" if type_col else ""
        if type_col is not None and (cls.types or cls.name_types):
            inputs.append(f"{table}.{type_col.column}")
        if cls.types and type_col is not None:
            conditions.append(f"{kind} IN ({', '.join(quote_literal(t.lower()) for t in cls.types)})")
        if cls.names and labels:
            escaped = (re.sub(r"([.^$*+?()\[\]{}|\\])", r"\\\1", n.lower()) for n in cls.names)
            pattern = r"\b(" + "|".join(escaped) + r")\b"
            among = (f" AND {kind} IN ({', '.join(quote_literal(t.lower()) for t in cls.name_types)})"
                     if cls.name_types and type_col is not None else "")
            for label in labels:
                conditions.append(f"(regexp_matches(lower(TRY_CAST({alias}.{q(label.column)} AS VARCHAR)), "
                                  f"{quote_literal(pattern)}){among})")
                inputs.append(f"{table}.{label.column}")
        if not conditions:
            need = self.settings.ledger.account_type[0] if cls.types else "an account name"
            raise Unresolved(f"cannot compute: concept {need} missing (account class {name!r} cannot be told apart)")
        return " OR ".join(conditions), tuple(inputs)

    def name_only(self, table: str, cls: AccountClass, name: str) -> tuple[str, ...]:
        """The assumption made when names alone choose a class whose words need an account type."""
        if cls.names and cls.name_types and self.column(table, self.settings.ledger.account_type) is None:
            return (f"{name} accounts chosen by their names alone ({', '.join(cls.names)}), with no account type "
                    f"to rule out others so named",)
        return ()

    def accounts_cte(self, reference: Relationship, step: LedgerStep) -> tuple[str, list[str], list[JoinUse]]:
        """The class's accounts of the account table, with those below them in its hierarchy."""
        accounts, key = reference.parent_table, reference.parent_columns[0]
        labels = [c for c in self.ann.of_table(accounts) if c.role == "attribute" and c.column != key and c.pii is None]
        where, class_inputs = self.account_filter(accounts, "a", labels, self.settings.account_classes[step.accounts],
                                                  step.accounts)
        tree = [r for r in self.rels if r.child_table == accounts == r.parent_table and len(r.child_columns) == 1
                and r.parent_columns == (key,)]
        recurse = ""
        joins = [JoinUse(reference, True)]
        inputs = [f"{reference.child_table}.{reference.child_columns[0]}", f"{accounts}.{key}", *class_inputs]
        if tree:
            parent = tree[0].child_columns[0]
            recurse = (f"\n    UNION\n    SELECT CAST(c.{q(key)} AS VARCHAR) FROM {q(accounts)} AS c "
                       f"JOIN accounts ON CAST(c.{q(parent)} AS VARCHAR) = accounts.k")
            joins.append(JoinUse(tree[0], False))
            inputs.append(f"{accounts}.{parent}")
        cte = (f"RECURSIVE accounts(k) AS (\n"
               f"    SELECT CAST(a.{q(key)} AS VARCHAR) FROM {q(accounts)} AS a WHERE {where}{recurse}\n), ")
        return cte, inputs, joins

    def ledger(self, step: LedgerStep) -> Plan:
        table, reference, inline = self.ledger_table()
        if reference is not None:
            cte, inputs, joins = self.accounts_cte(reference, step)
            hit = f"CAST(t.{q(reference.child_columns[0])} AS VARCHAR) IN (SELECT k FROM accounts)"
            where = f"of {reference.parent_table}"
        else:
            assert inline is not None  # ledger_table() found a reference or an account column
            condition, found = self.account_filter(table, "t", [inline], self.settings.account_classes[step.accounts],
                                                   step.accounts)
            cte, inputs, joins = "", [*found], []
            hit, where = f"COALESCE({condition}, FALSE)", f"named in {table}.{inline.column}"
        accounts = reference.parent_table if reference is not None else table
        assumed = self.name_only(accounts, self.settings.account_classes[step.accounts], step.accounts)
        value, missing, measures = self.signed(table, step.side)
        dating = self.dating(table)
        currency = self.column(table, self.settings.ledger.currency)
        cur = f"t.{q(currency.column)}" if currency else "NULL"
        sql = (f"WITH {cte}lines AS (\n"
               f"    SELECT {dating.expr} AS d, {value} AS v, {missing} AS missing, {cur} AS cur,\n"
               f"        {hit} AS hit\n"
               f"    FROM {q(table)} AS t {dating.join}\n"
               f")\n{MONTHLY}")
        inputs += [*measures, *dating.inputs] + ([f"{table}.{currency.column}"] if currency else [])
        side = "credits less debits" if step.side == "credit" else "debits less credits"
        return Plan(f"{side} of {table} on {step.accounts} accounts {where}, by month",
                    sql, tuple(sorted(set(inputs))), measures, (*joins, *dating.joins), assumed)

    def signed(self, table: str, side: str) -> tuple[str, str, tuple[str, ...]]:
        """The line's amount counted positive on `side`, when it is missing, and the columns read."""
        led = self.settings.ledger
        debit, credit = self.column(table, led.debit), self.column(table, led.credit)
        if debit is not None and credit is not None:
            dr, cr = f"TRY_CAST(t.{q(debit.column)} AS {AMOUNT})", f"TRY_CAST(t.{q(credit.column)} AS {AMOUNT})"
            plus, minus = (cr, dr) if side == "credit" else (dr, cr)
            # a line lost its amount when a side is NULL and the other holds nothing either
            missing = f"(({dr}) IS NULL OR ({cr}) IS NULL) AND COALESCE({dr}, 0) = 0 AND COALESCE({cr}, 0) = 0"
            return (f"COALESCE({plus}, 0) - COALESCE({minus}, 0)", missing,
                    (f"{table}.{debit.column}", f"{table}.{credit.column}"))
        net = self.column(table, led.net)
        assert net is not None  # ledger_table() chose a table with debit and credit, or a net amount
        amount = f"TRY_CAST(t.{q(net.column)} AS {AMOUNT})"
        value = f"COALESCE({amount}, 0)" if side == "debit" else f"-COALESCE({amount}, 0)"
        return value, f"{amount} IS NULL", (f"{table}.{net.column}",)

    # --- other extracts ------------------------------------------------------------------------

    def column_sum(self, step: ColumnStep) -> Plan:
        tables = [t for t, e in sorted(self.ann.tables.items()) if not step.entity or e.entity in step.entity]
        if not tables:
            raise Unresolved(f"cannot compute: concept {step.entity[0]} missing (no table of that entity)")
        found = [(t, c) for t in tables if (c := self.column(t, step.concept)) is not None]
        if not found:
            raise Unresolved(f"cannot compute: concept {step.concept[0]} missing")
        table, column = min(found, key=lambda tc: (step.concept.index(tc[1].concept or ""), tc[0]))
        dating = self.dating(table)
        currency = self.column(table, self.settings.ledger.currency)
        cur = f"t.{q(currency.column)}" if currency else "NULL"
        amount = f"TRY_CAST(t.{q(column.column)} AS {AMOUNT})"
        sql = (f"WITH lines AS (\n"
               f"    SELECT {dating.expr} AS d, COALESCE({amount}, 0) AS v, {amount} IS NULL AS missing,\n"
               f"        {cur} AS cur, TRUE AS hit\n"
               f"    FROM {q(table)} AS t {dating.join}\n"
               f")\n{MONTHLY}")
        measure = f"{table}.{column.column}"
        inputs = {measure, *dating.inputs} | ({f"{table}.{currency.column}"} if currency else set())
        return Plan(f"sum of {measure} by month", sql, tuple(sorted(inputs)), (measure,), dating.joins)

    def dated_tables(self, kind: str) -> list[tuple[str, Dating]]:
        found = []
        for table, entry in sorted(self.ann.tables.items()):
            if entry.kind != kind:
                continue
            try:
                found.append((table, self.dating(table)))
            except Unresolved:
                continue  # a table without any date belongs to no period
        if not found:
            raise Unresolved(f"cannot compute: no {kind} table with a date")
        return found

    def cells(self, step: CellsStep) -> list[Plan]:
        plans = []
        for table, dating in self.dated_tables(step.table_kind):
            columns = [c.column for c in self.ann.of_table(table)]
            # one list of counts, not a chain of +: DuckDB parses an expression at most 1000 deep
            filled = f"CAST(list_sum([{', '.join(f'COUNT(t.{q(c)})' for c in columns)}]) AS BIGINT)"
            value = filled if step.count == "filled" else f"COUNT(*) * {len(columns)}"
            sql = (f"SELECT strftime({dating.expr}, '%Y-%m') AS period, {value} AS value,\n"
                   f"    COUNT(*) * {len(columns)} AS rows, COUNT(*) * {len(columns)} - ({filled}) AS missing,\n"
                   f"    0 AS other_currency, MIN({dating.expr}) AS first_day, MAX({dating.expr}) AS last_day\n"
                   f"FROM {q(table)} AS t {dating.join}\nGROUP BY period\nORDER BY period NULLS LAST")
            what = "filled cells" if step.count == "filled" else "cells"
            plans.append(Plan(f"{what} of {table} by month", sql, dating.inputs, (), dating.joins))
        return plans

    def latest(self, step: LatestStep) -> list[Plan]:
        plans = []
        for table, dating in self.dated_tables(step.table_kind):
            sql = (f"SELECT strftime({dating.expr}, '%Y-%m') AS period,\n"
                   f"    CAST(MAX({dating.expr}) - DATE '1970-01-01' AS BIGINT) AS value, COUNT(*) AS rows,\n"
                   f"    0 AS missing, 0 AS other_currency,\n"
                   f"    MIN({dating.expr}) AS first_day, MAX({dating.expr}) AS last_day\n"
                   f"FROM {q(table)} AS t {dating.join}\nGROUP BY period\nORDER BY period NULLS LAST")
            plans.append(Plan(f"the latest date of {table} by month", sql, dating.inputs, (), dating.joins))
        return plans

    def plans(self, step: LedgerStep | ColumnStep | CellsStep | LatestStep) -> list[Plan]:
        """The statements of one step; raises Unresolved when its concepts are not in the data."""
        if isinstance(step, LedgerStep):
            return [self.ledger(step)]
        if isinstance(step, ColumnStep):
            return [self.column_sum(step)]
        if isinstance(step, CellsStep):
            return self.cells(step)
        return self.latest(step)


# the monthly rollup of a `lines` CTE (d, v, missing, cur, hit: the row belongs to the step); rows
# without a date form the NULL period; the first and last day count every row of the table, so a
# period's coverage is the table's, not that of the few rows a step selects
MONTHLY = """SELECT strftime(d, '%Y-%m') AS period, SUM(v) FILTER (WHERE hit) AS value,
    COUNT(*) FILTER (WHERE hit) AS rows, COUNT(*) FILTER (WHERE hit AND missing) AS missing,
    COUNT(*) FILTER (WHERE hit AND cur IS NOT NULL AND cur IS DISTINCT FROM (
        SELECT cur FROM lines WHERE hit AND cur IS NOT NULL GROUP BY cur ORDER BY COUNT(*) DESC, cur LIMIT 1)
    ) AS other_currency,
    MIN(d) AS first_day, MAX(d) AS last_day
FROM lines
GROUP BY period
ORDER BY period NULLS LAST"""
