"""The Definitions sheet: every indicator's definition, unit, polarity and sources; the methods
(intervals, status, SPC, the Tees comparison, revisions, small numbers); the input files."""

from __future__ import annotations

from openpyxl.worksheet.worksheet import Worksheet

from pipelines.board.layout import (
    LINE_HEIGHT_POINTS,
    POLARITY_WORDS,
    REVISED_MARK,
    TITLE_ROWS,
    add_table,
    format_sheet,
    put,
    wrapped_line_count,
    write_header,
    write_titles,
)
from pipelines.board.marts import MartsExtract
from pipelines.config import Settings

DEFINITION_HEADERS = ["Code", "Title", "Definition", "Unit", "Polarity", "Sources", "Interval method", "Evidence for"]
DEFINITION_WIDTHS = [16, 34, 70, 18, 16, 28, 28, 14]

def methods_notes(data: MartsExtract, settings: Settings) -> list[tuple[str, str]]:
    below = settings.suppress_counts_below
    extracts = sorted({source.strip() for row in data.definitions.values()
                       for source in (row["sources"] or "").split(",") if source.strip()})
    comparators = ", ".join(f"{settings.la_name(code)} ({code})" for code in data.comparators)
    tees = ", ".join(settings.la_name(code) for code in [data.board, *data.comparators])
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
                          "charts. 0 is shown as 0. Secondary suppression: no shown figure lets a suppressed count be "
                          "worked out from others (received = staged + quarantined, totals, a percentage's "
                          "numerator and the rest of its denominator, the Tees count as the sum of the four LAs'): "
                          "where it could, the next-smallest figure is suppressed too and shown as c. An SPC mean and "
                          "limits are not shown when a point of the series is suppressed. The marts keep the exact "
                          "figures."),
        ("SPC", "Statistical process control (NHS England, Making Data Count, XmR): the mean of the series of "
                "quarterly values up to this quarter and process limits at the mean ± 2.66 × the average moving "
                "range (12 points or more). Special cause: a point outside the limits, a trend of 7 rising or "
                "falling points, 2 of 3 beyond two-thirds of the way to a limit, or a shift of 7 points on one "
                "side of the mean; improvement or concern by the indicator's polarity. Common cause: none of "
                "these. The status asks 'has it moved since the plans began?', SPC 'is the latest quarter unusual "
                "against the series' own variation?'."),
        ("Tees comparison", "The Tees figure sums the numerators and denominators of the Tees LAs "
                            f"({tees}) and takes the indicator's interval method. Similar when the Tees value lies "
                            "within the LA's 95% interval (ends included), else better or worse by polarity. A line "
                            "is red-red when its LA is worse than Tees and its direction of travel is worsening."),
        ("Revisions", f"A figure that changed since the last published refresh (late or resubmitted records) is "
                      f"marked {REVISED_MARK} wherever it appears, and the cell's note gives the previous figure "
                      "(under the same small-number rule)."),
        ("Data sources", "Quarterly extracts from the partner agencies (Cleveland Police, the Tees local "
                         "authorities' children's services, health providers): " + ", ".join(extracts) + ". "
                         "Rates per 10,000 use ONS mid-year population estimates. Input files are listed below."),
        ("Areas", f"Board: {settings.la_name(settings.board_la_code)} ({settings.board_la_code}). "
                  f"Comparators: {comparators}."),
        ("Generated", f"{data.generated_at:%d %b %Y %H:%M} UTC, for {data.period.label}, from the PMF marts"
                      + (f" of refresh {data.run_id}." if data.run_id else ".")),
        *([("Not in these marts", " ".join(data.notes()))] if data.notes() else []),
    ]

def write_definitions(ws: Worksheet, data: MartsExtract, settings: Settings) -> None:
    write_titles(ws, "definitions and methods", data, settings)
    top = TITLE_ROWS + 2
    write_header(ws, top, DEFINITION_HEADERS)
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
    put(ws, row, 1, f"Input files for {data.period.label} (every period's: the data_quality table in the marts)",
        bold=True)
    top = row + 1
    headers = ["Period", "File", "SHA-256", "Extract", "Status"]
    write_header(ws, top, headers)
    row = top
    for file in [file for file in data.files if file["period"] in (data.period.label, data.period.folder_id)]:
        row += 1
        for column, key in enumerate(["period", "file_name", "sha256", "extract", "status"], start=1):
            put(ws, row, column, file[key])
    add_table(ws, top, row, len(headers), "InputFiles")
    format_sheet(ws, DEFINITION_WIDTHS, title_rows=TITLE_ROWS, freeze=f"A{TITLE_ROWS + 3}")

