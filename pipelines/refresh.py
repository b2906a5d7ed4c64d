"""The quarterly refresh as a sequence of plain functions (the Prefect flow in ``flows.py`` wraps
each in a task). Read top to bottom, this module *is* the pipeline:

intake (ingest + validate + load raw) → staging/intermediate/indicator SQL → indicator values
→ work-plan status → marts (comments, Parquet) → board workbook → seal → publish (one switch).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from datetime import UTC, datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from pipelines import __version__, benchmark, datadocs, leadforms, models, pseudonymise, report, revisions, spc
from pipelines.config import Settings
from pipelines.indicators import compute_indicator_values, definitions_frame
from pipelines.periods import Quarter
from pipelines.publish import MARTS_FILE, Build, close_build_connection, copy_published, export_parquet, open_build_connection, write_manifest
from pipelines.intake import IntakeResult, RunBatches, load_raw_tables, run_in_process, validate_all
from pipelines.keptstate import KeptState

log = logging.getLogger("pmf")
Progress = Callable[[str], None]


def progress(message: str) -> None:
    """Progress a person can follow: printed, and kept in the run's log."""
    print(message, flush=True)
    log.info(message)


class InputRejected(Exception):
    """Input files were rejected: nothing is published (exit status 2)."""

    def __init__(self, message: str, report_path: Path | None = None) -> None:
        super().__init__(message)
        self.report_path = report_path


@dataclass
class RefreshSummary:
    run_id: str
    period: str
    files_read: int = 0
    files_rejected: int = 0
    rows_received: int = 0
    rows_staged: int = 0
    rows_quarantined: int = 0
    indicator_rows: int = 0
    indicator_values_available: int = 0
    outputs: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    inputs_sha256: str = ""
    started_at: float = field(default_factory=time.time)

    def lines(self) -> list[str]:
        return [
            f"Refresh {self.run_id} for {self.period}: done in {time.time() - self.started_at:.1f} s",
            f"  files read:        {self.files_read} ({self.files_rejected} rejected)",
            f"  rows received:     {self.rows_received}",
            f"  rows staged:       {self.rows_staged}",
            f"  rows quarantined:  {self.rows_quarantined}",
            f"  indicator values:  {self.indicator_values_available} of {self.indicator_rows} available "
            f"(indicator x LA x quarter)",
            "  outputs:",
            *[f"    {path}" for path in self.outputs],
        ]


def choose_period(requested: str | None, periods: list[Quarter]) -> Quarter:
    """The board pack's quarter: as requested (must have a folder), else the latest folder."""
    if not periods:
        raise InputRejected("no period folders (like 2018-19-Q3) found in the raw directory")
    if requested is None:
        return max(periods)
    try:
        period = Quarter.parse(requested)
    except ValueError as error:
        raise InputRejected(str(error)) from None
    if period not in periods:
        raise InputRejected(f"--period {period.label}: there is no folder {period.folder_id} in the raw directory")
    return period


def run_intake(
    raw_dir: Path,
    settings: Settings,
    progress: Progress,
    *,
    state: KeptState,
    run_batches: RunBatches = run_in_process,
    workers: int = 1,
) -> IntakeResult:
    """Read and validate what is new or changed (on ``run_batches``' workers); reuse the rest."""
    progress(f"Reading and validating extracts in {raw_dir}")
    result = validate_all(
        raw_dir, state=state, chunk_rows=settings.chunk_rows, progress=progress, run_batches=run_batches, workers=workers
    )
    for warning in result.warnings:
        progress(f"  note: {warning}")
    return result


def write_intake_tables(con: duckdb.DuckDBPyConnection, result: IntakeResult) -> None:
    """The validated rows (raw tables), data_quality and quarantine (published), and the receipts
    the SQL and availability use."""
    load_raw_tables(con, result)
    _write_table(con, "marts.main.data_quality", result.data_quality_frame())
    _write_table(con, "marts.main.quarantine", result.quarantine)
    folders = pd.DataFrame(
        [(q.label, q.start_date, q.end_date) for q in result.periods], columns=["period", "period_start", "period_end"]
    )
    _write_table(con, "work.main.period_folders", folders)
    _write_table(con, "work.main.extract_receipts", result.receipts_frame())


def load_reference(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """Reference data kept in the repository, published beside the marts as ``ref_*``."""
    reference = settings.reference_dir
    forms = leadforms.import_inbox(reference)  # returned lead update forms dropped in lead-updates/
    if forms.applied:
        progress(f"Imported {len(forms.applied)} lead update forms ({forms.lines_updated} lines) into plan_line_updates.csv")
    for problem in forms.problems:
        progress(f"  note: lead update form not applied: {problem}")
    population = reference / "population.csv"
    if not population.exists():
        raise FileNotFoundError(f"population estimates not found at {population} (run `pmf demo` for demo data)")
    con.execute(
        "create or replace table marts.main.ref_population as "
        "select la_code::varchar as la_code, year::integer as year, age::integer as age, persons::integer as persons "
        f"from read_csv('{population}', header = true, all_varchar = true)"
    )
    for name in ("work_plan", "plan_line_updates"):
        path = reference / f"{name}.csv"
        if not path.exists():
            raise FileNotFoundError(f"reference file {path} not found")
        con.execute(
            f"create or replace table marts.main.ref_{name} as "
            f"select * from read_csv('{path}', header = true, all_varchar = true)"
        )
    bad = con.execute(
        "select line_id, rag from marts.main.ref_plan_line_updates "
        "where coalesce(lower(trim(rag)), 'grey') not in ('green', 'amber', 'red', 'grey', '')"
    ).fetchall()
    if bad:
        listed = ", ".join(f"line {line_id}: {rag!r}" for line_id, rag in bad)
        raise InputRejected(f"{reference / 'plan_line_updates.csv'}: rag must be green, amber, red or grey ({listed})")


def run_sql_models(
    con: duckdb.DuckDBPyConnection,
    progress: Progress,
    layers: tuple[str, ...] = ("staging", "intermediate", "indicators"),
) -> None:
    pseudonymise.register(con, pseudonymise.load_key())
    models.run_macros(con)
    chosen = models.discover_models(layers=layers)
    progress(f"Running {len(chosen)} SQL models (staging, linkage, indicators)")
    models.run_models(con, chosen)


def run_indicators(con: duckdb.DuckDBPyConnection, result: IntakeResult, progress: Progress) -> pd.DataFrame:
    values = compute_indicator_values(con, result.receipts_frame())
    _write_table(con, "marts.main.indicator_values", values)
    _write_table(con, "marts.main.indicator_definitions", definitions_frame())
    available = int(values["value"].notna().sum())
    progress(f"Computed {len(values)} indicator values ({available} available) for {values['indicator_code'].nunique()} indicators")
    return values


def run_spc(con: duckdb.DuckDBPyConnection, values: pd.DataFrame, period: Quarter, progress: Progress) -> None:
    """``indicator_spc``: the XmR reading of every series up to the pack period (``pipelines/spc.py``).

    Also, for the work-plan status of every quarter, the reading as at each quarter
    (``spc_readings``, private: ``pack_period`` = the quarter the series runs up to).
    """
    quarters = values[["period", "period_start"]].drop_duplicates().sort_values("period_start")["period"]
    readings = pd.concat([spc.spc_frame(values, quarter) for quarter in quarters], ignore_index=True)
    _write_table(con, "work.main.spc_readings", readings)
    pack = readings[readings["pack_period"] == period.label].reset_index(drop=True)
    _write_table(con, "marts.main.indicator_spc", pack)
    limited = pack.loc[pack["mean"].notna(), ["indicator_code", "la_code"]].drop_duplicates()
    progress(f"SPC for {period.label}: {len(limited)} indicator x LA series with limits (12 or more points)")


def run_benchmark(con: duckdb.DuckDBPyConnection, values: pd.DataFrame, settings: Settings, progress: Progress) -> None:
    """``indicator_benchmark``: every LA against the Tees figure of ``settings.comparator_la_codes``."""
    frame = benchmark.benchmark_frame(values, settings.comparator_la_codes)
    _write_table(con, "marts.main.indicator_benchmark", frame)
    compared = int((frame["comparison"] != benchmark.NOT_COMPARED).sum())
    progress(f"Compared {compared} of {len(frame)} values with the Tees figure ({', '.join(settings.comparator_la_codes)})")


def run_revisions(
    con: duckdb.DuckDBPyConnection, values: pd.DataFrame, build: Build, period: Quarter, settings: Settings,
    progress: Progress,
) -> None:
    """``indicator_revisions`` against the published marts (read before they are replaced), and
    ``build_info``, which names this refresh for the next one's comparison."""
    previous = revisions.read_published(build.marts_dir / MARTS_FILE)
    frame = revisions.revisions_frame(previous, values, build.run_id)
    _write_table(con, "marts.main.indicator_revisions", frame)
    info = pd.DataFrame([{
        "run_id": build.run_id,
        "built_by_run_id": build.run_id,
        "board_period": period.label,
        "board_la_code": settings.board_la_code,
        "comparator_la_codes": ";".join(settings.comparator_la_codes),
        "pmf_version": __version__,
    }])
    _write_table(con, "marts.main.build_info", info)
    if previous is None:
        progress("Revisions: first publish in this marts folder, nothing to compare")
    else:
        progress(f"Revisions: {len(frame)} published figures changed since refresh {previous.run_id}")


def run_work_plan_status(con: duckdb.DuckDBPyConnection, settings: Settings, progress: Progress) -> None:
    """``work_plan_status``: every line of both plans, with its computed or lead-entered status."""
    run_settings = pd.DataFrame(
        [{"board_la_code": settings.board_la_code, "default_baseline_period": settings.default_baseline_period}]
    )
    _write_table(con, "work.main.run_settings", run_settings)
    areas = list(dict.fromkeys([settings.board_la_code, *settings.comparator_la_codes]))
    comparator_las = pd.DataFrame({"la_code": areas, "la_name": [settings.la_name(code) for code in areas]})
    _write_table(con, "work.main.comparator_las", comparator_las)
    models.run_models(con, models.discover_models(layers=("marts",)))
    ((lines, statuses),) = con.execute(
        "select count(distinct line_id), count(*) from marts.main.work_plan_status"
    ).fetchall()
    progress(f"Work-plan status: {lines} plan lines, {statuses} line x indicator x LA x quarter statuses")


def build_data_docs(validation_files: list[Path], site_dir: Path, run_id: str) -> Path:
    """The run's GX Data Docs (``reports/data-docs/``) from the kept, masked validation results.
    A task of its own, so that it runs on a worker beside the SQL (GX costs ~5 s to import)."""
    results = [result for path in validation_files for result in json.loads(path.read_text(encoding="utf-8"))]
    return datadocs.build_site(results, site_dir, run_name=f"pmf-refresh-{run_id}")


def write_success_report(result: IntakeResult, build: Build, period: Quarter, data_docs: Path | None = None) -> Path:
    """The validation report, linking the Data Docs beside it."""
    return report.write_validation_report(result, build.reports_dir, period, data_docs=data_docs)


def finish_marts(con: duckdb.DuckDBPyConnection, build: Build, progress: Progress) -> list[str]:
    """Comment every table and column, close the database, export Parquet copies."""
    table_comments = {model.name: model.grain for model in models.discover_models() if model.is_published}
    undocumented = models.apply_comments(con, "marts.main", models.load_column_docs(), table_comments)
    if undocumented:
        raise RuntimeError(f"mart columns without a description in sql/docs.toml: {', '.join(undocumented)}")
    tables = [row[0] for row in con.execute(
        "select table_name from information_schema.tables where table_catalog = 'marts' order by table_name"
    ).fetchall()]
    close_build_connection(con)
    export_parquet(build.marts_path, build.parquet_dir, tables)
    progress(f"Built marts: {len(tables)} tables (DuckDB + Parquet)")
    return tables


# --------------------------------------------------------------------------- nothing changed?

_OUTPUT_CODE = ("pipelines", "sql", "expectations")
_OUTPUT_LIBRARIES = ("duckdb", "openpyxl", "pandas", "pyarrow", "scipy", "great_expectations", "python-calamine")


def outputs_fingerprint(result: IntakeResult, settings: Settings, period: Quarter) -> str:
    """Everything the published outputs depend on, but for the run's id and times: the validated
    submissions (their files' bytes), the reference files, the settings, the board period, the
    code and library versions, and the pseudonymisation key (by a keyed hash, never the key)."""
    import hmac
    import importlib.metadata

    digest = hashlib.sha256()
    root = Path(__file__).resolve().parents[1]
    for folder in _OUTPUT_CODE:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    for path in sorted(settings.reference_dir.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(settings.reference_dir)).encode() + b"\0" + path.read_bytes())
    for library in _OUTPUT_LIBRARIES:
        digest.update(f"{library} {importlib.metadata.version(library)}\n".encode())
    digest.update(json.dumps([e.name for e in result.entries]).encode())
    digest.update(settings.model_dump_json().encode() + period.label.encode() + __version__.encode())
    digest.update(hmac.new(pseudonymise.load_key(), b"pmf outputs fingerprint", hashlib.sha256).digest())
    return digest.hexdigest()


def unchanged_since(state: KeptState, marts_dir: Path, fingerprint: str) -> str | None:
    """The run id of the published refresh whose outputs this one would reproduce exactly, if any.

    Its outputs can be re-published as they are when they were made from the same everything
    (``outputs_fingerprint``), are still the published ones, and list no revisions (a rerun's
    revisions against them are none: re-publishing theirs would repeat stale ``r`` markers).
    """
    published = state.published()
    marts = marts_dir / "pmf.duckdb"
    if not published or published.get("fingerprint") != fingerprint or not marts.exists():
        return None
    try:
        with duckdb.connect(str(marts), read_only=True) as con:
            latest = con.execute(
                "select run_id from refresh_log where outcome = 'published' order by finished_at desc, run_id desc limit 1"
            ).fetchone()
            tables = {row[0] for row in con.execute("select table_name from duckdb_tables()").fetchall()}
            revised = con.execute("select count(*) from indicator_revisions").fetchone()[0] if "indicator_revisions" in tables else 0
    except duckdb.Error:
        return None
    if latest is None or latest[0] != published.get("run_id") or revised:
        return None
    return published["run_id"]


RUN_LOG = "refresh_log.jsonl"
REJECTED_DIR = "rejected"


def run_record(summary: RefreshSummary, outcome: str, message: str = "") -> dict:
    """One line of the run log: when, which inputs (sha256), outcome, counts, duration."""
    finished = time.time()
    return {
        "run_id": summary.run_id,
        "started_at": datetime.fromtimestamp(summary.started_at, UTC).isoformat(timespec="seconds"),
        "finished_at": datetime.fromtimestamp(finished, UTC).isoformat(timespec="seconds"),
        "duration_seconds": round(finished - summary.started_at, 1),
        "board_period": summary.period,
        "outcome": outcome,
        "message": message[:2000],
        "files_read": summary.files_read,
        "files_rejected": summary.files_rejected,
        "rows_received": summary.rows_received,
        "rows_staged": summary.rows_staged,
        "rows_quarantined": summary.rows_quarantined,
        "indicator_values_available": summary.indicator_values_available,
        "inputs_sha256": summary.inputs_sha256,
        "pmf_version": __version__,
    }


def append_run_record(marts_dir: Path, record: dict) -> None:
    """Every run, failed ones included, is appended to ``<marts-dir>/logs/refresh_log.jsonl``."""
    folder = marts_dir / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / RUN_LOG, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def refresh_log_frame(marts_dir: Path, current: dict) -> pd.DataFrame:
    """Every earlier run from the run log, plus this one (as published)."""
    path = marts_dir / "logs" / RUN_LOG
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()] if path.exists() else []
    frame = pd.DataFrame([*records, current])
    for column in ("started_at", "finished_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True).dt.tz_localize(None)
    return frame


def write_refresh_log(con: duckdb.DuckDBPyConnection, marts_dir: Path, current: dict) -> None:
    """``refresh_log``: every earlier run from the run log, plus this one (as published)."""
    _write_table(con, "marts.main.refresh_log", refresh_log_frame(marts_dir, current))


def count_indicator_values(marts_dir: Path, summary: RefreshSummary) -> None:
    with duckdb.connect(str(marts_dir / "pmf.duckdb"), read_only=True) as con:
        rows, available = con.execute("select count(*), count(value) from indicator_values").fetchone()
    summary.indicator_rows, summary.indicator_values_available = int(rows), int(available)


def republish_unchanged(build: Build, marts_dir: Path, current: dict, previous_run_id: str, progress: Progress) -> None:
    """The published outputs, copied into this run's build as they are, with this run added to
    ``refresh_log`` (in the database and its Parquet copy): nothing else would change."""
    progress(f"Nothing changed since refresh {previous_run_id} (same files, reference data, settings and code): "
             "re-publishing its outputs with this run's record")
    copy_published(marts_dir, build)
    frame = refresh_log_frame(marts_dir, current)
    with duckdb.connect(str(build.marts_path)) as con:
        con.register("_frame", frame)
        con.execute("delete from refresh_log")  # keeps the table's comments
        con.execute("insert into refresh_log by name select * from _frame")
        con.unregister("_frame")
        con.execute("update build_info set run_id = ?", [build.run_id])  # the next refresh compares with this run
        con.execute("checkpoint")
    export_parquet(build.marts_path, build.parquet_dir, ["refresh_log", "build_info"])


def seal_release(build: Build, summary: RefreshSummary, record: dict) -> dict:
    """The last step before publishing: this run's ``refresh_log`` row gets its real finish
    (after the marts, Parquet, workbook and reports), then ``release.json`` lists every file.

    Returns the record, which is also what the run log gets, so the two agree.
    """
    final = {**record, **{key: value for key, value in run_record(summary, record["outcome"]).items()
                          if key in ("finished_at", "duration_seconds")}}
    finished_at = datetime.fromisoformat(final["finished_at"]).replace(tzinfo=None)
    with duckdb.connect(str(build.marts_path)) as con:
        con.execute(
            "update refresh_log set finished_at = ?, duration_seconds = ? where run_id = ?",
            [finished_at, final["duration_seconds"], summary.run_id],
        )
        con.execute("checkpoint")
    export_parquet(build.marts_path, build.parquet_dir, ["refresh_log"])
    write_manifest(build, summary.period)
    return final


def summarise(result: IntakeResult, summary: RefreshSummary) -> None:
    summary.files_read = len(result.files)
    summary.files_rejected = len(result.rejected)
    summary.rows_received = sum(r.rows_received for r in result.files)
    summary.rows_staged = sum(r.rows_staged for r in result.files)
    summary.rows_quarantined = sum(r.rows_quarantined for r in result.files)
    summary.warnings = result.warnings
    combined = hashlib.sha256("\n".join(sorted(f"{r.file_name} {r.sha256}" for r in result.files)).encode())
    summary.inputs_sha256 = combined.hexdigest()


def reject(result: IntakeResult, marts_dir: Path, period: Quarter | None, progress: Progress) -> None:
    """Write the validation report to ``<marts-dir>/rejected/`` and stop: nothing is published
    (the published ``reports/`` belong to the published refresh)."""
    path = report.write_validation_report(result, marts_dir / REJECTED_DIR, period)
    lines = [f"{len(result.rejected)} file(s) rejected; nothing was published. Validation report: {path}"]
    lines += [f"  {r.file_name}: {r.message}" for r in result.rejected]
    raise InputRejected("\n".join(lines), path)


def _write_table(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> None:
    con.register("_frame", frame)
    try:
        con.execute(f"create or replace table {name} as select * from _frame")
    finally:
        con.unregister("_frame")
