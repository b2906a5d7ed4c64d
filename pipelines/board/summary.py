"""The Summary sheet: every work-plan and SCR line with its status, and RAG counts by section."""

from __future__ import annotations

from openpyxl.worksheet.worksheet import Worksheet

from pipelines.board.layout import (
    PLAN_NAMES,
    RAG_FILL,
    TITLE_ROWS,
    add_table,
    direction_text,
    format_sheet,
    indicator_text,
    put,
    put_due,
    put_overdue,
    put_rag,
    put_value,
    unit_text,
    write_header,
    write_titles,
)
from pipelines.board.marts import MartsExtract
from pipelines.config import Settings

SUMMARY_HEADERS = ["Line", "Plan", "Section", "Line text", "Indicator", "Unit", "Latest quarter", "Latest value",
                   "RAG", "Direction of travel", "Due", "Overdue", "Lead commentary"]
SUMMARY_WIDTHS = [9, 11, 18, 50, 30, 14, 10, 10, 24, 22, 12, 10, 36]
RAG_COUNT_HEADERS = ["Plan", "Section", "Green", "Amber", "Red", "Grey", "Total"]
ALL_LINES = "All lines"


def rag_counts(lines: list[dict]) -> list[tuple[str, str, dict[str, int]]]:
    """(plan, section, count by RAG) in plan order, then the total over every section."""
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for status in lines:
        by_rag = counts.setdefault((status["plan"], status["section"]), dict.fromkeys(RAG_FILL, 0))
        by_rag[status["rag"]] = by_rag.get(status["rag"], 0) + 1
    total = dict.fromkeys(RAG_FILL, 0)
    for by_rag in counts.values():
        for rag, count in by_rag.items():
            total[rag] = total.get(rag, 0) + count
    return [*((plan, section, by_rag) for (plan, section), by_rag in counts.items()), ("", ALL_LINES, total)]


def write_rag_counts(ws: Worksheet, top: int, lines: list[dict], name: str, *, first_column: int = 1,
                     with_plan: bool = True) -> int:
    """The RAG counts table (header at ``top``); returns its last row. Without ``with_plan`` the
    plan is named in the section column (``SCR action plan: Finding 1``)."""
    headers = RAG_COUNT_HEADERS if with_plan else RAG_COUNT_HEADERS[1:]
    write_header(ws, top, headers, first_column=first_column)
    row = top
    for plan, section, by_rag in rag_counts(lines):
        row += 1
        is_total = section == ALL_LINES and not plan
        column = first_column
        if with_plan:
            put(ws, row, column, PLAN_NAMES.get(plan, plan) or None, bold=is_total, wrap=True)
            column += 1
        elif plan and plan != "work_plan":
            section = f"{PLAN_NAMES.get(plan, plan)}: {section}"
        put(ws, row, column, section, bold=is_total, wrap=True)
        for offset, rag in enumerate(RAG_FILL, start=1):
            put(ws, row, column + offset, by_rag.get(rag, 0), bold=is_total, fill=RAG_FILL[rag], align="center")
        put(ws, row, column + 5, sum(by_rag.values()), bold=is_total, align="center")
    add_table(ws, top, row, len(headers), name, first_column=first_column)
    return row


def write_summary(ws: Worksheet, data: MartsExtract, settings: Settings) -> None:
    write_titles(ws, "performance management framework", data, settings)
    header = TITLE_ROWS + 2
    put(ws, TITLE_ROWS + 1, 1, "RAG compares the latest quarter with the baseline; direction of travel with the same "
                               "quarter a year earlier. See Definitions for the rules.")
    write_header(ws, header, SUMMARY_HEADERS)
    row = header
    for status in data.lines:
        row += 1
        code = status["indicator_code"]
        definition = data.definitions.get(code) if code else None
        put(ws, row, 1, status["line_id"])
        put(ws, row, 2, PLAN_NAMES.get(status["plan"], status["plan"]), wrap=True)
        put(ws, row, 3, status["section"], wrap=True)
        put(ws, row, 4, status["line_text"], wrap=True)
        if definition:
            latest = status["latest_period"]
            figure = data.figure(code, data.board, latest)
            put(ws, row, 5, indicator_text(definition), wrap=True)
            put(ws, row, 6, unit_text(definition), wrap=True)
            put(ws, row, 7, latest, align="center")
            put_value(ws, row, 8, status["latest_value"], definition["unit"], figure.is_value_hidden,
                      revision=data.revision(code, data.board, latest))
            put(ws, row, 10, direction_text(status["direction_of_travel"], definition["polarity"]))
        elif code:
            put(ws, row, 5, code)
        put_rag(ws, row, 9, status)
        put_due(ws, row, 11, status)
        put_overdue(ws, row, 12, status)
        if status["status_source"] == "lead":
            put(ws, row, 13, status["commentary"], wrap=True)
    add_table(ws, header, row, len(SUMMARY_HEADERS), "SummaryLines")
    top = row + 3
    put(ws, top - 1, 3, "RAG by priority / finding (the statuses above; a line evidenced by two indicators counts "
                        "for each)", bold=True)
    write_rag_counts(ws, top, data.lines, "SummaryRagCounts", first_column=3)
    format_sheet(ws, SUMMARY_WIDTHS, title_rows=header, freeze=f"B{header + 1}")
