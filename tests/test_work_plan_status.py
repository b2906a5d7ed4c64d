"""The work-plan status mart (sql/marts/work_plan_status.sql): "Is the target moving?" (indicators.md):
the change since the baseline, which quarter is the baseline and which the latest.

Each test builds a ``Scenario`` (tests/work_plan_scenario.py), runs the model as the refresh does
and compares the row for one plan line × indicator × LA × quarter with what the spec says,
worked out by hand in the comments.
Direction of travel, overdue and the lines: test_work_plan_status_lines.py; SPC, Tees and red-red:
test_work_plan_status_spc.py.
"""

from __future__ import annotations

from datetime import date

import pytest
from work_plan_scenario import BASELINE, HIGH, HPL, LOW, MBRO, Scenario, judged


# ----------------------------------------------------------------- change since baseline


@pytest.mark.parametrize(
    ("polarity", "baseline", "latest", "change", "direction", "rag"),
    [
        # lower is better: 50 [45, 55] -> 30 [25, 35]; 35 < 45, apart and lower: better.
        ("lower", HIGH, LOW, "improved", "improving", "green"),
        # lower is better: 30 [25, 35] -> 50 [45, 55]; apart and higher: worse.
        ("lower", LOW, HIGH, "worsened", "worsening", "red"),
        # higher is better: 30 -> 50, apart: better.
        ("higher", LOW, HIGH, "improved", "improving", "green"),
        # higher is better: 50 -> 30, apart: worse.
        ("higher", HIGH, LOW, "worsened", "worsening", "red"),
    ],
)
def test_significant_change_since_baseline_follows_the_polarity(polarity, baseline, latest, change, direction, rag):
    # Reported quarter 2018-19 Q2: its year-ago quarter is the baseline quarter 2017-18 Q2, so the
    # direction of travel makes the same comparison. 2017-18 Q1 (before the baseline) is given a
    # value that would reverse the answer if it were taken as the baseline.
    scenario = Scenario()
    scenario.series("IND", {"2017-18 Q1": latest, BASELINE: baseline, "2018-19 Q2": latest}, polarity=polarity)
    scenario.line("1.1.5", "IND", due_date="2019-03-31")
    row = scenario.status("1.1.5", "IND", "2018-19 Q2")
    assert judged(row) == (change, direction, rag, False)  # due 2019-03-31, after 2018-09-30
    assert (row["baseline_period"], row["baseline_value"]) == (BASELINE, baseline[0])
    assert (row["latest_period"], row["latest_value"]) == ("2018-19 Q2", latest[0])
    assert row["year_ago_value"] == baseline[0]
    assert (row["latest_numerator"], row["latest_denominator"]) == (12, 100)
    assert (row["status_source"], row["commentary"]) == ("computed", None)
    assert (row["plan"], row["line_text"], row["due_date"], row["due_kind"]) == (
        "work_plan", "Line 1.1.5", date(2019, 3, 31), "date",
    )


@pytest.mark.parametrize("polarity", ["lower", "higher"])
@pytest.mark.parametrize(
    ("baseline", "latest"),
    [
        ((50.0, 40.0, 60.0), (45.0, 38.0, 52.0)),  # 45 inside [40, 60]: overlap
        ((50.0, 40.0, 60.0), (62.0, 55.0, 69.0)),  # [55, 69] overlaps [40, 60] from above
        ((50.0, 40.0, 60.0), (50.0, 10.0, 90.0)),  # the latest interval contains the baseline's
    ],
)
def test_overlapping_intervals_are_no_significant_change(polarity, baseline, latest):
    scenario = Scenario()
    scenario.series("IND", {BASELINE: baseline, "2018-19 Q2": latest}, polarity=polarity)
    scenario.line("1.1.5", "IND")
    row = scenario.status("1.1.5", "IND", "2018-19 Q2")
    assert judged(row) == ("no significant change", "no significant change", "amber", False)


@pytest.mark.parametrize(
    ("polarity", "baseline", "latest", "change", "rag"),
    [
        # Touching intervals overlap (indicators.md): 40 [35, 45] against 50 [45, 55].
        ("lower", (50.0, 45.0, 55.0), (40.0, 35.0, 45.0), "no significant change", "amber"),
        ("higher", (40.0, 35.0, 45.0), (50.0, 45.0, 55.0), "no significant change", "amber"),
        ("lower", (40.0, 35.0, 45.0), (50.0, 45.0, 55.0), "no significant change", "amber"),
        ("higher", (50.0, 45.0, 55.0), (40.0, 35.0, 45.0), "no significant change", "amber"),
        # Controls: a hair apart (44.99 < 45) is significant.
        ("lower", (50.0, 45.0, 55.0), (40.0, 35.0, 44.99), "improved", "green"),
        ("higher", (40.0, 35.0, 44.99), (50.0, 45.0, 55.0), "improved", "green"),
        ("higher", (50.0, 45.0, 55.0), (40.0, 35.0, 44.99), "worsened", "red"),
    ],
)
def test_intervals_that_touch_overlap(polarity, baseline, latest, change, rag):
    scenario = Scenario()
    scenario.series("IND", {BASELINE: baseline, "2018-19 Q3": latest}, polarity=polarity)
    scenario.line("1.1.5", "IND")
    row = scenario.status("1.1.5", "IND", "2018-19 Q3")
    assert (row["change_vs_baseline"], row["rag"]) == (change, rag)


def test_missing_baseline_is_no_data_and_grey():
    # The baseline quarter was not received: no data, even though 2017-18 Q3 has a value that
    # would make the change significant (the baseline is not moved to the next quarter received).
    scenario = Scenario()
    scenario.series("IND", {"2017-18 Q3": HIGH, "2018-19 Q3": LOW})
    scenario.line("1.1.5", "IND", due_date="2018-06-30")
    row = scenario.status("1.1.5", "IND", "2018-19 Q3")
    # No data is not "improved": past its due date (2018-06-30 < 2018-12-31), so overdue. The
    # direction of travel does not need the baseline: 2017-18 Q3 [45, 55] -> [25, 35], improving.
    assert judged(row) == ("no data", "improving", "grey", True)
    assert (row["baseline_period"], row["baseline_value"]) == (BASELINE, None)
    assert (row["latest_period"], row["latest_value"]) == ("2018-19 Q3", 30.0)


def test_baseline_before_the_first_quarter_received_is_no_data():
    scenario = Scenario()
    scenario.series("IND", {"2017-18 Q1": HIGH, "2018-19 Q2": LOW})
    scenario.line("1.1.5", "IND", baseline_period="2016-17 Q4")  # not in int_quarters
    row = scenario.status("1.1.5", "IND", "2018-19 Q2")
    assert (row["change_vs_baseline"], row["rag"], row["baseline_period"], row["baseline_value"]) == (
        "no data", "grey", "2016-17 Q4", None,
    )


def test_quarters_before_the_baseline_have_no_data():
    # Reported 2017-18 Q1: the latest value is from before the baseline, so there is nothing to compare.
    scenario = Scenario()
    scenario.series("IND", {"2017-18 Q1": HIGH, BASELINE: LOW})
    scenario.line("1.1.5", "IND")
    row = scenario.status("1.1.5", "IND", "2017-18 Q1")
    assert (row["latest_period"], row["baseline_value"], row["change_vs_baseline"], row["rag"]) == (
        "2017-18 Q1", None, "no data", "grey",
    )


def test_the_baseline_quarter_reported_against_itself_is_no_significant_change():
    scenario = Scenario()
    scenario.series("IND", {BASELINE: HIGH})
    scenario.line("1.1.5", "IND")
    row = scenario.status("1.1.5", "IND", BASELINE)
    assert (row["change_vs_baseline"], row["direction_of_travel"], row["rag"]) == (
        "no significant change", "no data", "amber",  # 2016-17 Q2 is not in the data
    )


def test_blank_baseline_period_takes_the_default_and_an_explicit_one_is_kept():
    scenario = Scenario()
    # 2017-18 Q2 50 [45, 55]; 2017-18 Q4 30 [25, 35]; reported 2018-19 Q4 28 [24, 32] (lower is better).
    scenario.series("IND", {BASELINE: HIGH, "2017-18 Q4": LOW, "2018-19 Q4": (28.0, 24.0, 32.0)})
    scenario.line("A", "IND", baseline_period=None)  # default 2017-18 Q2: improved
    scenario.line("B", "IND", baseline_period="2017-18 Q4")  # 30 [25, 35] vs [24, 32]: overlap
    statuses = scenario.statuses()
    a, b = statuses[("A", "IND", HPL, "2018-19 Q4")], statuses[("B", "IND", HPL, "2018-19 Q4")]
    assert (a["baseline_period"], a["baseline_value"], a["change_vs_baseline"]) == (BASELINE, 50.0, "improved")
    assert (b["baseline_period"], b["baseline_value"], b["change_vs_baseline"]) == (
        "2017-18 Q4", 30.0, "no significant change",
    )


# ------------------------------------------------------------------------ latest quarter


def test_latest_quarter_missing_uses_the_latest_earlier_quarter_with_a_value():
    # Reported 2018-19 Q4 (not received); 2018-19 Q3 is the latest value. Lower is better.
    # 2018-19 Q2 (earlier) is worse than the baseline, to show Q3 is the one taken.
    scenario = Scenario()
    scenario.series("IND", {
        BASELINE: HIGH,
        "2017-18 Q3": (48.0, 44.0, 52.0),
        "2018-19 Q2": (70.0, 65.0, 75.0),
        "2018-19 Q3": LOW,
    })
    scenario.line("1.1.5", "IND")
    row = scenario.status("1.1.5", "IND", "2018-19 Q4")
    assert (row["latest_period"], row["latest_value"]) == ("2018-19 Q3", 30.0)
    assert (row["change_vs_baseline"], row["rag"]) == ("improved", "green")  # 35 < 45
    # Direction of travel is against a year before the latest quarter: 2017-18 Q3, 48 [44, 52].
    assert (row["year_ago_value"], row["direction_of_travel"]) == (48.0, "improving")  # 35 < 44


def test_no_value_up_to_the_quarter_is_no_data():
    scenario = Scenario()
    scenario.series("IND", {BASELINE: HIGH, "2018-19 Q4": LOW})
    scenario.line("1.1.5", "IND")
    statuses = scenario.statuses()
    # Reported 2017-18 Q1: nothing at or before it.
    row = statuses[("1.1.5", "IND", HPL, "2017-18 Q1")]
    assert (row["latest_period"], row["latest_value"]) == (None, None)
    assert judged(row) == ("no data", "no data", "grey", False)
    # Reported 2018-19 Q3: the latest value is the baseline itself (2018-19 Q4 is later).
    row = statuses[("1.1.5", "IND", HPL, "2018-19 Q3")]
    assert (row["latest_period"], row["change_vs_baseline"]) == (BASELINE, "no significant change")


# ---------------------------------------------------------------- history_incomplete baseline


def test_history_incomplete_baseline_moves_to_the_earliest_later_complete_quarter():
    # 2017-18 Q2 and Q3 are flagged (their look-back reaches before the data): the baseline is
    # 2017-18 Q4, 40 [36, 44]. Against the flagged 2017-18 Q2 (50 [45, 55]) the latest
    # 38 [33, 43] would be improved; against 2017-18 Q4 it overlaps.
    scenario = Scenario()
    scenario.series(
        "IND",
        {
            BASELINE: HIGH,
            "2017-18 Q3": (49.0, 44.0, 54.0),
            "2017-18 Q4": (40.0, 36.0, 44.0),
            "2018-19 Q1": (20.0, 15.0, 25.0),
            "2018-19 Q4": (38.0, 33.0, 43.0),
        },
        history_incomplete=(BASELINE, "2017-18 Q3"),
    )
    scenario.line("2.1.9", "IND")
    row = scenario.status("2.1.9", "IND", "2018-19 Q4")
    assert (row["baseline_period"], row["baseline_value"]) == ("2017-18 Q4", 40.0)
    assert (row["change_vs_baseline"], row["rag"]) == ("no significant change", "amber")


def test_history_incomplete_baseline_with_no_complete_quarter_yet_is_no_data():
    # Reported 2017-18 Q3: the only complete quarter (2017-18 Q4) is after it.
    scenario = Scenario()
    scenario.series(
        "IND",
        {BASELINE: HIGH, "2017-18 Q3": LOW, "2017-18 Q4": LOW},
        history_incomplete=(BASELINE, "2017-18 Q3"),
    )
    scenario.line("2.1.9", "IND")
    row = scenario.status("2.1.9", "IND", "2017-18 Q3")
    assert (row["baseline_value"], row["change_vs_baseline"], row["rag"]) == (None, "no data", "grey")


def test_history_incomplete_baseline_is_chosen_per_la():
    # Middlesbrough's baseline quarter is complete, Hartlepool's is not.
    scenario = Scenario()
    scenario.series("IND", {BASELINE: HIGH, "2017-18 Q3": LOW, "2018-19 Q2": LOW}, history_incomplete=(BASELINE,))
    scenario.series("IND", {BASELINE: HIGH, "2017-18 Q3": LOW, "2018-19 Q2": LOW}, la_code=MBRO)
    scenario.line("1.1.5", "IND")
    statuses = scenario.statuses()
    hpl, mbro = statuses[("1.1.5", "IND", HPL, "2018-19 Q2")], statuses[("1.1.5", "IND", MBRO, "2018-19 Q2")]
    assert (hpl["baseline_period"], hpl["change_vs_baseline"]) == ("2017-18 Q3", "no significant change")
    assert (mbro["baseline_period"], mbro["change_vs_baseline"]) == (BASELINE, "improved")
