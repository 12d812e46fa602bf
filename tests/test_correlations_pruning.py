"""What the correlations phase rules out without measuring must be what measuring would rule
out: a functional dependency whose dependent's most frequent value is too rare
(phases.structure.dependencies._may_agree), checked against violations counted by hand on
random tables with ties and NULLs."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from itertools import permutations

import pytest

from phases.structure.dependencies import DependencySettings, _may_agree
from tests.test_correlations import make_table, profiles_of


def violations(x: list[object], y: list[object]) -> tuple[int, int]:
    """(violating rows of X -> Y, rows where X is present): per value of X, the rows that
    disagree with its most common Y (NULL a value of its own)."""
    groups: dict[object, Counter[object]] = defaultdict(Counter)
    for a, b in zip(x, y, strict=True):
        if a is not None:
            groups[a][b] += 1
    present = sum(sum(c.values()) for c in groups.values())
    return present - sum(max(c.values()) for c in groups.values()), present


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("slack", [1.0, 2.0])
def test_a_dependent_ruled_out_by_its_frequency_violates_beyond_the_allowed_share(con, seed, slack):
    rng = random.Random(seed)
    rows = 300
    columns: dict[str, list[object]] = {
        "few": [rng.randint(0, 3) for _ in range(rows)],
        "some": [rng.randint(0, 30) for _ in range(rows)],
        "skewed": [0 if rng.random() < 0.9 else rng.randint(1, 50) for _ in range(rows)],
        "many": [rng.randint(0, 200) for _ in range(rows)],
    }
    for values in columns.values():
        for i in rng.sample(range(rows), rng.randint(0, 40)):
            values[i] = None
    make_table(con, {name: ("BIGINT", values) for name, values in columns.items()})
    profiles, _ = profiles_of(con, "t")
    s = DependencySettings(min_rows=3)
    ruled_out = 0
    for x, y in permutations(columns, 2):
        px, py = profiles[x], profiles[y]
        if not _may_agree(py, px.distinct_count, rows - px.null_count, slack, s):
            bad, present = violations(columns[x], columns[y])
            assert bad > slack * (1 - s.min_confidence) * present, (x, y)
            ruled_out += 1
    assert ruled_out > 0  # the bound does rule some out, else the test proves nothing
