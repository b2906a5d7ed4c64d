"""SPC maths (pipelines/spc.py) against hand calculations of the rules in indicators.md, "Statistical
process control (v2)", and the indicator_spc frame built from indicator_values rows."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from pipelines import spc
from pipelines.spc import Limits

# Limits chosen by hand for the rule functions: mean 0, near lines ±2, process limits ±3.
UNIT_LIMITS = Limits(mean=0.0, average_moving_range=0.0, lower_limit=-3.0, upper_limit=3.0,
                     near_lower_limit=-2.0, near_upper_limit=2.0)


# ----------------------------------------------------------------- moving ranges and limits


def test_moving_ranges_and_limits_by_hand():
    # x = 1, 3, 2, 6: mr = 2, 1, 4; amr = 7/3; mean = 3.
    assert spc.moving_ranges([1, 3, 2, 6]) == [2.0, 1.0, 4.0]
    limits = spc.process_limits([1, 3, 2, 6])
    assert limits.mean == pytest.approx(3.0)
    assert limits.average_moving_range == pytest.approx(7 / 3)
    assert limits.upper_limit == pytest.approx(3 + 2.66 * 7 / 3)  # 9.206667
    assert limits.lower_limit == pytest.approx(3 - 2.66 * 7 / 3)  # -3.206667: not truncated at 0
    assert limits.near_upper_limit == pytest.approx(3 + 1.7733333333 * 7 / 3)  # 7.137778
    assert limits.near_lower_limit == pytest.approx(3 - 1.7733333333 * 7 / 3)
    assert spc.NEAR_LIMIT_FACTOR == 2 * 2.66 / 3


@pytest.mark.parametrize("bad", [[1.0, float("nan")], [1.0, None], [True, 2.0], ["3", 4.0]])
def test_non_numbers_are_refused(bad):
    with pytest.raises(ValueError, match="SPC series point 1|point 0"):
        spc.moving_ranges(bad)


# ----------------------------------------------------------------- each rule on its own


def test_outside_limits_is_strictly_beyond_a_process_limit():
    # 3 (= upper) and -3 (= lower) are on the limits, not beyond them.
    assert spc.outside_limits([0, 3.01, 3, -3, -3.01], UNIT_LIMITS) == {1: "high", 4: "low"}


def test_trend_of_seven_rising_or_falling_flags_every_point():
    assert spc.trend([1, 2, 3, 4, 5, 6, 7]) == dict.fromkeys(range(7), "high")
    assert spc.trend([9, 8, 7, 6, 5, 4, 3, 0]) == dict.fromkeys(range(8), "low")
    assert spc.trend([1, 2, 3, 4, 5, 6]) == {}  # six points are not a trend


def test_an_equal_neighbour_ends_a_trend():
    # 1 2 3 3 4 5 6 7 8: the repeated 3 breaks it into 1-2-3 and 3-4-5-6-7-8 (6 points): no trend.
    assert spc.trend([1, 2, 3, 3, 4, 5, 6, 7, 8]) == {}
    # One more point: the second 3 (position 3) starts a run of 7, the first 3 is not in it.
    assert spc.trend([1, 2, 3, 3, 4, 5, 6, 7, 8, 9]) == dict.fromkeys(range(3, 10), "high")


def test_a_peak_between_two_trends_keeps_the_side_of_the_run_it_ends():
    # Rises 1..7 (positions 0-6), falls 7..1 (positions 6-12): the peak (position 6) is in both.
    flags = spc.trend([1, 2, 3, 4, 5, 6, 7, 6, 5, 4, 3, 2, 1])
    assert flags == {**dict.fromkeys(range(7), "high"), **dict.fromkeys(range(7, 13), "low")}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([2.5, 0.5, 2.1], {0: "high", 2: "high"}),  # two beyond +2, all three above the mean
        ([3.5, 1.0, 2.5], {0: "high", 2: "high"}),  # a point beyond the process limit counts
        ([-2.5, -2.1, -1.0], {0: "low", 1: "low"}),
        ([2.5, -0.5, 2.1], {}),  # one of the three below the mean
        ([2.5, 0.0, 2.1], {}),  # one on the mean: not strictly above it
        ([2.0, 2.5, 1.0], {}),  # 2.0 is on the near line, not beyond: only one beyond
        ([2.5, 1.0, 1.0, 2.5], {}),  # never two beyond within three consecutive points
        ([1.0, 2.5, 1.0, 2.5], {1: "high", 3: "high"}),  # the second window of three
        ([2.5, -2.5, 2.5], {}),  # beyond opposite lines: not the same side
    ],
)
def test_two_of_three_beyond_a_near_limit_line(values, expected):
    assert spc.two_of_three(values, UNIT_LIMITS) == expected


def test_shift_of_seven_on_one_side_of_the_mean():
    assert spc.shift([6] * 7, 5.0) == dict.fromkeys(range(7), "high")
    assert spc.shift([4, 4, 4, 4, 4, 4, 4, 6], 5.0) == dict.fromkeys(range(7), "low")
    assert spc.shift([6] * 6, 5.0) == {}


def test_a_point_equal_to_the_mean_ends_a_shift():
    # 6 6 6 5 6 6 6 6 6 6 6 with mean 5: the 5 splits 3 points from 7; only the 7 are a shift.
    assert spc.shift([6, 6, 6, 5, 6, 6, 6, 6, 6, 6, 6], 5.0) == dict.fromkeys(range(4, 11), "high")
    # Six either side of a point on the mean: no shift.
    assert spc.shift([6, 6, 6, 6, 6, 6, 5, 6, 6, 6, 6, 6, 6], 5.0) == {}


# ----------------------------------------------------------------- whole series


def test_fewer_than_12_points_have_no_limits():
    limits, points = spc.classify([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100], "lower")  # 11: a trend and an outlier
    assert limits is None
    assert [point.variation for point in points] == ["too few points"] * 11
    assert {point.rules for point in points} == {None}


def test_twelve_points_of_common_cause():
    # 5 6 5 6 ... (12 points): mean 5.5; every moving range 1, amr 1; limits 5.5 ± 2.66.
    # Above/below the mean alternately: no shift, no trend, nothing beyond the near lines (±1.7733).
    limits, points = spc.classify([5, 6] * 6, "higher")
    assert (limits.mean, limits.lower_limit, limits.upper_limit) == pytest.approx((5.5, 2.84, 8.16))
    assert [(point.rules, point.variation) for point in points] == [((), "common cause")] * 12


# 20 20 20 20 20 1 2 3 4 5 6 7 (12 points), worked by hand:
#   mean = (100 + 28) / 12 = 10.6667; mr = 0 0 0 0 19 1 1 1 1 1 1, amr = 25/11 = 2.272727
#   limits 10.6667 ± 6.045455 = [4.621212, 16.712121]; near lines ± 4.030303 = [6.636364, 14.696970]
#   outside limits: the 20s (high); 1 2 3 4 (low).
#   trend: 1 .. 7 rising (positions 5-11, high).
#   two of three: the 20s (high); below 6.636364 with all three below the mean: 1 .. 6 (low).
#   shift: 1 .. 7 (7 points below the mean, low); the five 20s are too few.
PRECEDENCE_SERIES = [20, 20, 20, 20, 20, 1, 2, 3, 4, 5, 6, 7]
PRECEDENCE_RULES = (
    [("outside limits", "two of three")] * 5
    + [("outside limits", "trend", "two of three", "shift")] * 4
    + [("trend", "two of three", "shift")] * 2
    + [("trend", "shift")]
)
# Side from the first rule that flags the point: 1-4 low (outside limits first), 5-7 high (trend
# first, though two of three and shift say low).
PRECEDENCE_SIDES = ["high"] * 5 + ["low"] * 4 + ["high"] * 3


def test_rules_are_listed_in_order_and_the_first_gives_the_side():
    limits, points = spc.classify(PRECEDENCE_SERIES, "lower")
    assert (limits.mean, limits.average_moving_range) == pytest.approx((128 / 12, 25 / 11))
    assert (limits.lower_limit, limits.upper_limit) == pytest.approx((4.621212, 16.712121))
    assert [point.rules for point in points] == PRECEDENCE_RULES
    assert [point.side for point in points] == PRECEDENCE_SIDES


@pytest.mark.parametrize(
    ("polarity", "high", "low"),
    [("lower", "special cause concern", "special cause improvement"),
     ("higher", "special cause improvement", "special cause concern")],
)
def test_variation_follows_the_side_and_the_polarity(polarity, high, low):
    _, points = spc.classify(PRECEDENCE_SERIES, polarity)
    assert [point.variation for point in points] == [high if side == "high" else low for side in PRECEDENCE_SIDES]


def test_a_point_on_the_mean_ends_a_shift_in_a_whole_series():
    # 4 ×6, 5, 6 ×6: mean 65/13 = 5 exactly. Counting the 5 on either side would make a shift of 7.
    # mr: 0 ×5, 1, 1, 0 ×5 -> amr 2/12; limits 5 ± 0.443333: the 4s are below, the 6s above;
    # near lines 5 ± 0.295556: the 4s and 6s are beyond them (two of three, on their side).
    _, points = spc.classify([4] * 6 + [5] + [6] * 6, "higher")
    assert [point.rules for point in points] == (
        [("outside limits", "two of three")] * 6 + [()] + [("outside limits", "two of three")] * 6
    )
    assert [point.variation for point in points] == (
        ["special cause concern"] * 6 + ["common cause"] + ["special cause improvement"] * 6
    )


def test_polarity_is_checked():
    with pytest.raises(ValueError, match="polarity"):
        spc.classify([1, 2], "up")


# ----------------------------------------------------------------- the indicator_spc frame

def _quarters(count: int) -> list[tuple[str, date]]:
    """(label, start) of ``count`` consecutive quarters from 2016-17 Q1."""
    quarters = []
    for index in range(count):
        year, q = 2016 + index // 4, index % 4 + 1
        month = (4, 7, 10, 1)[q - 1]
        start = date(year + (1 if q == 4 else 0), month, 1)
        quarters.append((f"{year}-{(year + 1) % 100:02d} Q{q}", start))
    return quarters


def _values(series: dict[str, list], *, polarity: str = "lower", flagged: set[int] = frozenset()) -> pd.DataFrame:
    rows = []
    for la_code, points in series.items():
        for index, ((label, start), value) in enumerate(zip(_quarters(len(points)), points, strict=True)):
            rows.append({
                "indicator_code": "IND", "la_code": la_code, "period": label, "period_start": start,
                "value": value, "polarity": polarity, "history_incomplete": index in flagged,
            })
    return pd.DataFrame(rows)


def test_the_frame_leaves_out_null_and_flagged_quarters_and_stops_at_the_pack_period():
    # 16 quarters: the first is flagged history_incomplete (its -1 would be an outlier), the third
    # not received; the pack period is the 14th quarter, so the last two (999) are after it. That
    # leaves PRECEDENCE_SERIES (12 points) in order, whatever gaps lie between their quarters.
    quarters = _quarters(16)
    points = [-1.0, 20, None, 20, 20, 20, 20, 1, 2, 3, 4, 5, 6, 7, 999.0, 999.0]
    frame = spc.spc_frame(_values({"E06000001": points}, flagged={0}), pack_period=quarters[13][0])
    assert list(frame["period"]) == [label for index, (label, _) in enumerate(quarters[:14]) if index not in (0, 2)]
    assert list(frame["value"]) == PRECEDENCE_SERIES
    assert set(frame["points"]) == {12} and set(frame["pack_period"]) == {quarters[13][0]}
    assert list(frame["rules"]) == [";".join(rules) for rules in PRECEDENCE_RULES]
    assert list(frame["side"]) == PRECEDENCE_SIDES
    assert frame["upper_limit"].iloc[0] == pytest.approx(16.712121)
    assert frame["mean"].iloc[-1] == pytest.approx(128 / 12)
    assert frame["variation"].iloc[-1] == "special cause concern"  # 7: trend high, lower is better


def test_the_frame_has_too_few_points_before_the_twelfth():
    quarters = _quarters(12)
    frame = spc.spc_frame(_values({"E06000001": PRECEDENCE_SERIES}), pack_period=quarters[10][0])
    assert len(frame) == 11 and set(frame["variation"]) == {"too few points"}
    assert frame["mean"].isna().all() and frame["rules"].isna().all() and set(frame["points"]) == {11}


def test_an_unknown_pack_period_is_refused():
    with pytest.raises(ValueError, match="pack period '2030-31 Q1'"):
        spc.spc_frame(_values({"E06000001": [1.0, 2.0]}), pack_period="2030-31 Q1")
