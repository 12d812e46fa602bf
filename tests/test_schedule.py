"""Critical-path order: doit's selected list reordered so the longest remaining chain starts first."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from doit.control import TaskControl

from phases.engine.schedule import critical_first, expected_seconds, last_durations, remaining_paths
from tests.conftest import run_doit
from tests.test_tasks import load_dodo


def controlled(root: Path) -> dict:
    """The demo project's tasks with the dependencies doit derives from file_dep."""
    return dict(TaskControl(list(load_dodo(root).values())).tasks)


def grow(root: Path, table: str, rows: int) -> None:
    with (root / "data" / f"{table}.csv").open("a", encoding="utf-8") as out:
        out.writelines(f"{i}\n" for i in range(rows))


def test_the_chain_of_the_largest_table_comes_first_and_the_groups_last(demo_project):
    grow(demo_project, "b", 1_000_000)
    tasks = controlled(demo_project)
    selected = ["count", "double", "total"]
    critical_first(tasks, selected)
    assert selected[:2] == ["count:demo.b", "double:demo.b"]
    assert selected[-4:] == ["total:demo", "count", "double", "total"]
    assert sorted(selected[:-3]) == sorted(n for n in tasks if ":" in n)


def test_a_task_always_comes_after_the_tasks_it_depends_on(demo_project):
    grow(demo_project, "c", 50_000)
    tasks = controlled(demo_project)
    selected = list(tasks)
    critical_first(tasks, selected)
    placed = {name: i for i, name in reversed(list(enumerate(selected)))}
    for name, task in tasks.items():
        if task.actions:
            assert all(placed[dep] < placed[name] for dep in task.task_dep)


def test_known_durations_outrank_the_size_estimate(demo_project):
    grow(demo_project, "b", 1_000_000)
    tasks = controlled(demo_project)
    selected = ["total"]
    critical_first(tasks, selected, known={"double:demo.a": 60.0})
    assert selected[:2] == ["count:demo.a", "double:demo.a"]


def test_only_the_tasks_the_selection_needs_are_added(demo_project):
    tasks = controlled(demo_project)
    selected = ["double:demo.a"]
    critical_first(tasks, selected)
    assert selected == ["count:demo.a", "double:demo.a", "double:demo.a"]


def test_remaining_path_is_own_seconds_plus_the_longest_chain_after_it(demo_project):
    tasks = controlled(demo_project)
    real = [n for n in tasks if ":" in n]
    seconds = dict.fromkeys(real, 1.0) | {"double:demo.c": 5.0}
    remaining = remaining_paths(tasks, real, seconds)
    assert remaining["total:demo"] == 1.0
    assert remaining["double:demo.c"] == 6.0
    assert remaining["count:demo.c"] == 7.0
    assert remaining["count:demo.a"] == 3.0


def test_an_estimate_counts_the_input_files_upstream_of_the_task(demo_project):
    grow(demo_project, "a", 100_000)
    tasks = controlled(demo_project)
    real = [n for n in tasks if ":" in n]
    seconds = expected_seconds(tasks, real, {})
    assert seconds["count:demo.a"] == seconds["double:demo.a"] > seconds["count:demo.b"]
    assert seconds["total:demo"] > seconds["double:demo.a"]


def test_last_durations_read_the_last_success_of_each_task(tmp_path):
    (tmp_path / "state").mkdir()
    with sqlite3.connect(tmp_path / "state" / "history.sqlite") as db:
        db.execute("CREATE TABLE pipeline_checkpoints (id INTEGER PRIMARY KEY, task TEXT, duration_s REAL, "
                   "success BOOLEAN)")
        db.executemany("INSERT INTO pipeline_checkpoints (task, duration_s, success) VALUES (?, ?, ?)",
                       [("a", 1.0, 1), ("a", 2.5, 1), ("a", 9.0, 0), ("b", 0.5, 1)])
    assert last_durations(tmp_path) == {"a": 2.5, "b": 0.5}
    assert last_durations(tmp_path / "nowhere") == {}


def test_doit_runs_the_longest_chain_first(demo_project):
    grow(demo_project, "b", 1_000_000)
    result = run_doit(demo_project)  # one task at a time: doit's own order shows
    assert result.returncode == 0, result.stderr
    started = [line[2:].strip() for line in result.stdout.splitlines() if line.startswith(". ")]
    assert started[:2] == ["count:demo.b", "double:demo.b"]
    assert started[-1] == "total:demo"


def test_dataraum_run_starts_the_longest_chain_first(demo_project):
    from phases.interfaces import api

    grow(demo_project, "c", 1_000_000)
    events = []
    result = api.run_pipeline(root=demo_project, max_parallel=1, on_event=events.append)
    assert result.exit_code == 0
    started = [e.task for e in events if e.kind == "start"]
    assert started[:2] == ["count:demo.c", "double:demo.c"]
