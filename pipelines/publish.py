"""Build every output beside the published ones, then make them current in one atomic switch.

Layout of ``<marts-dir>``::

    releases/<run id>/        one folder per published refresh: pmf.duckdb, parquet/, board/,
                              reports/, release.json (the run id and every file's sha256)
    current -> releases/<run id>        the one switch: replaced atomically (rename of a symlink)
    pmf.duckdb -> current/pmf.duckdb    the paths users open, fixed symlinks made once
    parquet -> current/parquet
    board -> current/board
    reports -> current/reports
    logs/  .pmf/  rejected/  .refresh.lock   outside the releases, never pruned

A refresh builds in ``<marts-dir>/.build-<run id>/`` (its private work database and
``release/``), renames the finished ``release/`` to ``releases/<run id>`` and then switches
``current``. Every path a user opens goes through ``current``, which names one whole release at
every instant: killed before the switch, the previous release is still current; after it, the
new one is. Readers holding the old ``pmf.duckdb`` open keep reading their file (on Linux a
pruned file stays readable until closed) and never block a refresh, which never opens a
published file for writing. One refresh at a time per marts directory (an exclusive lock file).

The marts database is written with DuckDB storage version v1.0.0, so analysts' DuckDB clients
from 1.0 onwards can open it (pmf itself runs DuckDB 2.0, whose default format 1.x cannot read).
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines.ingest import sha256_of

MARTS_FILE = "pmf.duckdb"
STORAGE_VERSION = "v1.0.0"
RELEASES = "releases"
CURRENT = "current"
MANIFEST = "release.json"
# What users open, each a symlink into ``current``. reports/ also holds reports/data-docs/.
USER_PATHS = (MARTS_FILE, "parquet", "board", "reports")
# The steps of ``publish``, in order; ``on_step`` is called after each (tests stop runs there).
PUBLISH_STEPS = ("older layout adopted", "release moved into releases/", "current switched",
                 "user paths linked", "old releases pruned")


@dataclass(frozen=True)
class Build:
    marts_dir: Path
    root: Path
    run_id: str

    @property
    def release_dir(self) -> Path:
        """What becomes ``releases/<run id>``: everything users get, nothing else."""
        return self.root / "release"

    @property
    def marts_path(self) -> Path:
        return self.release_dir / MARTS_FILE

    @property
    def work_path(self) -> Path:
        return self.root / "work.duckdb"

    @property
    def parquet_dir(self) -> Path:
        return self.release_dir / "parquet"

    @property
    def board_dir(self) -> Path:
        return self.release_dir / "board"

    @property
    def reports_dir(self) -> Path:
        return self.release_dir / "reports"


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


def new_run_id() -> str:
    """Sortable by time: ``20190415T060000Z-1a2b3c``."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def start_build(marts_dir: Path) -> Build:
    """A fresh build folder; leftovers of killed refreshes are removed (we hold the lock)."""
    for stale in [*marts_dir.glob(".build-*"), *marts_dir.glob(".retired-*"), *marts_dir.glob(".pmf-link-*")]:
        _remove(stale)
    run_id = new_run_id()
    build = Build(marts_dir, marts_dir / f".build-{run_id}", run_id)
    for folder in (build.root, build.parquet_dir, build.board_dir, build.reports_dir):
        folder.mkdir(parents=True)
    return build


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


def export_parquet(marts_path: Path, parquet_dir: Path, tables: list[str], con: duckdb.DuckDBPyConnection | None = None) -> None:
    """The Parquet copy of each of ``tables`` (through ``con`` when the database is already open:
    opening it again costs more than a small table's export)."""
    if con is None:
        with duckdb.connect(str(marts_path), read_only=True) as opened:
            export_parquet(marts_path, parquet_dir, tables, opened)
        return
    for table in tables:
        target = parquet_dir / f"{table}.parquet"
        target.unlink(missing_ok=True)  # never write into a file another release may share (a hard link)
        con.execute(f"copy (select * from {table}) to '{target}' (format parquet)")


def write_manifest(build: Build, period: str) -> Path:
    """``release.json``: which run this release is, and the sha256 of every file in it."""
    files = {
        str(path.relative_to(build.release_dir)): sha256_of(path)
        for path in sorted(build.release_dir.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }
    path = build.release_dir / MANIFEST
    path.write_text(json.dumps({"run_id": build.run_id, "board_period": period, "files": files}, indent=2) + "\n")
    return path


def publish(build: Build, *, keep_releases: int = 3, on_step: Callable[[str], None] | None = None) -> list[Path]:
    """Make the build's outputs current; returns the paths users open.

    Each step leaves ``<marts-dir>`` whole: until ``current`` is switched the previous release
    is what every user path shows, after it the new one is.
    """
    step = on_step or (lambda _name: None)
    marts_dir = build.marts_dir
    releases = marts_dir / RELEASES
    releases.mkdir(exist_ok=True)
    (build.marts_path).chmod(0o444)  # a reminder to open it read-only (root ignores it)
    adopt_older_layout(marts_dir)
    step(PUBLISH_STEPS[0])
    release = releases / build.run_id
    os.rename(build.release_dir, release)
    step(PUBLISH_STEPS[1])
    _replace_with_symlink(marts_dir / CURRENT, f"{RELEASES}/{build.run_id}")
    step(PUBLISH_STEPS[2])
    link_user_paths(marts_dir)
    step(PUBLISH_STEPS[3])
    prune_releases(marts_dir, keep_releases)
    step(PUBLISH_STEPS[4])
    return [marts_dir / MARTS_FILE, marts_dir / "parquet",
            *[marts_dir / folder / path.name for folder in ("board", "reports")
              for path in sorted((release / folder).iterdir())]]


def current_release(marts_dir: Path) -> Path | None:
    link = marts_dir / CURRENT
    return (marts_dir / os.readlink(link)) if link.is_symlink() else None


def link_user_paths(marts_dir: Path) -> None:
    """``pmf.duckdb``, ``parquet``, ``board``, ``reports`` as symlinks into ``current``."""
    for name in USER_PATHS:
        path = marts_dir / name
        target = f"{CURRENT}/{name}"
        if path.is_symlink() and os.readlink(path) == target:
            continue
        _replace_with_symlink(path, target)


def adopt_older_layout(marts_dir: Path) -> None:
    """An older pmf published real files in ``<marts-dir>``: make them a release of their own.

    Their content is hard-linked into ``releases/<date published>-earlier`` and made current, then each
    real file or folder is exchanged for its symlink in one rename (so no path is ever missing
    and every path shows that same content) before the new release is switched in.
    """
    legacy = [name for name in USER_PATHS if (marts_dir / name).exists() and not (marts_dir / name).is_symlink()]
    if not legacy:
        return
    current = current_release(marts_dir)
    if current is None or not current.is_dir():
        published_at = datetime.fromtimestamp((marts_dir / legacy[0]).stat().st_mtime, UTC)
        current = marts_dir / RELEASES / f"{published_at:%Y%m%dT%H%M%SZ}-earlier"
        if not current.is_dir():  # else a killed refresh made it, whole, before switching
            partial = current.with_name(f".{current.name}.partial")
            _remove(partial)
            partial.mkdir(parents=True)
            for name in legacy:
                source = marts_dir / name
                if source.is_dir():
                    shutil.copytree(source, partial / name, copy_function=_link_or_copy)
                else:
                    _link_or_copy(source, partial / name)
            for name in ("parquet", "board", "reports"):
                (partial / name).mkdir(exist_ok=True)
            os.rename(partial, current)
        _replace_with_symlink(marts_dir / CURRENT, f"{RELEASES}/{current.name}")
    for name in legacy:
        _replace_with_symlink(marts_dir / name, f"{CURRENT}/{name}")


def prune_releases(marts_dir: Path, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest releases (the current one is always kept)."""
    current = current_release(marts_dir)
    releases = sorted((p for p in (marts_dir / RELEASES).iterdir() if p.is_dir()), key=_published_order, reverse=True)
    kept = [current] if current is not None else []
    kept += [p for p in releases if p != current][: max(keep - len(kept), 0)]
    removed = [p for p in releases if p not in kept]
    for path in removed:
        _remove(path)
    return removed


def _published_order(release: Path) -> tuple[str, int]:
    """Run ids sort by their start (to the second); within a second, by when sealed."""
    manifest = release / MANIFEST
    return release.name[:16], (manifest if manifest.exists() else release).stat().st_mtime_ns


def discard(build: Build) -> None:
    shutil.rmtree(build.root, ignore_errors=True)


def copy_published(marts_dir: Path, build: Build) -> None:
    """Copy the published outputs into a build's release (the database by value; every other file
    as a hard link where the filesystem allows: published files are replaced, never written in
    place)."""
    shutil.copyfile(marts_dir / MARTS_FILE, build.marts_path)
    build.marts_path.chmod(0o644)
    for folder, target in (("parquet", build.parquet_dir), ("board", build.board_dir), ("reports", build.reports_dir)):
        source = marts_dir / folder
        if source.is_dir():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(source, target, copy_function=_link_or_copy, symlinks=False)


def _replace_with_symlink(path: Path, target: str) -> None:
    """Point ``path`` at ``target`` in one atomic step, whatever ``path`` is now.

    A file or symlink is replaced by ``rename``. A real folder (an older layout) is exchanged
    with the new symlink by ``renameat2(RENAME_EXCHANGE)`` and then removed; where the system
    lacks it, the folder is moved aside first (a moment without the path).
    """
    temporary = path.with_name(f".pmf-link-{uuid.uuid4().hex[:8]}")
    os.symlink(target, temporary)
    if path.is_dir() and not path.is_symlink():
        if not _exchange(temporary, path):
            os.rename(path, temporary.with_name(temporary.name + "-old"))
            os.rename(temporary, path)
            temporary = temporary.with_name(temporary.name + "-old")
        _remove(temporary)
    else:
        os.replace(temporary, path)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically (Linux renameat2); False where the system cannot."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(second))


def _link_or_copy(source: str | Path, target: str | Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.exists():
        shutil.rmtree(path, ignore_errors=True)
