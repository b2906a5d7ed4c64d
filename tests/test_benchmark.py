"""The Tees comparison (pipelines/benchmark.py; indicators.md, "Comparison with the Tees figure (v2)").

Expected figures are worked by hand from the spec's formulas (written out below, not taken from
pipelines.intervals): the Tees figure sums the comparator LAs' counts, no partial sums, a
denominator of 0 adds nothing; similar when the Tees value lies in the LA's interval, ends included.
"""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest
from scipy.stats import chi2

from pipelines import benchmark
from pipelines.indicators import INDICATOR_VALUE_COLUMNS
from pipelines.intervals import intervals_frame

HPL, MBRO, RCL, STOCK, OTHER = "E06000001", "E06000002", "E06000003", "E06000004", "E06000099"
TEES = (HPL, MBRO, RCL, STOCK)
Q1, Q2, Q3 = "2018-19 Q1", "2018-19 Q2", "2018-19 Q3"
STARTS = {Q1: date(2018, 4, 1), Q2: date(2018, 7, 1), Q3: date(2018, 10, 1)}
Z = 1.959964


def wilson_percent(x: int, n: int) -> tuple[float, float, float]:
    """The spec's Wilson formula, × 100."""
    centre, spread = 2 * x + Z * Z, Z * math.sqrt(Z * Z + 4 * x * (1 - x / n))
    return 100 * x / n, 100 * (centre - spread) / (2 * (n + Z * Z)), 100 * (centre + spread) / (2 * (n + Z * Z))


# (indicator, la, period) -> (numerator, denominator, status_reason); absent LA rows = no row at all.
COUNTS = {
    # PCT (percent, lower is better). Q1: Tees = 100 / 400 = 25%.
    ("PCT", HPL, Q1): (10, 100, None),  # 10% [5.5, 17.4]: 25 above it -> better (lower)
    ("PCT", MBRO, Q1): (20, 100, None),  # 20% [13.3, 28.9]: contains 25 -> similar
    ("PCT", RCL, Q1): (30, 100, None),  # 30% [21.9, 39.6]: similar
    ("PCT", STOCK, Q1): (40, 100, None),  # 40% [30.9, 49.8]: 25 below it -> worse
    ("PCT", OTHER, Q1): (90, 100, None),  # not a comparator: not in the sums, but compared
    # Q2: Middlesbrough not received -> no Tees figure (no partial sums).
    ("PCT", HPL, Q2): (10, 100, None),
    ("PCT", MBRO, Q2): (None, None, "not received: x for 2018-19 Q2"),
    ("PCT", RCL, Q2): (30, 100, None),
    ("PCT", STOCK, Q2): (40, 100, None),
    # Q3: Redcar's denominator is 0 (value null): it adds nothing; Tees = 20 / 200 = 10%.
    ("PCT", HPL, Q3): (5, 50, None),
    ("PCT", MBRO, Q3): (5, 50, None),
    ("PCT", RCL, Q3): (0, 0, "denominator is 0"),
    ("PCT", STOCK, Q3): (10, 100, None),
    # RATE (per_10000, higher is better). Q1: 9 / 50,000 -> exact Poisson; 1.8 per 10,000.
    ("RATE", HPL, Q1): (2, 10000, None),
    ("RATE", MBRO, Q1): (3, 20000, None),
    ("RATE", RCL, Q1): (1, 10000, None),
    ("RATE", STOCK, Q1): (3, 10000, None),
    # Q2: 40 / 40,000 -> Byar; 10 per 10,000. Stockton has no row at all: no Tees figure for Q3.
    ("RATE", HPL, Q2): (10, 10000, None),
    ("RATE", MBRO, Q2): (10, 10000, None),
    ("RATE", RCL, Q2): (10, 10000, None),
    ("RATE", STOCK, Q2): (10, 10000, None),
    ("RATE", HPL, Q3): (10, 10000, None),
}
UNITS = {"PCT": ("percent", "lower"), "RATE": ("per_10000", "higher")}


def values_frame() -> pd.DataFrame:
    rows = []
    for (code, la_code, period), (x, n, reason) in COUNTS.items():
        unit, polarity = UNITS[code]
        rows.append({
            "indicator_code": code, "la_code": la_code, "period": period, "period_start": STARTS[period],
            "period_end": STARTS[period], "numerator": x, "denominator": n, "unit": unit, "polarity": polarity,
            "status_reason": reason, "history_incomplete": False,
        })
    frame = pd.DataFrame(rows)
    for column in ("numerator", "denominator"):
        frame[column] = frame[column].astype("Int64")
    return intervals_frame(frame, "unit", "numerator", "denominator")[INDICATOR_VALUE_COLUMNS]


@pytest.fixture(scope="module")
def rows() -> dict[tuple[str, str, str], dict]:
    frame = benchmark.benchmark_frame(values_frame(), TEES)
    keyed = {(row["indicator_code"], row["la_code"], row["period"]): row for row in frame.to_dict("records")}
    assert len(keyed) == len(frame) == len(COUNTS), "one row per indicator × LA × period of indicator_values"
    return keyed


def test_the_columns_are_those_of_the_spec(rows):
    spec = ["indicator_code", "la_code", "period", "value", "ci_lower", "ci_upper", "comparator",
            "comparator_numerator", "comparator_denominator", "comparator_value", "comparator_ci_lower",
            "comparator_ci_upper", "comparison", "not_compared_reason"]
    assert set(spec) <= set(next(iter(rows.values())))


def test_the_tees_figure_sums_every_comparator_la(rows):
    row = rows[("PCT", OTHER, Q1)]
    value, lower, upper = wilson_percent(100, 400)  # 25, 21.0079, 29.4677
    assert (row["comparator"], row["comparator_numerator"], row["comparator_denominator"]) == ("Tees", 100, 400)
    assert (row["comparator_value"], row["comparator_ci_lower"], row["comparator_ci_upper"]) == pytest.approx(
        (value, lower, upper)
    )
    assert (lower, upper) == pytest.approx((21.0079, 29.4677), abs=1e-4)


@pytest.mark.parametrize(
    ("la_code", "comparison"),
    [(HPL, "better"), (MBRO, "similar"), (RCL, "similar"), (STOCK, "worse"), (OTHER, "worse")],
)
def test_each_la_is_compared_by_its_interval_and_the_polarity(rows, la_code, comparison):
    row = rows[("PCT", la_code, Q1)]
    assert (row["comparison"], row["not_compared_reason"]) == (comparison, None)


def test_one_comparator_la_not_received_leaves_no_tees_figure(rows):
    for la_code in (HPL, RCL, STOCK):
        row = rows[("PCT", la_code, Q2)]
        assert all(pd.isna(row[column]) for column in (
            "comparator_numerator", "comparator_denominator", "comparator_value", "comparator_ci_lower",
        ))
        assert row["comparison"] == "not compared"
        assert row["not_compared_reason"] == "Tees value not available: E06000002 not received: x for 2018-19 Q2"
    both = rows[("PCT", MBRO, Q2)]
    assert both["comparison"] == "not compared"
    assert both["not_compared_reason"] == (
        "LA value not available: not received: x for 2018-19 Q2; "
        "Tees value not available: E06000002 not received: x for 2018-19 Q2"
    )


def test_a_comparator_la_without_a_row_leaves_no_tees_figure(rows):
    row = rows[("RATE", HPL, Q3)]
    assert pd.isna(row["comparator_value"]) and row["comparison"] == "not compared"
    assert row["not_compared_reason"] == (
        "Tees value not available: E06000002 has no figure for 2018-19 Q3; "
        "E06000003 has no figure for 2018-19 Q3; E06000004 has no figure for 2018-19 Q3"
    )


def test_a_denominator_of_zero_adds_nothing(rows):
    row = rows[("PCT", HPL, Q3)]  # 5 / 50 = 10% against Tees 20 / 200 = 10%: similar
    assert (row["comparator_numerator"], row["comparator_denominator"]) == (20, 200)
    assert row["comparator_value"] == pytest.approx(10.0)
    assert row["comparison"] == "similar"
    zero = rows[("PCT", RCL, Q3)]
    assert (zero["comparison"], zero["not_compared_reason"]) == ("not compared", "LA value not available: denominator is 0")


def test_rates_use_exact_limits_below_ten_and_byar_from_ten(rows):
    exact = rows[("RATE", HPL, Q1)]  # 9 per 50,000
    assert (exact["comparator_numerator"], exact["comparator_denominator"]) == (9, 50000)
    assert exact["comparator_value"] == pytest.approx(1.8)
    assert exact["comparator_ci_lower"] == pytest.approx(chi2.ppf(0.025, 18) / 2 * 10000 / 50000)
    assert exact["comparator_ci_upper"] == pytest.approx(chi2.ppf(0.975, 20) / 2 * 10000 / 50000)
    assert exact["comparator_ci_method"] == "exact"
    byar = rows[("RATE", HPL, Q2)]  # 40 per 40,000
    x = 40
    lower = x * (1 - 1 / (9 * x) - Z / (3 * math.sqrt(x))) ** 3
    upper = (x + 1) * (1 - 1 / (9 * (x + 1)) + Z / (3 * math.sqrt(x + 1))) ** 3
    assert (byar["comparator_value"], byar["comparator_ci_lower"], byar["comparator_ci_upper"]) == pytest.approx(
        (10.0, lower * 10000 / 40000, upper * 10000 / 40000)
    )
    assert byar["comparator_ci_method"] == "byar"
    # Hartlepool 10 per 10,000 (Byar [4.8, 18.4]) contains Tees 10: similar.
    assert byar["comparison"] == "similar"


def test_better_and_worse_follow_the_polarity(rows):
    # Hartlepool 2 per 10,000: exact [0.24, 7.2] contains 1.8 -> similar. The rest directly:
    assert rows[("RATE", HPL, Q1)]["comparison"] == "similar"
    assert benchmark.compare_with_comparator(2.0, 0.5, 7.2, 8.0, "higher") == ("worse", None)
    assert benchmark.compare_with_comparator(2.0, 0.5, 7.2, 8.0, "lower") == ("better", None)
    assert benchmark.compare_with_comparator(9.0, 8.5, 9.5, 8.0, "higher") == ("better", None)


@pytest.mark.parametrize("tees", [45.0, 55.0, 50.0])
def test_the_interval_ends_are_included(tees):
    assert benchmark.compare_with_comparator(50.0, 45.0, 55.0, tees, "lower") == ("similar", None)


def test_just_outside_the_interval_is_not_similar():
    assert benchmark.compare_with_comparator(50.0, 45.0, 55.0, 55.000001, "lower") == ("better", None)
    assert benchmark.compare_with_comparator(50.0, 45.0, 55.0, 44.999999, "lower") == ("worse", None)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="polarity"):
        benchmark.compare_with_comparator(1.0, 0.5, 1.5, 1.0, "up")
    with pytest.raises(ValueError, match="comparator_la_codes is empty"):
        benchmark.comparator_figures(values_frame(), ())


def test_the_comparator_setting_is_the_four_tees_las_and_is_checked():
    from pydantic import ValidationError

    from pipelines.config import Settings

    settings = Settings()
    assert settings.comparator_la_codes == TEES  # the board's own included (indicators.md v2)
    assert settings.other_comparator_la_codes == (MBRO, RCL, STOCK)
    with pytest.raises(ValidationError, match="at least one LA code"):
        Settings(comparator_la_codes=())
    with pytest.raises(ValidationError, match="E06000002 more than once"):
        Settings(comparator_la_codes=(HPL, MBRO, MBRO))
