"""The dodo layer, inspected without running anything: names, file_dep, targets, signatures."""

from __future__ import annotations

import importlib.util
import pickle
import sys
from pathlib import Path

from doit.loader import load_tasks
from doit.tools import config_changed


def load_dodo(root: Path) -> dict:
    spec = importlib.util.spec_from_file_location(f"dodo_{abs(hash(root))}", root / "dodo.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(root))
    try:
        spec.loader.exec_module(module)
        tasks = load_tasks(vars(module))
    finally:
        sys.path.remove(str(root))
    return {task.name: task for task in tasks}


def signature(task) -> str:
    (checker,) = [u for u in task.uptodate if isinstance(u[0], config_changed)]
    return checker[0].config  # doit's config_changed holds our signature digest


def test_tasks_are_named_phase_colon_source_dot_table(demo_project):
    tasks = load_dodo(demo_project)
    assert set(tasks) == {
        "count", "count:demo.a", "count:demo.b", "count:demo.c",
        "double", "double:demo.a", "double:demo.b", "double:demo.c",
        "total", "total:demo",
    }
    assert tasks["double"].task_dep == ["double:demo.a", "double:demo.b", "double:demo.c"]


def test_file_dep_are_upstream_manifests_and_targets_the_own_manifest(demo_project):
    tasks = load_dodo(demo_project)
    state = demo_project / "state" / "demo"
    assert tasks["count:demo.a"].file_dep == {str(demo_project / "data" / "a.csv")}
    assert tasks["double:demo.a"].file_dep == {str(state / "count" / "a" / "manifest.json")}
    assert tasks["total:demo"].file_dep == {str(state / "double" / t / "manifest.json") for t in "abc"}
    assert tasks["total:demo"].targets == [str(state / "total" / "manifest.json")]


def test_actions_are_picklable_functions_with_plain_arguments_so_nothing_depends_on_fork(demo_project):
    tasks = load_dodo(demo_project)
    (action,) = tasks["double:demo.b"].actions
    (command,) = action.args
    assert command[:3] == [sys.executable, "-m", "phases.engine.runner"]
    assert command[-3:] == ["double", "demo", "b"]
    assert pickle.loads(pickle.dumps(action.py_callable)) is action.py_callable


def test_a_phase_signature_changes_with_its_own_config_only(demo_project):
    before = load_dodo(demo_project)
    (demo_project / "config" / "total.yaml").write_text("label: other\n")
    after = load_dodo(demo_project)
    assert signature(before["total:demo"]) != signature(after["total:demo"])
    assert signature(before["count:demo.a"]) == signature(after["count:demo.a"])


def test_loading_the_dodo_file_opens_no_database(demo_project):
    load_dodo(demo_project)
    assert not (demo_project / "state").exists()
