"""The first hour of a new user (issue 17): a project made by `dataraum init`, `dataraum run PATH`
from anywhere, and no dead end on the way. Each test names the dead end it closes. Most use the
tiny demo project (in-process doit, a few seconds); the wheel installed into a fresh virtual
environment outside the repository, and plain `doit` in a subprocess, are in the slow lane."""

from __future__ import annotations

import filecmp
import io
import json
import os
import re
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from phases.core.config import DEFAULT_CONFIG
from phases.core.dag import load_pipeline
from phases.engine.status import Cell, PipelineStatus, Reason, TaskStatus
from phases.interfaces import api
from phases.interfaces.cli import cli
from phases.interfaces.doit_bridge import dodo_namespace, run_doit
from phases.interfaces.scaffold import DODO_TEXT
from phases.interfaces.terminal import show, status_report
from tests.conftest import REPO, run_upstream
from tests.conftest import run_doit as doit_subprocess
from tests.test_api import ALL, restored_project, write_scores

ADDED = "state/added_sources.yaml"


def dataraum(*args: str, root: Path | None = None, **kwargs):
    return CliRunner().invoke(cli, [*(["--root", str(root)] if root else []), *args], **kwargs)


@pytest.fixture
def ran_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return restored_project(tmp_path_factory)


def folder_of_csv(path: Path, **tables: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name, text in tables.items():
        (path / f"{name}.csv").write_bytes(text.encode("latin-1") if isinstance(text, str) else text)
    return path


# ---------------------------------------------------------------- the package holds the defaults


def test_the_default_configuration_in_the_package_is_the_repository_config():
    names = sorted(p.relative_to(REPO / "config") for p in (REPO / "config").rglob("*.yaml"))
    assert names == sorted(p.relative_to(DEFAULT_CONFIG) for p in DEFAULT_CONFIG.rglob("*.yaml"))
    assert all(filecmp.cmp(REPO / "config" / n, DEFAULT_CONFIG / n, shallow=False) for n in names)


def test_the_repository_dodo_py_is_the_one_init_writes():
    assert (REPO / "dodo.py").read_text(encoding="utf-8") == DODO_TEXT


def test_init_makes_a_project_whose_tasks_load_at_once(tmp_path, monkeypatch):
    """Dead end: an installed package could not run at all; there was no `init`."""
    monkeypatch.chdir(tmp_path)
    result = dataraum("init", "shop")
    assert result.exit_code == 0, result.output
    root = tmp_path / "shop"
    assert "cd shop" in result.stdout
    assert {p.name for p in root.iterdir()} == {"dodo.py", "config", "data", "README.md", ".gitignore"}
    assert "state/" in (root / ".gitignore").read_text()
    for path in DEFAULT_CONFIG.rglob("*.yaml"):
        if path.name != "sources.yaml":
            assert filecmp.cmp(path, root / "config" / path.relative_to(DEFAULT_CONFIG), shallow=False)
    status = api.pipeline_status(root=root)
    assert status.sources == ("example",)
    assert {t.table for t in status.tasks if t.table} == {"customers", "orders"}
    assert {t.state for t in status.tasks} == {"never run"}
    again = dataraum("init", "shop")
    assert again.exit_code == 2
    assert "already holds a dataraum project" in again.stderr


# ---------------------------------------------------------------- dataraum run PATH from anywhere


def test_run_path_outside_a_project_keeps_the_project_beside_the_data(tmp_path, monkeypatch):
    """Dead end: `dataraum run data` outside a project answered 'no dataraum project'."""
    monkeypatch.chdir(tmp_path)
    data = folder_of_csv(tmp_path / "Sales Data", q1="id,v\n1,x\n")
    found = api.source_for_path(Path("Sales Data"))
    assert (found.root, found.source, found.created) == (data / ".dataraum", "sales_data", True)
    assert "path: \"..\"" in (found.root / "config" / "sources.yaml").read_text()
    assert api.source_for_path(data) == api.PathSource(found.root, "sales_data", created=False, added=False)
    below = api.locate()  # from the plain folder above the data
    assert below.root == found.root
    assert below.note == "project: Sales Data/.dataraum (--root chooses another)"
    assert api.locate(data) == api.Located(found.root)  # from the data folder itself: found, nothing to say


def test_run_path_with_root_or_inside_a_project_adds_it_to_that_project(demo_project, tmp_path, monkeypatch):
    elsewhere = folder_of_csv(tmp_path / "elsewhere", x="id\n1\n")
    added = api.source_for_path(elsewhere, root=demo_project)
    assert (added.root, added.source, added.created, added.added) == (demo_project, "elsewhere", False, True)
    monkeypatch.chdir(demo_project)
    inside = api.source_for_path(demo_project / "data")  # the project's own source: reused
    assert (inside.root, inside.source, inside.added) == (demo_project, "demo", False)


# ---------------------------------------------------------------- no dead ends


def test_context_without_source_reads_the_only_or_the_last_run_source_and_says_which(ran_project, tmp_path):
    """Dead end: after `dataraum run PATH`, context and entropy failed until --source was given."""
    for source in ("demo", "other"):
        folder = ran_project / "state" / source / "entropy"
        folder.mkdir(parents=True)
        (ran_project / "state" / source / "context").mkdir()
        (ran_project / "state" / source / "context" / "context.md").write_text(f"# Context of {source}\n")
        write_scores(folder, ("a", "v", 0.5, "investigate", ("mixed units",)))
    only = dataraum("context", root=ran_project)
    assert (only.exit_code, only.stdout) == (0, "# Context of demo\n")
    assert "source: demo (the only source; --source chooses another)" in only.stderr
    api.add_source(folder_of_csv(tmp_path / "other", x="id\n1\n"), root=ran_project)
    assert api.run_pipeline("other", root=ran_project).exit_code == 0
    last = dataraum("context", root=ran_project)
    assert (last.exit_code, last.stdout) == (0, "# Context of other\n")
    assert "source: other (the last one run; --source chooses another)" in last.stderr
    assert dataraum("entropy", root=ran_project).stdout.splitlines()[0].split() == ["investigate", "0.50", "a.v"]


def test_sources_lists_adds_and_removes_an_added_source_with_its_tasks_and_state(ran_project, tmp_path):
    """Dead end: no command dropped an added source (only hand-editing state/added_sources.yaml)."""
    folder = folder_of_csv(tmp_path / "other", x="id\n1\n")
    added = dataraum("sources", "add", str(folder), "--name", "extra", root=ran_project)
    assert "added source extra" in added.stdout
    assert api.run_pipeline("extra", root=ran_project).exit_code == 0
    assert "extra (added)" in dataraum("sources", root=ran_project).stdout
    extra = {s.name: s for s in api.list_sources(root=ran_project).sources}["extra"]
    assert (extra.path, extra.origin, extra.tables, extra.problem) == (str(folder), ADDED, 1, None)
    assert extra.last_run is not None
    removed = dataraum("sources", "remove", "extra", "--delete-state", root=ran_project)
    assert removed.exit_code == 0, removed.output
    assert removed.stdout.startswith("removed source extra: forgot 3 task(s), deleted ")
    assert not (ran_project / "state/extra").exists()
    assert "extra" not in (ran_project / "state/added_sources.yaml").read_text()
    assert api.pipeline_status(root=ran_project).sources == ("demo",)
    assert api.add_source(folder, name="extra", root=ran_project).new  # and back: its tasks were forgotten
    assert {t.reasons[0].kind for t in api.pipeline_status("extra", root=ran_project).tasks} == {"forgotten"}
    refused = dataraum("sources", "remove", "demo", root=ran_project)
    assert refused.exit_code == 2
    assert "defined in config/sources.yaml: delete its entry there" in refused.stderr


def test_a_source_whose_folder_is_gone_is_reported_missing_for_itself_alone(ran_project, tmp_path):
    """Dead end: once an added source's folder was gone, every command failed at load."""
    folder = folder_of_csv(tmp_path / "gone", x="id\n1\n")
    api.add_source(folder, root=ran_project)
    shutil.rmtree(folder)
    status = dataraum("status", root=ran_project)
    assert status.exit_code == 0, status.output
    assert "skipped source gone: state/added_sources.yaml: source 'gone': its folder" in status.stdout
    result = api.run_pipeline(root=ran_project)
    assert (result.exit_code, {t.task for t in result.tasks}) == (0, set(ALL))
    assert "is missing (moved or deleted)" in result.skipped["gone"]
    asked = dataraum("run", "--source", "gone", root=ran_project)
    assert asked.exit_code == 2
    assert "`dataraum sources remove gone`" in asked.stderr
    assert "cannot run" in dataraum("sources", root=ran_project).stdout
    assert dataraum("sources", "remove", "gone", root=ran_project).exit_code == 0


def bad_source(root: Path, tmp_path: Path) -> None:
    """A source whose one file the demo's count phase cannot read (not UTF-8): a failing task."""
    api.add_source(folder_of_csv(tmp_path / "bad", x=b"id\n\xff\xfe\n"), root=root)


def test_one_failing_source_stops_only_its_own_tasks(ran_project, tmp_path):
    """Dead end: one failing source stopped the tasks of every source."""
    bad_source(ran_project, tmp_path)
    result = api.run_pipeline(skip_completed=False, max_parallel=2, root=ran_project)
    outcomes = {t.task: t.outcome for t in result.tasks}
    assert outcomes["count:bad.x"] == "failed"
    assert (outcomes["double:bad.x"], outcomes["total:bad"]) == ("blocked", "blocked")
    assert {outcomes[name] for name in ALL} == {"ran"}
    assert result.exit_code == 1


def rename_total_to_context(root: Path) -> None:
    """The demo's per-source phase becomes the one that writes the context (state/demo/context/)."""
    pipeline = root / "config" / "pipeline.yaml"
    pipeline.write_text(pipeline.read_text().replace("\n  total:\n", "\n  context:\n"))


def test_context_and_entropy_say_when_they_are_stale_and_refuse_with_fresh(demo_project, monkeypatch):
    """Dead end: `dataraum context` printed an old context, with no warning, after a change or a failure."""
    rename_total_to_context(demo_project)
    assert api.run_pipeline(root=demo_project).exit_code == 0
    (demo_project / "state/demo/context/context.md").write_text("# Context of demo\n")
    folder = demo_project / "state/demo/entropy"  # the scores' phase, absent from the demo
    folder.mkdir()
    write_scores(folder, ("a", "v", 0.5, "investigate", ()))
    current = dataraum("context", "--fresh", root=demo_project)
    assert (current.exit_code, current.stdout) == (0, "# Context of demo\n")
    assert "stale" not in current.stderr
    with (demo_project / "data" / "b.csv").open("a") as handle:
        handle.write("3,z\n")
    stale = dataraum("context", root=demo_project)
    assert (stale.exit_code, stale.stdout) == (0, "# Context of demo\n")
    assert ("warning: the context of demo is stale: count:demo.b will run (file changed: data/b.csv)"
            in stale.stderr)
    for command in ("context", "entropy"):
        refused = dataraum(command, "--fresh", root=demo_project)
        assert refused.exit_code == 1
        assert "error: the context of 'demo' is stale: count:demo.b will run" in refused.stderr
    monkeypatch.setenv("DEMO_FAIL", "double")
    assert api.run_pipeline(root=demo_project).exit_code == 1  # the context task does not run: the old one stays
    failed = dataraum("context", root=demo_project)
    assert "stale: double:demo.b failed (failed last time: " in failed.stderr


def status_of_the_real_pipeline(sources: int) -> PipelineStatus:
    """Every phase of config/pipeline.yaml for the example's tables, in every state with long labels."""
    pipeline = load_pipeline(REPO / "config" / "pipeline.yaml", check_functions=False)
    tables = ["master_txn_table", "customer_table", "product_service_table", "payment_method", "vendor_table"]
    names = [f"finance_example_{n}" if n else "finance_example" for n in range(sources)]
    states = ["done", "will run", "failed", "never run"]
    tasks = []
    for s, source in enumerate(names):
        for p, spec in enumerate(pipeline.enabled):
            for t, table in enumerate(tables if spec.scope == "table" else [None]):
                state = states[(s + p + t) % 4]
                reasons = (Reason("upstream", f"typing:{source}.{table}"),) * 5 if state == "will run" else ()
                tasks.append(TaskStatus(f"{spec.name}:{source}" + (f".{table}" if table else ""), spec.name, source,
                                        table, state, reasons))  # type: ignore[arg-type]
    return PipelineStatus(REPO, tuple(names), tuple(p.name for p in pipeline.enabled), tuple(tasks))


@pytest.mark.parametrize("sources", [1, 3])
@pytest.mark.parametrize("by_table", [False, True])
def test_the_status_of_the_real_pipeline_fits_80_columns(sources, by_table):
    """Dead end: the status grid was 165 characters wide and wrapped on an 80-column terminal."""
    status = status_of_the_real_pipeline(sources)
    assert isinstance(status.cells()[0], Cell)
    out = Console(file=io.StringIO(), width=80, color_system=None)
    show(out, *status_report(status, by_table, out.width))
    lines = out.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert max(len(line) for line in lines) <= 80
    assert any("statistical_quality" in line for line in lines)  # every phase is named
    assert any("will run" in line or "●" in line for line in lines)


def test_plain_doit_ends_with_a_summary_line_and_the_context_path(demo_project, tmp_path):
    """Dead end: `doit -n 4` ended with no summary and no path to the result."""
    rename_total_to_context(demo_project)
    out = tmp_path / "doit.out"  # in this process doit writes to the stdout it found at import: a file instead
    run_doit(demo_project, dodo_namespace(demo_project), "run", ["-n", "2", "--output-file", str(out)])
    lines = out.read_text().splitlines()
    assert lines[-2].startswith("ran 7, up to date 0, failed 0 in ")
    assert lines[-1] == f"context of demo: not produced yet ({demo_project}/state/demo/context/context.md is missing)"


def test_profile_draws_a_column_and_a_table_in_80_columns(tmp_path, monkeypatch):
    """Dead end: one column's profile (distribution, top values, nulls, findings) needed opening JSON."""
    monkeypatch.setenv("COLUMNS", "80")
    rows = "\n".join(f"{i},{(i * 37) % 200 + 9.5:.2f},{('books', 'garden', 'toys')[i % 3]}" for i in range(1, 61))
    root = tmp_path / "p"
    run_upstream(root, {"orders": "id,amount,category\n" + rows + "\n,,\n"}, ("import", "typing", "statistics"))
    (root / "dodo.py").write_text(DODO_TEXT)
    amount = dataraum("profile", "orders.amount", root=root)
    assert amount.exit_code == 0, amount.output
    assert "type decimal · 61 rows · nulls 1 (1.6%) · distinct 60 (98.4%)" in amount.stdout
    assert "histogram" in amount.stdout and "█" in amount.stdout
    assert "readiness: not scored yet" in amount.stdout
    category = dataraum("profile", "orders.category", root=root).stdout
    assert "top values (of 60 non-null)" in category
    assert re.search(r"books\s+█+\s+20\s+33\.3%", category)
    table = dataraum("profile", "orders", root=root).stdout
    assert all(name in table for name in ("id", "amount", "category", "61 rows", "3 columns"))
    for output in (amount.stdout, category, table):
        assert max(len(line) for line in output.splitlines()) <= 80
    unknown = dataraum("profile", "orders.Amount", root=root)
    assert (unknown.exit_code, "did you mean 'amount'?" in unknown.stderr) == (2, True)
    assert dataraum("profile", "nope", root=root).exit_code == 2


def test_profile_before_the_statistics_phase_says_what_to_run(demo_project):
    result = dataraum("profile", "a.x", root=demo_project)
    assert result.exit_code == 1
    assert "table 'a' of source 'demo' has no profile yet; run `dataraum run --source demo --phase statistics`" \
        in result.stderr


# ---------------------------------------------------------------- the slow lane


@pytest.mark.slow
def test_plain_doit_goes_on_past_a_failing_source_and_sums_up(demo_project, tmp_path):
    """Dead end: under a plain `doit -n 4`, one failing source stopped every source."""
    bad_source(demo_project, tmp_path)
    result = doit_subprocess(demo_project, "-n", "4", timeout=300)
    assert result.returncode != 0
    assert set(ALL) <= result.ran
    assert "\nran 7, up to date 0, failed 1, not run 2 in " in result.stdout
    assert "\ncontext of bad: not produced yet" in result.stdout


def build_wheel(into: Path) -> Path:
    """A wheel built from a copy of the package's sources (a build writes build/ and egg-info next to them)."""
    source = into / "src"
    for name in ("phases", "config"):
        shutil.copytree(REPO / name, source / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(into / "dist"), str(source)],
                   check=True, capture_output=True, timeout=600)
    (wheel,) = (into / "dist").glob("dataraum_context-*.whl")
    return wheel


@pytest.mark.slow
def test_a_wheel_installed_outside_the_repository_runs_a_new_project_and_a_plain_folder(tmp_path):
    """The issue's check: a wheel in a fresh virtual environment, `dataraum init proj`, a tiny source
    added and run, then `dataraum run FOLDER` from a plain folder; both give a context, and
    `dataraum context` without --source prints it."""
    wheel = build_wheel(tmp_path / "build")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python, dataraum_bin = env_dir / "bin" / "python", env_dir / "bin" / "dataraum"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True, capture_output=True,
                   timeout=900)
    home = tmp_path / "home"  # a plain folder: no project, nothing of the repository on the path
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{env_dir / 'bin'}:{env['PATH']}"

    def sh(*args: str, cwd: Path = home) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
        assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
        return done

    imported = sh(str(python), "-c", "import phases; print(phases.__file__)").stdout
    assert str(env_dir) in imported  # the installed package, not the repository
    sh(str(dataraum_bin), "init", "proj")
    folder_of_csv(home / "tiny", items="id,name,price\n1,pen,1.50\n2,ink,3.20\n3,pad,2.10\n4,pen,1.50\n")
    sh(str(dataraum_bin), "sources", "add", "../tiny", cwd=home / "proj")
    ran = sh(str(python), "-m", "doit", "-n", "4", cwd=home / "proj")
    assert "failed 0" in ran.stdout and "context of tiny: state/tiny/context/context.md" in ran.stdout
    assert sh(str(dataraum_bin), "context", "--source", "example", cwd=home / "proj").stdout.startswith("# ")
    folder_of_csv(home / "exports", sales="day,amount\n2024-01-01,10.5\n2024-01-02,12.0\n2024-01-03,9.9\n")
    plain = sh(str(dataraum_bin), "run", "exports")
    assert "project: created exports/.dataraum" in plain.stderr
    assert (home / "exports/.dataraum/state/exports/context/context.md").is_file()
    context = sh(str(dataraum_bin), "context")  # from the plain folder, no --source
    assert context.stdout.startswith("# ") and "exports" in context.stdout
    assert "project: exports/.dataraum" in context.stderr
    listed = json.loads(sh(str(dataraum_bin), "status", "--json", cwd=home / "exports").stdout)
    assert listed["counts"]["done"] == len(listed["tasks"])
