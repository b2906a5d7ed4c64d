"""Every rule of the extract contract: a small file breaking exactly that rule, and its outcome.

Files hold 40 rows so that one bad row (2.5%) stays under the 5% rejection share.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from extract_rows import CONTRACT, VALID_ROWS, rows_for, write_csv, write_xlsx
from pipelines.intake import intake
from pipelines.suites import stale_suites

PERIOD = "2018-19-Q3"


def run(raw_dir: Path, con):
    return intake(raw_dir, con, progress=lambda message: None)


def quarantined(result) -> list[tuple[str, int, str, str]]:
    q = result.quarantine
    return sorted(zip(q["file_name"], q["row_number"].astype(int), q["column_name"], q["rule"], strict=True))


def staged_values(con, extract: str, column: str) -> list:
    return [row[0] for row in con.execute(f"select {column} from work.main.raw_{extract} order by _row_number").fetchall()]


ROW_RULES = [
    # (extract, column, bad value, rule[, other changes so that only that rule is broken])
    ("police_missing_reports", "risk_grading", "", "required value missing"),
    ("la_cp_plans", "sex", "N/A", "required value missing"),
    ("la_cp_plans", "plan_start_date", "31/02/2018", "unparseable date"),
    ("la_cp_plans", "plan_start_date", "2018-13-01", "unparseable date"),
    ("la_cla_episodes", "episode_start_date", "3rd Oct", "unparseable date"),
    ("police_missing_reports", "reported_missing_at", "10/05/2018 25:00", "unparseable date"),
    ("police_da_incidents", "reported_at", "1999-12-31 10:00", "impossible date"),
    ("la_cla_episodes", "category_of_need", "N9", "unknown code"),
    ("la_vemt_screenings", "risk_level", "MODERATE", "unknown code"),
    ("police_da_incidents", "la_code", "E12000001", "unknown code"),
    ("health_ae_attendances", "nhs_number", "9434765918", "invalid NHS number"),
    ("la_cp_plans", "plan_end_date", "2018-10-01", "end before start"),
    ("la_missing_episodes", "rhi_date", "2018-10-05", "end before start"),
    ("police_missing_reports", "found_at", "05/10/2018 21:59", "end before start"),
    ("health_treatment_episodes", "discharge_reason", "", "required value missing"),
    ("la_cla_episodes", "dob", "2018-12-01", "dob after event"),
    ("la_early_help_assessments", "dob", "2018-10-03", "dob after event"),
    ("la_cp_plans", "dob", "2019-07-13", "dob after event"),  # 281 days after the plan's start
    ("police_missing_reports", "reported_missing_at", "2019-01-01 00:10", "event after period", {"found_at": ""}),
    ("la_vemt_screenings", "screening_date", "2019-01-01", "event after period"),
    ("police_da_children", "incident_id", "I-NOT-SENT", "orphan"),
    ("police_da_children", "dob", "2018-10-04", "dob after event"),
]


def _files_for(raw_dir: Path, extract: str, rows: list[dict], fmt: str) -> str:
    folder = raw_dir / PERIOD
    if extract == "police_da_children":  # needs its incidents file
        write_csv(folder / "police_da_incidents.csv", [VALID_ROWS["police_da_incidents"]])
    name = f"{extract}.{fmt}"
    if fmt == "csv":
        write_csv(folder / name, rows)
    else:
        write_xlsx(folder / name, rows, title_rows=[["Quarterly extract"], ["Period: 2018-19 Q3"], []])
    return f"{PERIOD}/{name}"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize(("extract", "column", "bad", "rule", "other"), [(*case, {})[:5] for case in ROW_RULES])
def test_each_row_rule_quarantines_exactly_the_bad_row(raw_dir, work_con, fmt, extract, column, bad, rule, other):
    rows = rows_for(extract, 40)
    rows[6].update(other)
    rows[6][column] = bad
    file_name = _files_for(raw_dir, extract, rows, fmt)
    result = run(raw_dir, work_con)
    # CSV: header is row 1, so list index 6 is row 8; XLSX: three title rows push it to row 11.
    expected_row = 8 if fmt == "csv" else 11
    assert quarantined(result) == [(file_name, expected_row, column, rule)]
    report = next(r for r in result.files if r.file_name == file_name)
    assert (report.rows_received, report.rows_staged, report.rows_quarantined, report.status) == (40, 39, 1, "accepted")


def test_invalid_optional_nhs_number_is_a_warning_and_staged_as_missing(raw_dir, work_con):
    rows = rows_for("la_cp_plans", 40, nhs_number="943 476 5919")
    rows[2]["nhs_number"] = "9434765918"  # check digit wrong
    write_csv(raw_dir / PERIOD / "la_cp_plans.csv", rows)
    result = run(raw_dir, work_con)
    assert quarantined(result) == []
    assert "1 value(s) with invalid NHS number treated as missing" in result.files[0].message
    values = staged_values(work_con, "la_cp_plans", "nhs_number")
    assert values[2] is None and values[0] == "9434765919" and len(values) == 40


def test_unborn_child_within_280_days_is_valid(raw_dir, work_con):
    rows = rows_for("la_cp_plans", 40)
    rows[0]["dob"] = "2019-07-12"  # exactly 280 days after the 2018-10-05 start
    write_csv(raw_dir / PERIOD / "la_cp_plans.csv", rows)
    assert quarantined(run(raw_dir, work_con)) == []


def test_late_recorded_event_before_the_period_is_valid(raw_dir, work_con):
    rows = rows_for("police_missing_reports", 40)
    rows[0]["reported_missing_at"] = "2018-06-30 23:00"
    rows[0]["found_at"] = ""
    write_csv(raw_dir / PERIOD / "police_missing_reports.csv", rows)
    result = run(raw_dir, work_con)
    assert quarantined(result) == [] and result.files[0].rows_staged == 40


def test_return_interview_on_the_day_missing_ended_is_valid(raw_dir, work_con):
    rows = rows_for("la_missing_episodes", 40)
    rows[0]["rhi_date"] = "2018-10-06"  # missing_end is 2018-10-06 09:30: same calendar day
    write_csv(raw_dir / PERIOD / "la_missing_episodes.csv", rows)
    assert quarantined(run(raw_dir, work_con)) == []


def test_duplicate_key_quarantines_copies_after_the_first(raw_dir, work_con):
    rows = rows_for("police_da_incidents", 40)
    rows[10]["incident_id"] = rows[3]["incident_id"]
    rows[20]["incident_id"] = rows[3]["incident_id"]
    write_csv(raw_dir / PERIOD / "police_da_incidents.csv", rows)
    assert quarantined(run(raw_dir, work_con)) == [
        (f"{PERIOD}/police_da_incidents.csv", 12, "incident_id", "duplicate key"),
        (f"{PERIOD}/police_da_incidents.csv", 22, "incident_id", "duplicate key"),
    ]


def test_duplicate_key_across_split_files_is_quarantined_in_the_later_file(raw_dir, work_con):
    first = rows_for("la_cp_plans", 40)
    second = rows_for("la_cp_plans", 40, la_code="E06000002")
    for row in second:
        row["plan_id"] = row["plan_id"].replace("CP1", "CP2")
    second[5]["plan_id"] = first[0]["plan_id"]
    write_csv(raw_dir / PERIOD / "la_cp_plans--E06000002.csv", second)
    write_csv(raw_dir / PERIOD / "la_cp_plans--E06000001.csv", first)
    assert quarantined(run(raw_dir, work_con)) == [(f"{PERIOD}/la_cp_plans--E06000002.csv", 7, "plan_id", "duplicate key")]


def test_composite_key_of_children_at_incidents(raw_dir, work_con):
    rows = rows_for("police_da_children", 40)
    rows[9]["person_id"] = rows[1]["person_id"]  # same child, same incident, twice
    _files_for(raw_dir, "police_da_children", rows, "csv")
    assert quarantined(run(raw_dir, work_con)) == [(f"{PERIOD}/police_da_children.csv", 11, "incident_id", "duplicate key")]


def test_a_row_with_several_problems_is_quarantined_once_with_every_problem_in_its_message(raw_dir, work_con):
    rows = rows_for("la_vemt_screenings", 40)
    rows[0].update(sex="Q", risk_level="", screening_date="2019-02-01")
    write_csv(raw_dir / PERIOD / "la_vemt_screenings.csv", rows)
    result = run(raw_dir, work_con)
    assert quarantined(result) == [(f"{PERIOD}/la_vemt_screenings.csv", 2, "risk_level", "required value missing")]
    message = result.quarantine["message"].iloc[0]
    assert "sex 'Q' is not one of the allowed codes" in message and "after the end of the submission's period" in message
    assert message.startswith("risk_level blank is required but missing")


def test_identifier_values_are_masked_in_quarantine(raw_dir, work_con):
    rows = rows_for("health_ae_attendances", 40)
    rows[0]["nhs_number"] = "943 476 5918"
    rows[1]["dob"] = "2019-05-01"
    write_csv(raw_dir / PERIOD / "health_ae_attendances.csv", rows)
    values = run(raw_dir, work_con).quarantine.sort_values("row_number")["value"].tolist()
    assert values == ["9999999999", "9999-99-99"]


# --------------------------------------------------------------------------- format rules


def test_header_variants_extra_columns_and_value_normalisation(raw_dir, work_con):
    header = [" Incident ID ", "LA_CODE", "Reported At", "victim id", "DASH_Risk", "marac referral", "Crime Recorded", "Notes"]
    rows = rows_for("police_da_incidents", 40)
    for row in rows:
        row["notes"] = "free text, with a comma"
    rows[0].update(reported_at="03/10/2018 14:05:33", dash_risk=" high ", victim_id=" p00123a ", la_code="e06000001")
    rows[1].update(reported_at="2018-10-3 9:05")
    write_csv(raw_dir / PERIOD / "police_da_incidents.csv", rows, header=header)
    result = run(raw_dir, work_con)
    assert quarantined(result) == []
    assert result.files[0].message == "extra columns ignored: Notes"
    assert staged_values(work_con, "police_da_incidents", "reported_at")[:2] == ["2018-10-03 14:05:33", "2018-10-03 09:05:00"]
    assert staged_values(work_con, "police_da_incidents", "dash_risk")[0] == "HIGH"
    assert staged_values(work_con, "police_da_incidents", "victim_id")[0] == "P00123A"
    assert staged_values(work_con, "police_da_incidents", "la_code")[0] == "E06000001"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp1252"])
def test_bom_and_windows_1252(raw_dir, work_con, encoding):
    rows = rows_for("la_cla_episodes", 40)
    rows[0]["reason_episode_ceased"] = "Moved – £ café"
    write_csv(raw_dir / PERIOD / "la_cla_episodes.csv", rows, encoding=encoding)
    result = run(raw_dir, work_con)
    assert quarantined(result) == [] and result.files[0].rows_staged == 40
    assert staged_values(work_con, "la_cla_episodes", "reason_episode_ceased")[0] == "Moved – £ café"
    assert staged_values(work_con, "la_cla_episodes", "episode_id")[0] == "CLA1-0000"


def test_missing_value_tokens_and_identifiers_keep_leading_zeros(raw_dir, work_con):
    rows = rows_for("la_cla_episodes", 40)
    for row, token in zip(rows, ["NULL", "n/a", "NA", "-", "", "  "], strict=False):
        row["episode_end_date"] = token
    write_csv(raw_dir / PERIOD / "la_cla_episodes.csv", rows)
    result = run(raw_dir, work_con)
    assert quarantined(result) == []
    assert staged_values(work_con, "la_cla_episodes", "episode_end_date")[:6] == [None] * 6
    assert staged_values(work_con, "la_cla_episodes", "child_id")[0] == "00123"


def test_quoted_multiline_field_and_blank_line_keep_spreadsheet_row_numbers(raw_dir, work_con):
    rows = rows_for("la_cla_episodes", 40)
    rows[0]["reason_episode_ceased"] = "line one,\nline two"
    rows[1]["category_of_need"] = "N0"
    path = write_csv(raw_dir / PERIOD / "la_cla_episodes.csv", rows)
    text = path.read_text().splitlines(keepends=True)
    text.insert(4, "\n")  # a blank line after the second record (which spans lines 2-3)
    path.write_text("".join(text))
    rows[2]["category_of_need"] = "N0"
    result = run(raw_dir, work_con)
    # Record 1 (row 2) spans two lines but is one spreadsheet row; the bad record is row 3.
    assert quarantined(result) == [(f"{PERIOD}/la_cla_episodes.csv", 3, "category_of_need", "unknown code")]
    assert result.files[0].rows_received == 40


def test_xlsx_real_dates_leading_blank_rows_and_sheet_row_numbers(raw_dir, work_con):
    rows = rows_for("la_cp_plans", 40)
    for row in rows:
        row["plan_start_date"] = dt.datetime(2018, 10, 5)
        row["dob"] = dt.date(2010, 5, 1)
    rows[3]["initial_category"] = "XXX"
    write_xlsx(raw_dir / PERIOD / "la_cp_plans.xlsx", rows, title_rows=[[], [], ["CP plans report"], []])
    result = run(raw_dir, work_con)
    # Four rows above the header (two blank, a title, a blank): header on row 5, index 3 on row 9.
    assert quarantined(result) == [(f"{PERIOD}/la_cp_plans.xlsx", 9, "initial_category", "unknown code")]
    assert staged_values(work_con, "la_cp_plans", "plan_start_date")[0] == "2018-10-05"


# --------------------------------------------------------------------------- file rules


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_missing_required_column_rejects_the_file_naming_it(raw_dir, work_con, fmt):
    rows = [{k: v for k, v in row.items() if k != "risk_grading"} for row in rows_for("police_missing_reports", 40)]
    writer = write_csv if fmt == "csv" else write_xlsx
    writer(raw_dir / PERIOD / f"police_missing_reports.{fmt}", rows)
    report = run(raw_dir, work_con).files[0]
    assert report.status == "rejected"
    assert report.message.startswith("missing required column: risk_grading")
    assert (report.rows_staged, work_con.execute("select count(*) from work.main.raw_police_missing_reports").fetchone()[0]) == (0, 0)


def test_more_than_five_percent_quarantined_rejects_the_file(raw_dir, work_con):
    rows = rows_for("police_da_incidents", 19)
    rows[0]["dash_risk"] = "EXTREME"  # 1 of 19 = 5.3%
    write_csv(raw_dir / PERIOD / "police_da_incidents.csv", rows)
    report = run(raw_dir, work_con).files[0]
    assert report.status == "rejected" and "1 of 19 rows (5.3%) quarantined" in report.message
    assert work_con.execute("select count(*) from work.main.raw_police_da_incidents").fetchone()[0] == 0


def test_exactly_five_percent_is_accepted(raw_dir, work_con):
    rows = rows_for("police_da_incidents", 20)
    rows[0]["dash_risk"] = "EXTREME"  # 1 of 20 = 5.0%: not more than 5%
    write_csv(raw_dir / PERIOD / "police_da_incidents.csv", rows)
    assert run(raw_dir, work_con).files[0].status == "accepted"


@pytest.mark.parametrize(
    ("name", "content", "rule"),
    [
        ("police_da_incidents.csv", ",".join(VALID_ROWS["police_da_incidents"]).encode() + b"\n", "no data rows"),
        ("police_da_incidents.csv", b"\x81\x8d\x8f\x90\x9d not text", "undecodable text"),
        ("police_da_incidents.xlsx", b"PK\x03\x04 this is not a workbook", "unreadable file"),
    ],
)
def test_file_level_rejections(raw_dir, work_con, name, content, rule):
    (raw_dir / PERIOD).mkdir()
    (raw_dir / PERIOD / name).write_bytes(content)
    report = run(raw_dir, work_con).files[0]
    assert report.status == "rejected" and report.message.startswith(rule)


def test_every_raw_row_is_staged_or_quarantined(raw_dir, work_con):
    for extract in VALID_ROWS:
        rows = rows_for(extract, 40)
        rows[0][CONTRACT[extract].key[0]] = ""  # key missing
        _files_for(raw_dir, extract, rows, "csv") if extract == "police_da_children" else write_csv(
            raw_dir / PERIOD / f"{extract}.csv", rows
        )
    result = run(raw_dir, work_con)
    for report in result.files:
        staged = work_con.execute(
            f"select count(*) from work.main.raw_{report.extract} where _file_name = ?", [report.file_name]
        ).fetchone()[0]
        in_quarantine = int((result.quarantine["file_name"] == report.file_name).sum())
        assert report.rows_received == staged + in_quarantine == report.rows_staged + report.rows_quarantined


def test_committed_suites_match_the_contract():
    assert stale_suites() == []


def test_a_worker_running_older_intake_code_validates_nothing(raw_dir, monkeypatch, tmp_path):
    """Kept-state entries are named by the intake code on disk: a (warm) worker process that
    imported other code must not write one, whatever the cluster."""
    from pipelines import intake as intake_module
    from pipelines.ingest import discover
    from pipelines.keptstate import KeptState

    write_csv(raw_dir / PERIOD / "la_cp_plans.csv", rows_for("la_cp_plans", 3))
    state = KeptState(tmp_path / "kept")
    submissions = intake_module.plan(discover(raw_dir), state)
    batch = intake_module.Batch(tuple(submissions), state.root, 1000)
    monkeypatch.setattr(intake_module, "IMPORTED_CODE", "older code")
    with pytest.raises(RuntimeError, match="older than the code on disk"):
        intake_module.validate_batch(batch)
    assert not list((tmp_path / "kept").rglob("entry.json"))


def test_small_batches_share_tasks_of_even_cost_and_the_parents_go_alone(tmp_path):
    """``task_groups``: the parent's batches (which the children wait for) each go alone, first;
    a batch costing as much as a share (or ``_ALONE_COST_BYTES``) goes alone; the other batches
    are packed longest first onto the cheapest of ``2 * workers`` tasks; tasks come costliest
    first. A batch costs its bytes + 120 kB a file + 3.5 MB (a GX call)."""
    from pipelines import intake as intake_module
    from pipelines.batch import Batch, Submission
    from pipelines.contract import get_extract
    from pipelines.ingest import SourceFile
    from pipelines.periods import Quarter

    quarter = Quarter.parse(PERIOD)
    mb = 1_000_000

    def batch(extract_name: str, size: int) -> Batch:
        path = tmp_path / f"{extract_name}-{size}.csv"
        path.write_bytes(b"x" * size)
        extract = get_extract(extract_name)
        return Batch((Submission(extract, quarter, (SourceFile(path, extract, quarter),), ("sha",)),), tmp_path, 1000)

    assert (intake_module._CALL_COST_BYTES, intake_module._FILE_COST_BYTES, intake_module._ALONE_COST_BYTES) == (
        3_500_000, 120_000, 16_000_000)
    batches = [
        batch("police_da_incidents", 3 * mb), batch("police_da_incidents", mb),  # the parent: alone, each
        batch("health_ae_attendances", 20 * mb),  # costs 23.62 MB
        batch("la_cla_episodes", 2 * mb),  # 5.62
        batch("la_missing_episodes", 3 * mb // 2),  # 5.12
        batch("la_cp_plans", mb),  # 4.62
        batch("la_vemt_screenings", mb // 2),  # 4.12
    ]

    def names(workers: int) -> list[list[str]]:
        return [[b.submissions[0].extract.name for b in group] for group in intake_module.task_groups(batches, workers)]

    # Two workers, four tasks; a share is 43.1 / 4 = 10.775 MB: A&E alone; cla, missing and cp
    # open the other three; vemt joins the cheapest (cp, 4.62 -> 8.74).
    assert names(2) == [
        ["police_da_incidents"], ["police_da_incidents"], ["health_ae_attendances"],
        ["la_cp_plans", "la_vemt_screenings"], ["la_cla_episodes"], ["la_missing_episodes"],
    ]
    # One worker, two tasks; a share is 21.55 MB, so 16 MB decides: A&E alone, the rest together.
    assert names(1) == [
        ["police_da_incidents"], ["police_da_incidents"], ["health_ae_attendances"],
        ["la_cla_episodes", "la_missing_episodes", "la_cp_plans", "la_vemt_screenings"],
    ]
    # A batch that goes alone stays alone: nothing joins it, though it is not the dearest task.
    big = [batch("police_da_incidents", mb), batch("la_cla_episodes", 20 * mb), batch("la_missing_episodes", 20 * mb),
           batch("la_cp_plans", 5 * mb)]  # 23.62, 23.62, 8.62 MB: a share 27.93, so 16 MB decides
    assert [[b.submissions[0].extract.name for b in group] for group in intake_module.task_groups(big, 1)] == [
        ["police_da_incidents"], ["la_cla_episodes"], ["la_missing_episodes"], ["la_cp_plans"],
    ]
    assert intake_module.task_groups([]) == []
