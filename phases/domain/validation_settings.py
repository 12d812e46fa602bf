"""The validation phase's settings (config/validation.yaml): one typed model per check template."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from phases.core.config import SAFE_NAME, Model

Concepts = tuple[str, ...]  # concept ids tried in order; the first one a table has wins



class Tolerance(Model):
    """Differences within max(absolute, relative * magnitude) are not violations."""

    absolute: float = Field(0.005, ge=0, le=1e12)
    relative: float = Field(0.0, ge=0, le=1)



class CheckSpec(Model):
    id: str
    name: str
    description: str
    severity: Literal["info", "warning", "error"] = "error"

    @field_validator("id")
    @classmethod
    def _safe_id(cls, value: str) -> str:
        if not SAFE_NAME.match(value):
            raise ValueError(f"check id {value!r} must use letters, digits, '_' or '-' only")
        return value



class BalanceCheck(CheckSpec):
    kind: Literal["balance"]
    debit: Concepts
    credit: Concepts
    group: Concepts = ()  # empty: the whole table is one group
    missing_fails_group: bool = True  # a group with a missing debit or credit counts as unbalanced
    tolerance: Tolerance = Tolerance()



class TrialBalanceCheck(CheckSpec):
    kind: Literal["trial_balance_vs_journal"]
    period: Concepts = ("fiscal_period",)
    account: Concepts = ("account",)
    balance_debit: Concepts = ("debit_balance", "debit")
    balance_credit: Concepts = ("credit_balance", "credit")
    journal_debit: Concepts = ("debit",)
    journal_credit: Concepts = ("credit",)
    journal_net: Concepts = ("net_amount",)
    journal_date: Concepts = ("posting_date", "transaction_date", "period_date")
    journal_entry: Concepts = ("journal_entry",)
    tolerance: Tolerance = Tolerance()



class NormalBalanceCheck(CheckSpec):
    kind: Literal["normal_balance"]
    account_type: Concepts = ("account_type",)
    account_name: Concepts = ("description",)
    debit: Concepts = ("debit", "debit_balance")
    credit: Concepts = ("credit", "credit_balance")
    tolerance: Tolerance = Tolerance()



class DerivedCheck(CheckSpec):
    kind: Literal["derived"]
    target: Concepts
    operation: Literal["difference", "sum", "product"]
    operands: tuple[Concepts, Concepts]
    tolerance: Tolerance = Tolerance()



class DateOrderCheck(CheckSpec):
    kind: Literal["date_order"]
    earlier: Concepts
    later: Concepts



class DateOrderAcrossCheck(CheckSpec):
    kind: Literal["date_order_across"]
    earlier: Concepts  # the parent's date
    later: Concepts  # the child's date
    parent_entities: Concepts
    child_entities: Concepts



class CompletenessCheck(CheckSpec):
    kind: Literal["period_completeness"]
    period: Concepts = ("fiscal_period",)



class IntegrityCheck(CheckSpec):
    kind: Literal["referential_integrity"]



Check = Annotated[
    BalanceCheck | TrialBalanceCheck | NormalBalanceCheck | DerivedCheck | DateOrderCheck | DateOrderAcrossCheck
    | CompletenessCheck | IntegrityCheck,
    Field(discriminator="kind"),
]



class ValidationSettings(Model):
    """config/validation.yaml; bounds are checked when the phase starts."""

    max_examples: int = Field(5, ge=0, le=100)
    min_concept_confidence: float = Field(0.5, ge=0, le=1)
    decimal_scale: int = Field(6, ge=0, le=12)
    min_parse_share: float = Field(0.5, ge=0, le=1)
    one_sided_share: float = Field(0.9, ge=0.5, le=1)
    ledger_entities: Concepts = ("journal_line", "journal_entry", "trial_balance")
    debit_normal_words: Concepts = ("asset", "assets", "expense", "expenses", "cost", "costs", "cogs", "dividend",
                                    "dividends", "drawings")
    credit_normal_words: Concepts = ("liability", "liabilities", "equity", "revenue", "revenues", "income", "sales",
                                     "capital")
    contra_account_words: Concepts = ("accumulated", "allowance", "contra", "provision", "provisions", "reserve")
    completeness_table_kinds: tuple[Literal["fact", "dimension", "bridge", "reference"], ...] = ("fact",)
    derived_max_assignments: int = Field(12, ge=1, le=1000)
    derived_min_match_rate: float = Field(0.5, ge=0, le=1)
    season_min_year_share: float = Field(0.5, ge=0, le=1)
    memory_table_max_cells: int = Field(1_000_000, ge=0, le=10**9)
    checks: tuple[Check, ...] = ()

    @field_validator("checks")
    @classmethod
    def _unique_ids(cls, checks: tuple[CheckSpec, ...]) -> tuple[CheckSpec, ...]:
        seen = set()
        for check in checks:
            if check.id in seen:
                raise ValueError(f"check id {check.id!r} appears twice")
            seen.add(check.id)
        return checks

    @field_validator("debit_normal_words", "credit_normal_words", "contra_account_words")
    @classmethod
    def _lower_words(cls, words: Concepts) -> Concepts:
        return tuple(w.strip().lower() for w in words if w.strip())
