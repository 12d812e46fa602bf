"""What the validation templates share: resolving concepts to columns, the SQL expressions
that read a column as an exact number, a date or a month whatever its type, and the
builders of a check's result.

Resolution reads annotations.json: a column serves a concept when the semantic phase gave
it that concept with at least `min_concept_confidence` and the typed table still has it.
Value expressions never fail on bad data: numbers are TRY_CAST to DECIMAL(38, scale), text
dates and periods are parsed with TRY_ functions, and a text column whose values mostly do
not parse is not used at all (`Unresolved`, which the templates turn into a skip reason).
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from phases.artifacts.annotations import Annotations, ColumnAnnotation, TableAnnotation
from phases.artifacts.column_profiles import ColumnProfile
from phases.artifacts.relationships import Relationship
from phases.artifacts.validations import CheckResult
from phases.core.errors import Unresolved
from phases.core.records import round_sig
from phases.core.sql import quote_ident, quote_literal
from phases.shared.narrow import one_row

if TYPE_CHECKING:
    import duckdb

    from phases.domain.validation_settings import Check, Tolerance, ValidationSettings

ROW_ID = "_row_id"
INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                 "UBIGINT", "UHUGEINT"}
FLOAT_TYPES = {"FLOAT", "REAL", "DOUBLE"}
DATE_TYPES = {"DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS", "TIMESTAMP WITH TIME ZONE",
              "TIMESTAMPTZ", "DATETIME"}
TEXT_TYPES = {"VARCHAR", "TEXT", "STRING"}
# text shapes of a month: (name, full-match regex, try_strptime formats applied to PREFIX || value)
PERIOD_FORMATS = (
    ("YYYY-MM", r"\d{4}-\d{1,2}", "", "-01", "%Y-%m-%d"),
    ("YYYY/MM", r"\d{4}/\d{1,2}", "", "/01", "%Y/%m/%d"),
    ("YYYYMM", r"\d{6}", "", "01", "%Y%m%d"),
    ("MM/YYYY", r"\d{1,2}/\d{4}", "01/", "", "%d/%m/%Y"),
    ("MM-YYYY", r"\d{1,2}-\d{4}", "01-", "", "%d-%m-%Y"),
    ("YYYY-MM-DD", r"\d{4}-\d{2}-\d{2}.*", "", "", "%Y-%m-%d"),
    ("Mon YYYY", r"[A-Za-z]{3,9}[ -]\d{4}", "01 ", "", "%d %b %Y|%d %B %Y|%d %b-%Y|%d %B-%Y"),
)


@dataclass(frozen=True)
class Col:
    table: str
    name: str
    sql_type: str
    concept: str | None = None
    confidence: float = 0.0

    @property
    def ref(self) -> str:
        return f"{self.table}.{self.name}"

    @property
    def ident(self) -> str:
        return quote_ident(self.name)

    def at(self, alias: str) -> str:
        return f"{alias}.{self.ident}"

    @property
    def base_type(self) -> str:
        return self.sql_type.split("(")[0].strip().upper()


@dataclass(frozen=True)
class Num:
    """A column read as an exact number."""

    col: Col
    text: bool  # a text column read with TRY_CAST

    def value(self, alias: str | None = None, scale: int = 6) -> str:
        ref = self.col.at(alias) if alias else self.col.ident
        source = f"trim({ref})" if self.text else ref
        return f"TRY_CAST({source} AS DECIMAL(38, {scale}))"

    def empty(self, alias: str | None = None) -> str:
        """The cell holds nothing (NULL, or blank text): not the same as holding something unparseable."""
        ref = self.col.at(alias) if alias else self.col.ident
        return f"nullif(trim({ref}), '') IS NULL" if self.text else f"{ref} IS NULL"


def scalar(value: Any) -> Any:
    """A DuckDB value as a deterministic JSON scalar: exact decimals as floats, dates in ISO."""
    if isinstance(value, decimal.Decimal):
        number = float(value)
        return 0.0 if number == 0 else number
    if isinstance(value, float):
        return round_sig(value)
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date().isoformat()
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def jsonable(value: Any) -> Any:
    """`scalar` applied through nested dicts and lists (evidence)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return scalar(value)


def fmt(value: Any) -> str:
    """A number for a reason sentence: grouped thousands, no trailing zeros."""
    if value is None:
        return "null"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, float | decimal.Decimal):
        text = f"{float(value):,.6f}".rstrip("0").rstrip(".")
        return "0" if text in ("-0", "") else text
    return str(value)


def concepts_text(concepts: Sequence[str]) -> str:
    return " or ".join(f"`{c}`" for c in concepts)


@dataclass
class Env:
    con: duckdb.DuckDBPyConnection
    settings: ValidationSettings
    annotations: Annotations
    relationships: Sequence[Relationship]
    profiles: Mapping[str, Mapping[str, ColumnProfile]]
    _parse_checked: dict[tuple[str, str, str], str | None] = field(default_factory=dict)
    _notes: dict[tuple[str, str], ColumnAnnotation] = field(default_factory=dict)
    _by_concept: dict[tuple[str, str], list[ColumnAnnotation]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # indexes, so resolving a check does not scan every annotation of a wide source
        for note in self.annotations.columns:
            self._notes[(note.table, note.column)] = note
            if note.concept:
                self._by_concept.setdefault((note.table, note.concept), []).append(note)
        for notes in self._by_concept.values():
            notes.sort(key=lambda n: (-n.concept_confidence, n.column))

    # --- resolving concepts ------------------------------------------------------------------

    @property
    def tables(self) -> list[str]:
        return sorted(self.profiles)

    def column(self, table: str, name: str) -> Col | None:
        profile = self.profiles.get(table, {}).get(name)
        if profile is None:
            return None
        note = self._notes.get((table, name))
        return Col(table, name, profile.sql_type, note.concept if note else None,
                   note.concept_confidence if note else 0.0)

    def columns(self, table: str, names: Sequence[str]) -> list[Col] | None:
        """The columns `names` of `table`, or None when the typed table lacks any of them."""
        cols = [self.column(table, name) for name in names]
        found = [c for c in cols if c is not None]
        return found if len(found) == len(cols) else None

    def _usable(self, note: ColumnAnnotation) -> bool:
        return (note.concept_confidence >= self.settings.min_concept_confidence
                and note.column in self.profiles.get(note.table, {}))

    def find(self, table: str, concepts: Sequence[str]) -> Col | None:
        """The column of `table` with the first of `concepts` it carries (most confident first)."""
        for concept in concepts:
            for note in self._by_concept.get((table, concept), ()):
                if self._usable(note):
                    return self.column(table, note.column)
        return None

    def candidates(self, table: str, concepts: Sequence[str]) -> list[Col]:
        """Every usable column of `table` carrying one of `concepts`, in the order `find` tries them."""
        found: list[Col] = []
        for concept in concepts:
            for note in self._by_concept.get((table, concept), ()):
                col = self.column(table, note.column) if self._usable(note) else None
                if col is not None and all(c.name != col.name for c in found):
                    found.append(col)
        return found

    def near_misses(self, concepts: Sequence[str], table: str | None = None) -> list[str]:
        """Annotated columns of `concepts` that were not used, and why."""
        notes = []
        for note in self.annotations.with_concept(*concepts, table=table):
            if note.column not in self.profiles.get(note.table, {}):
                notes.append(f"{note.table}.{note.column} (`{note.concept}`) is not in the typed table")
            elif note.concept_confidence < self.settings.min_concept_confidence:
                notes.append(f"{note.table}.{note.column} has `{note.concept}` with confidence "
                             f"{fmt(note.concept_confidence)} < min_concept_confidence "
                             f"{fmt(self.settings.min_concept_confidence)}")
        return notes

    def resolve(self, slots: Mapping[str, Sequence[str]], tables: Iterable[str] | None = None
                ) -> tuple[list[tuple[str, dict[str, Col]]], str]:
        """Tables holding a column for every slot (slot -> concepts), with those columns; and,
        for when there is none, the exact reason."""
        scope = sorted(tables) if tables is not None else self.tables
        found, partial = [], []
        for table in scope:
            cols = {slot: self.find(table, concepts) for slot, concepts in slots.items()}
            if all(cols.values()):
                found.append((table, {s: c for s, c in cols.items() if c}))
            elif any(cols.values()):
                missing = [concepts_text(slots[s]) for s, c in cols.items() if c is None]
                partial.append(f"{table} has no column with concept {' nor '.join(missing)}")
        absent = [concepts_text(c) for c in slots.values()
                  if not any(self.find(t, c) for t in scope)]
        if absent:
            reason = f"no column with concept {' nor '.join(absent)}"
            if partial and len(absent) < len(slots):
                reason += f" ({'; '.join(partial)})"
        else:
            reason = "no single table has all of " + ", ".join(concepts_text(c) for c in slots.values())
            reason += f" ({'; '.join(partial)})" if partial else ""
        misses = self.near_misses([c for concepts in slots.values() for c in concepts])
        if misses:
            reason += f"; unused: {'; '.join(misses)}"
        return found, reason

    def table_note(self, table: str) -> TableAnnotation | None:
        return self.annotations.tables.get(table)

    def entity(self, table: str) -> str | None:
        note = self.table_note(table)
        return note.entity if note else None

    def grain(self, table: str) -> list[Col]:
        note = self.table_note(table)
        cols = [self.column(table, name) for name in (note.grain if note else ())]
        return [c for c in cols if c is not None]

    def time_column(self, table: str) -> Col | None:
        note = self.table_note(table)
        return self.column(table, note.time_column) if note and note.time_column else None

    # --- value expressions -------------------------------------------------------------------

    def _parse_share(self, col: Col, kind: str, parsed_sql: str, what: str) -> None:
        """Raise Unresolved when fewer than min_parse_share of the text column's values parse."""
        key = (col.ref, kind, parsed_sql)
        if key not in self._parse_checked:
            text = f"trim(CAST({col.ident} AS VARCHAR))"
            nonempty, parsed = one_row(self.con.execute(
                f"SELECT count(nullif({text}, '')), count({parsed_sql}) FROM {quote_ident(col.table)}"))
            share = parsed / nonempty if nonempty else 1.0
            self._parse_checked[key] = None
            if share < self.settings.min_parse_share:
                self._parse_checked[key] = (
                    f"{col.ref} is {col.sql_type} and only {fmt(parsed)} of its {fmt(nonempty)} non-empty values "
                    f"parse as {what} ({share:.0%} < min_parse_share {self.settings.min_parse_share:.0%})")
        reason = self._parse_checked[key]
        if reason:
            raise Unresolved(reason)

    def number(self, col: Col) -> Num:
        base = col.base_type
        if base in INTEGER_TYPES or base in FLOAT_TYPES or base in ("DECIMAL", "NUMERIC"):
            return Num(col, text=False)
        if base in TEXT_TYPES:
            num = Num(col, text=True)
            self._parse_share(col, "number", num.value(scale=self.settings.decimal_scale), "numbers")
            return num
        raise Unresolved(f"{col.ref} has type {col.sql_type}, not a number")

    def date(self, col: Col, alias: str | None = None) -> str:
        """A TIMESTAMP expression of a date column (text read as ISO dates)."""
        ref = col.at(alias) if alias else col.ident
        if col.base_type in DATE_TYPES:
            return f"CAST({ref} AS TIMESTAMP)"
        if col.base_type in TEXT_TYPES:
            self._parse_share(col, "date", f"TRY_CAST(trim({col.ident}) AS TIMESTAMP)", "ISO dates")
            return f"TRY_CAST(trim({ref}) AS TIMESTAMP)"
        raise Unresolved(f"{col.ref} has type {col.sql_type}, not a date")

    def month(self, col: Col, alias: str | None = None) -> tuple[str, str]:
        """A DATE expression of the first day of the month a date or period column names, and the
        format read ('date', 'YYYY-MM', ...)."""
        if col.base_type in DATE_TYPES:
            return self._month_of(self.date(col, alias)), "date"
        if col.base_type not in TEXT_TYPES and col.base_type not in INTEGER_TYPES:
            raise Unresolved(f"{col.ref} has type {col.sql_type}, not a period")
        text = f"trim(CAST({col.ident} AS VARCHAR))"
        counts = one_row(self.con.execute(
            "SELECT " + ", ".join(f"count(*) FILTER (WHERE regexp_full_match({text}, {quote_literal(p[1])}))"
                                  for p in PERIOD_FORMATS) + f" FROM {quote_ident(col.table)}"))
        best = max(range(len(PERIOD_FORMATS)), key=lambda i: (counts[i], -i))
        name = PERIOD_FORMATS[best][0]
        self._parse_share(col, f"period {name}", self._period_expr(text, best), f"{name} periods")
        ref = f"trim(CAST({col.at(alias) if alias else col.ident} AS VARCHAR))"
        return self._period_expr(ref, best), name

    @staticmethod
    def _month_of(timestamp: str) -> str:
        return f"CAST(date_trunc('month', {timestamp}) AS DATE)"

    def _period_expr(self, text: str, index: int) -> str:
        _, _, prefix, suffix, formats = PERIOD_FORMATS[index]
        value = text
        if prefix:
            value = f"{quote_literal(prefix)} || {value}"
        if suffix:
            value = f"{value} || {quote_literal(suffix)}"
        if PERIOD_FORMATS[index][0] == "YYYY-MM-DD":
            value = f"left({text}, 10)"
        listed = "[" + ", ".join(quote_literal(f) for f in formats.split("|")) + "]"
        return self._month_of(f"try_strptime({value}, {listed})")

    def pair(self, debit: Num, credit: Num, alias: str | None = None) -> tuple[str, str, dict[str, Any]]:
        """Value expressions of a debit/credit pair. When nearly every line fills exactly one side
        (`one_sided_share`), an empty side reads as 0; otherwise an empty side is a missing value."""
        table = quote_ident(debit.col.table)
        d_empty, c_empty = debit.empty(), credit.empty()
        filled, one_side = one_row(self.con.execute(
            f"SELECT count(*) FILTER (WHERE NOT ({d_empty} AND {c_empty})), "
            f"count(*) FILTER (WHERE ({d_empty}) <> ({c_empty})) FROM {table}"))
        one_sided = bool(filled) and one_side / filled >= self.settings.one_sided_share
        d_value, c_value = debit.value(alias, self.scale), credit.value(alias, self.scale)
        if one_sided:
            d_empty, c_empty = debit.empty(alias), credit.empty(alias)
            d_value = f"CASE WHEN {d_empty} AND NOT {c_empty} THEN 0 ELSE {d_value} END"
            c_value = f"CASE WHEN {c_empty} AND NOT {d_empty} THEN 0 ELSE {c_value} END"
        layout = {"layout": "one_sided" if one_sided else "two_sided", "lines_filling_one_side": one_side,
                  "lines_with_a_value": filled}
        return d_value, c_value, layout

    def cells(self, nums: Sequence[Num]) -> dict[str, dict[str, int]]:
        """Per column: empty cells, and non-empty cells that do not parse as numbers."""
        if not nums:
            return {}
        parts = []
        for i, num in enumerate(nums):
            parts.append(f"count(*) FILTER (WHERE {num.empty()}) AS e{i}")
            unparsed = f"NOT ({num.empty()}) AND {num.value(scale=self.scale)} IS NULL"
            parts.append(f"count(*) FILTER (WHERE {unparsed}) AS u{i}")
        row = self.one(f"SELECT {', '.join(parts)} FROM {quote_ident(nums[0].col.table)}")
        return {num.col.ref: {"empty": row[f"e{i}"], "unparseable": row[f"u{i}"]} for i, num in enumerate(nums)}

    @staticmethod
    def join_condition(left: Sequence[Col], right: Sequence[Col], left_alias: str, right_alias: str) -> str:
        """Equality of two column lists; columns of different types are compared as text."""
        terms = []
        for a, b in zip(left, right, strict=True):
            same = a.base_type == b.base_type or {a.base_type, b.base_type} <= INTEGER_TYPES
            x, y = a.at(left_alias), b.at(right_alias)
            terms.append(f"{x} = {y}" if same else f"CAST({x} AS VARCHAR) = CAST({y} AS VARCHAR)")
        return " AND ".join(terms)

    # --- SQL helpers -------------------------------------------------------------------------

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cursor = self.con.execute(sql, list(params))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def one(self, sql: str) -> dict[str, Any]:
        return self.rows(sql)[0]

    def examples(self, sql: str) -> tuple[dict[str, Any], ...]:
        if self.settings.max_examples == 0:
            return ()
        found = self.rows(f"{sql}\nLIMIT {self.settings.max_examples}")
        return tuple({k: scalar(v) for k, v in row.items()} for row in found)

    @staticmethod
    def exceeds(difference: str, magnitude: str, tolerance: Tolerance) -> str:
        """SQL condition: |difference| is beyond the tolerance (absolute, or relative to magnitude)."""
        if tolerance.relative:
            return (f"abs({difference}) > greatest({tolerance.absolute!r}, "
                    f"{tolerance.relative!r} * abs({magnitude}))")
        return f"abs({difference}) > {tolerance.absolute!r}"

    @property
    def scale(self) -> int:
        return self.settings.decimal_scale

    # --- results -----------------------------------------------------------------------------

    @staticmethod
    def _id(spec: Check, target: str | None) -> str:
        return f"{spec.id}:{target}" if target else spec.id

    def skipped(self, spec: Check, reason: str, target: str | None = None, tables: Sequence[str] = (),
                columns: Sequence[str] = (), evidence: Mapping[str, Any] | None = None) -> CheckResult:
        tolerance = getattr(spec, "tolerance", None)
        return CheckResult(
            id=self._id(spec, target), name=spec.name, description=spec.description, status="skipped",
            severity=spec.severity, tables=tuple(tables), columns=tuple(columns), violations=None, checked=None,
            violation_ratio=None, tolerance=tolerance.absolute if tolerance else None, reason=reason, sql=None,
            examples=(), evidence=dict(evidence or {}), kind=spec.kind,
            relative_tolerance=tolerance.relative if tolerance else None,
        )

    def result(self, spec: Check, target: str | None, cols: Sequence[Col], violations: int, checked: int,
               sql: str, reason: str, examples: Sequence[Mapping[str, Any]] = (),
               evidence: Mapping[str, Any] | None = None, tables: Sequence[str] = ()) -> CheckResult:
        """Failed when anything violates, passed otherwise; skipped when nothing could be examined."""
        tables = tuple(dict.fromkeys([*tables, *(c.table for c in cols)]))
        columns = tuple(dict.fromkeys(c.ref for c in cols))
        if not checked:
            return self.skipped(spec, reason, target, tables, columns, evidence)
        tolerance = getattr(spec, "tolerance", None)
        return CheckResult(
            id=self._id(spec, target), name=spec.name, description=spec.description,
            status="failed" if violations else "passed", severity=spec.severity, tables=tables, columns=columns,
            violations=violations, checked=checked, violation_ratio=round_sig(violations / checked),
            tolerance=tolerance.absolute if tolerance else None, reason=reason, sql=sql.strip(),
            examples=tuple(examples) if violations else (), evidence=dict(evidence or {}), kind=spec.kind,
            relative_tolerance=tolerance.relative if tolerance else None,
        )
