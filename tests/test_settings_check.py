"""Every enabled phase's settings are checked when the project loads (issue 14): a bad value in a
phase's YAML stops `dataraum status`, `dataraum run` and `doit list` with exit 2 and one line naming
the file, the key and the reason, before any task runs."""

from __future__ import annotations

import ast
import importlib
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from phases.core.config import Model, parse_model
from phases.core.dag import load_pipeline
from phases.core.errors import ConfigError
from phases.engine.project import load_project
from phases.interfaces.cli import cli
from tests.conftest import REPO, run_doit

PIPELINE = load_pipeline(REPO / "config" / "pipeline.yaml", check_functions=False)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The repository's config over one tiny CSV file."""
    shutil.copytree(REPO / "config", tmp_path / "config")
    shutil.copy(REPO / "dodo.py", tmp_path / "dodo.py")
    (tmp_path / "config" / "sources.yaml").write_text("sources:\n  s:\n    path: data\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "t.csv").write_text("a,b\n1,x\n2,y\n")
    return tmp_path


def spoil(root: Path, file: str, pattern: str, replacement: str) -> None:
    path = root / "config" / file
    text, count = re.subn(pattern, replacement, path.read_text(), count=1, flags=re.M)
    assert count == 1, f"{pattern!r} not found in {file}"
    path.write_text(text)


def dataraum(root: Path, *args: str):
    return CliRunner().invoke(cli, ["--root", str(root), *args])


BAD_VALUES = [
    ("thresholds.yaml", r"^  blocked: 0\.7", "  blocked: -0.5",
     "config/thresholds.yaml: readiness.blocked: Input should be greater than 0 (got -0.5)"),
    ("relationships.yaml", r"^min_containment: 0\.8", "min_containment: lots",
     "config/relationships.yaml: min_containment: Input should be a valid number (got 'lots')"),
    ("statistics.yaml", r"^histogram_buckets:", "histogram_bukets:",
     "config/statistics.yaml: histogram_bukets: Extra inputs are not permitted"),
    ("typing.yaml", r"^date_order_default: month_first", "date_order_default: sideways",
     "config/typing.yaml: date_order_default: Input should be 'month_first' or 'day_first' (got 'sideways')"),
    ("null_values.yaml", r"^encoding_alternative_p: 0\.05", "encoding_alternative_p: 2",
     "config/null_values.yaml: encoding_alternative_p: Input should be less than 1 (got 2)"),
    ("llm.yaml", r"^  provider: anthropic", "  provider: gemini",
     "config/llm.yaml: llm.provider: Input should be 'anthropic' or 'openai' (got 'gemini')"),
    ("semantic.yaml", r"^overrides: \{\}", "overrides: {s: {t: {a: {concept: unicorn}}}}",
     "config/semantic.yaml: overrides.s.t.a.concept: unknown concept 'unicorn'"),
]


@pytest.mark.parametrize(("file", "pattern", "replacement", "message"), BAD_VALUES,
                         ids=[f"{case[0]}:{case[2].split(':')[0].strip()}" for case in BAD_VALUES])
def test_status_exits_2_naming_the_file_and_key_of_a_bad_phase_setting(project, file, pattern, replacement, message):
    assert dataraum(project, "status").exit_code == 0
    spoil(project, file, pattern, replacement)
    result = dataraum(project, "status")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert message in result.stderr


def test_run_stops_at_load_with_exit_2_and_runs_no_task(project):
    spoil(project, "thresholds.yaml", r"^  blocked: 0\.7", "  blocked: 1.5")
    result = dataraum(project, "run")
    assert result.exit_code == 2
    assert "config/thresholds.yaml: readiness.blocked: Input should be less than or equal to 1 (got 1.5)" \
        in result.stderr
    assert not (project / "state" / "s").exists()


def test_doit_list_exits_2_with_the_same_line(project):
    spoil(project, "relationships.yaml", r"^min_containment: 0\.8", "min_containment: lots")
    listed = run_doit(project, "list")
    assert listed.returncode == 2
    assert listed.stderr == ("ERROR: config/relationships.yaml: min_containment: Input should be a valid number "
                             "(got 'lots')\n")


def test_a_disabled_phases_settings_are_not_checked(project):
    spoil(project, "thresholds.yaml", r"^  blocked: 0\.7", "  blocked: -0.5")
    for phase in ("entropy", "metrics", "context"):  # the phases after it read its scores: off too
        spoil(project, "pipeline.yaml", rf"^  {phase}:\n", f"  {phase}:\n    enabled: false\n")
    assert dataraum(project, "status").exit_code == 0


def test_the_task_process_does_not_check_other_phases_settings(project):
    """A task's own process parses only its phase's settings (the load already checked them all)."""
    spoil(project, "thresholds.yaml", r"^  blocked: 0\.7", "  blocked: -0.5")
    with pytest.raises(ConfigError, match="thresholds.yaml"):
        load_project(project)
    assert load_project(project, check_functions=False, check_settings=False).pipeline.phase("entropy")


def test_a_pipeline_without_settings_lines_still_has_its_built_in_phases_checked(project):
    """A project made before pipeline.yaml named the models: the package's own choice applies."""
    path = project / "config" / "pipeline.yaml"
    path.write_text(re.sub(r"^    settings: .*\n", "", path.read_text(), flags=re.M))
    spoil(project, "thresholds.yaml", r"^  blocked: 0\.7", "  blocked: -0.5")
    with pytest.raises(ConfigError, match=r"config/thresholds.yaml: readiness.blocked: Input should be greater"):
        load_project(project)


@pytest.mark.parametrize(("settings", "message"), [
    ("phases.entropy.nowhere.Settings", r"phase 'entropy', field 'settings': cannot import module 'phases.entropy"),
    ("phases.entropy.settings.Nothing", r"phase 'entropy', field 'settings': module .* has no 'Nothing'"),
    ("phases.entropy.settings.DIMENSIONS", r"phase 'entropy', field 'settings': .* neither a pydantic model"),
    ("EntropySettings", r"phase 'entropy', field 'settings': 'EntropySettings' is not a dotted path"),
])
def test_a_settings_model_that_cannot_be_found_is_a_config_error(project, settings, message):
    spoil(project, "pipeline.yaml", r"^    settings: phases\.entropy\.settings\.EntropySettings",
          f"    settings: {settings}")
    with pytest.raises(ConfigError, match=message):
        load_project(project)


class Demo(Model):
    share: float = 0.5
    count: int = 1


def test_a_validation_error_is_one_short_line_with_the_value():
    with pytest.raises(ConfigError) as caught:
        parse_model(Demo, {"share": "half", "count": "x" * 60}, "config/a.yaml, config/b.yaml",
                    {"share": "config/a.yaml", "count": "config/b.yaml"})
    assert str(caught.value) == (
        "config/a.yaml: share: Input should be a valid number (got 'half'); "
        "config/b.yaml: count: Input should be a valid integer (got 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...)"
    )


def test_an_error_beyond_the_third_is_counted_not_listed():
    with pytest.raises(ConfigError, match=r"^x.yaml: a: Extra .*; b: Extra .*; c: Extra .* \(and 1 more\)$"):
        parse_model(Demo, {"a": 1, "b": 2, "c": 3, "d": 4}, "x.yaml")


@pytest.mark.parametrize("spec", [s for s in PIPELINE.phases if s.config], ids=lambda s: s.name)
def test_each_phase_names_the_settings_its_function_parses(spec):
    """pipeline.yaml's `settings:` is what the phase function itself parses its settings with, so
    what the load checks is what the task will read."""
    assert spec.settings is not None
    module_name, _, name = spec.settings.rpartition(".")
    named = getattr(importlib.import_module(module_name), name)
    phase_module = importlib.import_module(spec.module)
    tree = ast.parse(Path(phase_module.__file__).read_text(encoding="utf-8"))
    function = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == spec.function_name)
    used = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "parse_settings":
            used |= {arg.id for arg in node.args if isinstance(arg, ast.Name)}
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            used.add(node.func.id)
    assert any(getattr(phase_module, used_name, None) is named for used_name in used)


def test_a_setting_missing_from_an_older_project_takes_the_package_value(project):
    """`dataraum init` copies the settings files; a setting a newer package adds must not stop the
    project. The project's own values still win, and an ontology is never refilled."""
    spoil(project, "thresholds.yaml", r"^  coverage_min_beyond: .*\n", "")
    spoil(project, "thresholds.yaml", r"^  coverage_in_span: 0\.99", "  coverage_in_span: 0.95")
    spoil(project, "ontologies/general.yaml", r"^    amt: amount\n", "")
    loaded = load_project(project)
    entropy = next(spec for spec in loaded.pipeline.enabled if spec.name == "entropy")
    relationships = loaded.phase_settings(entropy)["relationships"]
    assert relationships["coverage_min_beyond"] == 0.1 and relationships["coverage_in_span"] == 0.95
    semantic = next(spec for spec in loaded.pipeline.enabled if spec.name == "semantic")
    assert "amt" not in loaded.phase_settings(semantic)["general"]["abbreviations"]


def test_a_passed_check_is_remembered_only_where_state_exists_and_a_later_bad_value_still_stops(project):
    load_project(project)
    assert not (project / "state").exists()  # a load creates no state folder
    (project / "state").mkdir()
    load_project(project)
    assert (project / "state" / ".settings_checked").is_file()
    spoil(project, "thresholds.yaml", r"^  blocked: 0\.7", "  blocked: -0.5")
    with pytest.raises(ConfigError, match="readiness.blocked"):
        load_project(project)
