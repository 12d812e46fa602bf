"""The statistical_quality phase: Benford's law, outliers, sentinels and the other value-level
findings on small tables whose answers are known by construction; the reader; the adapter."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from pathlib import Path
from statistics import NormalDist
from typing import Any

import duckdb
import pytest

from phases.artifacts.quality_findings import QUALITY_FINDINGS, QualityFindings
from phases.core.config import read_yaml
from phases.core.manifest import Artifact, file_sha256, write_manifest
from phases.core.records import dump_json
from phases.profile.statistical_quality import (
    QualitySettings,
    _token_histograms,
    _value_measure,
    find_quality_findings,
    find_quality_issues,
    grouped_text_measures,
)
from phases.profile.statistics import StatisticsSettings, TypeInfo, profile_columns, profile_table
from phases.shared.benford import BENFORD_EXPECTED, benford_test, chi_square_sf, first_digit_sql
from phases.shared.quality_base import Aggregates, sql_number
from tests.conftest import phase_context
from tests.test_statistics import make_table, typing_manifest  # shared table builders

REPO = Path(__file__).resolve().parent.parent
SETTINGS = QualitySettings()


def quality(
    con: duckdb.DuckDBPyConnection, sql_type: str, values: list[Any], semantic: str | None = None,
    units: tuple[tuple[str, int], ...] = (), **settings: Any,
) -> QualityFindings:
    """Profile one column `x` and run every quality check on it."""
    make_table(con, {"x": (sql_type, values)})
    types = {"x": TypeInfo(type=semantic, units=units)} if semantic else {}
    profiles = profile_columns(con, "t", types, StatisticsSettings())
    return find_quality_findings(con, "t", profiles.columns, QualitySettings(**settings))


def check(report: QualityFindings, test: str):
    return next(c for c in report.checks if c.test == test)


def kinds(report: QualityFindings) -> list[str]:
    return [f.kind for f in report.findings]


# --- first significant digit -----------------------------------------------------------------


@pytest.mark.parametrize(("value", "digit"), [
    (0.0042, 4), (1000, 1), (0.1, 1), (9.99, 9), (-7.5, 7), (-0.00056, 5), (0.3, 3), (0.29, 2), (1e-7, 1),
    (999.9999, 9), (123456789012345, 1), (5e15, 5), (2.5e-300, 2), (0, None), (None, None),
])
def test_first_significant_digit(con, value, digit):
    assert con.execute(f"SELECT {first_digit_sql('x')} FROM (SELECT ?::DOUBLE AS x)", [value]).fetchone()[0] == digit


def test_first_digit_is_exact_at_every_power_of_ten_times_a_digit(con):
    values = [float(f"{d}e{k}") for d in range(1, 10) for k in range(-12, 16)]
    make_table(con, {"x": ("DOUBLE", values)})
    got = [r[0] for r in con.execute(f"SELECT {first_digit_sql('x')} FROM t ORDER BY _row_id").fetchall()]
    assert got == [d for d in range(1, 10) for _ in range(-12, 16)]


def test_first_digit_of_integers_above_double_precision(con):
    sql = f"SELECT {first_digit_sql('x')} FROM (SELECT ?::BIGINT AS x)"
    assert con.execute(sql, [9007199254740993]).fetchone()[0] == 9


# --- Benford's law ---------------------------------------------------------------------------


@pytest.mark.parametrize(("x", "p"), [(0.0, 1.0), (15.507313, 0.05), (20.090235, 0.01), (26.124482, 0.001)])
def test_chi_square_survival_function_with_8_degrees_of_freedom(x, p):
    assert chi_square_sf(x, 8) == pytest.approx(p, rel=1e-5)


def test_chi_square_closed_form_needs_an_even_df():
    with pytest.raises(ValueError, match="even df"):
        chi_square_sf(3.0, 7)


def test_exact_benford_counts_conform_closely():
    result = benford_test({d: round(100_000 * p) for d, p in BENFORD_EXPECTED.items()})
    assert (result.conformity, result.mad < 1e-5, result.p_value > 0.99) == ("close", True, True)


@pytest.mark.parametrize(("shift", "conformity"), [(0.0, "close"), (0.008, "acceptable"), (0.0135, "marginal"),
                                                    (0.03, "nonconformity")])
def test_nigrini_mad_cut_offs(shift, conformity):
    # move `shift` of the share from digit 1 to digit 9: MAD = 2·shift / 9
    shares = {d: p for d, p in BENFORD_EXPECTED.items()}
    shares[1] -= shift * 9 / 2
    shares[9] += shift * 9 / 2
    result = benford_test({d: round(1_000_000 * s) for d, s in shares.items()})
    assert result.conformity == conformity


@pytest.mark.parametrize(("uniform", "z_above"), [(0.0, None), (0.3, 10.0), (-0.2, None)])
def test_the_uniform_digit_share_is_the_mixture_weight_with_its_chance_z(uniform, z_above):
    # (1 - w) Benford + w uniform; a negative w is steeper than Benford (too many low digits)
    counts = {d: round(100_000 * ((1 - uniform) * p + uniform / 9)) for d, p in BENFORD_EXPECTED.items()}
    result = benford_test(counts)
    assert result.uniform_share == pytest.approx(uniform, abs=1e-3)
    assert result.uniform_share_z > z_above if z_above is not None else result.uniform_share_z < 3


def log_uniform(n: int, decades: float = 5) -> list[float]:
    """n values evenly spread in log10 over `decades` orders of magnitude (conforms to Benford)."""
    return [10 ** (decades * (i + 0.5) / n) for i in range(n)]


def test_benford_conforming_amounts_give_a_close_check_and_no_finding(con):
    report = quality(con, "DOUBLE", log_uniform(2000), "currency")
    benford = check(report, "benford")
    assert (benford.applicable, benford.evidence["conformity"], benford.evidence["n"]) == (True, "close", 2000)
    assert "benford_nonconformity" not in kinds(report)


def test_amounts_that_all_start_with_5_are_a_nonconformity_finding(con):
    values = [(5 + 0.9 * i / 2000) * 10 ** (i % 5) for i in range(2000)]
    report = quality(con, "DOUBLE", values, "currency")
    finding = next(f for f in report.findings if f.kind == "benford_nonconformity")
    assert finding.severity == "warning"
    assert finding.evidence["observed"]["5"] == 1.0
    assert finding.evidence["p_value"] == 0.0


@pytest.mark.parametrize(("sql_type", "semantic", "values", "reason"), [
    ("DOUBLE", "currency", log_uniform(100), "only 100 non-zero values"),
    ("DOUBLE", "decimal", [100 + 899 * (i / 1000) ** 3 for i in range(1000)], "orders of magnitude"),
    ("BIGINT", "integer", list(range(1, 2001)), "identifier"),
    ("BIGINT", "integer", [1000 + (i * 37) % 900 for i in range(2000)], "code: every value has 4 digits"),
    ("BIGINT", "integer", [1 + i % 500 for i in range(2000)], "assigned numbers"),
    ("DOUBLE", "percent", log_uniform(2000), "percentages"),
    ("DOUBLE", "currency", [float(i % 10) * 10 ** (i % 4) for i in range(2000)], "distinct values"),
])
def test_benford_reports_why_it_does_not_apply(con, sql_type, semantic, values, reason):
    benford = check(quality(con, sql_type, values, semantic), "benford")
    assert not benford.applicable
    assert reason in benford.reason


# --- outliers --------------------------------------------------------------------------------


def normal(n: int = 100, mean: float = 50.0, sd: float = 10.0) -> list[float]:
    """A clean normal sample: the n quantiles at (i + 0.5) / n (largest |z| 2.58 for n = 100)."""
    return [mean + sd * NormalDist().inv_cdf((i + 0.5) / n) for i in range(n)]


@pytest.mark.parametrize("test", ["outliers_iqr", "outliers_modified_z"])
def test_clean_normal_data_has_no_outliers(con, test):
    report = quality(con, "DOUBLE", normal(), "decimal")
    assert (check(report, test).applicable, check(report, test).evidence["count"]) == (True, 0)
    assert test not in kinds(report)


@pytest.mark.parametrize("test", ["outliers_iqr", "outliers_modified_z"])
def test_known_outliers_are_found_most_extreme_first(con, test):
    report = quality(con, "DOUBLE", normal() + [500.0, -300.0], "decimal")
    finding = next(f for f in report.findings if f.kind == test)
    assert (finding.evidence["count"], finding.severity) == (2, "warning")  # 2 of 102 is above warning_ratio
    assert [(e.row_id, e.value) for e in finding.examples] == [(101, 500.0), (102, -300.0)]


@pytest.mark.parametrize("test", ["outliers_iqr", "outliers_modified_z"])
def test_outlier_methods_do_not_apply_to_an_id_column(con, test):
    outliers = check(quality(con, "BIGINT", list(range(1, 301)) + [10_000], "integer"), test)
    assert not outliers.applicable and outliers.reason.startswith("identifier")


def test_modified_z_falls_back_to_the_mean_absolute_deviation_when_mad_is_zero(con):
    values = [0.0] * 60 + [float(i) for i in range(1, 41)] + [1000.0]
    report = quality(con, "DOUBLE", values, "decimal", outliers={"log_scale_min_orders": 0})  # linear scale
    modz = check(report, "outliers_modified_z")
    assert (modz.evidence["mad"], modz.evidence["spread"]) == (0.0, "mean_absolute_deviation")
    finding = next(f for f in report.findings if f.kind == "outliers_modified_z")
    assert finding.examples[0].value == 1000.0


@pytest.mark.parametrize("test", ["outliers_iqr", "outliers_modified_z"])
def test_positive_amounts_spanning_decades_are_judged_on_the_log_scale(con, test):
    clean = check(quality(con, "DOUBLE", log_uniform(2000), "currency"), test)
    assert (clean.evidence["scale"], clean.evidence["count"]) == ("log10_magnitude", 0)
    linear = check(quality(con, "DOUBLE", log_uniform(2000), "currency", outliers={"log_scale_min_orders": 0}), test)
    assert (linear.evidence["scale"], linear.evidence["count"] > 100) == ("linear", True)


@pytest.mark.parametrize("test", ["outliers_iqr", "outliers_modified_z"])
def test_log_scale_fences_are_in_the_columns_units_and_find_values_out_of_line(con, test):
    report = quality(con, "DOUBLE", log_uniform(1000, decades=3) + [1e6, 1e-3], "currency")
    finding = next(f for f in report.findings if f.kind == test)
    assert sorted(e.value for e in finding.examples) == [1e-3, 1e6]  # each ~4.5 decades from the median
    assert 1e-3 < finding.evidence["lower_fence"] < 1 and 1000 < finding.evidence["upper_fence"] < 1e6


def test_signed_and_zero_inflated_amounts_are_judged_on_their_non_zero_magnitudes(con):
    magnitudes = log_uniform(1000, decades=4)
    values = [m if i % 2 else -m for i, m in enumerate(magnitudes)] + [0.0] * 800 + [-1e9]
    report = quality(con, "DOUBLE", values, "currency")
    for test in ("outliers_iqr", "outliers_modified_z"):
        outliers = check(report, test)
        assert (outliers.evidence["scale"], outliers.evidence["count"]) == ("log10_magnitude", 1)
        assert next(f for f in report.findings if f.kind == test).examples[0].value == -1e9


def test_an_indicator_has_no_outliers(con):
    report = quality(con, "BIGINT", [0] * 95 + [1] * 5, "integer")
    assert all(not check(report, t).applicable and "indicator" in check(report, t).reason
               for t in ("outliers_iqr", "outliers_modified_z", "outliers_far"))


def test_a_value_far_beyond_the_far_fence_and_alone_is_detached(con):
    report = quality(con, "DOUBLE", normal(400) + [1048.0], "decimal")
    far = next(f for f in report.findings if f.kind == "outliers_far")
    assert (far.evidence["count"], far.examples[0].value, far.evidence["detached_high"]) == (1, 1048.0, 1)
    # a positive column is judged by ratios: log10(1048 / 76) over the IQR of log10(x), about 0.12
    assert far.evidence["detachment_scale"] == "log10_magnitude" and far.evidence["gap_high"] > 5


def test_the_last_step_of_a_skewed_positive_tail_is_not_detached(con):
    skewed = [round(10 ** NormalDist(1.0, 0.35).inv_cdf((i + 0.5) / 2000)) for i in range(2000)] + [680]
    far = next(f for f in quality(con, "BIGINT", skewed, "integer", outliers={"log_scale_min_orders": 0}).findings
               if f.kind == "outliers_far")  # 680 after a tail up to ~170: twice the largest, on a lognormal tail
    assert far.evidence["count"] > 5 and far.evidence["gap_high"] < 3  # detached_gap: 3 IQRs


def test_a_smooth_tail_past_the_far_fence_is_not_detached(con):
    tail = [-math.log(1 - (i + 0.5) / 2000) for i in range(2000)]  # exponential quantiles: ~1% past Q3 + 3 IQR
    far = next(f for f in quality(con, "DOUBLE", tail, "decimal", outliers={"log_scale_min_orders": 0}).findings
               if f.kind == "outliers_far")
    assert far.evidence["count"] > 5 and far.evidence["gap_high"] < 1.5  # the last step of a tail: about 1 IQR


def test_a_zero_inflated_count_is_judged_on_its_non_zero_values(con):
    counts = [0] * 80 + [1] * 10 + [2] * 5 + [3] * 3 + [4, 5]
    clean = quality(con, "BIGINT", counts, "integer", outliers={"log_scale_min_orders": 0})
    assert check(clean, "outliers_far").evidence["basis"] == "values other than the most frequent"
    assert "outliers_far" not in kinds(clean)  # 4 and 5 are the tail of 1, 2, 3, not errors
    broken = quality(con, "BIGINT", counts + [500], "integer", outliers={"log_scale_min_orders": 0})
    assert next(f for f in broken.findings if f.kind == "outliers_far").examples[0].value == 500


def test_on_the_log_scale_only_magnitudes_far_too_large_are_far_out(con):
    report = quality(con, "DOUBLE", log_uniform(1000, decades=3) + [1e9, 1e-6], "currency")
    far = next(f for f in report.findings if f.kind == "outliers_far")
    assert [e.value for e in far.examples] == [1e9] and far.evidence["lower_fence"] == 0


def test_iqr_does_not_apply_when_half_the_values_are_equal(con):
    iqr = check(quality(con, "DOUBLE", [5.0] * 80 + [float(i) for i in range(20)], "decimal"), "outliers_iqr")
    assert not iqr.applicable and iqr.reason.startswith("IQR is 0")


def test_outliers_need_enough_values(con):
    iqr = check(quality(con, "DOUBLE", [1.0, 2.0, 3.0, 100.0], "decimal"), "outliers_iqr")
    assert iqr.reason == "only 4 values; the test needs at least 20"


# --- sentinels -------------------------------------------------------------------------------


AGES = [18 + i % 63 for i in range(630)]  # ages 18..80, ten of each


@pytest.mark.parametrize(("values", "sentinel"), [
    (AGES + [-1] * 5, -1),  # the only negative value
    (AGES + [0] * 5, 0),  # zero far below the rest
    (AGES + [999] * 3, 999),  # not a configured sentinel: ignored
    ([1 + i % 100 for i in range(1000)] + [9999] * 3, 9999),  # far above the rest
    ([float(i) * 1.37 for i in range(1000)] + [-999.0] * 40, -999),  # spikes among unique values
])
def test_numeric_sentinels_that_stand_apart_are_found(con, values, sentinel):
    report = quality(con, "DOUBLE" if isinstance(values[0], float) else "BIGINT", values)
    found = [f.evidence["value"] for f in report.findings if f.kind == "sentinel_value"]
    assert found == ([] if sentinel == 999 else [sentinel])


@pytest.mark.parametrize("values", [
    [0.0] * 60 + [0.01 * k for k in range(1, 31)] * 2,  # discounts: zero is common, not a placeholder
    [i % 10 for i in range(1000)],  # codes 0..9: zero is adjacent to 1
    [-2, -1, 0, 1, 2] * 50,  # -1 among other negative values
    [-1, 0, 1, 2, 3, 4] * 50,  # -1 (as in 'unknown vehicle count') as often as and next to 0..4: one of them
    [0] * 900 + [1] * 100,  # a 0/1 indicator: zero is its commoner value
])
def test_legitimate_edge_values_are_not_sentinels(con, values):
    report = quality(con, "DOUBLE" if isinstance(values[0], float) else "BIGINT", values)
    assert "sentinel_value" not in kinds(report)


def test_a_sentinel_finding_keeps_the_first_rows_as_examples(con):
    report = quality(con, "BIGINT", AGES + [-1] * 7, max_examples=3)
    finding = next(f for f in report.findings if f.kind == "sentinel_value")
    assert [e.row_id for e in finding.examples] == [631, 632, 633]
    assert (finding.evidence["count"], finding.severity) == (7, "warning")


@pytest.mark.parametrize(("extra", "value"), [
    (["1900-01-01"] * 3, "1900-01-01"),  # far before the rest
    (["1970-01-01"] * 20, "1970-01-01"),  # a spike in the middle
])
def test_date_sentinels_are_found(con, extra, value):
    days = [str(dt.date(1960, 1, 1) + dt.timedelta(days=30 * k)) for k in range(400)]
    report = quality(con, "DATE", days + extra)
    assert [f.evidence["value"] for f in report.findings if f.kind == "sentinel_value"] == [value]


def test_placeholder_text_without_content_or_outside_the_values_shape_is_found(con):
    report = quality(con, "VARCHAR", ["alice", " N/A ", "bob", "Unknown", "carol", "unknown", "?"] + ["dave"] * 30)
    finding = next(f for f in report.findings if f.kind == "sentinel_value")
    # '?' has no letter, 'n/a' is shaped A/A among one-word names; 'unknown' is a word like the others
    assert finding.evidence["values"] == {"?": 1, "n/a": 1}
    assert sorted(finding.evidence["why"]) == ["?", "n/a"]
    assert [e.row_id for e in finding.examples] == [2, 7]


@pytest.mark.parametrize("values", [
    ["DELIVER IN PERSON", "COLLECT COD", "NONE", "TAKE BACK RETURN"] * 25,  # a real instruction
    ["Good", "High Risk", "Low Risk", "Unknown"] * 25,  # a real band of a rating
    ["0-500", "501-1000", ">10000", "Unknown"] * 25,  # one of several shapes: no single domain
])
def test_a_placeholder_word_that_is_one_category_among_others_is_data(con, values):
    assert "sentinel_value" not in kinds(quality(con, "VARCHAR", values))


def test_a_placeholder_word_among_codes_of_one_shape_is_found(con):
    report = quality(con, "VARCHAR", [f"AB-{100 + i}" for i in range(60)] + ["unknown"] * 3)
    assert next(f for f in report.findings if f.kind == "sentinel_value").evidence["values"] == {"unknown": 3}


def test_a_placeholder_word_that_is_the_only_value_has_nothing_to_stand_apart_from(con):
    make_table(con, {"container": ("VARCHAR", ["Unknown"] * 20), "size": ("DOUBLE", [None] * 20)})
    profiles = profile_columns(con, "t", {}, StatisticsSettings())
    assert "sentinel_value" not in kinds(find_quality_findings(con, "t", profiles.columns, SETTINGS))


def test_a_placeholder_word_whose_rows_miss_other_values_is_found(con):
    make_table(con, {"status": ("VARCHAR", ["open", "paid", "late", "TBD"] * 25),
                     "amount": ("DOUBLE", [None if i % 4 == 3 else float(i) for i in range(100)]),
                     "due": ("VARCHAR", [None if i % 4 == 3 else f"2024-01-{1 + i % 28:02d}" for i in range(100)])})
    profiles = profile_columns(con, "t", {}, StatisticsSettings())
    report = find_quality_findings(con, "t", profiles.columns, SETTINGS)
    finding = next(f for f in report.findings if f.kind == "sentinel_value" and f.column == "status")
    assert finding.evidence["values"] == {"tbd": 25} and "miss" in finding.evidence["why"]["tbd"]


def test_clean_columns_have_no_findings(con):
    make_table(con, {"n": ("DOUBLE", normal()), "s": ("VARCHAR", [f"name {i}" for i in range(100)])})
    profiles = profile_columns(con, "t", {}, StatisticsSettings())
    assert find_quality_findings(con, "t", profiles.columns, SETTINGS).findings == ()


# --- other findings --------------------------------------------------------------------------


@pytest.mark.parametrize(("values", "kind"), [
    (["x"] * 5, "constant_column"),
    (["a"] * 96 + ["b"] * 4, "near_constant_column"),
    ([None, None, None], "empty_column"),
])
def test_constant_near_constant_and_empty_columns(con, values, kind):
    assert kinds(quality(con, "VARCHAR", values)) == [kind]


@pytest.mark.parametrize("repeat", [1, 20], ids=["on rows", "on value counts"])
def test_leading_and_trailing_whitespace_is_counted_with_examples(con, repeat):
    values = ["paid", " paid", "open ", "x\u00a0", "\tz", "a b"] * repeat
    finding = next(f for f in quality(con, "VARCHAR", values).findings if f.kind == "whitespace")
    assert finding.evidence["count"] == 4 * repeat
    assert [e.row_id for e in finding.examples][:4] == [2, 3, 4, 5]


def test_text_measures_agree_on_rows_and_on_value_counts(con):
    values = ["paid", " paid", "N/A", "open ", "paid", "unknown", "?", "open"] * 15
    make_table(con, {"x": ("VARCHAR", values)})
    profile = profile_columns(con, "t", {}, StatisticsSettings()).columns[0]
    grouped = grouped_text_measures(con, "t", profile, SETTINGS)
    on_rows = Aggregates()
    _value_measure(on_rows, dataclasses.replace(profile, distinct_count=profile.non_null_count), SETTINGS)
    measured = on_rows.run(con, "t")
    measured |= _token_histograms(con, "t", [profile], measured, SETTINGS)
    assert measured.pop(("x", "tokens:count")) == 45  # N/A, unknown and ?
    assert measured == grouped


def test_case_and_spacing_variants_of_one_category(con):
    report = quality(con, "VARCHAR", ["Paid", "paid", " paid", "PAID ", "paid", "open", "open"])
    finding = next(f for f in report.findings if f.kind == "case_variants")
    assert [(e.value, e.count) for e in finding.examples] == [("paid", 2), (" paid", 1), ("PAID ", 1), ("Paid", 1)]
    assert finding.evidence == {"variants": 4, "count": 5, "ratio": round(5 / 7, 10), "other_spellings": 3}


def test_mixed_currencies_come_from_the_typing_units(con):
    report = quality(con, "DOUBLE", [1.0, 2.0, 3.0], "currency", units=(("USD", 90), ("EUR", 10)))
    finding = next(f for f in report.findings if f.kind == "mixed_units")
    assert (finding.severity, finding.evidence["units"]) == ("error", {"EUR": 10, "USD": 90})


# --- settings, reader, phase -----------------------------------------------------------------


@pytest.mark.parametrize(("value", "literal"), [
    (3, "3"), (-1.0, "-1"), (0.1, "CAST(0.1 AS DOUBLE)"), (1e-05, "CAST(1e-05 AS DOUBLE)"),
    (2.0**60, "CAST(1.152921504606847e+18 AS DOUBLE)"),
])
def test_numbers_become_exact_sql_literals(value, literal):
    assert sql_number(value) == literal


def test_the_shipped_config_file_is_valid_and_equals_the_defaults():
    assert QualitySettings(**read_yaml(REPO / "config" / "statistical_quality.yaml")) == QualitySettings()


def test_findings_read_back_equal_to_what_was_written(con, tmp_path):
    report = quality(con, "BIGINT", AGES + [-1] * 5)
    dump_json(tmp_path / "q.json", report)
    assert QUALITY_FINDINGS.load(tmp_path / "q.json") == report


def statistics_manifest(ctx_dir: Path) -> Path:
    artifacts = {name: Artifact(path=file, sha256=file_sha256(ctx_dir / file), bytes=(ctx_dir / file).stat().st_size)
                 for name, file in (("column_profiles", "column_profiles.json"),
                                    ("table_profile", "table_profile.json"))}
    return write_manifest(ctx_dir, "statistics", "src", "t", artifacts, {})


def test_the_phase_writes_identical_findings_on_every_run(con, tmp_path):
    make_table(con, {"id": ("BIGINT", list(range(1, 641))), "amount": ("DOUBLE", [float(i % 97) for i in range(640)]),
                     "status": ("VARCHAR", [" paid", "paid", "open", "Paid"] * 160)})
    typing_manifest(tmp_path, con)
    stats = phase_context(tmp_path, "statistics", ["t"], table="t", source="src")
    profile_table(stats)
    statistics_manifest(stats.out_dir)
    ctx = phase_context(tmp_path, "statistical_quality", ["t"], table="t", source="src")
    output = find_quality_issues(ctx)
    first = (ctx.out_dir / "quality_findings.json").read_bytes()
    assert find_quality_issues(ctx).summary == output.summary
    assert (ctx.out_dir / "quality_findings.json").read_bytes() == first
    assert output.summary == {"findings": 2, "by_severity": {"warning": 2}, "kinds": ["case_variants", "whitespace"]}
