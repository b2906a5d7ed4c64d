"""Build every output beside the published ones, then swap them in only when all succeeded.

A refresh writes into ``<marts-dir>/.build-<run id>/``; a failed or killed refresh leaves the
published ``pmf.duckdb``, ``parquet/`` and ``board/`` exactly as they were (its build folder is
removed, or cleared by the next refresh). Analysts holding the published database open keep
reading the file they opened: the new one replaces it by an atomic rename, never by writing
into it. One refresh at a time per marts directory (an exclusive lock file).

The marts database is written with DuckDB storage version v1.0.0, so analysts' DuckDB clients
from 1.0 onwards can open it (pmf itself runs DuckDB 2.0, whose default format 1.x cannot read).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

MARTS_FILE = "pmf.duckdb"
STORAGE_VERSION = "v1.0.0"


@dataclass(frozen=True)
class Build:
    marts_dir: Path
    root: Path
    run_id: str

    @property
    def marts_path(self) -> Path:
        return self.root / MARTS_FILE

    @property
    def work_path(self) -> Path:
        return self.root / "work.duckdb"

    @property
    def parquet_dir(self) -> Path:
        return self.root / "parquet"

    @property
    def board_dir(self) -> Path:
        return self.root / "board"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"


class RefreshAlreadyRunning(RuntimeError):
    pass


@contextmanager
def refresh_lock(marts_dir: Path) -> Iterator[None]:
    """Hold ``<marts-dir>/.refresh.lock`` for the whole refresh (released even if killed)."""
    marts_dir.mkdir(parents=True, exist_ok=True)
    with open(marts_dir / ".refresh.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RefreshAlreadyRunning(f"another refresh is running on {marts_dir}") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def start_build(marts_dir: Path) -> Build:
    """A fresh build folder; leftovers of killed refreshes are removed (we hold the lock)."""
    for stale in marts_dir.glob(".build-*"):
        shutil.rmtree(stale, ignore_errors=True)
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    root = marts_dir / f".build-{run_id}"
    for folder in (root, root / "parquet", root / "board", root / "reports"):
        folder.mkdir(parents=True)
    return Build(marts_dir, root, run_id)


def open_build_connection(build: Build) -> duckdb.DuckDBPyConnection:
    """In-memory session with the private work database and the new marts database attached.

    New tables go to the marts unless a model says otherwise; names resolve in marts, then work.
    """
    con = duckdb.connect()
    con.execute(f"attach '{build.work_path}' as work")
    con.execute(f"attach '{build.marts_path}' as marts (storage_version '{STORAGE_VERSION}')")
    con.execute("use marts")
    con.execute("set search_path = 'marts.main,work.main'")
    return con


def close_build_connection(con: duckdb.DuckDBPyConnection) -> None:
    """Checkpoint and detach the marts (so the file is complete on its own) and close."""
    con.execute("checkpoint marts")
    con.execute("use memory")
    con.execute("detach marts")
    con.execute("detach work")
    con.close()


def export_parquet(marts_path: Path, parquet_dir: Path, tables: list[str]) -> None:
    with duckdb.connect(str(marts_path), read_only=True) as con:
        for table in tables:
            con.execute(f"copy (select * from {table}) to '{parquet_dir / table}.parquet' (format parquet)")


def swap_in(build: Build) -> list[Path]:
    """Move the build's outputs into place; the database goes last, by atomic rename."""
    marts_dir = build.marts_dir
    published: list[Path] = []
    (marts_dir / "board").mkdir(exist_ok=True)
    (marts_dir / "reports").mkdir(exist_ok=True)
    retired_folders = []
    for folder in ("board", "reports"):
        for path in sorted((build.root / folder).iterdir()):
            target = marts_dir / folder / path.name
            if path.is_dir() and target.is_dir():  # reports/data-docs/: a folder replaces a folder
                retired_folders.append(marts_dir / f".retired-{folder}-{path.name}-{build.run_id}")
                os.replace(target, retired_folders[-1])
            os.replace(path, target)
            published.append(target)
    parquet = marts_dir / "parquet"
    retired = marts_dir / f".retired-parquet-{build.run_id}"
    if parquet.exists():
        os.replace(parquet, retired)
    os.replace(build.parquet_dir, parquet)
    published.append(parquet)
    os.replace(build.marts_path, marts_dir / MARTS_FILE)
    published.append(marts_dir / MARTS_FILE)
    for stale in [retired, *retired_folders]:
        shutil.rmtree(stale, ignore_errors=True)
    return published


def discard(build: Build) -> None:
    shutil.rmtree(build.root, ignore_errors=True)


def copy_published(marts_dir: Path, build: Build) -> None:
    """Copy the published outputs into a build (the database by value; the other files as hard
    links where the filesystem allows, since they are replaced, never written in place)."""
    shutil.copyfile(marts_dir / MARTS_FILE, build.marts_path)
    for folder in ("parquet", "board", "reports"):
        source = marts_dir / folder
        if not source.is_dir():
            continue
        for path in sorted(source.iterdir()):
            if path.is_file():
                target = build.root / folder / path.name
                try:
                    os.link(path, target)
                except OSError:
                    shutil.copy2(path, target)
