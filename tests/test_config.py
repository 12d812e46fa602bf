"""The one YAML reader and the runtime settings: every bad file is one ConfigError naming the file
and the line or key, before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from phases.core.config import THREADS_ENV, cores, load_runtime, read_yaml
from phases.core.errors import ConfigError
from phases.engine import launch
from phases.interfaces import api
from tests.conftest import run_doit

ALIAS_BOMB = "".join(
    f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9 if i else ["x"] * 9) + "]\n" for i in range(9)
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1\nb: 2\na: 3\n", r"x.yaml line 3: not valid YAML \(key 'a' appears twice in one mapping\)"),
        ("outer:\n  k: 1\n  k: 2\n", r"line 3: .*key 'k' appears twice"),
        ("a: &x [1, 2]\nb: *x\n", r"x.yaml line 1: YAML anchors and aliases are not allowed"),
        (ALIAS_BOMB, r"anchors and aliases are not allowed"),
        ("a: [1, 2\n", r"x.yaml line 2: not valid YAML"),
    ],
    ids=["duplicate-key", "nested-duplicate", "alias", "alias-bomb", "malformed"],
)
def test_a_bad_yaml_file_is_one_config_error_naming_the_file_and_line(tmp_path: Path, text: str, message: str):
    path = tmp_path / "x.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        read_yaml(path)


def test_a_config_file_that_is_not_utf8_says_so(tmp_path: Path):
    path = tmp_path / "x.yaml"
    path.write_bytes("name: Åse\n".encode("latin-1"))
    with pytest.raises(ConfigError, match=r"x.yaml: not UTF-8 text \(byte 6\); save the file as UTF-8"):
        read_yaml(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("duckdb:\n  memory_limit: banana\n", r"duckdb.memory_limit: .*'banana' is not a size"),
        ("duckdb:\n  memory_limit: 1KB\n", r"duckdb.memory_limit: .*'1KB' is below 100MB"),
        ("duckdb:\n  threads: 0\n", r"duckdb.threads"),
        ("duckdb:\n  threads: many\n", r"duckdb.threads"),
        ("duckdb:\n  columns_per_query: 0\n", r"duckdb.columns_per_query"),
        ("duckdb:\n  spill_limit: lots\n", r"duckdb.spill_limit: .*'lots' is not a size"),
        ("state_dir: elsewhere\n", r"state_dir: Extra inputs are not permitted"),
    ],
    ids=["not-a-size", "too-small", "no-threads", "not-auto", "no-columns", "spill-not-a-size", "state-dir"],
)
def test_bad_runtime_settings_are_refused_naming_the_key(tmp_path: Path, text: str, message: str):
    (tmp_path / "runtime.yaml").write_text(text)
    with pytest.raises(ConfigError, match=f"runtime.yaml: {message}"):
        load_runtime(tmp_path)


@pytest.mark.parametrize("size", ["2GB", "512MiB", "1.5 gb", "100MB"])
def test_sizes_in_duckdb_spelling_are_accepted(tmp_path: Path, size: str):
    (tmp_path / "runtime.yaml").write_text(f"duckdb:\n  memory_limit: {size}\n")
    assert load_runtime(tmp_path).duckdb.memory_limit == size


def test_status_and_doit_list_exit_2_on_a_duplicate_key(demo_project: Path):
    config = demo_project / "config" / "total.yaml"
    config.write_text(config.read_text() + config.read_text())
    listed = run_doit(demo_project, "list")
    assert listed.returncode == 2  # a configuration error, as for `dataraum`
    assert "total.yaml" in listed.stderr and "appears twice" in listed.stderr
    with pytest.raises(ConfigError, match="total.yaml.*appears twice") as caught:
        api.pipeline_status(root=demo_project)
    assert caught.value.exit_code == 2


def test_threads_are_auto_by_default_and_a_number_stays_that_number(tmp_path: Path, monkeypatch):
    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert load_runtime(tmp_path).duckdb.threads == "auto"
    assert load_runtime(tmp_path).duckdb.task_threads() == cores()
    (tmp_path / "runtime.yaml").write_text("duckdb:\n  threads: 3\n")
    monkeypatch.setenv(THREADS_ENV, "1")
    assert load_runtime(tmp_path).duckdb.task_threads() == 3


def test_auto_threads_are_what_the_launcher_gave_the_task(tmp_path: Path, monkeypatch):
    (tmp_path / "runtime.yaml").write_text("duckdb:\n  threads: auto\n")
    monkeypatch.setenv(THREADS_ENV, "2")
    assert load_runtime(tmp_path).duckdb.task_threads() == 2


def test_the_launcher_shares_the_cores_among_the_tasks_running(monkeypatch):
    monkeypatch.setattr(launch, "cores", lambda: 2)
    with launch._slot() as alone, launch._slot() as second, launch._slot() as third:
        assert (alone, second, third) == (2, 1, 1)
    with launch._slot() as later:
        assert later == 2
