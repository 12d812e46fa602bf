"""A metric value's verdict from the evidence the pipeline already has: the entropy of the
columns it read, the orphans of the joins it used, the failed validation checks on its
columns, and what its own statements counted (amounts missing, other currencies, undated
rows, periods the dates do not cover). Thresholds: `metric_verdicts` in thresholds.yaml.

Each finding is a refusal or a caveat, one sentence with its numbers; a value with any
refusal is `refuse`, with only caveats `answer_with_caveats`, else `answer`. A blocked
measure column always refuses, and any other blocked column is named in a caveat, so no
metric silently uses a column the context marks blocked.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from phases.artifacts.entropy_scores import EntropyScores
from phases.artifacts.metrics import Verdict
from phases.artifacts.validations import Validations
from phases.metrics.periods import MonthRow, bounds
from phases.metrics.plans import JoinUse
from phases.metrics.settings import MetricThresholds


@dataclass
class Findings:
    refusals: list[str] = field(default_factory=list)
    caveats: list[str] = field(default_factory=list)

    def add(self, refuse: bool, text: str) -> None:
        (self.refusals if refuse else self.caveats).append(text)

    def extend(self, other: Findings) -> None:
        self.refusals += [r for r in other.refusals if r not in self.refusals]
        self.caveats += [c for c in other.caveats if c not in self.caveats]

    def verdict(self) -> Verdict:
        return "refuse" if self.refusals else "answer_with_caveats" if self.caveats else "answer"

    def sentences(self) -> tuple[str, ...]:
        return tuple(self.refusals + self.caveats)


def pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "0%"


def column_findings(scores: EntropyScores | None, inputs: Iterable[str], measures: set[str],
                    limits: MetricThresholds) -> tuple[Findings, float]:
    """What the entropy scores say about the input columns, and the worst score among them."""
    found, worst = Findings(), 0.0
    if scores is None:
        found.add(False, "no entropy scores: the input columns are unjudged")
        return found, worst
    for name in sorted(inputs):
        table, _, column = name.partition(".")
        entry = scores.column(table, column)
        if entry is None:
            continue
        worst = max(worst, entry.score)
        why = f"{entry.top[0].dimension}: {entry.top[0].summary}" if entry.top else "; ".join(entry.reasons)
        if entry.score >= limits.refuse_score or (entry.readiness == "blocked" and name in measures):
            found.add(True, f"{name} is {entry.readiness} (entropy {entry.score:.2f}; {why})")
        elif entry.readiness == "blocked":
            found.add(False, f"uses {name}, which the context marks blocked (entropy {entry.score:.2f}; {why})")
        elif entry.score >= limits.caveat_score:
            found.add(False, f"{name} scores {entry.score:.2f} ({why})")
    return found, worst


def join_findings(joins: Iterable[JoinUse], limits: MetricThresholds) -> Findings:
    found = Findings()
    for use in sorted({(u.relationship.id, u.nulls_drop): u for u in joins}.values(), key=lambda u: u.relationship.id):
        rel = use.relationship
        lost = rel.orphan_rows + (rel.null_rows if use.nulls_drop else 0)
        share = lost / rel.child_rows if rel.child_rows else 0.0
        if share > limits.join_drop_caveat:
            parts = [f"{rel.orphan_rows} orphans"] + ([f"{rel.null_rows} NULL keys"] if use.nulls_drop else [])
            found.add(share > limits.join_drop_refuse,
                      f"the join {rel.id} loses {pct(lost, rel.child_rows)} of its rows ({', '.join(parts)})")
    return found


def check_findings(validations: Validations | None, inputs: Iterable[str], limits: MetricThresholds) -> Findings:
    found = Findings()
    if validations is None:
        return found
    wanted = set(inputs)
    for check in validations.by_status("failed"):
        if not wanted & set(check.columns):
            continue
        ratio = check.violation_ratio or 0.0
        found.add(ratio > limits.check_refuse,
                  f"check {check.id} failed on {check.violations} of {check.checked} ({100 * ratio:.1f}%): "
                  f"{check.reason or check.description}")
    return found


def step_findings(step: str, rolled: MonthRow, aggregate: str, period: str, limits: MetricThresholds,
                  counts_cells: bool = False) -> Findings:
    """What a step's own counts say in one period (empty cells are what a `cells` step measures)."""
    found = Findings()
    if rolled.rows == 0:
        found.add(aggregate == "max", f"{step}: no rows up to the end of {period}" if aggregate == "end_of_period"
                  else f"{step}: no rows in {period}")
        return found
    share = rolled.missing / rolled.rows
    if share > limits.missing_caveat and not counts_cells:
        found.add(share > limits.missing_refuse, f"{step}: {rolled.missing} of {rolled.rows} rows "
                  f"({pct(rolled.missing, rolled.rows)}) have no parseable value; they count as 0")
    other = rolled.other_currency / rolled.rows
    if rolled.other_currency:
        found.add(other > limits.other_currency_refuse, f"{step}: amounts in several currencies, not converted: "
                  f"{pct(rolled.other_currency, rolled.rows)} of rows carry another currency than the most common one")
    return found


def coverage_findings(period: str, first: dt.date | None, last: dt.date | None, limits: MetricThresholds) -> Findings:
    found = Findings()
    start, end = bounds(period)
    slack = dt.timedelta(days=limits.coverage_slack_days)
    if first is not None and last is not None and (first > start + slack or last < end - slack):
        found.add(False, f"the data covers {first.isoformat()}..{last.isoformat()} of {period} only")
    return found


def undated_findings(step: str, undated: int, total: int) -> Findings:
    found = Findings()
    if undated:
        found.add(False, f"{step}: {undated} of {total} rows ({pct(undated, total)}) have no date "
                  "and count in no period")
    return found


def interpret(value: float | None, ranges: Sequence[tuple[str, float | None]]) -> str | None:
    if value is None:
        return None
    for label, below in ranges:
        if below is None or value < below:
            return label
    return None
