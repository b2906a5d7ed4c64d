"""A parent extract's keys and dates, for its children's orphan and dob rules (the parent
police_da_incidents, the child police_da_children).

The orphan rule spans every period's parent files, so children are validated after all the
parents, against one index of the parent keys: each parent entry keeps its rows' keys and event
dates (``parent_rows``, in ``parents.parquet``), the index is made of those entries
(``parent_index_of``: one DuckDB ``arg_max_null`` scan), and a child's worker looks its keys up in
it (``ParentLookup``). A child's entry records what its look-ups found (``lookup_digests``): it is
reused while they find the same, even when the index changed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from pipelines.contract import Extract, load_contract
from pipelines.ingest import SourceFile, sha256_of
from pipelines.keptstate import KeptState, digest_of, sql_list, sql_string, write_json

PARENT_ROWS_SCHEMA = pa.schema(
    [("key", pa.large_string()), ("period_start", pa.date32()), ("is_staged", pa.bool_()), ("event_day", pa.timestamp("us"))]
)


@dataclass(frozen=True)
class ParentLookup:
    """A parent extract's keys ready for look-ups (a pandas Index, hashed once) and, per key, the
    event day of its latest staged row (NaT when none was staged)."""

    keys: pd.Index
    event_days: np.ndarray

    @classmethod
    def of(cls, frame: pd.DataFrame) -> ParentLookup:
        return cls(pd.Index(frame["key"].astype(object)), frame["event_day"].astype("datetime64[us]").to_numpy())

    @classmethod
    def empty(cls) -> ParentLookup:
        return cls(pd.Index([], dtype=object), np.array([], dtype="datetime64[us]"))


def parent_extract(contract: dict[str, Extract]) -> str | None:
    return next((e.parent.extract for e in contract.values() if e.parent), None)


def parent_rows(chunk: pd.DataFrame, source: SourceFile, staged_rows: pd.Index) -> pd.DataFrame:
    """A parent extract's rows as the children's orphan and dob rules need them."""
    child = next(e for e in load_contract().values() if e.parent and e.parent.extract == source.extract.name)
    on, event = child.parent.on, child.parent.event_date
    present = chunk[on].notna()
    rows = chunk[present]
    return pd.DataFrame(
        {
            "key": rows[on].astype(object).to_numpy(),
            "period_start": source.period.start_date,
            "is_staged": rows.index.isin(staged_rows),
            "event_day": pd.to_datetime(rows[event], errors="coerce").dt.normalize().astype("datetime64[us]").to_numpy(),
        }
    )


@dataclass(frozen=True)
class ParentIndex:
    """The parent extract's keys and dates (see ``parent_index_of``), kept as a Parquet file that
    the children's workers read, and named by a digest of its content."""

    path: Path
    digest: str

    @property
    def kept_files(self) -> list[Path]:
        return [self.path, *self.path.parent.glob(f"from-*-{self.digest}.json")]


def parent_index_of(entries: list[Path], state: KeptState) -> ParentIndex:
    """Every key in any file of the parent extract (quarantined rows included: the orphan rule asks
    whether a key is in a *submitted* file), with its event date from the staged row of the
    latest period (latest period wins, as in staging); no date when no row of it was staged.

    Made of the parent submissions' entries (``entries``), so the same entries give the same
    index: that is remembered, and the index is not rebuilt. One DuckDB pass builds and writes it:
    a region's 500k keys never become Python objects here."""
    folder = state.root / "parent-index"
    source = digest_of(sorted(e.name for e in entries))[:32]
    for pointer in folder.glob(f"from-{source}-*.json"):
        digest = pointer.stem.rsplit("-", 1)[1]
        if (folder / f"{digest}.parquet").exists():
            return ParentIndex(folder / f"{digest}.parquet", digest)
    paths = [entry / "parents.parquet" for entry in entries if (entry / "parents.parquet").exists()]
    scratch = state.scratch()
    written = scratch / "index.parquet"
    with duckdb.connect() as con:
        rows = (
            "select key, arg_max_null(event_day, period_start) filter (where is_staged) as event_day "
            f"from read_parquet({sql_list(paths)}) group by key"
            if paths else "select null::varchar as key, null::timestamp as event_day where false"
        )
        con.execute(f"copy ({rows} order by key) to {sql_string(written)} (format parquet, compression zstd)")
    # Named by the file's bytes: the same name is the same index. (Should the same keys ever be
    # written with other bytes, the children's look-ups are only checked again: lookup_digests.)
    digest = sha256_of(written)[:32]
    path = folder / f"{digest}.parquet"
    folder.mkdir(parents=True, exist_ok=True)
    os.replace(written, path)
    shutil.rmtree(scratch, ignore_errors=True)
    write_json(folder / f"from-{source}-{digest}.json", {"entries": sorted(e.name for e in entries)})
    return ParentIndex(path, digest)


# What a child entry's keys find in an index, made in SQL so that any process makes the same
# digest: each key's finding as text ("<length>:<key>,..." cannot be read two ways), joined in key
# order, hashed.
_NO_KEYS = hashlib.sha256(b"").hexdigest()  # what DuckDB's sha256('') gives: a file without keys
_LOOKUP_DIGESTS = """
select k.filename, sha256(string_agg(
    length(k.key)::varchar || ':' || k.key || ',' || (i.key is not null)::int::varchar || ','
    || coalesce(epoch_us(i.event_day)::varchar, '-'), ';' order by k.key)) as digest
from (select distinct filename, key from read_parquet({keys}, filename = true) where key is not null) k
left join read_parquet({index}) i on i.key = k.key
group by k.filename
"""


def lookup_digests(keys_files: list[Path], index_path: Path) -> dict[Path, str]:
    """For each ``parent_keys.parquet`` of ``keys_files`` (a child entry's references): what
    looking its keys up in the parent index at ``index_path`` finds (known? which date?), as a
    digest. An entry is reusable under another index while its digest stays the same."""
    if not keys_files:
        return {}
    with duckdb.connect() as con:
        rows = con.execute(_LOOKUP_DIGESTS.format(keys=sql_list(keys_files), index=sql_string(index_path))).fetchall()
    found = {Path(name): digest for name, digest in rows}
    unknown = found.keys() - set(keys_files)
    if unknown:  # a file named otherwise than asked: never let it pass for one without keys
        raise RuntimeError(f"lookup_digests: DuckDB named files that were not asked for: {sorted(map(str, unknown))[:3]}")
    return {path: found.get(path, _NO_KEYS) for path in keys_files}  # not found: a file with no keys


@lru_cache(maxsize=2)  # a warm worker lives through many refreshes: keep only the latest indexes
def parent_lookup(index_path: Path) -> ParentLookup:
    """A worker's look-up of a parent index (content-addressed: a path never changes content)."""
    return ParentLookup.of(pd.read_parquet(index_path))
