"""The statistical_quality phase: value-level findings about one typed table.

Reads the table and its column profiles (from the statistics phase) and reports:
Benford's law on amount-like columns (phases.shared.benford), outliers by IQR fences and
the modified z-score (phases.profile.outliers), constant and near-constant columns,
sentinel values that stand apart from the real ones, placeholder text, leading or
trailing whitespace, case/spacing variants of one category, and mixed units.

Applicability is decided from the profiles first (no SQL). Then: per numeric
column, up to two small queries of its own for exact quantiles (the spread of |x|,
the MAD), since an exact quantile holds its whole column and holding several at
once doubled the memory; two wide scans for everything else (the second for what
needs the first one's results: outlier counts and examples, sentinel rows); and
per low-cardinality text column one GROUP BY (placeholders, whitespace and case
variants on its value counts). Every test that does not apply says why, in `checks`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import Field

from phases.artifacts.column_profiles import COLUMN_PROFILES, ColumnProfile
from phases.artifacts.quality_findings import QUALITY_FINDINGS, Check, Example, Finding, QualityFindings
from phases.artifacts.tables import TYPED_TABLE
from phases.core.config import Model
from phases.core.context import PhaseOutput, TableContext
from phases.core.manifest import canonical_json
from phases.core.records import json_scalar, round_sig
from phases.core.sql import open_parquet, quote_ident, quote_literal
from phases.profile.outliers import (
    OUTLIER_TESTS,
    OutlierRule,
    OutlierSettings,
    choose_scale,
    far_rule,
    iqr_rule,
    modified_z_rule,
    outlier_judge,
    outlier_measure,
    outlier_reason,
    scale_measure,
)
from phases.profile.placeholders import placeholder_tokens
from phases.shared.benford import BenfordSettings, benford_judge, benford_measure, benford_reason, spread_check
from phases.shared.narrow import one_row
from phases.shared.quality_base import (
    ROW_ID,
    Aggregates,
    Measured,
    Severity,
    fetch_examples,
    first_rows,
    magnitude_measure,
    sql_number,
)

if TYPE_CHECKING:
    import duckdb

MEASURES = ("integer", "decimal", "currency", "percent")  # semantic types the numeric tests consider
WHITESPACE = (" ", "\t", "\n", "\r", "\u00a0")


class SentinelSettings(Model):
    """The `sentinels` section of config/statistical_quality.yaml."""

    numbers: tuple[float, ...] = (-1, 0, -999, -9999, 9999, 99999, 999999)
    dates: tuple[dt.date, ...] = (dt.date(1900, 1, 1), dt.date(1970, 1, 1), dt.date(9999, 12, 31))
    texts: tuple[str, ...] = ("0000-00-00", "?", "unknown", "n/a", "na", "none", "null", "nil", "-", "--",
                              "tbd", "missing", "#n/a", "undefined")
    min_count: int = Field(3, ge=1)
    spike_ratio: float = Field(5.0, ge=1)
    min_gap: float = Field(0.1, ge=0)
    placeholder_shape_share: float = Field(0.95, gt=0.5, le=1)
    placeholder_missing_ratio: float = Field(2.0, ge=1)
    placeholder_missing_excess: float = Field(0.25, ge=0)


class SeveritySettings(Model):
    """The `severity` section: info, warning or error per kind of finding."""

    constant_column: Severity = "warning"
    near_constant_column: Severity = "info"
    empty_column: Severity = "warning"
    sentinel_value: Severity = "warning"
    whitespace: Severity = "warning"
    case_variants: Severity = "warning"
    mixed_units: Severity = "error"
    benford_marginal: Severity = "info"
    benford_nonconformity: Severity = "warning"
    outliers: Severity = "info"
    outliers_many: Severity = "warning"  # when the outlier ratio reaches outliers.warning_ratio


class QualitySettings(Model):
    """config/statistical_quality.yaml."""

    max_examples: int = Field(5, ge=1, le=100)
    near_constant_share: float = Field(0.95, gt=0.5, le=1)
    case_variants_max_distinct: int = Field(100, ge=2, le=100_000)
    benford: BenfordSettings = BenfordSettings()
    outliers: OutlierSettings = OutlierSettings()
    sentinels: SentinelSettings = SentinelSettings()
    severity: SeveritySettings = SeveritySettings()


# --- sentinels, whitespace, case variants ----------------------------------------------------


@dataclass(frozen=True)
class Sentinel:
    """A configured placeholder that can occur in a column: a number at its min or max, or a date in its range."""

    value: float | dt.date
    literal: str  # as SQL

    @property
    def key(self) -> str:
        return f"sentinel:{self.literal}"


def sentinel_candidates(profile: ColumnProfile, settings: SentinelSettings) -> list[Sentinel]:
    """The configured placeholders worth counting in this column (judged from its profile)."""
    if profile.distinct_count < 2:
        return []
    if profile.numeric is not None:  # a numeric placeholder is an edge value: it would be the min or the max
        edges = (profile.numeric.min, profile.numeric.max)
        return [Sentinel(v, sql_number(v)) for v in settings.numbers if v in edges]
    if profile.temporal is not None:
        low, high = profile.temporal.min[:10], profile.temporal.max[:10]
        return [Sentinel(d, f"DATE '{d.isoformat()}'") for d in settings.dates if low <= d.isoformat() <= high]
    return []


def _token_sql(c: str, tokens: Sequence[str]) -> str:
    """The placeholder token the text `c` (SQL) is, lower-cased and unpadded, else NULL. One RE2
    match, which fails on the first character for almost every real value, guards lower/trim."""
    alternatives = "|".join(re.escape(t.lower()) for t in tokens)
    pattern = quote_literal(f"(?i)[\\s\\x{{00A0}}]*(?:{alternatives})[\\s\\x{{00A0}}]*")
    padding = quote_literal("".join(WHITESPACE))
    return f"CASE WHEN regexp_full_match({c}, {pattern}) THEN lower(trim({c}, {padding})) END"


def _whitespace_sql(c: str) -> str:
    """Whether the text `c` (SQL) has leading or trailing whitespace. Cheap tests first: such a value
    sorts below '!', starts with U+00A0 or ends in whitespace; the regex (behind CASE, so lazily)
    only confirms those."""
    ends = ", ".join(quote_literal(w) for w in WHITESPACE)
    return (f"CASE WHEN {c} < '!' OR ({c} >= '\u00a0' AND {c} < '\u00a1') OR right({c}, 1) IN ({ends}) "
            f"THEN regexp_matches({c}, '^[\\s\\x{{00A0}}]|[\\s\\x{{00A0}}]$') ELSE false END")


def _grouped(profile: ColumnProfile) -> bool:
    """Text checks run on value counts when values repeat 10+ times on average (one GROUP BY is far
    cheaper than testing every row); otherwise on the rows in the wide scan. Same results either way."""
    return profile.distinct_count * 10 <= profile.non_null_count


def _value_measure(agg: Aggregates, profile: ColumnProfile, settings: QualitySettings) -> None:
    """First-scan measures of sentinels, and of placeholder text and whitespace on the rows."""
    name, c, limit = profile.name, quote_ident(profile.name), settings.max_examples
    other = f"CAST({c} AS DATE)" if profile.temporal is not None else c  # dates measure gaps in days
    for sentinel in sentinel_candidates(profile, settings.sentinels):
        agg.add(name, sentinel.key, f"count_if({c} = {sentinel.literal})")
        agg.add(name, f"{sentinel.key}:low", f"min({other}) FILTER (WHERE {c} <> {sentinel.literal})")
        agg.add(name, f"{sentinel.key}:high", f"max({other}) FILTER (WHERE {c} <> {sentinel.literal})")
    if profile.text is None or _grouped(profile):
        return
    if settings.sentinels.texts:
        token = agg.derive(_token_sql(c, settings.sentinels.texts))
        agg.add(name, "tokens:count", f"count_if({token} IS NOT NULL)")  # histogram() only where this is not 0
        agg.add(name, "tokens:examples", first_rows(f"{token} IS NOT NULL", limit))
    spaces = agg.derive(_whitespace_sql(c))
    agg.add(name, "whitespace", f"count_if({spaces})")
    agg.add(name, "whitespace:examples", first_rows(spaces, limit))


def grouped_text_measures(
    con: duckdb.DuckDBPyConnection, table: str, profile: ColumnProfile, settings: QualitySettings
) -> dict[tuple[str, str], Any]:
    """The text measures of `_value_measure` for a low-cardinality column, from its value counts:
    each distinct value is tested once, and keeps the ids of its first rows for the examples."""
    c, name, limit = quote_ident(profile.name), profile.name, settings.max_examples
    token = _token_sql("v", settings.sentinels.texts) if settings.sentinels.texts else "NULL"
    row = one_row(con.execute(
        f"SELECT sum(n) FILTER (WHERE ws), list_sort(flatten(list(first) FILTER (WHERE ws)))[1:{limit}], "
        f"list({{'token': token, 'n': n}}) FILTER (WHERE token IS NOT NULL), "
        f"list_sort(flatten(list(first) FILTER (WHERE token IS NOT NULL)))[1:{limit}] "
        f"FROM (SELECT v, n, first, {_whitespace_sql('v')} AS ws, {token} AS token FROM ("
        f"SELECT {c} AS v, count(*) AS n, min_by({ROW_ID}, {ROW_ID}, {limit}) AS first "
        f"FROM {quote_ident(table)} WHERE {c} IS NOT NULL GROUP BY {c}))"
    ))
    tokens: dict[str, int] = {}
    for item in row[2] or ():
        tokens[item["token"]] = tokens.get(item["token"], 0) + item["n"]
    return {(name, "whitespace"): row[0] or 0, (name, "whitespace:examples"): row[1],
            (name, "tokens"): tokens, (name, "tokens:examples"): row[3]}


def _distance(a: Any, b: Any) -> float:
    return float((a - b).days) if isinstance(a, dt.date) else float(a - b)


def _token_histograms(
    con: duckdb.DuckDBPyConnection, table: str, columns: Sequence[ColumnProfile], measured: Measured,
    settings: QualitySettings,
) -> dict[tuple[str, str], Any]:
    """The placeholder tokens of the columns whose first scan counted any: a histogram() for
    every text column of the wide scan costs DuckDB quadratic planning (joined subqueries)."""
    agg = Aggregates()
    for profile in columns:
        if measured.get((profile.name, "tokens:count")):
            token = _token_sql(quote_ident(profile.name), settings.sentinels.texts)
            agg.add(profile.name, "tokens", f"histogram({token})")
    return agg.run(con, table)


def sentinel_finding(
    profile: ColumnProfile, sentinel: Sentinel, measured: Measured, settings: QualitySettings
) -> Finding | None:
    """A placeholder occurring at least min_count times that stands apart from the other values:
    it spikes (spike_ratio times an average other value's count), or it lies beyond all of them
    with a gap (beyond their usual spacing) of at least min_gap of their range.
    A 0 needs the gap: zeros are often legitimately frequent (no discount), so a spike is not enough.
    It needs at least two other values to stand apart from: in a 0/1 indicator, or a -1/1 sign,
    either value is data."""
    s, v = settings.sentinels, sentinel.value
    count = measured[(profile.name, sentinel.key)]
    low, high = measured[(profile.name, f"{sentinel.key}:low")], measured[(profile.name, f"{sentinel.key}:high")]
    if count < s.min_count or low is None or profile.distinct_count < 3:
        return None
    spike = count / ((profile.non_null_count - count) / (profile.distinct_count - 1))
    below, above = v < low, v > high
    spread = _distance(high, low)
    # The gap beyond the usual spacing of the values: 0 next to codes 1..9 is no gap, -1 below ages 18.. is.
    spacing = spread / (profile.distinct_count - 2) if profile.distinct_count > 2 else 0.0
    gap = (_distance(low, v) if below else _distance(v, high) if above else 0.0) - spacing
    gap_ratio = max(gap, 0.0) / spread if spread else (math.inf if gap > 0 else 0.0)
    apart = gap_ratio >= s.min_gap
    if isinstance(v, dt.date):
        flagged = spike >= s.spike_ratio or apart
    elif v == 0:
        flagged = below and low > 0 and apart
    else:
        flagged = spike >= s.spike_ratio or apart  # -1 as often as 0..4 and next to them is one of them
    if not flagged:
        return None
    value = v.isoformat() if isinstance(v, dt.date) else json_scalar(int(v) if float(v).is_integer() else v)
    evidence = {"value": value, "count": count, "ratio": round_sig(count / profile.non_null_count),
                "spike_ratio": round_sig(spike), "gap_ratio": round_sig(gap_ratio),
                "others_min": json_scalar(low), "others_max": json_scalar(high)}
    return Finding("sentinel_value", settings.severity.sentinel_value, profile.name, evidence)


def _text_findings(
    con: duckdb.DuckDBPyConnection, table: str, profile: ColumnProfile, measured: Measured,
    settings: QualitySettings, names: Sequence[str],
) -> list[Finding]:
    """Placeholder text (the tokens with evidence, see phases.profile.placeholders) and whitespace
    findings, with the values of their first rows."""
    name, findings = profile.name, []
    found = measured.get((name, "tokens")) or {}
    token = _token_sql(quote_ident(name), settings.sentinels.texts) if found else ""
    others = [n for n in names if n != name] if found else []
    tokens, why = placeholder_tokens(con, table, name, token, found, others, settings.sentinels) if found else ({}, {})
    if tokens:
        count = sum(tokens.values())
        evidence = {"count": count, "ratio": round_sig(count / profile.non_null_count),
                    "values": {k: tokens[k] for k in sorted(tokens)}, **why}
        rows = con.execute(
            f"SELECT min_by({ROW_ID}, {ROW_ID}, {settings.max_examples}) FROM {quote_ident(table)} "
            f"WHERE {token} IN ({', '.join(quote_literal(t) for t in sorted(tokens))})").fetchone()
        findings.append(Finding("sentinel_value", settings.severity.sentinel_value, name, evidence,
                                fetch_examples(con, table, name, rows[0] if rows else None)))
    spaces = measured.get((name, "whitespace"))
    if spaces:
        evidence = {"count": spaces, "ratio": round_sig(spaces / profile.non_null_count)}
        findings.append(Finding("whitespace", settings.severity.whitespace, name, evidence,
                                fetch_examples(con, table, name, measured[(name, "whitespace:examples")])))
    return findings


def case_variants(
    con: duckdb.DuckDBPyConnection, table: str, profile: ColumnProfile, settings: QualitySettings
) -> list[Finding]:
    """Spellings of one category that differ only in case or spacing ('Paid', 'paid', ' paid')."""
    c = quote_ident(profile.name)
    space = "[\\s\\x{00A0}]"
    key = f"lower(regexp_replace(regexp_replace(v, '^{space}+|{space}+$', '', 'g'), '{space}+', ' ', 'g'))"
    rows = con.execute(
        f"SELECT list({{'value': v, 'count': n}} ORDER BY n DESC, v), sum(n) FROM "
        f"(SELECT {c} AS v, count(*) AS n FROM {quote_ident(table)} WHERE {c} IS NOT NULL GROUP BY {c}) "
        f"GROUP BY {key} HAVING count(*) > 1 ORDER BY min(v)"
    ).fetchall()
    return [
        Finding("case_variants", settings.severity.case_variants, profile.name,
                {"variants": len(variants), "count": int(total), "ratio": round_sig(total / profile.non_null_count),
                 # rows not spelled like the group's most frequent spelling: the ones to fix
                 "other_spellings": int(total) - variants[0]["count"]},
                tuple(Example(None, v["value"], v["count"]) for v in variants[: settings.max_examples]))
        for variants, total in rows
    ]


def profile_findings(profile: ColumnProfile, settings: QualitySettings) -> list[Finding]:
    """Findings read straight off the profile: empty, constant, near-constant, mixed units."""
    name, sev, findings = profile.name, settings.severity, []
    if profile.rows and profile.non_null_count == 0:
        findings.append(Finding("empty_column", sev.empty_column, name, {"rows": profile.rows}))
    elif profile.distinct_count == 1 and profile.non_null_count > 1:
        top = profile.top_values[0]
        findings.append(Finding("constant_column", sev.constant_column, name,
                                {"count": top.count, "null_count": profile.null_count},
                                (Example(None, top.value, top.count),)))
    elif profile.distinct_count > 1 and profile.top_values[0].share >= settings.near_constant_share:
        top = profile.top_values[0]
        findings.append(Finding("near_constant_column", sev.near_constant_column, name,
                                {"top_share": top.share, "distinct": profile.distinct_count},
                                (Example(None, top.value, top.count),)))
    if len(profile.units) > 1:
        total = sum(n for _, n in profile.units)
        findings.append(Finding("mixed_units", sev.mixed_units, name,
                                {"units": {u: n for u, n in sorted(profile.units)}, "count": total},
                                tuple(Example(None, u, n) for u, n in profile.units[: settings.max_examples])))
    return findings


# --- the table -------------------------------------------------------------------------------


def _plan_tests(
    con: duckdb.DuckDBPyConnection, table: str, profile: ColumnProfile, wide: Aggregates,
    measured: dict[tuple[str, str], Any], settings: QualitySettings,
) -> tuple[list[Check], bool, bool]:
    """Decide which numeric tests apply: first from the profile, then (one query of the column's
    own when it has negatives or zeros) from the spread of its magnitudes. Queue Benford's digits
    on the wide scan only for the columns that pass."""
    if profile.type not in MEASURES:
        return [], False, False
    checks = []
    benford_why = benford_reason(profile, settings.benford)
    outlier_why = outlier_reason(profile, settings.outliers)
    if benford_why is None or outlier_why is None:
        own = Aggregates()
        magnitude_measure(own, profile)
        measured |= own.run(con, table)
    spread = spread_check(profile, measured, settings.benford) if benford_why is None else None
    benford = benford_why is None and spread is None
    if benford:
        benford_measure(wide, profile)
    else:
        checks.append(spread or Check("benford", profile.name, False, benford_why))
    if outlier_why is not None:
        checks += [Check(test, profile.name, False, outlier_why) for test in OUTLIER_TESTS]
    return checks, benford, outlier_why is None


def _outlier_rules(
    con: duckdb.DuckDBPyConnection, table: str, profile: ColumnProfile, measured: dict[tuple[str, str], Any],
    settings: QualitySettings,
) -> list[OutlierRule | Check]:
    """Choose the scale, measure the MAD on it (the column's own query), and set both methods' fences
    (or, for a method that does not apply, its Check)."""
    scale = choose_scale(profile, measured, settings.outliers)
    own = Aggregates()
    scale_measure(own, profile, scale)
    measured |= own.run(con, table)
    return [iqr_rule(profile, scale, settings.outliers), modified_z_rule(profile, scale, measured, settings.outliers),
            far_rule(profile, scale, measured, settings.outliers)]


@dataclass(frozen=True)
class _SentinelRows:
    """A sentinel finding whose example rows the second scan fetches."""

    finding: Finding
    column: str
    condition: str  # SQL selecting its rows


def _sentinel_findings(
    profile: ColumnProfile, measured: Measured, settings: QualitySettings
) -> list[_SentinelRows]:
    """Numeric and date sentinel findings, each with the SQL condition that selects its rows."""
    found = []
    for sentinel in sentinel_candidates(profile, settings.sentinels):
        if finding := sentinel_finding(profile, sentinel, measured, settings):
            found.append(_SentinelRows(finding, profile.name, f"{quote_ident(profile.name)} = {sentinel.literal}"))
    return found


def _second_scan(
    con: duckdb.DuckDBPyConnection, table: str, rules: Sequence[tuple[ColumnProfile, OutlierRule]],
    sentinels: Sequence[_SentinelRows], settings: QualitySettings,
) -> tuple[list[Check], list[Finding]]:
    """Outlier counts and examples, and sentinel example rows, in one scan."""
    second = Aggregates()
    for profile, rule in rules:
        outlier_measure(second, profile, rule, settings.max_examples)
    for index, sentinel in enumerate(sentinels):
        second.add(sentinel.column, f"sentinel_examples:{index}", first_rows(sentinel.condition, settings.max_examples))
    measured = second.run(con, table)
    checks, findings = [], []
    severity = {"some": settings.severity.outliers, "many": settings.severity.outliers_many}
    for profile, rule in rules:
        check, finding = outlier_judge(con, table, profile, rule, measured, settings.outliers, severity,
                                       settings.max_examples)
        checks.append(check)
        findings += [finding] if finding else []
    for index, sentinel in enumerate(sentinels):
        found = sentinel.finding
        value = found.evidence["value"]  # every example row holds the sentinel itself
        examples = tuple(Example(r, value) for r in measured[(sentinel.column, f"sentinel_examples:{index}")] or ())
        findings.append(Finding(found.kind, found.severity, found.column, found.evidence, examples))
    return checks, findings


def _numeric_tests(
    con: duckdb.DuckDBPyConnection, table: str, benford: Sequence[ColumnProfile],
    outliers: Sequence[ColumnProfile], measured: dict[tuple[str, str], Any], settings: QualitySettings,
) -> tuple[list[Check], list[Finding], list[tuple[ColumnProfile, OutlierRule]]]:
    """Benford's verdicts, and the outlier rules whose counts the second scan measures."""
    checks, findings, rules = [], [], []
    severity = {"marginal": settings.severity.benford_marginal,
                "nonconformity": settings.severity.benford_nonconformity}
    for profile in benford:
        check, finding = benford_judge(profile, measured, severity)
        checks.append(check)
        findings += [finding] if finding else []
    for profile in outliers:
        for rule in _outlier_rules(con, table, profile, measured, settings):
            if isinstance(rule, Check):
                checks.append(rule)
            else:
                rules.append((profile, rule))
    return checks, findings, rules


def find_quality_findings(
    con: duckdb.DuckDBPyConnection, table: str, profiles: Sequence[ColumnProfile], settings: QualitySettings,
    table_name: str | None = None,
) -> QualityFindings:
    """Every check and finding for `table` (a table or view in `con` with a _row_id column),
    given the column profiles the statistics phase wrote for it."""
    columns = sorted(profiles, key=lambda p: p.position)
    checks: list[Check] = []
    findings: list[Finding] = []
    first, benford, outliers = Aggregates(), [], []
    measured: dict[tuple[str, str], Any] = {}
    for profile in columns:
        findings += profile_findings(profile, settings)
        _value_measure(first, profile, settings)
        planned, with_benford, with_outliers = _plan_tests(con, table, profile, first, measured, settings)
        checks += planned
        benford += [profile] if with_benford else []
        outliers += [profile] if with_outliers else []
    measured |= first.run(con, table)
    measured |= _token_histograms(con, table, columns, measured, settings)
    names = [p.name for p in columns]
    numeric_checks, numeric_findings, rules = _numeric_tests(con, table, benford, outliers, measured, settings)
    sentinels = [pair for profile in columns for pair in _sentinel_findings(profile, measured, settings)]
    more_checks, more_findings = _second_scan(con, table, rules, sentinels, settings)
    checks += numeric_checks + more_checks
    findings += numeric_findings + more_findings
    for profile in columns:
        if profile.text is not None and _grouped(profile):
            measured |= grouped_text_measures(con, table, profile, settings)
        findings += _text_findings(con, table, profile, measured, settings, names)
        if profile.text is not None and 2 <= profile.distinct_count <= settings.case_variants_max_distinct:
            findings += case_variants(con, table, profile, settings)
    return _sorted(table_name or table, columns, checks, findings)


def _sorted(
    table: str, columns: Sequence[ColumnProfile], checks: list[Check], findings: list[Finding]
) -> QualityFindings:
    """Table order, then test or kind, then evidence: the same input always gives the same file."""
    position = {p.name: p.position for p in columns}
    return QualityFindings(
        table=table,
        checks=tuple(sorted(checks, key=lambda c: (position[c.column], c.test))),
        findings=tuple(sorted(
            findings, key=lambda f: (0 if f.column is None else position.get(f.column, 0), f.kind,
                                    canonical_json(f.evidence))
        )),
    )


def find_quality_issues(ctx: TableContext) -> PhaseOutput:
    """Phase `statistical_quality`: quality_findings.json for one typed table."""
    settings = ctx.parse_settings(QualitySettings)
    profiles = ctx.read(COLUMN_PROFILES).columns
    parquet = str(ctx.path(TYPED_TABLE))
    with ctx.connect() as con:
        open_parquet(con, "__quality_typed", parquet)
        report = find_quality_findings(con, "__quality_typed", list(profiles), settings, ctx.table.name)
    ctx.write(QUALITY_FINDINGS, report)
    severities = [f.severity for f in report.findings]
    return PhaseOutput(
        summary={
            "findings": len(report.findings),
            "by_severity": {s: severities.count(s) for s in ("error", "warning", "info") if s in severities},
            "kinds": sorted({f.kind for f in report.findings}),
        },
    )
