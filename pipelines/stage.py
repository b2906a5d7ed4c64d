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

from pipelines.contract import load_contract
from pipelines.ingest import Discovery, FileReader, FileRejected, SourceFile, discover, sha256_of
from pipelines.periods import Quarter
from pipelines.rules import MAX_QUARANTINED_SHARE, FileRule
from pipelines.validate import ChunkOutcome, SubmissionState, take_validation_results, validate_chunks

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
    def period_start(self):
        return Quarter.parse(self.period).start_date

    @property
    def is_rejected(self) -> bool:
        return self.status == "rejected"


@dataclass
class IntakeResult:
    files: list[FileReport] = field(default_factory=list)
    quarantine: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=QUARANTINE_COLUMNS))
    periods: list[Quarter] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    validation_results: list[dict] = field(default_factory=list)  # GX results as JSON (unmasked), for Data Docs

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
    """Read, validate and load every file under ``raw_dir`` (see module docstring).

    Rows of consecutive files of one extract are validated together, up to ``chunk_rows`` rows
    at a time: memory is bounded by ``chunk_rows``, and GX's fixed cost per call is paid once
    per batch rather than once per small file.
    """
    found: Discovery = discover(raw_dir)
    result = IntakeResult(periods=found.periods, warnings=list(found.warnings))
    create_raw_tables(con, schema)
    batch = _Batch(con, SubmissionState(), schema, chunk_rows)
    done = 0

    def finished(intake_file: _FileIntake) -> None:
        nonlocal done
        done += 1
        report = intake_file.finish(con, schema)
        result.files.append(report)
        outcome = (
            f"REJECTED ({report.message})"
            if report.is_rejected
            else f"{report.rows_staged} staged, {report.rows_quarantined} quarantined"
        )
        progress(f"  [{done}/{len(found.files)}] {report.file_name}: {report.rows_received} rows, {outcome}")

    batch.on_file_done = finished
    for source in found.files:
        intake_file = _FileIntake(source, FileReport(source.period.label, source.extract.name, source.file_name, sha256_of(source.path)))
        reader = FileReader(source, chunk_rows=chunk_rows)
        try:
            for chunk in reader.chunks():
                batch.add(intake_file, chunk)
        except FileRejected as rejection:
            batch.discard(intake_file)
            intake_file.rejection = rejection
        intake_file.extra_columns = reader.header.extra_columns if reader.header else []
        batch.close_file(intake_file)
    batch.flush()
    parts = [f.quarantine_frame() for f in batch.all_files if f.quarantine_parts]
    if parts:
        result.quarantine = pd.concat(parts, ignore_index=True)[QUARANTINE_COLUMNS]
    result.files.sort(key=lambda r: (r.period_start, r.file_name))
    result.validation_results = take_validation_results()
    return result


@dataclass(eq=False)
class _FileIntake:
    """One file's progress through intake."""

    source: SourceFile
    report: FileReport
    quarantine_parts: list[pd.DataFrame] = field(default_factory=list)
    warnings: dict[str, int] = field(default_factory=dict)
    extra_columns: list[str] = field(default_factory=list)
    rejection: FileRejected | None = None
    is_closed: bool = False
    pending_chunks: int = 0

    def record(self, chunk: pd.DataFrame, outcome: ChunkOutcome) -> None:
        self.report.rows_received += len(chunk)
        self.report.rows_quarantined += len(outcome.quarantine)
        self.report.rows_staged += len(outcome.staged_rows)
        for rule, count in outcome.warnings.items():
            self.warnings[rule] = self.warnings.get(rule, 0) + count
        if len(outcome.quarantine):
            self.quarantine_parts.append(outcome.quarantine)

    def finish(self, con: duckdb.DuckDBPyConnection, schema: str) -> FileReport:
        report = self.report
        if self.rejection is not None:
            _reject(report, con, self.source, schema, self.rejection.rule, self.rejection.message)
            return report
        notes = [f"extra columns ignored: {', '.join(self.extra_columns)}"] if self.extra_columns else []
        notes += [f"{count} value(s) with {rule} treated as missing" for rule, count in self.warnings.items()]
        share = report.rows_quarantined / report.rows_received
        if share > MAX_QUARANTINED_SHARE:
            _reject(
                report,
                con,
                self.source,
                schema,
                FileRule.TOO_MANY_QUARANTINED,
                f"{report.rows_quarantined} of {report.rows_received} rows ({share:.1%}) quarantined, "
                f"more than {MAX_QUARANTINED_SHARE:.0%}",
            )
        report.message = "; ".join([report.message, *notes]) if report.message else "; ".join(notes)
        if report.rows_received != report.rows_staged + report.rows_quarantined:
            raise RuntimeError(f"{report.file_name}: rows do not reconcile ({report})")
        return report

    def quarantine_frame(self) -> pd.DataFrame:
        return _with_file_columns(self.quarantine_parts, self.source)


class _Batch:
    """Chunks of one extract waiting to be validated together."""

    def __init__(self, con: duckdb.DuckDBPyConnection, state: SubmissionState, schema: str, limit: int) -> None:
        self.con, self.state, self.schema, self.limit = con, state, schema, limit
        self.items: list[tuple[_FileIntake, pd.DataFrame]] = []
        self.rows = 0
        self.all_files: list[_FileIntake] = []
        self.on_file_done: Callable[[_FileIntake], None] = lambda f: None

    def add(self, intake_file: _FileIntake, chunk: pd.DataFrame) -> None:
        if self.items and (
            self.items[0][0].source.extract.name != intake_file.source.extract.name or self.rows + len(chunk) > self.limit
        ):
            self.flush()
        self.items.append((intake_file, chunk))
        intake_file.pending_chunks += 1
        self.rows += len(chunk)

    def discard(self, intake_file: _FileIntake) -> None:
        """A file rejected while being read: drop its waiting chunks (its staged rows go in finish)."""
        self.items = [(f, c) for f, c in self.items if f is not intake_file]
        self.rows = sum(len(c) for _, c in self.items)
        intake_file.pending_chunks = 0

    def close_file(self, intake_file: _FileIntake) -> None:
        intake_file.is_closed = True
        self.all_files.append(intake_file)
        if intake_file.pending_chunks == 0:
            self.on_file_done(intake_file)

    def flush(self) -> None:
        if not self.items:
            return
        extract = self.items[0][0].source.extract
        outcomes = validate_chunks([(chunk, f.source.period) for f, chunk in self.items], extract, self.state)
        staged_parts = []
        for (intake_file, chunk), outcome in zip(self.items, outcomes, strict=True):
            intake_file.record(chunk, outcome)
            staged = chunk.loc[outcome.staged_rows].copy()
            for column, rows in outcome.invalid_values.items():
                staged.loc[staged.index.intersection(rows), column] = None  # contract: treated as missing
            staged_parts.append(_with_source_columns(staged, intake_file.source))
            intake_file.pending_chunks -= 1
        # One insert per batch, not per file: a DuckDB statement costs ~10-25 ms whatever its size.
        _insert(self.con, staged_parts, extract.name, self.schema)
        completed = [f for f, _ in self.items if f.is_closed and f.pending_chunks == 0]
        self.items, self.rows = [], 0
        for intake_file in dict.fromkeys(completed):
            self.on_file_done(intake_file)


def _reject(report: FileReport, con, source: SourceFile, schema: str, rule: FileRule, message: str) -> None:
    con.execute(f"delete from {schema}.raw_{source.extract.name} where _file_name = ?", [source.file_name])
    report.status = "rejected"
    report.rejection_rule = rule.value
    report.message = f"{rule.value}: {message}"
    # A rejected file stages nothing; the rows already found bad stay listed as quarantined.
    report.rows_staged = 0
    report.rows_quarantined = report.rows_received


def _with_source_columns(staged: pd.DataFrame, source: SourceFile) -> pd.DataFrame:
    """Staged rows with the metadata columns of their raw table (period, file, row number)."""
    frame = staged.reset_index()
    frame.insert(0, "_file_name", source.file_name)
    frame.insert(0, "_period_start", source.period.start_date)
    frame.insert(0, "_period", source.period.folder_id)
    return frame.rename(columns={"row_number": "_row_number"})


def _insert(con: duckdb.DuckDBPyConnection, parts: list[pd.DataFrame], extract_name: str, schema: str) -> None:
    """Append staged rows (of one or several files, in file order) to the extract's raw table."""
    parts = [part for part in parts if not part.empty]
    if not parts:
        return
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    con.register("_staged_chunk", frame)
    try:
        con.execute(f"insert into {schema}.raw_{extract_name} by name select * from _staged_chunk")
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
