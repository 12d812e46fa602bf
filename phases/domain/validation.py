"""The validation phase: domain checks of a source, resolved through the semantic concepts.

The checks live in config/validation.yaml. Each names a SQL template (`kind`) and the
ontology concepts it needs (`debit`, `credit`, `journal_entry`, ...). The phase finds the
columns carrying those concepts in annotations.json (phases.artifacts.annotations), the joins between
tables in relationships.json, and runs the SQL the template generates for every table (or
relationship) the check resolves to. Templates: double-entry and trial balances
(`balance`), the trial balance against the journal (`trial_balance_vs_journal`), normal
balance signs by account type (`normal_balance`), derived totals (`derived`), dates in
order within a row and across a relationship (`date_order`, `date_order_across`), missing
months (`period_completeness`) and orphans of declared relationships
(`referential_integrity`); they live in phases.domain.validation_ledger and phases.domain.validation_checks.

Every outcome is passed, failed (violating count, examples, the SQL) or skipped with the
reason; a check that resolves to nothing, or examines nothing, is skipped, never passed.
Amounts are compared as DECIMAL, so sums are exact and reruns byte-identical. A text column
that failed typing (a debit column holding 'N/A') is read with TRY_CAST: the check runs on
the values that parse, if enough do, and reports how many did not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Literal

from pydantic import Field, field_validator

from phases.artifacts.annotations import load_annotations
from phases.artifacts.profiles import dump_json, load_column_profiles
from phases.artifacts.validations import VALIDATIONS_FILE, CheckResult, Validations
from phases.core.config import SAFE_NAME, Model
from phases.core.context import PhaseOutput, TaskContext
from phases.core.errors import PhaseError
from phases.core.sql import quote_ident, quote_literal
from phases.domain import validation_checks as checks
from phases.domain import validation_ledger as ledger
from phases.domain.validation_env import Env
from phases.structure.relationships import load_relationships

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


def _templates() -> dict[str, Callable[[Env, CheckSpec], list[CheckResult]]]:
    return {
        "balance": ledger.check_balance, "trial_balance_vs_journal": ledger.check_trial_balance,
        "normal_balance": ledger.check_normal_balance, "derived": checks.check_derived,
        "date_order": checks.check_date_order, "date_order_across": checks.check_date_order_across,
        "period_completeness": checks.check_period_completeness,
        "referential_integrity": checks.check_referential_integrity,
    }


def run_checks(env: Env, specs: Sequence[CheckSpec]) -> tuple[CheckResult, ...]:
    """Every configured check against the source in `env`, in configuration order."""
    templates = _templates()
    results: list[CheckResult] = []
    for spec in specs:
        results += templates[spec.kind](env, spec)
    ids = [r.id for r in results]
    if len(ids) != len(set(ids)):
        raise PhaseError(f"validation produced duplicate check ids: {sorted({i for i in ids if ids.count(i) > 1})}")
    return tuple(results)


def validate_domain(ctx: TaskContext) -> PhaseOutput:
    """Phase `validation`: validations.json for one source."""
    settings = ctx.parse_settings(ValidationSettings)
    annotations = load_annotations(ctx.input_path("annotations"))
    relationships = load_relationships(ctx.input_path("relationships"))
    profiles = {table: load_column_profiles(path) for table, path in ctx.input_paths("column_profiles").items()}
    typed = ctx.input_paths("typed_table")
    with ctx.connect() as con:
        for table, path in typed.items():
            con.execute(f"CREATE VIEW {quote_ident(table)} AS SELECT * FROM read_parquet({quote_literal(path)})")
        env = Env(con=con, settings=settings, annotations=annotations, relationships=relationships.relationships,
                  profiles={t: p for t, p in profiles.items() if t in typed})
        results = run_checks(env, settings.checks)
    report = Validations(source=ctx.source.name, checks=results)
    dump_json(ctx.out_dir / VALIDATIONS_FILE, report)
    counts = {status: sum(r.status == status for r in results) for status in ("passed", "failed", "skipped")}
    return PhaseOutput(artifacts={"validations": VALIDATIONS_FILE}, summary=counts)
