"""One process, N local processes and a Dask cluster publish the same content, table by table."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from pipelines.cli import main
from publish_checks import published_tables

pytestmark = pytest.mark.e2e

RUN_SPECIFIC = {"refresh_log", "build_info"}  # run ids and times: the only tables allowed to differ


@pytest.fixture(scope="module")
def world(e2e_refresh, tmp_path_factory):
    """The shared demo world's raw files and settings (tests/conftest.py, ``e2e_refresh``), only
    read; each refresh here publishes into its own marts folder."""
    return tmp_path_factory.mktemp("workers"), e2e_refresh["raw"], e2e_refresh["config"]


ONE_PROCESS = "marts-1"


@pytest.fixture(scope="module")
def one_process(world) -> dict[str, pd.DataFrame]:
    """What a refresh with ``--workers 1`` (the Prefect flow, in its own marts folder ``ONE_PROCESS``)
    publishes: what every other way of running is compared with. Only read."""
    return _refresh(world, ONE_PROCESS, "--workers", "1")


def _refresh(world, name: str, *options: str) -> dict[str, pd.DataFrame]:
    root, raw, config = world
    marts = root / name
    code = main(["refresh", "--raw-dir", str(raw), "--marts-dir", str(marts), "--config", str(config), *options])
    assert code == 0
    return _published(marts)


def _published(marts) -> dict[str, pd.DataFrame]:
    return published_tables(marts, RUN_SPECIFIC)


def _assert_same(left: dict, right: dict, label: str) -> None:
    assert sorted(left) == sorted(right), label
    for table in left:
        pd.testing.assert_frame_equal(left[table], right[table], obj=f"{label}: {table}")


def test_one_process_two_processes_and_a_dask_cluster_publish_the_same(world, one_process, e2e_refresh):
    from distributed import Client, LocalCluster, get_task_stream

    one = one_process
    assert len(one["quarantine"]) > 0 and len(one["indicator_values"]) > 0  # a world with something to compare
    # The session's shared refresh of the same raw files and settings ran with --workers 2.
    assert e2e_refresh["exit"] == 0 and e2e_refresh["options"] == ("--workers", "2")
    two = _published(e2e_refresh["marts"])
    _assert_same(one, two, "--workers 1 vs --workers 2")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client, get_task_stream(client) as stream:
            dask = _refresh(world, "marts-dask", "--dask-address", cluster.scheduler_address)
        ran_on = {task["worker"] for task in stream.data}
    assert ran_on, "the read-and-validate tasks ran on the cluster's workers"
    _assert_same(one, dask, "--workers 1 vs Dask")


def test_a_rerun_with_every_file_kept_makes_no_task_runner(world, one_process, tmp_path):
    """A rerun with nothing to read submits no task, so the Dask runner is never made: distributed
    is not imported and the cluster is never contacted (this address answers nothing)."""
    import shutil
    import subprocess
    import sys

    root, raw, config = world
    marts = tmp_path / "marts"  # a copy: the --workers 1 marts keep their one run for the tests below
    shutil.copytree(root / ONE_PROCESS, marts, symlinks=True)
    script = "import sys; from pipelines.cli import main; code = main(sys.argv[1:]); print(code, 'distributed' in sys.modules)"
    options = ["--raw-dir", str(raw), "--marts-dir", str(marts), "--config", str(config)]
    done = subprocess.run([sys.executable, "-c", script, "refresh", *options, "--dask-address", "tcp://127.0.0.1:9"],
                          capture_output=True, text=True)
    assert done.stdout.split()[-2:] == ["0", "False"], done.stdout + done.stderr
    assert "Nothing changed since refresh" in done.stdout


def test_warm_workers_take_a_refresh_until_stopped(world, one_process, tmp_path, monkeypatch):
    """`pmf server start`'s workers: a refresh given neither --workers nor --dask-address
    validates on them, publishes what one process publishes, and `pmf server stop` ends them."""
    import os

    from distributed import Client, get_task_stream

    from pipelines import workers

    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
    (tmp_path / "prefect-home").mkdir()
    address = workers.start_workers(1, os.environ.get("PREFECT_API_URL"))
    pids = workers.process_ids()
    try:
        assert workers.running_address() == address
        with Client(address) as client, get_task_stream(client) as stream:
            warm = _refresh(world, "marts-warm")
        assert {task["worker"] for task in stream.data}, "the read-and-validate tasks ran on the warm workers"
        _assert_same(one_process, warm, "--workers 1 vs warm workers")
    finally:
        print(workers.stop_workers())
    assert workers.running_address() is None
    for pid in pids:
        for _ in range(100):
            try:
                os.waitpid(pid, os.WNOHANG)  # reap it, if it is our child and has ended
                os.kill(pid, 0)
            except (ChildProcessError, ProcessLookupError):
                break
            import time

            time.sleep(0.1)
        else:
            raise AssertionError(f"process {pid} of the warm workers is still running")


def test_dask_workers_running_older_intake_code_are_restarted_or_refused():
    """A warm worker outlives a checkout: one whose imported intake code is not the code on disk
    is restarted when it is pmf's own, and refused when it is anyone else's cluster."""
    from distributed import Client, LocalCluster

    from pipelines.keptstate import code_fingerprint
    from pipelines.workers import WorkersError, ensure_current

    def imported(client):
        return set(client.run(lambda: __import__("pipelines.intake").intake.IMPORTED_CODE).values())

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            client.run(lambda: setattr(__import__("pipelines.intake").intake, "IMPORTED_CODE", "older code"))
            assert imported(client) == {"older code"}
            with pytest.raises(WorkersError, match="different version of pmf's intake code"):
                ensure_current(cluster.scheduler_address, may_restart=False)
            ensure_current(cluster.scheduler_address, may_restart=True)
            assert imported(client) == {code_fingerprint()}


# Run in a fresh interpreter where any import of Prefect fails: two refreshes (the second finds
# nothing changed), each stage's name recorded as its step runs it.
_WITHOUT_PREFECT = r"""
import json, sys
sys.modules["prefect"] = None
from pathlib import Path
from pipelines import refresh
from pipelines.config import load_settings

raw, marts, config = map(Path, sys.argv[1:])
runs = []
for _ in range(2):
    stages = []

    def step(stage, *args, **kwargs):
        stages.append(stage.__name__)
        return stage(*args, **kwargs)

    def submit(stage, *args, **kwargs):
        stages.append("submitted " + stage.__name__)
        return refresh.call_now(stage, *args, **kwargs)

    summary = refresh.run_refresh(raw, marts, load_settings(config), step=step, submit=submit)
    runs.append({"run_id": summary.run_id, "stages": stages})
imported = sorted(name for name, module in sys.modules.items() if name.startswith("prefect") and module is not None)
print(json.dumps({"runs": runs, "prefect_modules": imported}))
"""

BUILD_STAGES = [  # one worker: the Data Docs are submitted first, to run beside the SQL
    "submitted build_data_docs", "write_intake_tables", "load_reference", "run_sql_models", "run_indicators", "run_spc",
    "run_benchmark", "run_revisions", "run_work_plan_status", "finish_marts", "write_board_workbook",
    "write_success_report", "seal_release", "publish",
]
RERUN_STAGES = ["republish_unchanged", "seal_release", "publish"]


def test_run_refresh_without_prefect_publishes_what_the_flow_publishes(world, one_process):
    """``refresh.run_refresh`` is the whole refresh: without Prefect it runs every stage in the
    pipeline's order, finds a rerun unchanged, and publishes what the Prefect flow publishes."""
    import json
    import subprocess
    import sys

    from pipelines.flows import STAGE_TASKS
    from publish_checks import published_run

    root, raw, config = world
    flow = one_process  # the Prefect flow's refresh of the same files and settings
    marts = root / "marts-plain"
    done = subprocess.run([sys.executable, "-c", _WITHOUT_PREFECT, str(raw), str(marts), str(config)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    ran = json.loads(done.stdout.splitlines()[-1])
    assert ran["prefect_modules"] == []
    first, second = ran["runs"]
    assert first["stages"] == BUILD_STAGES
    assert second["stages"] == RERUN_STAGES
    task_stages = {stage.__name__ for stage in STAGE_TASKS}
    assert {name.removeprefix("submitted ") for name in BUILD_STAGES + RERUN_STAGES} == task_stages  # each a task in the flow
    assert published_run(marts) == second["run_id"]
    _assert_same(flow, _published(marts), "Prefect flow vs run_refresh without Prefect")
    counts = ["board_period", "outcome", "files_read", "files_rejected", "rows_received", "rows_staged",
              "rows_quarantined", "indicator_values_available", "inputs_sha256"]
    with duckdb.connect(str(root / ONE_PROCESS / "pmf.duckdb"), read_only=True) as con:
        flow_log = con.execute(f"select {', '.join(counts)} from refresh_log").fetchall()
    with duckdb.connect(str(marts / "pmf.duckdb"), read_only=True) as con:
        plain_log = con.execute(f"select run_id, {', '.join(counts)} from refresh_log order by finished_at, run_id").fetchall()
    assert [row[0] for row in plain_log] == [first["run_id"], second["run_id"]]
    assert [row[1:] for row in plain_log] == flow_log * 2


def test_warm_workers_started_with_other_pmf_code_are_started_again(tmp_path, monkeypatch):
    """Dask's scheduler unpickles the refresh's task functions too: after pmf's code changes, the
    whole warm cluster (scheduler included) is started again before a refresh uses it."""
    import os

    from pipelines import workers

    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
    (tmp_path / "prefect-home").mkdir()
    first = workers.start_workers(1, os.environ.get("PREFECT_API_URL"))
    try:
        assert workers.up_to_date_address(lambda message: None) == first  # same code: the same cluster
        monkeypatch.setattr(workers, "package_fingerprint", lambda: "other code")
        said = []
        second = workers.up_to_date_address(said.append)
        assert second != first and said and "restarting" in said[0]
        assert workers.running_address() == second
        monkeypatch.undo()
        monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-home"))
        assert workers._state()["code"] == "other code"  # recorded by the start it made
    finally:
        workers.stop_workers()
