"""Reading the board workbook back as a board member reads it: an Excel table's rows by its header
cells, a line's row on the Summary, Overview or a section sheet, the Charts sheet's data, and
what a reader sees of a figure (tests/test_workbook*.py)."""

from __future__ import annotations

from openpyxl.utils import range_boundaries

from pipelines.board.layout import REVISED_MARK, table_name
from workbook_fixtures import LINES


def table_rows(ws, name: str) -> list[dict]:
    """The rows of an Excel table as dicts keyed by its header cells."""
    min_col, min_row, max_col, max_row = range_boundaries(ws.tables[name].ref)
    rows = list(ws.iter_rows(min_row=min_row, max_row=max_row, min_col=min_col, max_col=max_col))
    headers = [cell.value for cell in rows[0]]
    return [{header: cell for header, cell in zip(headers, row, strict=True)} for row in rows[1:]]


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def values(rows: list[dict]) -> list[dict]:
    return [{header: cell.value for header, cell in row.items()} for row in rows]


def summary_row(workbook, line_id: str, indicator: str | None = None) -> dict:
    matches = [
        row for row in table_rows(workbook["Summary"], "SummaryLines")
        if row["Line"].value == line_id and (indicator is None or str(row["Indicator"].value).startswith(indicator))
    ]
    assert len(matches) == 1, (line_id, indicator)
    return matches[0]


def line_table(ws, line_id: str, indicator: str, kind: str) -> str:
    """The name of a priority sheet's Status or History table for one line x indicator."""
    suffix = "_" + table_name(line_id, indicator, kind)
    names = [name for name in ws.tables if name.endswith(suffix)]
    assert len(names) == 1, (ws.title, line_id, indicator, kind, list(ws.tables))
    return names[0]


def lines_of(indicator: str) -> list[str]:
    return [line[0] for line in LINES if line[3] == indicator]


def history_row(workbook, sheet: str, indicator: str, quarter: str, line_id: str | None = None) -> dict:
    ws = workbook[sheet]
    name = line_table(ws, line_id or lines_of(indicator)[0], indicator, "History")
    matches = [row for row in table_rows(ws, name) if row["Quarter"].value == quarter]
    assert len(matches) == 1
    return matches[0]


def status_row(workbook, sheet: str, line_id: str, indicator: str) -> dict:
    rows = table_rows(workbook[sheet], line_table(workbook[sheet], line_id, indicator, "Status"))
    assert len(rows) == 1
    return rows[0]


def overview_row(workbook, line_id: str, indicator: str) -> dict:
    matches = [row for row in table_rows(workbook["Overview"], "OverviewLines")
               if row["Line"].value == line_id and row["Indicator"].value.startswith(f"{indicator} ")]
    assert len(matches) == 1, (line_id, indicator)
    return matches[0]


def rag_counts(ws, name: str) -> dict[str, tuple]:
    return {row["Section"]: (row["Green"], row["Amber"], row["Red"], row["Grey"], row["Total"])
            for row in values(table_rows(ws, name))}


def displayed(cell) -> str:
    """What a reader sees of a shown figure: its text, with the revised mark the format adds."""
    mark = f' {REVISED_MARK}"'
    return f"{cell.value}{' ' + REVISED_MARK if cell.number_format.endswith(mark) else ''}"


def fill_of(cell) -> tuple[str | None, str | None]:
    return cell.fill.fill_type, cell.fill.fgColor.rgb


def legend_fills(workbook) -> dict[str, tuple]:
    """Each RAG colour as the workbook's own key shows it: in the Summary's RAG counts every
    count cell carries the colour of its column (Green, Amber, Red, Grey)."""
    rows = table_rows(workbook["Summary"], "SummaryRagCounts")
    fills = {}
    for rag in ("green", "amber", "red", "grey"):
        shown = {fill_of(row[rag.capitalize()]) for row in rows}
        assert len(shown) == 1, (rag, shown)
        fills[rag] = shown.pop()
    return fills


def chart_table(ws, code: str) -> dict[str, dict]:
    """The Charts sheet's data for one indicator: quarter -> row (by header)."""
    return {row["Quarter"]: row for row in values(table_rows(ws, f"Chart_{code}"))}


def series_headers(ws, chart) -> list[str]:
    """The header cell each series takes its name from."""
    names = []
    for series in chart.series:
        sheet, cell = series.tx.strRef.f.split("!")
        min_col, min_row, _, _ = range_boundaries(cell.replace("$", ""))
        names.append(ws.cell(row=min_row, column=min_col).value)
    return names


def series_points(ws, series) -> dict[str, object]:
    """The cells a series plots, by the quarter of their row (the Quarter column of the table
    that holds them)."""
    column, first, _, last = range_boundaries(series.val.numRef.f.split("!")[1].replace("$", ""))

    def holds_the_cells(ref: str) -> bool:
        left, header, right, bottom = range_boundaries(ref)
        return left <= column <= right and header < first <= last <= bottom

    (table,) = [name for name, ref in ws.tables.items() if holds_the_cells(ref)]  # TableList.items(): (name, ref)
    quarters = {row["Quarter"].row: row["Quarter"].value for row in table_rows(ws, table)}
    return {quarters[r]: ws.cell(row=r, column=column).value for r in range(first, last + 1)}


def number(shown) -> int | None:
    return shown if is_number(shown) else None
