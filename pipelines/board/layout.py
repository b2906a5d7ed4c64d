"""Cells, tables and print set-up shared by every sheet of the board workbook.

Print-ready: every sheet is A4 landscape, fitted to the page width, with its title rows (and
its column headers, where a sheet has one header row) repeated on every printed page, frozen
panes, and a footer naming the sheet and the page.
"""

from __future__ import annotations

import math
import re
import textwrap

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from pipelines.board.marts import MartsExtract, Revision
from pipelines.board.suppression import SECONDARY
from pipelines.config import Settings

RAG_FILL = {"green": "C6EFCE", "amber": "FFEB9C", "red": "FFC7CE", "grey": "D9D9D9"}
RAG_FONT = {"green": "006100", "amber": "9C5700", "red": "9C0006", "grey": "3F3F3F"}
PLAN_NAMES = {"work_plan": "Work plan 2017-19", "scr_action_plan": "SCR action plan"}
POLARITY_WORDS = {"lower": "lower is better", "higher": "higher is better"}
NUMBER_FORMATS = {"percent": '0.0"%"', "per_10000": "0.0"}
COUNT_FORMAT = "#,##0"
TEXT_FORMAT = "@"
DATE_FORMAT = "dd mmm yyyy"
REVISED_MARK = "r"  # as official statistics mark a revised figure
TITLE_ROWS = 3
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
GROUP_FILL = PatternFill("solid", fgColor="DDEBF7")
FONT_NAME = "Calibri"
HEADER_FONT = Font(name=FONT_NAME, bold=True, color="FFFFFF")
TABLE_STYLE = "TableStyleLight1"
LINE_HEIGHT_POINTS = 15
_INVALID_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_INVALID_NAME_CHARS = re.compile(r"[^A-Za-z0-9_]")


def _text(value: object) -> str | None:
    if value is None:
        return None
    return ILLEGAL_CHARACTERS_RE.sub("", str(value))[:32_767]


def put(ws: Worksheet, row: int, column: int, value: object = None, *, number_format: str | None = None,
        bold: bool = False, wrap: bool = False, fill: str | None = None, font_colour: str | None = None,
        align: str | None = None, size: float | None = None):
    """Write one cell; text is always stored as text (never read as a formula)."""
    cell = ws.cell(row=row, column=column)
    if isinstance(value, str):
        cell.value = _text(value)
        cell.data_type = "s"
    else:
        cell.value = value
    if number_format:
        cell.number_format = number_format
    if bold or font_colour or size:
        cell.font = Font(name=FONT_NAME, bold=bold, color=font_colour, size=size)
    if fill:
        cell.fill = PatternFill("solid", fgColor=fill)
    cell.alignment = Alignment(wrap_text=wrap, horizontal=align, vertical="top")
    return cell


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and not (
        isinstance(value, float) and math.isnan(value))


def revised_format(number_format: str) -> str:
    """The cell's format with `` r`` after the figure (the cell keeps its number)."""
    return f'{number_format}" {REVISED_MARK}"'


def shown_number(value: float | None, unit: str, is_hidden: bool) -> float | str | None:
    """A value as the workbook shows it: the number, ``c`` when suppressed, None when absent."""
    if not is_number(value):
        return None
    return SECONDARY if is_hidden else float(value)


def value_text(value: float | None, unit: str, is_hidden: bool) -> str:
    if not is_number(value):
        return "not available"
    if is_hidden:
        return SECONDARY
    return f"{value:.1f}%" if unit == "percent" else f"{value:.1f}"


def revision_note(revision: Revision, unit: str) -> str:
    previous = revision.previous
    counts = ""
    if previous.numerator is not None:
        counts = f" (numerator {previous.numerator}, denominator {previous.denominator})"
    run = f" in refresh {revision.previous_run_id}" if revision.previous_run_id else ""
    return (f"Revised ({REVISED_MARK}): previously {value_text(revision.previous_value, unit, previous.is_value_hidden)}"
            f"{counts}{run}.")


def mark_revised(cell, revision: Revision | None, unit: str) -> None:
    """``r`` after a revised figure (number format, so numbers stay numbers) and the previous
    figure in a cell comment."""
    if revision is None:
        return
    base = cell.number_format if cell.number_format != "General" else (
        TEXT_FORMAT if isinstance(cell.value, str) else "General")
    cell.number_format = revised_format(base)
    comment = Comment(revision_note(revision, unit), "pmf")
    comment.width, comment.height = 260, 70
    cell.comment = comment


def put_count(ws: Worksheet, row: int, column: int, shown: int | str | None, *, revision: Revision | None = None,
              unit: str = "percent", bold: bool = False):
    if isinstance(shown, str):
        cell = put(ws, row, column, shown, align="right", bold=bold)
    else:
        cell = put(ws, row, column, shown, number_format=COUNT_FORMAT, bold=bold)
    mark_revised(cell, revision, unit)
    return cell


def put_value(ws: Worksheet, row: int, column: int, value: float | None, unit: str, is_hidden: bool, *,
              revision: Revision | None = None, bold: bool = False):
    shown = shown_number(value, unit, is_hidden)
    if isinstance(shown, str):
        cell = put(ws, row, column, shown, align="right", bold=bold)
    else:
        cell = put(ws, row, column, shown, number_format=NUMBER_FORMATS[unit], bold=bold)
    if shown is not None:
        mark_revised(cell, revision, unit)
    return cell


def interval_text(lower: float | None, upper: float | None, unit: str, is_hidden: bool) -> str | None:
    if not (is_number(lower) and is_number(upper)):
        return None
    if is_hidden:
        return SECONDARY
    suffix = "%" if unit == "percent" else ""
    return f"{lower:.1f}{suffix} – {upper:.1f}{suffix}"


def rag_text(row: dict) -> str:
    word = row["rag"].capitalize()
    if row["status_source"] == "lead":
        return f"{word} – reported by lead"
    return f"{word} – {row['change_vs_baseline']}"


def put_rag(ws: Worksheet, row: int, column: int, status: dict, *, short: bool = False) -> None:
    rag = status["rag"]
    text = rag.capitalize() if short else rag_text(status)
    put(ws, row, column, text, fill=RAG_FILL.get(rag), font_colour=RAG_FONT.get(rag), wrap=True)


def direction_text(direction: str | None, polarity: str | None) -> str | None:
    """The arrow shows which way the value moved; the word whether that is better or worse."""
    if direction in (None, "no data"):
        return "no data" if direction else None
    if direction == "no significant change":
        return "→ no significant change"
    went_down = (direction == "improving") == (polarity == "lower")
    return f"{'↓' if went_down else '↑'} {direction}"


SPC_FONT = {"special cause improvement": "1F4E78", "special cause concern": "C65911"}


def put_spc(ws: Worksheet, row: int, column: int, variation: str | None) -> None:
    put(ws, row, column, variation, font_colour=SPC_FONT.get(variation or ""), wrap=True)


COMPARISON_FONT = {"better": "006100", "worse": "9C0006"}


def put_comparison(ws: Worksheet, row: int, column: int, comparison: str | None) -> None:
    put(ws, row, column, comparison, font_colour=COMPARISON_FONT.get(comparison or ""), wrap=True)


def put_due(ws: Worksheet, row: int, column: int, status: dict) -> None:
    if status["due_kind"] == "date" and status["due_date"] is not None:
        put(ws, row, column, status["due_date"], number_format=DATE_FORMAT, align="left")
    else:
        put(ws, row, column, (status["due_kind"] or "").capitalize() or None)


def put_overdue(ws: Worksheet, row: int, column: int, status: dict) -> None:
    if status["is_overdue"]:
        put(ws, row, column, "Overdue", bold=True, font_colour="9C0006")


def unit_text(definition: dict) -> str:
    return "percent" if definition["unit"] == "percent" else definition["unit_label"]


def measure_text(definition: dict) -> str:
    return f"{unit_text(definition)}; {POLARITY_WORDS.get(definition['polarity'], definition['polarity'])}"


def indicator_text(definition: dict) -> str:
    return f"{definition['indicator_code']} – {definition['title']}"


def table_name(*parts: object) -> str:
    """A valid, readable Excel table name from ``parts`` (``Line_1_1_5_LSCB11b``)."""
    return "_".join(_INVALID_NAME_CHARS.sub("_", str(part)) for part in parts)


def sheet_title(plan: str, section: str, taken: set[str]) -> str:
    """``Priority 1``, ``SCR Finding 3``, ``SCR Success criteria``: valid, unique, ≤ 31 chars."""
    short = section.split(":")[0].strip()
    if plan != "work_plan":
        short = f"SCR {short}"
    short = _INVALID_SHEET_CHARS.sub(" ", short).strip("' ")[:31] or "Section"
    title, number = short, 2
    while title.lower() in {name.lower() for name in taken}:
        title = f"{short[:27]} ({number})"
        number += 1
    return title


def write_titles(ws: Worksheet, title: str, data: MartsExtract, settings: Settings, note: str | None = None) -> None:
    put(ws, 1, 1, f"{settings.board_name}: {title}", bold=True, size=14)
    put(ws, 2, 1, f"{settings.la_name(settings.board_la_code)} ({settings.board_la_code}), {data.period.label}. "
                  f"Generated {data.generated_at:%d %b %Y %H:%M} UTC from the PMF marts.")
    below = settings.suppress_counts_below
    put(ws, 3, 1, note or f"<{below} = a count of 1 to {below - 1}; c = suppressed (a small count, or a figure "
                          f"that would let one be worked out); {REVISED_MARK} = revised since the last refresh "
                          "(previous figure in the cell's note); blank = not available.")


def write_header(ws: Worksheet, top: int, headers: list[str], *, first_column: int = 1) -> None:
    if len(set(headers)) != len(headers):
        raise ValueError(f"repeated headers: {headers}")
    for column, header in enumerate(headers, start=first_column):
        cell = put(ws, top, column, header, bold=True, wrap=True)
        cell.fill = HEADER_FILL
        cell.font = HEADER_FONT


def add_table(ws: Worksheet, top: int, bottom: int, columns: int, name: str, *, first_column: int = 1) -> None:
    if bottom <= top:  # Excel repairs a table without data rows
        return
    ref = f"{get_column_letter(first_column)}{top}:{get_column_letter(first_column + columns - 1)}{bottom}"
    table = Table(displayName=name, ref=ref)
    table.tableStyleInfo = TableStyleInfo(name=TABLE_STYLE, showRowStripes=True)
    ws.add_table(table)


def put_group_heading(ws: Worksheet, row: int, text: str, columns: int) -> None:
    """A line's heading across the sheet's columns (priority sheets are grouped by line)."""
    for column in range(1, columns + 1):
        ws.cell(row=row, column=column).fill = GROUP_FILL
    cell = put(ws, row, 1, text, bold=True, size=12)
    cell.fill = GROUP_FILL
    cell.border = Border(top=Side(style="medium", color="1F4E78"))


def wrapped_line_count(text: str, width: float) -> int:
    """Lines ``text`` takes in a column ``width`` wide, wrapped at word boundaries."""
    per_line = max(1, int(width * 1.1))
    return sum(max(1, len(textwrap.wrap(part, per_line))) for part in text.split("\n"))


def fit_row_heights(ws: Worksheet, first_row: int) -> None:
    """Give rows with wrapped text the height their longest cell needs.

    Excel and LibreOffice do not re-measure rows of a generated file reliably, so the height is
    estimated from the text length and the column width (a width unit holds about one character).
    """
    merged = {cell for cells in ws.merged_cells.ranges for cell in cells.cells}
    for row in ws.iter_rows(min_row=first_row):
        lines = 1
        for cell in row:
            if not (cell.alignment.wrap_text and isinstance(cell.value, str)) or (cell.row, cell.column) in merged:
                continue
            width = ws.column_dimensions[cell.column_letter].width or 8.43
            lines = max(lines, wrapped_line_count(cell.value, width))
        if lines > 1 and ws.row_dimensions[row[0].row].height is None:
            ws.row_dimensions[row[0].row].height = LINE_HEIGHT_POINTS * lines


# A4 landscape with these margins (inches): the printable area in points, and a column width
# unit in points (Calibri 11: a 7 px digit, plus 5 px padding per column).
MARGINS = {"left": 0.4, "right": 0.4, "top": 0.4, "bottom": 0.55, "header": 0.2, "footer": 0.25}
PRINTABLE_WIDTH_POINTS = (11.69 - MARGINS["left"] - MARGINS["right"]) * 72
PRINTABLE_HEIGHT_POINTS = (8.27 - MARGINS["top"] - MARGINS["bottom"]) * 72 - 6
WIDTH_UNIT_POINTS = 5.25
DEFAULT_ROW_POINTS = 15


def page_scale(widths: list[float]) -> float:
    """The scale fit-to-width prints at (at most 100%)."""
    total = sum(width * WIDTH_UNIT_POINTS + 3.75 for width in widths)
    return min(1.0, PRINTABLE_WIDTH_POINTS / total)


def keep_blocks_together(ws: Worksheet, blocks: list[tuple[int, int]], widths: list[float],
                         repeated_rows: int) -> None:
    """Page breaks so that no block of rows (first, last) is split across pages when it fits on one.

    Row heights are those set (or the default); the rows printed at the top of every page
    (``repeated_rows``) are taken off each page's height.
    """
    def height(row: int) -> float:
        return ws.row_dimensions[row].height or DEFAULT_ROW_POINTS

    page = PRINTABLE_HEIGHT_POINTS / page_scale(widths) - sum(height(row) for row in range(1, repeated_rows + 1))
    used = sum(height(row) for row in range(repeated_rows + 1, blocks[0][0])) if blocks else 0
    for first, last in blocks:
        block = sum(height(row) for row in range(first, last + 1))
        if used > 0 and used + block > page:
            ws.row_breaks.append(Break(id=first - 1))
            used = 0
        used += block
        while used > page:  # a block longer than a page runs on
            used -= page


def format_sheet(ws: Worksheet, widths: list[float], *, title_rows: int, freeze: str,
                 one_page: bool = False) -> None:
    """Column widths, frozen panes and print set-up (landscape, fit to width, titles repeated,
    footer with the sheet name and page)."""
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = freeze
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1 if one_page else 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"1:{title_rows}"
    ws.print_options.horizontalCentered = one_page
    for side, inches in MARGINS.items():
        setattr(ws.page_margins, side, inches)
    ws.oddFooter.left.text = "&A"
    ws.oddFooter.right.text = "Page &P of &N"
    ws.oddFooter.left.size = ws.oddFooter.right.size = 8
    fit_row_heights(ws, TITLE_ROWS + 1)
