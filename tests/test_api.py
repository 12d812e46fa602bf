"""The library API (phases.interfaces.api) on the tiny demo project. Runs go through doit in
this process and a full run costs about two seconds, so the project runs once per
session and each test starts from a restored snapshot of it (`ran_project`)."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest

from phases.artifacts.entropy_scores import (
    ENTROPY_SCORES,
    ColumnEntropy,
    DimensionScore,
    EntropyScores,
    Readiness,
)
from phases.core.errors import ConfigError, StateError
from phases.engine import graph
from phases.engine.project import load_project
from phases.interfaces import api
from tests.conftest import DATA, make_project

ALL = [
    "count:demo.a", "count:demo.b", "count:demo.c",
    "double:demo.a", "double:demo.b", "double:demo.c", "total:demo",
]


def write_scores(folder: Path, *columns: tuple[str, str, float, Readiness, tuple[str, ...]]) -> Path:
    """An entropy_scores.json holding only these column scores: (table, column, score,
    readiness, the findings of its worst dimensions)."""
    record = EntropyScores(
        version=1, source="demo", score=max(c[2] for c in columns), readiness="blocked", blockers=(), tables=(),
        columns=tuple(
            ColumnEntropy(table, column, score, readiness, layers={"semantic": score}, reasons=(),
                          top=tuple(DimensionScore("units", "semantic", score, finding) for finding in findings))
            for table, column, score, readiness, findings in columns
        ),
        objects=(), compound_risks=(),
    )
    folder.mkdir(parents=True, exist_ok=True)
    return ENTROPY_SCORES.dump(folder, record)


def restored_project(factory: pytest.TempPathFactory) -> Path:
    """The demo project as it was after one full run. The run happens once per test
    session (tests/test_cli.py shares it); later calls restore the snapshot in place,
    because doit's records hold absolute paths (a copy elsewhere would look never run)."""
    base = factory.getbasetemp()
    root, snapshot = base / "ran" / "demo", base / "snapshot" / "demo"
    if not snapshot.exists():
        make_project(root, DATA / "demo_project")
        assert api.run_pipeline(root=root).exit_code == 0
        shutil.copytree(root, snapshot)  # copy2 keeps mtimes: doit's md5 checker sees nothing changed
    shutil.rmtree(root)
    shutil.copytree(snapshot, root)
    return root


@pytest.fixture
def ran_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return restored_project(tmp_path_factory)


def test_a_run_returns_each_task_with_its_duration_and_outputs(ran_project):
    result = api.run_pipeline(phases="count", tables="b", skip_completed=False, root=ran_project)
    (count_b,) = result.tasks
    assert (count_b.task, count_b.outcome, count_b.error) == ("count:demo.b", "ran", None)
    assert count_b.duration_s > 0
    assert count_b.summary == {"lines": 2}
    (artifact,) = count_b.outputs
    assert (artifact.name, artifact.path.name, artifact.bytes) == ("line_count", "count.txt", 2)


def test_a_second_run_skips_every_task_as_up_to_date(ran_project):
    result = api.run_pipeline(root=ran_project)
    assert sorted(t.task for t in result.tasks) == sorted(ALL)
    assert {t.outcome for t in result.tasks} == {"up-to-date"}
    assert result.result("total:demo").summary == {"tables": ["a", "b", "c"]}
    assert result.exit_code == 0


def test_skip_completed_false_reruns_the_asked_tasks_only(ran_project):
    result = api.run_pipeline(phases="count", tables="a", skip_completed=False, root=ran_project)
    assert [(t.task, t.outcome) for t in result.tasks] == [("count:demo.a", "ran")]
    after = api.pipeline_status(root=ran_project)
    assert {t.state for t in after.tasks} == {"done"}  # an identical output: nothing downstream to do


def test_a_failed_phase_gives_exit_code_1_and_blocks_only_its_dependents(ran_project, monkeypatch):
    monkeypatch.setenv("DEMO_DIE", "double")
    result = api.run_pipeline(phases=["double", "total"], skip_completed=False, fail_fast=False, root=ran_project)
    outcomes = {t.task: t.outcome for t in result.tasks}
    assert result.exit_code == 1
    assert {outcomes[f"count:demo.{t}"] for t in "abc"} == {"up-to-date"}
    assert {outcomes[f"double:demo.{t}"] for t in "abc"} == {"failed"}
    assert outcomes["total:demo"] == "blocked"
    assert "killed by SIGKILL" in result.result("double:demo.a").error


def test_the_async_variant_runs_a_phase_with_what_it_needs_inside_an_event_loop(demo_project):
    events: list[api.TaskEvent] = []

    async def main() -> api.RunResult:
        return await api.run_pipeline_async(phases=["double"], tables=["a"], root=demo_project,
                                            on_event=events.append)

    result = asyncio.run(main())
    assert [(t.task, t.outcome) for t in result.tasks] == [("count:demo.a", "ran"), ("double:demo.a", "ran")]
    assert [e.kind for e in events] == ["plan", "start", "success", "start", "success", "finish"]


def test_status_before_any_run_says_never_run(demo_project):
    status = api.pipeline_status(root=demo_project)
    assert sorted(t.task for t in status.tasks) == sorted(ALL)
    assert {t.state for t in status.tasks} == {"never run"}


def test_a_changed_csv_marks_its_tasks_and_everything_downstream_and_the_run_agrees(ran_project):
    with (ran_project / "data" / "b.csv").open("a") as handle:
        handle.write("3,z\n")
    status = api.pipeline_status(root=ran_project)
    will_run = {t.task: t for t in status.to_run}
    assert set(will_run) == {"count:demo.b", "double:demo.b", "total:demo"}
    assert [str(r) for r in will_run["count:demo.b"].reasons] == ["file changed: data/b.csv"]
    assert will_run["count:demo.b"].certain
    assert [str(r) for r in will_run["total:demo"].reasons] == ["upstream double:demo.b will run"]
    assert not will_run["total:demo"].certain
    ran = api.run_pipeline(root=ran_project)
    assert {t.task for t in ran.tasks if t.outcome == "ran"} == set(will_run)


def test_a_config_change_is_named_as_the_reason(ran_project):
    (ran_project / "config" / "total.yaml").write_text("label: changed\n")
    status = api.pipeline_status(root=ran_project)
    assert [(t.task, [r.kind for r in t.reasons]) for t in status.to_run] == [("total:demo", ["config_changed"])]


def test_a_failed_task_shows_as_failed_with_its_error(ran_project):
    (ran_project / "broken_phases.py").write_text(
        "from phases.core.errors import PhaseError\n\n\n"
        "def total(ctx):\n    raise PhaseError('planted failure')\n"
    )
    pipeline = ran_project / "config" / "pipeline.yaml"
    pipeline.write_text(pipeline.read_text().replace("demo_phases.total", "broken_phases.total"))
    result = api.run_pipeline(root=ran_project)
    assert (result.exit_code, result.result("total:demo").error) == (1, "planted failure")
    total = api.pipeline_status(root=ran_project).task("total:demo")
    assert total.state == "failed"
    assert [str(r) for r in total.reasons] == ["failed last time: planted failure"]


def test_reset_with_downstream_forgets_everything_after_the_task(ran_project):
    plan = api.reset(phases="count", tables="b", downstream=True, dry_run=True, root=ran_project)
    assert plan.tasks == ("count:demo.b", "double:demo.b", "total:demo")
    assert api.pipeline_status(root=ran_project).to_run == ()  # a dry run changes nothing
    api.reset(phases="count", tables="b", downstream=True, delete_artifacts=True, root=ran_project)
    status = api.pipeline_status(root=ran_project)
    assert {t.task for t in status.to_run} == set(plan.tasks)
    assert str(status.task("double:demo.b").reasons[0]) == "its checkpoint was forgotten"
    assert not (ran_project / "state/demo/count/b").exists()


def test_history_lists_every_run_newest_first(ran_project):
    entries = api.history(root=ran_project).entries
    assert sorted(e.task for e in entries) == sorted(ALL)
    assert all(e.success and e.duration_s > 0 for e in entries)
    assert entries[0].started_at >= entries[-1].started_at
    assert len(api.history(limit=2, root=ran_project).entries) == 2


@pytest.mark.parametrize(("tables", "phases", "ran"), [
    (["a"], None, {"count:demo.a", "double:demo.a"}),  # no per-source phase asked: none runs
    (["a"], ["count"], {"count:demo.a"}),
    (["a"], ["total"], {"total:demo"}),  # a per-source phase asked with a table: it runs, over every table
    (["a", "b"], ["double", "total"], {"double:demo.a", "double:demo.b", "total:demo"}),
])
def test_tables_run_their_own_tasks_and_the_per_source_phases_asked_for(ran_project, tables, phases, ran):
    result = api.run_pipeline(tables=tables, phases=phases, skip_completed=False, root=ran_project)
    assert {t.task for t in result.tasks if t.outcome == "ran"} == ran
    assert {t.outcome for t in result.tasks if t.task not in ran} <= {"up-to-date"}
    assert result.exit_code == 0


def test_a_per_source_phase_asked_with_a_table_runs_only_for_the_sources_holding_it(ran_project, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.csv").write_text("id\n1\n")
    api.add_source(other, root=ran_project)
    result = api.run_pipeline(tables=["a"], phases=["total"], root=ran_project)
    assert "total:demo" in {t.task for t in result.tasks}
    assert not any(t.source == "other" for t in result.tasks)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"source_id": "nope"}, "no source 'nope'; known sources: demo"),
    ({"phases": ["nope"]}, "unknown phase 'nope'"),
    ({"tables": ["nope"]}, "no table 'nope'"),
])
def test_a_bad_choice_is_a_config_error_naming_it(demo_project, kwargs, message):
    with pytest.raises(ConfigError, match=message) as caught:
        api.run_pipeline(root=demo_project, **kwargs)
    assert caught.value.exit_code == 2


def test_the_root_is_found_from_a_subfolder_and_refused_elsewhere(demo_project, tmp_path):
    assert api.find_root(demo_project / "data") == demo_project
    with pytest.raises(ConfigError, match="no dataraum project"):
        api.find_root(tmp_path)


def test_the_context_is_reported_missing_until_the_context_phase_writes_it(demo_project):
    with pytest.raises(api.ContextNotReady, match="has not produced a context for source 'demo' yet") as caught:
        api.context_document(root=demo_project)
    assert caught.value.exit_code == 1
    folder = demo_project / "state/demo/context"
    folder.mkdir(parents=True)
    (folder / "context.md").write_text("# demo\n")
    assert api.context_document(root=demo_project).text == "# demo\n"


def test_the_readiness_table_puts_the_most_uncertain_columns_first(demo_project):
    with pytest.raises(api.ContextNotReady, match="entropy_scores.json is missing"):
        api.entropy_readiness(root=demo_project)
    path = write_scores(demo_project / "state/demo/entropy", ("a", "id", 0.1, "ready", ()),
                        ("b", "v", 0.9, "blocked", ("unit unknown", "mixed formats")),
                        ("a", "v", 0.5, "investigate", ("mixed formats",)))
    report = api.entropy_readiness(root=demo_project)
    assert report.path == path
    assert [(c.table, c.column, c.readiness) for c in report.columns] == [
        ("b", "v", "blocked"), ("a", "v", "investigate"), ("a", "id", "ready")]
    assert report.columns[0].issues == ("unit unknown", "mixed formats")
    assert [c.column for c in api.entropy_readiness(table="a", limit=1, root=demo_project).columns] == ["v"]


def test_the_readiness_table_names_the_phase_to_rerun_when_the_scores_do_not_fit(demo_project):
    folder = demo_project / "state/demo/entropy"
    folder.mkdir(parents=True)
    (folder / "entropy_scores.json").write_text(json.dumps({"columns": [{"table": "a", "entropy": 0.1}]}))
    with pytest.raises(StateError, match="does not match EntropyScores .*rerun the entropy phase"):
        api.entropy_readiness(root=demo_project)


def test_entropy_changes_compare_the_last_two_distinct_outputs(demo_project):
    from phases.engine import store

    assert api.entropy_changes(root=demo_project).snapshots == 0
    engine = store.open_store(demo_project / "state/history.sqlite")
    first = [{"target": "a.v", "kind": "column", "score": 0.8, "readiness": "blocked"},
             {"target": "a.id", "kind": "column", "score": 0.0, "readiness": "ready"}]
    store.record_scores(engine, "demo", "entropy", "digest-1", first)
    store.record_scores(engine, "demo", "entropy", "digest-1", first)  # the same output again: no new snapshot
    assert api.entropy_changes(root=demo_project) == api.EntropyComparison("demo", 1, (), chosen="only")
    second = [{"target": "a.v", "kind": "column", "score": 0.2, "readiness": "ready"},
              {"target": "a.id", "kind": "column", "score": 0.0, "readiness": "ready"},
              {"target": "b.w", "kind": "column", "score": 0.4, "readiness": "investigate"}]
    store.record_scores(engine, "demo", "entropy", "digest-2", second)
    engine.dispose()
    result = api.entropy_changes(root=demo_project)
    assert result.snapshots == 2
    assert [(c.target, c.before, c.after, c.readiness_after) for c in result.changes] == [
        ("a.v", 0.8, 0.2, "ready"), ("b.w", None, 0.4, "investigate")]


def test_the_graph_layers_follow_the_dag():
    pipeline = load_project(DATA / "demo_project", check_functions=False).pipeline
    assert graph.layers(pipeline) == [["count"], ["double"], ["total"]]
    assert graph.edges(pipeline) == [("count", "double"), ("double", "total")]


def test_adding_a_folder_makes_a_source_named_after_it(demo_project, tmp_path):
    folder = tmp_path / "Sales 2024"
    folder.mkdir()
    (folder / "q1.csv").write_text("id,v\n1,x\n")
    added = api.add_source(folder, root=demo_project)
    assert (added.name, added.new) == ("sales_2024", True)
    again = api.add_source(folder, root=demo_project)
    assert (again.name, again.new) == ("sales_2024", False)  # the same folder is reused
    name = added.name
    result = api.run_pipeline(name, root=demo_project)
    assert [t.task for t in result.tasks] == ["count:sales_2024.q1", "double:sales_2024.q1", "total:sales_2024"]
    assert (demo_project / "state/sales_2024/total/total.txt").read_text() == "2\n"
