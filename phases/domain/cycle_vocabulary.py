"""The vocabulary of the business_cycles phase (config/business_cycles.yaml) as typed settings, and
how names and values are compared with it: normalized (lower case, one "_" between words) and,
for table names, by their head noun (`payment_methods` is about methods, not payments).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field, model_validator

from phases.core.config import Model
from phases.core.sql import quote_ident, quote_literal

DATE_TYPES = ("date", "timestamp")
NUMERIC_TYPES = ("integer", "decimal", "currency", "percent")
STATUS_CLASSES = ("completed", "open", "cancelled")


# --- settings and vocabulary -------------------------------------------------------------------


class StageSpec(Model):
    name: str
    required: bool = False
    party: bool = False  # its documents must belong to the cycle's party
    status: bool = False  # its documents are expected to carry a status (its absence is reported)
    entities: tuple[str, ...] = ()
    table_names: tuple[str, ...] = ()
    document_types: tuple[str, ...] = ()
    lacks: str | None = None  # what the cycle cannot measure without this stage


class LinkSpec(Model):
    from_stage: str = Field(alias="from")
    to: str
    days: bool = True


class CoverageSpec(Model):
    stage: str
    against: str


class CycleSpec(Model):
    name: str
    party: Literal["customer", "vendor"] | None = None
    stages: tuple[StageSpec, ...] = Field(min_length=1)
    links: tuple[LinkSpec, ...] = ()
    period_coverage: CoverageSpec | None = None

    @model_validator(mode="after")
    def _consistent(self) -> CycleSpec:
        names = {s.name for s in self.stages}
        used = [n for link in self.links for n in (link.from_stage, link.to)]
        if self.period_coverage:
            used += [self.period_coverage.stage, self.period_coverage.against]
        if unknown := sorted(set(used) - names):
            raise ValueError(f"links name unknown stages {unknown}")
        if not any(s.required for s in self.stages):
            raise ValueError("a cycle needs at least one required stage")
        if any(s.party for s in self.stages) and self.party is None:
            raise ValueError("a stage with party: true needs the cycle's party")
        return self


class Weights(Model):
    required_stages: float = Field(0.6, ge=0, le=1)
    optional_stages: float = Field(0.1, ge=0, le=1)
    links: float = Field(0.2, ge=0, le=1)
    status: float = Field(0.1, ge=0, le=1)

    @model_validator(mode="after")
    def _sum_to_one(self) -> Weights:
        total = self.required_stages + self.optional_stages + self.links + self.status
        if abs(total - 1) > 1e-9:
            raise ValueError(f"the weights must sum to 1, not {total:g}")
        return self


class Strength(Model):
    entity: float = Field(1.0, gt=0, le=1)
    document_type: float = Field(0.9, gt=0, le=1)
    table_name: float = Field(0.7, gt=0, le=1)


class StatusValues(Model):
    completed: tuple[str, ...] = ("paid", "posted", "closed", "settled", "reconciled")
    open: tuple[str, ...] = ("open", "pending", "draft", "partial", "overdue")
    cancelled: tuple[str, ...] = ("cancelled", "canceled", "void", "reversed")


class Indicators(Model):
    customer: tuple[str, ...] = ("customer",)
    vendor: tuple[str, ...] = ("vendor", "supplier")
    status: tuple[str, ...] = ("status",)
    document_type: tuple[str, ...] = ("document_type",)
    completion_flag: tuple[str, ...] = ("reconciled",)
    open_balance: tuple[str, ...] = ("open_balance",)
    due_date: tuple[str, ...] = ("due_date",)
    fiscal_period: tuple[str, ...] = ("period",)


class CycleSettings(Model):
    """config/business_cycles.yaml."""

    min_confidence: float = Field(0.5, ge=0, le=1)
    weights: Weights = Weights()
    strength: Strength = Strength()
    unknown_party_factor: float = Field(0.7, ge=0, le=1)
    min_party_share: float = Field(0.5, gt=0, le=1)
    min_status_share: float = Field(0.5, gt=0, le=1)
    max_document_types: int = Field(50, ge=2, le=10_000)
    status_values: StatusValues = StatusValues()
    indicators: Indicators = Indicators()
    cycles: dict[str, CycleSpec] = {}


# --- names and values ---------------------------------------------------------------------------


def normalize(value: Any) -> str:
    """'Bill Payment' -> 'bill_payment', ' PAID ' -> 'paid': how every name and value is compared."""
    return re.sub(r"[^a-z0-9]+", "_", str(value).lower()).strip("_")


def _singular(token: str) -> str:
    if token.endswith("ies") and len(token) > 4:
        return token[:-3] + "y"
    if token.endswith("s") and not token.endswith("ss") and len(token) > 3:
        return token[:-1]
    return token


def tokens(name: str) -> tuple[str, ...]:
    """Singular lower-case words of a name: 'BankTransactions' and 'bank_transactions' -> (bank, transaction)."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return tuple(_singular(t) for t in normalize(spaced).split("_") if t)


GENERIC_TAIL = ("table", "tbl", "data", "list", "file", "export", "master", "detail")


def matches(name: str, indicators: Sequence[str], head: bool = False) -> str | None:
    """The longest indicator whose tokens occur, in order and adjacent, among the name's tokens.
    With `head`, the indicator must end the name (generic tails like _table aside): the table
    'payment_methods' is about methods, not payments."""
    words = tokens(name)
    while head and len(words) > 1 and words[-1] in GENERIC_TAIL:
        words = words[:-1]
    found = [i for i in indicators if (want := tokens(i)) and any(
        words[k: k + len(want)] == want for k in range(len(words) - len(want) + 1)
        if not head or k + len(want) == len(words))]
    return max(found, key=lambda i: (len(tokens(i)), i)) if found else None


def norm_sql(column: str) -> str:
    """SQL twin of normalize() for a column."""
    return (f"trim(regexp_replace(lower(CAST({quote_ident(column)} AS VARCHAR)), '[^a-z0-9]+', '_', 'g'), '_')")


def in_list(values: Sequence[str]) -> str:
    return "(" + ", ".join(quote_literal(v) for v in values) + ")"
