"""Phases on a Dask cluster (`executor: dask` in runtime.yaml, or `dataraum run --executor dask`).

The doit run stays the head: it plans, checks what is up to date and commits each finished task
at once, as in a local run. Only where a phase runs changes: each task's action (the runner's
`run_in_subprocess`) asks phases.engine.launch for a phase process, and with this executor
installed there the request goes to a Dask worker, which starts the phase in a process of its
own exactly as a local run does (launch.run_phase_process, the warm path included) and returns
its exit code and output. doit's threads keep as many tasks in flight as `-n` says; a phase
that crashes fails only its task; a worker that dies mid-task makes Dask run the task again
elsewhere (after `distributed.scheduler.allowed-failures` deaths the task fails and reruns next
time).

Workers read and write the project's folder on shared storage; a worker that mounts it at
another path than the head is told so by `worker_root` in runtime.yaml or DATARAUM_WORKER_ROOT
in its own environment. Manifests hold only relative paths, so they are the same either way.
dask and distributed are an optional extra: `pip install 'dataraum-context[cluster]'`."""

from __future__ import annotations

import logging
import multiprocessing
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

try:
    import fcntl
except ImportError:  # Windows: no lock, one attempt at a time is then up to the user
    fcntl = None  # type: ignore[assignment]

from phases.core.config import DB_URL_ENV, EXECUTOR_ENV, SCHEDULER_ENV, RuntimeSettings, load_runtime
from phases.core.errors import ConfigError
from phases.core.layout import task_dir
from phases.engine import launch
from phases.engine.launch import Finished

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

WORKER_ROOT_ENV = "DATARAUM_WORKER_ROOT"  # on a worker: the project folder as that machine mounts it
FORWARDED_ENV = (DB_URL_ENV,)  # the head's settings a worker's phase must share (the rest is in the project)
CONNECT_TIMEOUT_S = 10
RETRY_AFTER_S = 60  # a failed connection is not tried again for this long: each task would wait the timeout
ORPHAN_QUIET_S = 1.0  # a phase process whose worker died is gone within 0.5 s (launch's watchdog)
ORPHAN_WAIT_S = 5.0
LOCAL_THREADS = 64  # a LocalCluster worker's threads: each only waits on a phase process; doit's -n limits them

Entry = Callable[[list[str]], int]


class ExecutorError(ConfigError):
    """The cluster cannot be used: the extra is missing or the scheduler does not answer (exit 2)."""


def run_on_worker(entry: Entry, argv: list[str], env: dict[str, str], worker_root: str | None) -> tuple[Finished, str]:
    """On a worker: run the phase as a local run would, with the project at this machine's path.
    Returns the phase process's result and the JSON error record it wrote ('' if none); the
    head writes that where its runner expects it."""
    # Dask marks its worker processes daemonic, and multiprocessing refuses children to a daemonic
    # process; the phase process dies with the worker through launch's own watchdog instead.
    multiprocessing.current_process()._config["daemon"] = False  # type: ignore[attr-defined]
    argv = list(argv)
    root = os.environ.get(WORKER_ROOT_ENV) or worker_root
    if root:
        argv[argv.index("--root") + 1] = root
    final = _task_folder(argv)
    with _one_attempt(final):
        if final is not None:
            _wait_for_orphans(final.with_name(f".{final.name}.staging"))  # the runner's (runner._produce)
        with tempfile.TemporaryDirectory(prefix="dataraum-worker-") as scratch:
            error_file = Path(scratch) / "error.json"
            if "--error-file" in argv:
                argv[argv.index("--error-file") + 1] = str(error_file)
            finished = launch.run_phase_process(entry, argv, env)
            record = error_file.read_text(encoding="utf-8") if error_file.is_file() else ""
    return finished, record


def _task_folder(argv: list[str]) -> Path | None:
    """The task's folder, from the runner's arguments: --root ROOT PHASE SOURCE [TABLE] [--error-file F]."""
    names, i = [], 0
    while i < len(argv):
        if argv[i] in ("--root", "--error-file"):
            i += 2
            continue
        names.append(argv[i])
        i += 1
    if len(names) not in (2, 3) or "--root" not in argv:
        return None
    return task_dir(Path(argv[argv.index("--root") + 1]), names[1], names[0], names[2] if len(names) == 3 else None)


@contextmanager
def _one_attempt(final: Path | None) -> Iterator[None]:
    """Hold the task's lock file (beside its folder, on the shared storage) while an attempt runs.
    When the head dies, Dask forgets its tasks but cannot stop the ones running: their phases run
    on to the end. A rerun of such a task waits here for that first attempt to end, rather than
    write the same staging folder at the same time."""
    if final is None or fcntl is None:
        yield
        return
    final.parent.mkdir(parents=True, exist_ok=True)
    with (final.parent / f".{final.name}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released by the OS if this worker dies
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _wait_for_orphans(staging: Path) -> None:
    """A task Dask runs again because its worker died may meet the first attempt's phase process
    still writing the task's staging folder (it dies within half a second of its worker, whose
    lock the OS released at once). Wait until that folder, if any, has been still for a second."""
    deadline = time.monotonic() + ORPHAN_WAIT_S
    while time.monotonic() < deadline:
        try:
            changed = max(p.stat().st_mtime for p in (staging, *staging.iterdir()))
        except (FileNotFoundError, NotADirectoryError):
            return
        if time.time() - changed >= ORPHAN_QUIET_S:
            return
        time.sleep(0.1)


class DaskExecutor:
    """Sends each phase process to a worker of the cluster at `scheduler` (None: a LocalCluster
    started on first use). Thread-safe: doit's threads call it at once."""

    def __init__(self, scheduler: str | None, worker_root: str | None) -> None:
        self.scheduler = scheduler
        self.worker_root = worker_root
        self._lock = threading.Lock()
        self._client: Client | None = None
        self._cluster: LocalCluster | None = None
        self._failed: tuple[float, ExecutorError] | None = None  # when connecting last failed, and why

    def key(self) -> tuple[str | None, str | None]:
        return self.scheduler, self.worker_root

    def client(self) -> Client:
        """The connection, made once; an absent extra or a silent scheduler is an ExecutorError."""
        with self._lock:
            if self._client is None:
                if self._failed is not None and time.monotonic() - self._failed[0] < RETRY_AFTER_S:
                    raise self._failed[1]
                try:
                    self._client = self._connect()
                except ExecutorError as exc:
                    self._failed = time.monotonic(), exc
                    raise
            return self._client

    def _connect(self) -> Client:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ExecutorError("executor dask needs dask and distributed: pip install "
                                "'dataraum-context[cluster]'") from None
        if self.scheduler is None:
            # ":0": the HTTP servers on free ports (8787 may be taken; None still tries it and warns)
            self._cluster = LocalCluster(n_workers=1, threads_per_worker=LOCAL_THREADS, processes=True,
                                         dashboard_address=":0", worker_dashboard_address=":0",
                                         silence_logs=logging.ERROR)
            return Client(self._cluster)
        try:
            return Client(self.scheduler, timeout=CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ExecutorError(f"cannot reach the Dask scheduler at {self.scheduler} ({reason}); start it "
                                f"(dask scheduler) or fix scheduler in config/runtime.yaml or --scheduler") from None

    def __call__(self, entry: Entry, argv: list[str]) -> Finished:
        try:
            client = self.client()
        except ExecutorError as exc:
            return Finished(1, "", f"{exc}\n")
        env = {name: os.environ[name] for name in FORWARDED_ENV if name in os.environ}
        future = client.submit(run_on_worker, entry, argv, env, self.worker_root, pure=False)
        try:
            finished, record = future.result()
        except Exception as exc:  # KilledWorker, a lost scheduler: the task is not done, it reruns next time
            return Finished(1, "", f"the Dask cluster could not run the phase ({type(exc).__name__}: {exc}); "
                                   "its task is not done and reruns next time\n")
        if record and "--error-file" in argv:
            Path(argv[argv.index("--error-file") + 1]).write_text(record, encoding="utf-8")
        return finished

    def close(self) -> None:
        with self._lock:
            client, cluster, self._client, self._cluster = self._client, self._cluster, None, None
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()


def select(runtime: RuntimeSettings) -> None:
    """Make launch send phases where `runtime` says: to Dask (connecting on first use) or here.
    Called whenever the pipeline's tasks are made, so a settings change takes effect at the next
    run; an executor already in place for the same cluster is kept."""
    current = launch.remote
    if runtime.executor == "dask":
        wanted = (runtime.scheduler, runtime.worker_root)
        if isinstance(current, DaskExecutor) and current.key() == wanted:
            return
        launch.remote = DaskExecutor(*wanted)
    else:
        launch.remote = None
    if isinstance(current, DaskExecutor):
        current.close()


def prepare(root: Path, executor: str | None = None, scheduler: str | None = None) -> DaskExecutor | None:
    """For one command's run: `executor` and `scheduler` (given on its command line) win over
    runtime.yaml, for the whole process (through DATARAUM_EXECUTOR and DATARAUM_SCHEDULER, which
    the project loader reads); with executor dask, connect now, so an unreachable scheduler stops
    the run before any task starts (ExecutorError, exit 2). Returns the executor to close()."""
    if scheduler is not None:
        os.environ[SCHEDULER_ENV] = scheduler
        executor = executor or "dask"
    if executor is not None:
        os.environ[EXECUTOR_ENV] = executor
    runtime = load_runtime(root / "config")
    select(runtime)
    chosen = launch.remote
    if not isinstance(chosen, DaskExecutor):
        return None
    chosen.client()
    return chosen


def shutdown() -> None:
    """Close the installed executor's connection (and its LocalCluster)."""
    current, launch.remote = launch.remote, None
    if isinstance(current, DaskExecutor):
        current.close()


def describe(executor: DaskExecutor) -> str:
    """Where the phases go, for a note on the command line: the scheduler and its workers."""
    info = executor.client().scheduler_info()
    workers = info.get("workers", {})
    threads = sum(int(worker.get("nthreads", 0)) for worker in workers.values())
    where = executor.scheduler or f"a LocalCluster at {info.get('address')}"
    return f"executor: dask, {where}, {len(workers)} worker(s), {threads} thread(s)"
