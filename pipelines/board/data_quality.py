"""The Data quality sheet: the period's files (rows received, staged, quarantined) and the
quarantined rows by extract and rule, with secondary suppression across both tables
(``suppression.protect_data_quality``): staged = received − quarantined cannot undo a ``<5``."""

from __future__ import annotations

from openpyxl.worksheet.worksheet import Worksheet

from pipelines.board.layout import TITLE_ROWS, add_table, format_sheet, put, put_count, write_header, write_titles
from pipelines.board.marts import MartsExtract
from pipelines.board.suppression import FILE_COUNTS, protect_data_quality
from pipelines.config import Settings

DQ_HEADERS = ["Extract", "File", "Status", "Rows received", "Rows staged", "Rows quarantined", "Message"]
QUARANTINE_HEADERS = ["Extract", "Rule", "Columns", "Rows quarantined"]
DQ_WIDTHS = [26, 36, 22, 12, 12, 12, 60]


def write_data_quality(ws: Worksheet, data: MartsExtract, settings: Settings) -> None:
    below = settings.suppress_counts_below
    write_titles(ws, "data quality", data, settings,
                 note=f"Counts of 1 to {below - 1} are shown as <{below}; c = suppressed so that a <{below} cannot be "
                      "worked out from the other counts (by subtraction or from a total). Exact counts are in the "
                      "marts (data_quality, quarantine).")
    files = [row for row in data.files if row["period"] in (data.period.label, data.period.folder_id)]
    rules = data.quarantine_counts
    shown = protect_data_quality(files, rules, below=below)
    top = TITLE_ROWS + 2
    put(ws, top - 1, 1, f"Files received for {data.period.label}", bold=True)
    write_header(ws, top, DQ_HEADERS)
    row = top
    for index, file in enumerate(files):
        row += 1
        put(ws, row, 1, file["extract"])
        put(ws, row, 2, file["file_name"], wrap=True)
        put(ws, row, 3, file["status"], bold=file["status"] != "accepted")
        for column, key in enumerate(FILE_COUNTS, start=4):
            put_count(ws, row, column, shown.display(("file", index, key)))
        put(ws, row, 7, file["message"] or None, wrap=True)
    if not files:
        row += 1
        put(ws, row, 1, f"No files recorded for {data.period.label}.")
    row += 1
    put(ws, row, 1, f"Total ({len(files)} files)", bold=True)
    for column, key in enumerate(FILE_COUNTS, start=4):
        put_count(ws, row, column, shown.display(("total", key)), bold=True)
    add_table(ws, top, row, len(DQ_HEADERS), "DataQualityFiles")

    top = row + 3
    put(ws, top - 1, 1, f"Quarantined rows in {data.period.label} by extract and rule", bold=True)
    write_header(ws, top, QUARANTINE_HEADERS)
    row = top
    for index, count in enumerate(rules):
        row += 1
        put(ws, row, 1, count["extract"])
        put(ws, row, 2, count["rule"], wrap=True)
        put(ws, row, 3, count["column_names"], wrap=True)
        put_count(ws, row, 4, shown.display(("rule", index)))
    if not rules:
        row += 1
        put(ws, row, 1, "No rows quarantined in this period.")
    else:
        row += 1
        put(ws, row, 1, "Total", bold=True)
        put_count(ws, row, 4, shown.display(("rules total",)), bold=True)
    add_table(ws, top, row, len(QUARANTINE_HEADERS), "QuarantineByRule")
    format_sheet(ws, DQ_WIDTHS, title_rows=TITLE_ROWS, freeze=f"A{TITLE_ROWS + 3}")
