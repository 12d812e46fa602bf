"""A deterministic sample of a table's rows for holistic aggregates (quantiles), which hold every
value in memory: the same rows on every run and thread count, chosen by a hash of the row id."""

from __future__ import annotations

import math
from dataclasses import dataclass

from phases.core.sql import quote_ident

ROW_ID = "_row_id"  # the row number every imported table carries


@dataclass(frozen=True)
class QuantileSample:
    """Exact quantiles hold every value in memory (per group, per measure), which a table of tens
    of millions of rows does not fit; above `quantile_sample_rows` rows they come from the rows
    whose row id hashes into a fixed share: the same rows on every run and thread count, an error
    of about 1/sqrt(sample) in rank. Counts, sums and means stay exact."""

    fraction: float  # the share of rows the quantiles read (1: all)
    where: str | None  # the SQL condition selecting them (None: all rows)

    def filter(self, condition: str | None = None) -> str:
        both = [c for c in (condition, self.where) if c]
        return f" FILTER (WHERE {' AND '.join(both)})" if both else ""


def quantile_sample(rows: int, wanted: int) -> QuantileSample:
    if rows <= wanted:
        return QuantileSample(1.0, None)
    per_million = max(1, math.ceil(1_000_000 * wanted / rows))
    return QuantileSample(per_million / 1_000_000, f"hash({quote_ident(ROW_ID)}) % 1000000 < {per_million}")
