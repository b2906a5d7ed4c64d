"""The Charts sheet: a native Excel line chart per indicator beside its data (an Excel table).

Each chart shows the board LA's value with its 95% interval, the SPC mean and process limits
of the series (indicators.md, SPC) and the Tees figure, over every quarter up to the pack's
(at most ``MAX_QUARTERS``). Suppressed points are left blank, so the charts do not show them;
the SPC lines are left out when a point of the series is suppressed (the mean would give it
away) or when the marts have no SPC.
"""

from __future__ import annotations

from openpyxl.chart import LineChart, Reference
from openpyxl.chart.text import RichText, Text
from openpyxl.chart.title import Title
from openpyxl.drawing.text import CharacterProperties, Paragraph, ParagraphProperties, RegularTextRun
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from pipelines.board.layout import (
    NUMBER_FORMATS,
    TITLE_ROWS,
    add_table,
    format_sheet,
    indicator_text,
    is_number,
    keep_blocks_together,
    measure_text,
    put,
    table_name,
    unit_text,
    write_header,
    write_titles,
)
from pipelines.board.marts import TEES, MartsExtract
from pipelines.config import Settings
from pipelines.periods import Quarter, quarter_range

MAX_QUARTERS = 20
CHART_ROWS = 20  # the chart's height in rows (9 cm)
DATA_WIDTHS = [10, 12, 10, 10, 10, 10, 10, 10, 34]
CHART_COLUMN = len(DATA_WIDTHS) + 2
CHART_WIDTH_COLUMNS = 11  # of the default width, for the page-scale estimate
# (colour, dash, width in EMU, marker) per series: value, lower 95%, upper 95%, SPC mean, lower and
# upper process limits, Tees
SERIES_STYLES = [
    ("1F4E78", None, 28575, "circle"),
    ("8EA9DB", "dash", 12700, None),
    ("8EA9DB", "dash", 12700, None),
    ("548235", None, 15875, None),
    ("7F7F7F", "sysDash", 12700, None),
    ("7F7F7F", "sysDash", 12700, None),
    ("C65911", "sysDot", 19050, "diamond"),
]


def chart_headers(board_name: str) -> list[str]:
    return ["Quarter", board_name, "Lower 95%", "Upper 95%", "SPC mean", "Lower process limit",
            "Upper process limit", "Tees", "Note"]


def chart_quarters(data: MartsExtract, code: str) -> list[str]:
    periods = [Quarter.parse(period) for (c, la, period) in data.values if c == code and la == data.board]
    first = max(min(periods, default=data.period), data.period.shift(1 - MAX_QUARTERS))
    return [quarter.label for quarter in quarter_range(min(first, data.period), data.period)]


def write_charts(ws: Worksheet, data: MartsExtract, settings: Settings) -> None:
    write_titles(ws, "indicator charts", data, settings,
                 note="Suppressed values (c) are left blank, so the charts do not show them. SPC: the mean and process "
                      "limits (mean ± 2.66 × average moving range) of the series up to this quarter.")
    board = data.board
    headers = chart_headers(settings.la_name(board))
    row = TITLE_ROWS + 2
    blocks = []
    for code, definition in data.definitions.items():
        first = row
        put(ws, row, 1, f"{indicator_text(definition)} ({measure_text(definition)})", bold=True)
        quarters = chart_quarters(data, code)
        header = row + 1
        write_header(ws, header, headers)
        limits = data.spc_limits(code, board) if data.has_spc else None
        for offset, quarter in enumerate(quarters, start=1):
            _write_point(ws, header + offset, data, code, definition["unit"], quarter, limits)
        last = header + len(quarters)
        add_table(ws, header, last, len(headers), table_name("Chart", code))
        ws.add_chart(line_chart(ws, definition, header, last), f"{get_column_letter(CHART_COLUMN)}{first}")
        row = first + max(CHART_ROWS, last - first + 1) + 1
        blocks.append((first, row - 1))
        _spc_note(ws, last + 1, data, code)
    widths = [*DATA_WIDTHS, 2] + [8.43] * CHART_WIDTH_COLUMNS
    format_sheet(ws, widths[: len(DATA_WIDTHS) + 1], title_rows=TITLE_ROWS, freeze=f"A{TITLE_ROWS + 1}")
    keep_blocks_together(ws, blocks, widths, TITLE_ROWS)


def _spc_note(ws: Worksheet, row: int, data: MartsExtract, code: str) -> None:
    if not data.has_spc:
        text = "No SPC: the marts have no indicator_spc table."
    elif (code, data.board) in data.hidden_spc:
        text = "SPC mean and limits not shown: a point of the series is suppressed (c)."
    elif data.spc_limits(code, data.board) is None:
        text = "SPC: too few points for process limits (12 are needed)."
    else:
        return
    put(ws, row, 1, text, font_colour="7F7F7F")


def _write_point(ws: Worksheet, row: int, data: MartsExtract, code: str, unit: str, quarter: str,
                 limits: dict | None) -> None:
    """One quarter: numbers or blanks only in the charted columns (text would plot as 0)."""
    board = data.board
    value_row = data.value_row(code, board, quarter) or {}
    hidden = data.figure(code, board, quarter).is_value_hidden
    tees = data.tees_row(code, quarter) or {}
    in_series = (code, board, quarter) in data.spc
    points = [
        None if hidden else value_row.get("value"),
        None if hidden else value_row.get("ci_lower"),
        None if hidden else value_row.get("ci_upper"),
        limits.get("mean") if limits and in_series else None,
        limits.get("lower_limit") if limits and in_series else None,
        limits.get("upper_limit") if limits and in_series else None,
        None if data.figure(code, TEES, quarter).is_value_hidden else tees.get("comparator_value"),
    ]
    put(ws, row, 1, quarter)
    for column, number in enumerate(points, start=2):
        put(ws, row, column, float(number) if is_number(number) else None, number_format=NUMBER_FORMATS[unit])
    notes = []
    if hidden and is_number(value_row.get("value")):
        notes.append("c – suppressed (small numbers)")
    elif value_row.get("status_reason"):
        notes.append(value_row["status_reason"])
    revision = data.revision(code, board, quarter)
    if revision is not None:
        notes.append("r – revised since the last refresh")
    put(ws, row, len(points) + 2, "; ".join(notes) or None)


def chart_title(text: str, size: int = 1100) -> Title:
    """A chart title in a modest bold font (openpyxl's default title is large)."""
    properties = CharacterProperties(sz=size, b=True)
    paragraph = Paragraph(pPr=ParagraphProperties(defRPr=properties), r=[RegularTextRun(rPr=properties, t=text)])
    return Title(tx=Text(rich=RichText(p=[paragraph])), overlay=False)


def line_chart(ws: Worksheet, definition: dict, header_row: int, last_row: int) -> LineChart:
    chart = LineChart()
    chart.title = chart_title(f"{definition['indicator_code']}: {definition['title']}")
    chart.y_axis.title = unit_text(definition)
    chart.x_axis.title = "Quarter"
    chart.x_axis.delete = False  # openpyxl hides axes by default in recent Excel otherwise
    chart.y_axis.delete = False
    chart.y_axis.number_format = NUMBER_FORMATS[definition["unit"]]
    chart.display_blanks = "gap"
    chart.height, chart.width = 9, 17
    chart.legend.position = "b"
    chart.add_data(Reference(ws, min_col=2, max_col=1 + len(SERIES_STYLES), min_row=header_row, max_row=last_row),
                   titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=header_row + 1, max_row=last_row))
    for series, (colour, dash, width, marker) in zip(chart.series, SERIES_STYLES, strict=True):
        series.smooth = False
        series.graphicalProperties.line.solidFill = colour
        series.graphicalProperties.line.width = width
        if dash:
            series.graphicalProperties.line.dashStyle = dash
        if marker:
            series.marker.symbol = marker
            series.marker.size = 6
            series.marker.graphicalProperties.solidFill = colour
            series.marker.graphicalProperties.line.solidFill = colour
        else:
            series.marker.symbol = "none"
    return chart
