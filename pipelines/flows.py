"""The quarterly refresh as a Prefect flow: ``refresh.run_refresh``, the pipeline, with a ``step``
that runs each of its stages as a Prefect task (``STAGE_TASKS``: the names the UI shows).

The per-file read-and-validate work is a task per group of batches (``intake.validate_batches``),
submitted to the flow's task runner: local processes (``--workers N``), or an existing Dask
cluster through prefect-dask's ``DaskTaskRunner`` (``--dask-address``). The SQL and publishing
run in the flow's own process.

Prefect needs an API: the server at ``PREFECT_API_URL``, else the background server that
``pmf server start`` started, else a temporary local one (see ``pipelines.prefect_api``).
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import ProcessPoolTaskRunner, TaskRunner, ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from pipelines import intake, publish, refresh, rerun
from pipelines.batch import Batch, Validated
from pipelines.config import Settings
from pipelines.runlog import RefreshSummary

_task = task(cache_policy=NO_CACHE, persist_result=False, retries=0)

validate_task = _task(intake.validate_batches, name="read and validate")
# Every stage ``refresh.run_refresh`` runs through its ``step``, as the task the Prefect UI shows.
STAGE_TASKS = {
    stage: _task(stage, name=name)
    for stage, name in [
        (refresh.write_intake_tables, "record data quality"),
        (refresh.load_reference, "load reference data"),
        (refresh.run_sql_models, "stage, link and count (SQL)"),
        (refresh.run_indicators, "indicator values and intervals"),
        (refresh.run_spc, "statistical process control"),
        (refresh.run_benchmark, "comparison with the Tees figure"),
        (refresh.run_revisions, "revised figures"),
        (refresh.run_work_plan_status, "work-plan status"),
        (refresh.finish_marts, "build marts"),
        (refresh.write_board_workbook, "board workbook (and the marts' Parquet copies)"),
        (refresh.write_success_report, "validation report"),
        (refresh.build_data_docs, "validation site (Data Docs)"),
        (refresh.seal_release, "seal release"),
        (publish.publish, "publish"),
        (rerun.republish_unchanged, "re-publish unchanged outputs"),
    ]
}
# Prefect would otherwise walk every field of the intake result (2,000 file reports) and of the
# values frame for futures, once a task: ~3 s a refresh on the 30-LA world.
_QUOTED = (intake.IntakeResult, pd.DataFrame)


def run_as_task(stage: Callable, /, *args: Any, **kwargs: Any) -> Any:
    """``run_refresh``'s ``step``: the stage as its task, run here, in the flow's process, with its
    big parameters quoted (``_QUOTED``)."""
    return _stage_task(stage)(*map(_quoted, args), **{name: _quoted(value) for name, value in kwargs.items()})


def _quoted(value: Any) -> Any:
    return quote(value) if isinstance(value, _QUOTED) else value


def submit_as_task(stage: Callable, /, *args: Any, **kwargs: Any) -> PrefectFuture:
    """``run_refresh``'s ``submit``: the stage as its task on the flow's task runner (a worker), while
    the flow goes on. Nothing quoted: a task submitted to Dask would receive the quote itself, unopened."""
    return _stage_task(stage).submit(*args, **kwargs)


def _stage_task(stage: Callable):
    try:
        return STAGE_TASKS[stage]
    except KeyError:
        raise KeyError(f"refresh stage {stage.__qualname__} has no Prefect task: name it in flows.STAGE_TASKS") from None


def task_runner(workers: int, dask_address: str | None = None) -> TaskRunner:
    """Where the read-and-validate tasks run: an existing Dask cluster, N local processes, or
    (one worker) threads of this process. The first two are made when a task is first submitted
    (``StartedOnFirstSubmit``)."""
    if dask_address:
        return StartedOnFirstSubmit(_dask_runner, dask_address, f"the Dask cluster at {dask_address}")
    if workers > 1:
        return StartedOnFirstSubmit(ProcessPoolTaskRunner, workers, f"{workers} local processes")
    return ThreadPoolTaskRunner(max_workers=1)


def _dask_runner(address: str) -> TaskRunner:
    from prefect_dask import DaskTaskRunner  # imports distributed (~0.4 s): only when a task goes to Dask

    return DaskTaskRunner(address=address)


class StartedOnFirstSubmit(TaskRunner):
    """Prefect's ``DaskTaskRunner`` or ``ProcessPoolTaskRunner``, made and started when the flow
    first submits a task, and stopped with the flow. A refresh with nothing to read (every file
    kept) then neither imports distributed nor connects to a cluster or starts processes."""

    def __init__(self, make: Callable[[Any], TaskRunner], argument: Any, description: str) -> None:
        super().__init__()
        self.make, self.argument, self.description = make, argument, description
        self.started: TaskRunner | None = None

    @property
    def address(self) -> str | None:
        """The Dask scheduler's address, for a Dask cluster (else None)."""
        return self.argument if self.make is _dask_runner else None

    def duplicate(self) -> StartedOnFirstSubmit:
        return type(self)(self.make, self.argument, self.description)

    def submit(self, task: Any, parameters: dict[str, Any], wait_for: Any = None, dependencies: Any = None) -> PrefectFuture:
        if self.started is None:
            self.started = self.make(self.argument).__enter__()
        return self.started.submit(task, parameters, wait_for=wait_for, dependencies=dependencies)

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        try:
            if self.started is not None:
                self.started.__exit__(exc_type, exc_value, traceback)
        finally:
            self.started = None
            super().__exit__(exc_type, exc_value, traceback)


def choose_task_runner(workers: int | None, dask_address: str | None) -> tuple[TaskRunner, int]:
    """The task runner a refresh's options ask for, and how many workers it has: ``--dask-address``;
    else ``--workers N`` local processes; else (neither given) the warm workers that
    ``pmf server start`` started, when they answer; else as many local processes as cores."""
    from pipelines import workers as warm

    if dask_address:
        return task_runner(1, dask_address), warm.cores()
    if workers is None:
        address = warm.up_to_date_address(refresh.progress)
        if address:
            return task_runner(1, address), warm.worker_count() or warm.cores()
        workers = warm.cores()
    return task_runner(workers), workers


def describe(runner: TaskRunner) -> str:
    return runner.description if isinstance(runner, StartedOnFirstSubmit) else "this process"


def on_task_runner(batches: list[Batch], workers: int = 1) -> Iterator[list[Validated]]:
    """``intake``'s ``run_batches``: one Prefect task per group of batches (``intake.task_groups``
    for ``workers`` workers), submitted now; results as they finish."""
    context = FlowRunContext.get()
    where = describe(context.task_runner) if context else "this process"
    address = getattr(context.task_runner, "address", None) if context else None
    if address:
        from pipelines import workers as warm

        # Dask workers outlive a checkout: they must run the intake code on disk (pmf's own are restarted).
        warm.ensure_current(address, may_restart=address == warm.running_address())
    groups = intake.task_groups(batches, workers)
    refresh.progress(f"  {sum(len(b.submissions) for b in batches)} submission(s) to read and validate, in {len(groups)} task(s) on {where}")
    futures = [
        validate_task.with_options(task_run_name=f"validate {'; '.join(batch.label for batch in group)}").submit(group)
        for group in groups
    ]
    return (future.result() for future in as_completed(futures))


@flow(name="pmf-quarterly-refresh", validate_parameters=False, log_prints=False)
async def quarterly_refresh(
    raw_dir: Path,
    marts_dir: Path,
    settings: Settings,
    period: str | None = None,
    workers: int = 1,
    rebuild: bool = False,
) -> RefreshSummary:
    """``refresh.run_refresh``, each stage a task, the read-and-validate batches on the flow's task runner.

    Async only to Prefect (its body blocks, from start to end; run it with ``run_flow``): Prefect's
    sync flow engine ends every run by waiting for its heartbeat thread's current one-second sleep
    (measured: 0.6-0.8 s of a 3 s rerun); its async engine does not wait, and heartbeats go on.
    Stage tasks called here run at once, in this thread, as in a sync flow."""
    summary = refresh.run_refresh(
        raw_dir, marts_dir, settings, period=period, workers=workers, rebuild=rebuild,
        run_batches=functools.partial(on_task_runner, workers=workers), step=run_as_task, submit=submit_as_task,
    )
    _publish_artifact(summary)
    return summary


def _publish_artifact(summary: RefreshSummary) -> None:
    """The run's summary as a Prefect artifact (visible in the Prefect UI when a server is used)."""
    lines = "\n".join(f"    {line}" for line in summary.lines())
    create_markdown_artifact(
        key="pmf-refresh-summary",
        markdown=f"# pmf refresh {summary.run_id}\n\n{lines}\n",
        description=f"pmf quarterly refresh for {summary.period}",
        _sync=True,  # called in the async flow: Prefect would otherwise return the async version's coroutine
    )


def run_flow(outcome: Any) -> Any:
    """What a flow call returns, run to its end: an async flow's coroutine is run (on a thread of
    its own when this thread already runs an event loop, with this thread's context: a served
    run's refresh is its subflow); a sync flow's result is returned as it is."""
    if not inspect.isawaitable(outcome):
        return outcome
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(outcome)
    context = contextvars.copy_context()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pmf-flow") as pool:
        return pool.submit(context.run, asyncio.run, outcome).result()


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
