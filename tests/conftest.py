"""Shared fixtures: a fixed pseudonymisation key, quiet offline Prefect, a raw folder, a work
database, the board workbook of the synthetic marts, the demo dataset and one end-to-end refresh
for the whole session.

Helpers that tests import live in plain modules beside this one (extract_rows, query_rows,
sql_harness, demo_world, workbook_fixtures, workbook_cells, work_plan_scenario, publish_checks,
repo_paths, server_process): conftest.py is for fixtures only."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

os.environ.setdefault("PMF_PSEUDONYM_KEY", "test-key-" + "0" * 40)
from pipelines.cli import prefect_environment  # noqa: E402
from repo_paths import REPO  # noqa: E402

prefect_environment(REPO / ".pmf" / "prefect-test")

from demo_world import copy_marts, demo_world, tree_fingerprint  # noqa: E402
from pipelines.periods import Quarter  # noqa: E402


@pytest.fixture
def raw_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "raw"
    folder.mkdir()
    return folder


@pytest.fixture
def work_con():
    """An in-memory DuckDB with a ``work`` schema standing in for the refresh's work database."""
    with duckdb.connect() as con:
        con.execute("attach ':memory:' as work")
        yield con


@pytest.fixture(scope="session")
def workbook_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The board workbook written once a session from the small synthetic marts
    (tests/workbook_fixtures.py), alone in its folder: read by tests/test_workbook*.py, never written
    (test_workbook_pdf.py prints a copy)."""
    from pipelines.board import write_workbook
    from pipelines.config import Settings
    from workbook_fixtures import PERIOD, build_marts

    folder = tmp_path_factory.mktemp("workbook")
    marts = build_marts(folder / "pmf.duckdb")
    return write_workbook(marts, folder / "board" / f"HSCB-PMF-{PERIOD.folder_id}.xlsx", period=PERIOD,
                          settings=Settings())


@pytest.fixture(scope="session")
def workbook(workbook_file: Path):
    """``workbook_file`` opened with openpyxl, once: only read."""
    import openpyxl

    return openpyxl.load_workbook(workbook_file)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory):
    """The default demo dataset (tests/test_demo_*.py), written once a session and read back with
    the independent reader in tests/demo_files.py."""
    from demo_files import generate_and_load

    return generate_and_load(tmp_path_factory.mktemp("demo"))


# The shared end-to-end world: four quarters, the fewest that show a 12-month look-back both
# incomplete (Q1-Q3) and complete (Q4).
E2E_FIRST, E2E_LAST = Quarter.parse("2018-19 Q1"), Quarter.parse("2018-19 Q4")
# Explicit, so that the refresh is the same on any machine (the default is one per core) and
# tests/test_workers.py can compare it with one process and with Dask.
E2E_OPTIONS = ("--workers", "2")


@pytest.fixture(scope="session")
def e2e_refresh(tmp_path_factory: pytest.TempPathFactory):
    """Four quarters of demo extracts for the four Tees LAs (tests/demo_world.py), published by
    one ``pmf refresh`` (``E2E_OPTIONS``) for the whole session: every end-to-end suite that only
    reads what a refresh publishes reads this one.

    It is read-only. A test that refreshes again, or writes into the marts folder in any other
    way, works on its own copy (the ``e2e_marts_copy`` fixture, or ``demo_world.copy_marts``);
    one that changes the raw or reference files copies those. At the end of the session every
    file of the world is checked against what the refresh left, so a test that wrote into it
    fails loudly instead of changing what the next suite sees.
    """
    from pipelines.cli import main

    root = tmp_path_factory.mktemp("e2e")
    world = demo_world(root, E2E_FIRST.label, E2E_LAST.label)
    marts = root / "marts"
    code = main(["refresh", "--raw-dir", str(world["raw"]), "--marts-dir", str(marts),
                 "--config", str(world["config"]), *E2E_OPTIONS])
    before = tree_fingerprint(root)
    yield {**world, "root": root, "marts": marts, "exit": code, "options": E2E_OPTIONS,
           "first": E2E_FIRST, "last": E2E_LAST}
    after = tree_fingerprint(root)
    changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
    assert not changed, f"a test wrote into the shared end-to-end world (copy it instead): {changed[:20]}"


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory):
    """A real Prefect server on localhost for the session (tests/server_process.py), with its own
    PREFECT_HOME: ``{"url", "env"}``. What ``pmf serve`` serves on, and what refreshes run as a
    subprocess report to instead of starting a temporary server each."""
    from server_process import running_prefect_server

    with running_prefect_server(tmp_path_factory.mktemp("prefect-server")) as server:
        yield server


@pytest.fixture
def e2e_marts_copy(e2e_refresh, tmp_path: Path) -> Path:
    """A test's own copy of the shared refresh's marts folder, to refresh into (with the shared
    raw files and settings, which it must not change)."""
    return copy_marts(e2e_refresh["marts"], tmp_path / "marts")
