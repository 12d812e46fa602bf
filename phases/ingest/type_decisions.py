"""How the typing phase decides a column's type from its full-column counts.

`phases.ingest.type_inference` runs the passes over the table and fills a `Stats` per
column; `decide` turns a column's `Plan` (its candidate formats, from the sample) and
its `Stats` into a `Decision`, or answers None when a count it needs was not taken (the
caller then counts every candidate and asks again).

The rules, in order:
1. strict: the first candidate that parses at least `min_parse_rate` of the values wins
   (with its partner, the rival reading of the same text, when that parses more);
2. tolerant: else a candidate still wins when what it fails to parse is explained. A
   value without any digit cannot be a number or a date in any format: it is junk or a
   placeholder ('N/A', '#REF!', 'missing', '—'). A value another format of the same
   family parses (numbers: integer, decimal, percent, currency; times: date, timestamp)
   is of the column's type, written another way (mixed date formats). If the family
   parses at least `min_typed_share` of the values and the unexplained rest stays within
   1 - `min_parse_rate`, the column keeps the family's best format and every other value
   becomes a recorded cast failure, so the checks on the column still run. A value with
   digits that no format of the family reads ('12b', 'x7') is not explained: a column of
   codes like 'A12' stays text. Dates may mix layouts: every format of the family that
   alone reads more than the tolerated share of values joins the best one, and a value is
   read when the formats parsing it agree (`agreeing_format`): in a column mixing
   month-first and day-first dates, '03/04/2025' is a failure, not a silent guess;
3. otherwise text, with the best candidate's rate as the doubt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from phases.artifacts.column_types import ColumnTyping
from phases.core.config import ColumnOverride
from phases.ingest.type_formats import MIXABLE, TEXT, Format, agreeing_format, family
from phases.ingest.typing_settings import TypingSettings


@dataclass(frozen=True)
class Plan:
    """What the confirmation pass evaluates for one column, in preference order."""

    candidates: tuple[Format, ...]  # ordered; only these can win
    sampled: int  # occurrences of the sampled distinct values (0: nothing to go by)
    type_rates: Mapping[str, float]  # type -> best sample match rate of its formats
    override: ColumnOverride | None = None
    # family -> its formats that matched sample values: what explains another format's failures
    families: Mapping[str, tuple[Format, ...]] = field(default_factory=dict)


@dataclass
class Stats:
    """Full-column counts for one column; `parsed` holds only the formats counted."""

    non_null: int = 0
    parsed: dict[str, int] = field(default_factory=dict)
    leading_zeros: int | None = None  # None: not counted
    units: dict[str, dict[str, int]] = field(default_factory=dict)
    family: dict[str, int] = field(default_factory=dict)  # family -> values any of its formats parses
    exclusive: dict[str, int] = field(default_factory=dict)  # format key -> values no other of its family parses
    digitless: int | None = None  # non-blank values without a digit; None: not counted


@dataclass(frozen=True)
class Decision:
    typing: ColumnTyping
    fmt: Format


@dataclass(frozen=True)
class _Picked:
    fmt: Format | None
    ambiguous: bool = False
    tolerant: bool = False  # won by rule 2: its failures are explained, not rare


def decide(name: str, plan: Plan, st: Stats, settings: TypingSettings) -> Decision | Format | None:
    """The column's decision; None if that needs a count that was not taken; a Format if it
    needs that format's parse count (a mix of date formats, known once the rest is counted)."""
    if plan.override is not None:
        return _typed(name, _Picked(plan.candidates[0]), plan, st, settings)
    if st.non_null == 0:
        return _text(name, plan, st, 0.0, "no non-null values: typed as text")
    picked = _pick(plan, st, settings)
    if picked is None or isinstance(picked, Format):
        return picked
    fmt = picked.fmt
    if fmt is not None and fmt.leading_zero_check:
        if st.leading_zeros is None:
            return None
        if st.leading_zeros > 0 and st.leading_zeros / st.non_null >= settings.leading_zero_text_share:
            return _text(name, plan, st, 1.0, "leading zeros: kept as text")
    if fmt is None:
        return _rejected(name, plan, st, settings)
    return _typed(name, picked, plan, st, settings)


def _pick(plan: Plan, st: Stats, settings: TypingSettings) -> _Picked | Format | None:
    """The first candidate whose full parse rate reaches its minimum; if its partner (the
    rival reading of the same text) parses more values, the partner; if exactly as many,
    the preferred one of the two, marked ambiguous. Failing that, rule 2 (`_tolerant`).
    None if that needs a count that was not taken."""
    by_key = {f.key: f for f in plan.candidates}
    for f in plan.candidates:
        if f.key not in st.parsed:
            return None
        if st.parsed[f.key] / st.non_null < (f.min_parse_rate or settings.min_parse_rate):
            continue
        return _with_partner(f, by_key, st)
    return _tolerant(plan, st, settings)


def _with_partner(f: Format, by_key: Mapping[str, Format], st: Stats, tolerant: bool = False) -> _Picked | None:
    partner = by_key.get(f.partner) if f.partner else None
    if partner is None:
        return _Picked(f, tolerant=tolerant)
    if partner.key not in st.parsed:
        return None
    if st.parsed[partner.key] < st.parsed[f.key]:
        return _Picked(f, tolerant=tolerant)
    if st.parsed[partner.key] > st.parsed[f.key]:
        return _Picked(partner, tolerant=tolerant)
    return _Picked(f if f.preferred else partner, True, tolerant)


def tolerable(plan: Plan) -> tuple[Format, ...]:
    """The candidates rule 2 may choose: those of a family, without a stricter minimum of
    their own (YYYYMMDD must parse every value, or it is an integer)."""
    return tuple(f for f in plan.candidates if family(f) is not None and f.min_parse_rate is None)


def _tolerant(plan: Plan, st: Stats, settings: TypingSettings) -> _Picked | Format | None:
    """Rule 2: the family whose formats parse enough values, if the rest is explained."""
    members = tolerable(plan)
    for fam in dict.fromkeys(family(f) for f in members):
        if fam is None or fam not in st.family or st.digitless is None:
            return None
        typed_share = st.family[fam] / st.non_null
        unexplained = (st.non_null - st.family[fam] - st.digitless) / st.non_null
        if typed_share < settings.min_typed_share or unexplained > 1 - settings.min_parse_rate:
            continue
        own = [f for f in members if family(f) == fam]
        if any(f.key not in st.parsed for f in own):
            return None
        best = max(own, key=lambda f: st.parsed[f.key])  # the first of equals: candidates are ordered
        picked = _with_partner(best, {f.key: f for f in plan.candidates}, st, tolerant=True)
        if picked is None or picked.fmt is None or fam not in MIXABLE:
            return picked
        return _mixed(picked.fmt, plan.families.get(fam, ()), st, settings) or picked
    return _Picked(None)


def _mixed(main: Format, members: tuple[Format, ...], st: Stats, settings: TypingSettings) -> _Picked | Format | None:
    """The formats a column mixes, read together (see the module docstring); None when the
    main format is the only one reading more than the tolerated share of values alone."""
    if any(f.key not in st.exclusive for f in members):
        return None if members else _Picked(main, tolerant=True)
    tolerated = (1 - settings.min_parse_rate) * st.non_null
    others = [
        f for f in members if f.key != main.key and f.sql_type == main.sql_type and st.exclusive[f.key] > tolerated
    ]
    if not others:
        return _Picked(main, tolerant=True)
    mixed = agreeing_format([main, *others])
    return _Picked(mixed, tolerant=True) if mixed.key in st.parsed else mixed


def _tolerance_note(fmt: Format, st: Stats, parsed: int) -> str | None:
    """What the failures of a rule-2 decision are, for the reader of column_types."""
    fam = family(fmt)
    if fam is None or fam not in st.family or st.digitless is None:
        return None
    other_format = st.family[fam] - parsed
    rest = st.non_null - st.family[fam] - st.digitless
    mixed = " | " in (fmt.format or "")
    spelled = f"in another {fmt.type} format"
    if mixed:
        spelled = "that two of its formats read differently, or in a rarer format"
    parts = [f"{other_format} {spelled}"] if other_format else []
    parts += [f"{st.digitless} without any digit (junk or placeholders)"] if st.digitless else []
    parts += [f"{rest} other"] if rest else []
    read = f"read in the formats {fmt.format} (a value where they agree)" if mixed else f"typed as {fmt.type}"
    return (
        f"{read}: {parsed} of {st.non_null} values parse; of the other "
        f"{st.non_null - parsed}, " + ", ".join(parts) + "; they are recorded as cast failures"
    )


def _typed(name: str, picked: _Picked, plan: Plan, st: Stats, settings: TypingSettings) -> Decision:
    fmt, ambiguous = picked.fmt, picked.ambiguous
    assert fmt is not None
    parsed = st.parsed[fmt.key] if fmt is not TEXT else st.non_null
    rate = parsed / st.non_null if st.non_null else 1.0
    notes = [fmt.ambiguity_note] if ambiguous and fmt.ambiguity_note else []  # partners always have one
    if picked.tolerant:
        notes += [note] if (note := _tolerance_note(fmt, st, parsed)) else []
    unit = fmt.unit
    units: tuple[tuple[str, int], ...] = ()
    counts = st.units.get(fmt.key) or {}
    if len(counts) == 1:
        unit = next(iter(counts))
    elif len(counts) > 1:
        units = tuple(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        notes.append("mixed currencies: " + ", ".join(f"{u} ({n})" for u, n in units))
    if plan.override is not None and plan.override.unit:
        unit = plan.override.unit
    formats = tuple(sorted(((f.format or f.key, st.exclusive.get(f.key, 0)) for f in fmt.parts),
                           key=lambda fn: (-fn[1], fn[0])))
    typing = ColumnTyping(
        name=name,
        type=fmt.type,
        sql_type=fmt.sql_type,
        format=fmt.format,
        decimal_separator=fmt.decimal_separator,
        unit=unit,
        units=units,
        confidence=round(rate * (settings.ambiguous_confidence_factor if ambiguous else 1.0), 6),
        parse_rate=round(rate, 6),
        non_null=st.non_null,
        failures=st.non_null - parsed,
        failure_examples=(),
        alternatives=_alternatives(plan, fmt.type),
        ambiguous=ambiguous,
        mixed=len(units) > 1 or len(formats) > 1,
        formats=formats,
        note="; ".join(notes) or None,
        decided_by="override" if plan.override is not None else "inferred",
    )
    return Decision(typing, fmt)


def _text(name: str, plan: Plan, st: Stats, confidence: float, note: str | None) -> Decision:
    typing = ColumnTyping(
        name=name,
        type="text",
        sql_type="VARCHAR",
        format=None,
        decimal_separator=None,
        unit=None,
        units=(),
        confidence=round(confidence, 6),
        parse_rate=1.0,
        non_null=st.non_null,
        failures=0,
        failure_examples=(),
        alternatives=_alternatives(plan, "text"),
        ambiguous=False,
        mixed=False,
        note=note,
        decided_by="inferred",
    )
    return Decision(typing, TEXT)


def _rejected(name: str, plan: Plan, st: Stats, settings: TypingSettings) -> Decision:
    """Text because no candidate parsed enough values; the better the best candidate did,
    the less sure we are that the column really is text."""
    full: dict[str, float] = {}
    for f in plan.candidates:
        full[f.type] = max(full.get(f.type, 0.0), st.parsed[f.key] / st.non_null)
    if plan.sampled == 0:
        return _text(name, plan, st, 0.0, "no non-null values in the sample rows: typed as text")
    best = max({**plan.type_rates, **full}.items(), key=lambda kv: kv[1], default=None)
    if best is None:
        return _text(name, plan, st, 1.0, None)
    note = None
    if full:
        kind, rate = max(full.items(), key=lambda kv: kv[1])
        note = f"no type reached the minimum parse rate {settings.min_parse_rate}: best {kind} {rate:.4f}"
    return _text(name, plan, st, 1.0 - best[1], note)


def _alternatives(plan: Plan, chosen: str) -> tuple[tuple[str, float], ...]:
    others = [(t, round(r, 4)) for t, r in plan.type_rates.items() if t != chosen]
    return tuple(sorted(others, key=lambda tr: (-tr[1], tr[0])))
