"""What a refresh keeps between runs, beside the marts: ``<marts-dir>/.pmf/`` (never where users
look for outputs).

Intake keeps one *entry* per validated submission (one extract's files for one period): its
validated rows, its quarantine and its file reports, under a name made from everything the
outcome depends on: the files' bytes (sha256), the contract and the extract's GX suite, and
the version of pmf and of the libraries that read and validate. A submission whose name is
unchanged is neither re-read nor re-validated. Child extracts (police_da_children) also depend
on the incidents they refer to: their entry records which incident keys its rows looked up,
and what the lookup found, so it is reused only while every one of those look-ups is unchanged.

Entries are written to a scratch folder and renamed into place, so an entry is whole or absent
whatever moment a refresh is killed at, and a worker on another machine (a Dask cluster that
shares the folder) can write one. Deleting ``.pmf/`` only costs time: the next refresh
rebuilds every entry from the raw files and publishes the same outputs.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines import __version__

STATE_FOLDER = ".pmf"
# The code and libraries whose behaviour decides what a file's validated rows and quarantine are.
_INTAKE_MODULES = (
    "contract.py", "extracts.toml", "ingest.py", "intake.py", "batch.py", "parents.py", "rules.py", "suites.py", "validate.py",
    "keptstate.py", "datadocs.py",
)
_INTAKE_LIBRARIES = ("great_expectations", "pandas", "pyarrow", "python-calamine", "numpy")
_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def code_fingerprint() -> str:
    """pmf's version, the intake code and contract, and the versions of the libraries intake uses."""
    digest = hashlib.sha256(f"pmf {__version__}\n".encode())
    for name in _INTAKE_MODULES:
        digest.update(name.encode() + b"\0" + (_PACKAGE_DIR / name).read_bytes())
    add_library_versions(digest, _INTAKE_LIBRARIES)
    return digest.hexdigest()


def add_files(digest: hashlib._Hash, folder: Path, root: Path) -> None:
    """Every file under ``folder`` (``__pycache__`` aside), by its path relative to ``root`` and
    its bytes, into ``digest`` (the fingerprints of what outputs are made with)."""
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())


def add_library_versions(digest: hashlib._Hash, libraries: tuple[str, ...]) -> None:
    for library in libraries:
        digest.update(f"{library} {importlib.metadata.version(library)}\n".encode())


def digest_of(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class KeptState:
    root: Path

    @classmethod
    def beside(cls, marts_dir: Path) -> KeptState:
        return cls(marts_dir / STATE_FOLDER)

    @property
    def intake_dir(self) -> Path:
        return self.root / "intake"

    def entry_dir(self, extract: str, period_id: str, name: str) -> Path:
        return self.intake_dir / extract / period_id / name

    def entries(self, extract: str, period_id: str, prefix: str) -> list[Path]:
        """Whole entries whose name starts with ``prefix`` (a scratch folder never matches)."""
        folder = self.intake_dir / extract / period_id
        if not folder.is_dir():
            return []
        return sorted(path for path in folder.iterdir() if path.name.startswith(prefix) and (path / "entry.json").exists())

    @contextmanager
    def file_digests(self, sha256_of: Callable[[Path], str]) -> Iterator[Callable[[Path], str]]:
        """``sha256_of``, remembered by each file's size, modification time and inode (as git's
        index does), so an unchanged file is not read just to learn that it is unchanged."""
        path = self.root / "file-digests.json"
        try:
            known = read_json(path)
        except (OSError, ValueError):
            known = {}
        seen: dict[str, list] = {}

        def digest(file: Path) -> str:
            info = file.stat()
            stamp = [info.st_size, info.st_mtime_ns, info.st_ino]
            key = str(file)
            cached = known.get(key)
            sha = cached[3] if cached and cached[:3] == stamp else sha256_of(file)
            seen[key] = [*stamp, sha]
            return sha

        yield digest
        if seen != known:
            self.root.mkdir(parents=True, exist_ok=True)
            scratch = self.root / f".file-digests-{uuid.uuid4().hex}.json"
            write_json(scratch, seen)
            os.replace(scratch, path)

    def published(self) -> dict | None:
        """What the last published refresh recorded (``mark_published``), if anything."""
        try:
            return read_json(self.root / "published.json")
        except (OSError, ValueError):
            return None

    def mark_published(self, run_id: str, fingerprint: str, staging: dict | None = None) -> None:
        """Record the published refresh: its run id, its outputs' fingerprint (``rerun.py``) and
        what its staging tables were made from (``keptmarts.staging_basis``)."""
        self.root.mkdir(parents=True, exist_ok=True)
        scratch = self.root / f".published-{uuid.uuid4().hex}.json"
        write_json(scratch, {"run_id": run_id, "fingerprint": fingerprint, "staging": staging})
        os.replace(scratch, self.root / "published.json")

    def scratch(self) -> Path:
        path = self.root / "scratch" / uuid.uuid4().hex
        path.mkdir(parents=True)
        return path

    def commit(self, scratch: Path, target: Path) -> Path:
        """Move a fully written scratch folder into place as ``target`` (atomic rename)."""
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(scratch, target)
        except OSError:  # an identical entry is already there (same name, same content)
            shutil.rmtree(scratch, ignore_errors=True)
        return target

    def prune(self, keep: set[Path]) -> int:
        """Remove every entry and parent index not in ``keep`` (after a publish), and scratch."""
        removed = 0
        for path in [*self.intake_dir.glob("*/*/*"), *(self.root / "parent-index").glob("*"), *(self.root / "validation").glob("*")]:
            if path not in keep:
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
                removed += 1
        shutil.rmtree(self.root / "scratch", ignore_errors=True)
        return removed


def sql_string(path: Path | str) -> str:
    """A path (or text) as a DuckDB string literal."""
    return "'" + str(path).replace("'", "''") + "'"


def sql_list(paths: list[Path]) -> str:
    """The paths as a DuckDB list of strings (for ``read_parquet``)."""
    return "[" + ", ".join(map(sql_string, paths)) + "]"


def write_parquet(frame: pd.DataFrame, path: Path, schema: pa.Schema) -> None:
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    pq.write_table(table, path, compression="zstd")


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=1, default=str), encoding="utf-8")
