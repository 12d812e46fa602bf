"""Building an entropy Evidence from the real upstream phases, run in-process on tiny CSVs."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

from phases.artifacts.annotations import Annotations
from phases.artifacts.column_profiles import COLUMN_PROFILES
from phases.artifacts.column_types import COLUMN_TYPES
from phases.artifacts.correlations import CORRELATIONS
from phases.artifacts.derived_columns import DERIVED_COLUMNS
from phases.artifacts.quality_findings import QUALITY_FINDINGS
from phases.artifacts.relationships import RELATIONSHIPS
from phases.artifacts.schema_graph import SCHEMA_GRAPH
from phases.artifacts.table_profile import TABLE_PROFILE
from phases.artifacts.tables import TYPED_TABLE, ImportSummary
from phases.artifacts.temporal_profiles import TEMPORAL_PROFILES
from phases.core.config import parse_model, read_yaml
from phases.core.manifest import read_manifest
from phases.core.records import JsonArtifact, from_json
from phases.core.sql import quote_literal
from phases.entropy.evidence import Evidence, TableImport
from phases.entropy.settings import EntropySettings
from tests.conftest import run_upstream

REPO = Path(__file__).resolve().parent.parent
T = TypeVar("T")
MEASURED = ("import", "typing", "statistics", "temporal", "statistical_quality", "relationships", "correlations",
            "topology")


def settings(**changes: dict) -> EntropySettings:
    """config/thresholds.yaml with some sections' keys changed."""
    data = read_yaml(REPO / "config" / "thresholds.yaml")
    for section, values in changes.items():
        data[section] = {**data[section], **values} if isinstance(values, dict) else values
    return parse_model(EntropySettings, data, "config/thresholds.yaml")


def measure(root: Path, tables: Mapping[str, str | bytes], source: str = "s") -> tuple[Evidence, dict[str, str]]:
    """Write `tables` (name -> CSV text) as a source, run the measuring phases in-process and
    load what they wrote as an Evidence (without annotations, slices, cycles, validations), with
    each typed table as the SQL relation the detectors read (here its Parquet file itself)."""
    run_upstream(root, tables, MEASURED, source)
    names = sorted(tables)
    state = root / "state" / source

    def per(phase: str, spec: JsonArtifact[T]) -> dict[str, T]:
        return {t: spec.load(state / phase / t / spec.file) for t in names}

    imports = {}
    for t in names:
        summary = from_json(ImportSummary, read_manifest(state / "import" / t / "manifest.json").summary)
        imports[t] = TableImport(summary.file, summary.rows_loaded, summary.rows_quarantined, summary.null_tokens,
                                 summary.dialect)
    evidence = Evidence(
        source=source, tables=tuple(names), imports=imports,
        types={t: c.by_name for t, c in per("typing", COLUMN_TYPES).items()},
        profiles={t: p.by_name for t, p in per("statistics", COLUMN_PROFILES).items()},
        table_profiles=per("statistics", TABLE_PROFILE),
        quality=per("statistical_quality", QUALITY_FINDINGS),
        temporal=per("temporal", TEMPORAL_PROFILES),
        relationships=RELATIONSHIPS.load(state / "relationships" / RELATIONSHIPS.file),
        schema=SCHEMA_GRAPH.load(state / "topology" / SCHEMA_GRAPH.file),
        correlations=CORRELATIONS.load(state / "correlations" / CORRELATIONS.file),
        derived=DERIVED_COLUMNS.load(state / "correlations" / DERIVED_COLUMNS.file),
    )
    return evidence, {t: f"read_parquet({quote_literal(str(state / 'typing' / t / TYPED_TABLE.file))})" for t in names}


def with_annotations(ev: Evidence, annotations: Annotations) -> Evidence:
    from dataclasses import replace

    return replace(ev, annotations=annotations)
