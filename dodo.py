"""doit entry point: the tasks of config/pipeline.yaml for every source of config/sources.yaml
(and of state/added_sources.yaml). Loading this file reads YAML and lists CSV files; it opens
no database. Run `doit list --all` to see the tasks, `doit -n 4` to run them."""

from pathlib import Path

from phases.engine.dodo import doit_config, pipeline_tasks

ROOT = Path(__file__).resolve().parent
DOIT_CONFIG = doit_config(ROOT)
task_pipeline = pipeline_tasks(ROOT)
