"""Monthly rows of a step rolled up to the periods of a metric (each month and each year), and
the formula evaluated over the steps' values.

A step's statement returns one row per month; a year adds up its months (`sum`), takes the
balance at its last month (`end_of_period`: everything dated up to then) or the latest value
(`max`). The formula is read with Python's parser and evaluated over + - * / and parentheses
only: it comes from a settings file and must not run anything.
"""

from __future__ import annotations

import ast
import calendar
import datetime as dt
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class MonthRow:
    """One month of a step (summed over its statements; month None: rows without a date), or
    the step rolled up to a period (month: the period)."""

    month: str | None
    value: float | None
    rows: int
    missing: int
    other_currency: int
    first_day: dt.date | None
    last_day: dt.date | None


def merge(rows: Iterable[MonthRow], aggregate: str) -> dict[str | None, MonthRow]:
    """The rows of several statements of one step (one per table) merged month by month."""
    merged: dict[str | None, MonthRow] = {}
    for row in rows:
        old = merged.get(row.month)
        if old is None:
            merged[row.month] = row
            continue
        values = [v for v in (old.value, row.value) if v is not None]
        value = (max(values) if aggregate == "max" else sum(values)) if values else None
        merged[row.month] = MonthRow(row.month, value, old.rows + row.rows, old.missing + row.missing,
                                     old.other_currency + row.other_currency,
                                     _pick(min, old.first_day, row.first_day), _pick(max, old.last_day, row.last_day))
    return merged


def _pick(choose: Callable[[dt.date, dt.date], dt.date], a: dt.date | None, b: dt.date | None) -> dt.date | None:
    if a is None or b is None:
        return a or b
    return choose(a, b)


def bounds(period: str) -> tuple[dt.date, dt.date]:
    """The first and last day of 'YYYY' or 'YYYY-MM'."""
    if len(period) == 4:
        year = int(period)
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    year, month = int(period[:4]), int(period[5:7])
    return dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1])


def periods(months: Iterable[str]) -> list[str]:
    """Every year, then every month, from the first month to the last (gaps included), in time order."""
    known = sorted(set(months))
    if not known:
        return []
    year, month = int(known[0][:4]), int(known[0][5:7])
    every = []
    while f"{year:04d}-{month:02d}" <= known[-1]:
        every.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return sorted({m[:4] for m in every}) + every


def roll_up(rows: Mapping[str | None, MonthRow], period: str, aggregate: str) -> MonthRow:
    """A step's value in a period: its months' sum, the balance at its end, or their maximum."""
    last = period if len(period) == 7 else f"{period}-12"
    if aggregate == "end_of_period":
        chosen = [r for m, r in rows.items() if m is not None and m <= last]
    else:
        chosen = [r for m, r in rows.items() if m is not None and m[: len(period)] == period]
    inside = [r for r in chosen if r.month is not None and r.month[: len(period)] == period]
    values = [r.value for r in chosen if r.value is not None]
    value = (max(values) if values else None) if aggregate == "max" else float(sum(values))
    return MonthRow(period, value, sum(r.rows for r in chosen), sum(r.missing for r in chosen),
                  sum(r.other_currency for r in chosen),
                  min((r.first_day for r in inside if r.first_day), default=None),
                  max((r.last_day for r in inside if r.last_day), default=None))


def constants(period: str) -> dict[str, float]:
    first, last = bounds(period)
    return {"days_in_period": float((last - first).days + 1), "period_end_day": float((last - EPOCH).days)}


class FormulaError(Exception):
    """The formula has no value in a period; `reason` says why in one sentence."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


OPERATORS: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
}


def evaluate(formula: str, values: Mapping[str, float | None]) -> float:
    """The formula's value; FormulaError when a step has no value or a divisor is zero."""
    return _eval(ast.parse(formula, mode="eval").body, values)


def _eval(node: ast.expr, values: Mapping[str, float | None]) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return float(node.value)
    if isinstance(node, ast.Name):
        value = values.get(node.id)
        if value is None:
            raise FormulaError(f"cannot compute: {node.id} has no value in the period")
        return value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_eval(node.operand, values)
    if isinstance(node, ast.BinOp) and type(node.op) in OPERATORS:
        left, right = _eval(node.left, values), _eval(node.right, values)
        if isinstance(node.op, ast.Div) and right == 0:
            raise FormulaError(f"cannot compute: {ast.unparse(node.right)} is 0 in the period")
        return OPERATORS[type(node.op)](left, right)
    raise FormulaError(f"the formula may use + - * / and parentheses only, not {ast.unparse(node)!r}")
