"""The board workbook's Summary and Overview sheets: every line in plan order, RAG spelled out and
filled as the key shows, direction of travel, due dates, latest values and RAG counts."""

from __future__ import annotations

from datetime import datetime

import pytest


from workbook_cells import (
    fill_of,
    is_number,
    legend_fills,
    overview_row,
    rag_counts,
    summary_row,
    table_rows,
    values,
)
from workbook_fixtures import LINES, LINE_V2


def test_every_plan_line_is_on_the_summary_in_plan_order(workbook):
    rows = table_rows(workbook["Summary"], "SummaryLines")
    shown = [(row["Line"].value, (row["Indicator"].value or "").split(" – ")[0] or None) for row in rows]
    assert shown == [(line[0], line[3]) for line in LINES]  # the fixture's lines are in plan order


@pytest.mark.parametrize(
    ("line_id", "indicator", "text", "rag"),
    [
        ("1.1.4", "MARAC", "Green – improved", "green"),
        ("1.1.5", "LSCB11b", "Amber – no significant change", "amber"),
        ("1.2.4", "LSCB11e", "Red – worsened", "red"),
        ("1.4.1", "SM_COMPLETIONS", "Grey – no data", "grey"),
        ("1.2.1", None, "Red – reported by lead", "red"),
        ("3.1.1", None, "Grey – reported by lead", "grey"),
    ],
)
def test_rag_is_spelled_out_and_filled_as_the_key_shows(workbook, line_id, indicator, text, rag):
    cell = summary_row(workbook, line_id, indicator)["RAG"]
    assert cell.value == text
    assert fill_of(cell) == legend_fills(workbook)[rag]


def test_the_four_rag_colours_are_solid_distinct_fills_and_every_status_cell_uses_its_own(workbook):
    legend = legend_fills(workbook)
    assert all(fill_type == "solid" for fill_type, _ in legend.values())
    assert len({rgb for _, rgb in legend.values()}) == 4  # a reader can tell the statuses apart
    cells = [row["RAG"] for row in table_rows(workbook["Summary"], "SummaryLines")]
    cells += [row["RAG"] for row in table_rows(workbook["Overview"], "OverviewLines")]
    cells += [row["Status"] for ws in workbook for name in ws.tables if name.endswith("_Status")
              for row in table_rows(ws, name)]  # the section sheets' status rows
    assert len(cells) == len(LINES) + 2 * len([line for line in LINES if line[3]])
    for cell in cells:
        rag = cell.value.split(" – ")[0].lower()
        assert fill_of(cell) == legend[rag], (cell.parent.title, cell.coordinate, cell.value)


@pytest.mark.parametrize(
    ("line_id", "indicator", "expected"),
    [
        ("1.1.4", "MARAC", "↑ improving"),  # higher is better: improving goes up
        ("2.1.8", "LSCB21", "↓ improving"),  # lower is better: improving goes down
        ("1.1.5", "LSCB11b", "↑ worsening"),  # lower is better: worsening goes up
        ("SCR-S4", "CPP_NEGLECT", "↑ worsening"),
        ("1.2.4", "LSCB11e", "→ no significant change"),
        ("1.4.1", "SM_COMPLETIONS", "no data"),
        ("1.2.1", None, None),
    ],
)
def test_direction_of_travel_arrow_and_word(workbook, line_id, indicator, expected):
    assert summary_row(workbook, line_id, indicator)["Direction of travel"].value == expected


def test_due_dates_and_overdue_marker(workbook):
    assert summary_row(workbook, "1.1.5")["Due"].value == datetime(2018, 9, 30)
    assert summary_row(workbook, "1.1.5")["Due"].number_format == "dd mmm yyyy"
    assert summary_row(workbook, "1.1.5")["Overdue"].value == "Overdue"
    assert summary_row(workbook, "1.2.4")["Overdue"].value is None
    assert summary_row(workbook, "1.1.4")["Due"].value == "Ongoing"
    assert summary_row(workbook, "3.1.1")["Due"].value == "Continuous"
    assert summary_row(workbook, "2.2.3", "LSCB19")["Overdue"].value == "Overdue"
    assert summary_row(workbook, "2.2.3", "RHI72")["Overdue"].value is None
    assert summary_row(workbook, "1.2.1")["Lead commentary"].value == "Refuge places reduced."


def test_latest_values_formatted_by_unit(workbook):
    percent = summary_row(workbook, "1.6.1")["Latest value"]
    rate = summary_row(workbook, "1.1.5")["Latest value"]
    assert is_number(percent.value) and percent.number_format == '0.0"%"'
    assert is_number(rate.value) and rate.number_format == "0.0"
    assert summary_row(workbook, "1.1.5")["Unit"].value == "per 10,000 aged 0-17"


def test_rag_counts_by_section(workbook):
    counts = {values["Section"]: values for values in values(table_rows(workbook["Summary"], "SummaryRagCounts"))}
    by_section = {section: (row["Green"], row["Amber"], row["Red"], row["Grey"], row["Total"])
                  for section, row in counts.items()}
    assert by_section["Priority 1: Addressing the impact of Neglect"] == (1, 2, 2, 1, 6)
    assert by_section["Priority 2: Reducing Child Sexual Exploitation"] == (2, 2, 0, 0, 4)  # 2.2.3 counts twice
    assert by_section["Finding 1"] == (1, 0, 0, 0, 1)
    assert by_section["All lines"] == (5, 4, 3, 2, 14)
    assert counts["Finding 1"]["Plan"] == "SCR action plan"


def test_overview_lists_every_computed_line_with_its_readings(workbook):
    rows = table_rows(workbook["Overview"], "OverviewLines")
    assert [(row["Line"].value, row["Indicator"].value.split(" – ")[0]) for row in rows] == [
        (line[0], line[3]) for line in LINES if line[3]]
    for (line_id, indicator), (variation, comparison) in LINE_V2.items():
        row = overview_row(workbook, line_id, indicator)
        assert row["SPC variation"].value == variation
        assert row["vs Tees"].value == comparison
    assert overview_row(workbook, "1.1.5", "LSCB11b")["Red-red"].value == "Red-red"
    assert overview_row(workbook, "SCR-S4", "CPP_NEGLECT")["Red-red"].value == "Red-red"
    assert overview_row(workbook, "1.2.4", "LSCB11e")["Red-red"].value is None
    assert overview_row(workbook, "1.1.4", "MARAC")["RAG"].value == "Green – improved"
    assert overview_row(workbook, "1.1.5", "LSCB11b")["Direction of travel"].value == "↑ worsening"
    counts = rag_counts(workbook["Overview"], "OverviewRagCounts")
    assert counts["Priority 1: Addressing the impact of Neglect"] == (1, 2, 2, 1, 6)
    assert counts["SCR action plan: Success criteria"] == (1, 0, 1, 0, 2)
    assert counts["All lines"] == (5, 4, 3, 2, 14)
