"""The quarterly refresh as a Prefect flow: one task per stage, each a call to ``refresh.py``.

The per-file read-and-validate work is a task per batch of submissions (``intake.validate_batch``),
submitted to the flow's task runner: local processes (``--workers N``), or an existing Dask
cluster through prefect-dask's ``DaskTaskRunner`` (``--dask-address``). The SQL and publishing
run in the flow's own process.

Prefect needs an API: the server at ``PREFECT_API_URL``, else the background server that
``pmf server start`` started, else a temporary local one (see ``pipelines.prefect_api``).
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from collections.abc import Iterator

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.futures import as_completed
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from pipelines import intake, preflight, refresh
from pipelines.config import Settings
from pipelines.keptstate import KeptState
from pipelines.publish import discard, publish, refresh_lock, start_build
from pipelines.refresh import RefreshSummary

_task = task(cache_policy=NO_CACHE, persist_result=False, retries=0)

validate_task = _task(intake.validate_batch, name="read and validate")
write_intake_task = _task(refresh.write_intake_tables, name="record data quality")
reference_task = _task(refresh.load_reference, name="load reference data")
models_task = _task(refresh.run_sql_models, name="stage, link and count (SQL)")
indicators_task = _task(refresh.run_indicators, name="indicator values and intervals")
spc_task = _task(refresh.run_spc, name="statistical process control")
benchmark_task = _task(refresh.run_benchmark, name="comparison with the Tees figure")
revisions_task = _task(refresh.run_revisions, name="revised figures")
status_task = _task(refresh.run_work_plan_status, name="work-plan status")
marts_task = _task(refresh.finish_marts, name="build marts")
def write_workbook(marts_path: Path, out: Path, *, period, settings: Settings) -> Path:
    from pipelines import board  # openpyxl is imported only by a refresh that writes a workbook

    return board.write_workbook(marts_path, out, period=period, settings=settings)


workbook_task = _task(write_workbook, name="board workbook")
report_task = _task(refresh.write_success_report, name="validation report")
data_docs_task = _task(refresh.build_data_docs, name="validation site (Data Docs)")
seal_task = _task(refresh.seal_release, name="seal release")
publish_task = _task(publish, name="publish")
republish_task = _task(refresh.republish_unchanged, name="re-publish unchanged outputs")


def task_runner(workers: int, dask_address: str | None = None) -> TaskRunner:
    """Where the read-and-validate tasks run: an existing Dask cluster, N local processes, or
    (one worker) threads of this process."""
    if dask_address:
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=dask_address)
    if workers > 1:
        return ProcessPoolTaskRunner(max_workers=workers)
    return ThreadPoolTaskRunner(max_workers=1)


def choose_task_runner(workers: int | None, dask_address: str | None) -> tuple[TaskRunner, int]:
    """The task runner a refresh's options ask for, and how many workers it has: ``--dask-address``;
    else ``--workers N`` local processes; else (neither given) the warm workers that
    ``pmf server start`` started, when they answer; else as many local processes as cores."""
    from pipelines import workers as warm

    if dask_address:
        return task_runner(1, dask_address), warm.cores()
    if workers is None:
        address = warm.running_address()
        if address:
            return task_runner(1, address), warm.worker_count() or warm.cores()
        workers = warm.cores()
    return task_runner(workers), workers


def describe(runner: TaskRunner) -> str:
    if isinstance(runner, ProcessPoolTaskRunner):
        return f"{runner._max_workers} local processes"
    if type(runner).__name__ == "DaskTaskRunner":
        return f"the Dask cluster at {runner.address}"
    return "this process"


def on_task_runner(batches: list[intake.Batch]) -> Iterator[list[intake.Validated]]:
    """``intake``'s ``run_batches``: one Prefect task per batch, results as they finish."""
    context = FlowRunContext.get()
    where = describe(context.task_runner) if context else "this process"
    if context and type(context.task_runner).__name__ == "DaskTaskRunner":
        from pipelines import workers as warm

        # Dask workers outlive a checkout: they must run the intake code on disk (pmf's own are restarted).
        address = context.task_runner.address
        warm.ensure_current(address, may_restart=address == warm.running_address())
    refresh.progress(f"  {sum(len(b.submissions) for b in batches)} submission(s) to read and validate, in {len(batches)} task(s) on {where}")
    futures = [validate_task.with_options(task_run_name=f"validate {batch.label}").submit(batch) for batch in batches]
    for future in as_completed(futures):
        yield future.result()


@flow(name="pmf-quarterly-refresh", validate_parameters=False, log_prints=False)
def quarterly_refresh(
    raw_dir: Path,
    marts_dir: Path,
    settings: Settings,
    period: str | None = None,
    workers: int = 1,
    rebuild: bool = False,
) -> RefreshSummary:
    """ingest → validate → stage → indicators → work-plan status → publish marts → board workbook."""
    progress = refresh.progress
    state = KeptState.beside(marts_dir)
    preflight.check_run(settings, raw_dir, period)  # before any extract is read
    with refresh_lock(marts_dir):
        build = start_build(marts_dir)
        summary = RefreshSummary(run_id=build.run_id, period="")
        con = None
        try:
            result = refresh.run_intake(raw_dir, settings, progress, state=state, run_batches=on_task_runner, workers=workers)
            chosen = refresh.choose_period(period, result.periods)
            summary.period = chosen.label
            refresh.summarise(result, summary)
            if result.rejected:
                refresh.reject(result, marts_dir, chosen, progress)
            fingerprint = refresh.outputs_fingerprint(result, settings, chosen)
            previous_run_id = None if rebuild else refresh.unchanged_since(state, marts_dir, fingerprint)
            if previous_run_id:
                refresh.count_indicator_values(marts_dir, summary)
                record = refresh.run_record(summary, "published")
                republish_task(build, marts_dir, record, previous_run_id, progress)
            else:
                con = refresh.open_build_connection(build)
                record = _build_outputs(con, build, result, chosen, marts_dir, settings, summary, progress)
            record = seal_task(build, summary, record)
            summary.outputs = publish_task(build, keep_releases=settings.keep_releases)
            state.mark_published(build.run_id, fingerprint)
            state.prune(keep={*result.entries, *result.kept_files})
            refresh.append_run_record(marts_dir, record)
            _publish_artifact(summary)
            return summary
        except refresh.InputRejected as rejection:
            refresh.append_run_record(marts_dir, refresh.run_record(summary, "rejected", str(rejection)))
            raise
        except BaseException as error:  # killed (KeyboardInterrupt) or failed: record it, then re-raise
            refresh.append_run_record(marts_dir, refresh.run_record(summary, "failed", f"{type(error).__name__}: {error}"))
            raise
        finally:
            if con is not None:
                with contextlib.suppress(Exception):
                    con.close()
            discard(build)


def _build_outputs(con, build, result, chosen, marts_dir: Path, settings: Settings, summary: RefreshSummary, progress) -> dict:
    """staging SQL → indicators → work-plan status → marts → workbook → report, into the build."""
    # quote(): Prefect would otherwise walk every field of the intake result (2,000 file reports)
    # and of the values frame for futures, once a task: ~3 s a refresh on the 30-LA world. (Only
    # for tasks run here: a task submitted to Dask receives the quote itself, unopened.)
    data_docs = data_docs_task.submit(result.validation_files, build.reports_dir / "data-docs", build.run_id)  # beside the SQL
    write_intake_task(con, quote(result))
    reference_task(con, settings)
    models_task(con, progress)
    values = indicators_task(con, quote(result), progress)
    summary.indicator_rows = len(values)
    summary.indicator_values_available = int(values["value"].notna().sum())
    spc_task(con, quote(values), chosen, progress)
    benchmark_task(con, quote(values), settings, progress)
    revisions_task(con, quote(values), build, chosen, settings, progress)
    status_task(con, settings, progress)
    record = refresh.run_record(summary, "published")
    refresh.write_refresh_log(con, marts_dir, record)
    marts_task(con, build, progress)  # closes the connection
    out = build.board_dir / f"HSCB-PMF-{chosen.folder_id}.xlsx"
    progress(f"Writing the board workbook for {settings.la_name(settings.board_la_code)}, {chosen.label}")
    workbook_task(build.marts_path, out, period=chosen, settings=settings)
    report_task(quote(result), build, chosen, data_docs.result())
    return record


def _publish_artifact(summary: RefreshSummary) -> None:
    """The run's summary as a Prefect artifact (visible in the Prefect UI when a server is used)."""
    lines = "\n".join(f"    {line}" for line in summary.lines())
    create_markdown_artifact(
        key="pmf-refresh-summary",
        markdown=f"# pmf refresh {summary.run_id}\n\n{lines}\n",
        description=f"pmf quarterly refresh for {summary.period}",
    )


# --------------------------------------------------------------------------- the served deployment

DEPLOYMENT_NAME = "quarterly"  # served as pmf-quarterly-refresh/quarterly


@flow(name="pmf-quarterly-refresh", validate_parameters=False, log_prints=False)
def served_refresh(options: dict | None = None) -> None:
    """A run of the deployment: ``pmf refresh`` with the options ``pmf serve`` was given
    (``options`` maps option names to values, e.g. ``{"marts_dir": "/srv/pmf/marts"}``)."""
    from pipelines import cli

    code = cli.refresh_with_options(options or {})  # the refresh flow, on the task runner its options choose
    if code == cli.EXIT_REJECTED:
        raise RuntimeError("input rejected: nothing was published (see the validation report in <marts-dir>/reports/)")
    if code != cli.EXIT_OK:
        raise RuntimeError("the refresh failed: the previous outputs are unchanged (details in <marts-dir>/logs/)")


def serve_deployment(options: dict, settings: Settings) -> None:
    """Serve ``pmf-quarterly-refresh/quarterly`` on the server at PREFECT_API_URL until stopped:
    scheduled runs (``schedule_cron`` in ``schedule_timezone``) and triggered ones."""
    from prefect.client.schemas.schedules import CronSchedule
    from prefect.deployments.runner import EntrypointType

    served_refresh.serve(
        name=DEPLOYMENT_NAME,
        schedules=[CronSchedule(cron=settings.schedule_cron, timezone=settings.schedule_timezone)],
        parameters={"options": options},
        description="The HSCB PMF quarterly refresh (pmf refresh), run on schedule or on demand.",
        tags=["pmf"],
        entrypoint_type=EntrypointType.MODULE_PATH,  # runs import pipelines.flows, whatever the folder
    )
