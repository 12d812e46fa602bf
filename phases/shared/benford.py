"""Benford's law on the first significant digit of amount-like columns: when the test applies
(judged from the profile, then from the spread of |x|), the digit counts (one SQL histogram),
chi-square with its p-value, Nigrini's MAD conformity, and the uniform-digit share.

The uniform-digit share is the mixture weight w of observed = (1 - w) Benford + w uniform, fitted
by least squares, with its z under multinomial sampling from Benford (chance corrected at n):
values whose leading digit was invented or replaced (people choosing digits, a random
replacement) make the digits flatter than the law, by about the share of such values. A
distribution confined to a narrow range makes them steeper or flatter by its shape; a negative w
(too many low digits) is not invention."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from phases.artifacts.column_profiles import ColumnProfile
from phases.artifacts.quality_findings import Check, Finding
from phases.core.config import Model
from phases.core.records import round_sig
from phases.core.sql import quote_ident
from phases.shared.narrow import finite
from phases.shared.quality_base import Aggregates, Measured, Severity, identifier_reason, numeric_of, signed_or_zero

BENFORD_TYPES = ("integer", "decimal", "currency")  # percentages are bounded ratios, not amounts
# Nigrini (2012), first-digit test: MAD up to 0.006 close, 0.012 acceptable, 0.015 marginal conformity.
NIGRINI_FIRST_DIGIT = ((0.006, "close"), (0.012, "acceptable"), (0.015, "marginal"))
BENFORD_EXPECTED = {d: math.log10(1 + 1 / d) for d in range(1, 10)}
# uniform digits minus Benford's: the direction the mixture weight of invented digits is fitted along
TOWARDS_UNIFORM = {d: 1 / 9 - p for d, p in BENFORD_EXPECTED.items()}


class BenfordSettings(Model):
    """The `benford` section of config/statistical_quality.yaml."""

    min_values: int = Field(300, ge=10)
    min_orders_of_magnitude: float = Field(2.0, gt=0, le=20)
    min_distinct: int = Field(30, ge=1)
    max_integer_density: float = Field(0.5, gt=0, le=1)


def first_digit_sql(expr: str) -> str:
    """SQL for the first significant digit of a non-zero number: 0.0042 -> 4, -1000 -> 1.
    |x| is scaled into [1, 10) by one exact operation: multiplied by 10^k for small numbers,
    divided by 10^k for large ones (dividing by 10^-k is inexact: 0.3 / 0.1 = 2.9999999999999996);
    the other factor is 10^0 = 1. A margin of 1e-12 absorbs the last-bit error of that operation
    (0.29 * 100 = 28.999999999999996 must still give 2 for 0.29, and 3 for 0.3). When log10 rounds
    across a power of ten the scaled value floors to 10 (really a 1) or 0 (really a 9): the list
    lookup maps 0..10 to digits in one step, twice as fast as a CASE that repeats the expression.
    NULL for 0, NULL, and magnitudes below 1e-300 (subnormal: 10^300+ would overflow)."""
    a = f"abs(CAST({expr} AS DOUBLE))"
    e = f"floor(log10({a}))"
    scaled = f"{a} * power(10, greatest(-{e}, 0)) / power(10, greatest({e}, 0))"
    digit = f"[9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1][CAST(floor({scaled} + 1e-12) AS INTEGER) + 1]"
    # CASE evaluates its branch only on the rows that reach it, so log10(0) is never computed.
    return f"(CASE WHEN {a} >= 1e-300 THEN {digit} END)"


def chi_square_sf(x: float, df: int) -> float:
    """P(X >= x) for a chi-square variable with an even number of degrees of freedom (closed form:
    exp(-x/2) * sum_{i < df/2} (x/2)^i / i!). Benford's first-digit test has df = 8."""
    if df <= 0 or df % 2:
        raise ValueError(f"closed form needs a positive even df, got {df}")
    half = x / 2
    term, total = 1.0, 1.0
    for i in range(1, df // 2):
        term *= half / i
        total += term
    return min(1.0, math.exp(-half) * total)


@dataclass(frozen=True)
class BenfordResult:
    n: int
    chi_square: float
    p_value: float
    mad: float  # mean absolute deviation of the digit shares from Benford's
    conformity: str  # close | acceptable | marginal | nonconformity (Nigrini's first-digit cut-offs)
    observed: Mapping[str, float]  # digit -> share
    uniform_share: float = 0.0  # least-squares weight of uniform leading digits mixed into Benford's (may be < 0)
    uniform_share_z: float = 0.0  # that weight over its standard error when the digits follow Benford


def uniform_share(observed: Mapping[int, float], n: int) -> tuple[float, float]:
    """(w, z): the weight of uniform digits in observed = (1 - w) Benford + w uniform, and w over
    its standard error under multinomial sampling of n digits from Benford's law."""
    ss = sum(u * u for u in TOWARDS_UNIFORM.values())
    c = {d: u / ss for d, u in TOWARDS_UNIFORM.items()}
    w = sum((observed[d] - p) * c[d] for d, p in BENFORD_EXPECTED.items())
    variance = (sum(c[d] ** 2 * p for d, p in BENFORD_EXPECTED.items())
                - sum(c[d] * p for d, p in BENFORD_EXPECTED.items()) ** 2) / n
    return w, w / math.sqrt(variance)


def benford_test(counts: Mapping[int, int]) -> BenfordResult:
    """Chi-square and MAD conformity of first-digit counts (digit 1..9 -> count)."""
    n = sum(counts.get(d, 0) for d in range(1, 10))
    if n == 0:
        raise ValueError("Benford's test needs at least one non-zero value")
    chi = sum((counts.get(d, 0) - n * p) ** 2 / (n * p) for d, p in BENFORD_EXPECTED.items())
    observed = {d: counts.get(d, 0) / n for d in range(1, 10)}
    mad = sum(abs(observed[d] - p) for d, p in BENFORD_EXPECTED.items()) / 9
    conformity = next((label for cut, label in NIGRINI_FIRST_DIGIT if mad <= cut), "nonconformity")
    w, z = uniform_share(observed, n)
    return BenfordResult(
        n=n, chi_square=finite(round_sig(chi)), p_value=finite(round_sig(chi_square_sf(chi, 8))),
        mad=finite(round_sig(mad)), conformity=conformity,
        observed={str(d): finite(round_sig(share)) for d, share in observed.items()},
        uniform_share=finite(round_sig(w)), uniform_share_z=finite(round_sig(z)),
    )


def benford_reason(profile: ColumnProfile, settings: BenfordSettings) -> str | None:
    """Why Benford's test does not apply to a column, judged from its profile (None: it may)."""
    if profile.type not in BENFORD_TYPES:
        if profile.type == "percent":
            return "percentages are bounded ratios, not amounts"
        return f"type {profile.type!r} is not an amount"
    if profile.numeric is None:
        return "the column has no values"
    if reason := identifier_reason(profile):
        return reason
    nonzero = profile.non_null_count - profile.numeric.zero_count
    if nonzero < settings.min_values:
        return f"only {nonzero} non-zero values; the test needs at least {settings.min_values}"
    if profile.distinct_count < settings.min_distinct:
        return f"only {profile.distinct_count} distinct values (codes or categories, not amounts)"
    if profile.type == "integer":
        span = int(profile.numeric.max) - int(profile.numeric.min) + 1
        density = profile.distinct_count / span
        if density > settings.max_integer_density:
            return (f"assigned numbers: the values fill {density:.0%} of the integers from "
                    f"{profile.numeric.min} to {profile.numeric.max}")
    return None


def orders_of_magnitude(profile: ColumnProfile, measured: Measured) -> float:
    """log10(p99 / p1) of the non-zero |x|: from the profile when all values are positive, else
    from quality_base.magnitude_measure."""
    if signed_or_zero(profile):
        magnitudes = measured[(profile.name, "magnitudes")]
        low, high = magnitudes[0], magnitudes[-1]
    else:
        numeric = numeric_of(profile)
        low, high = numeric.quantile(0.01), numeric.quantile(0.99)
    return math.log10(high / low)


def spread_check(profile: ColumnProfile, measured: Measured, settings: BenfordSettings) -> Check | None:
    """The not-applicable check when the magnitudes span too few orders (None: the test applies)."""
    orders = orders_of_magnitude(profile, measured)
    if orders >= settings.min_orders_of_magnitude:
        return None
    reason = (f"values span {orders:.2f} orders of magnitude (1st to 99th percentile of |x|); "
              f"the test needs {settings.min_orders_of_magnitude}")
    return Check("benford", profile.name, False, reason, {"orders_of_magnitude": round_sig(orders)})


def benford_measure(wide: Aggregates, profile: ColumnProfile) -> None:
    """Queue the first-digit histogram on the wide scan."""
    c = quote_ident(profile.name)
    wide.add(profile.name, "benford_digits", f"histogram({wide.derive(first_digit_sql(c))})")


def benford_judge(
    profile: ColumnProfile, measured: Measured, severity: Mapping[str, Severity]
) -> tuple[Check, Finding | None]:
    """The test on the measured digit counts (its spread was checked before the scan).
    `severity` maps 'marginal' and 'nonconformity' to the severity of the finding."""
    result = benford_test(measured[(profile.name, "benford_digits")])
    evidence: dict[str, Any] = {
        "n": result.n, "chi_square": result.chi_square, "p_value": result.p_value, "mad": result.mad,
        "conformity": result.conformity, "orders_of_magnitude": round_sig(orders_of_magnitude(profile, measured)),
        "observed": result.observed, "uniform_share": result.uniform_share, "uniform_share_z": result.uniform_share_z,
    }
    check = Check("benford", profile.name, True, None, evidence)
    if result.conformity not in severity:
        return check, None
    finding = Finding(f"benford_{result.conformity}", severity[result.conformity], profile.name, evidence)
    return check, finding
