"""The business metrics in the context document: each metric in its best-covered year, with
its verdict and first caveats, so an agent knows before it writes SQL which numbers the data
supports, which only with caveats, and which it must not give (phases.entropy.markdown renders
them)."""

from __future__ import annotations

from phases.artifacts.context_document import MetricEntry
from phases.artifacts.metrics import VERDICTS, MetricResult, Metrics

SHOWN_CAVEATS = 3


def metric_entries(metrics: Metrics | None) -> tuple[MetricEntry, ...]:
    return tuple(_entry(m) for m in metrics.metrics) if metrics else ()


def _entry(metric: MetricResult) -> MetricEntry:
    if metric.refusal or not metric.values:
        reason = metric.refusal or "no period has rows"
        return MetricEntry(metric.metric, metric.label, metric.unit, None, None, "refuse", (reason,), {})
    years = [v.period for v in metric.values if len(v.period) == 4]
    months = {y: [v for v in metric.values if len(v.period) == 7 and v.period.startswith(y)] for y in years}
    year = max(years, key=lambda y: (len(months[y]), y))  # the best-covered year, the latest of equals
    value = metric.value(year)
    assert value is not None  # every year of `years` has its value
    counts: dict[str, int] = {verdict: n for verdict in VERDICTS
                              if (n := sum(1 for v in months[year] if v.verdict == verdict))}
    shown = None if value.verdict == "refuse" else value.value
    return MetricEntry(metric.metric, metric.label, metric.unit, year, shown, value.verdict,
                       value.caveats[:SHOWN_CAVEATS], counts)
