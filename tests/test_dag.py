"""pipeline.yaml is validated on load; each mistake is one message naming the phase and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from phases.core.dag import load_pipeline
from phases.core.errors import ConfigError
from tests.conftest import REPO, run_doit

GOOD = """
phases:
  load:
    function: phases.engine.runner.main
    scope: table
    outputs: [raw]
  shape:
    function: phases.engine.runner.main
    scope: table
    inputs: [raw]
    outputs: [shaped]
  sum:
    function: phases.engine.runner.main
    scope: source
    inputs: [shaped, raw]
    outputs: [total]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    return path


def test_a_valid_pipeline_loads_in_dependency_order(tmp_path):
    pipeline = load_pipeline(write(tmp_path, GOOD))
    assert [p.name for p in pipeline.phases] == ["load", "shape", "sum"]
    assert pipeline.producer == {"raw": "load", "shaped": "shape", "total": "sum"}
    assert [p.name for p in pipeline.upstream(pipeline.phase("sum"))] == ["shape", "load"]


def test_phases_are_ordered_by_dependency_not_by_yaml_order(tmp_path):
    head, rest = GOOD.split("  shape:\n")
    middle, tail = rest.split("  sum:\n")
    load_block = head.split("phases:\n")[1]
    reversed_yaml = "phases:\n  sum:\n" + tail + "  shape:\n" + middle + load_block
    assert reversed_yaml.index("sum:") < reversed_yaml.index("load:")
    pipeline = load_pipeline(write(tmp_path, reversed_yaml))
    assert [p.name for p in pipeline.phases] == ["load", "shape", "sum"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("inputs: [raw]\n", "inputs: [rwa]\n"), r"phase 'shape', field 'inputs': no phase produces artifact 'rwa'"),
        (
            ("outputs: [shaped]", "outputs: [raw]"),
            r"phase 'shape', field 'outputs': artifact 'raw' is already produced",
        ),
        (("scope: source", "scope: galaxy"), r"phase 'sum'.*scope: Input should be 'table' or 'source'"),
        (("    outputs: [raw]\n", "    outputs: [raw]\n    colour: red\n"), r"phase 'load'.*colour: Extra inputs"),
        (
            ("function: phases.engine.runner.main\n    scope: source",
             "function: phases.nowhere.main\n    scope: source"),
            r"phase 'sum', field 'function': cannot import module",
        ),
        (
            ("function: phases.engine.runner.main\n    scope: source",
             "function: phases.engine.runner.no_such\n    scope: source"),
            r"phase 'sum', field 'function'.*no function 'no_such'",
        ),
        (
            ("function: phases.engine.runner.main\n    scope: source",
             "function: phases.profile.statistics.profile_table\n    scope: source"),
            r"phase 'sum', field 'function'.*takes a TableContext but the phase has scope 'source'",
        ),
    ],
    ids=["unknown-input", "two-producers", "bad-scope", "unknown-key", "missing-module", "missing-function",
         "wrong-context"],
)
def test_each_mistake_names_the_phase_and_field(tmp_path, change, message):
    with pytest.raises(ConfigError, match=message):
        load_pipeline(write(tmp_path, GOOD.replace(*change)))


def test_a_cycle_is_printed_in_full(tmp_path):
    text = GOOD.replace("    outputs: [raw]\n", "    inputs: [total]\n    outputs: [raw]\n", 1)
    with pytest.raises(ConfigError, match=r"cycle: load -> shape -> sum -> load|cycle: .*load.*->.*load"):
        load_pipeline(write(tmp_path, text))


def test_an_enabled_phase_may_not_read_a_disabled_one(tmp_path):
    text = GOOD.replace("    outputs: [raw]\n", "    outputs: [raw]\n    enabled: false\n", 1)
    with pytest.raises(ConfigError, match=r"phase 'shape', field 'inputs'.*'load', which is disabled"):
        load_pipeline(write(tmp_path, text))


def test_a_disabled_phase_needs_no_importable_function(tmp_path):
    text = GOOD.replace(
        "function: phases.engine.runner.main\n    scope: source",
        "function: phases.later.sum\n    scope: source\n    enabled: false",
    )
    pipeline = load_pipeline(write(tmp_path, text))
    assert [p.name for p in pipeline.enabled] == ["load", "shape"]


def test_the_project_pipeline_is_valid():
    pipeline = load_pipeline(REPO / "config" / "pipeline.yaml")
    assert {"import", "typing"} <= {p.name for p in pipeline.enabled}
    assert len(pipeline.phases) == 15


def test_doit_list_shows_the_message_not_a_traceback(demo_project):
    config = demo_project / "config" / "pipeline.yaml"
    config.write_text(config.read_text().replace("inputs: [line_count]", "inputs: [line_cuont]"))
    result = run_doit(demo_project, "list")
    assert result.returncode != 0
    assert "no phase produces artifact 'line_cuont'" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_code_signature_follows_every_form_of_project_import(tmp_path):
    from phases.engine.code_digest import project_imports

    source = tmp_path / "phase.py"
    source.write_text(
        "import os\nimport phases.core.sql\nfrom phases.artifacts import profiles, sql as q\n"
        "from phases.core.config import (\n    Model,\n    parse_model,\n)\n"
        "from phases.core.errors import PhaseError  # why\n"
        "def f():\n    from phases.engine.store import history\n"
    )
    assert sorted(project_imports(source)) == [
        ("phases.artifacts", ("profiles", "sql")), ("phases.core.config", ("Model", "parse_model")),
        ("phases.core.errors", ("PhaseError",)), ("phases.core.sql", ()), ("phases.engine.store", ("history",)),
    ]

