"""Code fingerprints follow the artifact contract: an edit to one phase's algorithm reruns that
phase alone, an edit to a record reruns exactly the phases that read or write it. Run for real:
doit over a copy of the package, edited between runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import REPO, run_doit

pytestmark = pytest.mark.slow

CUSTOMERS = "id,name,region\n" + "".join(f"{i},Customer {i},{'north' if i % 2 else 'south'}\n" for i in range(1, 21))
ORDERS = "order_id,customer_id,amount,ordered\n" + "".join(
    f"{i},{i % 20 + 1},{10 + i * 3.5:.2f},2024-{i % 12 + 1:02d}-{i % 27 + 1:02d}\n" for i in range(1, 121)
)
SOURCE_PHASES = ("relationships", "correlations", "topology", "semantic", "slicing", "business_cycles", "validation",
                 "entropy", "metrics", "context")


def append_comment(path: Path) -> None:
    path.write_text(path.read_text(encoding="utf-8") + "\n# an edit that changes nothing but the text\n")


@pytest.fixture
def copied_package(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A project over two small tables, and a copy of the package that the runs import first."""
    package = tmp_path / "package"
    shutil.copytree(REPO / "phases", package / "phases", ignore=shutil.ignore_patterns("__pycache__"))
    root = tmp_path / "project"
    shutil.copytree(REPO / "config", root / "config")
    shutil.copy(REPO / "dodo.py", root / "dodo.py")
    (root / "data").mkdir()
    (root / "data" / "customers.csv").write_text(CUSTOMERS)
    (root / "data" / "orders.csv").write_text(ORDERS)
    (root / "config" / "sources.yaml").write_text("sources:\n  s:\n    path: data\n")
    env = {"PYTHONPATH": str(package)}
    first = run_doit(root, "-n", "2", timeout=300, env=env)
    assert first.returncode == 0, first.stderr
    assert {f"{p}:s" for p in SOURCE_PHASES} <= first.ran
    return root, env


def test_a_comment_in_the_relationship_search_reruns_only_the_relationships_task(copied_package):
    root, env = copied_package
    append_comment(Path(env["PYTHONPATH"]) / "phases" / "structure" / "key_candidates.py")
    again = run_doit(root, "-n", "2", timeout=300, env=env)
    assert again.returncode == 0, again.stderr
    # its output is byte-identical, so doit's early cutoff skips everything downstream
    assert again.ran == {"relationships:s"}


def test_a_comment_in_a_record_reruns_the_phases_that_read_or_write_it(copied_package):
    root, env = copied_package
    append_comment(Path(env["PYTHONPATH"]) / "phases" / "artifacts" / "relationships.py")
    again = run_doit(root, "-n", "2", timeout=300, env=env)
    assert again.returncode == 0, again.stderr
    assert again.ran == {f"{p}:s" for p in ("relationships", "correlations", "topology", "semantic",
                                             "business_cycles", "validation", "entropy", "metrics",
                                             "context")}
