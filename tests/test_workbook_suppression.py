"""Small numbers in the board workbook (outputs.md): counts of 1-4 and what they give away are shown
as <5 or c everywhere, and no suppressed count can be worked out from what is shown."""

from __future__ import annotations

import re
import zipfile

import pytest

from pipelines.board.suppression import SECONDARY as SUPPRESSED_VALUE
from workbook_cells import (
    history_row,
    is_number,
    number,
    overview_row,
    status_row,
    summary_row,
    table_rows,
    values,
)
from workbook_fixtures import BOARD, COUNT_OVERRIDES, DATA_QUALITY, PERIOD


def test_a_count_of_3_and_its_percentage_are_suppressed_everywhere(workbook):
    assert summary_row(workbook, "1.1.4")["Latest value"].value == SUPPRESSED_VALUE
    assert overview_row(workbook, "1.1.4", "MARAC")["Latest value"].value == SUPPRESSED_VALUE
    status = status_row(workbook, "Priority 1", "1.1.4", "MARAC")
    assert status["Latest value"].value == SUPPRESSED_VALUE
    assert status["95% interval"].value == SUPPRESSED_VALUE
    history = history_row(workbook, "Priority 1", "MARAC", PERIOD.label)
    assert (history["Numerator"].value, history["Denominator"].value) == ("<5", 41)
    assert (history["Value"].value, history["95% interval"].value) == ("c", "c")
    assert history["Middlesbrough"].value == SUPPRESSED_VALUE  # comparator with a count of 2
    assert is_number(history["Stockton-on-Tees"].value)


def test_counts_of_0_and_5_are_shown_as_they_are(workbook):
    history = history_row(workbook, "Priority 1", "LSCB11e", PERIOD.label)
    assert (history["Numerator"].value, history["Denominator"].value, history["Value"].value) == (0, 5, 0.0)
    assert history["Value"].number_format == '0.0"%"'
    assert summary_row(workbook, "1.2.4")["Latest value"].value == 0.0


def test_small_denominator_of_a_percentage_and_small_numerator_of_a_rate(workbook):
    history = history_row(workbook, "Priority 1", "SM_COMPLETIONS", PERIOD.label)
    assert (history["Numerator"].value, history["Denominator"].value, history["Value"].value) == (0, "<5", "c")
    rate = history_row(workbook, "SCR Success criteria", "CPP_NEGLECT", PERIOD.label)
    assert (rate["Numerator"].value, rate["Denominator"].value, rate["Value"].value) == ("<5", 20_000, "c")
    assert summary_row(workbook, "SCR-S4")["Latest value"].value == SUPPRESSED_VALUE


LEAKED_TEXT = re.compile(r"(?<![\d.])(7\.3|2\.3|12\.3|1\.5|6\.5|6\.7|1\.7|11\.7)(?![\d.])")


def test_suppressed_figures_appear_nowhere(workbook, workbook_file):
    # MARAC 3/41 = 7.32% (2.32-12.32), CPP 3/20000 = 1.5 (0-6.5), Middlesbrough MARAC 2/30 = 6.67% (1.67-11.67);
    # none of these can occur among the fixture's other figures (percentages >= 15, rates >= 10).
    marac = 300 / 41
    leaked = {round(x, 6) for x in (marac, marac - 5, marac + 5, 1.5, 6.5, 200 / 30, 200 / 30 - 5, 200 / 30 + 5)}
    for ws in workbook:
        for row in ws.iter_rows():
            for cell in row:
                if is_number(cell.value):
                    assert round(cell.value, 6) not in leaked, (ws.title, cell.coordinate)
                if isinstance(cell.value, str):
                    assert not LEAKED_TEXT.search(cell.value), (ws.title, cell.coordinate)
                if cell.comment is not None:  # revision notes
                    assert not LEAKED_TEXT.search(cell.comment.text), (ws.title, cell.coordinate)
    with zipfile.ZipFile(workbook_file) as archive:
        for name in archive.namelist():
            if name.startswith("xl/charts/"):
                assert "numCache" not in archive.read(name).decode()  # charts carry no copies of the data


def test_data_quality_counts_for_the_period(workbook):
    ws = workbook["Data quality"]
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


def test_no_suppressed_data_quality_count_can_be_worked_out(workbook):
    """The fixture's police file: 1000 received, 997 staged, 3 quarantined (2 + 1 by rule). Every
    way a reader could difference the sheet's shown numbers must fail to give a 1-4 count."""
    ws = workbook["Data quality"]
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


def test_the_tees_figure_cannot_give_away_a_suppressed_la(workbook):
    # CPP_NEGLECT, the pack's quarter: Hartlepool 3 of 20,000 (c); the other LAs 44-47 of 20,000.
    # Rates give their counts away (populations are public) and Tees sums them, so the smallest
    # other LA (Middlesbrough, 45) is suppressed as well.
    history = history_row(workbook, "SCR Success criteria", "CPP_NEGLECT", PERIOD.label)
    assert COUNT_OVERRIDES[("CPP_NEGLECT", BOARD, PERIOD.label)] == (3, 20_000)
    assert history["Value"].value == SUPPRESSED_VALUE
    assert history["Middlesbrough"].value == SUPPRESSED_VALUE
    shown = [history[name].value for name in ("Redcar and Cleveland", "Stockton-on-Tees", "Tees")]
    assert all(is_number(value) for value in shown)
    # what the reader can do with what is shown: Tees x 4 x 20,000 / 10,000 - the others
    others = sum(value * 2 for value in shown[:2])
    unknown_pair = shown[2] * 8 - others
    assert unknown_pair == pytest.approx(3 + 45)  # only the sum of the two hidden counts
