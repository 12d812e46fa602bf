"""Every built-in artifact by its name in pipeline.yaml. The project loader checks that each
artifact a phase names is declared here (or in pipeline.yaml's own `artifacts:` section), and
the runner takes each output's file name from here. Phases import the declarations they use
from their own modules, not from this registry, so a record's change reruns only its readers."""

from __future__ import annotations

from collections.abc import Mapping

from phases.artifacts.annotations import ANNOTATIONS
from phases.artifacts.column_profiles import COLUMN_PROFILES
from phases.artifacts.column_types import COLUMN_TYPES
from phases.artifacts.context_document import CONTEXT_DOCUMENT, CONTEXT_MARKDOWN
from phases.artifacts.correlations import CORRELATIONS
from phases.artifacts.cycles import CYCLES
from phases.artifacts.derived_columns import DERIVED_COLUMNS
from phases.artifacts.entropy_scores import ENTROPY_SCORES
from phases.artifacts.metrics import METRICS
from phases.artifacts.quality_findings import QUALITY_FINDINGS
from phases.artifacts.relationships import RELATIONSHIPS
from phases.artifacts.schema_graph import SCHEMA_GRAPH
from phases.artifacts.slices import SLICES
from phases.artifacts.table_profile import TABLE_PROFILE
from phases.artifacts.tables import CAST_FAILURES, QUARANTINE, RAW_TABLE, TYPED_TABLE
from phases.artifacts.temporal_profiles import TEMPORAL_PROFILES
from phases.artifacts.validations import VALIDATIONS
from phases.core.records import ArtifactSpec

ARTIFACTS: Mapping[str, ArtifactSpec] = {
    spec.name: spec
    for spec in (
        RAW_TABLE, QUARANTINE, TYPED_TABLE, CAST_FAILURES, COLUMN_TYPES,
        COLUMN_PROFILES, TABLE_PROFILE, TEMPORAL_PROFILES, QUALITY_FINDINGS,
        RELATIONSHIPS, CORRELATIONS, DERIVED_COLUMNS, SCHEMA_GRAPH,
        ANNOTATIONS, SLICES, CYCLES, VALIDATIONS,
        ENTROPY_SCORES, CONTEXT_DOCUMENT, CONTEXT_MARKDOWN, METRICS,
    )
}
