"""The context as an agent reads it, on a small source that is no ledger: a reference the
relationships phase found only likely says why it is no declared join (context.md and
context.json), and the ledger metrics it cannot compute take one line, not one each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_upstream
from tests.test_context_markdown import ALL_PHASES


def csv_text(header: str, rows: list[tuple[object, ...]]) -> str:
    return header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows)


@pytest.fixture(scope="module")
def context(tmp_path_factory) -> Path:
    # each series' number of episodes is also its last episode's number: (series, episodes) matches
    # (series, episode) of the episodes table by construction, back along episodes.series
    root = tmp_path_factory.mktemp("episodes")
    lengths = {s: 6 + (s % 5) for s in range(1, 11)}
    episodes = [(s, e, 1000 + 37 * s + 11 * e) for s, n in lengths.items() for e in range(1, n + 1)]
    run_upstream(root, {"series": csv_text("series,episodes", list(lengths.items())),
                        "episodes": csv_text("series,episode,viewers", episodes)}, ALL_PHASES)
    return root / "state" / "s" / "context"


def test_a_likely_reference_says_why_it_is_not_verified(context):
    (entry,) = [r for r in json.loads((context / "context.json").read_text())["relationships"] if r["likely"]]
    assert entry["id"] == "series.(series, episodes)->episodes.(series, episode)"
    assert "episodes.series" in entry["unverified_because"] and not entry["join_safe"]
    (line,) = [x for x in (context / "context.md").read_text().splitlines() if "likely, not verified" in x]
    assert f"CAREFUL: not verified: {entry['unverified_because']}" in line


def test_metrics_refused_for_one_reason_share_a_line(context):
    metrics = json.loads((context / "context.json").read_text())["metrics"]
    refused = [m for m in metrics if m["period"] is None]
    reasons = {m["caveats"][0] for m in refused}
    lines = [x for x in (context / "context.md").read_text().splitlines() if "**refuse**" in x]
    assert len(refused) > len(reasons) == len(lines)  # several ledger metrics, one line per reason
    assert all(f"(`{m['metric']}`)" in "".join(lines) for m in refused)
