"""The quarterly refresh as a Prefect flow: one task per stage, each a call to ``refresh.py``.

Without a Prefect server this runs on a temporary local API (``pmf`` sets quiet, offline
defaults before Prefect is imported: see ``pipelines.cli.prefect_environment``); with ``PREFECT_API_URL``
pointing at a server the run is recorded there.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from pipelines import preflight, refresh, workbook
from pipelines.config import Settings
from pipelines.publish import discard, publish, refresh_lock, start_build
from pipelines.refresh import RefreshSummary

_task = task(cache_policy=NO_CACHE, persist_result=False, retries=0)

intake_task = _task(refresh.run_intake, name="ingest and validate")
write_intake_task = _task(refresh.write_intake_tables, name="record data quality")
reference_task = _task(refresh.load_reference, name="load reference data")
models_task = _task(refresh.run_sql_models, name="stage, link and count (SQL)")
indicators_task = _task(refresh.run_indicators, name="indicator values and intervals")
status_task = _task(refresh.run_work_plan_status, name="work-plan status")
marts_task = _task(refresh.finish_marts, name="build marts")
workbook_task = _task(workbook.write_workbook, name="board workbook")
report_task = _task(refresh.write_success_report, name="validation report")
seal_task = _task(refresh.seal_release, name="seal release")
publish_task = _task(publish, name="publish")


@flow(name="pmf-quarterly-refresh", validate_parameters=False, log_prints=False)
def quarterly_refresh(raw_dir: Path, marts_dir: Path, settings: Settings, period: str | None = None) -> RefreshSummary:
    """ingest → validate → stage → indicators → work-plan status → publish marts → board workbook."""
    progress = refresh.progress
    preflight.check_run(settings, raw_dir, period)  # before any extract is read
    with refresh_lock(marts_dir):
        build = start_build(marts_dir)
        summary = RefreshSummary(run_id=build.run_id, period="")
        con = refresh.open_build_connection(build)
        try:
            result = intake_task(con, raw_dir, settings, progress)
            chosen = refresh.choose_period(period, result.periods)
            summary.period = chosen.label
            refresh.summarise(result, summary)
            if result.rejected:
                refresh.reject(result, marts_dir, chosen, progress)
            write_intake_task(con, result)
            reference_task(con, settings)
            models_task(con, progress)
            values = indicators_task(con, result, progress)
            summary.indicator_rows = len(values)
            summary.indicator_values_available = int(values["value"].notna().sum())
            status_task(con, settings, progress)
            record = refresh.run_record(summary, "published")
            refresh.write_refresh_log(con, marts_dir, record)
            marts_task(con, build, progress)  # closes the connection
            out = build.board_dir / f"HSCB-PMF-{chosen.folder_id}.xlsx"
            progress(f"Writing the board workbook for {settings.la_name(settings.board_la_code)}, {chosen.label}")
            workbook_task(build.marts_path, out, period=chosen, settings=settings)
            report_task(result, build, chosen)
            record = seal_task(build, summary, record)
            summary.outputs = publish_task(build, keep_releases=settings.keep_releases)
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
            with contextlib.suppress(Exception):
                con.close()
            discard(build)


def _publish_artifact(summary: RefreshSummary) -> None:
    """The run's summary as a Prefect artifact (visible in the Prefect UI when a server is used)."""
    lines = "\n".join(f"    {line}" for line in summary.lines())
    create_markdown_artifact(
        key="pmf-refresh-summary",
        markdown=f"# pmf refresh {summary.run_id}\n\n{lines}\n",
        description=f"pmf quarterly refresh for {summary.period}",
    )
