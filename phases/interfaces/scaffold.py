"""`dataraum init`: a new project the way `dbt init` makes one, so that `doit -n 4` works in it at
once: dodo.py, config/ (the package's defaults, commented), a sources.yaml with an example
source, a .gitignore for state/ and a short README. The project `dataraum run FOLDER` keeps
beside a folder of data (FOLDER/.dataraum) is made the same way, without the example."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from phases.core.config import DEFAULT_CONFIG
from phases.core.errors import ConfigError
from phases.interfaces.locate import is_project

# The repository's own dodo.py is exactly this text (tests/test_first_hour.py checks it).
DODO_TEXT = '''"""doit entry point: the tasks of config/pipeline.yaml for every source of config/sources.yaml
(and of state/added_sources.yaml). Loading this file reads YAML and lists CSV files; it opens
no database. Run `doit list --all` to see the tasks, `doit -n 4` to run them."""

from pathlib import Path

from phases.engine.dodo import doit_config, pipeline_tasks

ROOT = Path(__file__).resolve().parent
DOIT_CONFIG = doit_config(ROOT)
task_pipeline = pipeline_tasks(ROOT)
'''

GITIGNORE = "# what the pipeline writes: artifacts, doit's records, the run history\nstate/\n"

README = """# {name}

A [dataraum](https://pypi.org/project/dataraum-context/) project: it turns folders of CSV files
(*sources*) into an entropy context, what each table and column holds and how far an agent
writing SQL over them can trust it.

```bash
doit -n 4                          # run every phase for every source (or: dataraum run)
dataraum sources add ~/exports     # add a folder of CSV files as a source
dataraum status                    # what is done, what will run, and why
dataraum context                   # the context document an agent reads
dataraum profile TABLE.COLUMN      # one column's profile and findings
```

- `config/`: the pipeline (`pipeline.yaml`), the sources (`sources.yaml`) and every phase's
  settings, copied from dataraum-context {version}. Edit them: a change reruns only the phases
  it touches.
{example}- `state/`: what the pipeline writes (ignored by git); `state/<source>/context/context.md` is the
  context document.
"""

EXAMPLE_NOTE = ("- `data/example/`: a tiny made-up shop, so that the first run has something to do; drop it\n"
                "  from `config/sources.yaml` once your own sources are there.\n")

BESIDE_README = """# dataraum project of the CSV files in this folder

`dataraum run {folder}` made it; the state of the pipeline lives here, beside the data.
`dataraum context` in the folder above prints the context document; delete this folder to start over.
"""


@dataclass(frozen=True)
class InitResult:
    root: Path
    sources: tuple[str, ...]
    files: int  # files written
    exit_code: int = 0


def _version() -> str:
    try:
        return metadata.version("dataraum-context")
    except metadata.PackageNotFoundError:
        return "(not installed)"


def _sources_yaml(sources: Mapping[str, str], example: bool) -> str:
    """sources.yaml: the defaults' own header comment, then the given sources."""
    lines = (DEFAULT_CONFIG / "sources.yaml").read_text(encoding="utf-8").splitlines()
    header = lines[:next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))]
    header.append("# `dataraum sources add FOLDER` adds a folder without editing this file.")
    body = ["sources:"]
    if example:
        body += ["  example:  # a tiny made-up shop, so that the first run has something to do",
                 "    path: data/example"]
    for name, path in sources.items():
        body += [f"  {name}:", f"    path: {_yaml_string(path)}"]
    body += ["#  sales:", "#    path: /data/exports/sales  # a folder of CSV files, a glob or one file",
             "#    csv: {delimiter: \";\"}"]
    return "\n".join(header + body) + "\n"


def _yaml_string(text: str) -> str:
    import json

    return json.dumps(text)  # JSON strings are YAML strings: quotes, backslashes and colons are safe


def create_project(folder: Path, sources: Mapping[str, str] | None = None, example: bool = True,
                   readme: str | None = None) -> InitResult:
    """Write a new project into `folder` (made if missing); refuses a folder that already holds one."""
    folder = folder.expanduser().resolve()
    if is_project(folder) or (folder / "config").exists() or (folder / "dodo.py").exists():
        raise ConfigError(f"{folder} already holds a dataraum project (dodo.py or config/); "
                          "`dataraum init` makes a new one in an empty folder or one without them")
    if not DEFAULT_CONFIG.is_dir():
        raise ConfigError(f"the package's default configuration is missing ({DEFAULT_CONFIG}); reinstall it")
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(DEFAULT_CONFIG, folder / "config", ignore=shutil.ignore_patterns("__pycache__", "sources.yaml"))
    sources = dict(sources or {})
    (folder / "config" / "sources.yaml").write_text(_sources_yaml(sources, example), encoding="utf-8")
    (folder / "dodo.py").write_text(DODO_TEXT, encoding="utf-8")
    if not (folder / ".gitignore").exists():
        (folder / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
    if not (folder / "README.md").exists():
        text = readme if readme is not None else README.format(
            name=folder.name, version=_version(), example=EXAMPLE_NOTE if example else "")
        (folder / "README.md").write_text(text, encoding="utf-8")
    if example:
        write_example(folder / "data" / "example")
    names = (("example",) if example else ()) + tuple(sources)
    return InitResult(folder, names, sum(1 for p in folder.rglob("*") if p.is_file()))


def init_project(folder: Path) -> InitResult:
    """`dataraum init [DIR]`: a project with the example source."""
    return create_project(folder)


def write_example(folder: Path) -> None:
    """Two small related tables, made up and fixed (no randomness): customers and their orders,
    with a date, an amount, a category and one order whose customer does not exist."""
    folder.mkdir(parents=True, exist_ok=True)
    cities = ["Berlin", "Hamburg", "Munich", "Cologne"]
    customers = ["customer_id,name,city,signup_date"]
    for i in range(1, 13):
        customers.append(f"{i},Customer {i:02d},{cities[i % 4]},2024-{(i - 1) % 12 + 1:02d}-{(i * 7) % 28 + 1:02d}")
    orders = ["order_id,customer_id,order_date,amount,category"]
    for i in range(1, 41):
        customer = 99 if i == 40 else (i * 5) % 12 + 1  # order 40: a customer that is not there
        amount = f"{(i * 37) % 200 + 9.5:.2f}"
        category = ("books", "garden", "toys")[i % 3]
        date = f"2024-{(i - 1) // 4 % 12 + 1:02d}-{(i * 3) % 28 + 1:02d}"
        orders.append(f"{1000 + i},{customer},{date},{amount},{category}")
    (folder / "customers.csv").write_text("\n".join(customers) + "\n", encoding="utf-8")
    (folder / "orders.csv").write_text("\n".join(orders) + "\n", encoding="utf-8")
