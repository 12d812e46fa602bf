"""Entropy detectors over what was *measured*: the structural layer (types, keys, joins) and
the value layer (nulls, outliers, Benford, drift, category spellings).

Each detector is a function `(evidence, settings) -> list[EntropyObject]`, one object per
target it has something to say about, with the numbers behind the score and what would
resolve it. Scores are ramps between thresholds from config/thresholds.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from phases.artifacts.column_types import ColumnTyping
from phases.artifacts.entropy_scores import EntropyObject, Resolution
from phases.artifacts.relationships import Relationship
from phases.artifacts.schema_graph import JoinPath, TablePair
from phases.artifacts.temporal_profiles import DriftPair
from phases.entropy.base import finding, fix, pct
from phases.entropy.evidence import Evidence, TableImport
from phases.entropy.settings import EntropySettings, ramp

# --- structural ----------------------------------------------------------------------------


def type_fidelity(ev: Evidence, s: EntropySettings) -> list[EntropyObject]:
    t = s.type_fidelity
    out = []
    for table, columns in ev.types.items():
        for name, typing in columns.items():
            non_null = typing.non_null or 0
            if typing.failures and non_null:
                rate = typing.failures / non_null
                examples = ", ".join(repr(e) for e in typing.failure_examples[:3])
                score = t.failure_any_score + (1 - t.failure_any_score) * ramp(rate, t.failure_start, t.failure_full)
                out.append(finding(
                    table, name, "type_fidelity", "cast_failures", score,
                    f"{typing.failures} of {non_null} values ({pct(rate)}) do not parse as {typing.type}"
                    + (f", e.g. {examples}" if examples else "") + "; they read as NULL in the typed table",
                    {"failures": typing.failures, "non_null": non_null, "failure_rate": rate, "type": typing.type},
                    (fix(f"clean or exclude the {typing.failures} unparseable values, or declare them as nulls", 1.0),),
                ))
            # a boolean reading of a text column is a category with some values like 'N' or 'F', not
            # a failed boolean column
            alternatives = [a for a in typing.alternatives if a[0] != "boolean"]
            if typing.type == "text" and alternatives:
                other, share = max(alternatives, key=lambda a: a[1])
                if t.alternative_start <= share < 1:  # all values parse: text was chosen on purpose (codes)
                    out.append(finding(
                        table, name, "type_fidelity", "failed_typing",
                        ramp(share, t.alternative_start, t.alternative_full),
                        f"kept as text although {pct(share)} of its values read as {other}: the rest use other "
                        f"formats, so it cannot be filtered, sorted or compared as a {other}",
                        {"type": "text", "alternative": other, "alternative_share": share},
                        (fix(f"declare the {other} format(s) of this column in config/sources.yaml overrides", 1.0,
                             "medium"),),
                    ))
            if len(typing.formats) > 1:
                out.append(mixed_formats(table, name, typing, t.mixed_formats_score))
            if typing.ambiguous:
                out.append(finding(
                    table, name, "type_fidelity", "ambiguous_format", t.ambiguous_score,
                    f"its {typing.type} format {typing.format!r} reads more than one way"
                    + (f" ({typing.note})" if typing.note else ""),
                    {"format": typing.format, "alternatives": [list(a) for a in typing.alternatives]},
                    (fix("declare the format in config/sources.yaml overrides", 1.0),),
                ))
    for table, imp in ev.imports.items():
        out += ambiguous_readings(table, imp, t.ambiguous_reading_score)
        lines = imp.rows_loaded + imp.rows_quarantined
        if imp.rows_quarantined and lines:
            rate = imp.rows_quarantined / lines
            out.append(finding(
                table, None, "type_fidelity", "quarantine", ramp(rate, t.quarantine_start, t.quarantine_full),
                f"{imp.rows_quarantined} of {lines} lines of {imp.file} ({pct(rate)}) were malformed and "
                "quarantined: totals over this table miss them",
                {"quarantined": imp.rows_quarantined, "lines": lines, "rate": rate},
                (fix("repair the quarantined lines (see the import phase's quarantine.parquet) and rerun", 1.0,
                     "medium"),),
            ))
    return out


def ambiguous_readings(table: str, imp: TableImport, score: float) -> list[EntropyObject]:
    """Readings of the file the import could not settle: an encoding chosen among readings about
    as plausible (accented names may be misspelled), and null tokens whose rows behave both as
    missing values and as values of the column ('NA' as Namibia or as not available)."""
    out = []
    enc = imp.encoding
    if enc is not None and enc.encoding_alternatives:
        others = ", ".join(enc.encoding_alternatives)
        out.append(finding(
            table, None, "type_fidelity", "ambiguous_encoding", score,
            f"{imp.file} was decoded as {enc.encoding}, but {others} read(s) it about as plausibly: "
            "accented letters in its text may be wrong",
            {"encoding": enc.encoding, "alternatives": list(enc.encoding_alternatives), "note": enc.encoding_note},
            (fix("declare the file's encoding in config/sources.yaml", 1.0),),
        ))
    for token in imp.null_tokens:
        if token.ambiguous:
            read = "NULL" if token.read_as == "null" else "a value"
            out.append(finding(
                table, token.column, "type_fidelity", "ambiguous_null_token", score,
                f"{token.rows} rows hold {token.token!r}, read as {read}, but the evidence points both ways: "
                f"{token.reason}",
                {"token": token.token, "rows": token.rows, "read_as": token.read_as},
                (fix("declare the column's null tokens in config/sources.yaml overrides", 1.0),),
            ))
    return out


def mixed_formats(table: str, name: str, typing: ColumnTyping, score: float) -> EntropyObject:
    """A column whose writers used several formats (dates as 2024-01-05 and 05/01/2024): each value
    was read by the format that alone reads it, so a value two formats read differently may be wrong."""
    listed = ", ".join(f"{fmt!r} ({count} values)" for fmt, count in typing.formats)
    return finding(
        table, name, "type_fidelity", "mixed_formats", score,
        f"written in {len(typing.formats)} {typing.type} formats ({listed}) and read in each where the "
        "others agree: check values that two formats read differently",
        {"type": typing.type, "formats": [list(f) for f in typing.formats]},
        (fix("declare the format(s) of this column in config/sources.yaml overrides, or fix the source", 1.0,
             "medium"),),
    )


def relationship_quality(ev: Evidence, s: EntropySettings) -> list[EntropyObject]:
    r = s.relationships
    out = []
    for rel in ev.relationships.relationships:
        column = rel.child_columns[0] if len(rel.child_columns) == 1 else None
        base = {"relationship": rel.id, "child_rows": rel.child_rows, "cardinality": rel.cardinality}

        def add(detector: str, score: float, summary: str, evidence: Mapping[str, Any], *fixes: Resolution,
                confidence: float = 1.0, rel: Relationship = rel, column: str | None = column,
                base: Mapping[str, Any] = base) -> None:
            out.append(finding(rel.child_table, column, "relationship_quality", detector, score, summary,
                               {**base, **evidence}, fixes, confidence, target_kind="relationship", target=rel.id))

        present = rel.child_rows - rel.null_rows
        if rel.orphan_rows and present and beyond_coverage(rel, r.coverage_in_span, r.coverage_min_beyond):
            ratio = rel.orphan_rows / present
            examples = ", ".join(repr(e.value) for e in rel.orphan_examples[:3])
            add("coverage", r.orphan_any_score,
                f"{rel.orphan_rows} rows ({pct(ratio)}" + (f", e.g. {examples}" if examples else "")
                + f") lie beyond the range {rel.parent_table} covers, while inside it nearly every key matches: "
                f"{rel.parent_table} starts later or ends earlier; an inner join drops them",
                {"orphan_rows": rel.orphan_rows, "orphan_ratio": ratio, "orphan_values": rel.orphan_values,
                 "in_span_share": rel.evidence["in_span_share"]},
                fix(f"restrict the question to the range {rel.parent_table} covers, or LEFT JOIN and say so", 1.0))
        elif rel.orphan_rows and present:
            ratio = rel.orphan_rows / present
            score = r.orphan_any_score + (1 - r.orphan_any_score) * ramp(ratio, 0, r.orphan_full_ratio)
            examples = ", ".join(repr(e.value) for e in rel.orphan_examples[:3])
            add("orphans", score,
                f"{rel.orphan_rows} rows ({pct(ratio)}, {rel.orphan_values} distinct keys"
                + (f", e.g. {examples}" if examples else "") + f") have no match in {rel.parent_table}: "
                "an inner join drops them, a left join gives them NULL attributes",
                {"orphan_rows": rel.orphan_rows, "orphan_ratio": ratio, "orphan_values": rel.orphan_values},
                fix("use a LEFT JOIN and report the unmatched rows, or repair the keys", 0.7),
                fix(f"add the missing {rel.parent_table} rows", 1.0, "medium"))
        if rel.fans_out:
            add("fan_out", r.fan_out_score,
                f"joining to {rel.parent_table} repeats rows: {rel.fan_out_rows} child rows match more than one "
                "parent row, so sums over the join double count",
                {"fan_out_rows": rel.fan_out_rows},
                fix("deduplicate the parent key or aggregate the parent before joining", 1.0, "medium"))
        if rel.confidence < r.min_confidence:
            shortfall = (r.min_confidence - rel.confidence) / r.min_confidence
            add("unverified", r.unverified_score * (0.5 + 0.5 * shortfall),
                f"the key to {rel.parent_table} is inferred with confidence {rel.confidence:.2f} only",
                {"confidence": rel.confidence},
                fix("declare the relationship (or its absence) so the agent need not guess", 1.0),
                confidence=0.7)
    return out + likely_orphans(ev, s)


def beyond_coverage(rel: Relationship, min_in_span: float, min_beyond: float) -> bool:
    """Whether a reference's orphans are a difference of coverage, not broken keys: at least
    `min_beyond` of the child's values lie outside the parent's range (years before the parent's
    first; a few strays beyond it are broken keys), and inside that range at least `min_in_span`
    of them match."""
    share, inside = rel.evidence.get("in_span_share"), rel.evidence.get("in_span_containment")
    if not isinstance(share, float) or not isinstance(inside, float):
        return False
    return 1 - share >= min_beyond and inside >= min_in_span


def likely_orphans(ev: Evidence, s: EntropySettings) -> list[EntropyObject]:
    """Orphans of the references the relationships phase found likely but could not verify (when it
    reports them): the rows an inner join along them would drop, which no accepted relationship
    shows. Scored like a caution, not like a broken key: the reference itself is uncertain."""
    out = []
    for rel in getattr(ev.relationships, "likely", ()):
        present = rel.child_rows - rel.null_rows
        if not rel.orphan_rows or not present:
            continue
        ratio = rel.orphan_rows / present
        columns = ", ".join(rel.child_columns)
        examples = ", ".join(repr(e.value) for e in rel.orphan_examples[:3])
        out.append(finding(
            rel.child_table, rel.child_columns[0] if len(rel.child_columns) == 1 else None, "relationship_quality",
            "likely_orphans", s.relationships.likely_orphan_score,
            f"({columns}) likely refers to {rel.parent_table}({', '.join(rel.parent_columns)}) (not verified), and "
            f"{rel.orphan_rows} rows ({pct(ratio)}" + (f", e.g. {examples}" if examples else "")
            + ") have no match there: an inner join along it drops them",
            {"relationship": rel.id, "orphan_rows": rel.orphan_rows, "orphan_ratio": ratio,
             "orphan_values": rel.orphan_values, "confidence": rel.confidence, "likely": True},
            (fix("use a LEFT JOIN and check the unmatched rows (spelling, coverage) before joining", 0.7),
             fix("declare whether this reference holds", 1.0)),
            confidence=0.7, target_kind="relationship", target=rel.id,
        ))
    return out


def competing_paths(
    pair: TablePair, one_to_one: frozenset[str] = frozenset(),
) -> list[tuple[str, str, list[JoinPath]]]:
    """For each side of a table pair, the shortest join paths to the other side that keep that
    side's rows, when there are several: (from, to, paths). A path that fans out (walks from a
    parent to its children, as through a shared dimension) is not a join an agent would choose,
    so it competes with nothing. The topology lists each pair once; read backwards, a path that
    only walks to children only walks to parents. A one-to-one step keeps rows either way."""
    out = []
    for start, end, direction in ((pair.from_table, pair.to_table, "to_parent"),
                                  (pair.to_table, pair.from_table, "to_child")):
        keeping = [p for p in pair.paths
                   if all(step.direction == direction or step.relationship in one_to_one for step in p.steps)]
        shortest = [p for p in keeping if p.length == min(q.length for q in keeping)] if keeping else []
        if len(shortest) > 1:
            out.append((start, end, shortest))
    return out


def one_to_one_ids(ev: Evidence) -> frozenset[str]:
    return frozenset(r.id for r in ev.relationships.relationships if r.cardinality == "one_to_one")


def join_paths(ev: Evidence, s: EntropySettings) -> list[EntropyObject]:
    r = s.relationships
    out = []
    one_to_one = one_to_one_ids(ev)
    for pair in ev.schema.join_paths:
        for start, end, shortest in competing_paths(pair, one_to_one):
            routes = [" / ".join(step.relationship for step in p.steps) for p in shortest[:3]]
            out.append(finding(
                start, None, "join_path", "ambiguous_join", r.ambiguous_path_score,
                f"{start} joins {end} along {len(shortest)} equally short paths ({'; '.join(routes)}): each "
                "gives different rows",
                {"pair": [start, end], "paths": pair.path_count, "shortest_paths": len(shortest)},
                (fix(f"declare the preferred join path between {start} and {end}", 1.0),),
                target_kind="table", target=start,
            ))
    if len(ev.tables) > 1 and ev.relationships.relationships:  # with no join at all, none is missing
        for table in ev.schema.isolated_tables:
            out.append(finding(
                table, None, "join_path", "isolated_table", r.isolated_table_score,
                f"no relationship connects {table} to the other tables: any join to it must be guessed",
                {"isolated": True},
                (fix(f"declare how {table} joins (for instance a composite key of code and date)", 1.0),),
                target_kind="table", target=table,
            ))
    return out


# --- value ---------------------------------------------------------------------------------


def category_consistency(ev: Evidence, s: EntropySettings) -> list[EntropyObject]:
    c = s.categories
    out = []
    for table, q in ev.quality.items():
        for f in q.findings:
            if f.kind not in ("case_variants", "whitespace") or not f.column:
                continue
            annotation = ev.annotation(table, f.column)
            if annotation is not None and annotation.role in ("attribute", "identifier"):
                continue  # free text and one-off references (a comment, an address) are not grouped by value
            profile = ev.profiles.get(table, {}).get(f.column)
            non_null = profile.non_null_count if profile else 0
            odd = f.evidence.get("other_spellings", f.evidence.get("count", 0)) or 0
            share = odd / non_null if non_null else 0.0
            score = c.variant_any_score + (1 - c.variant_any_score) * ramp(share, 0, c.variant_full)
            examples = ", ".join(repr(e.value) for e in f.examples[:3])
            what = ("spelled in several cases or spacings" if f.kind == "case_variants"
                    else "padded with leading or trailing spaces")
            out.append(finding(
                table, f.column, "category_consistency", f.kind, score,
                f"{odd} values ({pct(share)}) are {what}" + (f", e.g. {examples}" if examples else "")
                + ": GROUP BY and equality filters split one category into several",
                {**f.evidence, "variant_share": share},
                (fix("normalise with TRIM/LOWER in queries, or clean the source values", 1.0),),
            ))
    return out


def _benford_score(e: Mapping[str, Any], b: Any) -> tuple[float, str]:
    """The worse of the two readings of a column's first digits, with what it says: the MAD past
    Nigrini's nonconformity cut, or a share of uniform (invented, replaced) leading digits that
    chance at n does not explain, on values spread over enough orders of magnitude for the law
    to hold whatever their distribution's shape."""
    mad = float(e["mad"])
    by_mad = ramp(mad, b.mad_start, b.mad_full)
    share, z, orders = (float(e.get(k) or 0.0) for k in ("uniform_share", "uniform_share_z", "orders_of_magnitude"))
    by_share = 0.0
    if z >= b.uniform_min_z and orders >= b.uniform_min_orders:
        by_share = ramp(share, b.uniform_share_start, b.uniform_share_full)
    if by_share > by_mad:
        return by_share, (f"about {share:.0%} of the leading digits look uniformly chosen (z {z:.1f} "
                          f"over {e.get('n', '?')} values spanning {orders:.1f} orders of magnitude, "
                          f"MAD {mad:.3f}): values may have been invented or replaced")
    return by_mad, (f"first digits depart from Benford's law (mean absolute deviation {mad:.3f} over "
                    f"{e.get('n', '?')} values): values may be rounded, capped, invented or replaced")


def benford(ev: Evidence, s: EntropySettings) -> list[EntropyObject]:
    """Benford's first-digit test on the columns it ran on (statistical_quality's checks), for
    amounts that add up: not rates, prices or codes."""
    out = []
    for table, q in ev.quality.items():
        for check in q.checks:
            if check.test != "benford" or not check.applicable or check.evidence.get("mad") is None:
                continue
            annotation = ev.annotation(table, check.column)
            if annotation is not None and (annotation.role != "measure" or annotation.aggregation != "additive"):
                continue
            score, summary = _benford_score(check.evidence, s.benford)
            if score <= 0:
                continue
            keys = ("mad", "n", "chi_square", "conformity", "uniform_share", "uniform_share_z", "orders_of_magnitude")
            out.append(finding(
                table, check.column, "benford", "benford_deviation", score, summary,
                {k: check.evidence[k] for k in keys if k in check.evidence},
                (fix("check how these amounts were produced (estimates, rounding, manual entry)", 0.5, "high"),),
                confidence=0.7,
            ))
    return out


def _drift_score(pair: DriftPair, t: Any) -> tuple[float, float]:
    """A drifting pair's score and confidence: its PSI on the ramp, scaled by how many rows the
    smaller of its two periods has (a PSI over a handful of rows is mostly noise)."""
    confidence = min(1.0, min(pair.rows_start, pair.rows_end) / t.min_period_rows)
    return ramp(pair.psi, t.psi_start, t.psi_full) * confidence, confidence


def temporal_drift(ev: Evidence, s: EntropySettings) -> list[EntropyObject]:
    """Distribution drift of measures over each time axis (level shifts: entropy.shifts). A column the
    temporal phase found to be a function of the date (a calendar part, a sequence number: it
    changes with time by definition) carries no drift. Of a column's drifting period pairs the one
    that scores highest counts, not the largest raw PSI, which a small edge period can hold."""
    t = s.temporal
    out = []
    for table, profiles in ev.temporal.items():
        for date_column in (*profiles.columns, *getattr(profiles, "axes", ())):
            for drift in date_column.drift:
                if not drift.found or not drift.drifting or getattr(drift, "function_of", None):
                    continue
                worst = max(drift.drifting, key=lambda d: (_drift_score(d, t)[0], d.psi, d.start))
                score, confidence = _drift_score(worst, t)
                out.append(finding(
                    table, drift.column, "temporal_drift", "distribution_drift", score,
                    f"its distribution changes between {worst.start} and {worst.end} (PSI {worst.psi:.2f}, "
                    f"{worst.rows_start} vs {worst.rows_end} rows, by {date_column.name}): comparisons across "
                    "that date mix two regimes",
                    {"psi": worst.psi, "start": worst.start, "end": worst.end, "rows_start": worst.rows_start,
                     "rows_end": worst.rows_end, "by": date_column.name, "drifting_pairs": len(drift.drifting)},
                    (fix(f"compare periods before and after {worst.end} separately, or find what changed", 0.5,
                         "medium"),),
                    confidence=confidence,
                ))
    return out
