"""What a numeric column's values say about how it adds up.

A SUM is right only for a column in which every row adds an amount: a quantity, a money amount,
a count of events. So `aggregation_of` labels a measure additive only on evidence of that, and
says why whichever way it decides:

- vetoes, from the values, whatever the name says: values within 0..1 (a rate or a share, 'tax'
  holding 0.00..0.08 is a tax rate); the factor of a product formula the correlations phase found
  (`amount = quantity * price` makes `price` a unit price); money in a table that records no events
  (no date, no calendar part: a catalogue, whose prices and costs describe one row each);
- evidence of an amount: a concept whose aggregation is additive (quantity, amount, tax, ...), a
  target of a sum, difference or product formula, or a total of child rows;
- a concept that says otherwise (a balance, a stock, a rate) decides for itself;
- without any of these the column is an average-only measure (non_additive): a reading, a level, a
  score or a size, whose SUM means nothing.

`clock_time` and `fraction` are the value tests the role decision uses as well: integers shaped
like clock times written HHMM (minutes below 60 far beyond chance) are a time of day, not a
quantity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pydantic import Field

from phases.artifacts.annotations import Aggregation
from phases.artifacts.derived_columns import DerivedColumn
from phases.core.config import Model
from phases.meaning.ontology import ConceptSpec
from phases.meaning.semantic_evidence import ColumnFacts

# a uniform last two digits 00..99 that are not multiples of ten: 54 of these 90 are below 60
MINUTE_SHARE = 54 / 90
ADDING_OPERATIONS = ("sum", "difference", "product", "sum_of_children")


class NumberSettings(Model):
    """config/semantic.yaml, section numbers."""

    clock_min_values: int = Field(6, ge=1, le=1000)
    clock_min_values_named: int = Field(3, ge=1, le=1000)
    clock_max_chance: float = Field(0.05, ge=0, le=1)
    count_min_zero_share: float = Field(0.05, ge=0, le=1)
    count_min_distinct: int = Field(20, ge=2, le=1_000_000)


@dataclass(frozen=True)
class Formulas:
    """The derived-column relations a column takes part in (within its own table)."""

    target_of: tuple[DerivedColumn, ...] = ()  # this column = f(others)
    price_in: tuple[DerivedColumn, ...] = ()  # another column = this * integers: this is a price per unit
    quantity_in: tuple[DerivedColumn, ...] = ()  # another column = this integer * a price: this counts units


def clock_time(col: ColumnFacts, s: NumberSettings) -> str | None:
    """Why the integers look like clock times written HHMM (555 = 05:55), or None.

    The test is chance-corrected: among plain integers spread over the hundreds, a value that is
    not a multiple of ten ends in 00..59 with probability 0.6; when every frequent such value
    does, the chance of that is 0.6^n. A name saying 'time' needs fewer values."""
    n = col.profile.numeric
    if col.type != "integer" or n is None or n.min < 0 or n.max > 2359 or n.max < 100:
        return None
    if col.profile.distinct_count > 24 * 60:
        return None
    tested = [int(v) for v, _ in col.values if isinstance(v, int | float) and v >= 100 and int(v) % 10]
    named = "time" in col.reading.texts or "clock" in col.reading.texts
    if len(tested) < (s.clock_min_values_named if named else s.clock_min_values):
        return None
    if any(v % 100 >= 60 for v in tested):
        return None
    chance = MINUTE_SHARE ** len(tested)
    if chance > s.clock_max_chance and not named:
        return None
    return (f"integers 0..{n.max:g} whose {len(tested)} most frequent values above 99 all end in 00..59 "
            f"(chance {chance:.1%} for plain integers){' and a name saying time' if named else ''}: clock times "
            "written HHMM, not a quantity")


def fraction(col: ColumnFacts) -> str | None:
    """Why the values are a rate or a share (decimals within 0..1), or None."""
    n = col.profile.numeric
    if col.type not in ("decimal", "percent") or n is None or n.min < 0 or n.max > 1 or n.max <= 0:
        return None
    return f"decimals within {n.min:g}..{n.max:g}: a rate or a share (average it, weighted by its base), not an amount"


def _formula_veto(formulas: Formulas) -> str | None:
    for d in formulas.price_in:
        return (f"{d.formula} holds on {d.match_rate:.0%} of {d.rows_compared} rows: the price or cost per unit "
                "that the quantity multiplies, not an amount")
    for d in formulas.target_of:
        if d.operation == "ratio":
            return f"{d.formula} holds on {d.match_rate:.0%} of {d.rows_compared} rows: a ratio, not an amount"
    return None


def counts(col: ColumnFacts, s: NumberSettings) -> str | None:
    """Why the values look like counts (integers from 0, 0 a common value, many values), or None.
    Readings and levels (a temperature, a price, a size) are seldom exactly 0 again and again;
    counts of events are, and add up over rows, but so do not stock levels and depths, which
    look the same: the values alone cannot tell which."""
    n = col.profile.numeric
    filled = col.profile.non_null_count
    if col.type != "integer" or n is None or n.min != 0 or not filled:
        return None
    share = n.zero_count / filled
    if share < s.count_min_zero_share or col.profile.distinct_count < s.count_min_distinct:
        return None
    return (f"integers 0..{n.max:g} with {col.profile.distinct_count} values, {share:.0%} of them 0: counts, "
            "which add up if they count events and do not if they are levels (stock, depth); the values cannot "
            "tell which, so no aggregation is claimed")


def aggregation_of(col: ColumnFacts, spec: ConceptSpec | None, partner: ColumnFacts | None,
                   activity_min_share: float, formulas: Formulas, records_events: bool,
                   numbers: NumberSettings) -> tuple[Aggregation | None, str]:
    """(aggregation, why) of a measure; None when the evidence decides neither way."""
    if spec is not None and spec.one_sided_pair and partner is not None:
        return _balance_pair(col, spec, partner, activity_min_share)
    veto = fraction(col) or _formula_veto(formulas)
    if veto:
        return "non_additive", veto
    if col.type == "percent":
        return "non_additive", "percentages do not add up"
    money = spec is not None and spec.unit == "currency" or col.type == "currency"
    if spec is not None and spec.aggregation:
        if spec.aggregation == "additive" and money and not records_events and not formulas.target_of:
            return "non_additive", ("money in a table that records no events (no date, no calendar part): a price "
                                    "or cost that describes one row, not an amount that adds up")
        return spec.aggregation, f"the ontology's {spec.label.lower()} is {spec.aggregation.replace('_', '-')}"
    # a formula over integers is too easily met by chance (date keys plus years); over decimals it is not
    adding = [d for d in formulas.target_of if d.operation in ADDING_OPERATIONS and col.type != "integer"]
    if adding:
        d = adding[0]
        what = "a total of its child rows" if d.operation == "sum_of_children" else "an amount built from others"
        return "additive", f"{d.formula} holds on {d.match_rate:.0%} of {d.rows_compared} rows: {what}"
    for d in formulas.quantity_in:
        return "additive", (f"{d.formula} holds on {d.match_rate:.0%} of {d.rows_compared} rows: the count of units "
                            "that a price multiplies, a quantity")
    counted = counts(col, numbers)
    if counted:
        return None, counted
    return "non_additive", ("no evidence that each row adds an amount (no quantity, amount or count concept, no "
                            "formula): a reading or level to average, not to sum")


def _balance_pair(col: ColumnFacts, spec: ConceptSpec, partner: ColumnFacts, activity_min_share: float
                  ) -> tuple[Aggregation, str]:
    share = both_sides_share(col, partner)
    if share >= activity_min_share:
        return "additive", (f"at least {share:.0%} of the rows fill both {col.name!r} and {partner.name!r}; a "
                            "balance sits on one side per row, so these are period activity (turnover) and add "
                            "up over periods")
    return spec.aggregation or "point_in_time", (f"{col.name!r} and {partner.name!r} are filled on one side per "
                                                 "row at most: balances, not summable over time")


def both_sides_share(a: ColumnFacts, b: ColumnFacts) -> float:
    """A lower bound of the share of rows where both columns hold a non-zero value (pigeonhole on the
    profiles' null and zero counts)."""
    rows = a.profile.rows
    if not rows or a.profile.numeric is None or b.profile.numeric is None:
        return 0.0
    filled_a = a.non_null - a.profile.numeric.zero_count
    filled_b = b.non_null - b.profile.numeric.zero_count
    return max(0, filled_a + filled_b - rows) / rows


def formulas_of(table: str, column: str, types: Mapping[str, str], derived: Sequence[DerivedColumn]) -> Formulas:
    """The within-table formulas `column` of `table` (column types `types`) takes part in, strongest first."""
    own = [d for d in derived if d.via is None and d.table == table and d.operation not in ("copy", "negation")]
    own.sort(key=lambda d: (-d.match_rate, -d.nonzero_matches, d.formula))
    price_in, quantity_in = [], []
    integer = types.get(column) == "integer"
    for d in own:
        others = [o.column for o in d.operands if o.column != column]
        if d.operation != "product" or d.column == column or not others or len(others) != len(d.operands) - 1:
            continue
        if not integer and all(types.get(o) == "integer" for o in others):
            price_in.append(d)
        elif integer and all(types.get(o) not in ("integer", None) for o in others):
            quantity_in.append(d)
    return Formulas(target_of=tuple(d for d in own if d.column == column), price_in=tuple(price_in),
                    quantity_in=tuple(quantity_in))
