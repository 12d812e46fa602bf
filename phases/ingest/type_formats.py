"""The format catalogue of the typing phase.

Every value format the typing phase can recognise is one `Format`: its type, its
DuckDB type and the one SQL expression that parses a trimmed, non-empty VARCHAR
value in that format (NULL when the value is not in it). The sample pass, the
typed table, the full-column count pass and the cast-failure listing all call the
same `Format.cast`, so they can never disagree about what parses.

DuckDB's own casts are lenient in ways that would mistype data (checked on 2.0.1):
`TRY_CAST('1.5' AS BIGINT)` is 2, `'1e3'`, `'0x10'` and `'1_000'` cast to BIGINT,
`'nan'`/`'inf'` cast to DOUBLE, `'infinity'` casts to DATE, `%Y` in `strptime`
reads `'20'` as the year 20, and a TIMESTAMP cast silently drops a `+02:00`
offset. So every cast here is guarded by an RE2 pattern (or a year range) first;
a failing TRY_CAST is slow anyway (about 200 ns, four times a success).

Costs per value (2.0.1): a regex match 40-80 ns, replace() 25 ns, contains() 10 ns,
regexp_replace(.., 'g') 250 ns. DuckDB computes an expression mentioned twice once,
but not inside the branch of a CASE nested in another: there each mention costs
again. So a cast mentions its costly parts once and repeats only the raw value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from phases.core.config import ColumnOverride
from phases.core.sql import quote_literal
from phases.ingest.typing_settings import TypingSettings

# Builds an SQL expression from the SQL of a trimmed, non-empty VARCHAR value.
Sql = Callable[[str], str]

_SPACES = (" ", "\u00a0", "\u202f")  # allowed between a number and its % sign or currency mark
_RE_SPECIAL = set("\\^$.|?*+()[]{}-/,'\" ")


@dataclass(frozen=True)
class Format:
    """One way of writing values of one type, with the SQL that parses it."""

    key: str  # unique within the catalogue, e.g. "integer[.]" or "date[%m/%d/%Y]"
    type: str  # one of phases.core.config.ColumnType
    sql_type: str
    cast: Sql
    format: str | None = None  # strptime format (dates and timestamps); None means ISO 8601
    decimal_separator: str | None = None  # numbers: the decimal separator the format assumes
    unit: str | None = None
    # Proposed only if some sample value it parses also satisfies this; keeps formats
    # that merely re-read plain integers (e.g. decimal[,]) out of the confirmation pass.
    evidence: Sql | None = None
    partner: str | None = None  # key of the rival reading of the same text (day/month, ',' vs '.')
    preferred: bool = False  # wins when it and its partner parse exactly the same values
    ambiguity_note: str | None = None
    min_parse_rate: float | None = None  # a stricter bar than the global minimum (YYYYMMDD)
    unit_sql: Sql | None = None  # currency: the ISO code written in each value, else NULL
    leading_zero_check: bool = False  # integer-looking values with leading zeros mean text
    parts: tuple[Format, ...] = ()  # the formats an agreeing_format reads with


# Types whose values are one kind of thing written in several ways: a value another format
# of the same family parses is of the column's type, in another format (see type_decisions).
FAMILIES = {"integer": "number", "decimal": "number", "percent": "number", "currency": "number",
            "date": "time", "timestamp": "time"}
# Families whose formats a column may mix, each value read by the formats that agree on it.
# Not numbers: '1,234' is 1234 or 1.234, and a column mixing both conventions is to be fixed
# at the source rather than read value by value.
MIXABLE = frozenset({"time"})


# A number with leading zeros ('007'): integer-looking columns holding one stay text.
ZEROS = quote_literal("[+-]?0[0-9]+(?:[.,][0-9]+)?")


def leading_zeros(col: str) -> str:
    """True if the raw value has leading zeros ('007', '-00.5'). Such values start with '+',
    '-' or '0', all in ['+', '1'): the range test spares most values the regex."""
    return f"CASE WHEN {col} >= '+' AND {col} < '1' THEN regexp_full_match({col}, {ZEROS}) END"


def family(fmt: Format) -> str | None:
    """The family of a format's type; None for text and boolean (no digits to tell junk by)."""
    return FAMILIES.get(fmt.type)


def _rx(text: str) -> str:
    """Escape text for RE2; only ASCII punctuation needs (and accepts) a backslash."""
    return "".join("\\" + c if c in _RE_SPECIAL else c for c in text)


def _rx_class(chars: tuple[str, ...] | str) -> str:
    return "[" + "".join(_rx(c) for c in chars) + "]"


def _strip(expr: str, chars: tuple[str, ...] | str) -> str:
    """Remove characters with nested replace(): much faster than translate/regexp_replace."""
    for c in chars:
        expr = f"replace({expr}, {quote_literal(c)}, '')"
    return expr


def _strip_one(expr: str, groups: tuple[str, ...]) -> str:
    """Remove the thousands separator a value uses. The patterns allow one kind per value,
    so one contains() test per kind and a single replace() do (vs. one replace per kind)."""
    whens = " ".join(
        f"WHEN contains({expr}, {quote_literal(g)}) THEN replace({expr}, {quote_literal(g)}, '')" for g in groups
    )
    return f"CASE {whens} ELSE {expr} END" if groups else expr


def _strip_amount_groups(expr: str, groups: tuple[str, ...]) -> str:
    """Remove the thousands separator of a number written with marks and spaces around it.
    A separator other than a space occurs only inside the number, so as in _strip_one
    (one kind per number) the first one found goes; else every space goes: the number's
    separator and the spaces around it, which may be of another kind."""
    solid = tuple(g for g in groups if g not in _SPACES)
    spaced = " OR ".join(f"contains({expr}, {quote_literal(c)})" for c in _SPACES)
    whens = " ".join(
        f"WHEN contains({expr}, {quote_literal(g)}) THEN replace({expr}, {quote_literal(g)}, '')" for g in solid
    )
    return f"CASE {whens} WHEN {spaced} THEN {_strip(expr, _SPACES)} ELSE {expr} END"


def _match(t: str, pattern: str) -> str:
    return f"regexp_full_match({t}, {quote_literal(pattern)})"


def _groups(decimal: str, settings: TypingSettings) -> tuple[str, ...]:
    """Thousands separators usable with a decimal separator: all configured but itself."""
    return tuple(g for g in settings.thousands_separators if g != decimal)


def _number_pattern(groups: tuple[str, ...], decimal: str | None, exponent: bool = True) -> str:
    """RE2 pattern of an unsigned number: plain digits, or digits grouped by threes with one
    kind of separator, then (unless `decimal` is None: integers) an optional fraction, and
    with '.' decimals an optional exponent unless told not to."""
    grouped = [f"[0-9]{{1,3}}(?:{_rx(g)}[0-9]{{3}})+" for g in groups]
    if decimal is None:
        return "(?:" + "|".join(["[0-9]+", *grouped]) + ")"
    d = _rx(decimal)
    exponent_sql = "(?:[eE][+-]?[0-9]+)?" if decimal == "." and exponent else ""
    plain = f"(?:[0-9]+(?:{d}[0-9]*)?|{d}[0-9]+){exponent_sql}"
    return "(?:" + "|".join([plain, *(f"{g}(?:{d}[0-9]+)?" for g in grouped)]) + ")"


def _to_double(text: str, decimal: str) -> str:
    """The number as a DOUBLE, NULL when it overflows: '1e999' (or 400 digits) passes every
    pattern but casts to an infinity, which is no value of the column's domain and breaks
    every statistic after it; so it is a cast failure like any other unreadable value.
    nullif() mentions the cast once (a CASE testing isfinite() would compute it twice)."""
    text = text if decimal == "." else f"replace({text}, ',', '.')"
    return f"nullif(nullif(TRY_CAST({text} AS DOUBLE), 'inf'::DOUBLE), '-inf'::DOUBLE)"


def integer_format(decimal: str, settings: TypingSettings) -> Format:
    groups = _groups(decimal, settings)
    grouped = "[+-]?" + _number_pattern(groups, None)

    def cast(t: str) -> str:
        # Plain digits first: one short pattern for most values, the grouped one for the rest.
        return (
            f"CASE WHEN {_match(t, '[+-]?[0-9]+')} THEN TRY_CAST({t} AS BIGINT) "
            f"WHEN {_match(t, grouped)} THEN TRY_CAST({_strip_one(t, groups)} AS BIGINT) END"
        )

    other = "," if decimal == "." else "."
    return Format(
        key=f"integer[{decimal}]",
        type="integer",
        sql_type="BIGINT",
        cast=cast,
        decimal_separator=decimal,
        leading_zero_check=True,
        # integer[.] reads plain digits too; integer[,] only matters when '.' groups digits.
        evidence=None if decimal == "." else (lambda t: f"contains({t}, {quote_literal(other)})"),
    )


def decimal_format(decimal: str, settings: TypingSettings) -> Format:
    groups = _groups(decimal, settings)
    plain = "[+-]?" + _number_pattern((), decimal)
    grouped = "[+-]?" + _number_pattern(groups, decimal)

    def cast(t: str) -> str:
        return (
            f"CASE WHEN {_match(t, plain)} THEN {_to_double(t, decimal)} "
            f"WHEN {_match(t, grouped)} THEN {_to_double(_strip_one(t, groups), decimal)} END"
        )

    return Format(
        key=f"decimal[{decimal}]",
        type="decimal",
        sql_type="DOUBLE",
        cast=cast,
        decimal_separator=decimal,
        leading_zero_check=True,
        evidence=lambda t: f"contains({t}, {quote_literal(decimal)})",
    )


def percent_format(decimal: str, settings: TypingSettings) -> Format:
    groups = _groups(decimal, settings)
    pattern = f"[+-]?{_number_pattern(groups, decimal)}{_rx_class(_SPACES)}?%"

    solid = tuple(g for g in groups if g not in _SPACES)

    def cast(t: str) -> str:
        # Once the pattern matched: drop the '%' (the last character), any spaces (before it
        # or grouping digits) and the value's one other kind of separator, if any. One flat
        # CASE over `t`, as an expression repeated in a CASE branch is computed each time.
        whens = " ".join(f"WHEN contains({t}, {quote_literal(g)}) THEN {_strip(t, (g, '%', *_SPACES))}" for g in solid)
        spaced = " OR ".join(f"contains({t}, {quote_literal(c)})" for c in _SPACES)
        number = f"CASE {whens} WHEN {spaced} THEN {_strip(t, ('%', *_SPACES))} ELSE left({t}, -1) END"
        return f"CASE WHEN {_match(t, pattern)} THEN {_to_double(number, decimal)} END"

    return Format(
        key=f"percent[{decimal}]",
        type="percent",
        sql_type="DOUBLE",
        cast=cast,
        decimal_separator=decimal,
        unit="percent",
        evidence=None if decimal == "." else (lambda t: f"contains({t}, ',')"),
    )


def _amount_cast(pattern: str, groups: tuple[str, ...], decimal: str) -> Sql:
    """The cast of any amount the currency pattern matches (the number: no sign or exponent)."""
    digits = quote_literal(f"[0-9{_rx(decimal)}]+")

    def cast(t: str) -> str:
        # Once the pattern matched, the number is the only run of digits and decimal separator
        # left after removing its thousands separators (marks hold no digits). A replace()
        # and a simple regex cost a third of a regexp_replace(.., 'g') of all but digits.
        number = f"regexp_extract({_strip_amount_groups(t, groups)}, {digits})"
        balanced = f"contains({t}, '(') = contains({t}, ')')"
        sign = f"CASE WHEN contains({t}, '-') OR contains({t}, '(') THEN -1 ELSE 1 END"
        return f"CASE WHEN {_match(t, pattern)} AND {balanced} THEN {sign} * {_to_double(number, decimal)} END"

    return cast


def _symbol_amount_cast(symbols: list[str], number: str, groups: tuple[str, ...], decimal: str) -> Sql:
    """The cast of the most common layout, '$1,234.56': a one-character symbol, then an
    unsigned number (`number` is its pattern). It costs half the general cast and, where
    it gives a value, gives the general cast's; it gives NULL for any other layout."""

    def cast(t: str) -> str:
        starts = " OR ".join(f"prefix({t}, {quote_literal(m)})" for m in symbols)
        value = _to_double(f"substr({_strip_one(t, groups)}, 2)", decimal)
        return f"CASE WHEN {starts} THEN CASE WHEN {_match(f'substr({t}, 2)', number)} THEN {value} END END"

    return cast


def currency_format(decimal: str, settings: TypingSettings) -> Format:
    marks = sorted({*settings.currency_symbols, *settings.currency_codes}, key=lambda m: (-len(m), m))
    cur = "(?:" + "|".join(_rx(m) for m in marks) + ")"
    sp = _rx_class(_SPACES) + "?"
    # Before the number: "-$", "$", "-", "USD -", "$ (", "(USD "; after it: " EUR", ")".
    before = f"(?:[+-]?{sp}(?:{cur}{sp})?|{cur}{sp}[+-]{sp}|(?:{cur}{sp})?\\({sp}(?:{cur}{sp})?)"
    after = f"(?:{sp}{cur})?(?:{sp}\\))?"
    groups = _groups(decimal, settings)
    # No exponent: its digits and sign would be taken for the amount's ('$1e-3' is not -13).
    number = _number_pattern(groups, decimal, exponent=False)
    general = _amount_cast(f"{before}{number}{after}", groups, decimal)
    symbols = [m for m in settings.currency_symbols if len(m) == 1 and m not in (*groups, decimal, "(", ")", "+", "-")]
    fast = _symbol_amount_cast(symbols, number, groups, decimal)

    def cast(t: str) -> str:
        # COALESCE computes the general cast only where the fast one gives NULL.
        return f"COALESCE({fast(t)}, {general(t)})" if symbols else general(t)

    def unit_sql(t: str) -> str:
        whens = " ".join(
            f"WHEN contains({t}, {quote_literal(s)}) THEN {quote_literal(code)}"
            for s, code in sorted(settings.currency_symbols.items(), key=lambda kv: (-len(kv[0]), kv[0]))
        )
        codes = "(?:" + "|".join(sorted(settings.currency_codes)) + ")"
        return f"CASE {whens} ELSE NULLIF(regexp_extract({t}, {quote_literal(codes)}), '') END"

    def evidence(t: str) -> str:
        marked = f"(regexp_matches({t}, {quote_literal(cur)}) OR contains({t}, '('))"
        return marked if decimal == "." else f"({marked} AND contains({t}, ','))"

    return Format(
        key=f"currency[{decimal}]",
        type="currency",
        sql_type="DOUBLE",
        cast=cast,
        decimal_separator=decimal,
        evidence=evidence,
        unit_sql=unit_sql,
    )


def boolean_format(settings: TypingSettings) -> Format:
    def cast(t: str) -> str:
        yes = ", ".join(quote_literal(v) for v in settings.true_tokens)
        no = ", ".join(quote_literal(v) for v in settings.false_tokens)
        return f"CASE WHEN lower({t}) IN ({yes}) THEN true WHEN lower({t}) IN ({no}) THEN false END"

    return Format(key="boolean", type="boolean", sql_type="BOOLEAN", cast=cast)


def _shape(fmt: str, t: str) -> str:
    """Cheap necessary conditions for `fmt` to match: a failing TRY_STRPTIME costs about
    500 ns (ten times a success), and most values tried against most formats fail."""
    literals, directives, i = set(), [], 0
    while i < len(fmt):
        if fmt[i] == "%" and i + 1 < len(fmt):
            directives.append(fmt[i + 1])
            i += 2
            continue
        if not fmt[i].isspace():
            literals.add(fmt[i])
        i += 1
    tests = [f"contains({t}, {quote_literal(c)})" for c in sorted(literals)]
    if ":" not in literals:
        tests.append(f"NOT contains({t}, ':')")
    if fmt.startswith("%") and directives and directives[0] in "YmdHIMSyj":
        tests.append(f"{t} >= '0' AND {t} < ':'")  # starts with a digit
    return " AND ".join(tests) or "true"


def strptime_format(
    type_: str, fmt: str, years: tuple[int, int], key: str | None = None, guard: Sql | None = None
) -> Format:
    """A date or timestamp format read by TRY_STRPTIME (STRPTIME raises even in TRY_CAST).
    %Y also reads 2- and 3-digit years, hence the year range. `guard`: a further test."""
    parsed = f"TRY_STRPTIME({{t}}, {quote_literal(fmt)})"
    if "%z" in fmt or "%Z" in fmt:  # strptime then returns TIMESTAMPTZ: keep the instant, in UTC
        parsed = f"timezone('UTC', {parsed})"
    target = "DATE" if type_ == "date" else "TIMESTAMP"

    def cast(t: str) -> str:
        # The shape test sits inside the strptime argument (strptime of NULL costs nothing),
        # so the parsed value is mentioned only in the condition and the result of one CASE:
        # DuckDB then computes it once. In the branch of an enclosing CASE it would be twice.
        shape = _shape(fmt, t) if guard is None else f"{guard(t)} AND {_shape(fmt, t)}"
        value = parsed.replace("{t}", f"CASE WHEN {shape} THEN {t} END")
        return f"CASE WHEN year({value}) BETWEEN {years[0]} AND {years[1]} THEN CAST({value} AS {target}) END"

    return Format(key=key or f"{type_}[{fmt}]", type=type_, sql_type=target, cast=cast, format=fmt)


def compact_date_format(settings: TypingSettings) -> Format:
    """YYYYMMDD: only when every value is a date in a plausible year range."""
    years = (settings.compact_date_year_min, settings.compact_date_year_max)
    inner = strptime_format("date", "%Y%m%d", years, guard=lambda t: _match(t, "[0-9]{8}"))
    return replace(inner, min_parse_rate=settings.compact_date_min_parse_rate)


def iso_timestamp_format() -> Format:
    """ISO 8601 with a space or T, optional seconds and fraction, optional Z or offset."""
    pattern = (
        "[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}[T ][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\\.[0-9]+)?)?"
        "(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)?"
    )

    def cast(t: str) -> str:
        # The pattern is needed: a TIMESTAMP cast also accepts (and ignores) any trailing
        # word as a time zone name. It silently drops offsets too, so values with one (a '+',
        # or a '-' after the time) go through TIMESTAMPTZ to UTC; 'Z' needs no conversion.
        return (
            f"CASE WHEN {_match(t, pattern)} THEN CASE WHEN contains({t}, '+') OR {t} LIKE '%:%-%' "
            f"THEN timezone('UTC', TRY_CAST({t} AS TIMESTAMPTZ)) ELSE TRY_CAST({t} AS TIMESTAMP) END END"
        )

    return Format(key="timestamp[iso]", type="timestamp", sql_type="TIMESTAMP", cast=cast)


def quarter_format(year_first: bool, years: tuple[int, int]) -> Format:
    """A quarter ('2024Q1', '2024-Q1', '2024 q1'; or 'Q1 2024', 'Q1-2024'), stored as the
    quarter's first day; strptime has no quarter directive."""
    year, quarter = "([0-9]{4})", "[Qq]([1-4])"
    pattern = f"{year}[ -]?{quarter}" if year_first else f"{quarter}[ -]?{year}"
    groups = "['y', 'q']" if year_first else "['q', 'y']"

    def cast(t: str) -> str:
        # The shape tests keep most values away from the regex: a quarter holds a 'Q' or 'q'.
        shaped = f"CASE WHEN (contains({t}, 'Q') OR contains({t}, 'q')) AND {_match(t, pattern)} THEN {t} END"
        parts = f"regexp_extract({shaped}, {quote_literal(pattern)}, {groups})"
        value = f"make_date(CAST({parts}.y AS INTEGER), CAST({parts}.q AS INTEGER) * 3 - 2, 1)"
        return f"CASE WHEN CAST({parts}.y AS INTEGER) BETWEEN {years[0]} AND {years[1]} THEN {value} END"

    key = "date[%Y-Q%q]" if year_first else "date[Q%q %Y]"
    return Format(key=key, type="date", sql_type="DATE", cast=cast, format=key[5:-1])


def agreeing_format(formats: Sequence[Format]) -> Format:
    """Several formats of one type read as one (a date column written in several layouts): a
    value is read when every one of them that parses it reads the same value; where two read
    it differently ('03/04/2025' in a column mixing month-first and day-first dates) nothing
    tells which is meant, so it is left unread: a cast failure, not a guess."""

    def cast(t: str) -> str:
        readings = ", ".join(f.cast(t) for f in formats)
        low, high = f"least({readings})", f"greatest({readings})"  # both skip NULLs
        return f"CASE WHEN {low} = {high} THEN {low} END"

    first = formats[0]
    return Format(
        key=f"{first.type}[{' | '.join(f.key for f in formats)}]",
        type=first.type,
        sql_type=first.sql_type,
        cast=cast,
        format=" | ".join(f.format or f.key for f in formats),
        parts=tuple(formats),
    )


def text_format() -> Format:
    return Format(key="text", type="text", sql_type="VARCHAR", cast=lambda t: t)


def _swap_day_month(fmt: str) -> str:
    return fmt.replace("%m", "\0").replace("%d", "%m").replace("\0", "%d")


def _pair_dates(formats: list[Format], settings: TypingSettings) -> list[Format]:
    """Link MM/DD and DD/MM readings of the same layout as partners."""
    keys = {f.key for f in formats}
    linked = []
    for f in formats:
        partner = f"{f.type}[{_swap_day_month(f.format)}]" if f.format else None
        if f.format is None or partner is None or partner == f.key or partner not in keys:
            linked.append(f)
            continue
        month_first = f.format.index("%m") < f.format.index("%d")
        assumed = "MM/DD" if month_first else "DD/MM"
        linked.append(
            replace(
                f,
                partner=partner,
                preferred=month_first == (settings.date_order_default == "month_first"),
                ambiguity_note=f"day/month order cannot be told from the data; assumed {assumed}",
            )
        )
    return linked


def _pair_numbers(formats: list[Format], settings: TypingSettings) -> list[Format]:
    """'1,234' is 1234 or 1.234 and '1.234' is 1.234 or 1234: link the two readings."""
    pairs = {
        "integer[.]": "decimal[,]",
        "decimal[,]": "integer[.]",
        "integer[,]": "decimal[.]",
        "decimal[.]": "integer[,]",
    }
    linked = []
    for f in formats:
        if f.key not in pairs:
            linked.append(f)
            continue
        sep = "," if f.key in ("integer[.]", "decimal[,]") else "."
        role = "thousands" if f.type == "integer" else "decimal"
        linked.append(
            replace(
                f,
                partner=pairs[f.key],
                preferred=f.decimal_separator == settings.decimal_separator_default,
                ambiguity_note=f"'{sep}' may be a thousands or a decimal separator; assumed {role} separator",
            )
        )
    return linked


def build_catalogue(settings: TypingSettings) -> tuple[Format, ...]:
    """All formats, most specific first: on equal sample match rates the earlier one wins."""
    years = (settings.date_year_min, settings.date_year_max)
    formats = [boolean_format(settings), compact_date_format(settings)]
    for decimal in (".", ","):  # integer[.], decimal[.], integer[,], decimal[,] ...
        formats += [integer_format(decimal, settings), decimal_format(decimal, settings)]
    formats += [percent_format(d, settings) for d in (".", ",")]
    formats += [currency_format(d, settings) for d in (".", ",")]
    formats += [strptime_format("date", fmt, years) for fmt in settings.date_formats]
    formats += [quarter_format(True, years), quarter_format(False, years)]
    formats.append(iso_timestamp_format())
    for date_fmt in (f for f in settings.date_formats if "%d" in f):  # a time needs a day
        for time_fmt in settings.time_formats:
            if date_fmt == "%Y-%m-%d" and "%p" not in time_fmt:
                continue  # already read (with fractions and offsets) by timestamp[iso]
            formats.append(strptime_format("timestamp", f"{date_fmt} {time_fmt}", years))
    return tuple(_pair_numbers(_pair_dates(formats, settings), settings))


def override_format(
    override: ColumnOverride, proposed: Sequence[str], by_key: Mapping[str, Format], settings: TypingSettings
) -> Format:
    """The format a `ColumnOverride` names. What it leaves open (format, separator) comes
    from the best proposed format of that type (keys in `proposed`), else the defaults.
    A strptime format not in the catalogue gets its own entry."""
    if override.type == "text":
        return TEXT
    if override.type in ("date", "timestamp") and override.format:
        key = f"{override.type}[{override.format}]"
        years = (settings.date_year_min, settings.date_year_max)
        return by_key.get(key) or strptime_format(override.type, override.format, years)
    same_type = [
        by_key[k]
        for k in proposed
        if by_key[k].type == override.type and override.decimal_separator in (None, by_key[k].decimal_separator)
    ]
    if same_type:
        return same_type[0]
    if override.type in ("integer", "decimal", "percent", "currency"):
        sep = override.decimal_separator or settings.decimal_separator_default
        return by_key[f"{override.type}[{sep}]"]
    if override.type == "date":
        years = (settings.date_year_min, settings.date_year_max)
        return by_key.get("date[%Y-%m-%d]") or strptime_format("date", "%Y-%m-%d", years)
    return by_key["timestamp[iso]" if override.type == "timestamp" else "boolean"]


TEXT = text_format()


@dataclass(frozen=True)
class ValueSql:
    """The SQL that reads raw column values; the one place that applies a format to a column.

    `trim(x, chars)` costs five times a parquet decode, so the full-table passes do not trim
    up front: `cast` applies the format to the raw value and retries on the trimmed value
    only where that gave NULL and the value starts or ends with a trim character. This
    equals applying the format to the trimmed value, as every format either ignores
    surrounding whitespace or rejects it. CASE and COALESCE evaluate lazily in DuckDB;
    AND/OR inside an expression (not a WHERE) evaluate both sides, hence CASE below."""

    chars: str

    def _edge(self, col: str) -> str:
        """True if the value may start or end with a trim character. All configured ones
        sort below '!' or at or above U+00A0 (the settings check this)."""
        ends = " OR ".join(f"suffix({col}, {quote_literal(c)})" for c in self.chars)
        return f"{col} < '!' OR {col} >= '\u00a0' OR {ends}"

    def _trim(self, col: str) -> str:
        return f"trim({col}, {quote_literal(self.chars)})"

    def trimmed(self, col: str) -> str:
        """Trimmed value, NULL when blank."""
        return f"CASE WHEN {self._edge(col)} THEN NULLIF({self._trim(col)}, '') ELSE {col} END"

    def cast(self, fmt: Format, col: str) -> str:
        if fmt is TEXT:
            return col
        retry = f"CASE WHEN {self._edge(col)} THEN {fmt.cast(self._trim(col))} END"
        return f"COALESCE({fmt.cast(col)}, {retry})"

    def blank(self, col: str) -> str:
        """Empty or whitespace only (NULL counts as not blank)."""
        return f"CASE WHEN {col} < '!' OR {col} >= '\u00a0' THEN {self._trim(col)} = '' ELSE false END"
