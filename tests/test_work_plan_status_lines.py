"""The work-plan status mart (sql/marts/work_plan_status.sql): direction of travel, overdue, and
the rows of lines with one indicator, two, or none (lead lines). Against what the spec says, worked out
by hand (how: tests/test_work_plan_status.py)."""

from __future__ import annotations

from datetime import date

import pytest
from work_plan_scenario import BASELINE, HIGH, HPL, LOW, MBRO, QUARTERS, Scenario, judged


# --------------------------------------------------------------------- direction of travel


@pytest.mark.parametrize(
    ("polarity", "year_ago", "direction", "change", "rag"),
    [
        # lower is better. Latest 2018-19 Q3 30 [25, 35]; baseline 50 [45, 55]: improved.
        # A year earlier (2017-18 Q3) 10 [5, 15]: 25 > 15, higher now: worsening.
        ("lower", (10.0, 5.0, 15.0), "worsening", "improved", "green"),
        # Year ago 50 [40, 60]: 35 < 40, lower now: improving.
        ("lower", (50.0, 40.0, 60.0), "improving", "improved", "green"),
        # Year ago 33 [28, 38]: overlap.
        ("lower", (33.0, 28.0, 38.0), "no significant change", "improved", "green"),
        # higher is better: baseline 50 -> 30 is worsened; year ago 10 [5, 15] -> 30 improving.
        ("higher", (10.0, 5.0, 15.0), "improving", "worsened", "red"),
        ("higher", (50.0, 40.0, 60.0), "worsening", "worsened", "red"),
        # Year ago [20, 25] touches [25, 35]: overlap.
        ("higher", (22.0, 20.0, 25.0), "no significant change", "worsened", "red"),
    ],
)
def test_direction_of_travel_is_against_the_same_quarter_a_year_earlier(polarity, year_ago, direction, change, rag):
    scenario = Scenario()
    # 2018-19 Q2 (the quarter before) and 2017-18 Q4 are decoys: neither is a year before 2018-19 Q3.
    scenario.series(
        "IND",
        {BASELINE: HIGH, "2017-18 Q3": year_ago, "2017-18 Q4": (90.0, 85.0, 95.0), "2018-19 Q2": (1.0, 0.5, 1.5), "2018-19 Q3": LOW},
        polarity=polarity,
    )
    scenario.line("1.1.5", "IND")
    row = scenario.status("1.1.5", "IND", "2018-19 Q3")
    assert row["year_ago_value"] == year_ago[0]
    assert (row["direction_of_travel"], row["change_vs_baseline"], row["rag"]) == (direction, change, rag)


def test_direction_of_travel_is_no_data_when_the_year_ago_quarter_is_missing():
    # 2017-18 Q3 not received; the quarters around it are not used instead.
    scenario = Scenario()
    scenario.series("IND", {BASELINE: HIGH, "2017-18 Q4": HIGH, "2018-19 Q3": LOW})
    scenario.line("1.1.5", "IND")
    row = scenario.status("1.1.5", "IND", "2018-19 Q3")
    assert (row["year_ago_value"], row["direction_of_travel"]) == (None, "no data")
    assert (row["change_vs_baseline"], row["rag"]) == ("improved", "green")


# ------------------------------------------------------------------------------- overdue


@pytest.mark.parametrize(
    ("due_date", "period", "latest", "is_overdue", "why"),
    [
        ("2018-09-30", "2018-19 Q3", LOW, True, "amber, due before 2018-12-31"),
        ("2018-09-30", "2018-19 Q3", (70.0, 65.0, 75.0), True, "red, due before 2018-12-31"),
        ("2018-09-30", "2018-19 Q3", (10.0, 5.0, 15.0), False, "green: improved, so not overdue"),
        ("2018-09-30", "2018-19 Q2", LOW, False, "due on the quarter's last day: not yet past"),
        ("2018-12-30", "2018-19 Q3", LOW, True, "due the day before the quarter's end"),
        ("2019-03-31", "2018-19 Q3", LOW, False, "due later"),
        (None, "2018-19 Q4", LOW, False, "ongoing: no due date"),
    ],
)
def test_overdue_is_past_the_due_date_and_not_improved(due_date, period, latest, is_overdue, why):
    # Lower is better; baseline 32 [28, 36]. LOW 30 [25, 35] overlaps (amber), 70 [65, 75] is
    # worse (red), 10 [5, 15] is better (green).
    scenario = Scenario()
    scenario.series("IND", {BASELINE: (32.0, 28.0, 36.0), period: latest})
    scenario.line("1.1.5", "IND", due_date=due_date)
    row = scenario.status("1.1.5", "IND", period)
    assert row["is_overdue"] is is_overdue, why
    assert row["due_date"] == (date.fromisoformat(due_date) if due_date else None)


# --------------------------------------------------------------- lines and their indicators


def test_a_line_with_two_indicators_has_a_row_for_each():
    # 2.2.3: LSCB19 (lower is better) improved; RHI72 (higher is better) also fell, so worsened.
    scenario = Scenario()
    scenario.series("LSCB19", {BASELINE: HIGH, "2018-19 Q4": LOW}, polarity="lower")
    scenario.series("RHI72", {BASELINE: HIGH, "2018-19 Q4": LOW}, polarity="higher")
    scenario.line("2.2.3", "LSCB19;RHI72", due_date="2018-02-28")
    statuses = scenario.statuses()
    rows = {code: row for (line, code, la, period), row in statuses.items() if line == "2.2.3" and period == "2018-19 Q4"}
    assert sorted(rows) == ["LSCB19", "RHI72"]
    assert judged(rows["LSCB19"]) == ("improved", "no data", "green", False)
    assert judged(rows["RHI72"]) == ("worsened", "no data", "red", True)  # due 2018-02-28


def test_a_computed_line_has_one_row_per_la_and_quarter_and_other_indicators_do_not_leak_in():
    scenario = Scenario()
    scenario.series("IND", {BASELINE: HIGH}, la_code=HPL)
    scenario.series("IND", {BASELINE: HIGH}, la_code=MBRO)
    scenario.series("OTHER", {BASELINE: LOW})
    scenario.line("1.1.5", "IND")
    keys = sorted(key for key in scenario.statuses() if key[0] == "1.1.5")
    assert keys == sorted(("1.1.5", "IND", la, label) for la in (HPL, MBRO) for label, _, _ in QUARTERS)


def test_a_lead_line_takes_its_rag_and_commentary_from_the_leads_for_the_board_la_only():
    scenario = Scenario()
    scenario.series("IND", {BASELINE: HIGH}, la_code=HPL)
    scenario.series("IND", {BASELINE: HIGH}, la_code=MBRO)
    scenario.line("1.1.1", None, due_date="2018-04-30")
    scenario.line("1.1.2", "", due_kind="ongoing")  # blank (not null) indicator codes: a lead line too
    scenario.line("1.2.1", None, due_date="2018-04-30")
    scenario.line("1.2.2", None)
    scenario.update("1.1.1", " Amber ", "Campaign running; feedback due in January.")
    scenario.update("1.1.2", "GREEN", "Done.")
    scenario.update("1.2.1", "", "")  # entered but blank: as if not updated
    # 1.2.2 has no row in plan_line_updates at all.
    statuses = scenario.statuses()
    lead_keys = sorted(key for key in statuses if key[1] is None)
    assert lead_keys == sorted((line, None, HPL, label) for line in ("1.1.1", "1.1.2", "1.2.1", "1.2.2") for label, _, _ in QUARTERS)

    row = statuses[("1.1.1", None, HPL, "2018-19 Q1")]
    assert (row["rag"], row["commentary"], row["status_source"]) == ("amber", "Campaign running; feedback due in January.", "lead")
    assert (row["change_vs_baseline"], row["direction_of_travel"]) == ("no data", "no data")
    assert (row["baseline_period"], row["baseline_value"], row["latest_period"], row["latest_value"]) == (None, None, None, None)
    assert row["is_overdue"] is True  # due 2018-04-30 < 2018-06-30, amber
    assert statuses[("1.1.1", None, HPL, "2017-18 Q4")]["is_overdue"] is False  # due after 2018-03-31

    row = statuses[("1.1.2", None, HPL, "2018-19 Q4")]
    assert (row["rag"], row["commentary"], row["is_overdue"]) == ("green", "Done.", False)

    row = statuses[("1.2.1", None, HPL, "2018-19 Q4")]
    assert (row["rag"], row["commentary"], row["is_overdue"]) == ("grey", "awaiting update", True)

    row = statuses[("1.2.2", None, HPL, "2018-19 Q4")]
    assert (row["rag"], row["commentary"], row["is_overdue"]) == ("grey", "awaiting update", False)  # ongoing


def test_a_green_lead_line_past_its_due_date_is_not_overdue():
    scenario = Scenario()
    scenario.series("IND", {BASELINE: HIGH})
    scenario.line("3.5.1", None, due_date="2017-12-31")
    scenario.update("3.5.1", "green", "Processes embedded.")
    row = scenario.status("3.5.1", None, "2018-19 Q4")
    assert (row["rag"], row["is_overdue"]) == ("green", False)


def test_the_mart_has_the_published_columns():
    scenario = Scenario()
    scenario.series("IND", {BASELINE: HIGH})
    scenario.line("1.1.5", "IND")
    with scenario.build() as con:
        columns = [column[0] for column in con.execute("select * from work_plan_status limit 0").description]
    # outputs.md: the fixed names of work_plan_status.
    for name in ("line_id", "indicator_code", "la_code", "period", "baseline_period", "baseline_value",
                 "latest_value", "change_vs_baseline", "direction_of_travel", "rag", "due_date", "is_overdue"):
        assert name in columns
