"""Heavier corruption must never give fewer findings (issue 12, item 6): the same small ledger
(bench/ledger.py), clean, lightly (3%) and heavily (30%) corrupted by bench/inject.py, run through
the whole pipeline by doit as three sources of one project. The injector hits a superset of rows
at a higher rate, so every finding of a lower rate has at least as much evidence at a higher one:
no dimension of finding may lose findings, and no injection found by its own finding at a lower
rate may be missed at a higher one (bench/eval_injected.py's strict judgement)."""

from __future__ import annotations

import importlib
import json
import shutil
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from tests.conftest import REPO, run_doit

pytestmark = pytest.mark.slow

BENCH = REPO / "bench"
RATES = (0.0, 0.03, 0.3)
SEED = 11  # its plan holds every kind of injection on this ledger (tests/test_injector.py checks it)


def bench(name: str) -> ModuleType:
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))  # bench/ is a folder of scripts, not a package
    return importlib.import_module(name)


def source(rate: float) -> str:
    return f"r{round(rate * 1000):03d}"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    inject, ledger = bench("inject"), bench("ledger")
    root = tmp_path_factory.mktemp("monotone")
    ledger.make_ledger(root / "clean", seed=3, entries_count=250)
    shutil.copytree(REPO / "config", root / "config")
    shutil.copy(REPO / "dodo.py", root / "dodo.py")
    sources = {}
    for rate in RATES:
        inject.inject(root / "clean", root / "data" / source(rate), rate, SEED)
        sources[source(rate)] = {"path": str(root / "data" / source(rate))}
    (root / "config" / "sources.yaml").write_text(yaml.safe_dump({"sources": sources}))
    run = run_doit(root, "-n", "2", timeout=1800)  # about a minute on an idle 2-core machine; far more under load
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return root


def scores(project: Path, rate: float) -> dict:
    return json.loads((project / "state" / source(rate) / "entropy" / "entropy_scores.json").read_text())


def dimensions(project: Path, rate: float) -> Counter:
    return Counter(o["dimension"] for o in scores(project, rate)["objects"])


def found(project: Path, rate: float) -> set[str]:
    """Injections found by a finding of their own that reaches the investigate threshold."""
    judge = bench("eval_injected")
    truth = json.loads((project / "data" / source(rate) / "injected.json").read_text())
    run = judge.score_run(SEED, rate, project / "state" / source(rate), truth, judge.investigate_threshold(REPO))
    return {v.key for v in run.verdicts if v.strict}


def pairs() -> list[tuple[float, float]]:
    """Consecutive rates. (30% junk once turned the debit column into text; junk-tolerant typing keeps it numeric.)"""
    return list(zip(RATES, RATES[1:], strict=False))


def test_corruption_adds_findings_to_the_clean_ledger(project: Path):
    assert sum(dimensions(project, RATES[-1]).values()) > sum(dimensions(project, 0.0).values())


@pytest.mark.parametrize(("low", "high"), pairs())
def test_the_number_of_findings_never_falls_as_the_rate_rises(project: Path, low: float, high: float):
    assert sum(dimensions(project, high).values()) >= sum(dimensions(project, low).values())


@pytest.mark.parametrize(("low", "high"), pairs())
def test_no_dimension_loses_findings_as_the_rate_rises(project: Path, low: float, high: float):
    before, after = dimensions(project, low), dimensions(project, high)
    assert {d: (n, after[d]) for d, n in before.items() if after[d] < n} == {}


@pytest.mark.parametrize(("low", "high"), pairs())
def test_an_injection_found_at_a_lower_rate_is_found_at_a_higher_one(project: Path, low: float, high: float):
    assert found(project, low) - found(project, high) == set()
