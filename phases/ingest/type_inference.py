"""The library behind the `typing` phase: decide each column's type from its values.

Input is the import phase's `raw.parquet` (`_row_id`, then every CSV column as
VARCHAR). The decision is made on the whole column, yet usually every value is cast
only once, in the pass that writes it:

1. sample pass: the distinct trimmed values of a deterministic row sample (evenly
   spaced runs of rows; at most `sample_values` per column, chosen by the hash of the
   value) are matched against every format of the catalogue (`phases.ingest.type_formats`);
   formats matching enough of them become candidates, best match rate first. The
   leading candidate is the column's guess (text if the sample shows leading zeros);
2. write pass: typed.parquet is written with every column's guess, in the raw file's
   row order when that is _row_id order (no sort). Its Parquet footer then tells how
   many values each guess parsed (its non-null cells), the raw file's footer how many
   values are non-null and, from min/max, whether any can be blank;
3. count pass, over the columns that need it, for what the footers cannot tell: the
   rival reading of an ambiguous guess (day/month, ',' vs '.'), currency units, blank
   values, leading zeros (see `_need`);
4. only if a decision differs from its guess (the leading candidate parses too few
   values, the rival reading wins, leading zeros beyond the sample): every candidate
   of those columns is counted, and typed.parquet is written again;
5. only if some value failed: the failures are listed, from one more scan.

The decisions are exactly those of counting every candidate on the full column (the
rules are in `phases.ingest.type_decisions`); the guesses only decide how much of that
work can be skipped.

Column names are arbitrary text: they are only ever used as quoted identifiers or
literals; the SQL refers to columns through generated aliases (c0, c1, ...).
Values that are empty after trimming count as NULL, not as failures; text columns
keep their raw values untouched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb

from phases.artifacts.column_types import COLUMN_TYPES, ColumnTypes, ColumnTyping
from phases.artifacts.tables import CAST_FAILURES, RAW_TABLE, TYPED_TABLE, ImportSummary, NullToken
from phases.core.config import ColumnOverride
from phases.core.context import PhaseOutput, TableContext
from phases.core.errors import ConfigError, PhaseError, StateError
from phases.core.records import from_json
from phases.core.sql import chunked, columns_per_query, quote_ident, quote_literal
from phases.ingest.type_decisions import Decision, Plan, Stats, decide, tolerable
from phases.ingest.type_formats import (
    MIXABLE,
    TEXT,
    ZEROS,
    Format,
    Sql,
    ValueSql,
    build_catalogue,
    family,
    leading_zeros,
    override_format,
)
from phases.ingest.typed_outputs import note_decimal_years, with_examples, write_failures, write_typed
from phases.ingest.typing_settings import TypingSettings
from phases.shared.narrow import one_row


@dataclass(frozen=True)
class TypingResult:
    rows: int
    cast_failures: int
    columns: tuple[ColumnTyping, ...]


@dataclass
class _Sample:
    """Sample-pass results for one column."""

    sampled: int = 0  # occurrences of the sampled distinct values in the sample rows
    total: float = 0.0  # the sample rows they stand for (see _sample_pass)
    rates: dict[str, float] = field(default_factory=dict)  # format key -> match rate
    evidence: dict[str, int] = field(default_factory=dict)  # format key -> values with evidence
    zeros: float = 0.0  # sample rows with leading zeros ('007')
    family_rates: dict[str, float] = field(default_factory=dict)  # family -> share any of its formats parses


@dataclass(frozen=True)
class _Need:
    """What a count pass computes for one column."""

    non_null: bool = False  # the non-blank, non-null values
    formats: tuple[Format, ...] = ()  # how many values each parses (and currency units)
    zeros: bool = False  # how many values have leading zeros
    zeros_parsed: Format | None = None  # how many of those it parses (they were written as NULL)
    units: Sql | None = None  # the currency unit of every value (the guess's unit_sql)
    families: tuple[tuple[str, tuple[Format, ...]], ...] = ()  # values any format of each family parses
    digitless: bool = False  # how many non-blank values hold no digit


@dataclass(frozen=True)
class _Counted:
    """The aggregates of one count pass by alias (see _count_pass); none if nothing was counted."""

    values: Mapping[str, Any] = field(default_factory=dict)

    def count(self, alias: str, default: int) -> int:
        return self.values.get(alias, default)

    def maybe_count(self, alias: str) -> int | None:
        return self.values.get(alias)

    def histogram(self, alias: str) -> dict[str, int]:
        """Unit code -> values; empty when not counted or no value had one (NULL)."""
        return dict(self.values.get(alias) or {})


@dataclass(frozen=True)
class _Footer:
    """What a Parquet file's footer tells about it; lists are per column after _row_id."""

    rows: int
    non_null: list[int]
    blank_free: list[bool]  # min/max prove that no value is blank (empty or whitespace only)


def infer_types(
    con: duckdb.DuckDBPyConnection,
    raw_parquet: Path,
    out_dir: Path,
    settings: TypingSettings,
    overrides: Mapping[str, ColumnOverride],
) -> TypingResult:
    """Type every column of `raw_parquet`; write typed.parquet and cast_failures.parquet."""
    source = f"read_parquet({quote_literal(str(raw_parquet))})"
    names = _raw_columns(con, source, raw_parquet)
    _check_overrides(overrides, names)
    catalogue = build_catalogue(settings)
    values = ValueSql(settings.trim_characters)
    raw = _footer(con, raw_parquet, names)
    samples = _sample_pass(con, source, names, raw.rows, catalogue, settings, values)
    plans = [
        _plan(sample, catalogue, settings, overrides.get(name)) for sample, name in zip(samples, names, strict=True)
    ]
    guesses = [_guess(plan, sample, settings) for plan, sample in zip(plans, samples, strict=True)]
    marked = {i for i, (p, g) in enumerate(zip(plans, guesses, strict=True)) if _marks_zeros(p, g, settings)}
    out_dir.mkdir(parents=True, exist_ok=True)
    typed_path = out_dir / TYPED_TABLE.file
    ordered = _in_row_order(con, raw_parquet, names)
    write_typed(con, source, names, guesses, marked, values, typed_path, ordered, raw.rows)
    stats = _measure(con, source, names, plans, guesses, marked, values, raw, _footer(con, typed_path, names))
    decisions = _decide_all(con, source, names, plans, stats, settings, values)
    if any(d.fmt.key != guess.key for d, guess in zip(decisions, guesses, strict=True)):
        write_typed(con, source, names, [d.fmt for d in decisions], set(), values, typed_path, ordered, raw.rows)
    examples = write_failures(con, source, decisions, values, out_dir / CAST_FAILURES.file, settings)
    columns = tuple(with_examples(d.typing, examples.get(d.typing.name, ())) for d in decisions)
    columns = note_decimal_years(con, typed_path, columns, settings)
    return TypingResult(rows=raw.rows, cast_failures=sum(c.failures for c in columns), columns=columns)


# --- identifiers and inputs ------------------------------------------------------------


def _raw_columns(con: duckdb.DuckDBPyConnection, source: str, path: Path) -> list[str]:
    described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    if not described or described[0][0] != "_row_id":
        raise PhaseError(f"{path}: the first column must be _row_id")
    wrong = [f"{n} ({t})" for n, t, *_ in described[1:] if t != "VARCHAR"]
    if wrong:
        raise PhaseError(f"{path}: every data column must be VARCHAR; not: {', '.join(wrong)}")
    return [row[0] for row in described[1:]]


def _check_overrides(overrides: Mapping[str, ColumnOverride], names: Sequence[str]) -> None:
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        listed = ", ".join(repr(n) for n in names) or "(none)"
        raise ConfigError(
            f"type override for unknown column {', '.join(repr(u) for u in unknown)}; existing columns: {listed}"
        )


def _footer(con: duckdb.DuckDBPyConnection, path: Path, names: Sequence[str]) -> _Footer:
    """Row count, non-null values and blank-free columns of a Parquet file from its footer
    alone. A blank value sorts below '!' or at or above U+00A0 (TypingSettings checks the
    trim characters), so a row group whose min starts at or above '!' and whose max starts
    below U+00A0 has none; min/max may be truncated prefixes, whose first character holds."""
    got = con.execute(
        "SELECT row_group_id, row_group_num_rows, column_id, stats_null_count, stats_min_value, stats_max_value "
        "FROM parquet_metadata(?) ORDER BY row_group_id, column_id",
        [str(path)],
    ).fetchall()
    groups = {g: n for g, n, *_ in got}
    non_null, clean = [0] * len(names), [True] * len(names)
    for _, num_rows, column, nulls, low, high in got:
        if column == 0 or column > len(names):
            continue
        if nulls is None:  # no statistics (not written by DuckDB): count instead
            return _counted(con, path, names)
        non_null[column - 1] += num_rows - nulls
        if nulls < num_rows and not (low and high and low[0] >= "!" and high[0] < "\u00a0"):
            clean[column - 1] = False
    return _Footer(sum(groups.values()), non_null, clean)


def _counted(con: duckdb.DuckDBPyConnection, path: Path, names: Sequence[str]) -> _Footer:
    counts = "".join(f", count({quote_ident(n)})" for n in names)
    rows, *non_null = one_row(con.execute(f"SELECT count(*){counts} FROM read_parquet({quote_literal(str(path))})"))
    return _Footer(rows, non_null, [False] * len(names))


def _in_row_order(con: duckdb.DuckDBPyConnection, path: Path, names: Sequence[str]) -> bool:
    """True if the file holds _row_id 1, 2, 3, ... in file order, as the import writes it.
    The typed table then keeps the file order (insertion order is preserved), which saves
    sorting the whole table by _row_id."""
    if "file_row_number" in names:  # the name read_parquet would give the row number
        return False
    (ordered,) = one_row(con.execute(
        "SELECT coalesce(bool_and(_row_id = file_row_number + 1), true) FROM read_parquet(?, file_row_number = true)",
        [str(path)],
    ))
    return bool(ordered)


# --- pass 1: sample ------------------------------------------------------------------------


def _sample_pass(
    con: duckdb.DuckDBPyConnection,
    source: str,
    names: Sequence[str],
    rows: int,
    catalogue: Sequence[Format],
    settings: TypingSettings,
    values: ValueSql,
) -> list[_Sample]:
    """Per column: the match rate of every format on the sampled distinct values, each
    weighted by its occurrences in the sample rows, and how many matching values carry
    the format's evidence; and how many sampled values have leading zeros. The values are
    the `sample_frequent_values` most frequent ones, which count as they are, and others
    chosen by hash, which stand for all the less frequent ones (weighted up by the share
    chosen): a few frequent junk values ('N/A' on a fifth of the rows) then weigh what they
    weigh in the rows, not more or less depending on whether the hash happened to pick them."""
    samples = [_Sample() for _ in names]
    if not names:
        return samples
    cols = ", ".join(f"{quote_ident(n)} AS c{i}" for i, n in enumerate(names))
    positions = ", ".join(str(i) for i in range(len(names)))
    raw = ", ".join(f"c{i}" for i in range(len(names)))
    flags, measures = [f"regexp_full_match(v, {ZEROS}) AS z"], ["sum(CASE WHEN z THEN n END) AS z"]
    members: dict[str, list[str]] = {}
    for j, f in enumerate(catalogue):  # each format is applied once per sample value
        flags.append(f"{f.cast('v')} IS NOT NULL AS f{j}")
        measures.append(f"sum(CASE WHEN f{j} THEN n END) AS m{j}")
        if f.evidence:
            flags.append(f"{f.evidence('v')} AS g{j}")
            measures.append(f"count(CASE WHEN f{j} AND g{j} THEN 1 END) AS e{j}")
        if (fam := family(f)) is not None:
            members.setdefault(fam, []).append(f"f{j}")
    families = sorted(members)
    measures += [f"sum(CASE WHEN {' OR '.join(members[fam])} THEN n END) AS y{k}" for k, fam in enumerate(families)]
    top, picked = settings.sample_frequent_values, settings.sample_values - settings.sample_frequent_values
    sql = f"""
        WITH s AS ({_sample_rows(source, cols, rows, settings)}),
        u AS (SELECT unnest([{positions}]) AS pos, unnest([{raw}]) AS raw FROM s),
        d AS (SELECT pos, {values.trimmed("raw")} AS v, count(*) AS n FROM u GROUP BY ALL),
        r AS (SELECT *, row_number() OVER (PARTITION BY pos ORDER BY n DESC, hash(v), v) <= {top} AS frequent,
                     count(*) OVER (PARTITION BY pos) - {top} AS others
              FROM d WHERE v IS NOT NULL),
        k AS (SELECT * FROM r
              QUALIFY frequent OR row_number() OVER (PARTITION BY pos, frequent ORDER BY hash(v), v) <= {picked}),
        f AS (SELECT pos, frequent, others, n, {", ".join(flags)} FROM k)
        SELECT pos, frequent, any_value(others) AS others, sum(n) AS total, {", ".join(measures)}
        FROM f GROUP BY pos, frequent ORDER BY pos, frequent"""
    cur = con.execute(sql)
    header = [d[0] for d in cur.description]
    sums: dict[int, dict[str, float]] = {}
    for row in cur.fetchall():
        got = dict(zip(header, row, strict=True))
        # Integer sums per stratum, weighted here: exact, so reruns order candidates alike.
        weight = 1 if got["frequent"] else got["others"] / min(got["others"], picked)
        into = sums.setdefault(got["pos"], {})
        for key, value in got.items():
            if key not in ("pos", "frequent", "others") and value is not None:
                into[key] = into.get(key, 0) + (value if key.startswith("e") else value * weight)
        into["sampled"] = into.get("sampled", 0) + got["total"]
    for pos, got in sums.items():
        sample = samples[pos]
        sample.sampled, sample.total, sample.zeros = int(got["sampled"]), got["total"], got.get("z", 0)
        for j, f in enumerate(catalogue):
            if got.get(f"m{j}"):
                sample.rates[f.key] = got[f"m{j}"] / sample.total
                sample.evidence[f.key] = int(got.get(f"e{j}", 1))
        sample.family_rates = {fam: got[f"y{k}"] / sample.total for k, fam in enumerate(families) if got.get(f"y{k}")}
    return samples


def _sample_rows(source: str, cols: str, rows: int, settings: TypingSettings) -> str:
    """The sample rows: all of them if few, else `sample_chunks` evenly spaced runs of
    consecutive _row_ids. One range per scan lets the parquet reader skip the row groups
    outside it, so the sample costs the same however long the table is (a filter such as
    hash(_row_id) % n = 0 would decode every row group)."""
    if rows <= settings.sample_rows:
        return f"SELECT {cols} FROM {source}"
    chunk, step = settings.sample_rows // settings.sample_chunks, rows // settings.sample_chunks
    return " UNION ALL ".join(
        f"SELECT {cols} FROM {source} WHERE _row_id BETWEEN {1 + k * step} AND {k * step + chunk}"
        for k in range(settings.sample_chunks)
    )


def _plan(
    sample: _Sample, catalogue: Sequence[Format], settings: TypingSettings, override: ColumnOverride | None
) -> Plan:
    """Order the proposed formats and pick those the confirmation pass evaluates: the
    leading `max_candidates`, plus their partners (to resolve day/month and ',' vs '.').
    A format is proposed when it matches enough sampled values, or when its family does
    while none of the family's formats alone does (a date column in mixed formats)."""
    priority = {f.key: i for i, f in enumerate(catalogue)}
    by_key = {f.key: f for f in catalogue}
    matched = {k: r for k, r in sample.rates.items() if sample.evidence.get(k, 0) > 0}
    alone = {k for k, r in matched.items() if r >= settings.propose_min_match_rate}
    split = {
        fam for fam, rate in sample.family_rates.items()
        if rate >= settings.propose_min_match_rate and not any(family(by_key[k]) == fam for k in alone)
    }
    proposed = sorted(
        (k for k in matched if k in alone or family(by_key[k]) in split),
        key=lambda k: (-matched[k], priority[k]),
    )
    type_rates: dict[str, float] = {}
    for k, r in matched.items():
        type_rates[by_key[k].type] = max(r, type_rates.get(by_key[k].type, 0.0))
    if override is not None:
        fmt = override_format(override, proposed, by_key, settings)
        return Plan((fmt,), sample.sampled, type_rates, override)
    chosen = proposed[: settings.max_candidates]
    partners = [by_key[k].partner for k in chosen if by_key[k].partner in proposed]
    keep = set(chosen) | set(partners)
    plan = Plan(tuple(by_key[k] for k in proposed if k in keep), sample.sampled, type_rates)
    wanted = {family(f) for f in tolerable(plan)}
    members = {
        fam: tuple(by_key[k] for k in sorted(matched, key=priority.__getitem__) if family(by_key[k]) == fam)
        for fam in sorted(f for f in wanted if f is not None)
    }
    return replace(plan, families=members)


def _guess(plan: Plan, sample: _Sample, settings: TypingSettings) -> Format:
    """The format typed.parquet is first written with: the leading candidate, or text if
    the sample already shows enough leading zeros to keep the column text."""
    if not plan.candidates:
        return TEXT
    first = plan.candidates[0]
    zeros = sample.zeros > 0 and sample.zeros / sample.total >= settings.leading_zero_text_share
    return TEXT if plan.override is None and first.leading_zero_check and zeros else first


def _marks_zeros(plan: Plan, guess: Format, settings: TypingSettings) -> bool:
    """With a zero share, one value with leading zeros anywhere makes the column text. Such
    values are then written as NULL: the guess's count falls short of the raw count, which
    asks for the count pass (instead of counting leading zeros in every column)."""
    return plan.override is None and guess.leading_zero_check and settings.leading_zero_text_share == 0.0


# --- passes 2 to 4: write, count, decide ---------------------------------------------------


def _measure(
    con: duckdb.DuckDBPyConnection,
    source: str,
    names: Sequence[str],
    plans: Sequence[Plan],
    guesses: Sequence[Format],
    marked: set[int],
    values: ValueSql,
    raw: _Footer,
    typed: _Footer,
) -> list[Stats]:
    """Full-column counts for every column's guess. The typed file's non-null values are the
    values the guess parsed. When there are as many as raw non-null values, no value is
    blank, failed or was marked (all become NULL). One count pass gives the rest."""
    needs = {}
    for i, (plan, guess) in enumerate(zip(plans, guesses, strict=True)):
        exact = typed.non_null[i] == raw.non_null[i]
        needs[i] = _need(plan, guess, i in marked, exact, raw.blank_free[i])
    got = _count_pass(con, source, names, needs, values)
    stats = []
    for i, guess in enumerate(guesses):
        st = _stats(got, i, needs[i])
        if not needs[i].non_null:
            st.non_null = raw.non_null[i]
        if guess is not TEXT and guess.key not in st.parsed:
            st.parsed[guess.key] = typed.non_null[i] + got.count(f"zp{i}", 0)
        if needs[i].units is not None:
            st.units[guess.key] = got.histogram(f"h{i}")
        if st.leading_zeros is None and i in marked:
            st.leading_zeros = 0  # none was written as NULL
        stats.append(st)
    return stats


def _need(plan: Plan, guess: Format, marked: bool, exact: bool, blank_free: bool) -> _Need:
    """What the footers cannot tell about one column: its non-blank values unless none is
    blank; the rival reading of the guess; the currency units (of every value if every value
    parsed, else of those the cast parses); leading zeros, unless marked and none was; and
    every count when text was guessed for leading zeros."""
    if guess is TEXT:
        if plan.override is None and plan.candidates:
            return replace(_every_count(plan), non_null=not blank_free)
        return _Need(non_null=not blank_free)
    counted = [guess] if guess.unit_sql and not exact else []
    if plan.override is None:
        counted += [f for f in plan.candidates if f.key == guess.partner]
    zeros = plan.override is None and guess.leading_zero_check and not (marked and exact)
    return _Need(
        non_null=not (exact or blank_free),
        formats=tuple(counted),
        zeros=zeros,
        zeros_parsed=guess if marked and not exact else None,
        units=guess.unit_sql if exact else None,
    )


def _every_count(plan: Plan) -> _Need:
    zeros = any(f.leading_zero_check for f in plan.candidates)
    return _Need(True, plan.candidates, zeros, families=tuple(plan.families.items()), digitless=bool(plan.families))


def _decide_all(
    con: duckdb.DuckDBPyConnection,
    source: str,
    names: Sequence[str],
    plans: Sequence[Plan],
    stats: Sequence[Stats],
    settings: TypingSettings,
    values: ValueSql,
) -> list[Decision]:
    """Decide every column; where a count the decision needs was not taken (the guess fell
    through to another candidate), count every candidate of the column first, and then, for a
    date column mixing formats, how many values the mix reads (which formats it mixes is known
    only from the first counts)."""
    decisions: list[Decision | Format | None] = [
        decide(n, p, s, settings) for n, p, s in zip(names, plans, stats, strict=True)
    ]
    for _ in range(2):
        needs = {}
        for i, d in enumerate(decisions):
            if not isinstance(d, Decision):
                every = _every_count(plans[i])
                needs[i] = replace(every, formats=every.formats + ((d,) if isinstance(d, Format) else ()))
        if not needs:
            break
        got = _count_pass(con, source, names, needs, values)
        for i, need in needs.items():
            decisions[i] = decide(names[i], plans[i], _stats(got, i, need), settings)
    done = []
    for name, decision in zip(names, decisions, strict=True):
        if not isinstance(decision, Decision):
            raise PhaseError(f"column {name!r}: no type decided after counting every candidate")
        done.append(decision)
    return done


def _count_pass(
    con: duckdb.DuckDBPyConnection, source: str, names: Sequence[str], needs: Mapping[int, _Need], values: ValueSql
) -> _Counted:
    """Aggregate queries over the full table computing what `needs` asks per column (none if
    nothing), one per chunk of columns (DuckDB plans a SELECT of many aggregates in quadratic
    time); returns the aggregates by name."""
    got: dict[str, Any] = {}
    for chunk in chunked(list(needs.items()), columns_per_query(con)):
        got |= _count_chunk(con, source, names, dict(chunk), values)
    return _Counted(got)


def _count_chunk(
    con: duckdb.DuckDBPyConnection, source: str, names: Sequence[str], needs: Mapping[int, _Need], values: ValueSql
) -> dict[str, Any]:
    """One aggregate query for some columns of a count pass. The casts are computed once in
    the middle projection (k..), the aggregates only read them. Only the innermost projection
    reads the source: a column of it named like an alias (c0, ...) would shadow the alias."""
    cols: list[str] = []
    casts: list[str] = []
    measures: list[str] = []
    for i, need in needs.items():
        c, before = f"c{i}", len(measures)
        if need.non_null:
            measures.append(f"count(CASE WHEN NOT {values.blank(c)} THEN {c} END) AS nn{i}")
        for j, f in enumerate(need.formats):
            if f is not TEXT:
                casts.append(f"{values.cast(f, c)} AS k{i}_{j}")
                measures.append(f"count(k{i}_{j}) AS ok{i}_{j}")
            if f.unit_sql:
                measures.append(f"histogram(CASE WHEN k{i}_{j} IS NOT NULL THEN {f.unit_sql(c)} END) AS u{i}_{j}")
        if need.zeros:
            measures.append(f"count(CASE WHEN {leading_zeros(c)} THEN 1 END) AS lz{i}")
        if need.zeros_parsed is not None:  # the cast runs on those values only
            measures.append(
                f"count(CASE WHEN {leading_zeros(c)} THEN {values.cast(need.zeros_parsed, c)} END) AS zp{i}"
            )
        if need.units is not None:
            measures.append(f"histogram({need.units(c)}) AS h{i}")
        measures += _family_measures(i, need, values)
        if len(measures) > before:
            cols.append(f"{quote_ident(names[i])} AS {c}")
    if not measures:
        return {}
    inner = f"SELECT {', '.join(cols)} FROM {source}"
    cur = con.execute(f"SELECT {', '.join(measures)} FROM (SELECT {', '.join(['*', *casts])} FROM ({inner}))")
    return dict(zip([d[0] for d in cur.description], one_row(cur), strict=True))


def _family_measures(i: int, need: _Need, values: ValueSql) -> list[str]:
    """The values any format of each family parses (a lazy CASE: the first format that reads
    a value ends its tests; casts the pass computes anyway come first) and the non-blank
    values without a digit (see phases.ingest.type_decisions, rule 2)."""
    c = f"c{i}"
    computed = {f.key: f"k{i}_{j}" for j, f in enumerate(need.formats) if f is not TEXT}
    measures = []
    for k, (fam, formats) in enumerate(need.families):
        readings = [computed.get(f.key) or values.cast(f, c) for f in formats]
        tests = sorted(readings, key=lambda r: not r.startswith("k"))  # casts the pass computes anyway first
        measures.append(f"count(CASE {' '.join(f'WHEN {t} IS NOT NULL THEN 1' for t in tests)} END) AS fa{i}_{k}")
        if fam in MIXABLE and len(formats) > 1:  # what each format alone reads (see type_decisions)
            for j, reading in enumerate(readings):
                rest = ", ".join(r for r in readings if r is not reading)
                measures.append(
                    f"count(CASE WHEN {reading} IS NOT NULL THEN CASE WHEN coalesce({rest}) IS NULL THEN 1 END END)"
                    f" AS ex{i}_{k}_{j}"
                )
    if need.digitless:
        measures.append(
            f"count(CASE WHEN {c} IS NULL OR regexp_matches({c}, '[0-9]') THEN NULL "
            f"WHEN {values.blank(c)} THEN NULL ELSE 1 END) AS dl{i}"
        )
    return measures


def _stats(got: _Counted, i: int, need: _Need) -> Stats:
    """Column i's counts from a count pass."""
    st = Stats(non_null=got.count(f"nn{i}", 0), leading_zeros=got.maybe_count(f"lz{i}"))
    for j, f in enumerate(need.formats):
        st.parsed[f.key] = got.count(f"ok{i}_{j}", st.non_null)  # text parses every value
        st.units[f.key] = got.histogram(f"u{i}_{j}")
    st.family = {fam: got.count(f"fa{i}_{k}", 0) for k, (fam, _) in enumerate(need.families)}
    for k, (fam, formats) in enumerate(need.families):
        if fam in MIXABLE:
            st.exclusive.update({f.key: got.count(f"ex{i}_{k}_{j}", 0) for j, f in enumerate(formats)})
    st.digitless = got.maybe_count(f"dl{i}") if need.digitless else None
    return st


# --- the phase ---------------------------------------------------------------------------

def _import_summary(ctx: TableContext) -> ImportSummary:
    manifest = ctx.input_manifest(RAW_TABLE)
    try:
        summary: ImportSummary = from_json(ImportSummary, manifest.summary)
    except (TypeError, ValueError, KeyError) as exc:
        raise StateError(
            f"{manifest.folder}: its summary does not match ImportSummary ({exc}); forget and rerun the import phase"
        ) from None
    return summary


def _with_null_tokens(columns: tuple[ColumnTyping, ...], tokens: tuple[NullToken, ...]) -> tuple[ColumnTyping, ...]:
    """Each column's typing with the import's reading of the null tokens found in it."""
    by_column: dict[str, list[NullToken]] = {}
    for token in tokens:
        by_column.setdefault(token.column, []).append(token)
    return tuple(replace(c, null_tokens=tuple(by_column.get(c.name, ()))) for c in columns)


def type_table(ctx: TableContext) -> PhaseOutput:
    """Phase `typing`: raw_table -> typed_table, cast_failures and column_types."""
    settings = ctx.parse_settings(TypingSettings)
    overrides = ctx.source.overrides.get(ctx.table.name, {})
    with ctx.connect() as con:
        try:
            result = infer_types(con, ctx.path(RAW_TABLE), ctx.out_dir, settings, overrides)
        except ConfigError as exc:
            raise ConfigError(f"config/sources.yaml: overrides of table {ctx.table.name!r}: {exc}") from None
    columns = _with_null_tokens(result.columns, _import_summary(ctx).null_tokens)
    ctx.write(COLUMN_TYPES, ColumnTypes(table=ctx.table.name, rows=result.rows,
                                        cast_failures=result.cast_failures, columns=columns))
    return PhaseOutput(
        summary={
            "rows": result.rows,
            "cast_failures": result.cast_failures,
            "types": {c.name: c.type for c in result.columns},
        },
        catalog_columns=tuple(
            {"name": c.name, "type": c.type, "unit": c.unit, "confidence": c.confidence} for c in result.columns
        ),
    )
