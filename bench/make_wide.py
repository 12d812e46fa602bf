"""Write a wide CSV file: many columns, few rows, a fixed mix of kinds (integers, decimals,
dates, words, booleans, percentages, amounts with a currency sign, mostly empty columns).
Deterministic for given arguments, so two runs profile the same bytes.

    python bench/make_wide.py OUT.csv [--columns 2000] [--rows 5]
"""

from __future__ import annotations

import argparse
import csv
import random
from collections.abc import Callable
from pathlib import Path

WORDS = ("north", "south", "east", "west", "alpha", "beta", "gamma", "delta", "red", "green")


def _value(kind: int, rng: random.Random, row: int) -> str:
    makers: tuple[Callable[[], str], ...] = (
        lambda: str(row + 1 + rng.randrange(3)),
        lambda: f"{rng.uniform(-500, 5000):.2f}",
        lambda: f"20{rng.randrange(10, 25)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
        lambda: rng.choice(WORDS),
        lambda: rng.choice(("true", "false")),
        lambda: f"{rng.randrange(0, 100)}%",
        lambda: f"${rng.randrange(1, 9000):,}.{rng.randrange(100):02d}",
        lambda: "" if rng.random() < 0.8 else "x",
    )
    return makers[kind % len(makers)]()


def write_wide(path: Path, columns: int = 2000, rows: int = 5, seed: int = 15) -> Path:
    """A CSV of `columns` x `rows` at `path`; returns the path."""
    rngs = [random.Random(seed * 100_003 + i) for i in range(columns)]
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow([f"col_{i:04d}" for i in range(columns)])
        for row in range(rows):
            out.writerow([_value(i, rngs[i], row) for i in range(columns)])
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--columns", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=5)
    args = parser.parse_args()
    write_wide(args.out, args.columns, args.rows)


if __name__ == "__main__":
    main()
