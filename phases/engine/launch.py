"""How a task's phase process starts. Each task runs its phase in a process of its own, so a
crash or an out-of-memory kill ends only that process and fails only that task. Starting a
fresh interpreter per task costs a second or more of imports (DuckDB, pydantic, SQLAlchemy and
the project's own phase code), which dominated small sources; so where the platform has it, the
process is forked from a warm server (multiprocessing's forkserver) that imported all of that
once (phases.engine.warm), and a task process starts in milliseconds with nothing to import.
The server holds no DuckDB connection and no open file of the project. It restarts when the
project's code changes, so a long-lived caller such as `dataraum serve` never runs stale code
after an edit (a task started while older tasks still run from the old server gets a fresh
interpreter instead). Without a forkserver (Windows), a fresh interpreter runs
`python -m phases.engine.runner`.

Either way the task process dies with the run that started it: a spawned runner through
PR_SET_PDEATHSIG (runner._die_with_parent); a forked one through a watchdog thread that looks
for the run's process twice a second (its parent is the forkserver, which itself stays up as
long as a task process holds its connection, so a parent-death signal alone would wait
forever).

The one entry point, for any executor that runs a task's phase on this machine:
`run_phase_process(entry, argv) -> Finished`."""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import multiprocessing
import multiprocessing.forkserver
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import spawn
from pathlib import Path
from typing import Any

from phases.core.layout import STATE_DIR
from phases.core.threads import SHARE_ENV, THREADS_ENV, cores, refresh

# The module the warm server imports by name: importing it imports everything tasks need.
WARM_MODULE = "phases.engine.warm"
PACKAGE_DIR = Path(__file__).resolve().parent.parent  # the `phases` package, whose code the server holds
PARENT_ENV = "DATARAUM_PARENT_PID"  # the pid of the process the task process must die with

_lock = threading.Lock()
_context: multiprocessing.context.ForkServerContext | None = None
_running = 0  # task processes this run has started and not yet seen end
_share_file: str | None = None  # the file holding the threads per task now (phases.core.threads)
_served: str | None = None  # the fingerprint of the code the running server imported
_owner: int | None = None  # the process that set up the server (a forked copy must not use it)
_launching = threading.local()  # .task: this thread is starting a task process (see _install_main_skip)
_original_preparation: Callable[[str], dict[str, Any]] | None = None
# A cluster executor (phases.engine.dask_executor) installs itself here: every task's phase then
# runs on a worker, which calls run_phase_process there (where nothing is installed).
remote: Callable[[Callable[[list[str]], int], list[str]], Finished] | None = None


@dataclass(frozen=True)
class Finished:
    returncode: int  # negative: killed by that signal
    stdout: str
    stderr: str


def run_phase_process(entry: Callable[[list[str]], int], argv: list[str],
                      env: Mapping[str, str] | None = None) -> Finished:
    """Run `entry(argv)` (a module-level `main`, as `python -m MODULE ARGV` would) in a process of
    its own, with `env` added to this one's environment, and wait for it."""
    if remote is not None:
        return remote(entry, argv)
    with _slot() as threads:
        environ = {**os.environ, **(env or {}), THREADS_ENV: str(threads), SHARE_ENV: str(_share_file)}
        context = _warm_context()
        if context is None:
            return _spawned(entry.__module__, argv, environ)
        with tempfile.TemporaryDirectory(prefix="dataraum-task-") as scratch:
            out, err, status = (Path(scratch) / name for name in ("stdout", "stderr", "status"))
            process = context.Process(target=_forked_main, args=(entry, argv, str(out), str(err), str(status),
                                                                 environ, os.getcwd(), os.getpid()))
            _launching.task = entry.__module__ != "__main__"  # an entry defined there needs it
            try:
                process.start()
            finally:
                _launching.task = False
            process.join()
            return Finished(_exit_code(status, process.exitcode), _read(out), _read(err))


def _exit_code(status: Path, exitcode: int | None) -> int:
    """The task process's own word on how it ended, else what multiprocessing says. Under load the
    forkserver can fail to relay a child's status, and multiprocessing then reports 255 for a task
    that succeeded (CPython issue 140867); a process that was killed wrote no word of its own."""
    try:
        return int(status.read_text(encoding="ascii"))
    except (OSError, ValueError):
        return exitcode if exitcode is not None else 1


@contextmanager
def _slot() -> Iterator[int]:
    """Count a task process of this run while it runs, and give it the DuckDB threads that
    `threads: auto` means: the cores shared among the tasks running, this one included (a task
    alone on the critical path of a serial chain gets every core; under -j 2 on 2 cores two
    tasks get one each). The share is rewritten into the run's share file at every start and
    end, and the running tasks follow it (phases.core.threads): a task that outlives its
    siblings takes over their cores."""
    global _running
    with _lock:
        _running += 1
        threads = _publish_share()
    try:
        yield threads
    finally:
        with _lock:
            _running -= 1
            _publish_share()


def _publish_share() -> int:
    """Write the threads per task for the tasks running now into the share file (atomically: a
    task process reads it at any moment); return it. Called under `_lock`."""
    global _share_file
    threads = max(1, cores() // max(1, _running))
    if _share_file is None:
        folder = tempfile.mkdtemp(prefix="dataraum-cores-")
        atexit.register(shutil.rmtree, folder, True)
        _share_file = os.path.join(folder, "threads")
    staged = f"{_share_file}.{threading.get_ident()}"
    with open(staged, "w", encoding="ascii") as handle:
        handle.write(f"{threads}\n")
    os.replace(staged, _share_file)
    return threads


def _spawned(module: str, argv: list[str], environ: dict[str, str]) -> Finished:
    env = {**environ, PARENT_ENV: str(os.getpid())}
    proc = subprocess.run([sys.executable, "-m", module, *argv], capture_output=True, text=True, env=env)
    return Finished(proc.returncode, proc.stdout, proc.stderr)


def first_run(root: Path) -> bool:
    """Whether no task of the project has run yet (state/ holds no source's folder), so that
    every task will: the warm server can start before the tasks are even loaded. (doit's own
    record file exists by the time dodo.py generates tasks, so it cannot tell.) Cheap and
    light on imports: the `dataraum` command asks it before it imports anything else."""
    state = root / STATE_DIR
    return not state.is_dir() or not any(p.is_dir() and not p.name.startswith(".") for p in state.iterdir())


def start_warm() -> None:
    """Start the warm server now rather than at the first task, so its imports overlap the
    caller's own start-up (loading the project, generating the tasks). Safe to call often."""
    context = _warm_context(own_slot=False)
    if context is not None:
        multiprocessing.forkserver.ensure_running()


def _warm_context(own_slot: bool = True) -> multiprocessing.context.ForkServerContext | None:
    """The forkserver context, its server holding the current code; None where there is no
    forkserver, or when the code changed while other task processes still run from the old
    server, which must not be stopped under them (`own_slot`: the caller is counted in
    `_running` already)."""
    global _context, _served, _owner
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return None
    state = code_fingerprint()
    with _lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([WARM_MODULE])
            _install_main_skip()
            _context, _served, _owner = context, state, os.getpid()
        elif _owner != os.getpid():
            # A forked copy of the process that started the server (doit's `-P process` workers
            # after a first run started it early): that server is not its child and cannot serve
            # it, so this copy starts its own.
            if not _forget_inherited_server():
                return None
            _served, _owner = state, os.getpid()
        elif state != _served:
            if _running > (1 if own_slot else 0):
                return None
            # Closing our end of its pipe stops the server (it has no task process left to wait
            # for); the next task starts a new one. `_stop` is private (3.8 to 3.14 have it):
            # without it, each task after an edit gets a fresh interpreter.
            stop = getattr(multiprocessing.forkserver._forkserver, "_stop", None)
            if stop is None:
                return None
            stop()
            _served = state
    return _context


def _forget_inherited_server() -> bool:
    """Drop the forkserver a forked process inherited (multiprocessing keeps it in private
    fields); False when this Python keeps it elsewhere, and the caller then spawns."""
    server = multiprocessing.forkserver._forkserver
    fields = ("_forkserver_pid", "_forkserver_address", "_forkserver_alive_fd")
    if not all(hasattr(server, name) for name in fields):
        return False
    alive = vars(server)["_forkserver_alive_fd"]
    if alive is not None:
        with contextlib.suppress(OSError):
            os.close(alive)  # the parent's server stops once the parent lets go of it too
    for name in fields:
        setattr(server, name, None)
    return True


def _install_main_skip() -> None:
    """Start task processes without the caller's main module. multiprocessing has every child
    import the parent's `__main__` again (so that functions defined there unpickle); for the
    `dataraum` command that is the whole CLI, about a third of a small task's time, and the
    entry of a task (runner.main) lives in a module of its own; an entry defined in `__main__`
    still gets it. (Python 3.11's forkserver cannot preload the
    main module instead: it looks for a key that the preparation data does not hold.) Only the
    threads that start a task process here are affected (`_launching`), so any other use of
    multiprocessing in the same process keeps its main module."""
    global _original_preparation
    if _original_preparation is not None:
        return
    _original_preparation = original = spawn.get_preparation_data

    def preparation_data(name: str) -> dict[str, Any]:
        data = original(name)
        if getattr(_launching, "task", False):
            data.pop("init_main_from_path", None)
            data.pop("init_main_from_name", None)
        return data

    spawn.get_preparation_data = preparation_data


def code_fingerprint() -> str:
    """sha256 over the path, size and mtime of every module of the `phases` package: a few
    hundred stat calls, about a millisecond, cheap enough to check before every task."""
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(PACKAGE_DIR):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        for name in sorted(files):
            if name.endswith(".py"):
                st = os.stat(os.path.join(folder, name))
                digest.update(f"{folder}/{name}\0{st.st_size}\0{st.st_mtime_ns}\0".encode())
    return digest.hexdigest()


def _forked_main(entry: Callable[[list[str]], int], argv: list[str], stdout: str, stderr: str, status: str,
                 environ: dict[str, str], cwd: str, run_pid: int) -> None:
    """The task process forked from the warm server: the caller's environment and folder, its
    output into files the caller reads, a watchdog on the run, then the runner's main."""
    threading.Thread(target=_die_with, args=(run_pid,), daemon=True, name="dataraum-watchdog").start()
    for fd, path in ((1, stdout), (2, stderr)):
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(handle, fd)
        os.close(handle)
    os.environ.clear()
    os.environ.update(environ)
    os.environ[PARENT_ENV] = str(os.getppid())  # the forkserver, which dies with the run
    os.chdir(cwd)
    code = entry(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    Path(status).write_text(str(code), encoding="ascii")
    sys.exit(code)


def _die_with(pid: int, every: float = 0.25) -> None:
    """Kill this process once `pid` (the run) is gone, as an orphaned task must not run on; and
    while it lives, keep the task's DuckDB threads at the run's share of the cores (a file read
    per tick: the watchdog's wake-ups serve both)."""
    while True:
        time.sleep(every)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os.kill(os.getpid(), signal.SIGKILL)
        except PermissionError:  # alive, owned by someone else: cannot happen for our own run
            pass
        refresh()


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""
