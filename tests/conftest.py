"""Shared fixtures: a fixed pseudonymisation key, quiet offline Prefect, a raw folder and a work database.

Helpers that tests import live in plain modules beside this one (extract_rows, sql_harness,
demo_world, workbook_fixtures, publish_checks): conftest.py is for fixtures only."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

os.environ.setdefault("PMF_PSEUDONYM_KEY", "test-key-" + "0" * 40)
from pipelines.cli import prefect_environment  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
prefect_environment(REPO / ".pmf" / "prefect-test")


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
def demo(tmp_path_factory: pytest.TempPathFactory):
    """The default demo dataset (tests/test_demo_*.py), written once a session and read back with
    the independent reader in tests/demo_files.py."""
    from demo_files import generate_and_load

    return generate_and_load(tmp_path_factory.mktemp("demo"))
