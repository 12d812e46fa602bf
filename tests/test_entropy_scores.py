"""Scores a domain expert would sign, on small tables whose answers are known by construction:
NULLs by design against NULLs nobody explained, coverage gaps, optional references, placeholders
with and without evidence, extremes that stand apart against tails and zero-inflated counts,
exact duplicate rows, the annotation dimensions that never block, and drift that a small edge
period must not hide."""

from __future__ import annotations

import dataclasses
import random
from types import SimpleNamespace

import duckdb
import pytest

from phases.artifacts.entropy_scores import EntropyObject
from phases.artifacts.temporal_profiles import DriftPair
from phases.entropy.aggregate import aggregate, score_column
from phases.entropy.base import finding
from phases.entropy.extremes import outliers
from phases.entropy.measured import likely_orphans, relationship_quality, temporal_drift
from phases.entropy.missing import duplicate_rows, nulls
from phases.entropy.settings import EntropySettings
from tests.entropy_support import measure, settings
from tests.test_entropy import annotated, annotation, only
from tests.test_topology import rel

ROWS = 300


def readings_csv() -> str:
    rng = random.Random(11)
    lines = ["station,status,flag,year,level,temp,note,depth,sparse,wind,visits,gust,grade,score,pick1,pick2"]
    for i in range(ROWS):
        status = "off" if i % 5 == 0 else "ok"
        flag = 1 if i % 10 == 3 else 0
        year = 2000 + i // 30
        level = "" if status == "off" else f"{10 + i % 17}.5"  # NULL exactly where the station is off
        temp = "" if i % 47 == 5 else f"{15 + (i * 7) % 11}.0"  # a few NULLs nothing explains
        note = "" if flag else f"note {i}"  # NULL exactly where the indicator is 1
        depth = "" if year < 2004 else str(100 + i % 13)  # not recorded before 2004
        sparse = "x" if i % 50 == 7 else ""  # 98% NULL: no category explains that by chance
        wind = "1048" if i == 150 else str(round(rng.gauss(45, 12)))  # one reading no storm can have
        visits = str(0 if i % 5 != 1 else 1 + (i // 5) % 5)  # zero-inflated count: 0 on 80% of days, 1..5 else
        gust = str(round(rng.expovariate(1 / 20), 1))  # a smooth long tail
        grade = "" if i % 37 == 2 else str(1 + i % 9)  # missing together with score, on scattered rows
        score = "" if i % 37 == 2 else f"{50 + i % 40}.5"
        pick1 = "" if i % 5 == 4 else f"P{i % 7}"  # a list spread over columns: the second pick is set
        pick2 = f"P{(i + 3) % 7}" if i % 5 in (0, 1) else ""  # only where the first one is
        lines.append(f"S{i % 3},{status},{flag},{year},{level},{temp},{note},{depth},{sparse},{wind},{visits},{gust},"
                     f"{grade},{score},{pick1},{pick2}")
    lines.append(lines[-1])  # an exact duplicate of the last row
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    return measure(tmp_path_factory.mktemp("scores"), {"readings": readings_csv()})


@pytest.fixture(scope="module")
def found(measured):
    ev, typed = measured
    with duckdb.connect() as con:
        return {o.target: o for o in nulls(ev, settings(), typed, con) if o.detector == "null_ratio"}


@pytest.fixture
def s() -> EntropySettings:
    return settings()


def weighted(o: EntropyObject, s: EntropySettings) -> float:
    return s.weights[o.dimension] * o.score  # type: ignore[index]


# --- NULLs -----------------------------------------------------------------------------------


def test_a_few_nulls_nothing_explains_are_worth_an_investigate_but_never_block(found, s):
    temp = found["readings.temp"]
    assert temp.evidence["null_count"] == sum(1 for i in range(ROWS) if i % 47 == 5)  # the duplicated row has one
    assert s.readiness.investigate <= weighted(temp, s) < s.readiness.blocked
    assert "no column that explains them" in temp.summary
    full = dataclasses.replace(temp, score=s.nulls.max_score)
    assert score_column("readings", "temp", [full], s).readiness == "investigate"


@pytest.mark.parametrize(("column", "by"), [("readings.level", "status"), ("readings.note", "flag")])
def test_nulls_a_category_or_an_indicator_decides_are_by_design(found, s, column, by):
    o = found[column]
    assert o.evidence["explained_by"] == by and o.evidence["gain"] == 1.0
    assert weighted(o, s) < s.readiness.investigate


def test_nulls_at_one_end_of_the_years_are_a_coverage_note_stating_the_period(found, s):
    depth = found["readings.depth"]
    assert (depth.evidence["axis"], depth.evidence["first_recorded"], depth.evidence["before"]) == ("year", "2004", 120)
    assert "120 before 2004" in depth.summary and depth.evidence["inside"] == 0
    assert weighted(depth, s) < s.readiness.investigate  # the context states the period: a note


def test_a_further_slot_of_a_list_is_null_where_the_list_was_shorter(found, s):
    pick2 = found["readings.pick2"]
    assert pick2.evidence["slot_after"] == "pick1" and weighted(pick2, s) < s.readiness.investigate
    assert "slot_after" not in found["readings.pick1"].evidence


def test_values_missing_together_do_not_explain_each_other(found, s):
    score = found["readings.score"]
    assert "explained_by" not in score.evidence  # NULL where the grade is NULL too: both are gaps
    assert weighted(score, s) >= s.readiness.investigate


def test_a_column_that_is_almost_all_null_is_not_explained_by_chance(found, s):
    sparse = found["readings.sparse"]
    assert "explained_by" not in sparse.evidence  # any category 'predicts' NULL on 98% of rows: lambda 0
    assert weighted(sparse, s) >= s.readiness.investigate


def test_references_an_optional_relation_the_roots_of_a_hierarchy_and_gaps_in_a_reference(measured, s):
    ev, typed = measured
    relations = (rel("readings", "stations", "level"), rel("readings", "readings", "note"),
                 rel("readings", "visits_log", "temp"))
    refs = dataclasses.replace(ev.relationships, relationships=relations)
    profiles = {t: {c: p for c, p in cols.items() if c != "status" and c != "flag"} for t, cols in ev.profiles.items()}
    with duckdb.connect() as con:  # without the categories that explain them, by their references alone
        got = {o.target: o for o in nulls(dataclasses.replace(ev, relationships=refs, profiles=profiles), s, typed, con)
               if o.detector == "null_ratio"}
    level, note, temp = got["readings.level"], got["readings.note"], got["readings.temp"]
    assert level.evidence["optional_reference"] and "optional reference" in level.summary  # NULL on 20% of rows
    assert note.evidence["optional_reference"] and "roots of the hierarchy" in note.summary
    assert weighted(level, s) < s.readiness.investigate and weighted(note, s) < s.readiness.investigate
    assert not temp.evidence["optional_reference"] and "inner join silently drops" in temp.summary
    assert weighted(temp, s) >= s.readiness.investigate  # 2% of a reference set everywhere else: gaps


@pytest.mark.parametrize(("fields", "harmless"), [
    (dict(role="measure", aggregation="non_additive"), True),  # a reading that is averaged: AVG skips, rightly
    (dict(role="attribute"), True),
    (dict(role="measure", aggregation="additive"), False),  # SUM silently covers the recorded rows only
    (dict(role="measure", aggregation="point_in_time"), False),  # summed across entities at one time
    (dict(role="measure", aggregation=None), False),  # counts that may be summed: undecided
    (dict(role="identifier"), False),
    (dict(role="dimension"), True),  # a group of their own in GROUP BY: the breakdown still adds up
    (dict(role="attribute", references="stations.id"), False),
])
def test_unexplained_nulls_are_a_note_unless_a_join_or_a_sum_needs_the_value(measured, s, fields, harmless):
    ev, typed = measured
    with duckdb.connect() as con:
        got = only(nulls(annotated(ev, annotation("readings", "temp", **fields)), s, typed, con), "readings.temp",
                   "null_ratio")
    assert got.evidence.get("harmless", False) is harmless
    assert (weighted(got, s) < s.readiness.investigate) is harmless
    assert got.evidence["null_count"] == sum(1 for i in range(ROWS) if i % 47 == 5)  # the count is always told


def test_an_empty_column_is_never_a_note(tmp_path, s):
    ev, typed = measure(tmp_path, {"t": "id,reading\n" + "".join(f"{i},\n" for i in range(50))})
    ev = annotated(ev, annotation("t", "reading", role="measure", aggregation="non_additive"))
    with duckdb.connect() as con:
        got = only(nulls(ev, s, typed, con), "t.reading", "null_ratio")
    assert "harmless" not in got.evidence and weighted(got, s) >= s.readiness.investigate


def test_nulls_in_a_key_column_are_never_a_note(measured, s):
    ev, typed = measured
    keyed = dataclasses.replace(ev.relationships, primary_keys={"readings": (("temp", "station"),)})
    ev = annotated(dataclasses.replace(ev, relationships=keyed), annotation("readings", "temp", role="attribute"))
    with duckdb.connect() as con:
        got = only(nulls(ev, s, typed, con), "readings.temp", "null_ratio")
    assert "harmless" not in got.evidence and weighted(got, s) >= s.readiness.investigate


# --- outliers --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def extremes(measured):
    ev, typed = measured
    with duckdb.connect() as con:
        return {o.target: o for o in outliers(ev, settings(), typed, con)}


def test_one_value_far_from_all_others_is_an_extreme_even_in_an_averaged_reading(measured, s):
    ev, typed = measured
    ev = annotated(ev, annotation("readings", "wind", role="measure", aggregation="non_additive"))
    with duckdb.connect() as con:
        wind = only(outliers(ev, s, typed, con), "readings.wind")
    assert wind.evidence["detached"] == 1 and wind.evidence["gap_iqr"] > 5  # IQRs of log10(wind): 1048 is 13x the rest
    assert weighted(wind, s) >= s.readiness.investigate and "1048" in wind.summary


def test_a_smooth_tail_and_a_zero_inflated_count_are_data(extremes, s):
    assert "readings.visits" not in extremes  # the rare 1..5 visits are the count's values
    gust = extremes.get("readings.gust")
    assert gust is None or (gust.evidence["detached"] == 0 and weighted(gust, s) < s.readiness.investigate)


# --- duplicates, tables ----------------------------------------------------------------------


def test_exact_duplicate_rows_are_a_table_finding_that_reaches_the_tables_reasons(measured, s):
    ev, _ = measured
    (dup,) = duplicate_rows(ev, s)
    assert (dup.target_kind, dup.target, dup.evidence["duplicate_rows"]) == ("table", "readings", 1)
    assert weighted(dup, s) >= s.readiness.investigate and "duplicate" in dup.summary
    scores = aggregate("s", [("readings", "id")], ("readings",), [dup], s)
    assert scores.tables[0].readiness == "investigate" and "duplicate" in scores.tables[0].reasons[0]


def test_a_table_is_as_bad_as_its_worst_part_not_the_sum_of_its_columns(s):
    column = finding("t", "c", "nulls", "x", 0.5, "nulls", {})
    table = finding("t", None, "duplicate_rows", "x", 0.5, "dups", {})
    scores = aggregate("s", [("t", "c")], ("t",), [column, table], s)
    assert scores.tables[0].score == pytest.approx(max(s.weights["nulls"], s.weights["duplicate_rows"]) * 0.5,
                                                   abs=1e-4)
    assert scores.readiness == "investigate"


# --- annotation dimensions -------------------------------------------------------------------


def test_an_unclear_name_never_blocks_a_column_and_never_pushes_another_finding_to_blocked(s):
    name = finding("t", "c", "business_meaning", "unclear_name", 1.0, "unclear", {})
    role = finding("t", "c", "time_role", "unclear_time_role", 1.0, "role", {})
    assert score_column("t", "c", [name, role], s).readiness == "investigate"
    nulls_ = finding("t", "c", "nulls", "null_ratio", s.nulls.max_score, "nulls", {})
    both = score_column("t", "c", [nulls_, name], s)
    assert both.readiness == "investigate" and both.score < s.readiness.blocked
    severe = finding("t", "c", "type_fidelity", "cast_failures", 1.0, "junk", {})
    assert score_column("t", "c", [severe, name], s).readiness == "blocked"


def test_cautions_together_never_block_but_add_to_a_finding_that_can(s):
    nulls_ = finding("t", "c", "nulls", "null_ratio", s.nulls.max_score, "nulls", {})
    digits = finding("t", "c", "benford", "benford_deviation", 1.0, "digits", {})
    drift = finding("t", "c", "temporal_drift", "distribution_drift", 1.0, "drift", {})
    assert score_column("t", "c", [nulls_, digits, drift], s).readiness == "investigate"
    orphans = finding("t", "c", "relationship_quality", "orphans", 0.6, "orphans", {})
    alone = score_column("t", "c", [orphans], s)
    assert alone.readiness == "investigate"
    assert score_column("t", "c", [orphans, nulls_], s).score > alone.score


# --- drift and likely references -------------------------------------------------------------


def test_the_drifting_pair_that_scores_highest_counts_not_a_small_edge_periods_larger_psi(tmp_path, s):
    rng = random.Random(5)
    rows = [f"2024-{m:02d}-{1 + d % 28:02d},{round(rng.uniform(90, 110) * (1.5 if m >= 4 else 1), 2)}"
            for m in range(1, 7) for d in range(60)]
    ev, _ = measure(tmp_path, {"sales": "day,amount\n" + "\n".join(rows) + "\n"})
    profiles = ev.temporal["sales"]
    column = next(c for c in profiles.columns if c.drift)
    drift = column.drift[0]
    big = DriftPair(start="2024-03-01", end="2024-04-01", rows_start=300, rows_end=300, psi=1.0, p_value=0.0)
    edge = dataclasses.replace(big, start="2024-06-01", end="2024-07-01", rows_start=300, rows_end=5, psi=9.0)
    changed = dataclasses.replace(column, drift=(dataclasses.replace(drift, found=True, drifting=(edge, big)),))
    ev = dataclasses.replace(ev, temporal={"sales": dataclasses.replace(profiles, columns=(changed,))})
    o = only([x for x in temporal_drift(ev, s) if x.detector == "distribution_drift"], "sales.amount")
    assert (o.evidence["end"], o.evidence["psi"]) == ("2024-04-01", 1.0)


def test_orphans_of_a_likely_reference_are_reported_as_rows_an_inner_join_drops(measured, s):
    ev, _ = measured
    likely = dataclasses.replace(rel("readings", "stations", "station"), orphan_rows=12, orphan_values=2,
                                 confidence=0.6, child_rows=301)
    ev = dataclasses.replace(ev, relationships=SimpleNamespace(relationships=(), likely=(likely,)))
    (o,) = likely_orphans(ev, s)
    assert (o.target, o.evidence["orphan_rows"], o.evidence["likely"]) == (likely.id, 12, True)
    assert weighted(o, s) >= s.readiness.investigate and "not verified" in o.summary


@pytest.mark.parametrize(("share", "inside", "detector", "readiness"), [
    (0.56, 0.995, "coverage", "investigate"), (0.56, 0.9, "orphans", "blocked"), (0.97, 1.0, "orphans", "blocked")])
def test_orphans_beyond_the_parents_range_are_a_coverage_difference(measured, s, share, inside, detector, readiness):
    """44% of (country, year) rows have no population row: all before the population's first year
    (in_span_share 0.56). Inside its range nearly every key matches, so the parent starts later:
    investigate, not blocked. With a tenth of the keys inside the range missing, keys are broken;
    so are a few strays beyond the range (3%: ids past the last customer)."""
    ev, _ = measured
    coverage = dataclasses.replace(rel("readings", "stations", "station"), child_rows=7240, orphan_rows=3203,
                                   orphan_values=3203, evidence={"in_span_share": share, "in_span_containment": inside})
    ev = dataclasses.replace(ev, relationships=SimpleNamespace(relationships=(coverage,), likely=()))
    (o,) = [x for x in relationship_quality(ev, s) if x.detector in ("coverage", "orphans")]
    assert o.detector == detector and o.evidence["orphan_rows"] == 3203
    assert score_column("readings", "station", [o], s).readiness == readiness


def test_more_stray_values_never_score_less_than_one(tmp_path, s):
    """A unit error on 1 row is a detached extreme; on 5% of the rows it is a group of its own,
    which in a summed amount counts by what it adds to the total: heavier corruption, no less."""
    rng = random.Random(3)
    base = [round(rng.gauss(100, 15), 2) for _ in range(400)]
    few = [v * 1000 if i == 7 else v for i, v in enumerate(base)]
    many = [v * 1000 if i % 20 == 7 else v for i, v in enumerate(base)]
    csv = "few,many\n" + "\n".join(f"{a},{b}" for a, b in zip(few, many, strict=True)) + "\n"
    ev, typed = measure(tmp_path, {"t": csv})
    with duckdb.connect() as con:
        found = {o.target: o for o in outliers(ev, s, typed, con)}
    assert found["t.few"].evidence["detached"] == 1 and found["t.many"].evidence["detached"] == 20
    assert s.readiness.investigate <= weighted(found["t.few"], s) <= weighted(found["t.many"], s)
