"""A parent extract's keys and dates, for its children's orphan and dob rules (the parent
police_da_incidents, the child police_da_children).

The orphan rule spans every period's parent files, so children are validated after all the
parents, against one index of the parent keys: each parent entry keeps its rows' keys and event
dates (``parent_rows``, in ``parents.parquet``), the index is made of those entries
(``parent_index_of``: one DuckDB ``arg_max_null`` scan), and a child's worker looks its keys up in
it (``ParentLookup``). A child's entry records what its look-ups found (``lookup_digest``): it is
reused while they find the same, even when the index changed.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from pipelines.contract import Extract, load_contract
from pipelines.ingest import SourceFile
from pipelines.keptstate import KeptState, digest_of, frame_digest, sql_list, write_json, write_parquet

PARENT_ROWS_SCHEMA = pa.schema(
    [("key", pa.large_string()), ("period_start", pa.date32()), ("is_staged", pa.bool_()), ("event_day", pa.timestamp("us"))]
)
_PARENT_INDEX_SCHEMA = pa.schema([("key", pa.large_string()), ("event_day", pa.timestamp("us"))])


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


@dataclass
class ParentIndex:
    """The parent extract's keys and dates (see ``parent_index_of``), kept as a Parquet file that
    the children's workers read, and named by a digest of its content."""

    path: Path
    digest: str
    _frame: pd.DataFrame | None = None
    _lookup: ParentLookup | None = None

    @property
    def frame(self) -> pd.DataFrame:
        if self._frame is None:
            self._frame = pd.read_parquet(self.path).astype({"key": object})
        return self._frame

    @property
    def lookup(self) -> ParentLookup:
        if self._lookup is None:
            self._lookup = ParentLookup.of(self.frame)
        return self._lookup

    @property
    def kept_files(self) -> list[Path]:
        return [self.path, *self.path.parent.glob(f"from-*-{self.digest}.json")]


def parent_index_of(entries: list[Path], state: KeptState) -> ParentIndex:
    """Every key in any file of the parent extract (quarantined rows included: the orphan rule asks
    whether a key is in a *submitted* file), with its event date from the staged row of the
    latest period (latest period wins, as in staging); no date when no row of it was staged.

    Made of the parent submissions' entries (``entries``), so the same entries give the same
    index: that is remembered, and the index is not rebuilt."""
    folder = state.root / "parent-index"
    source = digest_of(sorted(e.name for e in entries))[:32]
    for pointer in folder.glob(f"from-{source}-*.json"):
        digest = pointer.stem.rsplit("-", 1)[1]
        if (folder / f"{digest}.parquet").exists():
            return ParentIndex(folder / f"{digest}.parquet", digest)
    paths = [entry / "parents.parquet" for entry in entries if (entry / "parents.parquet").exists()]
    if paths:  # one DuckDB scan (pandas took ~2 s to sort and merge a region's 500k rows)
        with duckdb.connect() as con:
            frame = con.execute(
                "select key, arg_max_null(event_day, period_start) filter (where is_staged) as event_day "
                f"from read_parquet({sql_list(paths)}) group by key order by key"
            ).df()
        frame["key"] = frame["key"].astype(object)
    else:
        frame = pd.DataFrame({"key": pd.Series([], dtype=object), "event_day": pd.Series([], dtype="datetime64[us]")})
    frame["event_day"] = frame["event_day"].astype("datetime64[us]")
    digest = frame_digest(frame)[:32]
    path = folder / f"{digest}.parquet"
    if not path.exists():
        scratch = state.scratch()
        write_parquet(frame, scratch / "index.parquet", _PARENT_INDEX_SCHEMA)
        folder.mkdir(parents=True, exist_ok=True)
        (scratch / "index.parquet").rename(path)
        shutil.rmtree(scratch, ignore_errors=True)
    write_json(folder / f"from-{source}-{digest}.json", {"entries": sorted(e.name for e in entries)})
    return ParentIndex(path, digest, frame)


def lookup_digest(keys: pd.Series, lookup: ParentLookup) -> str:
    """What looking up ``keys`` in the parent index finds (known? which date?), as a digest."""
    wanted = pd.Series(sorted(pd.unique(keys.dropna())), dtype=object)
    positions = lookup.keys.get_indexer(wanted)
    is_known = positions >= 0
    event_day = np.full(len(wanted), np.datetime64("NaT"), dtype="datetime64[us]")
    event_day[is_known] = lookup.event_days[positions[is_known]]
    found = pd.DataFrame({"key": wanted, "is_known": is_known, "event_day": event_day})
    return frame_digest(found)


@lru_cache(maxsize=2)  # a warm worker lives through many refreshes: keep only the latest indexes
def parent_lookup(index_path: Path) -> ParentLookup:
    """A worker's look-up of a parent index (content-addressed: a path never changes content)."""
    return ParentLookup.of(pd.read_parquet(index_path))
