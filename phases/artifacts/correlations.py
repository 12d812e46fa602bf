"""The correlations phase's artifact (correlations.json): associations between columns within a table
and across relationships, functional dependencies and candidate keys per table."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from phases.core.records import JsonArtifact, Scalar


@dataclass(frozen=True)
class Violation:
    determinant_values: tuple[Scalar, ...]
    expected: Scalar  # the group's most common dependent value (the first seen on a tie)
    found: Scalar  # the most common other value of the group
    rows: int  # rows of the group that disagree with `expected`
    row_ids: tuple[int, ...]  # the first rows holding `found`


@dataclass(frozen=True)
class FunctionalDependency:
    determinant: tuple[str, ...]  # one or two columns
    dependent: str
    confidence: float  # 1 - violating_rows / rows
    rows: int  # rows whose determinant has no NULL
    determinant_values: int  # distinct determinant values among them
    violating_rows: int
    violations: tuple[Violation, ...]  # the groups with the most violating rows first


@dataclass(frozen=True)
class TableDependencies:
    candidate_keys: tuple[tuple[str, ...], ...]  # from the statistics phase, plus key pairs found here
    functional_dependencies: tuple[FunctionalDependency, ...]
    determinants_checked: int  # single columns
    pair_determinants_checked: int
    determinants_left_out: tuple[str, ...]  # eligible columns beyond max_determinants
    searched_rows: int  # rows of the deterministic sample searched (then confirmed on every row)


@dataclass(frozen=True)
class Association:
    measure: str  # pearson | spearman | cramers_v | correlation_ratio
    x_table: str
    x: str  # for correlation_ratio the categorical column
    y_table: str
    y: str
    value: float  # pearson, spearman in [-1, 1]; cramers_v, correlation_ratio in [0, 1]
    rows: int  # rows with both values present that the value was computed on
    sampled: bool  # True when those rows are a deterministic sample of them
    via: str | None = None  # the relationship id for a pair across tables


@dataclass(frozen=True)
class TableCorrelations:
    table: str
    rows: int
    numeric_columns: tuple[str, ...]
    categorical_columns: tuple[str, ...]
    columns_left_out: tuple[str, ...]  # numeric or categorical beyond the configured maximum
    pairs_tested: Mapping[str, int]  # measure -> pairs with enough rows for a value
    dependencies: TableDependencies


@dataclass(frozen=True)
class RelationshipUse:
    id: str
    child_table: str
    parent_table: str
    used: bool
    reason: str | None  # why it was not followed
    pairs_tested: Mapping[str, int]


@dataclass(frozen=True)
class Correlations:
    """The correlations artifact. Associations hold every pair at or above min_strength."""

    source: str
    tables: tuple[TableCorrelations, ...]
    associations: tuple[Association, ...]
    relationships: tuple[RelationshipUse, ...]


CORRELATIONS = JsonArtifact("correlations", "correlations.json", record=Correlations)
