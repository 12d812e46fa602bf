"""Matching names and values against the merged ontology (phases.meaning.ontology).

- `name_hits`: per concept the best indicator phrase found in a name's words, with how much of
  the name it covers, whether it covers the head (last) word, and whether it needed an abbreviation;
  a concept's exclusion words outside the phrase veto it.
- `initials_readings`: what an unclear word may abbreviate ('pt' -> payment terms, 'vid' -> v + id).
- `match_entity`: the entity a table name names (the phrase must cover its last word).
- `value_share`, `code_prefix`, `prefix_concepts`, `luhn_valid`: what the profiled values say.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from phases.meaning.ontology import ConceptSpec, NameReading, Ontology

# --- matching names -----------------------------------------------------------------------------


@dataclass(frozen=True)
class NameHit:
    concept: str
    phrase: tuple[str, ...]
    coverage: float  # meaningful words of the name the phrase covers
    head: bool  # covers the name's last meaningful word
    abbreviated: bool  # needed an abbreviation
    weak: bool


def _find(seq: Sequence[str], phrase: Sequence[str]) -> int | None:
    n = len(phrase)
    for i in range(len(seq) - n + 1):
        if tuple(seq[i:i + n]) == tuple(phrase):
            return i
    return None


def name_hits(reading: NameReading, ontology: Ontology) -> dict[str, NameHit]:
    """Per concept its best indicator phrase found in the name (most coverage, then head, then length)."""
    texts = reading.texts
    if not reading.meaningful:
        return {}
    hits: dict[str, NameHit] = {}
    for concept in ontology.concepts.values():
        best: NameHit | None = None
        for phrase in concept.phrases:
            start = _find(texts, phrase.words)
            if start is None or not phrase.meaningful:
                continue
            span = range(start, start + len(phrase.words))
            outside = {texts[i] for i in range(len(texts)) if i not in span}
            if outside & concept.exclusions:
                continue
            covered = sum(1 for i in reading.meaningful if i in span)
            hit = NameHit(
                concept=concept.id, phrase=phrase.words, coverage=covered / len(reading.meaningful),
                head=reading.head in span, abbreviated=any(reading.words[i].abbreviated for i in span),
                weak=phrase.weak,
            )
            if covered and (best is None or _rank(hit) > _rank(best)):
                best = hit
        if best is not None:
            hits[concept.id] = best
    return hits


def _rank(hit: NameHit) -> tuple:
    return (not hit.weak, hit.coverage, hit.head, len(hit.phrase), not hit.abbreviated)


def initials_readings(reading: NameReading, ontology: Ontology) -> dict[str, str]:
    """Concepts an unclear token may abbreviate, with the reading: 'pt' -> payment terms (initials),
    'vid' -> 'v' + 'id' where v is the initial of a coded entity's label (vendor). A reading of the
    concept's own label beats one of another indicator."""
    found: dict[str, str] = {}
    for token in reading.unclear:
        core, suffix = token, ""
        for s in ontology.key_suffixes:
            if token.endswith(s) and len(token) > len(s):
                core, suffix = token[: -len(s)], s
                break
        tail = f" + {suffix!r}" if suffix else ""
        readings = {cid: (f"{core!r}{tail} {how}", by_label)
                    for cid, (how, by_label) in _abbreviates(core, ontology).items()}
        if any(by_label for _, by_label in readings.values()):
            readings = {cid: r for cid, r in readings.items() if r[1]}
        for cid, (how, _) in readings.items():
            found.setdefault(cid, how)
    return found


def _abbreviates(core: str, ontology: Ontology, coded_only: bool = False) -> dict[str, tuple[str, bool]]:
    """Concepts whose name `core` abbreviates -> (how, whether by the concept's label): a single
    letter only as the initial of a coded concept's one-word label, else the initials of a phrase,
    an abbreviation of the ontology, or the start (3+ letters) of a one-word indicator."""
    expanded = ontology.words_of(core) if core in ontology.abbreviations else None
    found: dict[str, tuple[str, bool]] = {}
    for concept in ontology.concepts.values():
        if coded_only and not concept.spec.code_prefix:
            continue
        label = tuple(w for w in ontology.words_of(concept.spec.label) if w not in ontology.key_words)
        if len(core) == 1:
            if concept.spec.code_prefix and len(label) == 1 and label[0].startswith(core):
                found[concept.id] = (f"read as the initial of {label[0]!r}", True)
            continue
        for words in (label, *(p.words for p in concept.phrases if not p.weak)):
            words = tuple(w for w in words if w not in ontology.key_words)
            if not words:
                continue
            how = None
            if expanded and words == expanded:
                how = f"read as the abbreviation of {' '.join(words)!r}"
            elif len(words) == len(core) > 1 and "".join(w[0] for w in words) == core:
                how = f"read as the initials of {' '.join(words)!r}"
            elif len(core) >= 3 and len(words) == 1 and words[0].startswith(core):
                how = f"read as the start of {words[0]!r}"
            if how:
                found[concept.id] = (how, words == label)
                break
    return found


def match_entity(name: str, ontology: Ontology) -> tuple[str, tuple[str, ...], float] | None:
    """The entity a table name names: (id, phrase, coverage). The phrase must cover the name's last word."""
    words = [w.text for w in ontology.read(name, 0).words if not w.text.isdigit()]
    best: tuple[tuple, tuple[str, tuple[str, ...], float]] | None = None
    for entity in ontology.entities.values():
        for phrase in entity.phrases:
            start = _find(words, phrase)
            if start is None or start + len(phrase) != len(words):
                continue
            coverage = len(phrase) / len(words)
            rank = (coverage, len(phrase), -entity.order)
            if best is None or rank > best[0]:
                best = (rank, (entity.id, phrase, coverage))
    return None if best is None else best[1]


# --- matching values ----------------------------------------------------------------------------

ValueShare = tuple[Any, float]  # (value, share of the column's non-null values)


def normalise_value(value: Any) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[_\-]+", " ", str(value).strip().lower()))


def _share(items: Iterable[ValueShare], fits: Callable[[Any], bool]) -> float | None:
    present = [(v, s) for v, s in items if v is not None]
    total = sum(s for _, s in present)
    if not present or total <= 0:
        return None
    return sum(s for v, s in present if fits(v)) / total


def value_share(spec: ConceptSpec, values: Sequence[ValueShare], shapes: Sequence[ValueShare]) -> float:
    """The share of the profiled values (or value shapes) that look like the concept's values."""
    best = 0.0
    if spec.value_set:
        allowed = {normalise_value(v) for v in spec.value_set}
        best = max(best, _share(values, lambda v: normalise_value(v) in allowed) or 0.0)
    if spec.value_patterns:
        patterns = [re.compile(p, re.IGNORECASE) for p in spec.value_patterns]

        def fits(v: Any) -> bool:
            text = str(v).strip()
            return any(p.fullmatch(text) for p in patterns)

        best = max(best, _share(values, fits) or 0.0, _share(shapes, fits) or 0.0)
    if spec.value_check == "luhn":
        best = max(best, _share(values, lambda v: luhn_valid(str(v))) or 0.0)
    return best


def luhn_valid(text: str) -> bool:
    """A 13..19 digit number (spaces and dashes allowed) that passes the Luhn checksum of card numbers."""
    digits = re.sub(r"[ -]", "", text.strip())
    if not digits.isdigit() or not 13 <= len(digits) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


_CODE = re.compile(r"([A-Za-z]{1,5})[-_ ./]?\d{2,}")


def code_prefix(values: Sequence[ValueShare], shapes: Sequence[ValueShare], min_share: float) -> str | None:
    """The one letter prefix of code values ('V-0001' -> 'V'), when the value shapes and the profiled
    values agree that nearly all values are such codes."""
    if (_share(shapes, lambda s: bool(re.fullmatch(r"A{1,5}[-_ ./]?9{2,}", str(s)))) or 0.0) < min_share:
        return None
    prefixes: dict[str, float] = {}
    for value, share in values:
        m = _CODE.fullmatch(str(value).strip())
        if m:
            prefixes[m.group(1).upper()] = prefixes.get(m.group(1).upper(), 0.0) + share
    total = sum(s for v, s in values if v is not None)
    if not prefixes or total <= 0:
        return None
    prefix, share = max(prefixes.items(), key=lambda kv: (kv[1], kv[0]))
    return prefix if share / total >= min_share else None


def prefix_concepts(prefix: str, ontology: Ontology) -> dict[str, bool]:
    """Coded concepts a code prefix abbreviates -> whether only by a single initial ('V' -> vendor);
    readings of a concept's label ('PAY' -> Payment) beat readings of other indicators ('payee')."""
    p = prefix.lower()
    found = _abbreviates(p, ontology, coded_only=True)
    if any(by_label for _, by_label in found.values()):
        found = {cid: r for cid, r in found.items() if r[1]}
    return {cid: len(p) == 1 for cid in found}
