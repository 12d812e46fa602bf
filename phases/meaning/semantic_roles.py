"""Roles of columns and kinds of tables, from measured evidence.

Column roles, in order of strength:
- key: the table's primary key (one column), or a column other tables' foreign keys point to;
- foreign_key: the child end of an accepted relationship;
- timestamp: typed date or timestamp;
- measure: numeric and not key-like (not unique integers, not a few integer codes, not years),
  or numeric and named as a measure concept;
- dimension: booleans and low-cardinality categories;
- identifier: near-unique codes (reference numbers, e-mails, phone numbers);
- attribute: the rest (names, free text).

Table kinds, from the FK graph first: a bridge links two or more tables and measures nothing; a
table on the parent side of foreign keys is a dimension, unless it is the header of a fact (an
event date or additive measures, and not ten times smaller than the table referring to it); an
unreferenced table holding additive or point-in-time measures that references other tables or has
an event date is a fact; an unreferenced table without such measures is reference data. The
ontology's usual kind for the table's entity confirms or questions the structural answer, and
decides only when the structure says nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from phases.artifacts.annotations import (
    AnnotationEvidence,
    ColumnAnnotation,
    Role,
    TableAnnotation,
    TableKind,
)
from phases.core.config import Model
from phases.meaning.ontology import ConceptSpec, Ontology
from phases.meaning.semantic_evidence import DATES, NUMERIC, ColumnFacts, TableFacts, unique_by_chance
from phases.meaning.semantic_numbers import NumberSettings, clock_time

TIME_ROLE_ORDER = {"event": 0, "effective": 1, "period": 2, "created": 3, None: 4, "due": 5}


class RoleSettings(Model):
    dimension_max_distinct: int = Field(50, ge=1, le=1_000_000)
    dimension_max_ratio: float = Field(0.2, ge=0, le=1)
    small_table_rows: int = Field(20, ge=1, le=1_000_000)
    identifier_min_ratio: float = Field(0.9, ge=0, le=1)
    code_max_space_share: float = Field(0.5, ge=0, le=1)
    code_max_distinct: int = Field(12, ge=1, le=1_000_000)
    year_min: int = Field(1900, ge=0, le=10_000)
    year_max: int = Field(2100, ge=0, le=10_000)
    text_date_min_share: float = Field(0.8, ge=0, le=1)
    reference_min_containment: float = Field(0.9, ge=0, le=1)


class TableSettings(Model):
    header_min_row_ratio: float = Field(0.1, ge=0, le=1)
    bridge_max_attributes: int = Field(1, ge=0, le=1000)
    reference_max_rows: int = Field(5000, ge=1, le=1_000_000_000)


@dataclass(frozen=True)
class RoleDecision:
    role: Role
    confidence: float
    kind: str  # evidence kind of the reason: statistics | relationship | type
    reason: str


def low_cardinality(col: ColumnFacts, rs: RoleSettings, rows: int) -> bool:
    p = col.profile
    if p.distinct_count > rs.dimension_max_distinct:
        return False
    return col.distinct_ratio <= rs.dimension_max_ratio or (rows <= rs.small_table_rows
                                                           and p.distinct_count < col.non_null)


def _year_like(col: ColumnFacts, rs: RoleSettings) -> bool:
    n = col.profile.numeric
    return (n is not None and col.type == "integer" and rs.year_min <= n.min and n.max <= rs.year_max
            and col.profile.distinct_count <= rs.dimension_max_distinct)


def decide_role(col: ColumnFacts, concept: ConceptSpec | None, pii: str | None, rs: RoleSettings,
                rows: int, numbers: NumberSettings | None = None) -> RoleDecision:
    """The role the evidence supports; `concept` only breaks the tie between a measure and a code."""
    p = col.profile
    if col.non_null == 0:
        return RoleDecision("attribute", 0.3, "statistics", "the column is empty: nothing to decide a role from")
    if col.primary_key:
        return RoleDecision("key", 0.95, "relationship", f"primary key of {col.table!r}: {p.distinct_count} unique "
                                                         "non-null values")
    if col.foreign_key is not None:
        fk = col.foreign_key
        return RoleDecision("foreign_key", fk.confidence, "relationship",
                            f"child end of {fk.id} ({fk.cardinality}, confidence {fk.confidence:.2f}, "
                            f"{fk.orphan_rows} orphan rows)")
    if col.referenced_by:
        return RoleDecision("key", 0.85, "relationship", f"a key other tables refer to: {', '.join(col.referenced_by)}")
    if col.type in DATES:
        conf = col.typing.confidence if col.typing and col.typing.confidence is not None else 0.95
        return RoleDecision("timestamp", conf, "type", f"typed {col.type}")
    measure_named = concept is not None and concept.roles[:1] == ("measure",)
    if col.type in NUMERIC:
        return _numeric_role(col, concept, measure_named, rs, rows, numbers or NumberSettings())
    if col.type == "boolean":
        return RoleDecision("dimension", 0.9, "type", "a boolean flag: two categories")
    if low_cardinality(col, rs, rows):
        return RoleDecision("dimension", 0.8, "statistics", f"{p.distinct_count} distinct values in {col.non_null} "
                                                            f"non-null rows: a category")
    dates = col.text_date_share
    if dates >= rs.text_date_min_share:
        return RoleDecision("attribute", 0.5, "values", f"typed text, but {dates:.0%} of the value shapes are dates: "
                                                        "not usable as a timestamp until typed")
    if col.distinct_ratio >= rs.identifier_min_ratio:
        if pii in ("email", "phone", "card_number"):
            return RoleDecision("identifier", 0.8, "statistics", f"{col.distinct_ratio:.0%} of the non-null values "
                                                                 f"are distinct {pii.replace('_', ' ')}s")
        if col.shape_share(" ") <= rs.code_max_space_share and col.shape_share("9") >= 1 - rs.code_max_space_share:
            return RoleDecision("identifier", 0.8, "statistics",
                                f"{col.distinct_ratio:.0%} of the non-null values are distinct and shaped like codes "
                                "(digits, no spaces)")
        return RoleDecision("attribute", 0.7, "statistics", f"{col.distinct_ratio:.0%} distinct values shaped like "
                                                            "words (names, labels or free text)")
    return RoleDecision("attribute", 0.65, "statistics", f"text with {p.distinct_count} distinct values: neither a "
                                                         "category nor an identifier")


def _numeric_role(col: ColumnFacts, concept: ConceptSpec | None, measure_named: bool, rs: RoleSettings,
                  rows: int, numbers: NumberSettings) -> RoleDecision:
    p = col.profile
    if concept is not None and concept.calendar_part and concept.value_range is not None:
        low, high = concept.value_range
        n = p.numeric
        span = f"{n.min:g}..{n.max:g}" if n is not None else "values"
        return RoleDecision("dimension", 0.85, "values", f"a calendar part ({concept.label.lower()}): {span} within "
                                                         f"its domain {low:g}..{high:g}; group or filter by it, never "
                                                         "sum it")
    clock = clock_time(col, numbers)
    if clock:
        return RoleDecision("dimension", 0.8, "values", clock)
    drawn = _drawn_from_a_key(col, rs)
    if drawn:
        return RoleDecision("identifier", 0.7, "relationship", drawn)
    # a key word in the name ('refunded_customer_sk') marks a reference, whatever measure word precedes it
    if measure_named and not (col.type == "integer" and col.reading.id_like):
        return RoleDecision("measure", 0.9, "statistics", f"{col.type} values named as a measure")
    if col.type == "integer":
        keyish = col.reading.id_like or (concept is not None and "measure" not in concept.roles)
        if keyish:
            if low_cardinality(col, rs, rows):
                return RoleDecision("dimension", 0.8, "statistics", f"integer code ({p.distinct_count} values, "
                                                                    "named like a key or code)")
            return RoleDecision("identifier", 0.75, "statistics", "integers named like a key or code, not a quantity")
        if p.unique and col.non_null >= 2 and unique_by_chance(p, col.reading) is None:
            return RoleDecision("identifier", 0.75, "statistics",
                                "unique integers: a sequence or an id, not a quantity")
        if _year_like(col, rs):
            return RoleDecision("dimension", 0.8, "statistics", f"integers within {rs.year_min}..{rs.year_max}: years")
        if p.distinct_count <= rs.code_max_distinct:
            return RoleDecision("dimension", 0.65, "statistics", f"only {p.distinct_count} integer values: a code, "
                                                                 "not a quantity")
        return RoleDecision("measure", 0.75, "statistics", f"integers with {p.distinct_count} distinct values")
    return RoleDecision("measure", 0.8, "statistics", f"{col.type} values")


def _drawn_from_a_key(col: ColumnFacts, rs: RoleSettings) -> str | None:
    """Why an integer column's values are references to another table's key (a foreign key the
    relationships phase measured but did not accept), or None: a value that points at a row is no
    quantity, whether or not the join is declared."""
    r = col.rejected
    if r is None or col.type != "integer":
        return None
    beyond = r.evidence.get("containment_beyond_chance")
    unique = r.evidence.get("parent_uniqueness")
    if not isinstance(beyond, int | float) or not isinstance(unique, int | float):
        return None
    if beyond < rs.reference_min_containment or unique < rs.reference_min_containment:
        return None
    # small integers of a heavy-tailed measure also fall inside a dense key range: the names break the tie
    named = max((v for k in ("name_similarity", "column_name_similarity")
                 if isinstance(v := r.evidence.get(k), int | float)), default=0.0)
    if named <= 0:
        return None
    return (f"{beyond:.0%} of its values lie in {r.parent_table}.{', '.join(r.parent_columns)} beyond what chance "
            f"explains (a candidate foreign key not accepted: {r.reason}): references to rows, not a quantity")


# --- what a measure or a date is ----------------------------------------------------------------


def unit_of(col: ColumnFacts, spec: ConceptSpec | None, currency_columns: Sequence[ColumnFacts]
            ) -> tuple[str | None, str | None, str | None]:
    """(unit, unit_source, note) of a measure."""
    t = col.typing
    if col.type == "currency":
        if t is not None and t.mixed:
            codes = ", ".join(u for u, _ in t.units)
            return None, None, f"typed currency, but mixes {codes}"
        if col.profile.unit:
            return col.profile.unit, "typing", f"typed currency in {col.profile.unit}"
    if col.type == "percent":
        return "percent", "typing", "typed percent"
    if spec is not None and spec.unit == "currency" or col.type == "currency":
        if len(currency_columns) == 1:
            cur = currency_columns[0]
            values = [v.value for v in cur.profile.top_values if v.value is not None]
            if cur.profile.distinct_count == 1 and values:
                return str(values[0]), "values", f"every row's currency (column {cur.name!r}) is {values[0]}"
            return None, None, (f"money in the currency of each row (column {cur.name!r}, "
                                f"{cur.profile.distinct_count} codes)")
        if len(currency_columns) > 1:
            names = ", ".join(repr(c.name) for c in currency_columns)
            return None, None, f"money, but the table has several currency columns ({names})"
        return None, None, "money in an unknown currency (no currency type, code or column)"
    if spec is not None and spec.unit and spec.unit != "currency":
        return spec.unit, "ontology", f"the ontology's {spec.label.lower()} is in {spec.unit}"
    return None, None, None


def time_role_of(role: str, spec: ConceptSpec | None) -> str | None:
    if spec is None or spec.time_role is None:
        return None
    if role == "timestamp" or (spec.time_role == "period" and not set(spec.types) <= set(DATES)):
        return spec.time_role
    return None


# --- tables -------------------------------------------------------------------------------------


def annotate_table(t: TableFacts, cols: Sequence[ColumnAnnotation], tables: Mapping[str, TableFacts],
                   ontology: Ontology, ts: TableSettings) -> TableAnnotation:
    evidence: list[AnnotationEvidence] = []
    if t.entity:
        evidence.append(AnnotationEvidence("name", f"table name {t.name!r} contains the entity indicator "
                                         f"{' '.join(t.entity_phrase)!r}: one row is a {t.entity} record"))
    measures = [c for c in cols if c.role == "measure"]
    summable = [c for c in measures if c.aggregation in ("additive", "point_in_time")]
    parents = sorted({r.parent_table for r in t.outgoing})
    children = sorted({r.child_table for r in t.incoming})
    time_col = main_time_column(cols)
    event = (time_col is not None and time_col.time_role in ("event", "effective", "period")) or any(
        c.time_role == "period" for c in cols)
    # a table with one row per date is a calendar (a date dimension), not a record of events
    dated = t.column(time_col.column) if time_col is not None else None
    if dated is not None and dated.profile.unique and t.incoming:
        event = False
    others = [c for c in cols if c.role not in ("key", "foreign_key", "timestamp") and not c.references]
    structural = (f"{len(measures)} measures ({len(summable)} additive or point-in-time), references "
                  f"{len(parents)} tables {parents}, referenced by {len(children)} {children}, {t.rows} rows")
    evidence.append(AnnotationEvidence("relationship", structural))
    kind, conf, why = _kind(t, summable, measures, parents, children, event, others, tables, ts)
    evidence.append(AnnotationEvidence("statistics", why))
    entity = ontology.entities.get(t.entity) if t.entity is not None else None
    hint = entity.spec.kind if entity is not None else None
    if hint and kind != "unknown":
        agree = hint == kind or {hint, kind} <= {"dimension", "reference"}
        conf = min(1.0, conf + 0.1) if agree else conf * 0.8
        evidence.append(AnnotationEvidence("ontology", f"a {t.entity} table is usually a {hint}: "
                                             f"{'agrees' if agree else 'the structure says otherwise'}"))
    if kind == "unknown":
        kind, conf = (hint, 0.5) if hint else ("reference" if t.rows <= ts.reference_max_rows else "dimension", 0.4)
        evidence.append(AnnotationEvidence("ontology", f"structure undecided: {kind} from "
                                             f"{'the entity' if hint else 'the table size'}"))
    grain = t.primary_key
    if grain:
        evidence.append(AnnotationEvidence("statistics", f"grain {list(grain)} from {t.grain_source}"))
    elif t.grain_source:
        evidence.append(AnnotationEvidence("statistics", t.grain_source))
    elif t.profile.duplicates.rows:
        repeated = t.profile.duplicates.rows
        evidence.append(AnnotationEvidence("statistics", f"no grain: {repeated} rows repeat another row"))
    else:
        evidence.append(AnnotationEvidence("statistics", "no column set found that identifies a row"))
    if time_col is not None:
        others_t = [f"{c.column} ({c.time_role or 'unclear'})" for c in cols
                    if c.role == "timestamp" and c is not time_col]
        main = f"main date {time_col.column!r} ({time_col.time_role or 'unclear role'})"
        other_dates = f"; other dates: {', '.join(others_t)}" if others_t else ""
        evidence.append(AnnotationEvidence("type", main + other_dates))
    return TableAnnotation(
        table=t.name, kind=kind, entity=t.entity, grain=tuple(grain), time_column=time_col.column if time_col else None,
        rows=t.rows, confidence=round(conf, 3), evidence=tuple(evidence), references=t.references,
    )


def _kind(t: TableFacts, summable: Sequence[ColumnAnnotation], measures: Sequence[ColumnAnnotation],
          parents: Sequence[str], children: Sequence[str], event: bool, others: Sequence[ColumnAnnotation],
          tables: Mapping[str, TableFacts], ts: TableSettings) -> tuple[TableKind | Literal["unknown"], float, str]:
    if len(parents) >= 2 and not measures and len(others) <= ts.bridge_max_attributes:
        return "bridge", 0.85, f"links {len(parents)} tables and measures nothing: a bridge"
    if children:
        return _parent_kind(t, summable, event, children, tables, ts)
    if summable and (parents or event):
        return "fact", 0.85, "holds measures and references other tables or has an event date: a fact"
    if not summable and not parents and t.rows <= ts.reference_max_rows:
        return "reference", 0.7, f"unreferenced, no additive measures, {t.rows} rows: reference data"
    if summable:
        return "fact", 0.6, "holds measures but no relationships or event date"
    return "unknown", 0.0, "the structure does not tell"


def _parent_kind(t: TableFacts, summable: Sequence[ColumnAnnotation], event: bool, children: Sequence[str],
                 tables: Mapping[str, TableFacts], ts: TableSettings) -> tuple[TableKind, float, str]:
    """A table other tables refer to is a dimension, unless it is the header of a fact: it records
    events (an event date, or amounts that add up), one table details it and it is not much smaller
    than that table (orders referenced by their lines, sales referenced by their returns)."""
    additive = [c for c in summable if c.aggregation == "additive"]
    if (additive or event) and not shared_dimension(t, tables, ts):
        what = "an event date" if event else f"{len(additive)} additive measures"
        detail = children[0]
        return "fact", 0.75, (f"referenced by {detail} alone, but holds {what} and {t.rows} rows against "
                              f"{tables[detail].rows if detail in tables else '?'} in {detail}: the header of a fact")
    return "dimension", 0.8, (f"on the parent side of the foreign keys of {', '.join(children)} and no header of "
                              "one of them: a dimension")


def shared_dimension(t: TableFacts, tables: Mapping[str, TableFacts], ts: TableSettings) -> bool:
    """The table is on the parent side of foreign keys as a dimension is: referenced by several tables
    (a date, a customer shared by facts), or by one table more than 1 / header_min_row_ratio times its
    size. Its dates and money describe its rows; it records no events of its own."""
    children = {r.child_table for r in t.incoming}
    if not children:
        return False
    if len(children) > 1:
        return True
    child = tables.get(next(iter(children)))
    return child is None or t.rows < ts.header_min_row_ratio * child.rows


def main_time_column(cols: Sequence[ColumnAnnotation]) -> ColumnAnnotation | None:
    dates = [c for c in cols if c.role == "timestamp"]
    if not dates:
        return None
    return min(dates, key=lambda c: (TIME_ROLE_ORDER.get(c.time_role, 4), -c.confidence, cols.index(c)))
