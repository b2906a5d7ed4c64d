"""The work-plan status mart (sql/marts/work_plan_status.sql): the SPC reading and Tees comparison
of the latest quarter, and red-red (worse than Tees and worsening). Against what the spec says, worked out
by hand (how: tests/test_work_plan_status.py)."""

from __future__ import annotations

import pytest
from work_plan_scenario import BASELINE, HIGH, HPL, LOW, Scenario


# ----------------------------------------------------------------- SPC reading, Tees comparison, red-red


def _spc_and_tees_scenario() -> Scenario:
    # Lower is better: baseline 30 [25, 35]; 2018-19 Q1 50 [45, 55] against a year earlier
    # (2017-18 Q1) 30 [25, 35]: worsening. 2018-19 Q2 has no value, so its latest quarter is Q1.
    scenario = Scenario()
    scenario.series("IND", {"2017-18 Q1": LOW, BASELINE: LOW, "2018-19 Q1": HIGH}, polarity="lower")
    scenario.line("1.1.5", "IND")
    # The reading of Q1's point differs by the quarter the series runs up to: the status of a
    # quarter takes the series up to that quarter.
    scenario.spc[("IND", HPL, "2018-19 Q1", "2018-19 Q1")] = "special cause concern"
    scenario.spc[("IND", HPL, "2018-19 Q2", "2018-19 Q1")] = "common cause"
    scenario.spc[("IND", HPL, "2018-19 Q2", "2017-18 Q1")] = "special cause improvement"  # not the latest point
    scenario.tees[("IND", HPL, "2018-19 Q1")] = "worse"
    scenario.tees[("IND", HPL, "2018-19 Q2")] = "better"  # not the latest quarter with a value
    return scenario


def test_spc_reading_and_tees_comparison_are_those_of_the_latest_quarter():
    statuses = _spc_and_tees_scenario().statuses()
    q1, q2 = statuses[("1.1.5", "IND", HPL, "2018-19 Q1")], statuses[("1.1.5", "IND", HPL, "2018-19 Q2")]
    assert (q1["latest_period"], q1["direction_of_travel"]) == ("2018-19 Q1", "worsening")
    assert (q1["spc_variation"], q1["tees_comparison"], q1["is_red_red"]) == ("special cause concern", "worse", True)
    assert (q2["latest_period"], q2["direction_of_travel"]) == ("2018-19 Q1", "worsening")
    assert (q2["spc_variation"], q2["tees_comparison"], q2["is_red_red"]) == ("common cause", "worse", True)


@pytest.mark.parametrize("comparison", ["similar", "better", "not compared"])
def test_red_red_needs_worse_than_tees(comparison):
    scenario = _spc_and_tees_scenario()
    scenario.tees[("IND", HPL, "2018-19 Q1")] = comparison
    row = scenario.status("1.1.5", "IND", "2018-19 Q1")
    assert (row["tees_comparison"], row["direction_of_travel"], row["is_red_red"]) == (comparison, "worsening", False)


def test_red_red_needs_worsening():
    # Worse than Tees but the same as a year earlier (30 -> 30 [25, 35]): not red-red.
    scenario = Scenario()
    scenario.series("IND", {"2017-18 Q1": LOW, BASELINE: LOW, "2018-19 Q1": LOW}, polarity="lower")
    scenario.line("1.1.5", "IND")
    scenario.tees[("IND", HPL, "2018-19 Q1")] = "worse"
    row = scenario.status("1.1.5", "IND", "2018-19 Q1")
    assert (row["tees_comparison"], row["direction_of_travel"], row["is_red_red"]) == (
        "worse", "no significant change", False,
    )


def test_a_latest_quarter_left_out_of_the_series_has_too_few_points():
    # 2018-19 Q1 has a value but is flagged history_incomplete: not in the SPC series, so no reading.
    scenario = Scenario()
    scenario.series("IND", {BASELINE: LOW, "2018-19 Q1": HIGH}, history_incomplete=("2018-19 Q1",))
    scenario.line("1.1.5", "IND")
    scenario.spc[("IND", HPL, "2018-19 Q1", BASELINE)] = "common cause"
    row = scenario.status("1.1.5", "IND", "2018-19 Q1")
    assert (row["latest_period"], row["spc_variation"], row["tees_comparison"]) == (
        "2018-19 Q1", "too few points", "not compared",
    )


def test_lines_without_an_indicator_have_no_spc_or_tees_reading():
    scenario = Scenario()
    scenario.line("1.1.1", None)
    scenario.update("1.1.1", "red", "Behind")
    row = scenario.status("1.1.1", None, "2018-19 Q1")
    assert (row["spc_variation"], row["tees_comparison"], row["is_red_red"]) == (None, None, False)
