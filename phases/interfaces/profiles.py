"""One table's or one column's profile without opening JSON: the statistics phase's column
profiles (type, nulls, distinct values, histogram or top values) joined with the entropy
phase's scores and findings when that phase has run (`dataraum profile TABLE[.COLUMN]`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from phases.artifacts.column_profiles import COLUMN_PROFILES, ColumnProfile, ColumnProfiles
from phases.artifacts.entropy_scores import ENTROPY_SCORES, EntropyObject, EntropyScores, Readiness
from phases.core.errors import ConfigError, StateError
from phases.core.layout import task_dir
from phases.engine.project import Project
from phases.interfaces.doit_bridge import load
from phases.interfaces.locate import find_root
from phases.interfaces.selection import Chosen, SourceChoice, choose_source


class ProfileNotReady(StateError):
    """The statistics phase has not profiled the table yet."""


@dataclass(frozen=True)
class ColumnProfileView:
    source: str
    table: str
    profile: ColumnProfile
    score: float | None  # None before the entropy phase ran
    readiness: Readiness | None
    reasons: tuple[str, ...]  # why the readiness is what it is
    findings: tuple[EntropyObject, ...]  # about this column, worst first
    chosen: Chosen = "given"  # how the source was chosen

    @property
    def column(self) -> str:
        return self.profile.name


@dataclass(frozen=True)
class TableProfileView:
    source: str
    table: str
    rows: int
    columns: tuple[ColumnProfileView, ...]  # in table order
    scored: bool  # whether the entropy phase's scores were there
    chosen: Chosen = "given"


def split_target(target: str) -> tuple[str, str | None]:
    """'orders.amount' -> ('orders', 'amount'); table names hold no dot, column names may."""
    table, dot, column = target.partition(".")
    if not table or (dot and not column):
        raise ConfigError(f"{target!r}: write TABLE or TABLE.COLUMN")
    return table, column or None


def _source_of(project: Project, table: str, given: str | None) -> SourceChoice:
    if given:
        return choose_source(project, given)
    holding = [s for s in project.usable_sources if any(t.name == table for t in project.tables(s))]
    if len(holding) == 1 and len(project.sources) > 1:
        return SourceChoice(holding[0], "table")
    return choose_source(project, None)


def _profiles(project: Project, source: str, table: str) -> ColumnProfiles:
    names = [t.name for t in project.tables(source)]
    if table not in names:
        raise ConfigError(f"no table {table!r} in source {source!r}; its tables: {', '.join(names)}")
    phase = project.pipeline.producer.get(COLUMN_PROFILES.name)
    path = task_dir(project.root, source, phase, table) / COLUMN_PROFILES.file if phase else None
    if phase is None or path is None or not path.is_file():
        raise ProfileNotReady(f"table {table!r} of source {source!r} has no profile yet; run `dataraum run "
                              f"--source {source} --phase {phase or 'statistics'}` first")
    return COLUMN_PROFILES.load(path, phase)


def _scores(project: Project, source: str) -> EntropyScores | None:
    path = task_dir(project.root, source, project.scores_phase) / ENTROPY_SCORES.file
    return ENTROPY_SCORES.load(path, project.scores_phase) if path.is_file() else None


def _view(source: str, table: str, profile: ColumnProfile, scores: EntropyScores | None,
          chosen: Chosen) -> ColumnProfileView:
    entropy = scores.column(table, profile.name) if scores else None
    findings = tuple(o for o in scores.objects if o.table == table and o.column == profile.name) if scores else ()
    return ColumnProfileView(
        source, table, profile, entropy.score if entropy else None, entropy.readiness if entropy else None,
        entropy.reasons if entropy else (), tuple(sorted(findings, key=lambda o: -o.score)), chosen,
    )


def table_profile(table: str, source_id: str | None = None, *, root: Path | None = None) -> TableProfileView:
    """Every column of a table: its profile, and its score and readiness once the entropy phase ran."""
    project = load(find_root(root))
    chosen = _source_of(project, table, source_id)
    profiles = _profiles(project, chosen.name, table)
    scores = _scores(project, chosen.name)
    columns = tuple(_view(chosen.name, table, p, scores, chosen.why) for p in profiles.columns)
    rows = profiles.columns[0].rows if profiles.columns else 0
    return TableProfileView(chosen.name, table, rows, columns, scores is not None, chosen.why)


def column_profile(table: str, column: str, source_id: str | None = None, *,
                   root: Path | None = None) -> ColumnProfileView:
    """One column: type, nulls, distinct values, histogram or top values, findings and readiness."""
    project = load(find_root(root))
    chosen = _source_of(project, table, source_id)
    profiles = _profiles(project, chosen.name, table)
    profile = profiles.by_name.get(column)
    if profile is None:
        folded = [c.name for c in profiles.columns if c.name.lower() == column.lower()]
        hint = f"; did you mean {folded[0]!r}?" if folded else f"; its columns: {', '.join(profiles.by_name)}"
        raise ConfigError(f"no column {column!r} in table {table!r}{hint}")
    return _view(chosen.name, table, profile, _scores(project, chosen.name), chosen.why)
