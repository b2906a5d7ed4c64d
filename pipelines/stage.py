"""Intake: every raw file read, validated and either loaded into the work database or quarantined.

The work database holds one ``raw_<extract>`` table per extract: the validated rows as
normalised text, with the period, file and row they came from. It is private to one refresh
(built beside the marts and deleted afterwards); the staging SQL turns it into pseudonymised
``stg_*`` tables. Per file it records what the contract's reconciliation needs:
rows received = rows staged + rows quarantined.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.contract import Extract, load_contract
from pipelines.ingest import Discovery, FileReader, FileRejected, SourceFile, discover, sha256_of
from pipelines.periods import Quarter
from pipelines.rules import MAX_QUARANTINED_SHARE, FileRule
from pipelines.validate import SubmissionState, validate_chunk

log = logging.getLogger(__name__)

QUARANTINE_COLUMNS = ["period", "extract", "file_name", "row_number", "column_name", "value", "rule", "message"]
METADATA_COLUMNS = ["_period", "_period_start", "_file_name", "_row_number"]


@dataclass
class FileReport:
    period: str
    extract: str
    file_name: str
    sha256: str
    rows_received: int = 0
    rows_staged: int = 0
    rows_quarantined: int = 0
    status: str = "accepted"
    message: str = ""
    rejection_rule: str | None = None

    @property
    def is_rejected(self) -> bool:
        return self.status == "rejected"


@dataclass
class IntakeResult:
    files: list[FileReport] = field(default_factory=list)
    quarantine: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=QUARANTINE_COLUMNS))
    periods: list[Quarter] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> list[FileReport]:
        return [report for report in self.files if report.is_rejected]

    def data_quality_frame(self) -> pd.DataFrame:
        columns = ["period", "extract", "file_name", "sha256", "rows_received", "rows_staged", "rows_quarantined", "status", "message"]
        return pd.DataFrame([{name: getattr(report, name) for name in columns} for report in self.files], columns=columns)

    def receipts_frame(self) -> pd.DataFrame:
        """Extract x period pairs received (at least one file not rejected)."""
        rows = {(r.extract, r.period) for r in self.files if not r.is_rejected}
        return pd.DataFrame(sorted(rows), columns=["extract", "period"])


def create_raw_tables(con: duckdb.DuckDBPyConnection, schema: str = "work.main") -> None:
    for extract in load_contract().values():
        columns = ", ".join(f"{name} varchar" for name in extract.column_names)
        con.execute(
            f"create or replace table {schema}.raw_{extract.name} ("
            f"_period varchar, _period_start date, _file_name varchar, _row_number bigint, {columns})"
        )


def intake(
    raw_dir: Path,
    con: duckdb.DuckDBPyConnection,
    *,
    chunk_rows: int = 200_000,
    schema: str = "work.main",
    progress: Callable[[str], None] = log.info,
) -> IntakeResult:
    """Read, validate and load every file under ``raw_dir`` (see module docstring)."""
    found: Discovery = discover(raw_dir)
    result = IntakeResult(periods=found.periods, warnings=list(found.warnings))
    create_raw_tables(con, schema)
    state = SubmissionState()
    quarantine_parts: list[pd.DataFrame] = []
    for number, source in enumerate(found.files, start=1):
        report, quarantined = _intake_file(source, con, state, chunk_rows=chunk_rows, schema=schema)
        result.files.append(report)
        if len(quarantined):
            quarantine_parts.append(quarantined)
        outcome = (
            f"REJECTED ({report.message})"
            if report.is_rejected
            else f"{report.rows_staged} staged, {report.rows_quarantined} quarantined"
        )
        progress(f"  [{number}/{len(found.files)}] {report.file_name}: {report.rows_received} rows, {outcome}")
    if quarantine_parts:
        result.quarantine = pd.concat(quarantine_parts, ignore_index=True)[QUARANTINE_COLUMNS]
    return result


def _intake_file(
    source: SourceFile, con: duckdb.DuckDBPyConnection, state: SubmissionState, *, chunk_rows: int, schema: str
) -> tuple[FileReport, pd.DataFrame]:
    extract = source.extract
    report = FileReport(source.period.label, extract.name, source.file_name, sha256_of(source.path))
    reader = FileReader(source, chunk_rows=chunk_rows)
    quarantine_parts: list[pd.DataFrame] = []
    notes: list[str] = []
    warnings: dict[str, int] = {}
    try:
        for chunk in reader.chunks():
            outcome = validate_chunk(chunk, extract, source.period, state)
            report.rows_received += len(chunk)
            report.rows_quarantined += len(outcome.quarantine)
            report.rows_staged += len(outcome.staged_rows)
            for rule, count in outcome.warnings.items():
                warnings[rule] = warnings.get(rule, 0) + count
            staged = chunk.loc[outcome.staged_rows].copy()
            for column, rows in outcome.invalid_values.items():
                staged.loc[staged.index.intersection(rows), column] = None  # contract: treated as missing
            _insert(con, staged, source, schema)
            if len(outcome.quarantine):
                quarantine_parts.append(outcome.quarantine)
    except FileRejected as rejection:
        _reject(report, con, source, schema, rejection.rule, rejection.message)
        return report, _with_file_columns(quarantine_parts, source)
    if reader.header and reader.header.extra_columns:
        notes.append(f"extra columns ignored: {', '.join(reader.header.extra_columns)}")
    notes.extend(f"{count} value(s) with {rule} treated as missing" for rule, count in warnings.items())
    share = report.rows_quarantined / report.rows_received
    if share > MAX_QUARANTINED_SHARE:
        _reject(
            report,
            con,
            source,
            schema,
            FileRule.TOO_MANY_QUARANTINED,
            f"{report.rows_quarantined} of {report.rows_received} rows ({share:.1%}) quarantined, "
            f"more than {MAX_QUARANTINED_SHARE:.0%}",
        )
    report.message = "; ".join([report.message, *notes]) if report.message else "; ".join(notes)
    assert report.rows_received == report.rows_staged + report.rows_quarantined, report
    return report, _with_file_columns(quarantine_parts, source)


def _reject(report: FileReport, con, source: SourceFile, schema: str, rule: FileRule, message: str) -> None:
    con.execute(f"delete from {schema}.raw_{source.extract.name} where _file_name = ?", [source.file_name])
    report.status = "rejected"
    report.rejection_rule = rule.value
    report.message = f"{rule.value}: {message}"
    # A rejected file stages nothing; the rows already found bad stay listed as quarantined.
    report.rows_staged = 0
    report.rows_quarantined = report.rows_received


def _insert(con: duckdb.DuckDBPyConnection, staged: pd.DataFrame, source: SourceFile, schema: str) -> None:
    if staged.empty:
        return
    frame = staged.reset_index()
    frame.insert(0, "_file_name", source.file_name)
    frame.insert(0, "_period_start", source.period.start_date)
    frame.insert(0, "_period", source.period.folder_id)
    frame = frame.rename(columns={"row_number": "_row_number"})
    con.register("_staged_chunk", frame)
    try:
        con.execute(f"insert into {schema}.raw_{source.extract.name} by name select * from _staged_chunk")
    finally:
        con.unregister("_staged_chunk")


def _with_file_columns(parts: list[pd.DataFrame], source: SourceFile) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame(columns=QUARANTINE_COLUMNS)
    table = pd.concat(parts, ignore_index=True)
    table.insert(0, "file_name", source.file_name)
    table.insert(0, "extract", source.extract.name)
    table.insert(0, "period", source.period.label)
    return table[QUARANTINE_COLUMNS]


def extract_of(name: str) -> Extract:
    return load_contract()[name]
