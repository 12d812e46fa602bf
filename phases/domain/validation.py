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

from collections.abc import Sequence
from typing import assert_never

from phases.artifacts.annotations import ANNOTATIONS
from phases.artifacts.column_profiles import COLUMN_PROFILES
from phases.artifacts.relationships import RELATIONSHIPS
from phases.artifacts.tables import TYPED_TABLE
from phases.artifacts.validations import VALIDATIONS, CheckResult, Validations
from phases.core.context import PhaseOutput, SourceContext
from phases.core.errors import PhaseError
from phases.core.sql import quote_ident, typed_relation
from phases.domain import validation_checks as checks
from phases.domain import validation_ledger as ledger
from phases.domain.validation_env import Env
from phases.domain.validation_settings import (
    BalanceCheck,
    Check,
    CompletenessCheck,
    DateOrderAcrossCheck,
    DateOrderCheck,
    DerivedCheck,
    IntegrityCheck,
    NormalBalanceCheck,
    TrialBalanceCheck,
    ValidationSettings,
)


def run_template(env: Env, spec: Check) -> list[CheckResult]:
    """One configured check: the template its `kind` names, run against the source in `env`."""
    match spec:
        case BalanceCheck():
            return ledger.check_balance(env, spec)
        case TrialBalanceCheck():
            return ledger.check_trial_balance(env, spec)
        case NormalBalanceCheck():
            return ledger.check_normal_balance(env, spec)
        case DerivedCheck():
            return checks.check_derived(env, spec)
        case DateOrderCheck():
            return checks.check_date_order(env, spec)
        case DateOrderAcrossCheck():
            return checks.check_date_order_across(env, spec)
        case CompletenessCheck():
            return checks.check_period_completeness(env, spec)
        case IntegrityCheck():
            return checks.check_referential_integrity(env, spec)
        case _:
            assert_never(spec)


def run_checks(env: Env, specs: Sequence[Check]) -> tuple[CheckResult, ...]:
    """Every configured check against the source in `env`, in configuration order."""
    results: list[CheckResult] = []
    for spec in specs:
        results += run_template(env, spec)
    ids = [r.id for r in results]
    if len(ids) != len(set(ids)):
        raise PhaseError(f"validation produced duplicate check ids: {sorted({i for i in ids if ids.count(i) > 1})}")
    return tuple(results)


def validate_domain(ctx: SourceContext) -> PhaseOutput:
    """Phase `validation`: validations.json for one source."""
    settings = ctx.parse_settings(ValidationSettings)
    annotations = ctx.read(ANNOTATIONS)
    relationships = ctx.read(RELATIONSHIPS)
    profiles = {t: p.by_name for t, p in ctx.read_tables(COLUMN_PROFILES).items()}
    typed = ctx.paths(TYPED_TABLE)
    manifests = ctx.manifests(TYPED_TABLE)
    with ctx.connect() as con:
        for table, path in typed.items():
            artifact = manifests[table].artifacts.get(TYPED_TABLE.name)
            cells = (artifact.rows or 0) * len(artifact.columns or ()) if artifact else None
            # the checks name the tables themselves; a small one is copied into memory once
            typed_relation(con, quote_ident(table), path, cells, settings.memory_table_max_cells)
        env = Env(con=con, settings=settings, annotations=annotations, relationships=relationships.relationships,
                  profiles={t: p for t, p in profiles.items() if t in typed})
        results = run_checks(env, settings.checks)
    report = Validations(source=ctx.source.name, checks=results)
    ctx.write(VALIDATIONS, report)
    counts = {status: sum(r.status == status for r in results) for status in ("passed", "failed", "skipped")}
    return PhaseOutput(summary=counts)
