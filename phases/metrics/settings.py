"""The metrics phase's settings: the metric graphs of config/metrics.yaml and the verdict
thresholds under `metrics:` in config/thresholds.yaml, parsed and checked together by
`read_settings`, which the project also calls when it loads (pipeline.yaml names it).

Everything is stated over ontology concepts (config/ontologies) and accounting words, never
over a dataset's table or column names: the semantic phase maps columns to concepts.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from phases.core.config import Model, parse_model

Concepts = tuple[str, ...]  # concept ids tried in order
# what the formula may name besides the steps: filled in per period
CONSTANTS = ("days_in_period", "period_end_day")
THRESHOLDS_FILE = "config/thresholds.yaml"
# the section of thresholds.yaml (named apart from metrics.yaml's `metrics`: a phase's files share one namespace)
VERDICTS_KEY = "metric_verdicts"


class AccountClass(Model):
    """Accounts of one kind: by the value of the account-type column, or by words of the
    account's name; the accounts below a matching one (through the parent reference) belong too."""

    types: tuple[str, ...] = ()  # account-type values, compared lower-case
    names: tuple[str, ...] = ()  # words or phrases found as whole words in the account's name, lower-case
    # a name counts only for accounts of these types, when the chart has a type column ("bank" names
    # a cash account among assets, a fee among expenses); empty: of any type
    name_types: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _something(self) -> AccountClass:
        if not self.types and not self.names:
            raise ValueError("give `types`, `names` or both")
        return self


class Ledger(Model):
    """The concepts that make a general ledger: lines with a debit and a credit (or one signed
    net amount, debit positive), a reference to an account, and the account's type."""

    debit: Concepts = ("debit",)
    credit: Concepts = ("credit",)
    net: Concepts = ("net_amount",)
    account: Concepts = ("account",)
    account_type: Concepts = ("account_type",)
    currency: Concepts = ("currency",)


class LedgerStep(Model):
    extract: Literal["ledger"]
    accounts: str  # an account class
    side: Literal["debit", "credit"]  # the side that counts positive: credit for revenue, debit for assets
    aggregate: Literal["sum", "end_of_period"]  # flow over the period, or the balance at its end


class ColumnStep(Model):
    extract: Literal["column"]
    concept: Concepts  # the measure's concept
    entity: Concepts = ()  # the entity of its table (e.g. bank_transaction); empty: any table
    aggregate: Literal["sum"] = "sum"


class CellsStep(Model):
    extract: Literal["cells"]
    count: Literal["filled", "all"]  # non-null cells, or all cells
    table_kind: Literal["fact", "dimension", "bridge", "reference"] = "fact"
    aggregate: Literal["sum"] = "sum"


class LatestStep(Model):
    extract: Literal["latest"]
    table_kind: Literal["fact", "dimension", "bridge", "reference"] = "fact"
    aggregate: Literal["max"] = "max"


Step = Annotated[LedgerStep | ColumnStep | CellsStep | LatestStep, Field(discriminator="extract")]


class Range(Model):
    label: str
    below: float | None = None  # the range holds values below this (None: no upper bound)


class MetricSpec(Model):
    label: str
    description: str
    unit: Literal["currency", "days", "ratio", "percent"]
    steps: dict[str, Step] = Field(min_length=1)
    formula: str
    interpretation: tuple[Range, ...] = ()

    @model_validator(mode="after")
    def _formula_names(self) -> MetricSpec:
        try:
            tree = ast.parse(self.formula, mode="eval")
        except SyntaxError:
            raise ValueError(f"formula {self.formula!r} is not an expression") from None
        allowed = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Name, ast.Constant, ast.Load,
                   ast.Add, ast.Sub, ast.Mult, ast.Div, ast.USub)
        if not all(isinstance(n, allowed) for n in ast.walk(tree)):
            raise ValueError(f"formula {self.formula!r} may use step names, numbers, + - * / and parentheses only")
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        unknown = sorted(names - set(self.steps) - set(CONSTANTS))
        if unknown:
            raise ValueError(f"formula names {unknown}, which are neither steps nor {list(CONSTANTS)}")
        return self


class MetricThresholds(Model):
    """The `metrics:` section of config/thresholds.yaml."""

    caveat_score: float = Field(0.3, ge=0, le=1)
    refuse_score: float = Field(0.9, ge=0, le=1)
    missing_caveat: float = Field(0.0, ge=0, le=1)
    missing_refuse: float = Field(0.02, ge=0, le=1)
    join_drop_caveat: float = Field(0.0, ge=0, le=1)
    join_drop_refuse: float = Field(0.2, ge=0, le=1)
    check_refuse: float = Field(0.01, ge=0, le=1)
    other_currency_refuse: float = Field(0.5, ge=0, le=1)
    coverage_slack_days: int = Field(3, ge=0, le=31)

    @model_validator(mode="after")
    def _order(self) -> MetricThresholds:
        if self.refuse_score < self.caveat_score:
            raise ValueError("refuse_score must not lie below caveat_score")
        return self


class MetricsSettings(Model):
    """config/metrics.yaml plus the `metrics` section of config/thresholds.yaml."""

    min_concept_confidence: float = Field(0.35, ge=0, le=1)
    ledger: Ledger = Ledger()
    account_classes: dict[str, AccountClass] = {}
    metrics: dict[str, MetricSpec] = {}
    thresholds: MetricThresholds = MetricThresholds()

    @field_validator("metrics")
    @classmethod
    def _names(cls, value: dict[str, MetricSpec]) -> dict[str, MetricSpec]:
        bad = [name for name in value if not name.isidentifier()]
        if bad:
            raise ValueError(f"metric names {bad} must be identifiers (letters, digits, '_')")
        return value

    @model_validator(mode="after")
    def _classes(self) -> MetricsSettings:
        for name, metric in self.metrics.items():
            for step_name, step in metric.steps.items():
                if isinstance(step, LedgerStep) and step.accounts not in self.account_classes:
                    raise ValueError(f"metrics.{name}.steps.{step_name}.accounts: unknown account class "
                                     f"{step.accounts!r}; known: {sorted(self.account_classes)}")
        return self


def read_settings(settings: Mapping[str, Any], where: str,
                  origins: Mapping[str, str] | None = None) -> MetricsSettings:
    """metrics.yaml's keys and thresholds.yaml's `metrics` section; the other sections of
    thresholds.yaml belong to the entropy phase, which checks them."""
    files = origins or {}
    mine = {k: v for k, v in settings.items() if files.get(k) != THRESHOLDS_FILE and k != VERDICTS_KEY}
    mine["thresholds"] = settings.get(VERDICTS_KEY) or {}
    renamed = {**files, "thresholds": files.get(VERDICTS_KEY, where)}
    return parse_model(MetricsSettings, mine, where, renamed)
