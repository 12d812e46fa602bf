"""Which single-byte encoding a file that is not UTF-8 is in, judged by how plausible its text reads.

charset-normalizer proposes the encodings that decode the file without a mess (its chaos
and coherence scores). On a CSV file they often tie or mislead: the ASCII part, most of
the text, decodes alike in every code page, so a Latin-1 file reads as cp1250 just as
well ('Århus' as 'Ĺrhus'). Only the words holding a byte above 0x7F tell the readings
apart, so each proposed reading is scored on those words alone:

- a word is well formed when its non-ASCII characters are letters (no '½' or '±' inside
  'S½ren'), all its letters are of one script (no Cyrillic letter among Latin ones) and
  its case is consistent (lower, UPPER or Title: no 'KØbenhavn' where 'København' is
  meant, no case-swapped Cyrillic);
- a well-formed word is also coherent when all its non-ASCII letters belong to the main
  letters (charset-normalizer's frequency tables) of the reading's primary language: the
  language whose letters cover most of its words. 'Århus' and 'Søren' are Danish; under
  cp1250 'Sřren' is Czech and 'Ĺrhus' nothing.

A word scores 0 (malformed), 1 (well formed) or 2 (coherent); the reading with the best
mean wins, cp1252 first among equals (the usual encoding of non-UTF-8 CSV exports). A
rival reading stays an alternative, reported with the choice, unless the winner scores
higher on significantly more of the words where the two differ than it scores lower (a
one-sided sign test at `encoding_alternative_p`): a file with a single distinguishing word
is ambiguous, a file with hundreds is not.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import charset_normalizer
from charset_normalizer.constant import FREQUENCIES
from charset_normalizer.utils import is_multi_byte_encoding

WESTERN = "cp1252"
WORD = re.compile(rb"[A-Za-z\x80-\xff]*[\x80-\xff][A-Za-z\x80-\xff]*")
MAX_WORDS = 5000  # distinct words holding non-ASCII bytes read from the file; plenty to decide
CHUNK = 1 << 22
SCRIPTS_TOGETHER = {"HIRAGANA": "CJK", "KATAKANA": "CJK"}  # written together: one script here


@dataclass(frozen=True)
class EncodingChoice:
    encoding: str  # a Python codec name
    alternatives: tuple[str, ...] = ()  # encodings whose reading is not significantly less plausible
    note: str | None = None  # what was decided and why, when there was a choice to make


@dataclass(frozen=True)
class _Reading:
    encoding: str
    text: tuple[str, ...]  # the distinguishing words as this encoding reads them
    scores: tuple[int, ...]  # per word: 0 malformed, 1 well formed, 2 coherent

    @property
    def mean(self) -> float:
        return sum(self.scores) / len(self.scores) if self.scores else 0.0


def choose_encoding(path: Path, alpha: float) -> EncodingChoice | None:
    """The most plausible reading of a file that is not UTF-8, or None if nothing decodes it."""
    matches = list(charset_normalizer.from_path(path))
    if not matches:
        return None
    best = matches[0]
    if is_multi_byte_encoding(best.encoding):
        return EncodingChoice(best.encoding)  # the words below are a single-byte notion
    words = _words(path)
    names = [WESTERN] + [n for m in matches for n in (m.encoding, *m.could_be_from_charset)]
    readings = _readings(words, [n for n in dict.fromkeys(names) if not is_multi_byte_encoding(n)])
    if not readings:
        return EncodingChoice(best.encoding)
    chosen = max(readings, key=lambda r: r.mean)  # max keeps the first of equals: cp1252, then the proposals
    tests = [(_sign_test(chosen, r), r) for r in readings if r.text != chosen.text]
    rivals = [r for p, r in sorted(tests, key=lambda pr: -pr[0]) if p > alpha]  # the closest rival first
    return EncodingChoice(chosen.encoding, tuple(r.encoding for r in rivals[:3]), _note(chosen, rivals, len(words)))


def _words(path: Path) -> list[bytes]:
    """Distinct words (runs of ASCII letters and bytes above 0x7F, two or more bytes long)
    holding a non-ASCII byte, in order of first appearance, up to MAX_WORDS."""
    found: dict[bytes, None] = {}
    tail = b""
    with open(path, "rb") as f:
        while len(found) < MAX_WORDS and (chunk := f.read(CHUNK)):
            data = tail + chunk
            cut = max(data.rfind(b" "), data.rfind(b","), data.rfind(b"\n"))  # never split a word
            data, tail = (data[: cut + 1], data[cut + 1 :]) if cut >= 0 and len(chunk) == CHUNK else (data, b"")
            for word in WORD.findall(data):
                if len(word) > 1:
                    found.setdefault(word, None)
        for word in WORD.findall(tail):
            if len(word) > 1:
                found.setdefault(word, None)
    return list(found)[:MAX_WORDS]


def _readings(words: Sequence[bytes], encodings: Iterable[str]) -> list[_Reading]:
    """Each encoding's reading of the words; encodings that cannot decode one are left out,
    and of encodings reading the words identically only the first is kept."""
    readings: list[_Reading] = []
    seen: set[tuple[str, ...]] = set()
    for encoding in encodings:
        try:
            text = tuple(w.decode(encoding) for w in words)
        except (UnicodeDecodeError, LookupError):
            continue
        if text in seen:
            continue
        seen.add(text)
        readings.append(_Reading(encoding, text, _scores(text)))
    return readings


def _scores(text: Sequence[str]) -> tuple[int, ...]:
    formed = [_well_formed(w) for w in text]
    letters = [frozenset(c for c in w.lower() if ord(c) > 127 and c.isalpha()) for w in text]
    primary = _primary_language([s for s, ok in zip(letters, formed, strict=True) if ok])
    return tuple(
        0 if not ok else 2 if s <= primary else 1 for s, ok in zip(letters, formed, strict=True)
    )


def _well_formed(word: str) -> bool:
    if any(ord(c) > 127 and unicodedata.category(c)[0] not in "LM" for c in word):
        return False
    scripts = {_script(c) for c in word if c.isalpha()}
    if len(scripts) > 1:
        return False
    cased = [c for c in word if c.isupper() or c.islower()]
    rest = cased[1:]
    return all(c.islower() for c in cased) or all(c.isupper() for c in cased) or all(c.islower() for c in rest)


def _script(c: str) -> str:
    name = unicodedata.name(c, "UNKNOWN").split(" ")[0]
    return SCRIPTS_TOGETHER.get(name, name)


@cache
def _alphabets() -> tuple[tuple[str, frozenset[str]], ...]:
    return tuple((language, frozenset(c.lower() for c in letters)) for language, letters in FREQUENCIES.items())


def _primary_language(letter_sets: Sequence[frozenset[str]]) -> frozenset[str]:
    """The main letters of the language covering most of the words (the first of equals)."""
    best: frozenset[str] = frozenset()
    best_count = -1
    for _, alphabet in _alphabets():
        count = sum(s <= alphabet for s in letter_sets)
        if count > best_count:
            best, best_count = alphabet, count
    return best


def _sign_test(chosen: _Reading, rival: _Reading) -> float:
    """One-sided p-value that the chosen reading scores higher on the words where the two
    differ only by chance (1.0 when they never differ in score)."""
    wins = sum(a > b for a, b in zip(chosen.scores, rival.scores, strict=True))
    losses = sum(a < b for a, b in zip(chosen.scores, rival.scores, strict=True))
    n = wins + losses
    if n == 0:
        return 1.0
    return sum(math.comb(n, k) for k in range(wins, n + 1)) / 2**n


def _note(chosen: _Reading, rivals: Sequence[_Reading], words: int) -> str:
    example = _example(chosen, rivals[0]) if rivals else next(iter(chosen.text), "")
    note = (
        f"decoded as {chosen.encoding}, the most plausible reading of the {words} distinct "
        f"word{'s' if words != 1 else ''} with non-ASCII letters (e.g. {example!r})"
    )
    if not rivals:
        return note
    readings = ", ".join(f"{r.encoding} reads {_example(r, chosen)!r}" for r in rivals[:3])
    return f"{note}; ambiguous: {readings} about as plausibly; declare the encoding if that is the right one"


def _example(reading: _Reading, other: _Reading) -> str:
    """The first word the two readings spell differently, as `reading` spells it."""
    return next((a for a, b in zip(reading.text, other.text, strict=True) if a != b), "")
