"""A resubmitted file between two refreshes into the same marts folder: the second refresh lists the
figure it changed in ``indicator_revisions`` (indicators.md, "Revisions (v2)"), through the CLI.

Only police_da_incidents is sent (every other extract is "not received", so its indicators are
null in both refreshes and never revised). MARAC = HIGH-risk incidents referred to MARAC.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from conftest import rows_for, write_csv
from pipelines.cli import main

pytestmark = pytest.mark.e2e

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reference"
HPL = "E06000001"


def _incidents(folder: Path, period_tag: str, reported_at: str, total: int, referred: int) -> None:
    rows = rows_for("police_da_incidents", total, reported_at=reported_at, dash_risk="HIGH", marac_referral="N")
    for index, row in enumerate(rows):
        row["incident_id"] = f"I{period_tag}-{index:04d}"
        if index < referred:
            row["marac_referral"] = "Y"
    write_csv(folder / "police_da_incidents.csv", rows)


def _query(marts: Path, sql: str) -> list[dict]:
    with duckdb.connect(str(marts / "pmf.duckdb"), read_only=True) as con:
        cursor = con.execute(sql)
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_a_resubmitted_file_is_listed_as_revised(tmp_path):
    raw, reference, marts = tmp_path / "raw", tmp_path / "reference", tmp_path / "marts"
    shutil.copytree(REFERENCE, reference)
    config = tmp_path / "pmf.toml"
    config.write_text(f'reference_dir = "{reference}"\n')

    def refresh() -> int:
        return main(["refresh", "--raw-dir", str(raw), "--marts-dir", str(marts), "--config", str(config)])

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

    # The same inputs again: nothing revised.
    assert refresh() == 0
    assert _query(marts, "select * from indicator_revisions") == []
