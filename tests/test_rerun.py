"""A rerun with nothing changed re-publishes the same outputs with its own run record; anything an
output depends on that changes makes it build again."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines.cli import main
from publish_checks import published_run
from query_rows import query_rows

pytestmark = pytest.mark.e2e

RUN_SPECIFIC = {"refresh_log", "build_info"}


@pytest.fixture
def world(e2e_refresh, e2e_marts_copy):
    """The shared demo world (tests/conftest.py, ``e2e_refresh``) with a copy of its published
    marts to rerun into: one published refresh of these inputs, nothing else since."""
    return {"raw": e2e_refresh["raw"], "reference": e2e_refresh["reference"], "config": e2e_refresh["config"],
            "marts": e2e_marts_copy}


@pytest.fixture
def world_with_own_reference(world, tmp_path):
    """As ``world``, with its own copy of the reference files (the test edits them) and a settings
    file pointing at it: the shared world's are only read."""
    reference = shutil.copytree(world["reference"], tmp_path / "reference")
    config = tmp_path / "pmf.toml"
    config.write_text(f'reference_dir = "{reference}"\n')
    return {**world, "reference": reference, "config": config}


def _refresh(world, capsys, *options: str) -> str:
    code = main(["refresh", "--raw-dir", str(world["raw"]), "--marts-dir", str(world["marts"]), "--config", str(world["config"]), *options])
    assert code == 0
    return capsys.readouterr().out


def _tables(marts: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(marts / "pmf.duckdb"), read_only=True) as con:
        names = [row["table_name"] for row in query_rows(con, "select table_name from duckdb_tables() order by 1")]
        return {name: con.execute(f"select * from {name}").df() for name in names}


def test_an_unchanged_rerun_republishes_the_same_outputs_with_its_own_record(world, capsys):
    before = _tables(world["marts"])  # as the one refresh published them
    out = _refresh(world, capsys)
    assert "Nothing changed since refresh" in out
    after = _tables(world["marts"])
    assert sorted(after) == sorted(before)
    for name in sorted(set(before) - RUN_SPECIFIC):
        pd.testing.assert_frame_equal(after[name], before[name], obj=name)
    runs = after["refresh_log"].sort_values("started_at")
    assert list(runs["outcome"]) == ["published", "published"]
    assert after["build_info"]["run_id"].item() == runs["run_id"].iloc[-1]  # the next refresh compares with this run
    assert after["build_info"]["built_by_run_id"].item() == runs["run_id"].iloc[0]  # the figures are the first run's
    assert published_run(world["marts"]) == runs["run_id"].iloc[-1]  # whole, one release
    parquet = pd.read_parquet(world["marts"] / "parquet" / "refresh_log.parquet")
    assert sorted(parquet["run_id"]) == sorted(runs["run_id"])
    header = (world["marts"] / "pmf.duckdb").read_bytes()[:4096]
    assert header[8:12] == b"DUCK" and int.from_bytes(header[12:20], "little") == 64  # storage v1.0.0, for 1.x clients


def test_a_changed_reference_file_or_setting_or_rebuild_builds_again(world_with_own_reference, capsys):
    world = world_with_own_reference
    _refresh(world, capsys)  # publishes from the copied reference files (a new reference_dir: builds)
    assert "Nothing changed" in _refresh(world, capsys)  # the starting point: nothing changed since
    updates = world["reference"] / "plan_line_updates.csv"
    updates.write_text(updates.read_text().replace("1.1.1,grey,awaiting update,,", "1.1.1,green,done,Lead,2019-03-01", 1))
    assert "Nothing changed" not in _refresh(world, capsys)
    assert "Nothing changed" not in _refresh(world, capsys, "--board-la", "E06000002")
    assert "Nothing changed" not in _refresh(world, capsys, "--board-la", "E06000002", "--rebuild")
    assert "Nothing changed" in _refresh(world, capsys, "--board-la", "E06000002")
