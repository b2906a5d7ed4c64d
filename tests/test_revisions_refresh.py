"""A resubmitted file between two refreshes into the same marts folder: the second refresh lists the
figure it changed in ``indicator_revisions`` (indicators.md, "Revisions (v2)"), through the CLI.

Only police_da_incidents is sent (every other extract is "not received", so its indicators are
null in both refreshes and never revised). MARAC = HIGH-risk incidents referred to MARAC.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest

from extract_rows import rows_for, write_csv
from pipelines.board.layout import REVISED_MARK
from pipelines.cli import main
from query_rows import query_file
from repo_paths import REFERENCE_DIR
from workbook_cells import line_table, table_rows

pytestmark = pytest.mark.e2e

HPL = "E06000001"


def _incidents(folder: Path, period_tag: str, reported_at: str, total: int, referred: int) -> None:
    rows = rows_for("police_da_incidents", total, reported_at=reported_at, dash_risk="HIGH", marac_referral="N")
    for index, row in enumerate(rows):
        row["incident_id"] = f"I{period_tag}-{index:04d}"
        if index < referred:
            row["marac_referral"] = "Y"
    write_csv(folder / "police_da_incidents.csv", rows)


def _query(marts: Path, sql: str) -> list[dict]:
    return query_file(marts / "pmf.duckdb", sql)


def test_a_resubmitted_file_is_listed_as_revised(tmp_path):
    raw, reference, marts = tmp_path / "raw", tmp_path / "reference", tmp_path / "marts"
    shutil.copytree(REFERENCE_DIR, reference)
    config = tmp_path / "pmf.toml"
    config.write_text(f'reference_dir = "{reference}"\n')

    def refresh() -> int:
        # --workers 1: the one file is validated in this process, not in a pool of processes started
        # for it (tests/test_workers.py compares the ways of running; this test is about revisions).
        return main(["refresh", "--raw-dir", str(raw), "--marts-dir", str(marts), "--config", str(config),
                     "--workers", "1"])

    # Q1: 5 of 20 referred (25%); Q2: 2 of 10 (20%).
    _incidents(raw / "2018-19-Q1", "1", "2018-05-10 10:00", total=20, referred=5)
    _incidents(raw / "2018-19-Q2", "2", "2018-08-10 10:00", total=10, referred=2)
    assert refresh() == 0
    assert _query(marts, "select * from indicator_revisions") == []  # first publish
    (first_run,) = [row["run_id"] for row in _query(marts, "select run_id from build_info")]

    # The force resends Q1: 8 of 19 referred (one incident withdrawn).
    _incidents(raw / "2018-19-Q1", "1", "2018-05-10 10:00", total=19, referred=8)
    assert refresh() == 0
    (second_run,) = [row["run_id"] for row in _query(marts, "select run_id from build_info")]
    assert second_run != first_run
    published = [row["run_id"] for row in _query(marts, "select run_id from refresh_log where outcome = 'published' order by started_at")]
    assert published == [first_run, second_run]

    revised = _query(marts, "select * from indicator_revisions")
    assert len(revised) == 1
    (row,) = revised
    assert (row["indicator_code"], row["la_code"], row["period"]) == ("MARAC", HPL, "2018-19 Q1")
    assert (row["previous_numerator"], row["previous_denominator"], row["numerator"], row["denominator"]) == (5, 20, 8, 19)
    assert row["previous_value"] == pytest.approx(25.0)
    assert row["value"] == pytest.approx(100 * 8 / 19)  # 42.105263
    assert row["revised_fields"] == "numerator;denominator;value"
    assert (row["previous_run_id"], row["run_id"]) == (first_run, second_run)

    # The other Tees LAs sent no incidents: MARAC denominators of 0 add nothing, so the Tees
    # figure is Hartlepool's own 8 / 19, inside its interval: similar.
    (tees,) = _query(marts, "select * from indicator_benchmark where indicator_code = 'MARAC' "
                            f"and la_code = '{HPL}' and period = '2018-19 Q1'")
    assert (tees["comparator"], tees["comparator_numerator"], tees["comparator_denominator"]) == ("Tees", 8, 19)
    assert tees["comparator_value"] == pytest.approx(100 * 8 / 19)
    assert (tees["comparison"], tees["not_compared_reason"]) == ("similar", None)
    # Two points in the pack period's series (2018-19 Q2, the latest folder): too few for SPC.
    spc = _query(marts, f"select * from indicator_spc where indicator_code = 'MARAC' and la_code = '{HPL}' order by period")
    assert [(row["period"], row["value"], row["pack_period"], row["variation"]) for row in spc] == [
        ("2018-19 Q1", pytest.approx(100 * 8 / 19), "2018-19 Q2", "too few points"),
        ("2018-19 Q2", pytest.approx(20.0), "2018-19 Q2", "too few points"),
    ]
    (line,) = _query(marts, f"select * from work_plan_status where line_id = '1.1.4' and la_code = '{HPL}' "
                            "and period = '2018-19 Q2'")
    assert (line["latest_period"], line["spc_variation"], line["tees_comparison"], line["is_red_red"]) == (
        "2018-19 Q2", "too few points", "similar", False,
    )

    # The board workbook marks the revised figure (r) and gives the previous one in a note.
    book = openpyxl.load_workbook(marts / "board" / "HSCB-PMF-2018-19-Q2.xlsx")
    sheet = book["Priority 1"]
    history = {row["Quarter"].value: row for row in table_rows(sheet, line_table(sheet, "1.1.4", "MARAC", "History"))}
    value = history["2018-19 Q1"]["Value"]
    assert value.number_format.endswith(f' {REVISED_MARK}"')
    assert f"previously 25.0% (numerator 5, denominator 20) in refresh {first_run}" in value.comment.text
    assert history["2018-19 Q2"]["Value"].comment is None and not history["2018-19 Q2"]["Value"].number_format.endswith(f' {REVISED_MARK}"')

    # The same inputs again: nothing revised.
    assert refresh() == 0
    assert _query(marts, "select * from indicator_revisions") == []
