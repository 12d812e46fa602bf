"""The statistical_quality phase's findings per table (quality_findings.json)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from phases.core.records import JsonArtifact, Scalar


@dataclass(frozen=True)
class Example:
    row_id: int | None  # None when the example stands for a value, not a row
    value: Scalar
    count: int | None = None  # how often the value occurs, when that is the point


@dataclass(frozen=True)
class Finding:
    kind: str  # e.g. benford_nonconformity, outliers_iqr, sentinel_value, whitespace, ...
    severity: str  # info | warning | error
    column: str | None
    evidence: Mapping[str, Any] = field(default_factory=dict)  # measured numbers
    examples: tuple[Example, ...] = ()


@dataclass(frozen=True)
class Check:
    """One statistical test on one column: whether it applied (and why not) and what it measured."""

    test: str  # benford | outliers_iqr | outliers_modified_z
    column: str
    applicable: bool
    reason: str | None  # why the test does not apply; None when it does
    evidence: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QualityFindings:
    table: str
    checks: tuple[Check, ...]
    findings: tuple[Finding, ...]


QUALITY_FINDINGS = JsonArtifact("quality_findings", "quality_findings.json", record=QualityFindings)
