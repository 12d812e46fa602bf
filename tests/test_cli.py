"""The `dataraum` command line, run for real with click's CliRunner on the demo
project (each test starts from the restored snapshot of one full run; see
tests/test_api.py)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from rich.console import Console

from phases.interfaces import api
from phases.interfaces.cli import cli
from phases.interfaces.live import LiveView
from tests.test_api import ALL, restored_project, write_scores

COMMANDS = ("init", "run", "status", "sources", "profile", "context", "entropy", "reset", "graph", "verify",
            "history", "serve")


@pytest.fixture
def ran_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return restored_project(tmp_path_factory)


def dataraum(root, *args: str, **kwargs):
    return CliRunner().invoke(cli, ["--root", str(root), *args], **kwargs)


def test_help_lists_every_command_and_each_has_an_example():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert f"  {command} " in result.output
        help_text = CliRunner().invoke(cli, [command, "--help"]).output
        assert "Example" in help_text, command


def test_python_dash_m_phases_is_the_same_command():
    done = subprocess.run([sys.executable, "-m", "phases", "--help"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0
    assert "Usage: dataraum" in done.stdout


def test_run_in_a_pipe_prints_one_plain_line_per_event_and_a_summary(ran_project):
    result = dataraum(ran_project, "run", "--phase", "count", "--table", "a", "--force")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:2] == ["plan      1 tasks", "start     count:demo.a"]
    assert lines[2].startswith("done      count:demo.a  ")
    assert lines[3].startswith("ran 1, up to date 0, failed 0 in ")
    assert "context of demo: not produced yet (" in lines[4]
    assert "\x1b[" not in result.stdout


def test_a_second_run_reports_every_task_up_to_date(ran_project):
    result = dataraum(ran_project, "run")
    assert result.exit_code == 0
    assert sum(line.startswith("skip ") for line in result.stdout.splitlines()) == len(ALL)
    assert "ran 0, up to date 7, failed 0" in result.stdout


def test_events_writes_one_json_object_per_task_event(ran_project, tmp_path):
    events = tmp_path / "events.jsonl"
    result = dataraum(ran_project, "run", "--phase", "double", "--table", "b", "--force", "--events", str(events))
    assert result.exit_code == 0
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    assert [(e["event"], e.get("task")) for e in lines] == [
        ("plan", None), ("uptodate", "count:demo.b"), ("start", "double:demo.b"),
        ("success", "double:demo.b"), ("finish", None),
    ]
    assert lines[0]["tasks"] == ["count:demo.b", "double:demo.b"]
    success = lines[3]
    assert (success["phase"], success["source"], success["table"]) == ("double", "demo", "b")
    assert success["duration_s"] > 0
    assert all(e["time"].endswith("+00:00") for e in lines)


def test_status_after_touching_a_csv_says_downstream_will_run_and_why(ran_project):
    before = dataraum(ran_project, "status")
    assert before.stdout.splitlines()[:2] == ["source  count  double  total", "demo    done   done    done"]
    with (ran_project / "data" / "b.csv").open("a") as handle:
        handle.write("3,z\n")
    after = dataraum(ran_project, "status").stdout
    assert "demo    will run 1/3  will run 1/3  will run" in after
    assert "count:demo.b   file changed: data/b.csv\n" in after
    assert "double:demo.b  upstream count:demo.b will run *\n" in after
    assert "total:demo     upstream double:demo.b will run *\n" in after
    run = dataraum(ran_project, "run")
    assert "ran 3, up to date 4, failed 0" in run.stdout  # what status announced


def test_status_folds_tables_unless_asked(ran_project):
    result = dataraum(ran_project, "status", "--tables")
    assert result.stdout.splitlines()[:5] == [
        "source  count  double  total", "demo                   done",
        "demo.a  done   done", "demo.b  done   done", "demo.c  done   done",
    ]


def test_status_json_is_what_the_api_returns(ran_project):
    (ran_project / "config" / "demo.yaml").write_text("label: changed\n")
    result = dataraum(ran_project, "status", "--json")
    assert json.loads(result.stdout) == api.pipeline_status(root=ran_project).to_json()
    assert json.loads(result.stdout)["counts"]["will run"] == len(ALL)


def test_reset_downstream_forgets_the_task_and_everything_after_it(ran_project):
    result = dataraum(ran_project, "reset", "--phase", "double", "--table", "a", "--downstream", "--yes")
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "Will forget 2 task(s):", "  double:demo.a", "  total:demo", "Forgot 2 task(s)",
    ]
    status = json.loads(dataraum(ran_project, "status", "--json").stdout)
    forgotten = {t["task"]: t["reasons"][0]["kind"] for t in status["tasks"] if t["state"] != "done"}
    assert forgotten == {"double:demo.a": "forgotten", "total:demo": "forgotten"}


def test_reset_asks_first_and_a_no_forgets_nothing(ran_project):
    declined = dataraum(ran_project, "reset", "--phase", "total", input="n\n")
    assert declined.exit_code == 0
    assert "Nothing forgotten." in declined.stdout
    unanswered = dataraum(ran_project, "reset", "--phase", "total")  # no terminal, no --yes
    assert unanswered.exit_code == 2
    assert "pass --yes" in unanswered.stderr
    assert api.pipeline_status(root=ran_project).to_run == ()


@pytest.mark.parametrize(("fmt", "expected"), [
    ("text", " 1  ● count   done"),
    ("mermaid", "    p_count --> p_double"),
    ("dot", '    "count" -> "double";'),
])
def test_graph_renders_each_text_format_with_the_status(ran_project, fmt, expected):
    result = dataraum(ran_project, "graph", "--format", fmt)
    assert result.exit_code == 0
    assert expected in result.stdout
    assert "done" in result.stdout


def test_graph_writes_a_file_in_the_format_of_its_suffix(ran_project, tmp_path):
    target = tmp_path / "pipeline.mmd"
    assert dataraum(ran_project, "graph", "-o", str(target)).exit_code == 0
    assert target.read_text().startswith("flowchart LR\n")


def test_graph_as_svg_needs_graphviz_and_says_so(ran_project, tmp_path):
    result = dataraum(ran_project, "graph", "-o", str(tmp_path / "pipeline.svg"))
    if shutil.which("dot"):
        assert result.exit_code == 0
        assert "<svg" in (tmp_path / "pipeline.svg").read_text()
    else:
        assert result.exit_code == 2
        assert "needs Graphviz's `dot`, which is not installed" in result.stderr


def test_history_shows_each_past_run(ran_project):
    lines = dataraum(ran_project, "history").stdout.splitlines()
    assert lines[0].split() == ["started", "task", "took", "peak", "MB", "result", "error"]
    assert sorted(line.split()[2] for line in lines[1:]) == sorted(ALL)
    assert all(line.split()[5] == "ok" for line in lines[1:])


def test_history_shows_each_tasks_peak_memory(ran_project):
    recorded = {e.task: e.peak_rss_mb for e in api.history(limit=100, root=ran_project).entries}
    assert recorded and all(mb is not None and 5 < mb < 2000 for mb in recorded.values())  # a Python process
    lines = dataraum(ran_project, "history", "--limit", "100").stdout.splitlines()
    shown = {line.split()[2]: line.split()[4] for line in lines[1:]}
    assert shown == {task: f"{mb:.0f}" for task, mb in recorded.items()}


def test_context_says_in_one_line_that_the_context_phase_has_not_produced_it(ran_project):
    result = dataraum(ran_project, "context")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: the context phase has not produced a context for source 'demo' yet")
    assert dataraum(ran_project, "entropy").exit_code == 1


def test_context_and_entropy_print_what_the_context_and_entropy_phases_wrote(ran_project):
    documents, folder = ran_project / "state/demo/context", ran_project / "state/demo/entropy"
    documents.mkdir(parents=True)
    folder.mkdir(parents=True)
    (documents / "context.md").write_text("# Context of demo\n")
    (documents / "context.json").write_text(json.dumps({"columns": [{"table": "a", "column": "v"}]}))
    write_scores(folder, ("a", "v", 0.25, "ready", ()), ("b", "v", 0.75, "investigate", ("mixed units",)))
    assert dataraum(ran_project, "context").stdout == "# Context of demo\n"
    assert json.loads(dataraum(ran_project, "context", "--format", "json").stdout)["columns"][0]["table"] == "a"
    assert dataraum(ran_project, "entropy").stdout.splitlines() == [
        "investigate  0.75  b.v",
        "  mixed units",
        "ready        0.25  a.v",
    ]


@pytest.mark.parametrize(("args", "code", "message"), [
    (["status", "--source", "nope"], 2, "error: config/sources.yaml: no source 'nope'; known sources: demo\n"),
    (["run", "--phase", "nope"], 2, "error: unknown phase 'nope'; the pipeline has: count, double, total\n"),
    (["run", "--jobs", "0"], 2, "Invalid value for '-j' / '--jobs'"),
    (["history", "--limit", "x"], 2, "Invalid value for '--limit'"),
])
def test_usage_and_configuration_errors_exit_2_with_one_line(ran_project, args, code, message):
    result = dataraum(ran_project, *args)
    assert result.exit_code == code
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_a_failed_phase_exits_1_and_names_the_task_and_the_error(ran_project, monkeypatch):
    monkeypatch.setenv("DEMO_DIE", "count")
    result = dataraum(ran_project, "run", "--phase", "count", "--table", "c", "--force")
    assert result.exit_code == 1
    assert "FAILED    count:demo.c" in result.stdout
    assert "failed: count:demo.c: the phase process was killed by SIGKILL" in result.stdout


def test_debug_lets_the_traceback_through(ran_project):
    result = dataraum(ran_project, "--debug", "status", "--source", "nope")
    assert result.exit_code == 1
    assert type(result.exception).__name__ == "ConfigError"


def test_outside_a_project_the_error_says_where_to_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["status"])
    assert result.exit_code == 2
    assert "no dataraum project at" in result.stderr


def test_the_live_view_draws_progress_and_a_line_per_finished_task_within_80_columns():
    out = io.StringIO()
    view = LiveView(Console(file=out, force_terminal=True, width=80, color_system=None), jobs=2, auto_refresh=False)
    long_name = "statistical_quality:finance_example.a_table_with_a_rather_long_name_indeed"
    view(api.TaskEvent("plan", tasks=("count:demo.a", long_name, "total:demo"), expected_s={"count:demo.a": 4.0}))
    view(api.TaskEvent("start", "count:demo.a"))
    view(api.TaskEvent("start", long_name))
    frames = out.getvalue()
    view(api.TaskEvent("success", "count:demo.a", duration_s=0.5))
    view(api.TaskEvent("failure", long_name, duration_s=1.0, error="boom"))
    view.close()
    assert "0/3 tasks, -j 2" in frames
    assert "count:demo.a" in frames and "left" in frames  # its last run took 4s: a bar and the time left
    text = click.unstyle(out.getvalue())
    assert "✓ count:demo.a  0.5s" in text
    assert "✗ statistical_quality:finance_example" in text and "failed 1.0s: boom" in text
    assert "2/3 tasks, -j 2 (1 ran, 1 failed)" in text
    lines = [line for frame in text.split("\x1b[2K") for line in frame.splitlines()]
    assert max(len(strip_cursor(line)) for line in lines) <= 80


def strip_cursor(line: str) -> str:
    """A frame line without rich's cursor movements (its colours are off in this test)."""
    import re

    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", line)


def test_entropy_compare_says_when_there_is_nothing_to_compare_and_lists_changes(demo_project):
    from phases.engine import store

    assert "nothing to compare yet" in dataraum(demo_project, "entropy", "--compare").output
    engine = store.open_store(demo_project / "state/history.sqlite")
    store.record_scores(engine, "demo", "entropy", "one", [{"target": "a.v", "kind": "column", "score": 0.8,
                                                            "readiness": "blocked"}])
    store.record_scores(engine, "demo", "entropy", "two", [{"target": "a.v", "kind": "column", "score": 0.1,
                                                            "readiness": "ready"}])
    engine.dispose()
    lines = dataraum(demo_project, "entropy", "--compare").stdout.splitlines()
    assert lines[0].split() == ["kind", "target", "before", "after"]
    assert lines[1].split() == ["column", "a.v", "0.80", "blocked", "0.10", "ready"]
