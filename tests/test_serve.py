"""``pmf serve`` against a real Prefect server on localhost (the session's, tests/conftest.py
``prefect_server``): the deployment and its schedule are on the server, a triggered run completes
and publishes."""

from __future__ import annotations

import subprocess

import duckdb
import openpyxl
import pytest

from demo_world import copy_marts
from pipelines.cli import main
from pipelines.periods import quarter_range
from publish_checks import published_run
from query_rows import query_one, query_rows
from server_process import BIN, free_port, stop, wait_for

# The 15th of the month after each quarter ends (June, September, December, March), 06:00.
EXPECTED_CRON = "0 6 15 1,4,7,10 *"


@pytest.fixture
def published_world(e2e_refresh, tmp_path):
    """The shared demo world (tests/conftest.py, ``e2e_refresh``) with a copy of its published
    marts for the served run to refresh into (its raw files and settings are only read)."""
    root = tmp_path / "serve"
    root.mkdir()
    marts = copy_marts(e2e_refresh["marts"], root / "marts")
    return {"root": root, "raw": e2e_refresh["raw"], "config": e2e_refresh["config"], "marts": marts,
            "period": e2e_refresh["last"], "quarters": quarter_range(e2e_refresh["first"], e2e_refresh["last"]),
            "published_before": published_run(marts)}


@pytest.mark.e2e
def test_pmf_serve_serves_the_scheduled_deployment_and_runs_a_triggered_run(prefect_server, published_world):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.settings import PREFECT_API_URL, temporary_settings

    world = published_world
    marts = world["marts"]
    log = world["root"] / "serve.log"
    env = prefect_server["env"]
    # --rebuild: the marts hold a published refresh of these very inputs, and the triggered run
    # is to build every output again (reusing only the validated files), not re-publish that one.
    with open(log, "w") as out:
        serve = subprocess.Popen(
            [str(BIN / "pmf"), "serve", "--raw-dir", str(world["raw"]), "--marts-dir", str(marts),
             "--config", str(world["config"]), "--rebuild"],
            env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=world["root"],
        )
    try:
        with temporary_settings({PREFECT_API_URL: prefect_server["url"]}), get_client(sync_client=True) as client:

            def deployment():
                try:
                    return client.read_deployment_by_name("pmf-quarterly-refresh/quarterly")
                except Exception:  # not there yet (ObjectNotFound)
                    return None

            served = wait_for("the deployment on the server", deployment, serve, log)
            assert served.name == "quarterly"
            assert client.read_flow(served.flow_id).name == "pmf-quarterly-refresh"
            assert len(served.schedules) == 1
            schedule = served.schedules[0]
            assert schedule.active
            assert schedule.schedule.cron == EXPECTED_CRON
            assert schedule.schedule.timezone == "Europe/London"
            # Each run is `pmf refresh` with serve's options, paths made absolute.
            assert served.parameters["options"]["marts_dir"] == str(marts)
            assert served.parameters["options"]["raw_dir"] == str(world["raw"])
            assert served.parameters["options"]["rebuild"] is True

            triggered = subprocess.run([str(BIN / "prefect"), "deployment", "run", "pmf-quarterly-refresh/quarterly"],
                                       env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
            assert triggered.returncode == 0, triggered.stdout + triggered.stderr

            def finished_run():
                runs = client.read_flow_runs(deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[served.id])))
                done = [run for run in runs if run.state and run.state.is_final()]
                return done[0] if done else None

            run = wait_for("the triggered run", finished_run, serve, log)
            assert run.state.is_completed(), f"{run.state}\n{log.read_text()[-4000:]}"
    finally:
        stop(serve)

    # The run published, as `pmf refresh` does: 13 indicators x 4 Tees LAs x the world's quarters,
    # computed by that run (build_info), and every output is of that one run.
    period = world["period"]
    with duckdb.connect(str(marts / "pmf.duckdb"), read_only=True) as con:
        values = query_rows(con, "select distinct indicator_code, la_code, period from indicator_values")
        runs = query_rows(con, "select run_id, outcome, board_period from refresh_log order by started_at")
        build_info = query_one(con, "select run_id, built_by_run_id from build_info")
    assert len(values) == 13 * 4 * len(world["quarters"])
    assert {row["period"] for row in values} == {quarter.label for quarter in world["quarters"]}
    assert [row["run_id"] for row in runs[:-1]] == [world["published_before"]]  # the copied marts' own refresh
    served_run = runs[-1]
    assert (served_run["outcome"], served_run["board_period"]) == ("published", period.label)
    assert served_run["run_id"] != world["published_before"]
    assert build_info == {"run_id": served_run["run_id"], "built_by_run_id": served_run["run_id"]}
    assert published_run(marts) == served_run["run_id"]  # database = Parquet = workbook = release manifest
    workbook = openpyxl.load_workbook(marts / "board" / f"HSCB-PMF-{period.folder_id}.xlsx", read_only=True)
    assert "Summary" in workbook.sheetnames
    assert (marts / "reports" / f"validation-{period.folder_id}.md").read_text().startswith(
        f"# pmf validation report — board period {period.label}")


def test_pmf_serve_without_a_server_exits_1_saying_how_to_start_one(tmp_path, capsys):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: f"http://127.0.0.1:{free_port()}/api"}):  # nothing listens there
        assert main(["serve", "--marts-dir", str(tmp_path / "marts")]) == 1
    err = capsys.readouterr().err
    assert "no Prefect server answers at PREFECT_API_URL=http://127.0.0.1:" in err
    assert "prefect server start" in err


def test_pmf_serve_takes_the_options_of_pmf_refresh():
    from pipelines.cli import build_parser

    parser = build_parser()
    commands = next(action for action in parser._actions if action.dest == "command").choices

    def options(name: str) -> set[str]:
        return {flag for action in commands[name]._actions for flag in action.option_strings}

    assert options("serve") == options("refresh")


def test_a_bad_schedule_setting_is_a_clear_error(tmp_path, capsys):
    config = tmp_path / "pmf.toml"
    config.write_text('schedule_cron = "every quarter"\nschedule_timezone = "Europe/Londn"\n')
    assert main(["serve", "--config", str(config), "--marts-dir", str(tmp_path / "marts")]) == 1
    err = capsys.readouterr().err
    assert "schedule_cron" in err and "'every quarter' is not a cron schedule" in err
    assert "schedule_timezone" in err and "'Europe/Londn' is not an IANA time zone" in err
