"""A time axis made of calendar-part columns (year, month, day, hour; coarsest first) as SQL:
temporal profiles such an axis and the entropy phase looks at the rows around a shift on it, and
both must read the same instant from a row."""

from __future__ import annotations

from collections.abc import Sequence

from phases.core.sql import quote_ident


def parts_timestamp(parts: Sequence[str]) -> str:
    """The timestamp of a row from its part columns, NULL when a part is NULL; a missing month or
    day is 1 and a missing hour 0 (a year alone is its 1 January)."""
    given = [f"CAST({quote_ident(p)} AS BIGINT)" for p in parts[:4]]
    y, m, d, h = given + ["1", "1", "0"][len(given) - 1:]
    return f"make_timestamp({y}, {m}, {d}, {h}, 0, 0)"
