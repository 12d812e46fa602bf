"""A phase's settings: its YAML files under config/ merged into one section, and that section
checked against the model pipeline.yaml names for the phase (`settings:`), so a bad value stops
the project's load with one line naming the file, the key and the reason, before any task runs.

The model is imported by its dotted path (the engine imports no phase group by name); models
live in small modules of their own (`*_settings.py`), so checking all of them costs a few
milliseconds of pydantic over small YAML, on every load, with nothing cached across processes."""

from __future__ import annotations

import copy
import functools
import importlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from phases.core.config import DEFAULT_CONFIG, parse_model, read_yaml
from phases.core.dag import PhaseSpec
from phases.core.errors import ConfigError

# (the merged section, the phase's files as errors name them, top-level key -> its file) -> parsed settings
Validator = Callable[[Mapping[str, Any], str, Mapping[str, str]], object]


def merge_settings(config_dir: Path, spec: PhaseSpec) -> tuple[dict[str, Any], dict[str, str]]:
    """The phase's config files merged into one section (keys must not clash), and for each
    top-level key the file that holds it (`config/<name>`)."""
    section: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for name in spec.config:
        data = read_yaml(config_dir / name) or {}
        if not isinstance(data, dict):
            raise ConfigError(f"config/{name}: expected a mapping of settings at the top level")
        data = with_defaults(config_dir, name, data)
        clash = section.keys() & data.keys()
        if clash:
            raise ConfigError(
                f"config/pipeline.yaml: phase {spec.name!r}, field 'config': key(s) "
                f"{sorted(clash)} appear in more than one of its files"
            )
        section.update(data)
        origins.update(dict.fromkeys((str(key) for key in data), f"config/{name}"))
    return section, origins


def with_defaults(config_dir: Path, name: str, data: dict[str, Any]) -> dict[str, Any]:
    """A project's settings file over the package's file of that name: a setting the project's
    copy lacks (one added by a newer version of the package, after `dataraum init` copied the
    files) takes the package's value, so an upgrade never stops an existing project. Nested
    mappings merge key by key; the project's values win. Only the flat settings files: an
    ontology (`ontologies/...`) is the project's own list, where a deleted entry stays deleted."""
    if "/" in name or config_dir.resolve() == DEFAULT_CONFIG.resolve():
        return data
    base = _package_file(name)
    return _overlay(copy.deepcopy(base), data) if isinstance(base, dict) else data


@functools.cache
def _package_file(name: str) -> Any:
    """The package's own settings file of that name (read once per process), or None."""
    default = DEFAULT_CONFIG / name
    return read_yaml(default) if default.is_file() else None


def _overlay(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        below = merged.get(key)
        merged[key] = _overlay(below, value) if isinstance(below, dict) and isinstance(value, dict) else value
    return merged


@functools.cache
def builtin_settings() -> dict[str, str]:
    """Phase function -> its settings model, from the package's own pipeline.yaml: a project whose
    pipeline.yaml predates `settings:` still has its built-in phases checked."""
    data = read_yaml(DEFAULT_CONFIG / "pipeline.yaml") or {}
    phases = data.get("phases", {}) if isinstance(data, dict) else {}
    return {body["function"]: body["settings"] for body in phases.values()
            if isinstance(body, dict) and isinstance(body.get("settings"), str) and "function" in body}


def settings_validator(spec: PhaseSpec) -> Validator | None:
    """What checks the phase's settings: the model (or function) named by `settings:` (for a
    built-in phase function, the package's own choice when the project names none), or None."""
    dotted = validator_path(spec)
    if dotted is None:
        return None
    where = f"config/pipeline.yaml: phase {spec.name!r}, field 'settings'"
    module, _, name = dotted.rpartition(".")
    if not module:
        raise ConfigError(f"{where}: {dotted!r} is not a dotted path 'package.module.Model'")
    try:
        target = getattr(importlib.import_module(module), name)
    except ImportError as exc:
        raise ConfigError(f"{where}: cannot import module {module!r} ({exc})") from None
    except AttributeError:
        raise ConfigError(f"{where}: module {module!r} has no {name!r}") from None
    if isinstance(target, type) and issubclass(target, BaseModel):
        model = target
        return lambda data, files, origins: parse_model(model, dict(data), files, origins)
    if callable(target):
        return target  # a function of the documented shape
    raise ConfigError(f"{where}: {spec.settings!r} is neither a pydantic model nor a function")


def validator_path(spec: PhaseSpec) -> str | None:
    """The dotted path of what checks the phase's settings (see settings_validator), or None."""
    return spec.settings or builtin_settings().get(spec.function)


def check_settings(spec: PhaseSpec, section: Mapping[str, Any], origins: Mapping[str, str]) -> None:
    """Raise ConfigError (file, key, reason) when the phase's settings do not validate."""
    validate = settings_validator(spec)
    if validate is not None:
        files = ", ".join(f"config/{name}" for name in spec.config) or "config"
        validate(section, files, origins)
