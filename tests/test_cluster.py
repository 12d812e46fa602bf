"""The Dask executor with the real parts: a `dask scheduler` and two `dask worker` processes on
localhost, and a LocalCluster. A run through them must leave every manifest byte for byte as a
local run does, also when a worker is killed in the middle of it."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from phases.core.config import EXECUTOR_ENV, SCHEDULER_ENV, load_runtime
from phases.core.errors import ConfigError
from phases.engine import dask_executor, launch
from phases.engine.project import load_project
from phases.engine.tasks import generate_tasks
from tests.conftest import DATA, make_project, run_doit
from tests.test_example_pipeline import make_repo_project

distributed = pytest.importorskip("distributed", reason="the cluster tests need pip install -e '.[cluster]'")

# --- settings, without a cluster ------------------------------------------------------------


@pytest.mark.parametrize(("text", "message"), [
    ("executor: spark\n", "executor: Input should be 'local' or 'dask'"),
    ("executor: dask\nscheduler: head:8786\n", "scheduler: 'head:8786' is not a scheduler address"),
    ("history_db: history.sqlite\n", "history_db: 'history.sqlite' is not a database URL"),
])
def test_runtime_yaml_refuses_a_bad_executor_setting(tmp_path: Path, text: str, message: str):
    (tmp_path / "runtime.yaml").write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_runtime(tmp_path)


def test_the_environment_chooses_the_executor_over_runtime_yaml(tmp_path: Path, monkeypatch):
    (tmp_path / "runtime.yaml").write_text("executor: local\n")
    monkeypatch.setenv(EXECUTOR_ENV, "dask")
    monkeypatch.setenv(SCHEDULER_ENV, "tcp://head:8786")
    runtime = load_runtime(tmp_path)
    assert (runtime.executor, runtime.scheduler) == ("dask", "tcp://head:8786")


def test_the_executor_never_changes_a_task_signature(demo_project: Path, monkeypatch):
    monkeypatch.syspath_prepend(str(demo_project))  # the demo's phase module
    def signatures() -> dict[str, list]:
        return {f"{t['basename']}:{t['name']}": t["uptodate"][0].config for t in generate_tasks(
            load_project(demo_project)) if t.get("actions")}

    local = signatures()
    (demo_project / "config" / "runtime.yaml").write_text("executor: dask\nscheduler: tcp://head:8786\n")
    assert signatures() == local


def test_selecting_dask_installs_the_executor_without_connecting_and_local_removes_it(tmp_path: Path):
    (tmp_path / "runtime.yaml").write_text("executor: dask\nscheduler: tcp://127.0.0.1:1\n")
    try:
        dask_executor.select(load_runtime(tmp_path))
        installed = launch.remote
        assert isinstance(installed, dask_executor.DaskExecutor) and installed.key() == ("tcp://127.0.0.1:1", None)
        dask_executor.select(load_runtime(tmp_path))
        assert launch.remote is installed  # the same cluster: the same connection
        (tmp_path / "runtime.yaml").write_text("executor: local\n")
        dask_executor.select(load_runtime(tmp_path))
        assert launch.remote is None
    finally:
        dask_executor.shutdown()


def test_a_rerun_after_a_lost_worker_waits_until_the_first_attempt_stopped_writing(tmp_path: Path):
    staging = tmp_path / "state" / "demo" / "count" / ".a.staging"  # a first attempt's, just written
    staging.mkdir(parents=True)
    (staging / "counts.txt").write_text("3")
    argv = ["--root", str(tmp_path), "count", "demo", "a", "--error-file", str(tmp_path / "error.json")]
    assert dask_executor._task_folder(argv) == staging.with_name("a")
    began = time.monotonic()
    dask_executor._wait_for_orphans(staging)
    assert time.monotonic() - began >= dask_executor.ORPHAN_QUIET_S - 0.05
    began = time.monotonic()
    dask_executor._wait_for_orphans(staging)  # still for a second now
    dask_executor._wait_for_orphans(tmp_path / "state" / "demo" / ".total.staging")  # none
    assert time.monotonic() - began < 0.5


def test_a_second_attempt_of_a_task_waits_for_the_first_to_end(tmp_path: Path):
    folder = tmp_path / "state" / "demo" / "double" / "b"
    order: list[str] = []

    def second() -> None:
        with dask_executor._one_attempt(folder):
            order.append("second")

    with dask_executor._one_attempt(folder):
        waiting = threading.Thread(target=second)
        waiting.start()
        time.sleep(0.3)
        order.append("first ends")
    waiting.join(timeout=10)
    assert order == ["first ends", "second"]


# --- a real scheduler and workers -------------------------------------------------------------


@dataclass
class Cluster:
    address: str
    scheduler: subprocess.Popen
    workers: dict[str, subprocess.Popen]


WORKER_SLEEP = 6  # seconds the demo project's double phase sleeps on these workers (their own environment)


def _dask(*args: str, log: Path) -> subprocess.Popen:
    with log.open("w") as out:  # the child keeps its own descriptor
        return subprocess.Popen([sys.executable, "-m", "dask", *args], stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, env={**os.environ, "DEMO_SLEEP": f"double={WORKER_SLEEP}"})


def _wait(check, what: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while not check():
        if time.time() > deadline:
            raise TimeoutError(f"waited {timeout}s for {what}")
        time.sleep(0.1)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """`dask scheduler` on a random port and two `dask worker` processes (no nanny: a killed
    worker stays dead, as a lost machine does)."""
    from distributed import Client

    folder = tmp_path / "cluster"
    folder.mkdir()
    info = folder / "scheduler.json"
    scheduler = _dask("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                      "--scheduler-file", str(info), log=folder / "scheduler.log")
    workers: dict[str, subprocess.Popen] = {}
    try:
        _wait(lambda: info.is_file() and info.stat().st_size > 0, "the scheduler file")
        address = json.loads(info.read_text())["address"]
        for name in ("w1", "w2"):
            workers[name] = _dask("worker", address, "--name", name, "--nthreads", "2", "--no-nanny",
                                  "--no-dashboard", "--host", "127.0.0.1", log=folder / f"{name}.log")
        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
        yield Cluster(address, scheduler, workers)
    finally:
        for process in [*workers.values(), scheduler]:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def local_example(tmp_path_factory) -> Path:
    """The example run locally, the reference every cluster run is compared with."""
    root = make_repo_project(tmp_path_factory.mktemp("local"))
    done = _dataraum(root, "run", "-j", "4", "--plain")
    assert done.returncode == 0, done.stderr
    return root


def _dataraum(root: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "phases", *args], cwd=root, capture_output=True, text=True,
                          timeout=timeout)


def manifests(root: Path) -> dict[str, bytes]:
    state = root / "state"
    return {str(p.relative_to(state)): p.read_bytes() for p in sorted(state.rglob("manifest.json"))}


def assert_same_manifests(root: Path, reference: Path) -> None:
    ours, theirs = manifests(root), manifests(reference)
    assert sorted(ours) == sorted(theirs)
    assert [name for name in ours if ours[name] != theirs[name]] == []


@pytest.fixture
def another_mount(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """A project folder and the same folder at another path, as a worker on another machine would
    mount it: a bind mount where this process may make one (root on Linux), else a symbolic link."""
    root, view = tmp_path / "project", tmp_path / "worker_view"
    root.mkdir()
    view.mkdir()
    mounted = subprocess.run(["mount", "--bind", str(root), str(view)], capture_output=True).returncode == 0
    if not mounted:
        view.rmdir()
        view.symlink_to(root)
    try:
        yield root, view
    finally:
        if mounted:
            subprocess.run(["umount", str(view)], capture_output=True)


@pytest.mark.slow
def test_no_file_of_a_run_names_the_folder_it_ran_in(local_example: Path):
    """So the head and the workers may mount the project at different paths."""
    named = [str(p.relative_to(local_example)) for p in (local_example / "state").rglob("*")
             if p.is_file() and str(local_example).encode() in p.read_bytes()]
    assert named == []


@pytest.mark.slow
def test_the_example_on_a_scheduler_and_two_workers_gives_the_local_manifests(cluster, local_example, another_mount):
    root, view = another_mount
    make_repo_project(root)
    runtime = root / "config" / "runtime.yaml"  # the workers see the project at `view`
    runtime.write_text(re.sub(r"(?m)^worker_root: null", f"worker_root: {view}", runtime.read_text()))
    assert f"worker_root: {view}" in runtime.read_text()
    done = _dataraum(root, "run", "-j", "4", "--plain", "--executor", "dask", "--scheduler", cluster.address)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"executor: dask, {cluster.address}, 2 worker(s), 4 thread(s)" in done.stderr
    assert_same_manifests(root, local_example)
    again = _dataraum(root, "run", "--plain", "--scheduler", cluster.address)
    assert f"ran 0, up to date {len(manifests(root))}, failed 0" in again.stdout


@pytest.mark.slow
def test_a_worker_killed_mid_run_has_its_tasks_rerun_elsewhere_and_the_run_completes(tmp_path, cluster,
                                                                                     local_example):
    from distributed import Client

    root = make_repo_project(tmp_path / "project")
    run = subprocess.Popen([sys.executable, "-m", "phases", "run", "-j", "4", "--plain", "--scheduler",
                            cluster.address], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with Client(cluster.address, timeout=30) as client:
        names = {addr: w["name"] for addr, w in client.scheduler_info(n_workers=-1)["workers"].items()}
        busy: list[str] = []

        def a_worker_is_busy() -> bool:
            busy[:] = [names[addr] for addr, keys in client.processing().items() if keys and addr in names]
            return bool(busy)

        _wait(a_worker_is_busy, "a task on a worker", timeout=120)
        time.sleep(0.5)  # inside its phase, not at its start
        victim = cluster.workers[busy[0]]
        os.killpg(victim.pid, signal.SIGKILL)
    out, err = run.communicate(timeout=600)
    assert victim.wait() == -signal.SIGKILL
    assert run.returncode == 0, out + err
    assert "failed 0" in out, out + "\nSTDERR:\n" + err
    assert_same_manifests(root, local_example)


@pytest.mark.slow
def test_a_head_killed_mid_run_keeps_the_tasks_that_finished(cluster, demo_project: Path, tmp_path: Path):
    reference = make_project(tmp_path / "reference", DATA / "demo_project")
    assert _dataraum(reference, "run", "--plain").returncode == 0
    events = tmp_path / "events.jsonl"
    head = subprocess.Popen([sys.executable, "-m", "phases", "run", "-j", "3", "--plain", "--events", str(events),
                             "--scheduler", cluster.address], cwd=demo_project, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)

    def finished_counts() -> int:
        lines = events.read_text().splitlines() if events.exists() else []
        return sum(1 for e in map(json.loads, lines) if e["event"] == "success" and e["task"].startswith("count:"))

    _wait(lambda: finished_counts() == 3, "the count tasks", timeout=120)
    head.kill()  # SIGKILL: nothing of the head runs after this; the double tasks are on the workers
    head.wait()
    # The double tasks in flight run on to their end on the workers (Dask cannot stop a running
    # task); the rerun starts at once, and each of its attempts waits for the orphaned one.
    again = _dataraum(demo_project, "run", "--plain", "--scheduler", cluster.address)
    assert again.returncode == 0, again.stdout + again.stderr
    ran = {line.split()[1] for line in again.stdout.splitlines() if line.startswith("start")}
    assert ran and not any(task.startswith("count:") for task in ran)
    assert_same_manifests(demo_project, reference)


@pytest.mark.slow
def test_runtime_yaml_sends_a_plain_doit_run_to_a_local_cluster(demo_project: Path, tmp_path: Path):
    reference = run_doit(demo_project, "-n", "2")
    assert reference.returncode == 0, reference.stderr
    root = make_project(tmp_path / "on_dask", DATA / "demo_project")
    (root / "config" / "runtime.yaml").write_text("executor: dask   # no scheduler: a LocalCluster\n")
    done = run_doit(root, "-n", "2", timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(done.ran) == 7
    assert_same_manifests(root, demo_project)


@pytest.mark.slow
def test_an_unreachable_scheduler_is_one_line_and_exit_2(demo_project: Path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = _dataraum(demo_project, "run", "--scheduler", f"tcp://127.0.0.1:{port}", timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in lines[0]
    assert not (demo_project / "state" / "demo").exists()
