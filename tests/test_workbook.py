"""The board workbook: its file, sheets, structure, definitions and settings. Written from small
synthetic marts (tests/workbook_fixtures.py), read back with openpyxl by table and column name
(tests/workbook_cells.py); the other test_workbook_*.py check its Summary and Overview, section
sheets, charts and suppression."""

from __future__ import annotations

import csv
import random
import re
from datetime import UTC, datetime

import openpyxl
import pytest
from openpyxl.utils import range_boundaries

from pipelines.board import write_workbook
from pipelines.board.layout import sheet_title
from pipelines.board.marts import plan_line_sort_key
from pipelines.config import Settings
from pipelines.periods import Quarter
from repo_paths import REFERENCE_DIR
from workbook_cells import history_row, table_rows, values
from workbook_fixtures import FINISHED_AT, INDICATOR_COUNT, LINES, PERIOD, build_marts


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


def test_file_is_written_in_place_and_named_for_the_period(workbook_file):
    assert workbook_file.name == "HSCB-PMF-2018-19-Q3.xlsx"
    assert [path.name for path in workbook_file.parent.iterdir()] == [workbook_file.name]  # no partial file left


def test_sheets(workbook):
    assert workbook.sheetnames == ["Overview", "Summary", "Priority 1", "Priority 2", "SCR Success criteria", "Charts",
                               "Data quality", "Definitions"]
    assert workbook.active.title == "Overview"


def test_structure_opens_cleanly(workbook):
    """What Excel repairs: clashing or invalid table names, overlapping tables, bad sheet names."""
    names = [name for ws in workbook for name in ws.tables]
    assert len(names) == len(set(names)) and all(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) for name in names)
    for ws in workbook:
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
    assert not any(cell.data_type == "f" for ws in workbook for row in ws.iter_rows() for cell in row)


def test_definitions_list_every_indicator_and_the_methods(workbook):
    ws = workbook["Definitions"]
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


def test_generated_time_comes_from_the_refresh_log(workbook):
    assert f"Generated {FINISHED_AT:%d %b %Y %H:%M} UTC" in workbook["Summary"]["A2"].value


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


def test_board_la_is_configurable(tmp_path):
    marts = build_marts(tmp_path / "pmf.duckdb")
    settings = Settings(board_la_code="E06000002", comparator_la_codes=("E06000001",))
    # the fixture has computed statuses for every LA, lead lines only for E06000001
    out = write_workbook(marts, tmp_path / "out.xlsx", period=PERIOD, settings=settings)
    workbook = openpyxl.load_workbook(out)
    assert "Middlesbrough (E06000002)" in workbook["Summary"]["A2"].value
    history = history_row(workbook, "Priority 1", "MARAC", PERIOD.label)
    assert (history["Numerator"].value, history["Value"].value, history["Hartlepool"].value) == ("<5", "c", "c")
    shown = [row["Line"].value for row in table_rows(workbook["Summary"], "SummaryLines")]
    assert shown == [line[0] for line in LINES if line[3]]  # lead lines are the board's own (fixture)
