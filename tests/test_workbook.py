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

from pipelines.config import Settings
from pipelines.periods import Quarter
from pipelines.workbook import (
    RAG_FILL,
    SUPPRESSED_VALUE,
    plan_line_sort_key,
    sheet_title,
    shown_count,
    suppress,
    write_workbook,
)
from workbook_fixtures import (  # tests/ is on sys.path under pytest (rootdir, no package)
    FINISHED_AT,
    LINES,
    NOT_RECEIVED_REASON,
    PERIOD,
    build_marts,
)

REFERENCE_PLAN = Path(__file__).resolve().parents[1] / "data" / "reference" / "work_plan.csv"
INDICATOR_COUNT = 13


# --- the suppression rule, directly ----------------------------------------------------------


@pytest.mark.parametrize(
    ("numerator", "denominator", "unit", "expected"),
    [
        (0, 100, "percent", (0, 100, False)),
        (1, 100, "percent", ("<5", 100, True)),
        (3, 40, "percent", ("<5", 40, True)),
        (4, 100, "percent", ("<5", 100, True)),
        (5, 100, "percent", (5, 100, False)),
        (0, 5, "percent", (0, 5, False)),
        (0, 3, "percent", (0, "<5", True)),  # a percentage of a small denominator
        (2, 2, "percent", ("<5", "<5", True)),
        (0, 0, "percent", (0, 0, False)),  # the marts give no value; nothing to hide
        (3, 20_000, "per_10000", ("<5", 20_000, True)),
        (12, 20_000, "per_10000", (12, 20_000, False)),
        (6, 4, "per_10000", (6, "<5", False)),  # a small population is shown <5; the rate is not from it
        (None, None, "percent", (None, None, True)),  # counts unknown: never show the value
        (None, 100, "per_10000", (None, 100, True)),
    ],
)
def test_suppress(numerator, denominator, unit, expected):
    shown = suppress(numerator, denominator, unit, below=5)
    assert (shown.numerator, shown.denominator, shown.is_value_hidden) == expected


def test_suppress_threshold_comes_from_settings():
    assert suppress(7, 100, "percent", below=10).numerator == "<10"
    assert suppress(7, 100, "percent", below=10).is_value_hidden
    assert shown_count(10, below=10) == 10


def test_suppress_rejects_bad_input():
    with pytest.raises(ValueError, match="negative"):
        shown_count(-1, below=5)
    with pytest.raises(ValueError, match="unit"):
        suppress(1, 2, "per_1000", below=5)


# --- plan order and sheet names --------------------------------------------------------------


def test_plan_line_sort_key_reproduces_the_reference_plan_order():
    with open(REFERENCE_PLAN, encoding="utf-8") as handle:
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


def history_row(book, sheet: str, indicator: str, quarter: str) -> dict:
    ws = book[sheet]
    name = next(name for name in ws.tables if name.endswith("History"))
    matches = [row for row in table_rows(ws, name)
               if row["Indicator"].value.startswith(f"{indicator} ") and row["Quarter"].value == quarter]
    assert len(matches) == 1
    return matches[0]


def status_row(book, sheet: str, line_id: str, indicator: str) -> dict:
    ws = book[sheet]
    name = next(name for name in ws.tables if name.endswith("Status"))
    matches = [row for row in table_rows(ws, name)
               if row["Line"].value == line_id and row["Indicator"].value.startswith(f"{indicator} ")]
    assert len(matches) == 1
    return matches[0]


def test_file_is_written_in_place_and_named_for_the_period(written):
    assert written.name == "HSCB-PMF-2018-19-Q3.xlsx"
    assert [path.name for path in written.parent.iterdir()] == [written.name]  # no partial file left


def test_sheets(book):
    assert book.sheetnames == ["Summary", "Priority 1", "Priority 2", "SCR Success criteria", "Charts",
                               "Data quality", "Definitions"]
    assert book.active.title == "Summary"


def test_every_plan_line_is_on_the_summary_in_plan_order(book):
    rows = table_rows(book["Summary"], "SummaryLines")
    shown = [(row["Line"].value, (row["Indicator"].value or "").split(" – ")[0] or None) for row in rows]
    assert shown == [(line[0], line[3]) for line in LINES]  # the fixture's lines are in plan order


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
def test_rag_is_spelled_out_and_filled(book, line_id, indicator, text, rag):
    cell = summary_row(book, line_id, indicator)["RAG"]
    assert cell.value == text
    assert cell.fill.fgColor.rgb == "00" + RAG_FILL[rag]
    assert RAG_FILL == {"green": "C6EFCE", "amber": "FFEB9C", "red": "FFC7CE", "grey": "D9D9D9"}


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
    percent = summary_row(book, "2.1.8")["Latest value"]
    rate = summary_row(book, "1.1.5")["Latest value"]
    assert is_number(percent.value) and percent.number_format == '0.0"%"'
    assert is_number(rate.value) and rate.number_format == "0.0"
    assert summary_row(book, "1.1.5")["Unit"].value == "per 10,000 aged 0-17"


def test_rag_counts_by_section(book):
    ws = book["Summary"]
    header = next(row for row in ws.iter_rows() if [c.value for c in row[2:9]] ==
                  ["Plan", "Section", "Green", "Amber", "Red", "Grey", "Total"])
    counts = {}
    for row in ws.iter_rows(min_row=header[0].row + 1, min_col=4, max_col=9, values_only=True):
        if row[0] is None:
            break
        counts[row[0]] = row[1:]
    assert counts["Priority 1: Addressing the impact of Neglect"] == (1, 2, 2, 1, 6)
    assert counts["Priority 2: Reducing Child Sexual Exploitation"] == (2, 2, 0, 0, 4)  # 2.2.3 counts twice
    assert counts["Finding 1"] == (1, 0, 0, 0, 1)
    assert counts["All lines"] == (5, 4, 3, 2, 14)


def test_a_count_of_3_and_its_percentage_are_suppressed_everywhere(book):
    assert summary_row(book, "1.1.4")["Latest value"].value == SUPPRESSED_VALUE
    status = status_row(book, "Priority 1", "1.1.4", "MARAC")
    assert status["Latest value"].value == SUPPRESSED_VALUE
    assert status["95% interval"].value == SUPPRESSED_VALUE
    assert status["Middlesbrough"].value == SUPPRESSED_VALUE  # comparator with a count of 2
    history = history_row(book, "Priority 1", "MARAC", PERIOD.label)
    assert (history["Numerator"].value, history["Denominator"].value) == ("<5", 41)
    assert (history["Value"].value, history["95% interval"].value) == ("c", "c")
    assert history["Middlesbrough"].value == SUPPRESSED_VALUE
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
    with zipfile.ZipFile(written) as archive:
        for name in archive.namelist():
            if name.startswith("xl/charts/"):
                assert "numCache" not in archive.read(name).decode()  # charts carry no copies of the data


def test_history_has_the_last_8_quarters_with_notes(book):
    ws = book["Priority 1"]
    rows = [row for row in table_rows(ws, "Section1History") if row["Indicator"].value.startswith("PMH_ACCESS ")]
    assert [row["Quarter"].value for row in rows] == [q.label for q in (PERIOD.shift(-n) for n in range(7, -1, -1))]
    not_received = history_row(book, "Priority 1", "PMH_ACCESS", "2018-19 Q2")
    assert not_received["Value"].value is None and not_received["Note"].value == NOT_RECEIVED_REASON
    incomplete = history_row(book, "Priority 2", "LSCB19", "2016-17 Q4")
    assert "history incomplete" in incomplete["Note"].value


def test_section_sheets_have_one_status_per_line_indicator_and_an_empty_commentary_column(book):
    rows = table_rows(book["Priority 2"], "Section2Status")
    assert [(row["Line"].value, row["Indicator"].value.split(" ")[0]) for row in rows] == [
        ("2.1.8", "LSCB21"), ("2.2.3", "LSCB19"), ("2.2.3", "RHI72")]
    assert all(row["Lead commentary"].value is None for row in rows)
    status = status_row(book, "Priority 2", "2.2.3", "RHI72")
    assert status["Status"].value == "Green – improved"
    assert status["Status"].fill.fgColor.rgb == "00" + RAG_FILL["green"]
    assert status["Baseline quarter"].value == "2017-18 Q2" and is_number(status["Baseline value"].value)
    # LSCB19 evidences two lines of the section: its history is shown once
    lscb19 = [row for row in table_rows(book["Priority 2"], "Section2History")
              if row["Indicator"].value.startswith("LSCB19 ")]
    assert len(lscb19) == 8 and lscb19[0]["Lines"].value == "2.2.3"


def chart_blocks(ws) -> dict[str, list[tuple]]:
    """The Charts sheet's data blocks: indicator code -> rows (quarter, value, lower, upper, baseline, note)."""
    blocks, code = {}, None
    for row in ws.iter_rows(min_row=4, max_col=6, values_only=True):
        if isinstance(row[0], str) and " – " in row[0]:
            code = row[0].split(" – ")[0]
            blocks[code] = []
        elif code and isinstance(row[0], str) and re.match(r"\d{4}-\d{2} Q\d$", row[0]):
            blocks[code].append(row)
    return blocks


def test_one_native_line_chart_per_indicator(book, written):
    ws = book["Charts"]
    assert len(ws._charts) == INDICATOR_COUNT
    assert all(type(chart).__name__ == "LineChart" for chart in ws._charts)
    assert all(len(chart.series) == 4 for chart in ws._charts)  # value, lower, upper, baseline
    with zipfile.ZipFile(written) as archive:
        charts = [name for name in archive.namelist() if re.match(r"xl/charts/chart\d+\.xml$", name)]
    assert len(charts) == INDICATOR_COUNT
    assert len(chart_blocks(ws)) == INDICATOR_COUNT


def test_charts_leave_suppressed_points_blank(book):
    ws = book["Charts"]
    marac = {row[0]: row for row in chart_blocks(ws)["MARAC"]}
    quarter, value, lower, upper, baseline, note = marac[PERIOD.label]
    assert (value, lower, upper) == (None, None, None)
    assert note.startswith("c")
    assert is_number(marac["2018-19 Q2"][1])
    assert is_number(baseline)
    # the chart's value series reads the block's value column
    chart = ws._charts[0]
    reference = chart.series[0].val.numRef.f
    min_col, min_row, max_col, max_row = range_boundaries(reference.split("!")[1])
    cells = [ws.cell(row=r, column=min_col).value for r in range(min_row, max_row + 1)]
    assert cells[-1] is None and all(is_number(value) for value in cells[:-1])
    # nothing but numbers or blanks in a chart's numeric columns (text would plot as 0)
    for rows in chart_blocks(ws).values():
        assert all(cell is None or is_number(cell) for row in rows for cell in row[1:5])


def test_data_quality_counts_for_the_period(book):
    ws = book["Data quality"]
    files = values(table_rows(ws, "DataQualityFiles"))
    by_extract = {row["Extract"]: row for row in files}
    assert len(files) == 3  # the earlier period's file is not listed
    assert by_extract["police_da_incidents"]["Rows received"] == 1000
    assert by_extract["police_da_incidents"]["Rows staged"] == 997
    assert by_extract["police_da_incidents"]["Rows quarantined"] == "<5"
    assert by_extract["la_cp_plans"]["Rows quarantined"] == 7
    assert by_extract["health_ae_attendances"]["Rows received"] == 0
    total = next(row for row in ws.iter_rows(values_only=True) if str(row[0]).startswith("Total (3 files)"))
    assert total[3:6] == (1250, 1240, 10)
    rules = {(row["Extract"], row["Rule"]): row["Rows quarantined"]
             for row in values(table_rows(ws, "QuarantineByRule"))}
    assert rules == {
        ("la_cp_plans", "required value missing"): 7,
        ("police_da_incidents", "unknown code"): "<5",
        ("police_da_incidents", "unparseable date"): "<5",
    }


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
    assert len(files) == 4 and all(len(row["SHA-256"]) == 64 for row in files)


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
