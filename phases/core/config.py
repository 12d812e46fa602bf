"""Typed configuration: every YAML file under config/ is parsed once into frozen
pydantic models that reject unknown keys and out-of-range values with a message
naming the file and the key."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from phases.core.errors import ConfigError

M = TypeVar("M", bound=BaseModel)

SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]*$")

ColumnType = Literal["integer", "decimal", "currency", "percent", "boolean", "date", "timestamp", "text"]


class Model(BaseModel):
    """Base of all config models: immutable, and unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# libyaml's loader when PyYAML was built with it: the ontologies make dodo.py read a few
# thousand lines of YAML on every `doit` call, five times faster in C
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> Any:
    """Parse one YAML file; a missing or malformed file is a ConfigError naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    try:
        return yaml.load(text, Loader=SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None


def parse_model(model: type[M], data: Any, where: str) -> M:
    """Validate `data` against `model`; errors name `where` and the dotted key path."""
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(part) for part in err["loc"]) or "(top level)"
            problems.append(f"{key}: {err['msg']}")
        raise ConfigError(f"{where}: " + "; ".join(problems)) from None


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


class DuckDBSettings(Model):
    threads: int = Field(1, ge=1, le=256)  # per task; -n 4 on 2 cores must not oversubscribe
    memory_limit: str = "2GB"  # per task


class RuntimeSettings(Model):
    """How tasks run; changing these never changes results, so no task reruns."""

    state_dir: str = "state"
    duckdb: DuckDBSettings = DuckDBSettings()


def load_sources(config_dir: Path) -> dict[str, SourceConfig]:
    path = config_dir / "sources.yaml"
    return dict(SourcesFile.from_yaml(read_yaml(path), str(path)).sources)


def load_runtime(config_dir: Path) -> RuntimeSettings:
    path = config_dir / "runtime.yaml"
    if not path.exists():
        return RuntimeSettings()
    return parse_model(RuntimeSettings, read_yaml(path), str(path))
