"""Shared fixtures: a fixed pseudonymisation key, quiet offline Prefect, and small extract files."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import duckdb
import openpyxl
import pytest

os.environ.setdefault("PMF_PSEUDONYM_KEY", "test-key-" + "0" * 40)
from pipelines.cli import prefect_environment  # noqa: E402

prefect_environment(Path(__file__).resolve().parents[1] / ".pmf" / "prefect-test")

REPO = Path(__file__).resolve().parents[1]

# One valid row per extract, as an agency would send it (period 2018-19 Q3 = Oct-Dec 2018).
VALID_ROWS: dict[str, dict[str, str]] = {
    "la_early_help_assessments": dict(
        assessment_id="EH1", la_code="E06000001", child_id="00123", nhs_number="", dob="2010-05-01", sex="F",
        assessment_start_date="2018-10-01", assessment_completed_date="2018-11-01", neglect_identified="Y", factors="3A;16A",
    ),
    "la_cp_plans": dict(
        plan_id="CP1", la_code="E06000001", child_id="00123", nhs_number="", dob="2010-05-01", sex="F",
        plan_start_date="2018-10-05", plan_end_date="", initial_category="NEG", latest_category="NEG",
    ),
    "la_cla_episodes": dict(
        episode_id="CLA1", la_code="E06000001", child_id="00123", nhs_number="", dob="2010-05-01", sex="F",
        episode_start_date="2018-10-05", reason_new_episode="S", legal_status="C2", category_of_need="N1",
        episode_end_date="", reason_episode_ceased="",
    ),
    "la_missing_episodes": dict(
        episode_id="ME1", la_code="E06000001", child_id="00123", dob="2004-05-01", sex="M", missing_or_away="M",
        missing_start="2018-10-05 22:00", missing_end="2018-10-06 09:30", rhi_offered="Y", rhi_accepted="Y", rhi_date="2018-10-08",
    ),
    "la_vemt_screenings": dict(
        screening_id="V1", la_code="E06000001", child_id="00123", nhs_number="", dob="2004-05-01", sex="F",
        screening_date="2018-10-05", risk_level="HIGH", missing_concern="Y", exploitation_concern="Y",
        trafficking_concern="N", holistic_plan="Y",
    ),
    "police_da_incidents": dict(
        incident_id="I1", la_code="E06000001", reported_at="2018-10-03 14:05", victim_id="P900", dash_risk="HIGH",
        marac_referral="Y", crime_recorded="Y",
    ),
    "police_da_children": dict(incident_id="I1", person_id="P100", nhs_number="", dob="2010-05-01", sex="M"),
    "police_missing_reports": dict(
        report_id="R1", la_code="E06000001", person_id="P100", nhs_number="", dob="2004-05-01", sex="M",
        reported_missing_at="2018-10-05 22:00", found_at="2018-10-06 09:30", risk_grading="LOW", from_care="N",
    ),
    "health_ae_attendances": dict(
        attendance_id="A1", la_code="E06000001", nhs_number="9434765919", dob="2004-05-01", sex="F",
        arrived_at="2018-10-05 22:00", attendance_reason="SELF_HARM", safeguarding_referral="Y",
    ),
    "health_treatment_episodes": dict(
        episode_id="T1", la_code="E06000001", client_id="C1", nhs_number="", service="SUBSTANCE_MISUSE",
        lives_with_children="Y", referral_date="2018-09-01", treatment_start_date="2018-09-10",
        discharge_date="2018-11-01", discharge_reason="COMPLETED",
    ),
}


def rows_for(extract: str, n: int, **changes: str) -> list[dict[str, str]]:
    """``n`` valid rows of an extract with distinct keys (``changes`` applied to all)."""
    base = VALID_ROWS[extract]
    key = next(iter(base))
    rows = []
    for index in range(n):
        row = dict(base, **changes)
        row[key] = f"{base[key]}-{index:04d}"
        if extract == "police_da_children":
            row["person_id"] = f"P{index:04d}"
            row["incident_id"] = base["incident_id"]
        rows.append(row)
    return rows


def write_csv(path: Path, rows: list[dict[str, str]], *, header: list[str] | None = None, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    header = header or list(rows[0])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    keys = list(rows[0]) if rows else header
    for row in rows:
        writer.writerow([row.get(key, "") for key in keys])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, rows: list[dict[str, object]], *, title_rows: list[list[object]] = (), header: list[str] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for title in title_rows:
        sheet.append(title)
    keys = list(rows[0])
    sheet.append(header or keys)
    for row in rows:
        sheet.append([row.get(key) for key in keys])
    workbook.save(path)
    return path


@pytest.fixture
def raw_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "raw"
    folder.mkdir()
    return folder


@pytest.fixture
def work_con():
    """An in-memory DuckDB with a ``work`` schema standing in for the refresh's work database."""
    con = duckdb.connect()
    con.execute("attach ':memory:' as work")
    yield con
    con.close()


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory):
    """The default demo dataset (tests/test_demo_*.py), written once a session and read back with
    the independent reader in tests/demo_files.py."""
    from demo_files import generate_and_load

    return generate_and_load(tmp_path_factory.mktemp("demo"))
