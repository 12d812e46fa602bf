"""Ontologies of the semantic phase: typed loading of the YAML vocabularies and the matching
primitives that read names and values against them.

An ontology (config/ontologies/<name>.yaml, one top-level key per ontology) holds words
(abbreviations, acronyms, key/qualifier/noise/generic words, a vocabulary of clear words),
concepts (what a column means: name indicators, exclusions, expected roles and types,
aggregation, unit, time role, personal-data kind, what its values look like) and entities
(what one row of a table is). Several ontologies merge in a given order; a concept or entity
id defined twice, or an abbreviation that two ontologies expand differently, is a ConfigError.

Names are read as words: split on snake, camel, spaces, punctuation and digits
('Product/Service', 'custId', 'Due Dt'), glued words split when both halves are known
('custid'), abbreviations expanded ('amt' -> amount), plurals made singular. A short word
that is neither known nor an abbreviation ('vid', 'pt') makes the name unclear; such a word
may still be read as initials ('pt' = payment terms, 'vid' = v + id) by `initials_readings`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Literal

from pydantic import Field, field_validator

from phases.artifacts.annotations import NameClarity
from phases.core.config import ColumnType, Model, parse_model
from phases.core.errors import ConfigError

Role = Literal["key", "foreign_key", "measure", "dimension", "timestamp", "attribute", "identifier"]
Aggregation = Literal["additive", "point_in_time", "non_additive"]
TimeRole = Literal["event", "due", "period", "created", "effective"]
PiiKind = Literal["email", "phone", "person_name", "address", "card_number", "national_id"]
TableKind = Literal["fact", "dimension", "bridge", "reference"]


class ConceptSpec(Model):
    """One concept of an ontology (fields explained in config/ontologies/general.yaml)."""

    label: str = Field(min_length=1)
    indicators: tuple[str, ...] = ()
    weak_indicators: tuple[str, ...] = ()
    exclusions: tuple[str, ...] = ()
    roles: tuple[Role, ...] = ()
    types: tuple[ColumnType, ...] = ()
    aggregation: Aggregation | None = None
    unit: str | None = None  # "currency" = money in the column's currency; else a literal unit
    time_role: TimeRole | None = None
    pii: PiiKind | None = None
    code_prefix: bool = False
    value_set: tuple[str, ...] = ()
    value_patterns: tuple[str, ...] = ()
    value_check: Literal["luhn"] | None = None
    value_weight: float = Field(0.6, ge=0, le=1)
    implied_by_types: tuple[ColumnType, ...] = ()
    companions: tuple[str, ...] = ()
    one_sided_pair: str | None = None  # the other side of a balance pair: one side per row, or it is activity
    value_range: tuple[float, float] | None = None  # numeric values must lie within [low, high], else ruled out
    calendar_part: bool = False  # a part of a date (year, month, hour): a dimension to group by, never a measure

    @field_validator("value_patterns")
    @classmethod
    def _compiles(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"value pattern {pattern!r} is not a regular expression ({exc})") from None
        return patterns


class EntitySpec(Model):
    label: str = Field(min_length=1)
    indicators: tuple[str, ...] = ()
    kind: TableKind | None = None  # the usual kind of such a table: a weak hint


class OntologySpec(Model):
    """One ontology file's top-level key."""

    abbreviations: dict[str, str] = {}
    acronyms: tuple[str, ...] = ()
    key_words: tuple[str, ...] = ()
    qualifier_words: tuple[str, ...] = ()
    noise_words: tuple[str, ...] = ()
    generic_words: tuple[str, ...] = ()
    vocabulary: tuple[str, ...] = ()
    concepts: dict[str, ConceptSpec] = {}
    entities: dict[str, EntitySpec] = {}


# --- words ------------------------------------------------------------------------------------


def tokenize(name: str) -> list[str]:
    """Lower-case tokens of a name: snake, camel ('custId', 'HTTPCode'), spaces, punctuation, digits."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode() or name
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    text = re.sub(r"([A-Za-z])([0-9])|([0-9])([A-Za-z])", lambda m: " ".join(g for g in m.groups() if g), text)
    return [t for t in re.split(r"[\W_]+", text.lower()) if t]


_KEEP_S = ("ss", "us", "is", "os", "as")


def singular(word: str) -> str:
    """A plural's singular by the common English endings; words ending in ss/us/is/os stay."""
    if len(word) <= 3 or not word.endswith("s") or word.endswith(_KEEP_S):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    return word[:-1]


@dataclass(frozen=True)
class Word:
    text: str  # expanded, singular, lower case
    source: str  # the token it came from
    abbreviated: bool  # expanded from an abbreviation


@dataclass(frozen=True)
class NameReading:
    """What a column or table name says, word by word."""

    name: str
    tokens: tuple[str, ...]
    words: tuple[Word, ...]  # noise words dropped
    meaningful: tuple[int, ...]  # indexes into words: neither key, qualifier nor digits
    abbreviations: tuple[tuple[str, str], ...]  # (token, expansion) used
    unclear: tuple[str, ...]  # short tokens that are neither known nor abbreviations
    unknown: tuple[str, ...]  # longer tokens not in the vocabulary (taken as words)
    id_like: bool  # has a key word ('id', 'no', 'code')

    @property
    def clarity(self) -> NameClarity:
        """Unclear when no meaningful word of the name can be read; a name with a readable word and an
        unknown abbreviation ('dep_delay', 'avg_uk_viewers') reads as abbreviated."""
        if self.unclear:
            readable = any(self.words[i].source not in self.unclear for i in self.meaningful)
            return "abbreviated" if readable else "unclear"
        return "abbreviated" if self.abbreviations else "clear"

    @property
    def texts(self) -> tuple[str, ...]:
        return tuple(w.text for w in self.words)

    @property
    def head(self) -> int | None:
        return self.meaningful[-1] if self.meaningful else None


# --- the merged ontology ------------------------------------------------------------------------


@dataclass(frozen=True)
class Phrase:
    words: tuple[str, ...]
    meaningful: int  # words that are neither key nor qualifier words
    weak: bool


@dataclass(frozen=True)
class Concept:
    id: str
    ontology: str
    order: int
    spec: ConceptSpec
    phrases: tuple[Phrase, ...]
    exclusions: frozenset[str]


@dataclass(frozen=True)
class Entity:
    id: str
    order: int
    spec: EntitySpec
    phrases: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Ontology:
    names: tuple[str, ...]
    abbreviations: Mapping[str, tuple[str, ...]]
    acronyms: frozenset[str]
    key_words: frozenset[str]
    qualifier_words: frozenset[str]
    noise_words: frozenset[str]
    generic_words: frozenset[str]
    known: frozenset[str]  # every word that reads clearly
    concepts: Mapping[str, Concept]
    entities: Mapping[str, Entity]

    @cached_property
    def key_suffixes(self) -> tuple[str, ...]:
        """Tokens that mark a key, raw or abbreviated ('id', 'no', 'num'), longest first."""
        raw = set(self.key_words) | {a for a, words in self.abbreviations.items() if set(words) <= self.key_words}
        return tuple(sorted(raw, key=lambda s: (-len(s), s)))

    def words_of(self, text: str) -> tuple[str, ...]:
        """An indicator phrase as matching words (tokenised, expanded, singular, noise dropped)."""
        out: list[str] = []
        for token in tokenize(text):
            for word in self.abbreviations.get(token, (token,)):
                word = singular(word)
                if word not in self.noise_words:
                    out.append(word)
        return tuple(out)

    def read(self, name: str, unclear_max_length: int, word_min_length: int | None = None) -> NameReading:
        """The words of a name. A short token that is neither known nor an abbreviation is unclear,
        unless it is at least `word_min_length` letters and pronounceable (vowels and consonants,
        'wins'): such a token reads as a word, where 'vid', 'pt' or 'mgmt' do not."""
        words: list[Word] = []
        used: list[tuple[str, str]] = []
        unclear: list[str] = []
        unknown: list[str] = []
        for token in tokenize(name):
            parts = self.split_glued(token)
            for part in parts:
                if part in self.abbreviations:
                    expansion = self.abbreviations[part]
                    used.append((part, " ".join(expansion)))
                    words += [Word(singular(w), part, True) for w in expansion]
                    continue
                if not part.isdigit() and singular(part) not in self.known and part not in self.known:
                    short = len(part) <= unclear_max_length and not _word_like(part, word_min_length)
                    (unclear if short else unknown).append(part)
                words.append(Word(singular(part), part, False))
        words = [w for w in words if w.text not in self.noise_words]
        ignored = self.key_words | self.qualifier_words
        meaningful = tuple(i for i, w in enumerate(words) if w.text not in ignored and not w.text.isdigit())
        return NameReading(
            name=name, tokens=tuple(tokenize(name)), words=tuple(words), meaningful=meaningful,
            abbreviations=tuple(dict.fromkeys(used)), unclear=tuple(dict.fromkeys(unclear)),
            unknown=tuple(dict.fromkeys(unknown)), id_like=any(w.text in self.key_words for w in words),
        )

    def split_glued(self, token: str) -> list[str]:
        """A glued token ('custid', 'vendorname') as two known parts, the longer first part preferred."""
        if token in self.known or token in self.abbreviations or len(token) < 5 or token.isdigit():
            return [token]
        for cut in range(len(token) - 2, 1, -1):
            a, b = token[:cut], token[cut:]
            if all(p in self.known or p in self.abbreviations for p in (a, b)):
                return [a, b]
        return [token]


CONSONANT_RUN = re.compile(r"[^aeiouy]{3}")  # three consonants in a row: 'crby', 'mgmt' are not pronounced as written


BARE_ACRONYM_MAX = 2  # two letters name many things ('ar': receivable, a state, ...); 'url', 'sku', 'iban' one


def bare_acronym(reading: NameReading, ontology: Ontology) -> bool:
    """Every meaningful word of the name is a two-letter acronym that is no key word ('so', 'po',
    'gl'): such a name is read only through the concept it names; without one it says nothing."""
    words = [reading.words[i].text for i in reading.meaningful]
    return bool(words) and all(w in ontology.acronyms and w not in ontology.key_words
                               and len(w) <= BARE_ACRONYM_MAX for w in words)


def _word_like(token: str, min_length: int | None) -> bool:
    """Pronounceable: vowels and consonants, and no three consonants in a row (short English words
    have none: 'wins', 'plot', 'ship'; abbreviations made by dropping vowels do: 'crby', 'cstc')."""
    if min_length is None or len(token) < min_length or not token.isalpha():
        return False
    vowels = sum(ch in "aeiouy" for ch in token)
    return 0 < vowels < len(token) and not CONSONANT_RUN.search(token)


def _concept_phrases(ont_words: Ontology, spec: ConceptSpec) -> tuple[Phrase, ...]:
    ignored = ont_words.key_words | ont_words.qualifier_words
    phrases = []
    for weak, texts in ((False, spec.indicators), (True, spec.weak_indicators)):
        for text in texts:
            words = ont_words.words_of(text)
            if words:
                phrases.append(Phrase(words, sum(w not in ignored for w in words), weak))
    return tuple(phrases)


def build_ontology(settings: Mapping[str, Any], names: Sequence[str], where: str) -> Ontology:
    """Parse and merge the ontologies `names` (top-level keys of the merged settings), in order."""
    specs: list[tuple[str, OntologySpec]] = []
    for name in names:
        if name not in settings:
            raise ConfigError(f"{where}: ontology {name!r} is listed under 'ontologies' but no config file of the "
                              f"phase has a top-level key {name!r}")
        specs.append((name, parse_model(OntologySpec, settings[name], f"{where} (ontology {name!r})")))
    abbreviations: dict[str, tuple[str, ...]] = {}
    seen_concepts: dict[str, str] = {}
    seen_entities: dict[str, str] = {}
    for name, spec in specs:
        for token, expansion in spec.abbreviations.items():
            words = tuple(tokenize(expansion))
            key = token.lower()
            if key in abbreviations and abbreviations[key] != words:
                raise ConfigError(f"{where}: abbreviation {key!r} of ontology {name!r} expands to {expansion!r}, "
                                  f"but an earlier ontology expands it to {' '.join(abbreviations[key])!r}")
            abbreviations[key] = words
        for kind, ids, seen in (("concept", spec.concepts, seen_concepts), ("entity", spec.entities, seen_entities)):
            for cid in ids:
                if cid in seen:
                    raise ConfigError(f"{where}: {kind} {cid!r} is defined by both ontology {seen[cid]!r} and {name!r}")
                seen[cid] = name

    def union(field: str) -> frozenset[str]:
        return frozenset(singular(w.lower()) for _, s in specs for w in getattr(s, field))

    base = Ontology(
        names=tuple(names), abbreviations=abbreviations, acronyms=union("acronyms"), key_words=union("key_words"),
        qualifier_words=union("qualifier_words"), noise_words=union("noise_words"),
        generic_words=union("generic_words"), known=frozenset(), concepts={}, entities={},
    )
    known = set(base.key_words | base.qualifier_words | base.noise_words | base.generic_words | base.acronyms)
    known |= union("vocabulary")
    for _, spec in specs:
        items: tuple[ConceptSpec | EntitySpec, ...] = (*spec.concepts.values(), *spec.entities.values())
        for item in items:
            for text in (*item.indicators, *getattr(item, "weak_indicators", ()), item.label):
                known |= {singular(w) for w in tokenize(text) if w not in abbreviations}
    for words in abbreviations.values():
        known |= {singular(w) for w in words}
    base = replace(base, known=frozenset(known))
    concepts: dict[str, Concept] = {}
    entities: dict[str, Entity] = {}
    for name, spec in specs:
        for cid, c in spec.concepts.items():
            exclusions = frozenset(w for text in c.exclusions for w in base.words_of(text))
            concepts[cid] = Concept(cid, name, len(concepts), c, _concept_phrases(base, c), exclusions)
        for eid, e in spec.entities.items():
            entities[eid] = Entity(eid, len(entities), e, tuple(p for t in e.indicators if (p := base.words_of(t))))
    for cid, concept in concepts.items():
        for other in (concept.spec.one_sided_pair, *concept.spec.companions):
            if other and other not in concepts and other not in entities:
                raise ConfigError(f"{where}: concept {cid!r} names {other!r}, which is no concept or entity")
    return replace(base, concepts=concepts, entities=entities)
