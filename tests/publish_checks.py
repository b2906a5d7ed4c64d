"""What a reader of ``<marts-dir>`` sees, checked from the outside: every output there, whole,
and all of one run (database = Parquet = workbook = release manifest); and the published tables,
to compare two ways of making them (``published_tables``)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd

from query_rows import query_file, query_one, query_rows

RUN_ID = re.compile(r"refresh (\S+?)\.?$")


def published_tables(marts: Path, skip: set[str] = frozenset()) -> dict[str, pd.DataFrame]:
    """Every table of the published ``pmf.duckdb`` but ``skip``, each with its rows sorted
    (``sorted_rows``), so that two refreshes compare table by table whatever their row order."""
    with duckdb.connect(str(marts / "pmf.duckdb"), read_only=True) as con:
        names = [row["table_name"] for row in query_rows(con, "select table_name from duckdb_tables() order by 1")]
        tables = {name: con.execute(f"select * from {name}").df() for name in names if name not in skip}
    return {name: sorted_rows(frame) for name, frame in tables.items()}


def sorted_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame's rows in the order of all its columns' values (missing as None)."""
    frame = frame.astype(object).where(frame.notna(), None)
    return frame.sort_values(list(frame.columns), key=lambda c: c.astype(str)).reset_index(drop=True)


def database_run(path: Path) -> str:
    """The run that built a marts database: its latest refresh_log row."""
    (latest,) = query_file(path, "select run_id from refresh_log order by finished_at desc, run_id desc limit 1")
    return latest["run_id"]


def parquet_run(folder: Path) -> str:
    with duckdb.connect() as con:
        return query_rows(
            con, f"select run_id from read_parquet('{folder / 'refresh_log.parquet'}') order by finished_at desc, run_id desc limit 1"
        )[0]["run_id"]


def workbook_run(path: Path) -> str:
    """The run named in the Definitions sheet's "Generated" note."""
    sheet = openpyxl.load_workbook(path, read_only=True)["Definitions"]
    for row in sheet.iter_rows(values_only=True):
        if row and row[0] == "Generated":
            return RUN_ID.search(row[1])[1]
    raise AssertionError(f"{path}: no Generated note naming the refresh")


def published_run(marts: Path) -> str:
    """The one run every output in ``marts`` comes from (asserting that there is one)."""
    for name in ("pmf.duckdb", "parquet", "board", "reports"):
        assert (marts / name).exists(), f"{name} is missing"
    runs = {"database": database_run(marts / "pmf.duckdb"), "parquet": parquet_run(marts / "parquet")}
    with duckdb.connect(str(marts / "pmf.duckdb"), read_only=True) as con:
        tables = {row["table_name"] for row in query_rows(con, "select table_name from duckdb_tables()")}
        # A rerun that found nothing changed re-publishes the figures (and workbook) of the refresh
        # that computed them: the workbook names that refresh, and build_info says which it was.
        if "build_info" in tables:
            build_info = query_one(con, "select built_by_run_id, run_id from build_info")
            built_by = build_info["built_by_run_id"]
            assert build_info["run_id"] == runs["database"], "build_info and refresh_log name different runs"
        else:  # a release made by hand for a test of publishing alone
            built_by = runs["database"]
    for workbook in sorted((marts / "board").glob("*.xlsx")):
        named = workbook_run(workbook)
        assert named == built_by, f"{workbook.name} names refresh {named}, the figures are refresh {built_by}'s"
    assert {p.stem for p in (marts / "parquet").glob("*.parquet")} == tables, "Parquet and database differ"
    manifest_path = marts / "current" / "release.json"
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        runs["release.json"] = manifest["run_id"]
        for name, sha256 in manifest["files"].items():
            assert hashlib.sha256((marts / "current" / name).read_bytes()).hexdigest() == sha256, f"{name} is not whole"
    assert len(set(runs.values())) == 1, f"outputs of more than one run: {runs}"
    return runs["database"]
