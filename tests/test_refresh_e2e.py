"""End to end: the CLI on a small generated dataset, asserting on what users get."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pytest

from pipelines.cli import main
from pipelines.ingest import FileReader, discover, normalise_header
from pipelines.periods import Quarter
from query_rows import query_rows

pytestmark = pytest.mark.e2e

FIRST, LAST = Quarter.parse("2018-19 Q1"), Quarter.parse("2018-19 Q4")


@pytest.fixture(scope="module")
def demo(e2e_refresh):
    """Four quarters of demo extracts for the four Tees LAs, refreshed once for the session
    (tests/conftest.py, ``e2e_refresh``): read here, never written."""
    assert (e2e_refresh["first"], e2e_refresh["last"]) == (FIRST, LAST)  # the quarters the assertions name
    return e2e_refresh


def _query(marts: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(marts / "pmf.duckdb"), read_only=True) as con:
        return con.execute(sql).df()


def test_refresh_succeeds_and_publishes_every_output(demo, capsys):
    assert demo["exit"] == 0
    marts = demo["marts"]
    assert (marts / "pmf.duckdb").is_file()
    assert (marts / "board" / "HSCB-PMF-2018-19-Q4.xlsx").is_file()
    assert (marts / "reports" / "validation-2018-19-Q4.md").is_file()
    assert (marts / "reports" / "data-docs" / "index.html").is_file()
    assert "[data-docs/index.html](data-docs/index.html)" in (marts / "reports" / "validation-2018-19-Q4.md").read_text()
    assert sorted(p.stem for p in (marts / "parquet").glob("*.parquet")) == sorted(
        _query(marts, "select table_name from duckdb_tables()")["table_name"]
    )
    assert not list(marts.glob(".build-*")), "the build folder is cleaned up"


def test_every_indicator_la_and_quarter_is_present(demo):
    values = _query(demo["marts"], "select * from indicator_values")
    assert len(values) == 13 * 4 * 4
    assert values.groupby(["indicator_code", "la_code", "period"]).size().max() == 1
    available = values[values["value"].notna()]
    assert (available["ci_lower"] <= available["value"]).all() and (available["value"] <= available["ci_upper"]).all()
    # LSCB19's 12-month window reaches before 2018-19 Q1 for the first three quarters only.
    lscb19 = values[values["indicator_code"] == "LSCB19"].groupby("period")["history_incomplete"].all()
    assert lscb19.to_dict() == {"2018-19 Q1": True, "2018-19 Q2": True, "2018-19 Q3": True, "2018-19 Q4": False}


def test_files_reconcile_and_quarantine_holds_exactly_the_planted_rows(demo):
    marts = demo["marts"]
    quality = _query(marts, "select * from data_quality")
    assert (quality["rows_received"] == quality["rows_staged"] + quality["rows_quarantined"]).all()
    assert (quality["status"] == "accepted").all()
    quarantine = _query(marts, "select period, file_name, row_number, column_name, rule from quarantine")
    planted = pd.read_csv(demo["raw"] / "_demo" / "planted_errors.csv", dtype=str)
    planted = planted[planted["outcome"] == "quarantine"]
    expected = {(f"{p}/{f}", int(r), c, rule) for p, f, r, c, rule in planted[["period", "file_name", "row_number", "column_name", "rule"]].itertuples(index=False)}
    got = {(f, int(r), c, rule) for f, r, c, rule in quarantine[["file_name", "row_number", "column_name", "rule"]].itertuples(index=False)}
    assert got == expected
    per_file = quarantine.groupby("file_name").size()
    assert (quality.set_index("file_name")["rows_quarantined"].reindex(per_file.index) == per_file).all()


def _raw_identifiers(raw: Path) -> set[str]:
    """NHS numbers and agency person ids as sent, read with the contract's reader (tested in
    test_intake) so that header variants and XLSX title rows are handled."""
    ids: set[str] = set()
    for source in discover(raw).files:
        for chunk in FileReader(source).chunks():
            for column in source.extract.columns:
                if column.identifier in ("nhs_number", "person_id"):
                    ids |= {v for v in chunk[column.name].dropna() if len(v) >= 4}
    return ids


def test_no_identifier_reaches_marts_parquet_workbook_reports_or_logs(demo):
    ids = _raw_identifiers(demo["raw"])
    assert len(ids) > 1000
    marts = demo["marts"]
    with duckdb.connect(str(marts / "pmf.duckdb"), read_only=True) as con:
        columns = query_rows(con, "select table_name, column_name, data_type from duckdb_columns() where not internal")
        forbidden = {"nhs_number", "child_id", "person_id", "client_id", "victim_id", "dob"}
        assert not [c for c in columns if c["column_name"] in forbidden]
        for c in columns:
            table, column = c["table_name"], c["column_name"]
            if c["data_type"] == "VARCHAR":
                values = {row["value"] for row in query_rows(con, f'select distinct upper("{column}") as value from {table}')
                          if row["value"]}
                assert not values & ids, f"{table}.{column} holds raw identifiers"
            if column == "birth_month":
                days = query_rows(con, f"select distinct day(birth_month) as day from {table} where birth_month is not null")
                assert days == [{"day": 1}]
    parquet_values = 0
    with duckdb.connect() as con:
        for parquet in sorted((marts / "parquet").glob("*.parquet")):
            frame = con.execute(f"select * from read_parquet('{parquet}')").df()
            text = {str(v).upper() for column in frame.columns if frame[column].dtype == object or str(frame[column].dtype) == "str" for v in frame[column].dropna()}
            assert not text & ids, f"{parquet.name} holds raw identifiers"
            parquet_values += len(text)
    assert parquet_values > 10_000  # the scan saw the pseudonymised keys, codes and messages
    workbook = openpyxl.load_workbook(marts / "board" / "HSCB-PMF-2018-19-Q4.xlsx")
    cells = {str(cell.value).upper() for sheet in workbook for row in sheet.iter_rows() for cell in row if cell.value is not None}
    assert not cells & ids
    pages = sorted(marts.glob("reports/data-docs/**/*.html"))
    assert len(pages) > 10  # the index, every suite, every validation result
    for text_file in [*marts.glob("reports/*.md"), *marts.glob("logs/*.log"), *pages]:
        tokens = set(re.findall(r"[A-Z0-9]{4,}", text_file.read_text().upper()))
        assert not tokens & ids, f"{text_file.name} holds raw identifiers"


def _fingerprint(marts: Path) -> dict[str, str]:
    files = [marts / "pmf.duckdb", *sorted((marts / "board").glob("*.xlsx")), *sorted((marts / "parquet").glob("*"))]
    return {str(p.relative_to(marts)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_missing_required_column_exits_2_and_leaves_outputs_untouched(demo, e2e_marts_copy, tmp_path, capsys):
    # Into a copy of the published marts: the rejected run writes its report and log beside them.
    marts = e2e_marts_copy
    raw = tmp_path / "raw"
    shutil.copytree(demo["raw"], raw)
    target = raw / LAST.folder_id / "police_missing_reports.csv"
    frame = pd.read_csv(target, dtype=str, keep_default_na=False)
    risk = next(c for c in frame.columns if normalise_header(c) == "risk_grading")
    frame.drop(columns=[risk]).to_csv(target, index=False)
    before = _fingerprint(marts)
    capsys.readouterr()
    code = main(["refresh", "--raw-dir", str(raw), "--marts-dir", str(marts), "--config", str(demo["config"])])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{LAST.folder_id}/police_missing_reports.csv" in err and "risk_grading" in err
    assert _fingerprint(marts) == before
    # The rejected run's report is kept apart: reports/ belongs to the published refresh.
    report = (marts / "rejected" / f"validation-{LAST.folder_id}.md").read_text()
    assert "police_missing_reports.csv | missing required column: risk_grading" in report
    assert "missing required column" not in (marts / "reports" / f"validation-{LAST.folder_id}.md").read_text()


def test_unknown_period_is_a_clear_error(demo, e2e_marts_copy, capsys):
    code = main(["refresh", "--raw-dir", str(demo["raw"]), "--marts-dir", str(e2e_marts_copy), "--period", "2030-31 Q1", "--config", str(demo["config"])])
    assert code == 2
    assert "no folder 2030-31-Q1" in capsys.readouterr().err


def test_the_run_record_covers_the_whole_run_and_matches_the_run_log(demo):
    marts = demo["marts"]
    manifest = json.loads((marts / "current" / "release.json").read_text())
    logged = _query(marts, "select * from refresh_log").set_index("run_id").loc[manifest["run_id"]]
    # Finished after the workbook, reports and Parquet were written, not before them (the seal
    # itself then writes the record into pmf.duckdb, refresh_log.parquet and release.json).
    sealed = {"release.json", "pmf.duckdb", "refresh_log.parquet"}
    newest_output = max(p.stat().st_mtime for p in (marts / "current").rglob("*") if p.is_file() and p.name not in sealed)
    assert logged["finished_at"] >= datetime.fromtimestamp(int(newest_output), UTC).replace(tzinfo=None)
    assert logged["duration_seconds"] == pytest.approx(
        (logged["finished_at"] - logged["started_at"]).total_seconds(), abs=1.0
    )
    records = [json.loads(line) for line in (marts / "logs" / "refresh_log.jsonl").read_text().splitlines()]
    (record,) = [r for r in records if r["run_id"] == manifest["run_id"]]
    assert record["outcome"] == "published"
    assert record["duration_seconds"] == logged["duration_seconds"]
