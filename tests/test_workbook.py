"""The board workbook: written from small synthetic marts (tests/workbook_fixtures.py), read back
with openpyxl and checked cell by cell, by table and column name."""

from __future__ import annotations

import csv
import random
import re
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import range_boundaries

from pipelines.board import write_workbook
from pipelines.board.layout import REVISED_MARK, sheet_title, table_name
from pipelines.board.marts import plan_line_sort_key
from pipelines.board.suppression import SECONDARY as SUPPRESSED_VALUE
from pipelines.config import Settings
from pipelines.indicators import load_registry
from pipelines.periods import Quarter
from repo_paths import REFERENCE_DIR
from workbook_fixtures import (  # tests/ is on sys.path under pytest (rootdir, no package)
    BOARD,
    COUNT_OVERRIDES,
    DATA_QUALITY,
    FINISHED_AT,
    LINE_V2,
    LINES,
    NOT_RECEIVED_REASON,
    PERIOD,
    PREVIOUS_RUN_ID,
    REVISIONS,
    build_marts,
)

INDICATOR_COUNT = len(load_registry())  # one chart, one definition per indicator of the registry


# --- plan order and sheet names --------------------------------------------------------------


def test_plan_line_sort_key_reproduces_the_reference_plan_order():
    with open(REFERENCE_DIR / "work_plan.csv", encoding="utf-8") as handle:
        lines = [(row["plan"], row["line_id"]) for row in csv.DictReader(handle)]
    shuffled = lines[:]
    random.Random(1).shuffle(shuffled)
    assert sorted(shuffled, key=lambda line: plan_line_sort_key(*line)) == lines


def test_sheet_titles_are_valid_and_unique():
    taken = {"Summary", "Charts"}
    assert sheet_title("work_plan", "Priority 1: Addressing the impact of Neglect", taken) == "Priority 1"
    assert sheet_title("scr_action_plan", "Finding 3", taken) == "SCR Finding 3"
    long = sheet_title("work_plan", "A very long section name with [brackets] / slashes * and more words", taken)
    assert len(long) <= 31 and not re.search(r"[\[\]:*?/\\]", long)
    assert sheet_title("work_plan", "charts", taken) == "charts (2)"


# --- the workbook ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("marts")
    marts = build_marts(folder / "pmf.duckdb")
    return write_workbook(marts, folder / "board" / f"HSCB-PMF-{PERIOD.folder_id}.xlsx", period=PERIOD,
                          settings=Settings())


@pytest.fixture(scope="module")
def book(written) -> openpyxl.Workbook:
    return openpyxl.load_workbook(written)


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


def summary_row(book, line_id: str, indicator: str | None = None) -> dict:
    matches = [
        row for row in table_rows(book["Summary"], "SummaryLines")
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


def history_row(book, sheet: str, indicator: str, quarter: str, line_id: str | None = None) -> dict:
    ws = book[sheet]
    name = line_table(ws, line_id or lines_of(indicator)[0], indicator, "History")
    matches = [row for row in table_rows(ws, name) if row["Quarter"].value == quarter]
    assert len(matches) == 1
    return matches[0]


def status_row(book, sheet: str, line_id: str, indicator: str) -> dict:
    rows = table_rows(book[sheet], line_table(book[sheet], line_id, indicator, "Status"))
    assert len(rows) == 1
    return rows[0]


def overview_row(book, line_id: str, indicator: str) -> dict:
    matches = [row for row in table_rows(book["Overview"], "OverviewLines")
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


def test_file_is_written_in_place_and_named_for_the_period(written):
    assert written.name == "HSCB-PMF-2018-19-Q3.xlsx"
    assert [path.name for path in written.parent.iterdir()] == [written.name]  # no partial file left


def test_sheets(book):
    assert book.sheetnames == ["Overview", "Summary", "Priority 1", "Priority 2", "SCR Success criteria", "Charts",
                               "Data quality", "Definitions"]
    assert book.active.title == "Overview"


def test_every_plan_line_is_on_the_summary_in_plan_order(book):
    rows = table_rows(book["Summary"], "SummaryLines")
    shown = [(row["Line"].value, (row["Indicator"].value or "").split(" – ")[0] or None) for row in rows]
    assert shown == [(line[0], line[3]) for line in LINES]  # the fixture's lines are in plan order


def fill_of(cell) -> tuple[str | None, str | None]:
    return cell.fill.fill_type, cell.fill.fgColor.rgb


def legend_fills(book) -> dict[str, tuple]:
    """Each RAG colour as the workbook's own key shows it: in the Summary's RAG counts every
    count cell carries the colour of its column (Green, Amber, Red, Grey)."""
    rows = table_rows(book["Summary"], "SummaryRagCounts")
    fills = {}
    for rag in ("green", "amber", "red", "grey"):
        shown = {fill_of(row[rag.capitalize()]) for row in rows}
        assert len(shown) == 1, (rag, shown)
        fills[rag] = shown.pop()
    return fills


@pytest.mark.parametrize(
    ("line_id", "indicator", "text", "rag"),
    [
        ("1.1.4", "MARAC", "Green – improved", "green"),
        ("1.1.5", "LSCB11b", "Amber – no significant change", "amber"),
        ("1.2.4", "LSCB11e", "Red – worsened", "red"),
        ("1.4.1", "SM_COMPLETIONS", "Grey – no data", "grey"),
        ("1.2.1", None, "Red – reported by lead", "red"),
        ("3.1.1", None, "Grey – reported by lead", "grey"),
    ],
)
def test_rag_is_spelled_out_and_filled_as_the_key_shows(book, line_id, indicator, text, rag):
    cell = summary_row(book, line_id, indicator)["RAG"]
    assert cell.value == text
    assert fill_of(cell) == legend_fills(book)[rag]


def test_the_four_rag_colours_are_solid_distinct_fills_and_every_status_cell_uses_its_own(book):
    legend = legend_fills(book)
    assert all(fill_type == "solid" for fill_type, _ in legend.values())
    assert len({rgb for _, rgb in legend.values()}) == 4  # a reader can tell the statuses apart
    cells = [row["RAG"] for row in table_rows(book["Summary"], "SummaryLines")]
    cells += [row["RAG"] for row in table_rows(book["Overview"], "OverviewLines")]
    cells += [row["Status"] for ws in book for name in ws.tables if name.endswith("_Status")
              for row in table_rows(ws, name)]  # the section sheets' status rows
    assert len(cells) == len(LINES) + 2 * len([line for line in LINES if line[3]])
    for cell in cells:
        rag = cell.value.split(" – ")[0].lower()
        assert fill_of(cell) == legend[rag], (cell.parent.title, cell.coordinate, cell.value)


@pytest.mark.parametrize(
    ("line_id", "indicator", "expected"),
    [
        ("1.1.4", "MARAC", "↑ improving"),  # higher is better: improving goes up
        ("2.1.8", "LSCB21", "↓ improving"),  # lower is better: improving goes down
        ("1.1.5", "LSCB11b", "↑ worsening"),  # lower is better: worsening goes up
        ("SCR-S4", "CPP_NEGLECT", "↑ worsening"),
        ("1.2.4", "LSCB11e", "→ no significant change"),
        ("1.4.1", "SM_COMPLETIONS", "no data"),
        ("1.2.1", None, None),
    ],
)
def test_direction_of_travel_arrow_and_word(book, line_id, indicator, expected):
    assert summary_row(book, line_id, indicator)["Direction of travel"].value == expected


def test_due_dates_and_overdue_marker(book):
    assert summary_row(book, "1.1.5")["Due"].value == datetime(2018, 9, 30)
    assert summary_row(book, "1.1.5")["Due"].number_format == "dd mmm yyyy"
    assert summary_row(book, "1.1.5")["Overdue"].value == "Overdue"
    assert summary_row(book, "1.2.4")["Overdue"].value is None
    assert summary_row(book, "1.1.4")["Due"].value == "Ongoing"
    assert summary_row(book, "3.1.1")["Due"].value == "Continuous"
    assert summary_row(book, "2.2.3", "LSCB19")["Overdue"].value == "Overdue"
    assert summary_row(book, "2.2.3", "RHI72")["Overdue"].value is None
    assert summary_row(book, "1.2.1")["Lead commentary"].value == "Refuge places reduced."


def test_latest_values_formatted_by_unit(book):
    percent = summary_row(book, "1.6.1")["Latest value"]
    rate = summary_row(book, "1.1.5")["Latest value"]
    assert is_number(percent.value) and percent.number_format == '0.0"%"'
    assert is_number(rate.value) and rate.number_format == "0.0"
    assert summary_row(book, "1.1.5")["Unit"].value == "per 10,000 aged 0-17"


def test_rag_counts_by_section(book):
    counts = {values["Section"]: values for values in values(table_rows(book["Summary"], "SummaryRagCounts"))}
    by_section = {section: (row["Green"], row["Amber"], row["Red"], row["Grey"], row["Total"])
                  for section, row in counts.items()}
    assert by_section["Priority 1: Addressing the impact of Neglect"] == (1, 2, 2, 1, 6)
    assert by_section["Priority 2: Reducing Child Sexual Exploitation"] == (2, 2, 0, 0, 4)  # 2.2.3 counts twice
    assert by_section["Finding 1"] == (1, 0, 0, 0, 1)
    assert by_section["All lines"] == (5, 4, 3, 2, 14)
    assert counts["Finding 1"]["Plan"] == "SCR action plan"


def test_a_count_of_3_and_its_percentage_are_suppressed_everywhere(book):
    assert summary_row(book, "1.1.4")["Latest value"].value == SUPPRESSED_VALUE
    assert overview_row(book, "1.1.4", "MARAC")["Latest value"].value == SUPPRESSED_VALUE
    status = status_row(book, "Priority 1", "1.1.4", "MARAC")
    assert status["Latest value"].value == SUPPRESSED_VALUE
    assert status["95% interval"].value == SUPPRESSED_VALUE
    history = history_row(book, "Priority 1", "MARAC", PERIOD.label)
    assert (history["Numerator"].value, history["Denominator"].value) == ("<5", 41)
    assert (history["Value"].value, history["95% interval"].value) == ("c", "c")
    assert history["Middlesbrough"].value == SUPPRESSED_VALUE  # comparator with a count of 2
    assert is_number(history["Stockton-on-Tees"].value)


def test_counts_of_0_and_5_are_shown_as_they_are(book):
    history = history_row(book, "Priority 1", "LSCB11e", PERIOD.label)
    assert (history["Numerator"].value, history["Denominator"].value, history["Value"].value) == (0, 5, 0.0)
    assert history["Value"].number_format == '0.0"%"'
    assert summary_row(book, "1.2.4")["Latest value"].value == 0.0


def test_small_denominator_of_a_percentage_and_small_numerator_of_a_rate(book):
    history = history_row(book, "Priority 1", "SM_COMPLETIONS", PERIOD.label)
    assert (history["Numerator"].value, history["Denominator"].value, history["Value"].value) == (0, "<5", "c")
    rate = history_row(book, "SCR Success criteria", "CPP_NEGLECT", PERIOD.label)
    assert (rate["Numerator"].value, rate["Denominator"].value, rate["Value"].value) == ("<5", 20_000, "c")
    assert summary_row(book, "SCR-S4")["Latest value"].value == SUPPRESSED_VALUE


LEAKED_TEXT = re.compile(r"(?<![\d.])(7\.3|2\.3|12\.3|1\.5|6\.5|6\.7|1\.7|11\.7)(?![\d.])")


def test_suppressed_figures_appear_nowhere(book, written):
    # MARAC 3/41 = 7.32% (2.32-12.32), CPP 3/20000 = 1.5 (0-6.5), Middlesbrough MARAC 2/30 = 6.67% (1.67-11.67);
    # none of these can occur among the fixture's other figures (percentages >= 15, rates >= 10).
    marac = 300 / 41
    leaked = {round(x, 6) for x in (marac, marac - 5, marac + 5, 1.5, 6.5, 200 / 30, 200 / 30 - 5, 200 / 30 + 5)}
    for ws in book:
        for row in ws.iter_rows():
            for cell in row:
                if is_number(cell.value):
                    assert round(cell.value, 6) not in leaked, (ws.title, cell.coordinate)
                if isinstance(cell.value, str):
                    assert not LEAKED_TEXT.search(cell.value), (ws.title, cell.coordinate)
                if cell.comment is not None:  # revision notes
                    assert not LEAKED_TEXT.search(cell.comment.text), (ws.title, cell.coordinate)
    with zipfile.ZipFile(written) as archive:
        for name in archive.namelist():
            if name.startswith("xl/charts/"):
                assert "numCache" not in archive.read(name).decode()  # charts carry no copies of the data


def test_history_has_the_last_8_quarters_with_notes(book):
    ws = book["Priority 1"]
    rows = table_rows(ws, line_table(ws, "1.6.1", "PMH_ACCESS", "History"))
    assert [row["Quarter"].value for row in rows] == [q.label for q in (PERIOD.shift(-n) for n in range(7, -1, -1))]
    not_received = history_row(book, "Priority 1", "PMH_ACCESS", "2018-19 Q2")
    assert not_received["Value"].value is None and not_received["Note"].value == NOT_RECEIVED_REASON
    incomplete = history_row(book, "Priority 2", "LSCB19", "2016-17 Q4")
    assert "history incomplete" in incomplete["Note"].value


def test_section_sheets_are_grouped_by_line_with_headings_and_a_commentary_box(book):
    ws = book["Priority 2"]
    groups = [name for name in ws.tables if name.endswith("_Status")]
    assert groups == [f"S2_{table_name('2.1.8', 'LSCB21', 'Status')}", f"S2_{table_name('2.2.3', 'LSCB19', 'Status')}",
                      f"S2_{table_name('2.2.3', 'RHI72', 'Status')}"]
    status = status_row(book, "Priority 2", "2.2.3", "RHI72")
    assert status["Status"].value == "Green – improved"
    assert fill_of(status["Status"]) == legend_fills(book)["green"]
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


def test_v2_readings_on_the_section_sheets(book):
    status = status_row(book, "Priority 1", "1.1.5", "LSCB11b")
    assert (status["SPC variation"].value, status["vs Tees"].value, status["Red-red"].value) == (
        "special cause concern", "worse", "Red-red")
    assert status_row(book, "Priority 1", "1.2.4", "LSCB11e")["Red-red"].value is None  # worse, not worsening
    history = history_row(book, "Priority 1", "LSCB11b", PERIOD.label)
    # the fixture's Tees figure: the four LAs' summed counts; its comparison is "similar"
    tees_numerator = sum(30 + 14 + la for la in range(4))
    assert history["Tees"].value == pytest.approx(10_000 * tees_numerator / 80_000)
    assert history["vs Tees"].value == "similar" and history["SPC variation"].value == "common cause"


def chart_table(ws, code: str) -> dict[str, dict]:
    """The Charts sheet's data for one indicator: quarter -> row (by header)."""
    return {row["Quarter"]: row for row in values(table_rows(ws, f"Chart_{code}"))}


def test_one_native_line_chart_per_indicator(book, written):
    ws = book["Charts"]
    assert len(ws._charts) == INDICATOR_COUNT
    assert all(type(chart).__name__ == "LineChart" for chart in ws._charts)
    with zipfile.ZipFile(written) as archive:
        charts = [name for name in archive.namelist() if re.match(r"xl/charts/chart\d+\.xml$", name)]
    assert len(charts) == INDICATOR_COUNT
    assert len([name for name in ws.tables if name.startswith("Chart_")]) == INDICATOR_COUNT


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


def test_charts_show_value_interval_spc_and_tees(book):
    ws = book["Charts"]
    chart = next(chart for chart in ws._charts if "LSCB11b" in str(chart.title.tx.rich.p[0].r[0].t))
    assert series_headers(ws, chart) == ["Hartlepool", "Lower 95%", "Upper 95%", "SPC mean", "Lower process limit",
                                         "Upper process limit", "Tees"]
    rows = chart_table(ws, "LSCB11b")
    latest = rows[PERIOD.label]
    value = 10_000 * (30 + 14) / 20_000  # the fixture's last quarter (index 14), board (index 0)
    assert latest["Hartlepool"] == pytest.approx(value)
    assert (latest["Lower 95%"], latest["Upper 95%"]) == (pytest.approx(value - 5), pytest.approx(value + 5))
    mean = sum(10_000 * (30 + q) / 20_000 for q in range(15)) / 15  # every quarter is in the series
    assert latest["SPC mean"] == pytest.approx(mean)
    assert (latest["Lower process limit"], latest["Upper process limit"]) == (pytest.approx(mean - 8),
                                                                              pytest.approx(mean + 8))
    assert latest["Tees"] == pytest.approx(10_000 * sum(30 + 14 + la for la in range(4)) / 80_000)
    assert len(rows) == 15


def test_charts_leave_suppressed_points_and_their_spc_blank(book):
    ws = book["Charts"]
    marac = chart_table(ws, "MARAC")
    latest = marac[PERIOD.label]
    assert (latest["Hartlepool"], latest["Lower 95%"], latest["Upper 95%"]) == (None, None, None)
    assert latest["Note"].startswith("c")
    assert is_number(marac["2018-19 Q2"]["Hartlepool"])
    # a point of the series is suppressed: the mean would give it away, so no SPC lines
    assert all(row["SPC mean"] is None and row["Upper process limit"] is None for row in marac.values())
    chart = next(chart for chart in ws._charts if "MARAC" in str(chart.title.tx.rich.p[0].r[0].t))
    points = series_points(ws, chart.series[0])
    assert max(points, key=Quarter.parse) == PERIOD.label and points[PERIOD.label] is None
    assert all(is_number(value) for quarter, value in points.items() if quarter != PERIOD.label)
    # nothing but numbers or blanks in the cells a chart plots (text would plot as 0)
    plotted = {header for chart in ws._charts for header in series_headers(ws, chart)}
    assert {"Hartlepool", "Tees", "SPC mean"} <= plotted
    for name in ws.tables:
        if name.startswith("Chart_"):
            for row in values(table_rows(ws, name)):
                assert all(row[key] is None or is_number(row[key]) for key in plotted), (name, row["Quarter"])
    for chart in ws._charts:
        for series in chart.series:
            assert all(value is None or is_number(value) for value in series_points(ws, series).values())


def test_data_quality_counts_for_the_period(book):
    ws = book["Data quality"]
    rows = values(table_rows(ws, "DataQualityFiles"))
    files = {row["Extract"]: row for row in rows if not row["Extract"].startswith("Total")}
    total = next(row for row in rows if row["Extract"] == "Total (3 files)")
    assert len(files) == 3  # the earlier period's file is not listed
    assert files["health_ae_attendances"]["Rows received"] == 0  # zeros are never suppressed
    assert files["police_da_incidents"]["Rows quarantined"] == "<5"
    assert total["Rows received"] == 1250
    rules = {(row["Extract"], row["Rule"]): row["Rows quarantined"]
             for row in values(table_rows(ws, "QuarantineByRule")) if row["Extract"] != "Total"}
    assert rules[("police_da_incidents", "unknown code")] == "<5"
    assert rules[("police_da_incidents", "unparseable date")] == "<5"


def number(shown) -> int | None:
    return shown if is_number(shown) else None


def test_no_suppressed_data_quality_count_can_be_worked_out(book):
    """The fixture's police file: 1000 received, 997 staged, 3 quarantined (2 + 1 by rule). Every
    way a reader could difference the sheet's shown numbers must fail to give a 1-4 count."""
    ws = book["Data quality"]
    rows = values(table_rows(ws, "DataQualityFiles"))
    files = [row for row in rows if not row["Extract"].startswith("Total")]
    total = next(row for row in rows if row["Extract"].startswith("Total"))
    rules = values(table_rows(ws, "QuarantineByRule"))
    rule_rows = [row for row in rules if row["Extract"] != "Total"]
    rules_total = next(row for row in rules if row["Extract"] == "Total")["Rows quarantined"]
    exact = {(extract, file_name): (received, staged, quarantined)
             for period, extract, file_name, received, staged, quarantined, _, _ in DATA_QUALITY
             if period == PERIOD.label}
    derived = []
    for row in [*files, total]:  # received = staged + quarantined
        received, staged, quarantined = (number(row[key]) for key in ("Rows received", "Rows staged",
                                                                      "Rows quarantined"))
        if received is not None and staged is not None:
            derived.append(received - staged)
        if received is not None and quarantined is not None:
            derived.append(received - quarantined)
    columns = ("Rows received", "Rows staged", "Rows quarantined")
    for column in columns:  # total = the sum of the files
        shown = [number(row[column]) for row in files]
        if number(total[column]) is not None and sum(value is None for value in shown) == 1:
            derived.append(number(total[column]) - sum(value for value in shown if value is not None))
    rule_counts = [number(row["Rows quarantined"]) for row in rule_rows]
    if number(rules_total) is not None and sum(value is None for value in rule_counts) == 1:
        derived.append(number(rules_total) - sum(value for value in rule_counts if value is not None))
    for file in files:  # a file's quarantined rows = its extract's rule counts
        counts = [number(row["Rows quarantined"]) for row in rule_rows if row["Extract"] == file["Extract"]]
        if number(file["Rows quarantined"]) is not None and sum(value is None for value in counts) == 1:
            derived.append(number(file["Rows quarantined"]) - sum(value for value in counts if value is not None))
        elif all(value is not None for value in counts) and file["Rows quarantined"] == "<5":
            derived.append(sum(counts))
    assert not [value for value in derived if 1 <= value <= 4], derived
    assert exact[("police_da_incidents", "police_da_incidents.csv")] == (1000, 997, 3)
    police = next(row for row in files if row["Extract"] == "police_da_incidents")
    assert police["Rows staged"] == SUPPRESSED_VALUE or police["Rows received"] == SUPPRESSED_VALUE


def test_the_tees_figure_cannot_give_away_a_suppressed_la(book):
    # CPP_NEGLECT, the pack's quarter: Hartlepool 3 of 20,000 (c); the other LAs 44-47 of 20,000.
    # Rates give their counts away (populations are public) and Tees sums them, so the smallest
    # other LA (Middlesbrough, 45) is suppressed as well.
    history = history_row(book, "SCR Success criteria", "CPP_NEGLECT", PERIOD.label)
    assert COUNT_OVERRIDES[("CPP_NEGLECT", BOARD, PERIOD.label)] == (3, 20_000)
    assert history["Value"].value == SUPPRESSED_VALUE
    assert history["Middlesbrough"].value == SUPPRESSED_VALUE
    shown = [history[name].value for name in ("Redcar and Cleveland", "Stockton-on-Tees", "Tees")]
    assert all(is_number(value) for value in shown)
    # what the reader can do with what is shown: Tees x 4 x 20,000 / 10,000 - the others
    others = sum(value * 2 for value in shown[:2])
    unknown_pair = shown[2] * 8 - others
    assert unknown_pair == pytest.approx(3 + 45)  # only the sum of the two hidden counts


def test_overview_lists_every_computed_line_with_its_readings(book):
    rows = table_rows(book["Overview"], "OverviewLines")
    assert [(row["Line"].value, row["Indicator"].value.split(" – ")[0]) for row in rows] == [
        (line[0], line[3]) for line in LINES if line[3]]
    for (line_id, indicator), (variation, comparison) in LINE_V2.items():
        row = overview_row(book, line_id, indicator)
        assert row["SPC variation"].value == variation
        assert row["vs Tees"].value == comparison
    assert overview_row(book, "1.1.5", "LSCB11b")["Red-red"].value == "Red-red"
    assert overview_row(book, "SCR-S4", "CPP_NEGLECT")["Red-red"].value == "Red-red"
    assert overview_row(book, "1.2.4", "LSCB11e")["Red-red"].value is None
    assert overview_row(book, "1.1.4", "MARAC")["RAG"].value == "Green – improved"
    assert overview_row(book, "1.1.5", "LSCB11b")["Direction of travel"].value == "↑ worsening"
    counts = rag_counts(book["Overview"], "OverviewRagCounts")
    assert counts["Priority 1: Addressing the impact of Neglect"] == (1, 2, 2, 1, 6)
    assert counts["SCR action plan: Success criteria"] == (1, 0, 1, 0, 2)
    assert counts["All lines"] == (5, 4, 3, 2, 14)


def test_revised_figures_are_marked_wherever_they_appear_with_the_previous_figure(book):
    # LSCB21, Hartlepool, the pack's quarter: previously 25 of 100 (25.0%), now 34 of 100.
    assert REVISIONS[("LSCB21", BOARD, PERIOD.label)] == (25, 100)
    note = f"previously 25.0% (numerator 25, denominator 100) in refresh {PREVIOUS_RUN_ID}"
    cells = [
        overview_row(book, "2.1.8", "LSCB21")["Latest value"],
        summary_row(book, "2.1.8")["Latest value"],
        status_row(book, "Priority 2", "2.1.8", "LSCB21")["Latest value"],
        history_row(book, "Priority 2", "LSCB21", PERIOD.label)["Value"],
        history_row(book, "Priority 2", "LSCB21", PERIOD.label)["Numerator"],
    ]
    for cell in cells:
        assert displayed(cell).endswith(" r"), cell.coordinate
        assert note in cell.comment.text
    assert history_row(book, "Priority 2", "LSCB21", PERIOD.label)["Denominator"].comment is None  # 100 both times
    assert overview_row(book, "2.1.8", "LSCB21")["Revised"].value == "r"
    assert overview_row(book, "1.1.5", "LSCB11b")["Revised"].value is None
    assert not displayed(history_row(book, "Priority 2", "LSCB21", "2018-19 Q2")["Value"]).endswith(" r")
    # a previous figure from a small count is itself suppressed in the note
    marac = history_row(book, "Priority 1", "MARAC", PERIOD.shift(-1).label)
    assert displayed(marac["Value"]).endswith(" r")
    assert "previously c (numerator <5, denominator 40)" in marac["Value"].comment.text
    # a comparator's revised figure
    rhi = history_row(book, "Priority 2", "RHI72", PERIOD.label)
    assert displayed(rhi["Stockton-on-Tees"]).endswith(" r") and "previously 40.0%" in rhi["Stockton-on-Tees"].comment.text
    assert "r – revised" in chart_table(book["Charts"], "LSCB21")[PERIOD.label]["Note"]


def test_marts_without_the_v2_tables_give_a_workbook_with_notes(tmp_path):
    marts = build_marts(tmp_path / "pmf.duckdb", with_v2=False)
    book = openpyxl.load_workbook(write_workbook(marts, tmp_path / "out.xlsx", period=PERIOD, settings=Settings()))
    row = overview_row(book, "1.1.5", "LSCB11b")
    assert (row["SPC variation"].value, row["vs Tees"].value, row["Red-red"].value, row["Revised"].value) == (
        None, None, None, None)
    text = " ".join(str(cell.value) for row in book["Overview"].iter_rows() for cell in row if cell.value)
    for table in ("indicator_spc", "indicator_benchmark", "indicator_revisions"):
        assert f"no {table} table" in text
    latest = chart_table(book["Charts"], "LSCB11b")[PERIOD.label]
    assert is_number(latest["Hartlepool"]) and latest["SPC mean"] is None and latest["Tees"] is None
    history = history_row(book, "Priority 1", "LSCB11b", PERIOD.label)
    assert history["Tees"].value is None and is_number(history["Value"].value)


def test_definitions_list_every_indicator_and_the_methods(book):
    ws = book["Definitions"]
    rows = values(table_rows(ws, "IndicatorDefinitions"))
    assert len(rows) == INDICATOR_COUNT
    by_code = {row["Code"]: row for row in rows}
    assert by_code["LSCB11b"]["Polarity"] == "lower is better"
    assert by_code["RHI72"]["Polarity"] == "higher is better"
    assert by_code["MARAC"]["Unit"] == "percent (%)"
    assert by_code["RISKY_CHILDREN"]["Unit"] == "per 10,000 aged 10-17"
    assert all(row["Definition"] and row["Sources"] and row["Interval method"] for row in rows)
    text = " ".join(str(cell) for row in ws.iter_rows(values_only=True) for cell in row if cell)
    for phrase in ("Wilson score interval", "Byar's method", "exact Poisson", "touch count as overlapping",
                   "shown as <5", "shown as c", "Generated"):
        assert phrase in text
    files = values(table_rows(ws, "InputFiles"))
    assert len(files) == 3 and all(len(row["SHA-256"]) == 64 for row in files)  # the pack's quarter's files
    assert {row["Period"] for row in files} == {PERIOD.label}


def test_generated_time_comes_from_the_refresh_log(book):
    assert f"Generated {FINISHED_AT:%d %b %Y %H:%M} UTC" in book["Summary"]["A2"].value


def test_generated_time_without_a_refresh_log_is_now(tmp_path):
    marts = build_marts(tmp_path / "pmf.duckdb", with_refresh_log=False)
    before = datetime.now(UTC).replace(second=0, microsecond=0)
    out = write_workbook(marts, tmp_path / "out.xlsx", period=PERIOD, settings=Settings())
    stamp = re.search(r"Generated (.+?) UTC", openpyxl.load_workbook(out)["Summary"]["A2"].value)[1]
    assert datetime.strptime(stamp, "%d %b %Y %H:%M").replace(tzinfo=UTC) >= before


def test_a_period_without_status_is_refused(tmp_path):
    marts = build_marts(tmp_path / "pmf.duckdb")
    with pytest.raises(ValueError, match="no work-plan status .* 2019-20 Q1"):
        write_workbook(marts, tmp_path / "out.xlsx", period=Quarter.parse("2019-20 Q1"), settings=Settings())
    assert not (tmp_path / "out.xlsx").exists()


def test_structure_opens_cleanly(book):
    """What Excel repairs: clashing or invalid table names, overlapping tables, bad sheet names."""
    names = [name for ws in book for name in ws.tables]
    assert len(names) == len(set(names)) and all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) for name in names)
    for ws in book:
        assert len(ws.title) <= 31 and not re.search(r"[\[\]:*?/\\]", ws.title)
        boxes = [range_boundaries(table.ref) for table in ws.tables.values()]
        for index, (left, top, right, bottom) in enumerate(boxes):
            assert bottom > top  # a header and at least one row
            headers = [ws.cell(row=top, column=column).value for column in range(left, right + 1)]
            assert all(isinstance(header, str) and header for header in headers) and len(set(headers)) == len(headers)
            for other in boxes[index + 1:]:
                assert other[1] > bottom or other[3] < top or other[0] > right or other[2] < left
        assert ws.freeze_panes is not None
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.print_title_rows
    assert not any(cell.data_type == "f" for ws in book for row in ws.iter_rows() for cell in row)


def test_board_la_is_configurable(tmp_path):
    marts = build_marts(tmp_path / "pmf.duckdb")
    settings = Settings(board_la_code="E06000002", comparator_la_codes=("E06000001",))
    # the fixture has computed statuses for every LA, lead lines only for E06000001
    out = write_workbook(marts, tmp_path / "out.xlsx", period=PERIOD, settings=settings)
    book = openpyxl.load_workbook(out)
    assert "Middlesbrough (E06000002)" in book["Summary"]["A2"].value
    history = history_row(book, "Priority 1", "MARAC", PERIOD.label)
    assert (history["Numerator"].value, history["Value"].value, history["Hartlepool"].value) == ("<5", "c", "c")
    shown = [row["Line"].value for row in table_rows(book["Summary"], "SummaryLines")]
    assert shown == [line[0] for line in LINES if line[3]]  # lead lines are the board's own (fixture)
