"""Entropy detectors of what is missing or doubled: NULLs (with the column that explains them,
when one does), placeholders posing as data, empty tables and exact duplicate rows.

A NULL an agent has not been told about silently changes COUNT, AVG and every filter, whatever
share of the column it is, so any unexplained NULL is a reason to investigate; NULLs say what
cannot be answered, not that SQL goes wrong, so on their own they stay below `blocked`. They are
by design, and damped, when the data explains them:

- a category of the same row decides them (`status` <> 'hurricane' -> no category), measured
  as the share of NULL/non-NULL a column's categories predict beyond what always guessing the
  majority would (Goodman and Kruskal's lambda): a column that is 98% NULL is not "explained"
  by any category because 98% of rows follow it;
- the column is a further slot of a list spread over columns (bottom1 .. bottom7): set only
  where the previous slot is set, with the same kind of values;
- they are the roots of a hierarchy (a self-reference), or the "no parent" of an optional
  relationship: a reference that is NULL on a substantial share of its rows. A reference that is
  set almost everywhere and NULL on a few rows has gaps, not an optional parent.

NULLs that fill one end of the time axis, or one end of each series of a panel (a column recorded
only from 2004 on, a country that reports from 1995 on), are coverage (entropy.coverage, chance
corrected): a note that states the period and the counts, damped below `investigate`, because a
question over the recorded period is answered right and the context says where that period is. The
NULLs left inside the recorded period still count as below.

Unexplained NULLs make SQL answers wrong only where a query relies on the value being there: in a
key or a reference (an inner join drops the row), an identifier, and a measure that is summed (SUM
skips the row and the total silently covers the recorded rows only). In any other column (a
dimension, whose NULLs are a group of their own in GROUP BY so the breakdown still adds up; a
reading that is averaged; a ratio; a free-text attribute; a date) AVG, GROUP BY and filters treat a
NULL as "not recorded", which is what it is: there the NULLs are a note in the context (how many),
damped below `investigate`, not a reason to distrust the column. A column whose annotation is
unknown keeps the full score, and so does an empty one: it answers nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from phases.artifacts.annotations import ColumnAnnotation
from phases.artifacts.column_profiles import ColumnProfile
from phases.artifacts.entropy_scores import EntropyObject
from phases.core.sql import quote_ident
from phases.entropy.base import finding, fix, pct
from phases.entropy.coverage import Coverage, coverage, described
from phases.entropy.evidence import Evidence
from phases.entropy.settings import EntropySettings, Nulls, ramp

ORDERED = ("integer", "date", "timestamp")  # explaining columns whose categories have an order


def references(ev: Evidence) -> dict[tuple[str, str], bool]:
    """The foreign key columns of accepted relationships: (table, column) -> whether the key
    refers to its own table (a hierarchy)."""
    out: dict[tuple[str, str], bool] = {}
    for r in ev.relationships.relationships:
        for c in r.child_columns:
            out[(r.child_table, c)] = out.get((r.child_table, c), False) or r.child_table == r.parent_table
    return out


def category_columns(profiles: Iterable[Any], n: Any, types: tuple[str, ...] = ("text", "boolean")) -> list[Any]:
    """Profiles of the columns whose values are a few categories with enough rows each (of the
    given types, not unique), fewest categories first: the columns that can explain a pattern
    (where a column is NULL, where a reconciliation applies) without chance doing it."""
    return sorted(
        (p for p in profiles
         if p.type in types and not p.unique
         and 2 <= p.distinct_count <= min(n.structural_max_categories, p.rows / n.structural_min_rows_per_category)),
        key=lambda p: (p.distinct_count, p.name),
    )


@dataclass(frozen=True)
class Pattern:
    """The column whose categories decide where another column is NULL."""

    column: str
    gain: float  # lambda: the share of the majority guess's errors its categories remove
    purity: float  # share of rows whose NULL-ness their category's majority predicts
    null_where: tuple[str, ...]  # the categories where the column is mostly NULL
    edge: str | None = None  # an ordered column whose NULL categories fill one end: "before X" / "after X"


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, value) if isinstance(value, int | float | dt.date | dt.datetime) else (1, str(value))


def _edge(groups: list[tuple[Any, int, int]]) -> str | None:
    """For an ordered column's categories (value, rows, nulls), 'before V' / 'after V' when the
    mostly-NULL ones are exactly the first (last) few, with at least one of each kind."""
    ordered = sorted((g for g in groups if g[0] is not None), key=lambda g: _sort_key(g[0]))
    flags = [nulls > rows - nulls for _, rows, nulls in ordered]
    if len(ordered) < 3 or all(flags) or not any(flags):
        return None
    first_set = flags.index(False)
    if not any(flags[first_set:]):  # NULL up to some value, set from then on
        return f"before {ordered[first_set][0]}"
    last_set = len(flags) - 1 - flags[::-1].index(False)
    if all(flags[last_set + 1:]) and not any(flags[: last_set + 1]):
        return f"after {ordered[last_set][0]}"
    return None


def null_patterns(con: Any, source: str, profiles: Mapping[str, ColumnProfile], columns: list[str],
                  n: Nulls) -> dict[str, Pattern]:
    """For each of `columns`, the low-cardinality column whose categories best decide where it
    is NULL, when it decides it beyond chance (lambda at least `structural_min_gain`). Text,
    boolean and integer or date columns with few values are tried, fewest categories first; one
    grouped scan per candidate covers every column with nulls."""
    # categories proper first (a status, a flag), then few-valued numbers and dates (an indicator, a year)
    candidates = (category_columns(profiles.values(), n)
                  + category_columns(profiles.values(), n, ORDERED))[: n.structural_max_candidates]
    best: dict[str, Pattern] = {}
    for cat in candidates:
        others = [c for c in columns if c != cat.name]
        if not others:
            continue
        counts = ", ".join(f"count(*) FILTER (WHERE {quote_ident(c)} IS NULL)" for c in others)
        rows = con.execute(
            f"SELECT {quote_ident(cat.name)}, count(*), {counts} "
            f"FROM {source} GROUP BY 1"
        ).fetchall()
        total = sum(r[1] for r in rows)
        for i, column in enumerate(others, start=2):
            nulls = sum(r[i] for r in rows)
            majority = max(nulls, total - nulls)
            if not total or majority == total:
                continue
            purity = sum(max(r[i], r[1] - r[i]) for r in rows) / total
            gain = (purity * total - majority) / (total - majority)
            nulled = [r for r in rows if r[i] > r[1] - r[i]]
            if not any(r[0] is not None for r in nulled):
                continue  # NULL only where the category is NULL too: missing together, not a design
            if gain >= n.structural_min_gain and (column not in best or gain > best[column].gain):
                where = tuple(sorted(str(r[0]) for r in nulled))
                edge = _edge([(r[0], r[1], r[i]) for r in rows]) if cat.type in ORDERED else None
                best[column] = Pattern(cat.name, gain, purity, where, edge)
    return best


MAX_SLOT_COLUMNS = 40  # text columns with NULLs compared pairwise for list slots (one scan per table)


def list_slots(con: Any, source: str, columns: list[ColumnProfile]) -> dict[str, str]:
    """Text columns that are further slots of a list spread over columns (bottom1 .. bottom7,
    phone1 .. phone3): set only on rows where another text column with fewer NULLs is set, and
    holding the same kind of values (at least half of their distinct values occur there). Their
    NULL means the list was shorter: column -> the slot before it (the one with most NULLs)."""
    text = sorted((p for p in columns if p.type == "text" and p.non_null_count), key=lambda p: (p.null_count, p.name))
    text = text[:MAX_SLOT_COLUMNS]
    pairs = [(x, y) for x in text for y in text if x.null_count > y.null_count]
    if not pairs:
        return {}
    broken = con.execute("SELECT " + ", ".join(
        f"count_if({quote_ident(x.name)} IS NOT NULL AND {quote_ident(y.name)} IS NULL)" for x, y in pairs)
        + f" FROM {source}").fetchone()
    slots: dict[str, str] = {}
    for (x, y), n in sorted(zip(pairs, broken, strict=True), key=lambda t: (t[0][0].name, -t[0][1].null_count)):
        if n or x.name in slots:
            continue
        shared, distinct = con.execute(
            f"SELECT count(DISTINCT {quote_ident(x.name)}) FILTER (WHERE {quote_ident(x.name)} IN "
            f"(SELECT {quote_ident(y.name)} FROM {source})), count(DISTINCT {quote_ident(x.name)}) FROM {source}"
        ).fetchone()
        if distinct and shared >= 0.5 * distinct:
            slots[x.name] = y.name
    return slots


def _shown(where: tuple[str, ...]) -> str:
    return ", ".join(repr(w) for w in where[:5]) + (" ..." if len(where) > 5 else "")


# roles a join or a lookup needs set on every row: an inner join or an equality filter drops a NULL
JOINED = ("key", "foreign_key", "identifier")


def joined(annotation: ColumnAnnotation | None, in_key: bool) -> bool:
    """Whether the column is one a join or a lookup relies on: its NULLs make rows vanish."""
    return in_key or (annotation is not None and (annotation.role in JOINED or bool(annotation.references)))


def harmless(annotation: ColumnAnnotation | None, in_key: bool) -> bool:
    """Whether unexplained NULLs in the column leave SQL answers right: it is no key, reference or
    identifier, and no measure an agent may sum. A dimension's NULLs are a group of their own in a
    GROUP BY, so the breakdown still adds up to the total; only a filter on a value skips them,
    which the count in the context tells. A measure is harmless only when it is known to be
    averaged (non-additive); an additive one, a stock summed across entities at one time, and
    counts whose aggregation is undecided are summed. Unknown annotation: not harmless."""
    if annotation is None or joined(annotation, in_key):
        return False
    return annotation.role != "measure" or annotation.aggregation == "non_additive"


@dataclass(frozen=True)
class Judged:
    """What the detector knows of one column besides its profile."""

    pattern: Pattern | None = None
    reference: bool | None = None  # None: no reference; else whether it refers to its own table
    slot: str | None = None
    note: bool = False  # unexplained NULLs would leave answers right
    joined: bool = False  # a join or lookup relies on the column
    coverage: Coverage | None = None
    dimension: bool = False


def _counted(p: ColumnProfile) -> str:
    return f"{p.null_count} of {p.rows} values ({pct(p.null_ratio)}) are NULL"


def _score(share: float, n: Nulls) -> float:
    return n.any_score + (n.max_score - n.any_score) * ramp(share, n.start, n.full)


def _coverage_finding(table: str, p: ColumnProfile, n: Nulls, j: Judged, cov: Coverage) -> EntropyObject:
    """NULLs at the ends of the time axis (or of each series) are a note stating the period; NULLs
    left inside the recorded period of a column an agent sums or joins on still count, on the share
    of the recorded period they leave out."""
    evidence: dict[str, Any] = {"null_count": p.null_count, "rows": p.rows, "null_ratio": p.null_ratio,
                                "optional_reference": False, "coverage": described(cov), "axis": cov.axis,
                                "before": cov.before, "after": cov.after, "series_ends": cov.series_ends,
                                "inside": cov.inside, "covered_rows": cov.covered_rows}
    if cov.first is not None:
        evidence["first_recorded"] = cov.first
    if cov.last is not None:
        evidence["last_recorded"] = cov.last
    if cov.series:
        evidence["series"] = list(cov.series)
    summary = f"{_counted(p)}: {described(cov)}"
    if cov.inside and not j.note:
        share = cov.inside / cov.covered_rows if cov.covered_rows else 1.0
        score = _score(share, n)
        summary += (f"; the {cov.inside} inside it ({pct(share)} of its rows) are silently left out of SUM and COUNT "
                    "over the recorded period")
    else:
        score = _score(p.null_ratio, n) * n.coverage_damping
        evidence["harmless"] = True
        summary += ("; questions over the recorded period are answered right, questions across it mix in the rest"
                    if not cov.inside else
                    "; the column is no key, reference or summed measure, so AVG, GROUP BY and filters read the NULLs "
                    "inside as not recorded")
    return finding(table, p.name, "nulls", "null_ratio", score, summary, evidence,
                   (fix(f"restrict questions about {p.name} to the period where it was recorded", 0.8),))


def _null_finding(table: str, p: ColumnProfile, n: Nulls, j: Judged) -> EntropyObject:
    """One column's NULLs: by structure, a further slot of a list, an optional reference, a
    coverage of part of the time axis, NULLs that leave answers right (a note), or unexplained."""
    pattern, reference = j.pattern, j.reference
    share = p.null_ratio
    score = _score(share, n)
    counted = _counted(p)
    evidence: dict[str, Any] = {"null_count": p.null_count, "rows": p.rows, "null_ratio": share,
                                "optional_reference": False}
    resolution = fix("declare what a NULL means here (unknown, not applicable, zero)", 0.8)
    if pattern is not None:
        evidence.update(explained_by=pattern.column, gain=pattern.gain, purity=pattern.purity,
                        null_where=list(pattern.null_where[:20]))
    if j.coverage is not None and reference is None and not j.joined:
        return _coverage_finding(table, p, n, j, j.coverage)
    if pattern is not None and pattern.edge is None:
        score *= n.structural_damping
        summary = (f"{counted}, by structure: where {pattern.column!r} is {_shown(pattern.null_where) or 'rare'} "
                   f"({pct(pattern.purity)} of rows follow it); filter on {pattern.column!r} rather than reading "
                   "NULL as zero or unknown")
    elif j.slot is not None:
        score *= n.structural_damping
        evidence["slot_after"] = j.slot
        summary = (f"{counted}: a further slot of the list in {j.slot!r}, set only where {j.slot!r} is and holding "
                   "the same values; NULL means the list was shorter")
    elif reference:
        score *= n.optional_reference_damping
        evidence["optional_reference"] = True
        summary = f"{counted}: the roots of the hierarchy, which have no parent"
    elif reference is not None and share >= n.optional_reference_min_share:
        score *= n.optional_reference_damping
        evidence["optional_reference"] = True
        summary = f"{counted}: an optional reference, NULL where there is no parent; an inner join drops those rows"
    elif reference is not None:
        summary = (f"{counted} in a reference that is set everywhere else: an inner join silently drops these rows, "
                   "and COUNT and filters skip them")
    elif j.note and j.dimension:
        score *= n.harmless_damping
        evidence["harmless"] = True
        summary = (f"{counted}: a group of their own in GROUP BY {p.name!r}, so the breakdown still adds up to the "
                   "total; a filter on a value of it, and COUNT(column), skip these rows")
    elif j.note:
        score *= n.harmless_damping
        evidence["harmless"] = True
        summary = (f"{counted}: values not recorded; the column is no key, reference, category or summed measure, "
                   "so AVG and filters read them as absent; COUNT(column) counts only the recorded rows")
    else:
        summary = f"{counted} with no column that explains them; COUNT(column), AVG and filters silently skip them"
        if p.type in ("integer", "decimal", "currency"):
            summary += "; SUM covers the recorded rows only"
    return finding(table, p.name, "nulls", "null_ratio", score, summary, evidence, (resolution,))


def nulls(ev: Evidence, s: EntropySettings, typed: Mapping[str, str], con: Any) -> list[EntropyObject]:
    n = s.nulls
    refs = references(ev)
    out = []
    for table, profiles in ev.profiles.items():
        with_nulls = [p for p in profiles.values() if p.rows and p.null_count]
        present = with_nulls and table in typed
        names = [p.name for p in with_nulls]
        patterns = null_patterns(con, typed[table], profiles, names, n) if present else {}
        slots = list_slots(con, typed[table], with_nulls) if present else {}
        # coverage is a matter of time: along the table's time axis, never along any ordered column
        covered = coverage(con, typed[table], ev.temporal.get(table), profiles, names, n) if present else {}
        keys = ev.relationships.primary_keys.get(table, ())
        key = set(keys[0]) if keys else set()
        for p in with_nulls:
            a = ev.annotation(table, p.name)
            in_key = p.name in key
            judged = Judged(patterns.get(p.name), refs.get((table, p.name)), slots.get(p.name),
                            harmless(a, in_key) and p.null_count < p.rows, joined(a, in_key), covered.get(p.name),
                            a is not None and a.role == "dimension")
            out.append(_null_finding(table, p, n, judged))
    for table, profile in ev.table_profiles.items():
        if profile.rows == 0:
            out.append(finding(
                table, None, "nulls", "empty_table", n.empty_table_score,
                f"{table} has no rows: every query over it returns nothing, and joins to it drop everything",
                {"rows": 0}, (fix(f"check that {ev.imports[table].file if table in ev.imports else table} "
                                  "is the complete export", 1.0),),
                target_kind="table", target=table,
            ))
    return out + placeholders(ev, s)


def placeholders(ev: Evidence, s: EntropySettings) -> list[EntropyObject]:
    """The statistical_quality phase's placeholders (values that stand apart as a missing value would)."""
    out = []
    for table, q in ev.quality.items():
        for f in q.findings:
            if f.kind == "sentinel_value" and f.column:
                value = f.examples[0].value if f.examples else f.evidence.get("value")
                out.append(finding(
                    table, f.column, "nulls", "sentinel", s.nulls.sentinel_score,
                    f"the value {value!r} occurs {f.evidence.get('count', '?')} times and looks like a placeholder "
                    "for a missing value, posing as data",
                    {**f.evidence, "value": value},
                    (fix(f"declare {value!r} a null value in config/null_values.yaml", 1.0),),
                ))
    return out


def duplicate_rows(ev: Evidence, s: EntropySettings) -> list[EntropyObject]:
    """Rows equal in every column to an earlier row: COUNT(*) and every SUM count them twice."""
    d = s.duplicates
    out = []
    for table, profile in ev.table_profiles.items():
        dup = profile.duplicates
        if not dup.rows or not profile.rows:
            continue
        share = dup.rows / profile.rows
        examples = "; ".join("rows " + ", ".join(map(str, ids)) for ids in dup.examples[:3])
        out.append(finding(
            table, None, "duplicate_rows", "exact_duplicates", d.any_score + (1 - d.any_score) * ramp(share, 0, d.full),
            f"{dup.rows} exact duplicate rows in {table} ({pct(share)}): they repeat an earlier row in every column "
            f"({dup.groups} groups" + (f", e.g. {examples}" if examples else "") + "), so COUNT(*) and SUM count "
            "them twice",
            {"duplicate_rows": dup.rows, "groups": dup.groups, "rows": profile.rows, "share": share,
             "examples": [list(ids) for ids in dup.examples[:5]]},
            (fix("deduplicate (SELECT DISTINCT) unless repeated identical rows are real events", 1.0),),
            target_kind="table", target=table,
        ))
    return out
