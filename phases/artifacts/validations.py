"""The validation phase's artifact (validations.json) and its typed reader.

Kept apart from the checks themselves so the phases that read the outcome (entropy, the
context document) do not take the SQL templates into their code signature.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from phases.core.records import JsonArtifact

Status = Literal["passed", "failed", "skipped"]
Severity = Literal["info", "warning", "error"]


@dataclass(frozen=True)
class CheckResult:
    id: str  # the configured check id, ":"-suffixed with the table or relationship it ran on
    name: str
    description: str
    status: Status  # a check that could not be resolved is skipped, never passed
    severity: Severity  # how serious a failure is
    tables: tuple[str, ...]
    columns: tuple[str, ...]  # "table.column" the check resolved to
    violations: int | None  # violating rows or groups; None when skipped
    checked: int | None  # rows or groups examined; None when skipped
    violation_ratio: float | None  # violations / checked
    tolerance: float | None  # absolute tolerance of value comparisons (None when values are not compared)
    reason: str | None  # why skipped / what failed (or what passed), in one sentence with numbers
    sql: str | None  # the SQL executed (the query that counts the violations)
    examples: tuple[Mapping[str, Any], ...]  # a few violating rows or groups (by _row_id and key columns)
    evidence: Mapping[str, Any]  # counts behind the verdict: totals, missing and unparseable values, ...
    kind: str = ""  # the template the check was generated from (balance, derived, date_order, ...)
    relative_tolerance: float | None = None  # share of the compared magnitude also tolerated


@dataclass(frozen=True)
class Validations:
    source: str
    checks: tuple[CheckResult, ...]  # in configuration order, then by table or relationship

    def by_status(self, status: Status) -> tuple[CheckResult, ...]:
        return tuple(c for c in self.checks if c.status == status)

    def check(self, check_id: str) -> CheckResult | None:
        return next((c for c in self.checks if c.id == check_id), None)


VALIDATIONS = JsonArtifact("validations", "validations.json", record=Validations)
