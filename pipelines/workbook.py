"""The board workbook (outputs.md, "Board workbook"): the marts, formatted for the HSCB board.

Sheets: Summary (every plan line's status, RAG counts by section), one sheet per plan section
that has indicator lines, Charts (a native line chart per indicator), Data quality and
Definitions. The workbook is generated from the marts alone: it selects, formats and applies
the small-number rule (``suppress``) but never computes an indicator value or a status.
The marts keep exact figures; every count and value written here passes through ``suppress``
or ``shown_count`` first.
"""

from __future__ import annotations

import math
import os
import re
import textwrap
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.chart import LineChart, Reference
from openpyxl.chart.text import RichText, Text
from openpyxl.chart.title import Title
from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties, RegularTextRun
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.table import Table, TableStyleInfo
from openpyxl.worksheet.worksheet import Worksheet

from pipelines.config import Settings
from pipelines.periods import Quarter, quarter_range

SUPPRESSED_VALUE = "c"
HISTORY_QUARTERS = 8
RAG_FILL = {"green": "C6EFCE", "amber": "FFEB9C", "red": "FFC7CE", "grey": "D9D9D9"}
RAG_FONT = {"green": "006100", "amber": "9C5700", "red": "9C0006", "grey": "3F3F3F"}
PLAN_NAMES = {"work_plan": "Work plan 2017-19", "scr_action_plan": "SCR action plan"}
POLARITY_WORDS = {"lower": "lower is better", "higher": "higher is better"}
NUMBER_FORMATS = {"percent": '0.0"%"', "per_10000": "0.0"}
COUNT_FORMAT = "#,##0"
DATE_FORMAT = "dd mmm yyyy"
FIXED_SHEETS = ("Summary", "Charts", "Data quality", "Definitions")
TITLE_ROWS = 3
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
FONT_NAME = "Calibri"
HEADER_FONT = Font(name=FONT_NAME, bold=True, color="FFFFFF")
TABLE_STYLE = "TableStyleLight1"
_INVALID_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")


# --- small numbers (outputs.md) --------------------------------------------------------------


@dataclass(frozen=True)
class Suppressed:
    """What the workbook may show of one value and the counts behind it."""

    numerator: int | str | None
    denominator: int | str | None
    is_value_hidden: bool


def shown_count(count: int | None, below: int) -> int | str | None:
    """A count as the workbook shows it: 1 to ``below - 1`` becomes ``<below``; 0 stays 0."""
    if count is None:
        return None
    count = int(count)
    if count < 0:
        raise ValueError(f"a count cannot be negative, got {count}")
    return f"<{below}" if 1 <= count < below else count


def suppress(numerator: int | None, denominator: int | None, unit: str, *, below: int) -> Suppressed:
    """The small-number decision, in one place (outputs.md: "Small numbers").

    Counts from 1 to ``below - 1`` are shown as ``<below``. The value (and its interval) is
    hidden (shown ``c``) when it is computed from such a count: a small numerator, or for a
    percentage a small denominator. A value whose numerator is unknown is hidden too: the
    workbook cannot show that it is safe.
    """
    if unit not in NUMBER_FORMATS:
        raise ValueError(f"unit must be one of {sorted(NUMBER_FORMATS)}, got {unit!r}")
    shown_numerator = shown_count(numerator, below)
    shown_denominator = shown_count(denominator, below)
    is_hidden = (
        numerator is None
        or isinstance(shown_numerator, str)
        or (unit == "percent" and isinstance(shown_denominator, str))
    )
    return Suppressed(shown_numerator, shown_denominator, is_hidden)


# --- reading the marts -----------------------------------------------------------------------


def plan_line_sort_key(plan: str, line_id: str) -> tuple:
    """Work-plan order: the work plan before the SCR plan, then line ids in natural order
    (``1.1.5`` < ``1.1.10``, ``2.2.4a`` < ``2.2.4b`` < ``2.2.5``, ``SCR-6.4`` < ``SCR-S1``)."""
    parts = tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.findall(r"\d+|\D+", line_id))
    return (0 if plan == "work_plan" else 1, parts)


@dataclass
class MartsExtract:
    """Everything the workbook shows, read once from the marts."""

    period: Quarter
    generated_at: datetime
    definitions: dict[str, dict]  # indicator_code -> row, in order of first plan line
    values: dict[tuple[str, str, str], dict]  # (indicator_code, la_code, period) -> row
    lines: list[dict]  # work_plan_status for the board LA and period, in plan order
    files: list[dict]  # data_quality, every period
    quarantine_counts: list[dict]  # for the period, by extract and rule
    run_id: str | None = None  # the refresh that built the marts (latest refresh_log row)

    def value_row(self, code: str, la_code: str, period: str | None) -> dict | None:
        return self.values.get((code, la_code, period)) if period else None


def _fetch(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[dict]:
    cursor = con.execute(sql, params or [])
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _generated_at(con: duckdb.DuckDBPyConnection) -> datetime:
    """The latest ``refresh_log.finished_at`` when the marts have one, else now (UTC)."""
    has_log = con.execute(
        "select count(*) from information_schema.columns"
        " where table_name = 'refresh_log' and column_name = 'finished_at'"
    ).fetchone()[0]
    finished = con.execute("select max(finished_at) from refresh_log").fetchone()[0] if has_log else None
    if not isinstance(finished, datetime):
        return datetime.now(UTC)
    return finished.astimezone(UTC) if finished.tzinfo else finished.replace(tzinfo=UTC)


def _run_id(con: duckdb.DuckDBPyConnection) -> str | None:
    """The run that built the marts: the latest-finished ``refresh_log`` row, when there is one."""
    has_log = con.execute(
        "select count(*) from information_schema.columns where table_name = 'refresh_log' and column_name = 'run_id'"
    ).fetchone()[0]
    row = con.execute("select run_id from refresh_log order by finished_at desc limit 1").fetchone() if has_log else None
    return row[0] if row else None


def read_marts(marts_path: Path, period: Quarter, settings: Settings) -> MartsExtract:
    las = [settings.board_la_code, *settings.comparator_la_codes]
    with duckdb.connect(str(marts_path), read_only=True) as con:
        lines = _fetch(
            con,
            "select * from work_plan_status where la_code = ? and period = ?",
            [settings.board_la_code, period.label],
        )
        if not lines:
            present = con.execute("select distinct period from work_plan_status order by 1").fetchall()
            periods = [row[0] for row in present]
            raise ValueError(
                f"the marts {marts_path} have no work-plan status for {settings.board_la_code} in {period.label}"
                f" (periods present: {', '.join(periods) or 'none'})"
            )
        definitions = _fetch(con, "select * from indicator_definitions order by indicator_code")
        values = _fetch(
            con,
            f"select * from indicator_values where la_code in ({', '.join('?' * len(las))})",
            las,
        )
        files = _fetch(con, "select * from data_quality order by period, extract, file_name")
        quarantine_counts = _fetch(
            con,
            """
            select extract, rule, string_agg(distinct column_name, ', ' order by column_name) as column_names,
                count(*) as rows_quarantined
            from quarantine
            where period in (?, ?)
            group by extract, rule
            order by extract, rule
            """,
            [period.label, period.folder_id],
        )
        generated_at = _generated_at(con)
        run_id = _run_id(con)
    lines.sort(key=lambda row: (plan_line_sort_key(row["plan"], row["line_id"]), row["indicator_code"] or ""))
    first_line = {}
    for index, row in enumerate(lines):
        first_line.setdefault(row["indicator_code"], index)
    definitions.sort(key=lambda row: (first_line.get(row["indicator_code"], len(lines)), row["indicator_code"]))
    return MartsExtract(
        period=period,
        generated_at=generated_at,
        definitions={row["indicator_code"]: row for row in definitions},
        values={(row["indicator_code"], row["la_code"], row["period"]): row for row in values},
        lines=lines,
        files=files,
        quarantine_counts=quarantine_counts,
        run_id=run_id,
    )


# --- formatting ------------------------------------------------------------------------------


def _text(value: object) -> str | None:
    if value is None:
        return None
    return ILLEGAL_CHARACTERS_RE.sub("", str(value))[:32_767]


def put(ws: Worksheet, row: int, column: int, value: object = None, *, number_format: str | None = None,
        bold: bool = False, wrap: bool = False, fill: str | None = None, font_colour: str | None = None,
        align: str | None = None):
    """Write one cell; text is always stored as text (never read as a formula)."""
    cell = ws.cell(row=row, column=column)
    if isinstance(value, str):
        cell.value = _text(value)
        cell.data_type = "s"
    else:
        cell.value = value
    if number_format:
        cell.number_format = number_format
    if bold or font_colour:
        cell.font = Font(name=FONT_NAME, bold=bold, color=font_colour)
    if fill:
        cell.fill = PatternFill("solid", fgColor=fill)
    cell.alignment = Alignment(wrap_text=wrap, horizontal=align, vertical="top")
    return cell


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not (isinstance(value, float) and math.isnan(value))


def put_count(ws: Worksheet, row: int, column: int, shown: int | str | None) -> None:
    if isinstance(shown, str):
        put(ws, row, column, shown, align="right")
    else:
        put(ws, row, column, shown, number_format=COUNT_FORMAT)


def put_value(ws: Worksheet, row: int, column: int, value: float | None, unit: str, is_hidden: bool) -> None:
    if not _is_number(value):
        put(ws, row, column, None)
    elif is_hidden:
        put(ws, row, column, SUPPRESSED_VALUE, align="right")
    else:
        put(ws, row, column, float(value), number_format=NUMBER_FORMATS[unit])


def interval_text(lower: float | None, upper: float | None, unit: str, is_hidden: bool) -> str | None:
    if not (_is_number(lower) and _is_number(upper)):
        return None
    if is_hidden:
        return SUPPRESSED_VALUE
    suffix = "%" if unit == "percent" else ""
    return f"{lower:.1f}{suffix} – {upper:.1f}{suffix}"


def rag_text(row: dict) -> str:
    word = row["rag"].capitalize()
    if row["status_source"] == "lead":
        return f"{word} – reported by lead"
    return f"{word} – {row['change_vs_baseline']}"


def put_rag(ws: Worksheet, row: int, column: int, status: dict) -> None:
    rag = status["rag"]
    put(ws, row, column, rag_text(status), fill=RAG_FILL.get(rag), font_colour=RAG_FONT.get(rag), wrap=True)


def direction_text(direction: str | None, polarity: str | None) -> str | None:
    """The arrow shows which way the value moved; the word whether that is better or worse."""
    if direction in (None, "no data"):
        return "no data" if direction else None
    if direction == "no significant change":
        return "→ no significant change"
    went_down = (direction == "improving") == (polarity == "lower")
    return f"{'↓' if went_down else '↑'} {direction}"


def put_due(ws: Worksheet, row: int, column: int, status: dict) -> None:
    if status["due_kind"] == "date" and status["due_date"] is not None:
        put(ws, row, column, status["due_date"], number_format=DATE_FORMAT, align="left")
    else:
        put(ws, row, column, (status["due_kind"] or "").capitalize() or None)


def put_overdue(ws: Worksheet, row: int, column: int, status: dict) -> None:
    if status["is_overdue"]:
        put(ws, row, column, "Overdue", bold=True, font_colour="9C0006")


def measure_text(definition: dict) -> str:
    unit = "percent" if definition["unit"] == "percent" else definition["unit_label"]
    return f"{unit}; {POLARITY_WORDS.get(definition['polarity'], definition['polarity'])}"


def indicator_text(definition: dict) -> str:
    return f"{definition['indicator_code']} – {definition['title']}"


def format_sheet(ws: Worksheet, widths: list[float], *, header_row: int | None, freeze: str) -> None:
    """Column widths, frozen panes and print set-up (landscape, fit to width, titles repeated)."""
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = freeze
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{header_row}:{header_row}" if header_row else f"1:{TITLE_ROWS}"
    ws.oddFooter.left.text = "&A"
    ws.oddFooter.right.text = "Page &P of &N"
    fit_row_heights(ws, TITLE_ROWS + 1)


LINE_HEIGHT_POINTS = 15


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


def write_titles(ws: Worksheet, title: str, data: MartsExtract, settings: Settings, note: str | None = None) -> None:
    put(ws, 1, 1, f"{settings.board_name}: {title}", bold=True).font = Font(name=FONT_NAME, bold=True, size=14)
    put(ws, 2, 1, f"{settings.la_name(settings.board_la_code)} ({settings.board_la_code}), {data.period.label}. "
                  f"Generated {data.generated_at:%d %b %Y %H:%M} UTC from the PMF marts.")
    put(ws, 3, 1, note or f"c = suppressed (computed from a count of 1 to {settings.suppress_counts_below - 1}); "
                          f"<{settings.suppress_counts_below} = a count of 1 to {settings.suppress_counts_below - 1}; "
                          "blank = not available.")


def write_table(ws: Worksheet, top: int, headers: list[str], name: str) -> None:
    """The header row of table ``name`` (``add_table`` adds the table once its rows are written)."""
    for column, header in enumerate(headers, start=1):
        put(ws, top, column, header, bold=True, wrap=True).fill = HEADER_FILL
        ws.cell(row=top, column=column).font = HEADER_FONT
    if len(set(headers)) != len(headers):
        raise ValueError(f"table {name} has repeated headers: {headers}")


def add_table(ws: Worksheet, top: int, bottom: int, columns: int, name: str) -> None:
    if bottom <= top:  # Excel repairs a table without data rows
        return
    table = Table(displayName=name, ref=f"A{top}:{get_column_letter(columns)}{bottom}")
    table.tableStyleInfo = TableStyleInfo(name=TABLE_STYLE, showRowStripes=True)
    ws.add_table(table)


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


# --- sheets ----------------------------------------------------------------------------------

SUMMARY_HEADERS = ["Line", "Plan", "Section", "Line text", "Indicator", "Unit", "Latest quarter", "Latest value",
                   "RAG", "Direction of travel", "Due", "Overdue", "Lead commentary"]
SUMMARY_WIDTHS = [10, 12, 18, 50, 30, 14, 10, 10, 24, 22, 12, 10, 36]


def write_summary(ws: Worksheet, data: MartsExtract, settings: Settings) -> None:
    write_titles(ws, "performance management framework", data, settings)
    header = TITLE_ROWS + 2
    put(ws, TITLE_ROWS + 1, 1, "RAG compares the latest quarter with the baseline; direction of travel with the same "
                               "quarter a year earlier. See Definitions for the rules.")
    write_table(ws, header, SUMMARY_HEADERS, "SummaryLines")
    row = header
    below = settings.suppress_counts_below
    for status in data.lines:
        row += 1
        definition = data.definitions.get(status["indicator_code"]) if status["indicator_code"] else None
        put(ws, row, 1, status["line_id"])
        put(ws, row, 2, PLAN_NAMES.get(status["plan"], status["plan"]), wrap=True)
        put(ws, row, 3, status["section"], wrap=True)
        put(ws, row, 4, status["line_text"], wrap=True)
        if definition:
            shown = suppress(status["latest_numerator"], status["latest_denominator"], definition["unit"], below=below)
            put(ws, row, 5, indicator_text(definition), wrap=True)
            put(ws, row, 6, "percent" if definition["unit"] == "percent" else definition["unit_label"], wrap=True)
            put(ws, row, 7, status["latest_period"], align="center")
            put_value(ws, row, 8, status["latest_value"], definition["unit"], shown.is_value_hidden)
            put(ws, row, 10, direction_text(status["direction_of_travel"], definition["polarity"]))
        elif status["indicator_code"]:
            put(ws, row, 5, status["indicator_code"])
        put_rag(ws, row, 9, status)
        put_due(ws, row, 11, status)
        put_overdue(ws, row, 12, status)
        if status["status_source"] == "lead":
            put(ws, row, 13, status["commentary"], wrap=True)
    add_table(ws, header, row, len(SUMMARY_HEADERS), "SummaryLines")
    write_rag_counts(ws, row + 2, data)
    format_sheet(ws, SUMMARY_WIDTHS, header_row=header, freeze=f"B{header + 1}")


def write_rag_counts(ws: Worksheet, top: int, data: MartsExtract) -> None:
    """Counts of the statuses above (a line with two indicators counts once for each)."""
    put(ws, top, 1, "RAG by priority / finding (the statuses above; a line evidenced by two indicators counts "
                    "for each)", bold=True)
    headers = ["Plan", "Section", "Green", "Amber", "Red", "Grey", "Total"]
    columns = [3, 4, 5, 6, 7, 8, 9]  # under columns of the lines above whose widths suit them
    for column, header in zip(columns, headers, strict=True):
        put(ws, top + 1, column, header, bold=True).fill = HEADER_FILL
        ws.cell(row=top + 1, column=column).font = HEADER_FONT
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for status in data.lines:
        counts.setdefault((status["plan"], status["section"]), {}).setdefault(status["rag"], 0)
        counts[(status["plan"], status["section"])][status["rag"]] += 1
    row = top + 1
    for (plan, section), by_rag in [*counts.items(), (("", "All lines"), _sum_counts(counts.values()))]:
        row += 1
        is_total = section == "All lines" and plan == ""
        put(ws, row, columns[0], PLAN_NAMES.get(plan, plan) or None, bold=is_total, wrap=True)
        put(ws, row, columns[1], section, bold=is_total, wrap=True)
        for column, rag in zip(columns[2:6], RAG_FILL, strict=True):
            put(ws, row, column, by_rag.get(rag, 0), bold=is_total, fill=RAG_FILL[rag])
        put(ws, row, columns[6], sum(by_rag.values()), bold=is_total)


def _sum_counts(parts) -> dict[str, int]:
    total: dict[str, int] = {}
    for part in parts:
        for key, count in part.items():
            total[key] = total.get(key, 0) + count
    return total


SECTION_WIDTHS = [10, 30, 18, 10, 10, 16, 12, 12, 14, 14, 14, 24, 22, 12, 10, 40]


def write_section(ws: Worksheet, section: str, statuses: list[dict], data: MartsExtract, settings: Settings,
                  table_prefix: str) -> None:
    """Status of each line × indicator, then each indicator's last 8 quarters with the comparators."""
    write_titles(ws, section, data, settings)
    comparators = list(settings.comparator_la_codes)
    comparator_names = [settings.la_name(code) for code in comparators]
    below = settings.suppress_counts_below
    board = settings.board_la_code

    top = TITLE_ROWS + 2
    put(ws, top - 1, 1, f"Status at {data.period.label} (comparators: the same quarter as the latest value)", bold=True)
    headers = ["Line", "Indicator", "Measure", "Latest quarter", "Latest value", "95% interval", "Baseline quarter",
               "Baseline value", *comparator_names, "Status", "Direction of travel", "Due", "Overdue",
               "Lead commentary"]
    write_table(ws, top, headers, f"{table_prefix}Status")
    row = top
    for status in statuses:
        row += 1
        definition = data.definitions[status["indicator_code"]]
        unit, code = definition["unit"], status["indicator_code"]
        latest = suppress(status["latest_numerator"], status["latest_denominator"], unit, below=below)
        latest_row = data.value_row(code, board, status["latest_period"]) or {}
        baseline_row = data.value_row(code, board, status["baseline_period"]) or {}
        baseline = suppress(baseline_row.get("numerator"), baseline_row.get("denominator"), unit, below=below)
        put(ws, row, 1, status["line_id"])
        put(ws, row, 2, indicator_text(definition), wrap=True)
        put(ws, row, 3, measure_text(definition), wrap=True)
        put(ws, row, 4, status["latest_period"], align="center")
        put_value(ws, row, 5, status["latest_value"], unit, latest.is_value_hidden)
        put(ws, row, 6, interval_text(latest_row.get("ci_lower"), latest_row.get("ci_upper"), unit,
                                      latest.is_value_hidden), align="center")
        put(ws, row, 7, status["baseline_period"], align="center")
        put_value(ws, row, 8, status["baseline_value"], unit, baseline.is_value_hidden)
        for offset, la_code in enumerate(comparators):
            other = data.value_row(code, la_code, status["latest_period"] or data.period.label) or {}
            shown = suppress(other.get("numerator"), other.get("denominator"), unit, below=below)
            put_value(ws, row, 9 + offset, other.get("value"), unit, shown.is_value_hidden)
        column = 9 + len(comparators)
        put_rag(ws, row, column, status)
        put(ws, row, column + 1, direction_text(status["direction_of_travel"], definition["polarity"]))
        put_due(ws, row, column + 2, status)
        put_overdue(ws, row, column + 3, status)
        put(ws, row, column + 4, None)  # for the lead
    add_table(ws, top, row, len(headers), f"{table_prefix}Status")

    top = row + 3
    quarters = [q.label for q in quarter_range(data.period.shift(1 - HISTORY_QUARTERS), data.period)]
    put(ws, top - 1, 1, f"Last {HISTORY_QUARTERS} quarters ({quarters[0]} to {quarters[-1]})", bold=True)
    headers = ["Lines", "Indicator", "Measure", "Quarter", "Value", "95% interval", "Numerator", "Denominator",
               *comparator_names, "Note"]
    write_table(ws, top, headers, f"{table_prefix}History")
    row = top
    lines_of: dict[str, list[str]] = {}
    for status in statuses:
        lines_of.setdefault(status["indicator_code"], []).append(status["line_id"])
    for code, line_ids in lines_of.items():
        definition = data.definitions[code]
        unit = definition["unit"]
        for quarter in quarters:
            row += 1
            value_row = data.value_row(code, board, quarter) or {}
            shown = suppress(value_row.get("numerator"), value_row.get("denominator"), unit, below=below)
            put(ws, row, 1, ", ".join(dict.fromkeys(line_ids)))
            put(ws, row, 2, indicator_text(definition), wrap=True)
            put(ws, row, 3, measure_text(definition), wrap=True)
            put(ws, row, 4, quarter, align="center")
            put_value(ws, row, 5, value_row.get("value"), unit, shown.is_value_hidden)
            put(ws, row, 6, interval_text(value_row.get("ci_lower"), value_row.get("ci_upper"), unit,
                                          shown.is_value_hidden), align="center")
            put_count(ws, row, 7, shown.numerator)
            put_count(ws, row, 8, shown.denominator)
            for offset, la_code in enumerate(comparators):
                other = data.value_row(code, la_code, quarter) or {}
                other_shown = suppress(other.get("numerator"), other.get("denominator"), unit, below=below)
                put_value(ws, row, 9 + offset, other.get("value"), unit, other_shown.is_value_hidden)
            put(ws, row, 9 + len(comparators), value_note(value_row), wrap=True)
    add_table(ws, top, row, len(headers), f"{table_prefix}History")
    widths = SECTION_WIDTHS[:8] + [14] * len(comparators) + SECTION_WIDTHS[11:]
    format_sheet(ws, widths, header_row=None, freeze=f"A{TITLE_ROWS + 1}")


def value_note(value_row: dict) -> str | None:
    if not value_row:
        return "no value in the marts"
    notes = [value_row["status_reason"]] if value_row.get("status_reason") else []
    if value_row.get("history_incomplete"):
        notes.append("history incomplete (look-back reaches before the first period received)")
    return "; ".join(notes) or None


CHART_STRIDE = 19  # rows per indicator on the Charts sheet: title, header, 8 quarters, chart beside
CHARTS_PER_PAGE = 2


def write_charts(ws: Worksheet, data: MartsExtract, settings: Settings) -> None:
    """A native line chart per indicator beside its data; suppressed points are left blank."""
    write_titles(ws, "indicator charts", data, settings,
                 note="Suppressed values (c) and their intervals are left blank, so the charts do not show them.")
    board, below = settings.board_la_code, settings.suppress_counts_below
    board_name = settings.la_name(board)
    quarters = [q.label for q in quarter_range(data.period.shift(1 - HISTORY_QUARTERS), data.period)]
    baselines = _baseline_by_indicator(data)
    top = TITLE_ROWS + 2
    for code, definition in data.definitions.items():
        unit = definition["unit"]
        put(ws, top, 1, f"{indicator_text(definition)} ({measure_text(definition)})", bold=True)
        baseline_period, baseline_value = baselines.get(code, (None, None))
        baseline_row = data.value_row(code, board, baseline_period) or {}
        baseline_hidden = suppress(baseline_row.get("numerator"), baseline_row.get("denominator"), unit,
                                   below=below).is_value_hidden
        headers = ["Quarter", board_name, "Lower 95%", "Upper 95%",
                   f"Baseline ({baseline_period})" if baseline_period else "Baseline", "Note"]
        for column, header in enumerate(headers, start=1):
            put(ws, top + 1, column, header, bold=True, wrap=True)
        for offset, quarter in enumerate(quarters):
            row = top + 2 + offset
            value_row = data.value_row(code, board, quarter) or {}
            hidden = suppress(value_row.get("numerator"), value_row.get("denominator"), unit,
                              below=below).is_value_hidden
            put(ws, row, 1, quarter)
            for column, key in ((2, "value"), (3, "ci_lower"), (4, "ci_upper")):
                number = value_row.get(key)
                shown = None if hidden or not _is_number(number) else float(number)
                put(ws, row, column, shown, number_format=NUMBER_FORMATS[unit])
            if _is_number(baseline_value) and not baseline_hidden:
                put(ws, row, 5, float(baseline_value), number_format=NUMBER_FORMATS[unit])
            is_suppressed = hidden and _is_number(value_row.get("value"))
            note = "c – suppressed (small numbers)" if is_suppressed else value_note(value_row)
            put(ws, row, 6, note)
        ws.add_chart(line_chart(ws, definition, top + 1, len(quarters)), f"H{top}")
        top += CHART_STRIDE
        if (top - TITLE_ROWS - 2) % (CHARTS_PER_PAGE * CHART_STRIDE) == 0:
            ws.row_breaks.append(Break(id=top - 1))
    format_sheet(ws, [10, 14, 11, 11, 14, 30, 2], header_row=None, freeze=f"A{TITLE_ROWS + 1}")


def _baseline_by_indicator(data: MartsExtract) -> dict[str, tuple[str | None, float | None]]:
    """The baseline the plan lines use (the first line's, when several lines share an indicator)."""
    baselines: dict[str, tuple[str | None, float | None]] = {}
    for status in data.lines:
        if status["indicator_code"]:
            baselines.setdefault(status["indicator_code"], (status["baseline_period"], status["baseline_value"]))
    return baselines


def chart_title(text: str, size: int = 1100) -> Title:
    """A chart title in a modest bold font (openpyxl's default title is large)."""
    properties = CharacterProperties(sz=size, b=True)
    paragraph = Paragraph(pPr=ParagraphProperties(defRPr=properties), r=[RegularTextRun(rPr=properties, t=text)])
    return Title(tx=Text(rich=RichText(p=[paragraph])), overlay=False)


def line_chart(ws: Worksheet, definition: dict, header_row: int, quarter_count: int) -> LineChart:
    chart = LineChart()
    chart.title = chart_title(f"{definition['indicator_code']}: {definition['title']}")
    chart.y_axis.title = "percent" if definition["unit"] == "percent" else definition["unit_label"]
    chart.x_axis.title = "Quarter"
    chart.x_axis.delete = False  # openpyxl hides axes by default in recent Excel otherwise
    chart.y_axis.delete = False
    chart.y_axis.number_format = NUMBER_FORMATS[definition["unit"]]
    chart.display_blanks = "gap"
    chart.height, chart.width = 9, 18
    chart.legend.position = "b"
    last = header_row + quarter_count
    chart.add_data(Reference(ws, min_col=2, max_col=5, min_row=header_row, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=header_row + 1, max_row=last))
    # (colour, dash, width in EMU) for value, lower, upper, baseline
    styles = [("1F4E78", None, 28575), ("7F7F7F", "dash", 12700), ("7F7F7F", "dash", 12700),
              ("C00000", "sysDot", 15875)]
    for series, (colour, dash, width) in zip(chart.series, styles, strict=True):
        series.smooth = False
        series.graphicalProperties.line.solidFill = colour
        series.graphicalProperties.line.width = width
        if dash:
            series.graphicalProperties.line.dashStyle = dash
            series.marker.symbol = "none"
        else:
            series.marker.symbol = "circle"
            series.marker.size = 6
            series.marker.graphicalProperties.solidFill = colour
            series.marker.graphicalProperties.line.solidFill = colour
    return chart


DQ_HEADERS = ["Extract", "File", "Status", "Rows received", "Rows staged", "Rows quarantined", "Message"]
QUARANTINE_HEADERS = ["Extract", "Rule", "Columns", "Rows quarantined"]


def write_data_quality(ws: Worksheet, data: MartsExtract, settings: Settings) -> None:
    write_titles(ws, "data quality", data, settings,
                 note=f"Counts of 1 to {settings.suppress_counts_below - 1} are shown as "
                      f"<{settings.suppress_counts_below}; exact counts are in the marts (data_quality, quarantine).")
    below = settings.suppress_counts_below
    files = [row for row in data.files if row["period"] in (data.period.label, data.period.folder_id)]
    top = TITLE_ROWS + 2
    put(ws, top - 1, 1, f"Files received for {data.period.label}", bold=True)
    write_table(ws, top, DQ_HEADERS, "DataQualityFiles")
    row = top
    for file in files:
        row += 1
        put(ws, row, 1, file["extract"])
        put(ws, row, 2, file["file_name"], wrap=True)
        put(ws, row, 3, file["status"], bold=file["status"] != "accepted")
        for column, key in ((4, "rows_received"), (5, "rows_staged"), (6, "rows_quarantined")):
            put_count(ws, row, column, shown_count(file[key], below))
        put(ws, row, 7, file["message"] or None, wrap=True)
    add_table(ws, top, row, len(DQ_HEADERS), "DataQualityFiles")
    if not files:
        row += 1
        put(ws, row, 1, f"No files recorded for {data.period.label}.")
    row += 1
    put(ws, row, 1, f"Total ({len(files)} files)", bold=True)
    for column, key in ((4, "rows_received"), (5, "rows_staged"), (6, "rows_quarantined")):
        put_count(ws, row, column, shown_count(sum(file[key] or 0 for file in files), below))
        ws.cell(row=row, column=column).font = Font(name=FONT_NAME, bold=True)

    top = row + 3
    put(ws, top - 1, 1, f"Quarantined rows in {data.period.label} by extract and rule", bold=True)
    write_table(ws, top, QUARANTINE_HEADERS, "QuarantineByRule")
    row = top
    for count in data.quarantine_counts:
        row += 1
        put(ws, row, 1, count["extract"])
        put(ws, row, 2, count["rule"], wrap=True)
        put(ws, row, 3, count["column_names"], wrap=True)
        put_count(ws, row, 4, shown_count(count["rows_quarantined"], below))
    add_table(ws, top, row, len(QUARANTINE_HEADERS), "QuarantineByRule")
    if not data.quarantine_counts:
        row += 1
        put(ws, row, 1, "No rows quarantined in this period.")
    else:
        row += 1
        put(ws, row, 1, "Total", bold=True)
        put_count(ws, row, 4, shown_count(sum(c["rows_quarantined"] for c in data.quarantine_counts), below))
        ws.cell(row=row, column=4).font = Font(name=FONT_NAME, bold=True)
    format_sheet(ws, [26, 36, 22, 12, 12, 12, 60], header_row=TITLE_ROWS + 2, freeze=f"A{TITLE_ROWS + 3}")


DEFINITION_HEADERS = ["Code", "Title", "Definition", "Unit", "Polarity", "Sources", "Interval method", "Evidence for"]
DEFINITION_WIDTHS = [16, 34, 70, 18, 16, 28, 28, 14]


def methods_notes(data: MartsExtract, settings: Settings) -> list[tuple[str, str]]:
    below = settings.suppress_counts_below
    extracts = sorted({source.strip() for row in data.definitions.values()
                       for source in (row["sources"] or "").split(",") if source.strip()})
    comparators = ", ".join(f"{settings.la_name(code)} ({code})" for code in settings.comparator_la_codes)
    return [
        ("Intervals", "95% confidence intervals. Percentages: Wilson score interval (Wilson 1927). Rates per 10,000: "
                      "Byar's method when the count is 10 or more, exact Poisson (chi-squared) below 10; a count of 0 "
                      "has a lower limit of 0 (Breslow & Day 1987)."),
        ("Significance", "Two values differ significantly when their 95% intervals do not overlap; intervals that "
                         "touch count as overlapping."),
        ("Status (RAG)", "For the latest quarter with a value, compared with the line's baseline quarter "
                         f"(by default {settings.default_baseline_period}, when the plans began): Green = improved "
                         "significantly in the desired direction; Red = worsened significantly; Amber = no "
                         "significant change; Grey = no data (latest or baseline value missing). Lines that no "
                         "indicator evidences show the RAG and commentary reported by their leads. A line past its "
                         "due date that has not improved is marked Overdue."),
        ("Direction of travel", "The latest quarter compared with the same quarter a year earlier, in the same way. "
                                "The arrow shows which way the value moved (↑ up, ↓ down, → no significant "
                                "change); "
                                "the word says whether that is better or worse. For 'lower is better' indicators an "
                                "improving value goes down."),
        ("Small numbers", f"Any count from 1 to {below - 1} is shown as <{below}, and a value computed from such a "
                          f"count (a numerator of 1 to {below - 1}, or for percentages a denominator of 1 to "
                          f"{below - 1}) is shown as c, with its interval, in every table and left blank in the "
                          "charts. 0 is shown as 0. The marts keep the exact figures."),
        ("Data sources", "Quarterly extracts from the partner agencies (Cleveland Police, the Tees local "
                         "authorities' children's services, health providers): " + ", ".join(extracts) + ". "
                         "Rates per 10,000 use ONS mid-year population estimates. Input files are listed below."),
        ("Areas", f"Board: {settings.la_name(settings.board_la_code)} ({settings.board_la_code}). "
                  f"Comparators: {comparators}."),
        ("Generated", f"{data.generated_at:%d %b %Y %H:%M} UTC, for {data.period.label}, from the PMF marts"
                      + (f" of refresh {data.run_id}." if data.run_id else ".")),
    ]


def write_definitions(ws: Worksheet, data: MartsExtract, settings: Settings) -> None:
    write_titles(ws, "definitions and methods", data, settings)
    top = TITLE_ROWS + 2
    write_table(ws, top, DEFINITION_HEADERS, "IndicatorDefinitions")
    row = top
    for code, definition in data.definitions.items():
        row += 1
        unit = "percent (%)" if definition["unit"] == "percent" else definition["unit_label"]
        for column, value in enumerate(
            [code, definition["title"], definition["definition"], unit,
             POLARITY_WORDS.get(definition["polarity"], definition["polarity"]), definition["sources"],
             definition["ci_methods"], definition["evidences"]],
            start=1,
        ):
            put(ws, row, column, value, wrap=True)
    add_table(ws, top, row, len(DEFINITION_HEADERS), "IndicatorDefinitions")

    row += 2
    put(ws, row, 1, "Methods and notes", bold=True)
    text_width = sum(DEFINITION_WIDTHS[1:])
    for label, text in methods_notes(data, settings):
        row += 1
        put(ws, row, 1, label, bold=True, wrap=True)
        put(ws, row, 2, text, wrap=True)
        ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=len(DEFINITION_HEADERS))
        lines = max(wrapped_line_count(text, text_width), wrapped_line_count(label, DEFINITION_WIDTHS[0]))
        ws.row_dimensions[row].height = LINE_HEIGHT_POINTS * lines

    row += 2
    put(ws, row, 1, "Input files (every period the marts were built from)", bold=True)
    top = row + 1
    headers = ["Period", "File", "SHA-256", "Extract", "Status"]
    write_table(ws, top, headers, "InputFiles")
    row = top
    for file in data.files:
        row += 1
        for column, key in enumerate(["period", "file_name", "sha256", "extract", "status"], start=1):
            put(ws, row, column, file[key])
    add_table(ws, top, row, len(headers), "InputFiles")
    format_sheet(ws, DEFINITION_WIDTHS, header_row=TITLE_ROWS + 2, freeze=f"A{TITLE_ROWS + 3}")


# --- the workbook ----------------------------------------------------------------------------


def write_workbook(marts_path: Path, out_path: Path, *, period: Quarter, settings: Settings) -> Path:
    """Write the board workbook for ``period`` from the marts; returns ``out_path``.

    Written beside ``out_path`` and renamed into place, so a failure never leaves half a file.
    """
    marts_path, out_path = Path(marts_path), Path(out_path)
    if not marts_path.exists():
        raise FileNotFoundError(f"no marts database at {marts_path}: run `pmf refresh` first")
    data = read_marts(marts_path, period, settings)

    workbook = Workbook()
    workbook.properties.creator = "pmf"
    workbook.properties.title = f"{settings.board_name}: PMF {period.label}"
    summary = workbook.active
    summary.title = "Summary"
    write_summary(summary, data, settings)

    sections: dict[tuple[str, str], list[dict]] = {}
    for status in data.lines:
        if status["indicator_code"] and status["indicator_code"] in data.definitions:
            sections.setdefault((status["plan"], status["section"]), []).append(status)
    taken = set(FIXED_SHEETS)
    for number, ((plan, section), statuses) in enumerate(sections.items(), start=1):
        title = sheet_title(plan, section, taken)
        taken.add(title)
        label = section if plan == "work_plan" else f"SCR action plan, {section}"
        write_section(workbook.create_sheet(title), label, statuses, data, settings, f"Section{number}")

    write_charts(workbook.create_sheet("Charts"), data, settings)
    write_data_quality(workbook.create_sheet("Data quality"), data, settings)
    write_definitions(workbook.create_sheet("Definitions"), data, settings)
    workbook.active = 0

    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(f".{out_path.name}.partial")
    try:
        workbook.save(partial)
        os.replace(partial, out_path)
    finally:
        partial.unlink(missing_ok=True)
    return out_path


__all__ = ["SUPPRESSED_VALUE", "Suppressed", "plan_line_sort_key", "shown_count", "suppress", "write_workbook"]
