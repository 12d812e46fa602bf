"""The correlations phase's second artifact (derived_columns.json): columns that are copies, sums,
differences, products or ratios of others, within a table or across a relationship."""

from __future__ import annotations

from dataclasses import dataclass

from phases.core.records import JsonArtifact, Scalar


@dataclass(frozen=True)
class Operand:
    table: str
    column: str


@dataclass(frozen=True)
class Mismatch:
    row_id: int  # a row of `compared_in`
    target: Scalar
    computed: Scalar
    operands: tuple[Scalar, ...]  # as stored (NULL stays null even when read as 0)


@dataclass(frozen=True)
class DerivedColumn:
    table: str  # the target's table
    column: str  # the target column
    operation: str  # copy | negation | sum | difference | product | ratio | sum_of_children
    operands: tuple[Operand, ...]
    formula: str  # e.g. "Amount = Debit - Credit"; columns are table-qualified across tables
    nulls_as_zero: bool  # NULL operands were read as 0 (sums, differences, sums of children)
    rows_compared: int
    rows_matched: int
    match_rate: float
    nonzero_matches: int  # matched rows whose target is not 0 (zeros match too easily)
    max_abs_error: float  # largest |target - computed| among matched rows: the rounding noise
    mismatches: tuple[Mismatch, ...]  # the first mismatching rows by row id
    compared_in: str  # the table whose rows were compared (the child table of a relationship)
    via: str | None = None  # the relationship id for a relation across tables
    # how often it holds by chance: the match rate on a sample when each target meets another row's
    # operands (None when not measured, as for sums of children)
    chance_match_rate: float | None = None


@dataclass(frozen=True)
class DerivedSearch:
    """What one search covered, so a reader can tell 'none found' from 'not looked at'."""

    table: str  # the table, or the child table of a relationship
    via: str | None
    columns: tuple[str, ...]  # numeric columns searched (table-qualified across tables)
    columns_left_out: tuple[str, ...]  # numeric columns beyond max_columns
    sample_rows: int
    candidates_checked: int


@dataclass(frozen=True)
class DerivedColumns:
    """The derived_columns artifact."""

    source: str
    derived_columns: tuple[DerivedColumn, ...]
    searches: tuple[DerivedSearch, ...]


DERIVED_COLUMNS = JsonArtifact("derived_columns", "derived_columns.json", record=DerivedColumns)
