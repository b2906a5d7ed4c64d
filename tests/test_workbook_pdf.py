"""The board workbook as a board member prints it: rendered to PDF by LibreOffice (headless),
read back with poppler (pdfinfo, pdftotext)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import pytest

from pipelines.config import Settings
from workbook_fixtures import PERIOD  # tests/ is on sys.path under pytest

BOARD_NAME = Settings().board_name


@pytest.fixture(scope="module")
def rendered(workbook_file, tmp_path_factory) -> dict:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    assert soffice, "LibreOffice is needed for this test: scripts/test.sh installs libreoffice-calc-nogui"
    assert shutil.which("pdftotext") and shutil.which("pdfinfo"), "scripts/test.sh installs poppler-utils"
    folder = tmp_path_factory.mktemp("pdf")
    # A copy of the session's workbook (tests/conftest.py): LibreOffice works beside the file it opens.
    workbook = Path(shutil.copy(workbook_file, folder / "board.xlsx"))
    subprocess.run(
        [soffice, f"-env:UserInstallation=file://{folder / 'lo-profile'}", "--headless", "--convert-to", "pdf",
         "--outdir", str(folder), str(workbook)],
        check=True, capture_output=True, timeout=600,
    )
    pdf = folder / "board.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True).stdout
    count = int(re.search(r"^Pages:\s+(\d+)", info, re.M)[1])
    pages = [subprocess.run(["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(pdf), "-"], check=True,
                            capture_output=True, text=True).stdout for page in range(1, count + 1)]
    return {"workbook": workbook, "pdf": pdf, "info": info, "pages": pages}


def footer_sheet(page: str) -> str:
    """The sheet a printed page belongs to, from its footer ("<sheet> ... Page n of N")."""
    lines = [line.strip() for line in page.splitlines() if re.search(r"Page \d+ of \d+\s*$", line)]
    assert len(lines) == 1, page[-500:]
    return re.split(r"\s{2,}", lines[0])[0]


def test_every_page_is_a4_landscape(rendered):
    size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", rendered["info"])
    assert (round(float(size[1])), round(float(size[2]))) == (842, 595)


def test_the_overview_prints_on_one_page_first(rendered):
    sheets = [footer_sheet(page) for page in rendered["pages"]]
    assert sheets.count("Overview") == 1 and sheets[0] == "Overview"
    overview = rendered["pages"][0]
    for text in ("overview", "LSCB11b", "Red-red", "special cause concern", "All lines"):
        assert text in overview, text


def test_every_sheet_prints_with_its_title_rows_on_every_page(rendered):
    book = openpyxl.load_workbook(rendered["workbook"])
    sheets = [footer_sheet(page) for page in rendered["pages"]]
    assert list(dict.fromkeys(sheets)) == book.sheetnames  # every sheet prints, in order, with its footer
    for ws in book:
        assert ws.print_title_rows, ws.title
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    for number, (sheet, page) in enumerate(zip(sheets, rendered["pages"], strict=True), start=1):
        # the title rows repeat: each page starts with the board name and the LA, period line
        assert f"{BOARD_NAME}:" in page, (number, sheet)
        assert f"Hartlepool (E06000001), {PERIOD.label}." in page, (number, sheet)


def test_priority_groups_are_not_split_across_pages(rendered):
    groups = 0
    for page in rendered["pages"]:
        if footer_sheet(page).startswith(("Priority", "SCR")):
            # a group's heading (the fixture's "Text of line ...") and its commentary box share a page
            headings = len(re.findall(r"Text of line ", page))
            assert headings and page.count("commentary") == headings, page
            groups += headings
    assert groups == 10  # the fixture's computed lines
