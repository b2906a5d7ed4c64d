"""A new quarter through the whole refresh starts from the published staging tables and extends
them with the new period's records (``pipelines.keptmarts``); what it publishes is what a refresh
of every quarter from nothing publishes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipelines.cli import main
from pipelines.contract import load_contract
from pipelines.periods import is_period_folder
from publish_checks import published_tables

pytestmark = pytest.mark.e2e

# Run ids and times; and the revisions, which compare with the previous publish (a refresh from
# nothing has none to compare with).
RUN_SPECIFIC = {"refresh_log", "build_info", "indicator_revisions"}


def _refresh(raw: Path, marts: Path, config: Path, capsys) -> str:
    code = main(["refresh", "--raw-dir", str(raw), "--marts-dir", str(marts), "--config", str(config), "--workers", "1"])
    assert code == 0
    return capsys.readouterr().out


def _published(marts) -> dict[str, pd.DataFrame]:
    return published_tables(marts, RUN_SPECIFIC)


def _comments(marts: Path) -> list[tuple]:
    """Every table's and column's comment in the published database."""
    with duckdb.connect(str(marts / "pmf.duckdb"), read_only=True) as con:
        tables = con.execute("select table_name, '', comment from duckdb_tables()").fetchall()
        columns = con.execute("select table_name, column_name, comment from duckdb_columns() where not internal").fetchall()
    return sorted(tables + columns)


def test_a_new_quarter_extends_the_published_staging_and_publishes_what_a_full_refresh_does(e2e_refresh, tmp_path, capsys):
    source = e2e_refresh["raw"]
    periods = sorted(path.name for path in source.iterdir() if is_period_folder(path.name))
    raw = tmp_path / "raw"
    raw.mkdir()
    for period in periods[:-1]:
        (raw / period).symlink_to(source / period)
    marts = tmp_path / "marts"
    first = _refresh(raw, marts, e2e_refresh["config"], capsys)
    assert "every staging table staged from the raw rows (no published marts to start from)" in first
    (raw / periods[-1]).symlink_to(source / periods[-1])
    previous = (marts / "pmf.duckdb").resolve()  # the published release's database, which the build copies
    previous_sha = hashlib.sha256(previous.read_bytes()).hexdigest()

    out = _refresh(raw, marts, e2e_refresh["config"], capsys)

    # The demo world sends every extract every quarter: every staging table is extended.
    assert f"0 kept as they were, {len(load_contract())} extended with new periods, 0 staged again" in out
    incremental, full = _published(marts), _published(e2e_refresh["marts"])  # the shared refresh: all four quarters at once
    assert sorted(incremental) == sorted(full)
    for name in full:
        pd.testing.assert_frame_equal(incremental[name], full[name], obj=name)
    # The comments an analyst reads (kept tables keep theirs; only different texts are written).
    kept_comments, full_comments = _comments(marts), _comments(e2e_refresh["marts"])
    assert kept_comments == full_comments
    assert all(comment for *_, comment in kept_comments)
    assert len(incremental["stg_la__cp_plans"]) > 0 and set(incremental["stg_la__cp_plans"]["received_period"]) >= {
        "2018-19 Q1", "2018-19 Q4"
    }
    # The release it started from is untouched (still kept: keep_releases is 3), as its manifest says.
    assert hashlib.sha256(previous.read_bytes()).hexdigest() == previous_sha
    manifest = json.loads((previous.parent / "release.json").read_text())
    assert manifest["files"]["pmf.duckdb"] == previous_sha
    header = (marts / "pmf.duckdb").read_bytes()[:4096]
    assert header[8:12] == b"DUCK" and int.from_bytes(header[12:20], "little") == 64  # still storage v1.0.0


def test_rebuild_stages_every_table_again(e2e_marts_copy, e2e_refresh, capsys):
    out = _refresh(e2e_refresh["raw"], e2e_marts_copy, e2e_refresh["config"], capsys)
    assert "Nothing changed since refresh" in out
    code = main(["refresh", "--raw-dir", str(e2e_refresh["raw"]), "--marts-dir", str(e2e_marts_copy),
                 "--config", str(e2e_refresh["config"]), "--workers", "1", "--rebuild"])
    assert code == 0
    out = capsys.readouterr().out
    assert "every staging table staged from the raw rows (--rebuild)" in out
    rebuilt = _published(e2e_marts_copy)
    for name, frame in _published(e2e_refresh["marts"]).items():
        pd.testing.assert_frame_equal(rebuilt[name], frame, obj=name)
