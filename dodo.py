"""doit entry point: the tasks of config/pipeline.yaml for every source of
config/sources.yaml. Loading this file reads YAML and lists CSV files; it opens no
database. Run `doit list --all` to see the tasks, `doit -n 4` to run them."""

from pathlib import Path

from doit.exceptions import InvalidDodoFile

from phases.core.errors import ConfigError
from phases.core.layout import DOIT_DB
from phases.engine.project import load_project
from phases.engine.reporter import project_reporter
from phases.engine.tasks import generate_tasks

ROOT = Path(__file__).resolve().parent

DOIT_CONFIG = {
    "backend": "sqlite3_durable",  # commits per task: see phases/engine/doit_backend.py
    "dep_file": str(ROOT / DOIT_DB),
    "verbosity": 2,
    # Every task already runs its phase in a child process of its own, so doit's workers can be
    # threads: no worker process to kill and hang the run, none to leak when doit is killed.
    "par_type": "thread",
    "reporter": project_reporter(ROOT),  # one run at a time per project (state/.run.lock)
}


def task_pipeline():
    """Yield the tasks of every enabled phase (doit names them after the phase)."""
    try:
        project = load_project(ROOT)
        yield from generate_tasks(project)
    except ConfigError as exc:
        raise InvalidDodoFile(str(exc)) from None
