"""Typed configuration: every YAML file under config/ is parsed once into frozen
pydantic models that reject unknown keys and out-of-range values with a message
naming the file and the key."""

from __future__ import annotations

import copy
import functools
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from phases.core.errors import ConfigError
from phases.core.threads import THREADS_ENV, cores, current_share

M = TypeVar("M", bound=BaseModel)

# The configuration that ships with the package: phases/core/default_config is a link to the
# repository's config/ (one set of files), which a wheel holds as a copy. `dataraum init` copies it.
DEFAULT_CONFIG = Path(__file__).parent / "default_config"

SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")

ColumnType = Literal["integer", "decimal", "currency", "percent", "boolean", "date", "timestamp", "text"]


class Model(BaseModel):
    """Base of all config models: immutable, and unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# libyaml's loader when PyYAML was built with it: the ontologies make dodo.py read a few
# thousand lines of YAML on every `doit` call, five times faster in C
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(SAFE_LOADER):  # type: ignore[misc,valid-type]  # PyYAML's loaders are untyped classes
    """The safe loader, refusing a key given twice in one mapping (YAML's last-wins would hide
    the first value)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def read_yaml(path: Path) -> Any:
    """Parse one YAML file; a missing, non-UTF-8 or malformed file is a ConfigError naming it.
    Keys given twice and anchors/aliases (which can expand without bound) are refused.
    A command loads the project more than once (the CLI, then dodo.py), so the parsed document
    is kept per file version and each caller gets its own copy."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    return copy.deepcopy(_parsed(path, os.path.abspath(path), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=256)
def _parsed(path: Path, _absolute: str, _mtime_ns: int, _size: int) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _refuse_aliases(node, path)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    finally:
        loader.dispose()


def _refuse_aliases(root: yaml.Node, path: Path) -> None:
    """A node reached twice is an alias (the composed graph shares it): refused before anything
    is built, so an alias bomb costs nothing."""
    seen: set[int] = set()
    pending = [root]
    while pending:
        node = pending.pop()
        if id(node) in seen:
            raise ConfigError(f"{path} line {node.start_mark.line + 1}: YAML anchors and aliases are not "
                              "allowed in config files; write the value out")
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            pending += [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            pending += node.value


MAX_PROBLEMS = 3  # problems named in one error line; the rest are counted


def parse_model(model: type[M], data: Any, where: str, origins: Mapping[str, str] | None = None) -> M:
    """Validate `data` against `model`; errors name `where` and the dotted key path, in one line.
    `origins` (a top-level key -> the file that holds it) names the very file of each problem."""
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        problems = [_problem(err, where, origins or {}) for err in exc.errors()]
        if origins is None:  # one place: name it once
            problems = [problem.removeprefix(f"{where}: ") for problem in problems]
            text = f"{where}: " + "; ".join(problems[:MAX_PROBLEMS])
        else:
            text = "; ".join(problems[:MAX_PROBLEMS])
        if len(problems) > MAX_PROBLEMS:
            text += f" (and {len(problems) - MAX_PROBLEMS} more)"
        raise ConfigError(text) from None


def _problem(err: Any, where: str, origins: Mapping[str, str]) -> str:
    """One validation error as `file: key.path: reason (got value)`, pydantic's reason shortened."""
    loc = err["loc"]
    key = ".".join(str(part) for part in loc) or "(top level)"
    reason = str(err["msg"]).removeprefix("Value error, ").split(", unable to ")[0]
    value = err.get("input")
    shown = repr(value)
    if err["type"] not in ("missing", "extra_forbidden") and isinstance(value, str | int | float | bool) \
            and shown not in reason:
        reason += f" (got {shown if len(shown) <= 40 else shown[:37] + '...'})"
    return f"{origins.get(str(loc[0]), where) if loc else where}: {key}: {reason}"


class CsvOptions(Model):
    """CSV dialect options that override detection; None means 'detect'."""

    delimiter: str | None = None
    quote: str | None = None
    escape: str | None = None
    header: bool | None = None
    encoding: str | None = None
    null_values: tuple[str, ...] = ()  # added to the global tokens of null_values.yaml


class ColumnOverride(Model):
    """A human decision about one column's type; it wins over inference."""

    type: ColumnType
    format: str | None = None  # strptime format for date and timestamp columns
    decimal_separator: Literal[".", ","] | None = None
    unit: str | None = None  # e.g. a currency code for a currency column


class SourceConfig(Model):
    """A named folder (or glob) of CSV files."""

    name: str
    path: str  # folder or glob, relative to the project root
    csv: CsvOptions = CsvOptions()
    # table -> column -> override; table and column names as the import phase names them
    overrides: dict[str, dict[str, ColumnOverride]] = {}

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if not SAFE_NAME.match(value):
            raise ValueError(f"source name {value!r} must use letters, digits, '_' or '-' only")
        return value


class SourcesFile(Model):
    sources: dict[str, SourceConfig]

    @classmethod
    def from_yaml(cls, data: Any, where: str) -> SourcesFile:
        # Let users write `sources: {name: {path: ...}}` without repeating the name.
        if isinstance(data, dict) and isinstance(data.get("sources"), dict):
            data = {
                **data,
                "sources": {
                    name: {"name": name, **(body or {})} if isinstance(body, dict) else body
                    for name, body in data["sources"].items()
                },
            }
        return parse_model(cls, data, where)


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*$", re.IGNORECASE)
_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}
MIN_MEMORY = 100 * 10**6  # below this DuckDB cannot even sniff a CSV file


def _bytes(value: str) -> float:
    """The bytes of a size such as 2GB or 512MiB; ValueError for anything else."""
    found = _SIZE.match(value)
    if found is None:
        raise ValueError(f"{value!r} is not a size; write a number and a unit, e.g. 2GB or 512MiB")
    return float(found.group(1)) * _UNITS[found.group(2).upper()]


class DuckDBSettings(Model):
    # per task: a number, or auto (the run's idle cores, followed while the task runs; see phases.core.threads)
    threads: Literal["auto"] | Annotated[int, Field(ge=1, le=256)] = "auto"
    memory_limit: str = "2GB"  # per task
    spill_limit: str = "20GB"  # per task: DuckDB's max_temp_directory_size, so a task fails before it fills the disk
    columns_per_query: int = Field(100, ge=1, le=100_000)  # columns one wide query reads (phases.core.sql)
    batch_values: int = Field(1_000_000, ge=1, le=10**12)  # rows x columns profiled together at most

    @field_validator("memory_limit")
    @classmethod
    def _size(cls, value: str) -> str:
        if _bytes(value) < MIN_MEMORY:
            raise ValueError(f"{value!r} is below 100MB, too little for DuckDB to read a file")
        return value

    @field_validator("spill_limit")
    @classmethod
    def _spill(cls, value: str) -> str:
        _bytes(value)
        return value

    def task_threads(self) -> int:
        """The DuckDB threads of this task: the number given, or for `auto` the run's share of
        the cores now (phases.core.threads), else what the launcher chose when it started the
        task (all cores when no launcher did)."""
        if self.threads != "auto":
            return self.threads
        share = current_share()
        if share is not None:
            return share
        given = os.environ.get(THREADS_ENV, "")
        return int(given) if given.isdigit() and int(given) > 0 else cores()


EXECUTOR_ENV = "DATARAUM_EXECUTOR"  # local | dask: overrides runtime.yaml's executor (`dataraum run --executor`)
SCHEDULER_ENV = "DATARAUM_SCHEDULER"  # a Dask scheduler's address: overrides runtime.yaml's scheduler
DB_URL_ENV = "DATARAUM_DB_URL"  # the history database: overrides runtime.yaml's history_db
_SCHEDULER = re.compile(r"^(tcp|tls|inproc|ucx|ws|wss)://\S+$")
_DB_URL = re.compile(r"^[a-z][a-z0-9+]*://")


class RuntimeSettings(Model):
    """How tasks run; changing these never changes results, so no task reruns. (The state lives
    in the project's state/ folder, always.)"""

    duckdb: DuckDBSettings = DuckDBSettings()
    executor: Literal["local", "dask"] = "local"  # where phases run: here, or on a Dask cluster's workers
    scheduler: str | None = None  # executor dask: the scheduler's address; none starts a LocalCluster
    worker_root: str | None = None  # executor dask: the project folder as the workers mount it (default: the same)
    history_db: str | None = None  # a SQLAlchemy URL for the run history; none: state/history.sqlite

    @field_validator("scheduler")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        if value is not None and not _SCHEDULER.match(value):
            raise ValueError(f"{value!r} is not a scheduler address; write it as tcp://HOST:8786")
        return value

    @field_validator("history_db")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not _DB_URL.match(value):
            raise ValueError(f"{value!r} is not a database URL; write e.g. "
                             "postgresql+psycopg://USER@HOST/DB or sqlite:///PATH")
        return value


def load_sources(config_dir: Path) -> dict[str, SourceConfig]:
    path = config_dir / "sources.yaml"
    return dict(SourcesFile.from_yaml(read_yaml(path), str(path)).sources)


def load_runtime(config_dir: Path) -> RuntimeSettings:
    """runtime.yaml's settings, then the environment's (DATARAUM_EXECUTOR, DATARAUM_SCHEDULER,
    DATARAUM_DB_URL), which win: a machine or one command can choose where tasks run and where
    the history goes without editing the project's files."""
    path = config_dir / "runtime.yaml"
    data = read_yaml(path) if path.exists() else None
    settings = parse_model(RuntimeSettings, data, str(path))
    given = {key: os.environ[env] for key, env in (("executor", EXECUTOR_ENV), ("scheduler", SCHEDULER_ENV),
                                                   ("history_db", DB_URL_ENV)) if os.environ.get(env)}
    if not given:
        return settings
    merged = {**settings.model_dump(), **given}
    return parse_model(RuntimeSettings, merged, "the environment (" + ", ".join(
        env for key, env in (("executor", EXECUTOR_ENV), ("scheduler", SCHEDULER_ENV), ("history_db", DB_URL_ENV))
        if key in given) + ")")
