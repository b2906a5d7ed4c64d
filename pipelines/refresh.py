"""The quarterly refresh as one sequence of plain functions. Read top to bottom, this module *is*
the pipeline (``run_refresh``, then each stage in the order it runs):

preflight → lock → intake (ingest + validate on workers, reusing the kept state) → board period
→ rejected input stops here → nothing changed? re-publish (``rerun.py``) → else build every output:
raw tables and data quality → reference data → staging/linkage/indicator SQL → indicator values
→ SPC → benchmark → revisions → work-plan status → ``refresh_log`` → marts (comments) → board
workbook, beside the marts' Parquet export → validation report (the Data Docs built beside,
on a worker) → seal → publish (one switch) → kept state pruned → run log.

``run_refresh`` runs each stage through ``step`` (by default a plain call) and intake's batches
through ``run_batches`` (by default one after another, here); ``flows.py`` passes ones that make
each stage a Prefect task and send the batches to its task runner. Tests call ``run_refresh``,
or any stage, directly.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from pipelines import __version__, benchmark, datadocs, keptmarts, leadforms, models, preflight, pseudonymise, report, rerun, revisions, spc
from pipelines.config import Settings
from pipelines.indicators import compute_indicator_values, definitions_frame
from pipelines.intake import IntakeResult, RunBatches, load_raw_tables, run_in_process, validate_all
from pipelines.keptstate import KeptState, read_json
from pipelines.periods import Quarter
from pipelines.publish import (
    MARTS_FILE, Build, close_build_connection, discard, export_parquet, open_build_connection, publish, refresh_lock,
    start_build, write_manifest,
)
from pipelines.runlog import RefreshSummary, append_run_record, refresh_log_frame, run_record

log = logging.getLogger("pmf")
Progress = Callable[[str], None]
# How a stage is run: ``step(stage, *args, **kwargs)`` returns ``stage(*args, **kwargs)``;
# ``submit`` likewise, but returns something whose ``.result()`` is that (it may run elsewhere
# while the refresh goes on).
Step = Callable[..., Any]
Submit = Callable[..., Any]


def call(stage: Callable, /, *args: Any, **kwargs: Any) -> Any:
    """The plain ``step``: the stage, called here and now."""
    return stage(*args, **kwargs)


def call_now(stage: Callable, /, *args: Any, **kwargs: Any) -> Future:
    """The plain ``submit``: the stage, called here and now, its result kept for ``.result()``."""
    future: Future = Future()
    future.set_result(stage(*args, **kwargs))
    return future


def progress(message: str) -> None:
    """Progress a person can follow: printed, and kept in the run's log."""
    print(message, flush=True)
    log.info(message)


class InputRejected(Exception):
    """Input files were rejected: nothing is published (exit status 2)."""

    def __init__(self, message: str, report_path: Path | None = None) -> None:
        super().__init__(message)
        self.report_path = report_path


def run_refresh(
    raw_dir: Path,
    marts_dir: Path,
    settings: Settings,
    *,
    period: str | None = None,
    workers: int = 1,
    rebuild: bool = False,
    run_batches: RunBatches = run_in_process,
    step: Step = call,
    submit: Submit = call_now,
) -> RefreshSummary:
    """The quarterly refresh of ``marts_dir`` from the period folders in ``raw_dir``.

    One refresh at a time per marts folder (a lock). Everything is built beside the published
    outputs and published in one switch, so a refresh that is rejected, fails or is killed
    leaves the previous outputs whole; every run, those included, is a line of the run log.
    ``rebuild`` builds everything even when nothing changed since the last publish.
    ``run_batches`` is where intake's read-and-validate batches run (``workers`` of them at
    once); ``step`` and ``submit`` how each stage runs (see ``Step``).
    """
    state = KeptState.beside(marts_dir)
    preflight.check_run(settings, raw_dir, period)  # before any extract is read
    with refresh_lock(marts_dir):
        build = start_build(marts_dir)
        summary = RefreshSummary(run_id=build.run_id, period="")
        try:
            result = run_intake(raw_dir, settings, progress, state=state, run_batches=run_batches, workers=workers)
            chosen = choose_period(period, result.periods)
            summary.period = chosen.label
            summarise(result, summary)
            if result.rejected:
                reject(result, marts_dir, chosen, progress)
            fingerprint = rerun.outputs_fingerprint(result, settings, chosen)
            previous_run_id = None if rebuild else rerun.unchanged_since(state, marts_dir, fingerprint, summary)
            if previous_run_id:
                basis = (state.published() or {}).get("staging")  # the same outputs: made from the same
                record = run_record(summary, "published")
                step(rerun.republish_unchanged, build, marts_dir, record, previous_run_id, progress)
            else:
                basis = keptmarts.staging_basis(result.entries, pseudonymise.load_key())
                staging = keptmarts.REBUILD if rebuild else keptmarts.plan_from_published(state, marts_dir, basis)
                record = build_outputs(build, result, chosen, settings, summary, staging=staging, step=step, submit=submit,
                                       workers=workers)
            record = step(seal_release, build, summary, record)
            summary.outputs = step(publish, build, keep_releases=settings.keep_releases)
            state.mark_published(build.run_id, fingerprint, staging=basis)
            state.prune(keep={*result.entries, *result.kept_files})
            append_run_record(marts_dir, record)
            return summary
        except InputRejected as rejection:
            append_run_record(marts_dir, run_record(summary, "rejected", str(rejection)))
            raise
        except BaseException as error:  # killed (KeyboardInterrupt) or failed: record it, then re-raise
            append_run_record(marts_dir, run_record(summary, "failed", f"{type(error).__name__}: {error}"))
            raise
        finally:
            discard(build)


def build_outputs(
    build: Build,
    result: IntakeResult,
    period: Quarter,
    settings: Settings,
    summary: RefreshSummary,
    *,
    staging: keptmarts.StagingPlan = keptmarts.FULL,
    step: Step = call,
    submit: Submit = call_now,
    workers: int = 1,
) -> dict:
    """Every output, into the build: the marts, the board workbook and the reports. Returns this
    run's record (as its ``refresh_log`` row has it). With a ``staging`` plan that keeps some of
    the published staging tables, the build's marts start as a copy of the published ones.

    The Data Docs are submitted (``submit``) beside the SQL when there is one worker (a thread of
    this process: the SQL leaves Python's lock free, the stages after it do not), after it when
    there are worker processes (beside the SQL they took a core DuckDB was using)."""
    keptmarts.start_from_published(staging, build.marts_path)
    con = open_build_connection(build)
    try:
        staging = keptmarts.keep_tables(con, staging)
        def start_data_docs() -> Future:
            return submit(build_data_docs, result.validation_files, build.reports_dir / "data-docs", build.run_id)

        data_docs = start_data_docs() if workers <= 1 else None
        step(write_intake_tables, con, result)
        step(load_reference, con, settings)
        step(run_sql_models, con, progress, staging=staging)
        if data_docs is None:
            data_docs = start_data_docs()
        values = step(run_indicators, con, result, progress)
        summary.indicator_rows = len(values)
        summary.indicator_values_available = int(values["value"].notna().sum())
        step(run_spc, con, values, period, progress)
        step(run_benchmark, con, values, settings, progress)
        step(run_revisions, con, values, build, period, settings, progress)
        step(run_work_plan_status, con, settings, progress)
        record = run_record(summary, "published")
        write_refresh_log(con, build.marts_dir, record)
        tables = step(finish_marts, con, build, progress)  # closes the connection
    finally:
        with contextlib.suppress(Exception):
            con.close()  # after a failure (closing twice is harmless)
    step(write_board_workbook, build, period, settings, progress, tables)
    step(write_success_report, result, build, period, data_docs.result())
    return record


# --------------------------------------------------------------------------- the stages, in order

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


def summarise(result: IntakeResult, summary: RefreshSummary) -> None:
    """The summary's counts of files and rows, and one sha256 over every input file."""
    summary.files_read = len(result.files)
    summary.files_rejected = len(result.rejected)
    summary.rows_received = sum(r.rows_received for r in result.files)
    summary.rows_staged = sum(r.rows_staged for r in result.files)
    summary.rows_quarantined = sum(r.rows_quarantined for r in result.files)
    combined = hashlib.sha256("\n".join(sorted(f"{r.file_name} {r.sha256}" for r in result.files)).encode())
    summary.inputs_sha256 = combined.hexdigest()


REJECTED_DIR = "rejected"


def reject(result: IntakeResult, marts_dir: Path, period: Quarter | None, progress: Progress) -> None:
    """Write the validation report to ``<marts-dir>/rejected/`` and stop: nothing is published
    (the published ``reports/`` belong to the published refresh)."""
    path = report.write_validation_report(result, marts_dir / REJECTED_DIR, period)
    lines = [f"{len(result.rejected)} file(s) rejected; nothing was published. Validation report: {path}"]
    lines += [f"  {r.file_name}: {r.message}" for r in result.rejected]
    raise InputRejected("\n".join(lines), path)


def build_data_docs(validation_files: list[Path], site_dir: Path, run_id: str) -> Path:
    """The run's GX Data Docs (``reports/data-docs/``) from the kept, masked validation results.
    A task of its own, so that it runs on a worker beside the flow (GX costs ~5 s to import)."""
    results = [result for path in validation_files for result in read_json(path)]
    return datadocs.build_site(results, site_dir, run_name=f"pmf-refresh-{run_id}")


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
    *,
    staging: keptmarts.StagingPlan = keptmarts.FULL,
) -> None:
    """The SQL models; the staging tables kept, extended or staged from nothing as ``staging`` says."""
    pseudonymise.register(con, pseudonymise.load_key())
    models.run_macros(con)
    chosen = models.discover_models(layers=layers)
    progress(f"Running {len(chosen)} SQL models (staging, linkage, indicators)")
    modes = models.run_models(con, chosen, staging=staging)
    if staging.source is None:
        progress(f"  every staging table staged from the raw rows ({staging.reason})")
    else:
        staged = [mode for model, mode in zip(chosen, modes.values(), strict=True) if model.layer == "staging"]
        progress(f"  staging tables from the published marts: {staged.count(keptmarts.KEEP)} kept as they were, "
                 f"{staged.count(keptmarts.EXTEND)} extended with new periods, {staged.count(keptmarts.BUILD)} staged again")


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


def write_refresh_log(con: duckdb.DuckDBPyConnection, marts_dir: Path, current: dict) -> None:
    """``refresh_log``: every earlier run from the run log, plus this one (as published)."""
    _write_table(con, "marts.main.refresh_log", refresh_log_frame(marts_dir, current))


def finish_marts(con: duckdb.DuckDBPyConnection, build: Build, progress: Progress) -> list[str]:
    """Comment every table and column, close the database; returns the tables."""
    table_comments = {model.name: model.grain for model in models.discover_models() if model.is_published}
    undocumented = models.apply_comments(con, "marts.main", models.load_column_docs(), table_comments)
    if undocumented:
        raise RuntimeError(f"mart columns without a description in sql/docs.toml: {', '.join(undocumented)}")
    tables = [row[0] for row in con.execute(
        "select table_name from information_schema.tables where table_catalog = 'marts' order by table_name"
    ).fetchall()]
    close_build_connection(con)
    return tables


def write_board_workbook(
    build: Build, period: Quarter, settings: Settings, progress: Progress, parquet_tables: list[str]
) -> Path:
    """The board workbook (``pipelines/board/``), from the finished marts; meanwhile, in a thread,
    the Parquet copy of each of ``parquet_tables``. Both only read the marts; the export is
    DuckDB's work, which leaves Python's lock free for openpyxl's."""
    from pipelines import board  # openpyxl is imported only by a refresh that writes a workbook

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pmf-parquet") as pool:
        exported = pool.submit(export_parquet, build.marts_path, build.parquet_dir, parquet_tables)
        progress(f"Writing the board workbook for {settings.la_name(settings.board_la_code)}, {period.label}")
        out = build.board_dir / f"HSCB-PMF-{period.folder_id}.xlsx"
        written = board.write_workbook(build.marts_path, out, period=period, settings=settings)
        exported.result()
    progress(f"Built marts: {len(parquet_tables)} tables (DuckDB + Parquet)")
    return written


def write_success_report(result: IntakeResult, build: Build, period: Quarter, data_docs: Path | None = None) -> Path:
    """The validation report, linking the Data Docs beside it."""
    return report.write_validation_report(result, build.reports_dir, period, data_docs=data_docs)


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
        export_parquet(build.marts_path, build.parquet_dir, ["refresh_log"], con)
    write_manifest(build, summary.period)
    return final


def _write_table(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> None:
    con.register("_frame", frame)
    try:
        con.execute(f"create or replace table {name} as select * from _frame")
    finally:
        con.unregister("_frame")
