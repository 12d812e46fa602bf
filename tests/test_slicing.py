"""The slicing phase on a constructed sales table whose answers are known by construction: which
columns become slice dimensions (and why the others do not, including a second view of the
region rejected through Cramér's V), exact per-slice metrics, the departing region, monthly
counts with a volume anomaly; plus settings, the typed reader, byte-identical reruns and
hostile names. The upstream phases (import to correlations) run for real through the runner;
only annotations.json is written by hand."""

from __future__ import annotations

import math
import statistics
from datetime import date
from pathlib import Path

import duckdb
import pytest

from phases.artifacts.annotations import Annotations, ColumnAnnotation, TableAnnotation
from phases.artifacts.correlations import Correlations
from phases.artifacts.slices import SLICES, Slices
from phases.core.config import parse_model, read_yaml
from phases.core.errors import ConfigError
from phases.core.records import dump_json
from phases.core.sql import quote_ident
from phases.domain.slicing import SlicingSettings, slice_facts, slice_source
from phases.profile.statistics import StatisticsSettings, TypeInfo, profile_parquet
from tests.conftest import phase_context, run_upstream, write_annotations

REPO = Path(__file__).resolve().parent.parent
REGIONS = ("north", "east", "south", "west")
CODES = {"north": "R1", "east": "R2", "south": "R3", "west": "R3"}  # south and west share a code


def sales_rows() -> list[dict[str, object]]:
    """200 sales: four regions in blocks of 50, two channels alternating. Outside the west the
    amount is 100, 102, .., 108 in turn; in the west 20 amounts are missing, 5 are 1000 and 25 are
    104. The web sells 15 a month except 40 in April; the store 20 a month, January to May."""
    rows, web, store = [], 0, 0
    for i in range(200):
        region = REGIONS[i // 50]
        j = i - 150
        amount = (None if j < 20 else 1000.0 if j < 25 else 104.0) if region == "west" else 100.0 + 2 * (i % 5)
        if i % 2 == 0:
            month = 1 if web < 15 else 2 if web < 30 else 3 if web < 45 else 4 if web < 85 else 5
            day = date(2025, 5, 31) if web == 99 else date(2025, month, 1 + web % 28)
            web += 1
        else:
            day = date(2025, store // 20 + 1, 1 + store % 28)
            store += 1
        rows.append({"id": i + 1, "region": region, "region_code": CODES[region],
                     "channel": "web" if i % 2 == 0 else "store", "currency": "USD", "ref": f"R{i % 150}",
                     "flag": "b" if i < 4 else "a", "amount": amount, "day": day.isoformat()})
    return rows


ROLES = {"id": ("key", None), "region": ("dimension", None), "region_code": ("dimension", None),
         "channel": ("dimension", None), "currency": ("dimension", "currency"), "ref": ("attribute", None),
         "flag": ("attribute", None), "amount": ("measure", "amount"), "day": ("timestamp", "transaction_date")}


def annotation(table: str, column: str, role: str, concept: str | None = None) -> ColumnAnnotation:
    return ColumnAnnotation(
        table=table, column=column, role=role, business_name=column, concept=concept,
        concept_confidence=0.9 if concept else 0.0, unit=None, unit_source=None,
        aggregation="additive" if role == "measure" else None, time_role=None, name_clarity="clear", pii=None,
        references=None, description="test", confidence=0.9, decided_by="override")


def annotate(root: Path, tables: dict[str, TableAnnotation], columns: list[ColumnAnnotation]) -> None:
    write_annotations(root, Annotations("s", ("test",), tables, tuple(columns)))


def upstream(root: Path, csvs: dict[str, str]) -> None:
    """import, typing, statistics, temporal, relationships and correlations, run for real."""
    run_upstream(root, csvs, ("import", "typing", "statistics", "temporal", "relationships", "correlations"))


def to_csv(rows: list[dict[str, object]]) -> str:
    header = list(rows[0])
    lines = [",".join(header)] + [",".join("" if r[c] is None else str(r[c]) for c in header) for r in rows]
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def sliced(tmp_path_factory) -> tuple[Path, Slices]:
    root = tmp_path_factory.mktemp("slicing")
    upstream(root, {"sales": to_csv(sales_rows())})
    annotate(root, {"sales": TableAnnotation("sales", "fact", "transaction", ("id",), "day", 200, 0.9)},
                      [annotation("sales", c, *ROLES[c]) for c in ROLES])
    ctx = phase_context(root, "slicing", ["sales"])
    slice_facts(ctx)
    return root, SLICES.load(ctx.out_dir / "slices.json")


def profile(result: Slices, column: str, value: object):
    return next(p for p in result.profiles if (p.column, p.value) == (column, value))


# --- selection --------------------------------------------------------------------------------


def test_balanced_categories_become_dimensions_and_the_rest_are_rejected_with_their_reason(sliced):
    _, result = sliced
    assert [d.column for d in result.dimensions] == ["channel", "region"]
    kinds = {r.column: r.kind for r in result.rejected}
    assert kinds == {"id": "key", "currency": "constant", "ref": "near_unique", "flag": "unbalanced",
                     "region_code": "redundant"}
    region = next(d for d in result.dimensions if d.column == "region")
    assert [(v.value, v.rows, v.share) for v in region.values] == [
        ("east", 50, 0.25), ("north", 50, 0.25), ("south", 50, 0.25), ("west", 50, 0.25)]
    assert (region.groups, region.smallest_share, region.entropy_normalized, region.rare_values) == (4, 0.25, 1.0, ())


def test_a_second_view_of_the_region_is_rejected_through_cramers_v_and_the_better_balanced_kept(sliced):
    _, result = sliced
    redundant = next(r for r in result.rejected if r.column == "region_code")
    assert redundant.redundant_with == "region"
    assert redundant.cramers_v >= 0.8
    assert "Cramér's V" in redundant.reason and "'region' is better balanced" in redundant.reason


# --- per-slice metrics ------------------------------------------------------------------------


def test_per_slice_metrics_have_the_constructed_values(sliced):
    _, result = sliced
    basis = result.tables[0].measures[0]
    # 180 values: q1 102, q3 106, IQR 4 -> fences 96 and 112 on the linear scale (p1..p99 span 1 order)
    assert (basis.outlier_scale, basis.lower_fence, basis.upper_fence) == ("linear", 96.0, 112.0)
    assert basis.benford is False and "only 180 non-zero values" in basis.benford_note
    west = profile(result, "region", "west").measures[0]
    assert (west.values, west.null_ratio, west.outlier_share) == (30, 0.4, round(5 / 30, 10))
    assert west.mean == pytest.approx((5 * 1000 + 25 * 104) / 30)
    assert (west.p05, west.p50, west.p95) == (104.0, 104.0, 1000.0)
    north = profile(result, "region", "north")
    assert (north.rows, north.share) == (50, 0.25)
    m = north.measures[0]
    assert (m.values, m.null_ratio, m.mean, m.p05, m.p50, m.p95, m.outlier_share) == (
        50, 0.0, 104.0, 100.0, 104.0, 108.0, 0.0)
    assert m.benford_mad is None and m.benford_conformity is None


def test_the_west_departs_most_with_its_nulls_outliers_and_mean(sliced):
    _, result = sliced
    top = result.departures[0]
    assert (top.table, top.column, top.value, top.rows) == ("sales", "region", "west", 50)
    reasons = {r.metric: r for r in top.reasons}
    assert reasons["null_ratio"].effect == pytest.approx(2 * math.asin(math.sqrt(0.4)), abs=1e-4)
    assert (reasons["null_ratio"].slice_value, reasons["null_ratio"].rest_value) == (0.4, 0.0)
    assert reasons["outlier_share"].effect == pytest.approx(2 * math.asin(math.sqrt(1 / 6)), abs=1e-4)
    values = [r["amount"] for r in sales_rows() if r["amount"] is not None]
    assert reasons["mean_shift"].effect == pytest.approx((7600 / 30 - 104) / statistics.stdev(values), abs=1e-4)
    assert top.score == reasons["null_ratio"].effect
    assert all(d.score <= top.score for d in result.departures)


# --- slices over time -------------------------------------------------------------------------


def test_monthly_counts_coverage_and_the_april_volume_anomaly(sliced):
    _, result = sliced
    web = next(p for p in result.periods if (p.column, p.value) == ("channel", "web"))
    assert [(c.period, c.rows) for c in web.counts] == [
        ("2025-01", 15), ("2025-02", 15), ("2025-03", 15), ("2025-04", 40), ("2025-05", 15)]
    assert (web.periods_in_range, web.periods_present, web.coverage, web.median_rows) == (5, 5, 1.0, 15.0)
    # MAD is 0, so the scale is its floor: 10% of the median, 1.5 rows
    assert [(a.period, a.rows, a.direction, a.partial_period) for a in web.anomalies] == [
        ("2025-04", 40, "high", False)]
    assert web.anomalies[0].robust_z == pytest.approx(25 / 1.5, abs=1e-3)
    store = next(p for p in result.periods if (p.column, p.value) == ("channel", "store"))
    assert [c.rows for c in store.counts] == [20] * 5 and store.anomalies == ()
    west = next(p for p in result.periods if (p.column, p.value) == ("region", "west"))
    assert west.coverage < 1 and west.missing  # the last block of rows covers only the later months


# --- artifact, settings, reruns ---------------------------------------------------------------


def test_the_artifact_reads_back_and_reruns_are_byte_identical(sliced):
    root, result = sliced
    ctx = phase_context(root, "slicing", ["sales"])
    first = (ctx.out_dir / "slices.json").read_bytes()
    slice_facts(ctx)
    assert (ctx.out_dir / "slices.json").read_bytes() == first
    dump_json(root / "again.json", result)
    assert (root / "again.json").read_bytes() == first


def test_the_settings_file_holds_the_defaults_and_bad_values_name_their_key():
    assert parse_model(SlicingSettings, read_yaml(REPO / "config/slicing.yaml"), "x") == SlicingSettings()
    with pytest.raises(ConfigError, match="selection.max_distinct"):
        parse_model(SlicingSettings, {"selection": {"max_distinct": 1}}, "config/slicing.yaml")
    with pytest.raises(ConfigError, match="periods.unit"):
        parse_model(SlicingSettings, {"periods": {"unit": "fortnight"}}, "config/slicing.yaml")


# --- library: hostile names, no marked facts, text dates ----------------------------------------


def test_hostile_names_a_text_time_column_and_tables_found_by_their_measures(tmp_path):
    odd, amount = 'we"ird; col', "amt 'x'"
    with duckdb.connect() as con:
        con.execute(f"CREATE TABLE t AS SELECT range + 1 AS _row_id, ['a', 'b', 'c'][range % 3 + 1] AS "
                    f"{quote_ident(odd)}, CAST(range AS DOUBLE) AS {quote_ident(amount)}, '01/02/2025' AS d "
                    "FROM range(60)")
        path = tmp_path / "t.parquet"
        con.execute(f"COPY t TO '{path}' (FORMAT parquet)")
        profiles, _ = profile_parquet(con, str(path), "t", {amount: TypeInfo(type="decimal")}, StatisticsSettings())
        columns = {c.name: c for c in profiles.columns}
        notes = Annotations("s", (), {"t": TableAnnotation("t", "dimension", None, (), "d", 60, 0.5)},
                            (annotation("t", odd, "dimension"), annotation("t", amount, "measure"),
                             annotation("t", "d", "timestamp")))
        result = slice_source(con, "s", {"t": path}, {"t": columns}, notes, Correlations("s", (), (), ()),
                              SlicingSettings())
    assert result.tables[0].why == "has measures (no table is marked fact)"
    assert [(d.column, d.groups) for d in result.dimensions] == [(odd, 3)]
    assert [p.measures[0].values for p in result.profiles] == [20, 20, 20]
    assert result.periods == () and "typed text, not a date" in result.tables[0].time_note


def test_a_table_too_large_for_exact_quantiles_reads_them_from_a_fixed_sample(tmp_path):
    """40,000 sales of amounts 1..1000: above quantile_sample_rows (here 4,000) the quartiles and
    fences come from a tenth of the rows chosen by row id, close to the exact ones; counts and
    means stay exact; the same rows on every run and thread count."""
    rows = [{"id": i + 1, "region": REGIONS[i % 4], "amount": float(1 + (i * 7919) % 1000),
             "day": date(2025, 1 + i % 12, 1 + i % 28).isoformat()} for i in range(40_000)]
    upstream(tmp_path, {"sales": to_csv(rows)})
    roles = {"id": ("key", None), "region": ("dimension", None), "amount": ("measure", "amount"),
             "day": ("timestamp", "transaction_date")}
    annotate(tmp_path, {"sales": TableAnnotation("sales", "fact", "transaction", ("id",), "day", 40_000, 0.9)},
             [annotation("sales", c, *roles[c]) for c in roles])
    (tmp_path / "config" / "slicing.yaml").write_text("quality:\n  quantile_sample_rows: 4000\n")
    outputs = []
    for threads in (1, 2):
        ctx = phase_context(tmp_path, "slicing", ["sales"], threads=threads)
        slice_facts(ctx)
        outputs.append((ctx.out_dir / "slices.json").read_bytes())
    assert outputs[0] == outputs[1]
    result = SLICES.load(ctx.out_dir / "slices.json")
    table = result.tables[0]
    assert table.quantile_sample == 0.1 and table.rows == 40_000
    basis = table.measures[0]
    assert basis.values == 40_000 and basis.mean == pytest.approx(500.5)
    # exact: Q1 250.75, Q3 750.25 -> fences -498.5 and 1499.5; the sample's stay within a few units
    assert basis.lower_fence == pytest.approx(-498.5, abs=30) and basis.upper_fence == pytest.approx(1499.5, abs=30)
    north = profile(result, "region", "north").measures[0]
    assert north.values == 10_000 and north.p50 == pytest.approx(500, abs=25)
