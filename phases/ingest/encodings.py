"""A CSV file's encoding: `text_source` finds it (a BOM, a declaration, valid UTF-8, else the
most plausible single-byte reading) and hands DuckDB a UTF-8 file; helpers locate lines by byte.

Which single-byte encoding a file that is not UTF-8 is in is judged by how plausible its text reads.

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

import codecs
import dataclasses
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import BinaryIO

import charset_normalizer
from charset_normalizer.constant import FREQUENCIES
from charset_normalizer.utils import is_multi_byte_encoding

from phases.core.config import CsvOptions
from phases.core.errors import ImportFailed

BOMS = (  # UTF-32 first: its little-endian BOM starts with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
WESTERN = "cp1252"
WORD = re.compile(rb"[A-Za-z\x80-\xff]*[\x80-\xff][A-Za-z\x80-\xff]*")
MAX_WORDS = 5000  # distinct words holding non-ASCII bytes read from the file; plenty to decide
CHUNK = 1 << 22  # bytes per read in the streaming passes
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


# --- reading the file ---------------------------------------------------------


def text_source(path: Path, out_dir: Path, options: CsvOptions, alpha: float) -> tuple[EncodingChoice, str, Path]:
    """(encoding, "detected"|"declared", a UTF-8 file for DuckDB: the file itself or a transcoded copy)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as exc:
        raise ImportFailed(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if not head:
        raise ImportFailed(f"{path}: the file is empty (0 bytes); expected a header line or data")
    source = "declared" if options.encoding else "detected"
    encoding = _codec(path, options.encoding) if options.encoding else None
    encoding = encoding or next((name for bom, name in BOMS if head.startswith(bom)), None)
    if encoding is None:
        bad_at, non_ascii = _scan(path, "utf-8")
        # Valid non-ASCII UTF-8 before the first bad byte means a UTF-8 file with some
        # broken lines: a single-byte code page would turn every good accented letter
        # into mojibake, so DuckDB quarantines the broken lines ("invalid UTF-8") instead.
        if bad_at is None or non_ascii:
            return EncodingChoice("utf-8"), source, path
        choice = _guess_encoding(path, alpha)
        encoding = choice.encoding
    else:
        choice = EncodingChoice(encoding)
    if encoding in ("utf-8", "utf-8-sig"):
        _scan(path, encoding)  # for the NUL and whitespace checks
        return choice, source, path
    target = out_dir / f".{path.name}.utf8.tmp"
    try:
        with open(target, "wb") as sink:
            bad_at, _ = _scan(path, encoding, sink)
        if bad_at is not None:
            where = _position(path, bad_at, encoding)
            raise ImportFailed(f"{path}: {where}: bytes that are not valid {encoding}; declare the encoding")
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return choice, source, target


def _codec(path: Path, name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise ImportFailed(f"{path}: unknown encoding {name!r} in the CSV options") from None


def _scan(path: Path, encoding: str, sink: BinaryIO | None = None) -> tuple[int | None, bool]:
    """Decode the whole file in chunks: (byte offset of the first undecodable byte or None,
    whether valid non-ASCII text came before it). With a sink, write the text there as
    UTF-8 and stop at the first bad byte. A NUL byte or only whitespace is ImportFailed."""
    wide = encoding.startswith(("utf-16", "utf-32"))  # NUL bytes are normal there
    decoder = codecs.getincrementaldecoder(encoding)()
    bad_at, non_ascii, has_text, pos = None, False, False, 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            pending = len(decoder.getstate()[0])
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                if sink is not None:
                    return pos - pending + exc.start, non_ascii
                non_ascii = non_ascii or not exc.object[: exc.start].isascii()
                bad_at = pos - pending + exc.start
                # Go on looking for NUL bytes and text; this decoder's output is never kept.
                decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
                text = decoder.decode(chunk)
            nul = text.find("\x00") if wide else chunk.find(b"\x00")
            if nul >= 0:
                where = "" if wide else _position(path, pos + nul, encoding) + ": "
                raise ImportFailed(f"{path}: {where}contains a NUL byte; expected a text CSV file, not binary data")
            non_ascii = non_ascii or (bad_at is None and not text.isascii())
            has_text = has_text or (text != "" and not text.isspace())
            if sink is not None:
                sink.write(text.encode("utf-8"))
            pos += len(chunk)
    if not has_text:
        raise ImportFailed(f"{path}: the file holds only whitespace; expected a header line or data")
    return bad_at, non_ascii


def _guess_encoding(path: Path, alpha: float) -> EncodingChoice:
    """The most plausible reading of the file (see phases.ingest.encodings)."""
    choice = choose_encoding(path, alpha)
    if choice is None:
        raise ImportFailed(f"{path}: not UTF-8 and no text encoding fits; expected a text CSV file")
    alternatives = tuple(_codec(path, name) for name in choice.alternatives)
    return dataclasses.replace(choice, encoding=_codec(path, choice.encoding), alternatives=alternatives)


def _position(path: Path, offset: int, encoding: str) -> str:
    if encoding.startswith(("utf-16", "utf-32")):
        return f"byte {offset}"
    return f"line {line_numbers(path, [offset])[offset]}"


def line_numbers(path: Path, offsets: Sequence[int]) -> dict[int, int]:
    """1-based physical line number of each byte offset; \\n, \\r\\n and \\r all end a line."""
    numbers, line, pos, last = {}, 1, 0, b""
    with open(path, "rb") as f:
        for target in sorted(set(offsets)):
            while pos < target and (piece := f.read(min(CHUNK, target - pos))):
                line += piece.count(b"\n") + piece.count(b"\r") - piece.count(b"\r\n")
                line -= last == b"\r" and piece[:1] == b"\n"  # a \r\n split across two reads
                last, pos = piece[-1:], pos + len(piece)
            numbers[target] = line
    return numbers
