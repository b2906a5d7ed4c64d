"""Query results by column name: what the tests read from DuckDB, as dicts keyed by the result's
column names (never by position)."""

from __future__ import annotations

from pathlib import Path

import duckdb


def query_rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | tuple = ()) -> list[dict]:
    """Every row of ``sql`` as a dict keyed by the result's column names."""
    cursor = con.execute(sql, params)
    names = [column[0] for column in cursor.description]
    assert len(set(names)) == len(names), f"a result read by name needs unique column names: {names}"
    return [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]


def query_one(con: duckdb.DuckDBPyConnection, sql: str, params: list | tuple = ()) -> dict:
    """The one row of ``sql`` (asserting that there is exactly one)."""
    rows = query_rows(con, sql, params)
    assert len(rows) == 1, f"expected one row, got {len(rows)} from: {sql}"
    return rows[0]


def query_file(path: Path, sql: str, params: list | tuple = ()) -> list[dict]:
    """``query_rows`` on a database file opened read-only (and closed again)."""
    with duckdb.connect(str(path), read_only=True) as con:
        return query_rows(con, sql, params)
