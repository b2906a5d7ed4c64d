"""A rerun with nothing changed re-publishes the same outputs with its own run record; anything an
output depends on that changes makes it build again."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from demo_world import demo_world
from pipelines.cli import main
from publish_checks import published_run

pytestmark = pytest.mark.e2e

RUN_SPECIFIC = {"refresh_log", "build_info"}


@pytest.fixture
def world(tmp_path):
    return {**demo_world(tmp_path, "2018-19 Q4", "2018-19 Q4"), "marts": tmp_path / "marts"}


def _refresh(world, capsys, *options: str) -> str:
    code = main(["refresh", "--raw-dir", str(world["raw"]), "--marts-dir", str(world["marts"]), "--config", str(world["config"]), *options])
    assert code == 0
    return capsys.readouterr().out


def _tables(marts: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(marts / "pmf.duckdb"), read_only=True) as con:
        names = [row[0] for row in con.execute("select table_name from duckdb_tables() order by 1").fetchall()]
        return {name: con.execute(f"select * from {name}").df() for name in names}


def test_an_unchanged_rerun_republishes_the_same_outputs_with_its_own_record(world, capsys):
    _refresh(world, capsys)
    before = _tables(world["marts"])
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


def test_a_changed_reference_file_or_setting_or_rebuild_builds_again(world, capsys):
    _refresh(world, capsys)
    updates = world["reference"] / "plan_line_updates.csv"
    updates.write_text(updates.read_text().replace("1.1.1,grey,awaiting update,,", "1.1.1,green,done,Lead,2019-03-01", 1))
    assert "Nothing changed" not in _refresh(world, capsys)
    assert "Nothing changed" not in _refresh(world, capsys, "--board-la", "E06000002")
    assert "Nothing changed" not in _refresh(world, capsys, "--board-la", "E06000002", "--rebuild")
    assert "Nothing changed" in _refresh(world, capsys, "--board-la", "E06000002")
