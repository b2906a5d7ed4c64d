"""Interval maths: golden tables (PHEindicatormethods), scipy, properties, input checks."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.stats import binomtest, chi2, norm, poisson

from pipelines.intervals import (
    Z_95,
    Interval,
    byar_interval,
    exact_poisson_interval,
    interval_for_unit,
    intervals_frame,
    rate_interval,
    wilson_interval,
)
from repo_paths import SHARED_DIR

REL = 1e-6
Z_998 = float(norm.ppf(0.999))  # the golden tables' 99.8% z; the spec fixes only the 95% one
LEVELS = {  # golden column suffix -> (z for Wilson/Byar, confidence for exact)
    "95_0cl": (Z_95, 0.95),
    "99_8cl": (Z_998, 0.998),
}


# --- golden tables --------------------------------------------------------------------------


def _golden_dir() -> Path:
    golden = SHARED_DIR / "golden"
    if not golden.is_dir():
        pytest.fail(f"golden tables not found at {golden}: set PMF_SHARED_DIR to the shared folder "
                    "that holds golden/phe_wilson_proportions.csv and golden/phe_byar_exact_rates.csv")
    return golden


def _golden(name: str) -> pd.DataFrame:
    return pd.read_csv(_golden_dir() / name)


def _complete(df: pd.DataFrame) -> list[dict]:
    return df[df["Denominator"].notna()].to_dict("records")


def _golden_rows(name: str) -> list:
    # Read at collection time so each row is its own test case. If the folder is missing, one
    # placeholder case runs and fails with _golden_dir's message (not a bare collection error).
    try:
        rows = _complete(_golden(name))
    except pytest.fail.Exception:
        return [pytest.param(None, id="golden-tables-missing")]
    return [pytest.param(row, id=f"{row['Area']}-per{row['multiplier']:g}") for row in rows]


def _check_row(got: Interval, row: dict, level: str) -> None:
    label = f"{row['Area']} {row['statistic']}"
    assert got.value == pytest.approx(row["value"], rel=REL), f"{label}: value"
    assert got.lower == pytest.approx(row[f"lower{level}"], rel=REL), f"{label}: lower{level}"
    assert got.upper == pytest.approx(row[f"upper{level}"], rel=REL), f"{label}: upper{level}"


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("row", _golden_rows("phe_wilson_proportions.csv"))
def test_wilson_matches_golden(row, level):
    row = row or _golden_dir()  # None only when the tables are missing: fails with the reason
    z, _ = LEVELS[level]
    got = wilson_interval(row["Numerator"], row["Denominator"], multiplier=row["multiplier"], z=z)
    assert got.method == "wilson"
    _check_row(got, row, level)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("row", _golden_rows("phe_byar_exact_rates.csv"))
def test_rates_match_golden(row, level):
    row = row or _golden_dir()
    z, confidence = LEVELS[level]
    x, n, multiplier = row["Numerator"], row["Denominator"], row["multiplier"]
    if row["method"] == "Byars":
        got = byar_interval(x, n, multiplier=multiplier, z=z)
    else:
        got = exact_poisson_interval(x, n, multiplier=multiplier, confidence=confidence)
    _check_row(got, row, level)
    # our numerator-based switch picks the same method as the package did
    assert rate_interval(x, n, multiplier=multiplier).method == {"Byars": "byar", "Exact": "exact"}[row["method"]]


def test_golden_rates_include_numerator_above_denominator():
    # Area12 (250 per 220) is valid for a rate: only proportions need numerator <= denominator.
    rows = _golden("phe_byar_exact_rates.csv")
    assert (rows["Numerator"] > rows["Denominator"]).any()
    got = rate_interval(250, 220, multiplier=100000)
    assert got.value == pytest.approx(113636.36363636365, rel=REL)


def test_spec_z_is_close_enough_to_the_tables_z():
    # The tables use qnorm(0.975) = 1.959963984540054; the spec's 1.959964 shifts limits by ~1e-8
    # relative (measured: <= 1.2e-8 Wilson, <= 4.1e-9 Byar), 100x inside REL. With the tables' own z
    # the formulas agree to ~1e-14, so any larger miss would be a real formula difference.
    assert Z_95 == pytest.approx(norm.ppf(0.975), rel=1e-8)
    for row in _complete(_golden("phe_wilson_proportions.csv")):
        got = wilson_interval(row["Numerator"], row["Denominator"], multiplier=row["multiplier"],
                              z=float(norm.ppf(0.975)))
        assert got.lower == pytest.approx(row["lower95_0cl"], rel=1e-12)
        assert got.upper == pytest.approx(row["upper95_0cl"], rel=1e-12)


# The golden rows with a missing denominator (Area10: numerator 10, no denominator) have every
# output column blank: the package propagates NA rather than stopping, so the row shows "nulls
# in, nulls out". pmf mirrors that where nulls can reach it, in intervals_frame. The scalar
# functions take counts only, so there a missing denominator is a caller's bug: ValueError.
@pytest.mark.parametrize(("name", "unit"), [("phe_wilson_proportions.csv", "percent"),
                                            ("phe_byar_exact_rates.csv", "per_10000")])
def test_golden_missing_denominator_rows(name, unit):
    missing = _golden(name)
    missing = missing[missing["Denominator"].isna()]
    assert len(missing) >= 1
    outputs = ["value", "lower95_0cl", "upper95_0cl", "lower99_8cl", "upper99_8cl"]
    assert missing[outputs].isna().all().all(), "golden error rows should have blank outputs"
    frame = intervals_frame(missing.assign(unit=unit), "unit", "Numerator", "Denominator")
    assert frame[["value", "ci_lower", "ci_upper"]].isna().all().all()
    for x, n in zip(missing["Numerator"], missing["Denominator"]):
        with pytest.raises(ValueError, match="denominator"):
            interval_for_unit(unit, x, n)


# --- against scipy, independently -----------------------------------------------------------


@pytest.mark.parametrize(("x", "n"), [(0, 1), (0, 50), (1, 100), (7, 9), (50, 50), (999, 3456), (9856, 12345)])
def test_wilson_agrees_with_scipy(x, n):
    # scipy uses z = ndtri(0.975) exactly; the spec's z differs by 8e-9 relative.
    ci = binomtest(x, n).proportion_ci(confidence_level=0.95, method="wilson")
    got = wilson_interval(x, n, multiplier=1)
    assert got.lower == pytest.approx(ci.low, rel=REL, abs=1e-12)
    assert got.upper == pytest.approx(ci.high, rel=REL)


@pytest.mark.parametrize("x", [1, 2, 5, 9, 10, 40, 500])
@pytest.mark.parametrize("confidence", [0.95, 0.998])
def test_exact_limits_solve_the_poisson_tail_equations(x, confidence):
    # Garwood's definition, independent of the chi-squared shortcut:
    # P(X >= x | lower) = alpha/2 and P(X <= x | upper) = alpha/2.
    alpha = 1 - confidence
    got = exact_poisson_interval(x, 1, multiplier=1, confidence=confidence)
    assert poisson.sf(x - 1, got.lower) == pytest.approx(alpha / 2, rel=1e-9)
    assert poisson.cdf(x, got.upper) == pytest.approx(alpha / 2, rel=1e-9)


def test_zero_count_rate_upper_is_the_spec_constant():
    got = rate_interval(0, 20000)
    assert chi2.ppf(0.975, 2) / 2 == pytest.approx(3.688879, rel=1e-6)
    assert got == Interval(0.0, 0.0, pytest.approx(10000 * 3.688879 / 20000, rel=1e-6), "exact")


@given(st.integers(10, 100_000))
def test_byar_approximates_exact(x):
    byar, exact = byar_interval(x, 1, multiplier=1), exact_poisson_interval(x, 1, multiplier=1)
    assert byar.lower == pytest.approx(exact.lower, rel=5e-3)
    assert byar.upper == pytest.approx(exact.upper, rel=5e-3)


# --- properties -----------------------------------------------------------------------------

counts = st.integers(0, 10**7)
populations = st.one_of(st.integers(1, 10**9), st.floats(0.5, 1e9, allow_nan=False))


@st.composite
def proportions(draw):
    n = draw(st.integers(1, 10**9))
    return draw(st.integers(0, n)), n


def _assert_brackets(got: Interval) -> None:
    assert 0 <= got.lower <= got.value <= got.upper
    assert all(math.isfinite(v) for v in (got.lower, got.value, got.upper))


@given(proportions(), st.sampled_from([1.0, 100.0]), st.sampled_from([Z_95, Z_998]))
def test_wilson_brackets_value_within_0_and_multiplier(xn, multiplier, z):
    got = wilson_interval(*xn, multiplier=multiplier, z=z)
    _assert_brackets(got)
    assert got.upper <= multiplier
    assert got.lower < got.upper


@given(counts, populations)
def test_rate_brackets_value(x, population):
    got = rate_interval(x, population)
    _assert_brackets(got)
    assert got.method == ("byar" if x >= 10 else "exact")


@given(counts, populations, st.sampled_from([Z_95, Z_998]))
def test_byar_brackets_value_at_any_count(x, population, z):
    _assert_brackets(byar_interval(x, population, z=z))


@given(st.integers(1, 10**9), st.sampled_from(["percent", "per_10000"]))
def test_zero_numerator(n, unit):
    got = interval_for_unit(unit, 0, n)
    assert got.value == 0 and got.lower == 0 and got.upper > 0


@given(counts, st.sampled_from(["percent", "per_10000"]))
def test_zero_denominator_gives_nulls_but_names_the_method(x, unit):
    x = 0 if unit == "percent" else x  # a proportion needs x <= n
    got = interval_for_unit(unit, x, 0)
    assert (got.value, got.lower, got.upper) == (None, None, None)
    assert got.method == ("wilson" if unit == "percent" else "byar" if x >= 10 else "exact")


@given(proportions())
def test_wilson_monotonic_in_numerator(xn):
    x, n = xn
    if x == n:
        x -= 1
    a, b = wilson_interval(x, n), wilson_interval(x + 1, n)
    assert a.lower <= b.lower and a.upper <= b.upper and a.value <= b.value


@given(st.integers(0, 10**6), populations)
def test_rate_monotonic_in_numerator_across_the_method_switch(x, population):
    a, b = rate_interval(x, population), rate_interval(x + 1, population)
    assert a.lower <= b.lower and a.upper <= b.upper and a.value <= b.value


def test_rate_switch_at_10_is_monotonic():
    assert rate_interval(9, 1000).upper < rate_interval(10, 1000).upper
    assert rate_interval(9, 1000).lower < rate_interval(10, 1000).lower


# --- intervals_frame -------------------------------------------------------------------------


def _golden_row(name: str, area: str, multiplier: int) -> dict:
    rows = _golden(name)
    (row,) = rows[(rows["Area"] == area) & (rows["multiplier"] == multiplier)].to_dict("records")
    return row


def test_intervals_frame_adds_columns_by_name():
    # Rows A-C are golden rows; a rate per 10,000 is the table's rate per 100 times 100.
    wilson = _golden_row("phe_wilson_proportions.csv", "Area3", 100)  # 20 of 100, as a percentage
    exact = _golden_row("phe_byar_exact_rates.csv", "Area2", 100)  # 5 per 100: exact Poisson
    byar = _golden_row("phe_byar_exact_rates.csv", "Area3", 100)  # 20 per 100: Byar
    df = pd.DataFrame({
        "indicator_code": ["A", "B", "C", "D", "E", "F"],
        "unit": ["percent", "per_10000", "per_10000", "percent", "per_10000", "percent"],
        "numerator": pd.array([*(int(row["Numerator"]) for row in (wilson, exact, byar)), None, None, 0], dtype="Int64"),
        "denominator": pd.array([*(int(row["Denominator"]) for row in (wilson, exact, byar)), 50, 1000, 0], dtype="Int64"),
    })
    out = intervals_frame(df, "unit", "numerator", "denominator")
    assert list(out.columns) == [*df.columns, "value", "ci_lower", "ci_upper", "ci_method"]
    assert out["ci_method"].tolist()[:3] == ["wilson", "exact", "byar"]
    assert out.loc[3, "ci_method"] == "wilson"  # null numerator: nulls, method kept by unit
    assert pd.isna(out.loc[4, "ci_method"])  # a rate's method depends on the (null) numerator
    assert out.loc[5, "ci_method"] == "wilson"  # 0 of 0: nulls, no division error
    assert out[["value", "ci_lower", "ci_upper"]].iloc[3:].isna().all().all()
    by_code = out.set_index("indicator_code")
    for code, golden, scale in (("A", wilson, 1), ("B", exact, 100), ("C", byar, 100)):
        got = by_code.loc[code]
        assert got["value"] == pytest.approx(scale * golden["value"], rel=REL), code
        assert got["ci_lower"] == pytest.approx(scale * golden["lower95_0cl"], rel=REL), code
        assert got["ci_upper"] == pytest.approx(scale * golden["upper95_0cl"], rel=REL), code
    assert "value" not in df.columns  # input left alone


def test_intervals_frame_names_the_bad_row():
    df = pd.DataFrame({"unit": ["percent", "percent"], "x": [1, 9], "n": [10, 5]}, index=["ok", "bad"])
    with pytest.raises(ValueError, match=r"row 'bad'.*greater than denominator"):
        intervals_frame(df, "unit", "x", "n")
    with pytest.raises(ValueError, match="not in frame"):
        intervals_frame(df, "unit", "numerator", "n")


# --- input checking --------------------------------------------------------------------------

ALL = [wilson_interval, byar_interval, exact_poisson_interval, rate_interval]


@pytest.mark.parametrize("func", ALL)
@pytest.mark.parametrize(("x", "n", "message"), [
    (-1, 100, "numerator must not be negative"),
    (2.5, 100, "numerator must be a whole number"),
    (None, 100, "numerator must be a whole number"),
    (float("nan"), 100, "numerator must be a whole number"),
    ("5", 100, "numerator must be a whole number"),
    (True, 100, "numerator must be a whole number"),
    (5, -100, "denominator must not be negative"),
    (5, float("inf"), "denominator must be a"),
    (5, float("nan"), "denominator must be a"),
    (5, None, "denominator must be a"),
])
def test_bad_counts_raise(func, x, n, message):
    with pytest.raises(ValueError, match=message):
        func(x, n)


def test_proportion_numerator_above_denominator_raises():
    with pytest.raises(ValueError, match=r"numerator \(101\) is greater than denominator \(100\)"):
        wilson_interval(101, 100)
    with pytest.raises(ValueError, match="greater than denominator"):
        wilson_interval(1, 0)  # 1 of 0 is impossible, unlike 0 of 0


def test_wilson_denominator_must_be_a_count_but_rate_population_need_not():
    with pytest.raises(ValueError, match="denominator must be a whole number"):
        wilson_interval(1, 10.5)
    assert rate_interval(1, 10.5).value == pytest.approx(10000 / 10.5)


@pytest.mark.parametrize("kwargs", [{"multiplier": 0}, {"multiplier": -100}, {"z": 0}, {"z": float("nan")}])
def test_bad_multiplier_or_z_raise(kwargs):
    with pytest.raises(ValueError, match="must be a positive finite number"):
        wilson_interval(1, 10, **kwargs)


@pytest.mark.parametrize("confidence", [0, 1, 95, -0.5])
def test_bad_confidence_raises(confidence):
    with pytest.raises(ValueError, match="confidence must be a fraction"):
        exact_poisson_interval(1, 10, confidence=confidence)


def test_unknown_unit_raises():
    with pytest.raises(ValueError, match=r"unknown unit 'per_1000'.*per_10000.*percent"):
        interval_for_unit("per_1000", 1, 10)
