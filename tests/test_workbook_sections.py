"""The board workbook's section sheets (a priority or SCR part each): a status and 8 quarters'
history per line and indicator, the v2 readings, and revised figures marked with the previous one."""

from __future__ import annotations

import openpyxl
import pytest
from openpyxl.utils import range_boundaries

from pipelines.board import write_workbook
from pipelines.board.layout import table_name
from pipelines.config import Settings
from workbook_cells import (
    chart_table,
    displayed,
    fill_of,
    history_row,
    is_number,
    legend_fills,
    line_table,
    overview_row,
    status_row,
    summary_row,
    table_rows,
)
from workbook_fixtures import (
    BOARD,
    NOT_RECEIVED_REASON,
    PERIOD,
    PREVIOUS_RUN_ID,
    REVISIONS,
    build_marts,
)


def test_history_has_the_last_8_quarters_with_notes(workbook):
    ws = workbook["Priority 1"]
    rows = table_rows(ws, line_table(ws, "1.6.1", "PMH_ACCESS", "History"))
    assert [row["Quarter"].value for row in rows] == [q.label for q in (PERIOD.shift(-n) for n in range(7, -1, -1))]
    not_received = history_row(workbook, "Priority 1", "PMH_ACCESS", "2018-19 Q2")
    assert not_received["Value"].value is None and not_received["Note"].value == NOT_RECEIVED_REASON
    incomplete = history_row(workbook, "Priority 2", "LSCB19", "2016-17 Q4")
    assert "history incomplete" in incomplete["Note"].value


def test_section_sheets_are_grouped_by_line_with_headings_and_a_commentary_box(workbook):
    ws = workbook["Priority 2"]
    groups = [name for name in ws.tables if name.endswith("_Status")]
    assert groups == [f"S2_{table_name('2.1.8', 'LSCB21', 'Status')}", f"S2_{table_name('2.2.3', 'LSCB19', 'Status')}",
                      f"S2_{table_name('2.2.3', 'RHI72', 'Status')}"]
    status = status_row(workbook, "Priority 2", "2.2.3", "RHI72")
    assert status["Status"].value == "Green – improved"
    assert fill_of(status["Status"]) == legend_fills(workbook)["green"]
    assert status["Baseline quarter"].value == "2017-18 Q2" and is_number(status["Baseline value"].value)
    for line_id, indicator in (("2.1.8", "LSCB21"), ("2.2.3", "RHI72")):
        top = range_boundaries(ws.tables[line_table(ws, line_id, indicator, "Status")].ref)[1]
        heading = ws.cell(row=top - 2, column=1).value
        assert heading.startswith(f"{line_id}  Text of line {line_id}")
        assert ws.cell(row=top - 1, column=1).value.startswith(f"{indicator} – ")
        bottom = range_boundaries(ws.tables[line_table(ws, line_id, indicator, "History")].ref)[3]
        assert ws.cell(row=bottom + 1, column=1).value == "Lead commentary"
        assert ws.cell(row=bottom + 1, column=2).value is None  # for the lead
    # the groups are kept whole on printed pages: every page break falls between groups
    starts = {range_boundaries(ws.tables[name].ref)[1] - 2 for name in groups}
    assert all(brk.id + 1 in starts or brk.id + 2 in starts for brk in ws.row_breaks.brk)


def test_v2_readings_on_the_section_sheets(workbook):
    status = status_row(workbook, "Priority 1", "1.1.5", "LSCB11b")
    assert (status["SPC variation"].value, status["vs Tees"].value, status["Red-red"].value) == (
        "special cause concern", "worse", "Red-red")
    assert status_row(workbook, "Priority 1", "1.2.4", "LSCB11e")["Red-red"].value is None  # worse, not worsening
    history = history_row(workbook, "Priority 1", "LSCB11b", PERIOD.label)
    # the fixture's Tees figure: the four LAs' summed counts; its comparison is "similar"
    tees_numerator = sum(30 + 14 + la for la in range(4))
    assert history["Tees"].value == pytest.approx(10_000 * tees_numerator / 80_000)
    assert history["vs Tees"].value == "similar" and history["SPC variation"].value == "common cause"


def test_revised_figures_are_marked_wherever_they_appear_with_the_previous_figure(workbook):
    # LSCB21, Hartlepool, the pack's quarter: previously 25 of 100 (25.0%), now 34 of 100.
    assert REVISIONS[("LSCB21", BOARD, PERIOD.label)] == (25, 100)
    note = f"previously 25.0% (numerator 25, denominator 100) in refresh {PREVIOUS_RUN_ID}"
    cells = [
        overview_row(workbook, "2.1.8", "LSCB21")["Latest value"],
        summary_row(workbook, "2.1.8")["Latest value"],
        status_row(workbook, "Priority 2", "2.1.8", "LSCB21")["Latest value"],
        history_row(workbook, "Priority 2", "LSCB21", PERIOD.label)["Value"],
        history_row(workbook, "Priority 2", "LSCB21", PERIOD.label)["Numerator"],
    ]
    for cell in cells:
        assert displayed(cell).endswith(" r"), cell.coordinate
        assert note in cell.comment.text
    assert history_row(workbook, "Priority 2", "LSCB21", PERIOD.label)["Denominator"].comment is None  # 100 both times
    assert overview_row(workbook, "2.1.8", "LSCB21")["Revised"].value == "r"
    assert overview_row(workbook, "1.1.5", "LSCB11b")["Revised"].value is None
    assert not displayed(history_row(workbook, "Priority 2", "LSCB21", "2018-19 Q2")["Value"]).endswith(" r")
    # a previous figure from a small count is itself suppressed in the note
    marac = history_row(workbook, "Priority 1", "MARAC", PERIOD.shift(-1).label)
    assert displayed(marac["Value"]).endswith(" r")
    assert "previously c (numerator <5, denominator 40)" in marac["Value"].comment.text
    # a comparator's revised figure
    rhi = history_row(workbook, "Priority 2", "RHI72", PERIOD.label)
    assert displayed(rhi["Stockton-on-Tees"]).endswith(" r") and "previously 40.0%" in rhi["Stockton-on-Tees"].comment.text
    assert "r – revised" in chart_table(workbook["Charts"], "LSCB21")[PERIOD.label]["Note"]


def test_marts_without_the_v2_tables_give_a_workbook_with_notes(tmp_path):
    marts = build_marts(tmp_path / "pmf.duckdb", with_v2=False)
    workbook = openpyxl.load_workbook(write_workbook(marts, tmp_path / "out.xlsx", period=PERIOD, settings=Settings()))
    row = overview_row(workbook, "1.1.5", "LSCB11b")
    assert (row["SPC variation"].value, row["vs Tees"].value, row["Red-red"].value, row["Revised"].value) == (
        None, None, None, None)
    text = " ".join(str(cell.value) for row in workbook["Overview"].iter_rows() for cell in row if cell.value)
    for table in ("indicator_spc", "indicator_benchmark", "indicator_revisions"):
        assert f"no {table} table" in text
    latest = chart_table(workbook["Charts"], "LSCB11b")[PERIOD.label]
    assert is_number(latest["Hartlepool"]) and latest["SPC mean"] is None and latest["Tees"] is None
    history = history_row(workbook, "Priority 1", "LSCB11b", PERIOD.label)
    assert history["Tees"].value is None and is_number(history["Value"].value)
