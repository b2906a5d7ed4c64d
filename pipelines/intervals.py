"""Indicator value and 95% confidence interval (spec: "Value and confidence interval").

``percent``   -> Wilson score interval (Wilson 1927), times 100.
``per_10000`` -> Byar's approximation (Breslow & Day 1987) when the numerator is >= 10,
                 exact Poisson limits via the chi-squared relation (Garwood 1936; Ulm 1990)
                 when it is < 10; times 10000 / population.

Each function checks its arguments first and raises ValueError for impossible input.
A denominator of 0 is not an error: value and limits are None, the method is still named.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

import pandas as pd

Z_95 = 1.959964  # the spec's value; qnorm(0.975) = 1.959963984540054 differs by 8e-9 relative
BYAR_MIN_NUMERATOR = 10  # below this, rates use exact Poisson limits


@dataclass(frozen=True)
class Interval:
    value: float | None
    lower: float | None
    upper: float | None
    method: str  # "wilson", "byar" or "exact"


def _count(name: str, x: object) -> int:
    """Return x as an int if it is a non-negative whole number, else raise ValueError."""
    if isinstance(x, bool) or not isinstance(x, Real) or not math.isfinite(x):
        raise ValueError(f"{name} must be a whole number of cases, got {x!r}")
    if x < 0:
        raise ValueError(f"{name} must not be negative, got {x!r}: check the extract or the indicator's SQL")
    if x != math.floor(x):
        raise ValueError(f"{name} must be a whole number of cases, got {x!r}")
    return int(x)


def _population(name: str, x: object) -> float:
    """Return x as a float if it is finite and non-negative (rate denominators may be fractional)."""
    if isinstance(x, bool) or not isinstance(x, Real) or not math.isfinite(x):
        raise ValueError(f"{name} must be a finite number (a population), got {x!r}")
    if x < 0:
        raise ValueError(f"{name} must not be negative, got {x!r}: check the population reference data")
    return float(x)


def _positive(name: str, x: object) -> float:
    if isinstance(x, bool) or not isinstance(x, Real) or not (math.isfinite(x) and x > 0):
        raise ValueError(f"{name} must be a positive finite number, got {x!r}")
    return float(x)


def wilson_interval(numerator, denominator, *, multiplier: float = 100.0, z: float = Z_95) -> Interval:
    """Proportion x/n times ``multiplier`` with its Wilson score interval (Wilson 1927).

    Limits ``(2x + z² ∓ z·sqrt(z² + 4x(1 − x/n))) / (2(n + z²))``, as in PHEindicatormethods.
    """
    x, n = _count("numerator", numerator), _count("denominator", denominator)
    multiplier, z = _positive("multiplier", multiplier), _positive("z", z)
    if x > n:
        raise ValueError(f"numerator ({x}) is greater than denominator ({n}): not a proportion")
    if n == 0:
        return Interval(None, None, None, "wilson")
    centre, scale = 2 * x + z * z, 2 * (n + z * z)
    spread = z * math.sqrt(z * z + 4 * x * (1 - x / n))
    # at x = 0 and x = n the limits are exactly 0 and 1; rounding must not push them past the value
    lower = 0.0 if x == 0 else (centre - spread) / scale
    upper = 1.0 if x == n else (centre + spread) / scale
    return Interval(multiplier * (x / n), multiplier * lower, multiplier * upper, "wilson")


def _rate(x: int, lower: float, upper: float, population: float, multiplier: float, method: str) -> Interval:
    """Scale count limits to a rate per ``multiplier`` population."""
    if population == 0:
        return Interval(None, None, None, method)
    return Interval(*(float(c) * multiplier / population for c in (x, lower, upper)), method)


def byar_interval(numerator, denominator, *, multiplier: float = 10000.0, z: float = Z_95) -> Interval:
    """Rate per ``multiplier`` with Byar's approximate Poisson limits (Breslow & Day 1987).

    Lower ``x(1 − 1/(9x) − z/(3√x))³``, upper ``(x+1)(1 − 1/(9(x+1)) + z/(3√(x+1)))³``.
    Meant for x >= 10; for smaller x the lower limit is floored at 0.
    """
    x, population = _count("numerator", numerator), _population("denominator", denominator)
    multiplier, z = _positive("multiplier", multiplier), _positive("z", z)
    lower = 0.0 if x == 0 else x * max(0.0, 1 - 1 / (9 * x) - z / (3 * math.sqrt(x))) ** 3
    upper = (x + 1) * (1 - 1 / (9 * (x + 1)) + z / (3 * math.sqrt(x + 1))) ** 3
    return _rate(x, lower, upper, population, multiplier, "byar")


def exact_poisson_interval(
    numerator, denominator, *, multiplier: float = 10000.0, confidence: float = 0.95
) -> Interval:
    """Rate per ``multiplier`` with exact Poisson limits via chi-squared (Garwood 1936; Ulm 1990).

    Lower ``χ²(α/2; 2x)/2`` (0 when x = 0), upper ``χ²(1 − α/2; 2x+2)/2``, with α = 1 − confidence.
    """
    x, population = _count("numerator", numerator), _population("denominator", denominator)
    multiplier = _positive("multiplier", multiplier)
    if not (isinstance(confidence, Real) and 0 < confidence < 1):
        raise ValueError(f"confidence must be a fraction between 0 and 1 (e.g. 0.95), got {confidence!r}")
    from scipy.special import gammaincinv  # chi2.ppf(q, 2k) / 2 == gammaincinv(k, q), without scipy.stats' ~1 s import

    alpha = 1 - confidence
    lower = 0.0 if x == 0 else float(gammaincinv(x, alpha / 2))
    upper = float(gammaincinv(x + 1, 1 - alpha / 2))
    return _rate(x, lower, upper, population, multiplier, "exact")


def rate_interval(numerator, denominator, *, multiplier: float = 10000.0) -> Interval:
    """Rate per ``multiplier``, 95% limits: Byar when numerator >= 10, exact Poisson when < 10."""
    x = _count("numerator", numerator)
    if x >= BYAR_MIN_NUMERATOR:
        return byar_interval(x, denominator, multiplier=multiplier)
    return exact_poisson_interval(x, denominator, multiplier=multiplier)


UNITS = {
    "percent": lambda x, n: wilson_interval(x, n, multiplier=100.0),
    "per_10000": lambda x, n: rate_interval(x, n, multiplier=10000.0),
}


def interval_for_unit(unit: str, numerator, denominator) -> Interval:
    """Value and 95% interval for an indicator measured in ``unit`` ("percent" or "per_10000")."""
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}: expected one of {sorted(UNITS)}")
    return UNITS[unit](numerator, denominator)


def _method_without_interval(unit: str, numerator) -> str | None:
    """The method a row would use; None for a rate whose numerator (which picks the method) is null."""
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}: expected one of {sorted(UNITS)}")
    if unit == "percent":
        return "wilson"
    if pd.isna(numerator):
        return None
    return "byar" if _count("numerator", numerator) >= BYAR_MIN_NUMERATOR else "exact"


def intervals_frame(df: pd.DataFrame, unit_col: str, numerator_col: str, denominator_col: str) -> pd.DataFrame:
    """Copy of ``df`` with ``value, ci_lower, ci_upper`` (nullable Float64) and ``ci_method`` added.

    Rows with a null numerator or denominator get null value and limits. Invalid rows raise
    ValueError naming the row.
    """
    missing = [c for c in (unit_col, numerator_col, denominator_col) if c not in df.columns]
    if missing:
        raise ValueError(f"intervals_frame: columns {missing} not in frame (has {list(df.columns)})")
    intervals = []
    for index, unit, x, n in zip(df.index, df[unit_col], df[numerator_col], df[denominator_col]):
        try:
            if pd.isna(x) or pd.isna(n):
                intervals.append(Interval(None, None, None, _method_without_interval(unit, x)))
            else:
                intervals.append(interval_for_unit(unit, x, n))
        except ValueError as err:
            raise ValueError(f"row {index!r} ({unit_col}={unit!r}, {numerator_col}={x}, "
                             f"{denominator_col}={n}): {err}") from err
    out = df.copy()
    for column, field in (("value", "value"), ("ci_lower", "lower"), ("ci_upper", "upper")):
        out[column] = pd.array([getattr(i, field) for i in intervals], dtype="Float64")
    out["ci_method"] = pd.array([i.method for i in intervals], dtype="string")
    return out
