"""Building an entropy Evidence from the real upstream phases, run in-process on tiny CSVs."""

from __future__ import annotations

from pathlib import Path

from phases.artifacts.annotations import Annotations
from phases.artifacts.column_types import load_column_types
from phases.artifacts.profiles import load_column_profiles, load_quality_findings, load_table_profile
from phases.core.config import parse_model, read_yaml
from phases.core.manifest import read_manifest
from phases.entropy.evidence import Evidence, TableImport
from phases.entropy.settings import EntropySettings
from phases.profile.temporal import load_temporal_profiles
from phases.structure.correlations import load_correlations
from phases.structure.derived_columns import load_derived_columns
from phases.structure.relationships import load_relationships
from phases.structure.topology import load_schema_graph
from tests.conftest import run_upstream

REPO = Path(__file__).resolve().parent.parent
MEASURED = ("import", "typing", "statistics", "temporal", "statistical_quality", "relationships", "correlations",
            "topology")


def settings(**changes: dict) -> EntropySettings:
    """config/thresholds.yaml with some sections' keys changed."""
    data = read_yaml(REPO / "config" / "thresholds.yaml")
    for section, values in changes.items():
        data[section] = {**data[section], **values} if isinstance(values, dict) else values
    return parse_model(EntropySettings, data, "config/thresholds.yaml")


def measure(root: Path, tables: dict[str, str], source: str = "s") -> tuple[Evidence, dict[str, Path]]:
    """Write `tables` (name -> CSV text) as a source, run the measuring phases in-process and
    load what they wrote as an Evidence (without annotations, slices, cycles, validations)."""
    run_upstream(root, tables, MEASURED, source)
    names = sorted(tables)
    state = root / "state" / source

    def per(phase: str, file: str, reader):
        return {t: reader(state / phase / t / file) for t in names}

    imports = {}
    for t in names:
        summary = read_manifest(state / "import" / t / "manifest.json").summary
        imports[t] = TableImport(summary["file"], summary["rows_loaded"], summary["rows_quarantined"])
    evidence = Evidence(
        source=source, tables=tuple(names), imports=imports,
        types=per("typing", "column_types.json", load_column_types),
        profiles=per("statistics", "column_profiles.json", load_column_profiles),
        table_profiles=per("statistics", "table_profile.json", load_table_profile),
        quality=per("statistical_quality", "quality_findings.json", load_quality_findings),
        temporal=per("temporal", "temporal_profiles.json", load_temporal_profiles),
        relationships=load_relationships(state / "relationships" / "relationships.json"),
        schema=load_schema_graph(state / "topology" / "schema_graph.json"),
        correlations=load_correlations(state / "correlations" / "correlations.json"),
        derived=load_derived_columns(state / "correlations" / "derived_columns.json"),
    )
    return evidence, {t: state / "typing" / t / "typed.parquet" for t in names}


def with_annotations(ev: Evidence, annotations: Annotations) -> Evidence:
    from dataclasses import replace

    return replace(ev, annotations=annotations)
