"""The temporal phase on small in-memory tables with known answers: granularity,
completeness and gaps, roles, staleness, the JSON artifact and the phase adapter."""

from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
import yaml

from phases.artifacts.column_types import COLUMN_TYPES
from phases.artifacts.tables import TYPED_TABLE
from phases.artifacts.temporal_profiles import TEMPORAL_PROFILES
from phases.core.context import TaskContext
from phases.core.errors import StateError
from phases.core.manifest import write_manifest
from phases.core.sql import quote_ident
from phases.engine.runner import describe_artifacts
from phases.profile.temporal import profile_temporal, profile_time, used_columns
from phases.profile.temporal_settings import TemporalSettings
from phases.shared.narrow import one_row
from tests.conftest import phase_context

REPO = Path(__file__).resolve().parent.parent
DEFAULTS = TemporalSettings()


def make_table(con: duckdb.DuckDBPyConnection, **columns: list) -> str:
    """Table `t` from equally long Python lists, one per column."""
    select = ", ".join(f"unnest(${i + 1}) AS {quote_ident(name)}" for i, name in enumerate(columns))
    con.execute(f"CREATE OR REPLACE TABLE t AS SELECT {select}", list(columns.values()))
    return "t"


def profile(con: duckdb.DuckDBPyConnection, types: dict[str, str], settings: TemporalSettings = DEFAULTS):
    profiles = profile_temporal(con, "t", types, settings)
    return {p.name: p for p in profiles.columns}


def days(start: date, n: int, step: int = 1) -> list[date]:
    return [start + timedelta(days=step * i) for i in range(n)]


def months(start: date, n: int, step: int = 1, end_of_month: bool = False) -> list[date]:
    found = []
    for i in range(n):
        index = start.month - 1 + i * step
        first = date(start.year + index // 12, index % 12 + 1, 1)
        if end_of_month:
            following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
            first = following - timedelta(days=1)
        found.append(first)
    return found


def weekdays(start: date, n_days: int) -> list[date]:
    return [d for d in days(start, n_days) if d.isoweekday() <= 5]


def random_instants(n: int, seed: int) -> list[datetime]:
    rng = random.Random(seed)
    return [datetime(2024, 1, 1) + timedelta(seconds=rng.randrange(365 * 86400)) for _ in range(n)]


# ---------------------------------------------------------------- granularity

GRANULARITY_CASES = {
    "hourly": ([datetime(2024, 1, 1) + timedelta(hours=i) for i in range(200)], "hour", 1),
    "quarter-hourly": ([datetime(2024, 1, 1) + timedelta(minutes=15 * i) for i in range(200)], "minute", 15),
    "daily": (days(date(2024, 1, 1), 100), "day", 1),
    "business days": (weekdays(date(2024, 1, 1), 140), "business_day", 1),
    "weekly": (days(date(2024, 1, 1), 60, step=7), "week", 1),
    "fortnightly": (days(date(2024, 1, 1), 40, step=14), "week", 2),
    "monthly": (months(date(2020, 1, 1), 36), "month", 1),
    "month ends": (months(date(2020, 1, 1), 36, end_of_month=True), "month", 1),
    "quarterly": (months(date(2015, 1, 1), 24, step=3), "quarter", 1),
    "yearly": (months(date(2000, 1, 1), 20, step=12), "year", 1),
    "random event times": (random_instants(400, seed=1), "irregular", 0),
}


@pytest.mark.parametrize(("values", "unit", "step"), GRANULARITY_CASES.values(), ids=GRANULARITY_CASES.keys())
def test_the_granularity_is_read_from_the_gaps_between_distinct_values(con, values, unit, step):
    kind = "timestamp" if isinstance(values[0], datetime) else "date"
    make_table(con, d=values)
    granularity = profile(con, {"d": kind})["d"].granularity
    assert (granularity.unit, granularity.step) == (unit, step)
    assert (granularity.confidence >= 0.9) == (unit != "irregular")


def test_a_weekly_cadence_that_restarts_every_month_is_irregular_near_weekly(con):
    """Days 1, 8, 15, 22 and 29 of each month: gaps of 7 days, and 2 or 3 at month ends."""
    make_table(con, d=[d for d in days(date(2025, 1, 1), 365) if d.day in (1, 8, 15, 22, 29)])
    granularity = profile(con, {"d": "date"})["d"].granularity
    assert (granularity.unit, granularity.nearest, granularity.nearest_step) == ("irregular", "week", 1)
    assert 0.7 < granularity.modal_share < 0.9


def test_repeated_values_do_not_change_the_granularity(con):
    make_table(con, d=days(date(2024, 1, 1), 50) * 3)
    found = profile(con, {"d": "date"})["d"]
    assert (found.granularity.unit, found.values, found.distinct) == ("day", 150, 50)


def test_too_few_distinct_values_give_irregular_with_a_note(con):
    make_table(con, d=[date(2024, 1, 1), date(2024, 1, 2)])
    granularity = profile(con, {"d": "date"})["d"].granularity
    assert granularity.unit == "irregular"
    assert "2 distinct values" in granularity.note


# ---------------------------------------------------------------- completeness and gaps

GAP_CASES = {
    "daily": (days(date(2024, 1, 1), 91), (date(2024, 2, 5), date(2024, 2, 11)), 7,
              ("2024-02-04", "2024-02-12", "2024-02-05", "2024-02-11"), 84 / 91),
    "business days": (weekdays(date(2024, 1, 1), 91), (date(2024, 2, 5), date(2024, 2, 11)), 5,
                      ("2024-02-02", "2024-02-12", "2024-02-05", "2024-02-09"), 60 / 65),
    "monthly": (months(date(2020, 1, 1), 24), (date(2020, 5, 1), date(2020, 6, 30)), 2,
                ("2020-04-01", "2020-07-01", "2020-05-01", "2020-06-01"), 22 / 24),
}


@pytest.mark.parametrize(("values", "hole", "missing", "bounds", "ratio"), GAP_CASES.values(), ids=GAP_CASES.keys())
def test_a_missing_stretch_is_found_with_its_exact_start_and_end(con, values, hole, missing, bounds, ratio):
    make_table(con, d=[v for v in values if not hole[0] <= v <= hole[1]])
    found = profile(con, {"d": "date"})["d"]
    (gap,) = found.gaps
    assert (gap.after, gap.before, gap.missing_from, gap.missing_to) == bounds
    assert gap.missing_periods == missing
    assert found.completeness.ratio == pytest.approx(ratio)
    assert found.completeness.expected_periods - found.completeness.present_periods == missing


def test_weekday_and_month_day_profiles_count_rows(con):
    make_table(con, d=days(date(2024, 1, 1), 7) + [date(2024, 1, 1)])  # 2024-01-01 is a Monday
    found = profile(con, {"d": "date"})["d"]
    assert found.weekday_counts == (2, 1, 1, 1, 1, 1, 1)
    assert found.month_day_counts[:8] == (2, 1, 1, 1, 1, 1, 1, 0)
    assert len(found.month_day_counts) == 31


def test_nulls_are_counted_and_skipped(con):
    make_table(con, d=days(date(2024, 1, 1), 30) + [None] * 5)
    found = profile(con, {"d": "date"})["d"]
    assert (found.values, found.nulls, found.min, found.max) == (30, 5, "2024-01-01", "2024-01-30")
    assert found.span_days == 29


def test_an_all_null_date_column_is_profiled_without_series(con):
    make_table(con, d=[None, None], x=[date(2024, 1, 1), date(2024, 1, 2)])
    con.execute("ALTER TABLE t ALTER d TYPE DATE")
    found = profile(con, {"d": "date", "x": "date"})["d"]
    assert (found.values, found.nulls, found.min, found.granularity.unit) == (0, 2, None, "irregular")
    assert (found.series, found.drift, found.staleness) == ((), (), None)


def test_a_table_without_date_columns_has_no_profiles(con):
    make_table(con, amount=[1.0, 2.0])
    profiles = profile_temporal(con, "t", {"amount": "currency"}, DEFAULTS)
    assert (profiles.rows, profiles.columns, profiles.reference_source) == (2, (), "none")


def test_any_column_name_is_quoted(con):
    name = 'due "date"; DROP TABLE t; --'
    make_table(con, **{name: days(date(2024, 1, 1), 20), "amount $": [1.5] * 20})
    found = profile(con, {name: "date", "amount $": "currency"})
    assert found[name].granularity.unit == "day"


# ---------------------------------------------------------------- roles

def role_table(con: duckdb.DuckDBPyConnection) -> None:
    rng = random.Random(5)
    event = [date(2023, 1, 1) + timedelta(days=rng.randrange(700)) for _ in range(2000)]
    make_table(
        con,
        booked=event,
        period=[d.replace(day=1) for d in event],
        due=[d + timedelta(days=30) for d in event],
        terms=[d + timedelta(days=rng.choice((15, 30, 60))) for d in event],
        net=[d + timedelta(days=rng.choice((0, 30, 60, 90))) for d in event],
        paid=[d + timedelta(days=rng.randrange(90)) for d in event],
    )


ALL_ROLES = dict.fromkeys(("booked", "period", "due", "terms", "net", "paid"), "date")


def test_a_first_of_month_column_is_a_period_label(con):
    role_table(con)
    role = profile(con, ALL_ROLES)["period"].role
    assert (role.kind, role.label) == ("period_label", "month_start")


@pytest.mark.parametrize(("column", "offsets"), [("due", (30,)), ("terms", (15, 30, 60)), ("net", (0, 30, 60, 90))])
def test_a_column_at_fixed_offsets_after_another_is_a_due_date(con, column, offsets):
    role_table(con)
    role = profile(con, ALL_ROLES)[column].role
    assert (role.kind, role.relative_to, role.offsets_days) == ("due_date", "booked", offsets)


@pytest.mark.parametrize("column", ["booked", "paid"])
def test_dates_at_varying_offsets_are_event_times(con, column):
    """Payment dates are mostly after booking dates too, but at no fixed offset."""
    role_table(con)
    found = profile(con, ALL_ROLES)[column]
    assert found.role.kind == "event_time"


def test_relations_report_the_offsets_to_every_other_date_column(con):
    role_table(con)
    relations = profile(con, {"booked": "date", "due": "date"})["due"].relations
    (relation,) = relations
    assert (relation.other, relation.rows, relation.after_share) == ("booked", 2000, 1.0)
    assert relation.top_offsets[0].days == 30


def test_above_relations_listed_max_only_relations_on_every_row_and_the_due_dates_own_are_listed(con):
    role_table(con)
    every = profile(con, ALL_ROLES)["due"]
    few = profile(con, ALL_ROLES, DEFAULTS.model_copy(update={"relations_listed_max": 1}))["due"]
    assert (every.relations_unlisted, len(every.relations)) == (None, 5)
    assert [r.other for r in few.relations] == ["booked", "period"]  # its own offset; always after the 1st
    assert few.relations == tuple(r for r in every.relations if r.other in ("booked", "period"))
    assert few.relations_unlisted == 3
    assert few.role == every.role


# ---------------------------------------------------------------- staleness

@pytest.mark.parametrize(("values", "reference", "behind", "stale"), [
    (days(date(2024, 1, 1), 91), date(2024, 4, 10), 10, True),  # daily, max 03-31: stale after 04-02
    (days(date(2024, 1, 1), 91), date(2024, 4, 2), 2, False),
    (months(date(2023, 1, 1), 15), date(2024, 4, 10), 40, False),  # monthly, max 03-01: stale after 05-01
    (months(date(2023, 1, 1), 15), date(2024, 5, 2), 62, True),
])
def test_staleness_is_measured_against_a_pinned_reference_date(con, values, reference, behind, stale):
    make_table(con, d=values)
    settings = TemporalSettings(reference_date=reference)
    profiles = profile_temporal(con, "t", {"d": "date"}, settings)
    staleness = profiles.columns[0].staleness
    assert (profiles.reference_source, staleness.days_behind, staleness.stale) == ("config", behind, stale)


def test_the_default_reference_is_the_latest_date_that_is_not_a_due_date(con):
    make_table(con, booked=days(date(2024, 1, 1), 60), due=[d + timedelta(days=30) for d in days(date(2024, 1, 1), 60)])
    profiles = profile_temporal(con, "t", {"booked": "date", "due": "date"}, DEFAULTS)
    assert (profiles.reference_date, profiles.reference_source) == ("2024-02-29", "latest date")
    assert profiles.columns[0].staleness.stale is False


# ---------------------------------------------------------------- the artifact

def test_the_json_reads_back_into_the_same_records(con, tmp_path):
    role_table(con)
    profiles = profile_temporal(con, "t", {"booked": "date", "due": "date", "paid": "date"}, DEFAULTS)
    path = TEMPORAL_PROFILES.dump(tmp_path, profiles)
    assert TEMPORAL_PROFILES.load(path) == profiles


def test_a_foreign_file_is_refused_with_a_clear_message(tmp_path):
    path = tmp_path / "temporal_profiles.json"
    path.write_text(json.dumps({"version": 1, "rows": 3}))
    with pytest.raises(StateError, match="does not match TemporalProfiles .*rerun the temporal phase"):
        TEMPORAL_PROFILES.load(path, "temporal")


def test_the_yaml_file_holds_every_setting_at_its_default_with_a_comment():
    text = (REPO / "config" / "temporal.yaml").read_text()
    assert TemporalSettings(**yaml.safe_load(text)) == DEFAULTS
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line and not line.startswith("#"):
            assert lines[i - 1].startswith("#"), f"no comment above {line!r}"
    assert set(yaml.safe_load(text)) == set(TemporalSettings.model_fields)


# ---------------------------------------------------------------- the phase adapter

def build_context(tmp_path: Path) -> TaskContext:
    """A TaskContext as the runner builds it, with a typing manifest written by hand."""
    typing_dir = tmp_path / "state/s/typing/t"
    typing_dir.mkdir(parents=True)
    with duckdb.connect() as con:
        con.execute(f"""COPY (SELECT i + 1 AS _row_id, DATE '2023-01-01' + CAST(i // 5 AS INTEGER) AS "order date",
                              DATE '2023-01-01' + CAST(i // 5 AS INTEGER) + 30 AS due, (i % 97) * 1.5 AS amount,
                              'n' || i AS note FROM range(4000) r(i))
                        TO '{typing_dir / "typed.parquet"}' (FORMAT parquet)""")
    columns = [{"name": "order date", "type": "date", "sql_type": "DATE"}, {"name": "due", "type": "date"},
               {"name": "amount", "type": "currency", "unit": "EUR"}, {"name": "note", "type": "text"}]
    body = {"table": "t", "rows": 4000, "cast_failures": 0, "columns": columns}
    (typing_dir / "column_types.json").write_text(json.dumps(body))
    files = {"typed_table": "typed.parquet", "column_types": "column_types.json"}
    write_manifest(typing_dir, "typing", "s", "t", describe_artifacts(typing_dir, files), {})
    return phase_context(tmp_path, "temporal", ["t"], table="t")


def test_the_phase_writes_byte_identical_profiles_on_a_rerun(tmp_path):
    ctx = build_context(tmp_path)
    output = profile_time(ctx)
    first = (ctx.out_dir / "temporal_profiles.json").read_bytes()
    profile_time(ctx)
    assert (ctx.out_dir / "temporal_profiles.json").read_bytes() == first
    assert output.summary == {"date_columns": {"due": {"granularity": "day", "role": "due_date"},
                                               "order date": {"granularity": "day", "role": "event_time"}}}
    profiles = TEMPORAL_PROFILES.load(ctx.out_dir / "temporal_profiles.json")
    assert profiles.rows == 4000
    assert [s.measure for s in profiles.columns[1].series] == ["count", "sum:amount", "mean:amount"] * 2


def test_a_table_above_copy_max_rows_is_read_from_its_parquet_with_the_same_profile(tmp_path):
    ctx = build_context(tmp_path)
    typed = ctx.path(TYPED_TABLE)
    columns = {c.name: c.type for c in ctx.read(COLUMN_TYPES).columns}
    found = {}
    for limit in (4000, 3999):  # the table's 4,000 rows: copied, then read from the file
        with duckdb.connect() as con:
            relation = used_columns(con, typed, columns, limit)
            kind = one_row(con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = ?",
                                       [relation]))[0]
            found[kind] = profile_temporal(con, relation, columns, DEFAULTS)
    assert set(found) == {"LOCAL TEMPORARY", "VIEW"}
    assert found["VIEW"] == found["LOCAL TEMPORARY"]
