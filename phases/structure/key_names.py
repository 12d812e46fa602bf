"""What column and table names say, for the relationships phase: meaningful words without table
prefixes and identifier words, and how alike two names are. Names only break ties between
candidates that values cannot tell apart; they never decide alone (see `fk_evidence`)."""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from phases.structure.relationship_settings import NameSettings


def singular(token: str) -> str:
    """A crude English singular: entries -> entry, addresses -> address, orders -> order."""
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 4 and token.endswith(("sses", "shes", "ches", "xes")):
        return token[:-2]
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def split_words(name: str) -> list[str]:
    """Lower-case words of a name: camelCase, snake_case, 'Product/Service', 'c_custkey'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode() or name
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", ascii_name)
    return [w for w in re.split(r"[\W_]+", spaced.lower()) if w]


@dataclass(frozen=True)
class NameParts:
    """What a column name says: its meaningful words and whether it reads like an identifier."""

    core: tuple[str, ...]  # words without the table prefix and without id/key/code words
    id_like: bool  # had an id/key/code word (or a glued suffix such as 'custkey')


def _split_glued(word: str, suffixes: Iterable[str]) -> list[str]:
    """'custkey' -> ['cust', 'key']; short stems stay whole ('paid' is not 'pa' + 'id')."""
    for suffix in suffixes:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return [word[: -len(suffix)], suffix]
    return [word]


def table_prefix(column_names: Sequence[str]) -> str | None:
    """A short prefix nearly every column shares ('l' of TPC-H's l_orderkey, l_partkey, ...)."""
    firsts = [words[0] for words in map(split_words, column_names) if len(words) > 1]
    if len(column_names) < 2 or not firsts:
        return None
    best = max(sorted(set(firsts)), key=firsts.count)
    share = firsts.count(best) / len(column_names)
    return best if len(best) <= 3 and share >= 0.8 else None


def column_name_parts(name: str, prefix: str | None, rules: NameSettings) -> NameParts:
    words = split_words(name)
    if prefix and len(words) > 1 and words[0] == prefix:
        words = words[1:]
    split: list[str] = []
    for word in words:
        split += _split_glued(word, rules.glued_key_suffixes)
    core = tuple(singular(w) for w in split if w not in rules.key_words)
    return NameParts(core=core, id_like=any(w in rules.key_words for w in split))


def table_name_words(name: str, rules: NameSettings) -> tuple[str, ...]:
    """The meaningful words of a table name: 'chart_of_accounts' -> ('chart', 'account')."""
    return tuple(singular(w) for w in split_words(name) if w not in rules.table_noise_words)


@functools.lru_cache(maxsize=65536)  # pure, and the same word pairs recur across thousands of column pairs
def word_similarity(a: str, b: str) -> float:
    """1 for equal words, 0.9 for an abbreviation by prefix (cust, customer), 0.8 for one by
    dropped letters (acct, account), the edit ratio for near spellings, else 0."""
    if a == b:
        return 1.0
    short, long_ = sorted((a, b), key=len)
    if len(short) >= 3 and long_.startswith(short):
        return 0.9
    if len(short) >= 3 and short[0] == long_[0] and _is_subsequence(short, long_):
        return 0.8
    if 2 * len(short) < 0.85 * (len(short) + len(long_)):
        return 0.0  # the edit ratio cannot reach 0.85 with lengths this far apart
    matcher = difflib.SequenceMatcher(None, a, b)
    if matcher.quick_ratio() < 0.85:  # an upper bound of the ratio, far cheaper
        return 0.0
    ratio = matcher.ratio()
    return ratio if ratio >= 0.85 else 0.0


def _is_subsequence(short: str, long_: str) -> bool:
    letters = iter(long_)
    return all(ch in letters for ch in short)


def _found(xs: Sequence[str], ys: Sequence[str]) -> float:
    """The mean over the words xs of their best similarity to a word of ys."""
    return sum(max(word_similarity(x, y) for y in ys) for x in xs) / len(xs)


@functools.lru_cache(maxsize=65536)
def _similarity(a: tuple[str, ...], b: tuple[str, ...], both: bool) -> float:
    if not a or not b:
        return 0.0
    return min(_found(a, b), _found(b, a)) if both else max(_found(a, b), _found(b, a))


def words_similarity(a: Sequence[str], b: Sequence[str]) -> float:
    """How far one list of words is found in the other, in the more favourable direction:
    'billing_customer' mentions 'customer', and 'account' is in 'chart of accounts'."""
    return _similarity(tuple(a), tuple(b), False)


def words_match(a: Sequence[str], b: Sequence[str]) -> float:
    """How far two lists of words say the same thing in both directions (the lesser of the two):
    'series' and 'series' match; 'total episodes appeared' only mentions 'episode'."""
    return _similarity(tuple(a), tuple(b), True)
