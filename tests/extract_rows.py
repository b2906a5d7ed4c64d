"""Rows of the extracts for tests, and the CSV / XLSX files that carry them.

The shape of every row comes from the contract itself (``pipelines/extracts.toml``, read with
``pipelines.contract.load_contract()``): which columns an extract has, in what order, which are
optional, which are required when another is given, and its key. This module only adds values,
and ``contract_row`` refuses a value for a column the contract does not have, or a row without a
required value, so the tests' rows cannot drift from the contract.

Two sets of values, for two kinds of test:

``VALID_ROWS``  one valid row per extract as an agency sends it (period 2018-19 Q3 = Oct-Dec
                2018; dates and times as written in files), for files through intake.
``DEFAULTS``    a harmless default row per extract for the SQL harness (tests/sql_harness.py):
                validated, normalised text as intake writes it (dates ``YYYY-MM-DD``, datetimes
                ``YYYY-MM-DD HH:MM:SS``) in 2018-19 Q1, counting towards nothing a test does not
                ask for. Key columns are None: the harness gives each row a fresh single-column
                key; police_da_children's incident_id names the test's own incident.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl

from pipelines.config import TEES_LAS
from pipelines.contract import Extract, load_contract

CONTRACT: dict[str, Extract] = load_contract()

HARTLEPOOL = next(iter(TEES_LAS))  # E06000001, the board's LA
NHS_A = "9434765919"  # a valid (modulus-11) NHS number


def contract_row(extract: str, *, blank: str | None, open_key: bool = False, **values: str | None) -> dict[str, str | None]:
    """Every contract column of ``extract`` in contract order: ``values`` where given, ``blank``
    for the optional columns left out. An unknown column, or a required column (or one required
    by another given column) without a value, is an error; with ``open_key`` the key columns
    may be left out (None), for the caller to fill row by row."""
    contract = CONTRACT[extract]
    unknown = sorted(set(values) - set(contract.column_names))
    if unknown:
        raise ValueError(f"{extract} has no column(s) {unknown}")
    row = {name: values.get(name, blank) for name in contract.column_names}
    for column in contract.columns:
        needed = column.required or (column.required_when and row[column.required_when] not in ("", None))
        if needed and row[column.name] in ("", None) and not (open_key and column.name in contract.key):
            raise ValueError(f"{extract}: {column.name} is required and has no value")
    return row


# One valid row per extract, as an agency would send it; optional columns not named are blank.
VALID_ROWS: dict[str, dict[str, str]] = {
    "la_early_help_assessments": contract_row(
        "la_early_help_assessments", blank="",
        assessment_id="EH1", la_code=HARTLEPOOL, child_id="00123", dob="2010-05-01", sex="F",
        assessment_start_date="2018-10-01", assessment_completed_date="2018-11-01", neglect_identified="Y",
        factors="3A;16A",
    ),
    "la_cp_plans": contract_row(
        "la_cp_plans", blank="",
        plan_id="CP1", la_code=HARTLEPOOL, child_id="00123", dob="2010-05-01", sex="F",
        plan_start_date="2018-10-05", initial_category="NEG", latest_category="NEG",
    ),
    "la_cla_episodes": contract_row(
        "la_cla_episodes", blank="",
        episode_id="CLA1", la_code=HARTLEPOOL, child_id="00123", dob="2010-05-01", sex="F",
        episode_start_date="2018-10-05", reason_new_episode="S", legal_status="C2", category_of_need="N1",
    ),
    "la_missing_episodes": contract_row(
        "la_missing_episodes", blank="",
        episode_id="ME1", la_code=HARTLEPOOL, child_id="00123", dob="2004-05-01", sex="M", missing_or_away="M",
        missing_start="2018-10-05 22:00", missing_end="2018-10-06 09:30", rhi_offered="Y", rhi_accepted="Y",
        rhi_date="2018-10-08",
    ),
    "la_vemt_screenings": contract_row(
        "la_vemt_screenings", blank="",
        screening_id="V1", la_code=HARTLEPOOL, child_id="00123", dob="2004-05-01", sex="F",
        screening_date="2018-10-05", risk_level="HIGH", missing_concern="Y", exploitation_concern="Y",
        trafficking_concern="N", holistic_plan="Y",
    ),
    "police_da_incidents": contract_row(
        "police_da_incidents", blank="",
        incident_id="I1", la_code=HARTLEPOOL, reported_at="2018-10-03 14:05", victim_id="P900", dash_risk="HIGH",
        marac_referral="Y", crime_recorded="Y",
    ),
    "police_da_children": contract_row(
        "police_da_children", blank="",
        incident_id="I1", person_id="P100", dob="2010-05-01", sex="M",
    ),
    "police_missing_reports": contract_row(
        "police_missing_reports", blank="",
        report_id="R1", la_code=HARTLEPOOL, person_id="P100", dob="2004-05-01", sex="M",
        reported_missing_at="2018-10-05 22:00", found_at="2018-10-06 09:30", risk_grading="LOW", from_care="N",
    ),
    "health_ae_attendances": contract_row(
        "health_ae_attendances", blank="",
        attendance_id="A1", la_code=HARTLEPOOL, nhs_number=NHS_A, dob="2004-05-01", sex="F",
        arrived_at="2018-10-05 22:00", attendance_reason="SELF_HARM", safeguarding_referral="Y",
    ),
    "health_treatment_episodes": contract_row(
        "health_treatment_episodes", blank="",
        episode_id="T1", la_code=HARTLEPOOL, client_id="C1", service="SUBSTANCE_MISUSE", lives_with_children="Y",
        referral_date="2018-09-01", treatment_start_date="2018-09-10", discharge_date="2018-11-01",
        discharge_reason="COMPLETED",
    ),
}

# A harmless default row per extract for the SQL harness; optional columns not named are None.
DEFAULTS: dict[str, dict[str, str | None]] = {
    "police_da_incidents": contract_row(
        "police_da_incidents", blank=None, open_key=True,
        la_code=HARTLEPOOL, reported_at="2018-05-15 12:00:00", victim_id="V1", dash_risk="STANDARD",
        marac_referral="N", crime_recorded="N",
    ),
    "police_da_children": contract_row(
        "police_da_children", blank=None, open_key=True,
        person_id="P1", dob="2010-01-01", sex="F",
    ),
    "police_missing_reports": contract_row(
        "police_missing_reports", blank=None, open_key=True,
        la_code=HARTLEPOOL, person_id="P1", dob="2005-01-01", sex="F", reported_missing_at="2018-05-15 12:00:00",
        risk_grading="LOW", from_care="N",
    ),
    "la_early_help_assessments": contract_row(
        "la_early_help_assessments", blank=None, open_key=True,
        la_code=HARTLEPOOL, child_id="C1", dob="2010-01-01", sex="F", assessment_start_date="2018-04-02",
        assessment_completed_date="2018-05-15", neglect_identified="N",
    ),
    "la_cp_plans": contract_row(
        "la_cp_plans", blank=None, open_key=True,
        la_code=HARTLEPOOL, child_id="C1", dob="2010-01-01", sex="F", plan_start_date="2018-05-15",
        initial_category="PHY", latest_category="PHY",
    ),
    "la_cla_episodes": contract_row(
        "la_cla_episodes", blank=None, open_key=True,
        la_code=HARTLEPOOL, child_id="C1", dob="2010-01-01", sex="F", episode_start_date="2018-05-15",
        reason_new_episode="S", legal_status="C2", category_of_need="N1",
    ),
    "la_missing_episodes": contract_row(
        "la_missing_episodes", blank=None, open_key=True,
        la_code=HARTLEPOOL, child_id="C1", dob="2005-01-01", sex="F", missing_or_away="M",
        missing_start="2018-05-14 20:00:00", missing_end="2018-05-15 08:00:00", rhi_offered="Y", rhi_accepted="Y",
    ),
    "la_vemt_screenings": contract_row(
        "la_vemt_screenings", blank=None, open_key=True,
        la_code=HARTLEPOOL, child_id="C1", dob="2005-01-01", sex="F", screening_date="2018-05-15",
        risk_level="LOW", missing_concern="N", exploitation_concern="N", trafficking_concern="N", holistic_plan="N",
    ),
    "health_ae_attendances": contract_row(
        "health_ae_attendances", blank=None, open_key=True,
        la_code=HARTLEPOOL, nhs_number=NHS_A, dob="2005-01-01", sex="F", arrived_at="2018-05-15 12:00:00",
        attendance_reason="OTHER", safeguarding_referral="N",
    ),
    "health_treatment_episodes": contract_row(
        "health_treatment_episodes", blank=None, open_key=True,
        la_code=HARTLEPOOL, client_id="H1", service="SUBSTANCE_MISUSE", lives_with_children="Y",
        referral_date="2018-04-02",
    ),
}

assert set(VALID_ROWS) == set(DEFAULTS) == set(CONTRACT), "one row of each kind per extract of the contract"


def rows_for(extract: str, n: int, **changes: str) -> list[dict[str, str]]:
    """``n`` valid rows of an extract with distinct keys (``changes`` applied to all).

    Each row's key is made distinct; a key column that links the row to its parent extract
    (police_da_children's incident_id) is kept, so every row belongs to the same parent.
    """
    contract = CONTRACT[extract]
    base = VALID_ROWS[extract]
    linked = contract.parent.on if contract.parent else None
    rows = []
    for index in range(n):
        row = dict(base, **changes)
        for key in contract.key:
            if key == linked:
                continue
            row[key] = f"{base[key]}-{index:04d}"
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
