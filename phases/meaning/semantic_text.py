"""Readable business names and short descriptions of annotated columns.

Descriptions are built from the evidence only. Sample values appear only for categories
(dimension values such as statuses) and ranges of measures and dates, and never for a column
flagged as personal data: such a description says what the column holds and that its values are
withheld.
"""

from __future__ import annotations

import math

from phases.meaning.ontology import ConceptSpec, NameReading, Ontology
from phases.meaning.semantic_evidence import ColumnFacts


def title(word: str, ontology: Ontology) -> str:
    if word.isdigit():
        return word
    return word.upper() if word in ontology.acronyms or word in ("id",) else word.capitalize()


def business_name(col: ColumnFacts, role: str, concept: ConceptSpec | None, entity_label: str | None,
                  ontology: Ontology) -> str:
    """'inv_amt' -> 'Invoice Amount'; 'vid' read as vendor -> 'Vendor ID'; 'name' in accounts -> 'Account Name'."""
    reading = col.reading
    if reading.unclear:
        if concept is None:
            return " ".join(title(t, ontology) for t in reading.tokens)
        keyed = reading.id_like or any(t.endswith(s) for t in reading.unclear for s in ontology.key_suffixes)
        suffix = " ID" if concept.code_prefix and (keyed or role in ("key", "foreign_key")) else ""
        return concept.label + suffix
    words: list[str] = []
    for token in reading.tokens:
        for part in ontology.split_glued(token):
            words += list(ontology.abbreviations.get(part, (part,)))
    name = " ".join(title(w, ontology) for w in words)
    if entity_label and _generic(reading, ontology) and entity_label.lower() not in name.lower():
        name = f"{entity_label} {name}"
    return name


def _generic(reading: NameReading, ontology: Ontology) -> bool:
    meaningful = [reading.words[i].text for i in reading.meaningful]
    return all(w in ontology.generic_words for w in meaningful)


def fmt(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.4g}"
    return str(value)


ROLE_TEXT = {
    "key": "key", "foreign_key": "reference", "measure": "measure", "dimension": "category",
    "timestamp": "date", "identifier": "identifier", "attribute": "attribute",
}
AGGREGATION_TEXT = {
    "additive": "additive measure", "point_in_time": "point-in-time measure (do not sum over time)",
    "non_additive": "non-additive measure (average it, do not sum)",
}


def describe(col: ColumnFacts, name: str, role: str, concept: ConceptSpec | None, aggregation: str | None,
             unit: str | None, time_role: str | None, references: str | None, pii: str | None,
             unclear_sources: list[str]) -> str:
    """One or two sentences: what the column is, then what its values look like."""
    p = col.profile
    if role == "measure":
        what = AGGREGATION_TEXT.get(aggregation or "", "measure")
    elif role == "timestamp":
        what = f"{time_role} date" if time_role else "date of unclear role"
    elif role == "key":
        what = f"primary key of {col.table}" if col.primary_key else f"key of {col.table} that other tables refer to"
    elif role == "foreign_key" and col.foreign_key is not None and len(col.foreign_key.child_columns) > 1:
        what = (f"one column of the composite reference {references}: join on all "
                f"{len(col.foreign_key.child_columns)} columns together, never on this one alone")
    elif role == "foreign_key":
        what = f"reference to {references}" if references else "reference"
    elif role == "dimension" and concept is not None and concept.calendar_part:
        what = "calendar part: group or filter by it, never sum it"
    else:
        what = ROLE_TEXT[role]
    if unit:
        what += f" in {unit}"
    redundant = concept is None or concept.label.lower() in name.lower() or concept.label.lower() == what
    label = "" if redundant or concept is None else f" ({concept.label.lower()})"
    text = f"{name}{label}: {what}."
    if pii:
        text += f" Personal data ({pii.replace('_', ' ')}); its values are withheld."
    else:
        facts = _value_facts(col, role)
        if facts:
            text += f" {facts}."
    if p.non_null_count and p.null_ratio >= 0.005:
        text += f" {p.null_ratio:.0%} empty."
    elif not p.non_null_count:
        text += " Empty."
    if unclear_sources:
        text += (f" The name {col.name!r} is unclear; its meaning comes from {' and '.join(unclear_sources)}."
                 if concept is not None else f" The name {col.name!r} is unclear and nothing explains it.")
    return text


def _value_facts(col: ColumnFacts, role: str) -> str:
    p = col.profile
    if not p.non_null_count:
        return ""
    if role == "measure" and p.numeric is not None:
        return f"{p.non_null_count:,} values from {fmt(p.numeric.min)} to {fmt(p.numeric.max)}"
    if role == "timestamp" and p.temporal is not None:
        return f"From {p.temporal.min} to {p.temporal.max}"
    count = f"{p.distinct_count:,} {'value' if p.distinct_count == 1 else 'values'}"
    if role == "dimension":
        top = ", ".join(f"{fmt(v.value)} {v.share:.0%}" for v in p.top_values[:5])
        more = ", ..." if p.distinct_count > 5 else ""
        return f"{count}: {top}{more}"
    shape, share = max(col.shapes, key=lambda s: s[1]) if col.shapes else ("", 0.0)
    if col.text_date_share >= 0.5:
        return f"{count} written as dates in {len(col.shapes)} formats, mostly {shape}"
    if role in ("identifier", "key", "foreign_key") and share >= 0.5:
        return f"{count}, {share:.0%} shaped {shape}"
    return count


def name_evidence(col: ColumnFacts) -> str:
    r = col.reading
    text = f"name {col.name!r} -> tokens {list(r.tokens)} -> words {list(r.texts)}"
    if r.abbreviations:
        text += "; abbreviations " + ", ".join(f"{a}={b}" for a, b in r.abbreviations)
    if r.unclear:
        text += "; " + ", ".join(repr(u) for u in r.unclear) + " is no known word or abbreviation: the name is unclear"
    if r.unknown:
        text += "; not in the vocabulary, taken as words: " + ", ".join(repr(u) for u in r.unknown)
    return text


def statistics_evidence(col: ColumnFacts, pii: str | None) -> str:
    p = col.profile
    text = (f"{p.rows:,} rows, {p.null_ratio:.0%} null, {p.distinct_count:,} distinct "
            f"({col.distinct_ratio:.0%} of non-null){', unique' if p.unique else ''}")
    if pii is None and p.numeric is not None:
        text += f", min {fmt(p.numeric.min)}, max {fmt(p.numeric.max)}, {p.numeric.zero_count:,} zeros, " \
                f"{p.numeric.negative_count:,} negative"
    if p.text is not None and col.shapes:
        shapes = ", ".join(f"{s} {share:.0%}" for s, share in col.shapes[:3])
        text += f", value shapes {shapes}"
    return text
