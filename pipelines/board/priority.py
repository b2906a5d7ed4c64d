"""One sheet per priority / plan section, grouped by line.

For each line × indicator: a heading (the line), the indicator, its status (latest value and
interval, baseline, RAG, direction of travel, SPC variation, the Tees comparison, red-red, due
date), its last 8 quarters beside the other Tees LAs and the Tees figure, and an empty box for
the lead's commentary. A group is never split across printed pages.
"""

from __future__ import annotations

from openpyxl.styles import Alignment, Border, Side
from openpyxl.worksheet.worksheet import Worksheet

from pipelines.board.layout import (
    LINE_HEIGHT_POINTS,
    TITLE_ROWS,
    add_table,
    direction_text,
    format_sheet,
    indicator_text,
    interval_text,
    keep_blocks_together,
    measure_text,
    put,
    put_comparison,
    put_count,
    put_due,
    put_group_heading,
    put_overdue,
    put_rag,
    put_spc,
    put_value,
    table_name,
    wrapped_line_count,
    write_header,
    write_titles,
)
from pipelines.board.marts import TEES, MartsExtract
from pipelines.board.overview import RED_RED
from pipelines.config import Settings
from pipelines.periods import quarter_range

HISTORY_QUARTERS = 8
STATUS_HEADERS = ["Latest quarter", "Latest value", "95% interval", "Baseline quarter", "Baseline value", "Status",
                  "Direction of travel", "SPC variation", "vs Tees", "Red-red", "Due", "Overdue"]
BOX = Side(style="thin", color="7F7F7F")


def history_headers(comparator_names: list[str]) -> list[str]:
    return ["Quarter", "Value", "95% interval", "Numerator", "Denominator", *comparator_names, "Tees", "vs Tees",
            "SPC variation", "Note"]


def section_widths(comparators: int) -> list[float]:
    widths = [11, 11, 15, 12, 12] + [13] * comparators + [11, 11, 16, 30]
    widths += [12] * (len(STATUS_HEADERS) - len(widths))  # few comparators: the status table is wider
    widths[5] = 16  # Status: "Amber – no significant change" in two lines
    widths[6] = 14  # Direction of travel: "→ no significant change" in two lines
    return widths


def value_note(value_row: dict) -> str | None:
    if not value_row:
        return "no value in the marts"
    notes = [value_row["status_reason"]] if value_row.get("status_reason") else []
    if value_row.get("history_incomplete"):
        notes.append("history incomplete (look-back reaches before the first period received)")
    return "; ".join(notes) or None


def write_section(ws: Worksheet, section: str, statuses: list[dict], data: MartsExtract, settings: Settings,
                  table_prefix: str) -> None:
    write_titles(ws, section, data, settings)
    comparator_names = [settings.la_name(code) for code in data.comparators]
    history = history_headers(comparator_names)
    widths = section_widths(len(data.comparators))
    columns = max(len(history), len(STATUS_HEADERS))
    quarters = [q.label for q in quarter_range(data.period.shift(1 - HISTORY_QUARTERS), data.period)]
    put(ws, TITLE_ROWS + 1, 1, f"Grouped by line. Each indicator's last {HISTORY_QUARTERS} quarters ({quarters[0]} to "
                               f"{quarters[-1]}) beside the other Tees LAs and the Tees figure.")
    row = TITLE_ROWS + 1
    blocks = []
    for status in statuses:
        first = row + 1
        row = _write_line(ws, first, status, data, quarters, history, columns, widths, table_prefix)
        blocks.append((first, row))
        row += 1
        ws.row_dimensions[row].height = 8
    format_sheet(ws, widths, title_rows=TITLE_ROWS, freeze=f"A{TITLE_ROWS + 1}")
    keep_blocks_together(ws, blocks, widths, TITLE_ROWS)


def _write_line(ws: Worksheet, row: int, status: dict, data: MartsExtract, quarters: list[str], history: list[str],
                columns: int, widths: list[float], table_prefix: str) -> int:
    """One line × indicator group from ``row``; returns its last row."""
    code = status["indicator_code"]
    definition = data.definitions[code]
    unit, board = definition["unit"], data.board
    heading = f"{status['line_id']}  {status['line_text'] or ''}".strip()
    put_group_heading(ws, row, heading, columns)
    ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=columns)
    ws.cell(row=row, column=1).alignment = Alignment(wrap_text=True, vertical="top")
    lines = wrapped_line_count(heading, sum(widths) * 0.85)
    ws.row_dimensions[row].height = 18 * lines + 2

    row += 1
    put(ws, row, 1, f"{indicator_text(definition)} ({measure_text(definition)})", bold=True)

    row += 1
    prefix = table_name(table_prefix, status["line_id"], code)
    write_header(ws, row, STATUS_HEADERS)
    top = row
    row += 1
    latest = status["latest_period"]
    figure = data.figure(code, board, latest)
    latest_row = data.value_row(code, board, latest) or {}
    baseline = data.figure(code, board, status["baseline_period"])
    put(ws, row, 1, latest, align="center")
    put_value(ws, row, 2, status["latest_value"], unit, figure.is_value_hidden,
              revision=data.revision(code, board, latest), bold=True)
    put(ws, row, 3, interval_text(latest_row.get("ci_lower"), latest_row.get("ci_upper"), unit,
                                  figure.is_value_hidden), align="center")
    put(ws, row, 4, status["baseline_period"], align="center")
    put_value(ws, row, 5, status["baseline_value"], unit, baseline.is_value_hidden,
              revision=data.revision(code, board, status["baseline_period"]))
    put_rag(ws, row, 6, status)
    put(ws, row, 7, direction_text(status["direction_of_travel"], definition["polarity"]), wrap=True)
    if data.has_status_column("spc_variation"):
        put_spc(ws, row, 8, status["spc_variation"])
    if data.has_status_column("tees_comparison"):
        put_comparison(ws, row, 9, status["tees_comparison"])
    if data.has_status_column("is_red_red") and status["is_red_red"]:
        put(ws, row, 10, RED_RED, bold=True, fill="FFC7CE", font_colour="9C0006")
    put_due(ws, row, 11, status)
    put_overdue(ws, row, 12, status)
    texts = [(ws.cell(row=row, column=column).value, widths[column - 1]) for column in range(1, len(STATUS_HEADERS) + 1)]
    lines = max(wrapped_line_count(text, width) for text, width in texts if isinstance(text, str))
    ws.row_dimensions[row].height = LINE_HEIGHT_POINTS * max(2, lines)
    add_table(ws, top, row, len(STATUS_HEADERS), f"{prefix}_Status")

    row += 1
    write_header(ws, row, history)
    top = row
    comparators = len(data.comparators)
    for quarter in quarters:
        row += 1
        value_row = data.value_row(code, board, quarter) or {}
        shown = data.figure(code, board, quarter)
        revision = data.revision(code, board, quarter)
        put(ws, row, 1, quarter, align="center")
        put_value(ws, row, 2, value_row.get("value"), unit, shown.is_value_hidden, revision=revision)
        put(ws, row, 3, interval_text(value_row.get("ci_lower"), value_row.get("ci_upper"), unit,
                                      shown.is_value_hidden), align="center")
        changed = revision is not None and revision.previous.numerator != shown.numerator
        put_count(ws, row, 4, shown.numerator, revision=revision if changed else None, unit=unit)
        changed = revision is not None and revision.previous.denominator != shown.denominator
        put_count(ws, row, 5, shown.denominator, revision=revision if changed else None, unit=unit)
        for offset, la_code in enumerate(data.comparators):
            other = data.value_row(code, la_code, quarter) or {}
            put_value(ws, row, 6 + offset, other.get("value"), unit, data.figure(code, la_code, quarter).is_value_hidden,
                      revision=data.revision(code, la_code, quarter))
        tees = data.tees_row(code, quarter) or {}
        put_value(ws, row, 6 + comparators, tees.get("comparator_value"), unit,
                  data.figure(code, TEES, quarter).is_value_hidden)
        put_comparison(ws, row, 7 + comparators, tees.get("comparison"))
        spc = data.spc.get((code, board, quarter)) or {}
        put_spc(ws, row, 8 + comparators, spc.get("variation"))
        put(ws, row, 9 + comparators, value_note(value_row), wrap=True)
    add_table(ws, top, row, len(history), f"{prefix}_History")

    row += 1
    put(ws, row, 1, "Lead commentary", bold=True, wrap=True)
    ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=columns)
    for column in range(2, columns + 1):
        ws.cell(row=row, column=column).border = Border(top=BOX, bottom=BOX, left=BOX, right=BOX)
    ws.row_dimensions[row].height = LINE_HEIGHT_POINTS * 2
    return row
