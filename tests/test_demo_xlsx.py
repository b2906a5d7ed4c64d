"""The one XLSX writer (pipelines/demo/xlsx.py), read back by two independent readers: openpyxl by
cell name, and calamine, which intake uses."""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from pipelines.demo.xlsx import write_xlsx

TITLE = "North Tees – Early help & <assessments>, £ spent"
ROWS = [
    (1, [TITLE]),
    (3, ["assessment_id", "assessment_start_date", "arrived_at", "factors", "child_id", "count", "notes"]),
    (4, ["EH1", date(2018, 10, 5), datetime(2018, 10, 5, 22, 30), None, "0012", 42, ' said "fine",\nthen left ']),
]


def test_cells_read_back_by_name_as_written(tmp_path: Path) -> None:
    path = tmp_path / "extract.xlsx"
    write_xlsx(path, ROWS)
    sheet = openpyxl.load_workbook(path)["Extract"]
    assert sheet["A1"].value == TITLE  # escaped for XML, read back unescaped
    assert [sheet.cell(2, column).value for column in range(1, 8)] == [None] * 7  # the gap: a blank row
    assert sheet["A3"].value == "assessment_id" and sheet["G3"].value == "notes"
    assert sheet["A4"].value == "EH1"
    assert (sheet["B4"].value, sheet["B4"].number_format) == (datetime(2018, 10, 5), "dd/mm/yyyy")
    assert (sheet["C4"].value, sheet["C4"].number_format) == (datetime(2018, 10, 5, 22, 30), "dd/mm/yyyy hh:mm")
    assert sheet["D4"].value is None
    assert sheet["E4"].value == "0012"  # text keeps its leading zeros
    assert sheet["F4"].value == "42"  # anything else is written as its text
    assert sheet["G4"].value == ' said "fine",\nthen left '  # spaces, quotes and newlines kept


def test_dates_are_excel_serial_days(tmp_path: Path) -> None:
    """2018-01-01 is Excel day 43101, so 2018-10-05 (277 days later) is 43378 and 22:30 is 0.9375."""
    path = tmp_path / "extract.xlsx"
    write_xlsx(path, ROWS)
    xml = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    assert '<c r="B4" s="1"><v>43378</v></c>' in xml
    assert '<c r="C4" s="2"><v>43378.9375</v></c>' in xml
    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python(skip_empty_area=False)
    header, first_row = sheet[2], sheet[3]  # sheet rows 3 and 4
    cells = dict(zip(header, first_row, strict=True))
    assert (cells["assessment_start_date"], cells["arrived_at"]) == (date(2018, 10, 5), datetime(2018, 10, 5, 22, 30))


def test_same_rows_same_bytes_and_no_clock(tmp_path: Path) -> None:
    write_xlsx(tmp_path / "a.xlsx", ROWS)
    write_xlsx(tmp_path / "b.xlsx", iter(ROWS))  # a generator writes the same as a list
    assert (tmp_path / "a.xlsx").read_bytes() == (tmp_path / "b.xlsx").read_bytes()
    with zipfile.ZipFile(tmp_path / "a.xlsx") as archive:
        assert {info.date_time for info in archive.infolist()} == {(2020, 1, 1, 0, 0, 0)}
        assert not any(name.startswith("docProps/") for name in archive.namelist())  # no document properties


def test_many_rows_stream_through(tmp_path: Path) -> None:
    path = tmp_path / "big.xlsx"
    write_xlsx(path, ((number, [f"K{number}", number * 2]) for number in range(1, 5_002)))
    sheet = openpyxl.load_workbook(path)["Extract"]
    assert (sheet.max_row, sheet.max_column) == (5_001, 2)
    assert (sheet["A1"].value, sheet["B1"].value) == ("K1", "2")
    assert (sheet["A2001"].value, sheet["B2001"].value) == ("K2001", "4002")  # past the first batch of rows
    assert (sheet["A5001"].value, sheet["B5001"].value) == ("K5001", "10002")


def test_bad_rows_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="must increase"):
        write_xlsx(tmp_path / "a.xlsx", [(2, ["x"]), (2, ["y"])])
    with pytest.raises(ValueError, match="at most 52"):
        write_xlsx(tmp_path / "b.xlsx", [(1, ["x"] * 53)])
    write_xlsx(tmp_path / "c.xlsx", [(1, [str(i) for i in range(52)])])
    assert openpyxl.load_workbook(tmp_path / "c.xlsx")["Extract"]["AZ1"].value == "51"
