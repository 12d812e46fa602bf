"""The context's join list as an agent reads it: a reference the relationships phase found only
likely says why it is no declared join, in context.md and context.json."""

from __future__ import annotations

import json

from tests.conftest import run_upstream
from tests.test_context_markdown import ALL_PHASES


def csv_text(header: str, rows: list[tuple[object, ...]]) -> str:
    return header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows)


def test_a_likely_reference_says_why_it_is_not_verified(tmp_path):
    # each series' number of episodes is also its last episode's number: (series, episodes) matches
    # (series, episode) of the episodes table by construction, back along episodes.series
    lengths = {s: 6 + (s % 5) for s in range(1, 11)}
    episodes = [(s, e, 1000 + 37 * s + 11 * e) for s, n in lengths.items() for e in range(1, n + 1)]
    run_upstream(tmp_path, {"series": csv_text("series,episodes", list(lengths.items())),
                            "episodes": csv_text("series,episode,viewers", episodes)}, ALL_PHASES)
    context = tmp_path / "state" / "s" / "context"
    (entry,) = [r for r in json.loads((context / "context.json").read_text())["relationships"] if r["likely"]]
    assert entry["id"] == "series.(series, episodes)->episodes.(series, episode)"
    assert "episodes.series" in entry["unverified_because"] and not entry["join_safe"]
    (line,) = [x for x in (context / "context.md").read_text().splitlines() if "likely, not verified" in x]
    assert f"CAREFUL: not verified: {entry['unverified_because']}" in line
