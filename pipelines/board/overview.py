"""The Overview sheet: one landscape A4 page for the board.

For each of the board LA's computed lines: the latest value, RAG, direction of travel, SPC
variation, the comparison with the Tees figure, the red-red flag and whether the figure was
revised; then the counts of RAG by priority over every line of both plans.
"""

from __future__ import annotations

from openpyxl.worksheet.worksheet import Worksheet

from pipelines.board.layout import (
    REVISED_MARK,
    TITLE_ROWS,
    add_table,
    direction_text,
    format_sheet,
    put,
    put_comparison,
    put_rag,
    put_spc,
    put_value,
    write_header,
    write_titles,
)
from pipelines.board.marts import MartsExtract
from pipelines.board.summary import write_rag_counts
from pipelines.config import Settings

OVERVIEW_HEADERS = ["Line", "Indicator", "Latest quarter", "Latest value", "RAG", "Direction of travel",
                    "SPC variation", "vs Tees", "Red-red", "Revised"]
OVERVIEW_WIDTHS = [8, 44, 9, 10, 26, 22, 22, 10, 9, 8]
RED_RED = "Red-red"


def computed_lines(data: MartsExtract) -> list[dict]:
    return [status for status in data.lines
            if status["status_source"] == "computed" and status["indicator_code"] in data.definitions]


def write_overview(ws: Worksheet, data: MartsExtract, settings: Settings) -> None:
    write_titles(ws, "overview", data, settings)
    header = TITLE_ROWS + 2
    put(ws, TITLE_ROWS + 1, 1, "Every line with an indicator: RAG against the baseline, direction of travel against a "
                               "year earlier, SPC against the series' own variation, the latest quarter against the "
                               "Tees figure. Red-red = worse than Tees and worsening.", wrap=False)
    write_header(ws, header, OVERVIEW_HEADERS)
    row = header
    for status in computed_lines(data):
        row += 1
        code = status["indicator_code"]
        definition = data.definitions[code]
        latest = status["latest_period"]
        revision = data.revision(code, data.board, latest)
        put(ws, row, 1, status["line_id"])
        put(ws, row, 2, f"{code} – {definition['title']}", wrap=True)
        put(ws, row, 3, latest, align="center")
        put_value(ws, row, 4, status["latest_value"], definition["unit"],
                  data.figure(code, data.board, latest).is_value_hidden, revision=revision, bold=True)
        put_rag(ws, row, 5, status)
        put(ws, row, 6, direction_text(status["direction_of_travel"], definition["polarity"]), wrap=True)
        if data.has_status_column("spc_variation"):
            put_spc(ws, row, 7, status["spc_variation"])
        if data.has_status_column("tees_comparison"):
            put_comparison(ws, row, 8, status["tees_comparison"])
        if data.has_status_column("is_red_red") and status["is_red_red"]:
            put(ws, row, 9, RED_RED, bold=True, fill="FFC7CE", font_colour="9C0006")
        put(ws, row, 10, REVISED_MARK if revision else None, align="center", bold=True)
    add_table(ws, header, row, len(OVERVIEW_HEADERS), "OverviewLines")
    top = row + 3
    put(ws, top - 1, 2, "RAG by priority / finding: every line of both plans (lines without an indicator carry their "
                        "lead's RAG)", bold=True)
    row = write_rag_counts(ws, top, data.lines, "OverviewRagCounts", first_column=2, with_plan=False)
    for note in data.notes():
        row += 1
        put(ws, row, 2, note, font_colour="7F7F7F")
    format_sheet(ws, OVERVIEW_WIDTHS, title_rows=TITLE_ROWS, freeze=f"A{header + 1}", one_page=True)
