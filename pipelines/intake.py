"""Intake: every raw file read and validated, its rows staged or quarantined, and only new work done.

The unit of work is a *submission*: one extract's files for one period (a split submission has
one file per LA). The duplicate-key rule spans a submission's files, so a submission is
validated whole. The orphan rule of police_da_children spans every period's
police_da_incidents, so children are validated after all incidents, against an index of the
incident keys (with each key's latest staged incident date, for the dob check).

The sequence, each step a plain function:

1. ``plan``: discover the files, group them into submissions, and look each submission up in
   the kept state (``pipelines.keptstate``): an unchanged submission is not read again.
2. ``validate_batch``: read and validate a batch of new or changed submissions of one extract
   (one GX call per ``chunk_rows`` rows) and write each one's kept-state entry. This is what runs
   on a worker: ``run_batches`` decides where (in this process, local processes, a Dask cluster;
   the Prefect flow passes its task runner).
3. ``collect`` the file reports and quarantine, and ``load_raw_tables``: every submission's
   validated rows into the ``raw_<extract>`` tables of the work database (a refresh that finds
   nothing changed since its last publish skips this: see ``refresh.outputs_fingerprint``).

Per file, rows received = rows staged + rows quarantined.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from pipelines.contract import Extract, load_contract
from pipelines.ingest import Discovery, FileReader, FileRejected, SourceFile, discover, normalise_values, sha256_of
from pipelines.keptstate import KeptState, code_fingerprint, digest_of, frame_digest, read_json, write_json, write_parquet
from pipelines.periods import Quarter
from pipelines.rules import MAX_QUARANTINED_SHARE, FileRule
from pipelines.suites import suite_path
from pipelines.validate import CHUNK_QUARANTINE_COLUMNS, ChunkOutcome, ParentLookup, SubmissionState, take_validation_results, validate_chunks

log = logging.getLogger(__name__)

IMPORTED_CODE = code_fingerprint()  # the intake code this process runs (a warm worker may outlive a checkout)

QUARANTINE_COLUMNS = ["period", "extract", "file_name", *CHUNK_QUARANTINE_COLUMNS]  # the published quarantine table's
_QUARANTINE_SCHEMA = pa.schema(
    [(name, pa.int64() if name == "row_number" else pa.large_string()) for name in QUARANTINE_COLUMNS]
)
_PARENT_ROWS_SCHEMA = pa.schema(
    [("key", pa.large_string()), ("period_start", pa.date32()), ("is_staged", pa.bool_()), ("event_day", pa.timestamp("us"))]
)
_PARENT_INDEX_SCHEMA = pa.schema([("key", pa.large_string()), ("event_day", pa.timestamp("us"))])
# A batch of submissions is about this much input (bytes of CSV; XLSX counts thrice, as it is
# compressed): small enough to spread over the workers, large enough to pay GX's fixed cost
# (~0.5 s a call) rarely.
_BATCH_BYTES = (1 << 20, 16 << 20)


@dataclass
class FileReport:
    period: str
    extract: str
    file_name: str
    sha256: str
    rows_received: int = 0
    rows_staged: int = 0
    rows_quarantined: int = 0
    status: str = "accepted"
    message: str = ""

    @property
    def period_start(self):
        return Quarter.parse(self.period).start_date

    @property
    def is_rejected(self) -> bool:
        return self.status == "rejected"


@dataclass
class IntakeResult:
    files: list[FileReport] = field(default_factory=list)
    periods: list[Quarter] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    entries: list[Path] = field(default_factory=list)  # the kept-state entries this result is made of
    kept_files: list[Path] = field(default_factory=list)  # other kept state it used (parent indexes)
    files_reused: int = 0
    quarantine_files: list[Path] = field(default_factory=list)
    validation_files: list[Path] = field(default_factory=list)  # masked GX results, for Data Docs
    _quarantine: pd.DataFrame | None = None

    _validation_results: list[dict] | None = None

    @property
    def validation_results(self) -> list[dict]:
        """The GX validation results (masked) behind the rows in use, for the Data Docs."""
        if self._validation_results is None:
            self._validation_results = [result for path in self.validation_files for result in read_json(path)]
        return self._validation_results

    @property
    def quarantine(self) -> pd.DataFrame:
        """One row per quarantined raw row (read from the entries when first asked for)."""
        if self._quarantine is None:
            parts = [pd.read_parquet(path) for path in self.quarantine_files]
            self._quarantine = (
                pd.concat(parts, ignore_index=True)[QUARANTINE_COLUMNS] if parts else pd.DataFrame(columns=QUARANTINE_COLUMNS)
            )
        return self._quarantine

    @property
    def rejected(self) -> list[FileReport]:
        return [report for report in self.files if report.is_rejected]

    def data_quality_frame(self) -> pd.DataFrame:
        columns = ["period", "extract", "file_name", "sha256", "rows_received", "rows_staged", "rows_quarantined", "status", "message"]
        return pd.DataFrame([{name: getattr(report, name) for name in columns} for report in self.files], columns=columns)

    def receipts_frame(self) -> pd.DataFrame:
        """Extract x period pairs received (at least one file not rejected)."""
        rows = {(r.extract, r.period) for r in self.files if not r.is_rejected}
        return pd.DataFrame(sorted(rows), columns=["extract", "period"])


# --------------------------------------------------------------------------- plan


@dataclass(frozen=True)
class Submission:
    """One extract's files for one period, in the order they are read (name order)."""

    extract: Extract
    period: Quarter
    files: tuple[SourceFile, ...]
    sha256: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.extract.name} {self.period.label}"

    @property
    def size(self) -> int:
        return sum(f.path.stat().st_size * (3 if f.path.suffix.lower() == ".xlsx" else 1) for f in self.files)

    @property
    def entry_name(self) -> str:
        """The kept-state name: everything the outcome depends on, except (for a child extract)
        the parent look-ups, which the entry records and ``plan`` checks."""
        return digest_of(
            code_fingerprint(),
            _suite_digest(self.extract.name),
            self.extract.name,
            self.period.folder_id,
            [(f.file_name, sha) for f, sha in zip(self.files, self.sha256, strict=True)],
        )[:32]


def _suite_digest(extract_name: str) -> str:  # not cached: a warm worker outlives an edited suite
    return hashlib.sha256(suite_path(extract_name).read_bytes()).hexdigest()


@dataclass(frozen=True)
class Batch:
    """Submissions of one extract, validated together on one worker."""

    submissions: tuple[Submission, ...]
    state_root: Path
    chunk_rows: int
    parent_index: Path | None = None  # for a child extract: the parent keys and dates

    @property
    def label(self) -> str:
        first, last = self.submissions[0], self.submissions[-1]
        periods = first.period.label if first is last else f"{first.period.label} to {last.period.label}"
        return f"{first.extract.name} {periods}"


@dataclass(frozen=True)
class Validated:
    """One submission's outcome, as a worker returns it (its rows are in the kept-state entry)."""

    label: str
    entry: Path
    reports: tuple[FileReport, ...]


RunBatches = Callable[[list[Batch]], Iterable[list[Validated]]]


def run_in_process(batches: list[Batch]) -> Iterator[list[Validated]]:
    """The simplest ``run_batches``: one batch after another, here."""
    for batch in batches:
        yield validate_batch(batch)


def plan(found: Discovery, state: KeptState) -> list[Submission]:
    """Group the discovered files into submissions (parents' before children's, then by period)."""
    groups: dict[tuple[str, Quarter], list[SourceFile]] = {}
    for source in found.files:  # already in extract (parents first), period, name order
        groups.setdefault((source.extract.name, source.period), []).append(source)
    with state.file_digests(sha256_of) as sha256:
        return [
            Submission(files[0].extract, period, tuple(files), tuple(sha256(f.path) for f in files))
            for (_, period), files in groups.items()
        ]


def batches_of(submissions: list[Submission], state: KeptState, chunk_rows: int, workers: int, parent_index: Path | None = None) -> list[Batch]:
    """Consecutive submissions of one extract, about ``_BATCH_BYTES`` of input each."""
    if not submissions:
        return []
    total = sum(s.size for s in submissions)
    target = min(max(total // (3 * max(workers, 1)), _BATCH_BYTES[0]), _BATCH_BYTES[1])
    batches: list[list[Submission]] = []
    size = 0
    for submission in submissions:
        if not batches or batches[-1][0].extract.name != submission.extract.name or size >= target:
            batches.append([])
            size = 0
        batches[-1].append(submission)
        size += submission.size
    made = [Batch(tuple(group), state.root, chunk_rows, parent_index) for group in batches]
    return sorted(made, key=lambda b: -sum(s.size for s in b.submissions))  # largest first: a shorter tail


# --------------------------------------------------------------------------- the sequence


def intake(
    raw_dir: Path,
    con: duckdb.DuckDBPyConnection,
    *,
    state: KeptState | None = None,
    chunk_rows: int = 200_000,
    schema: str = "work.main",
    progress: Callable[[str], None] = log.info,
    run_batches: RunBatches = run_in_process,
    workers: int = 1,
    materialise: bool = False,
) -> IntakeResult:
    """Read, validate and load every file under ``raw_dir`` (see module docstring).

    Without ``state`` nothing is kept: every file is read (into a temporary kept state), and the
    raw tables are tables rather than views over that state's files.
    """
    if state is None:
        scratch = Path(tempfile.mkdtemp(prefix="pmf-intake-"))
        try:
            result = intake(
                raw_dir, con, state=KeptState(scratch), chunk_rows=chunk_rows, schema=schema,
                progress=progress, run_batches=run_batches, workers=workers, materialise=True,
            )
            result.quarantine, result.validation_results  # read them before the temporary state goes  # noqa: B018
            return result
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    result = validate_all(raw_dir, state=state, chunk_rows=chunk_rows, progress=progress, run_batches=run_batches, workers=workers)
    load_raw_tables(con, result, schema, materialise=materialise)
    return result


def validate_all(
    raw_dir: Path,
    *,
    state: KeptState,
    chunk_rows: int = 200_000,
    progress: Callable[[str], None] = log.info,
    run_batches: RunBatches = run_in_process,
    workers: int = 1,
) -> IntakeResult:
    """Steps 1 and 2: every submission validated now or reused from the kept state; the file
    reports and quarantine collected (the rows stay in the entries until ``load_raw_tables``)."""
    found = discover(raw_dir)
    submissions = plan(found, state)
    contract = load_contract()
    total_files = sum(len(s.files) for s in submissions)
    outcome: dict[Submission, Validated] = {}
    counter = _Counter(total_files, progress)

    parents = [s for s in submissions if contract[s.extract.name].parent is None]
    children = [s for s in submissions if contract[s.extract.name].parent is not None]
    reused = _reuse(parents, state)
    outcome.update(reused)
    _validate([s for s in parents if s not in outcome], state, chunk_rows, workers, run_batches, outcome, counter)
    index = _parent_index(submissions, outcome, contract, state)
    reused_children = _reuse(children, state, index)
    outcome.update(reused_children)
    _validate([s for s in children if s not in outcome], state, chunk_rows, workers, run_batches, outcome, counter, index)

    files_reused = sum(len(s.files) for s in [*reused, *reused_children])
    if files_reused:
        progress(f"  {files_reused} of {total_files} files unchanged since they were last validated: not read again (kept state)")
    result = collect(submissions, outcome, found)
    result.files_reused = files_reused
    result.kept_files = [*index.kept_files, *result.validation_files]
    return result


class _Counter:
    """Prints a line per validated file as its batch finishes."""

    def __init__(self, total: int, progress: Callable[[str], None]) -> None:
        self.total, self.progress, self.done = total, progress, 0

    def report(self, validated: Validated) -> None:
        for report in validated.reports:
            self.done += 1
            outcome = (
                f"REJECTED ({report.message})"
                if report.is_rejected
                else f"{report.rows_staged} staged, {report.rows_quarantined} quarantined"
            )
            self.progress(f"  [{self.done}/{self.total}] {report.file_name}: {report.rows_received} rows, {outcome}")


def _reuse(submissions: list[Submission], state: KeptState, parent_index: ParentIndex | None = None) -> dict[Submission, Validated]:
    reused = {}
    for submission in submissions:
        name = submission.entry_name
        for entry in state.entries(submission.extract.name, submission.period.folder_id, name):
            manifest = read_json(entry / "entry.json")
            if parent_index is None and entry.name != name:
                continue
            if parent_index is not None and manifest["index_digest"] != parent_index.digest:
                # The index changed: reusable still if every look-up this entry made finds the same.
                keys = pd.read_parquet(entry / "parent_keys.parquet")["key"]
                if lookup_digest(keys, parent_index.lookup) != manifest["lookup_digest"]:
                    continue
            reused[submission] = Validated(submission.label, entry, tuple(FileReport(**r) for r in manifest["files"]))
            break
    return reused


def _validate(
    submissions: list[Submission],
    state: KeptState,
    chunk_rows: int,
    workers: int,
    run_batches: RunBatches,
    outcome: dict[Submission, Validated],
    counter: _Counter,
    parent_index: ParentIndex | None = None,
) -> None:
    if not submissions:
        return
    index_path = parent_index.path if parent_index is not None else None
    by_label = {s.label: s for s in submissions}
    for results in run_batches(batches_of(submissions, state, chunk_rows, workers, index_path)):
        for validated in results:
            outcome[by_label[validated.label]] = validated
            counter.report(validated)


def collect(submissions: list[Submission], outcome: dict[Submission, Validated], found: Discovery) -> IntakeResult:
    """The file reports and quarantine of every submission, from its kept-state entry."""
    result = IntakeResult(periods=found.periods, warnings=list(found.warnings))
    for submission in submissions:
        validated = outcome[submission]
        result.entries.append(validated.entry)
        result.files.extend(validated.reports)
        if (validated.entry / "quarantine.parquet").exists():
            result.quarantine_files.append(validated.entry / "quarantine.parquet")
        for name in read_json(validated.entry / "entry.json").get("validation", []):
            path = validated.entry.parents[3] / "validation" / name
            if path not in result.validation_files:
                result.validation_files.append(path)
    result.files.sort(key=lambda r: (r.period_start, r.file_name))
    return result


def load_raw_tables(
    con: duckdb.DuckDBPyConnection, result: IntakeResult, schema: str = "work.main", *, materialise: bool = False
) -> None:
    """Step 3: every submission's validated rows as the ``raw_<extract>`` tables: views over the
    entries' Parquet files (copying 2M rows into the work database cost ~4 s a refresh; each
    staging model reads its raw table once), which stay until the refresh has published; or,
    with ``materialise``, tables (for entries that are about to go)."""
    staged: dict[str, list[Path]] = {}
    for entry in result.entries:
        if (entry / "staged.parquet").exists():
            staged.setdefault(entry.parents[1].name, []).append(entry / "staged.parquet")
    for extract in load_contract().values():
        paths = staged.get(extract.name)
        if not paths:
            create_raw_tables(con, schema, [extract])
            continue
        columns = ", ".join(["_period", "_period_start", "_file_name", "_row_number", *extract.column_names])
        kind = "table" if materialise else "view"
        if materialise:
            con.execute(f"drop view if exists {schema}.raw_{extract.name}")
        else:
            con.execute(f"drop table if exists {schema}.raw_{extract.name}")
        con.execute(f"create or replace {kind} {schema}.raw_{extract.name} as select {columns} from read_parquet({_sql_list(paths)})")


def create_raw_tables(con: duckdb.DuckDBPyConnection, schema: str = "work.main", extracts: Iterable[Extract] | None = None) -> None:
    """One ``raw_<extract>`` table per extract: validated rows as normalised text, with the period,
    file and row they came from (the staging SQL casts and pseudonymises them)."""
    for extract in load_contract().values() if extracts is None else extracts:
        columns = ", ".join(f"{name} varchar" for name in extract.column_names)
        con.execute(f"drop view if exists {schema}.raw_{extract.name}")
        con.execute(
            f"create or replace table {schema}.raw_{extract.name} ("
            f"_period varchar, _period_start date, _file_name varchar, _row_number bigint, {columns})"
        )


def _sql_list(paths: list[Path]) -> str:
    return "[" + ", ".join("'" + str(path).replace("'", "''") + "'" for path in paths) + "]"


# --------------------------------------------------------------------------- parents and children


def _parent_extract(contract: dict[str, Extract]) -> str | None:
    return next((e.parent.extract for e in contract.values() if e.parent), None)


@dataclass
class ParentIndex:
    """The parent extract's keys and dates (see ``_parent_index``), kept as a Parquet file that
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


def _parent_index(
    submissions: list[Submission], outcome: dict[Submission, Validated], contract: dict[str, Extract], state: KeptState
) -> ParentIndex:
    """Every key in any file of the parent extract (quarantined rows included: the orphan rule asks
    whether a key is in a *submitted* file), with its event date from the staged row of the
    latest period (latest period wins, as in staging); no date when no row of it was staged.

    Made of the parent submissions' entries, so the same entries give the same index: that is
    remembered, and the index is not rebuilt."""
    parent = _parent_extract(contract)
    entries = [outcome[s].entry for s in submissions if s.extract.name == parent]
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
                f"from read_parquet({_sql_list(paths)}) group by key order by key"
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


def lookup_digest(keys: pd.Series, parent_index: ParentLookup) -> str:
    """What looking up ``keys`` in the parent index finds (known? which date?), as a digest."""
    wanted = pd.Series(sorted(pd.unique(keys.dropna())), dtype=object)
    positions = parent_index.keys.get_indexer(wanted)
    is_known = positions >= 0
    event_day = np.full(len(wanted), np.datetime64("NaT"), dtype="datetime64[us]")
    event_day[is_known] = parent_index.event_days[positions[is_known]]
    found = pd.DataFrame({"key": wanted, "is_known": is_known, "event_day": event_day})
    return frame_digest(found)


@lru_cache(maxsize=2)  # a warm worker lives through many refreshes: keep only the latest indexes
def _parent_lookup(index_path: Path) -> ParentLookup:
    """A worker's look-up of a parent index (content-addressed: a path never changes content)."""
    return ParentLookup.of(pd.read_parquet(index_path))


# --------------------------------------------------------------------------- a worker's batch


def validate_batch(batch: Batch) -> list[Validated]:
    """Read and validate a batch of submissions of one extract; write each one's kept-state entry.

    Runs on a worker: it needs the raw files and the kept state at the same paths as the main
    process (on a Dask cluster: a shared filesystem), and returns only the entries' paths and
    file reports.
    """
    if code_fingerprint() != IMPORTED_CODE:  # entries are named by the code on disk: never by older code
        raise RuntimeError(
            f"this worker (pid {os.getpid()}) runs pmf intake code older than the code on disk: restart it "
            "(pmf server stop, then pmf server start, for pmf's own workers)"
        )
    extract = batch.submissions[0].extract
    state = SubmissionState()
    if batch.parent_index is not None:
        state.parents[extract.parent.extract] = _parent_lookup(batch.parent_index)
    has_children = any(e.parent and e.parent.extract == extract.name for e in load_contract().values())
    chunks = _Chunks(state, batch.chunk_rows, has_children)
    work: list[tuple[Submission, list[_FileIntake]]] = []
    for submission in batch.submissions:
        files = []
        for source, sha in zip(submission.files, submission.sha256, strict=True):
            intake_file = _FileIntake(source, FileReport(source.period.label, extract.name, source.file_name, sha))
            reader = FileReader(source, chunk_rows=batch.chunk_rows, normalise=False)  # normalised per batch
            try:
                for chunk in reader.chunks():
                    chunks.add(intake_file, chunk)
            except FileRejected as rejection:
                chunks.discard(intake_file)
                intake_file.rejection = rejection
            intake_file.extra_columns = reader.header.extra_columns if reader.header else []
            files.append(intake_file)
        work.append((submission, files))
    chunks.flush()
    kept = KeptState(batch.state_root)
    validation = _keep_validation_results(kept, extract)
    return [_write_entry(kept, submission, files, batch.parent_index, validation) for submission, files in work]


def _keep_validation_results(kept: KeptState, extract: Extract) -> list[str]:
    """This batch's GX results, masked (no identifier is ever written), kept for the Data Docs."""
    from pipelines.datadocs import mask_result

    results = [mask_result(result, extract) for result in take_validation_results()]
    if not results:
        return []
    name = f"{digest_of(results)[:32]}.json"
    target = kept.root / "validation" / name
    if not target.exists():
        scratch = kept.scratch()
        write_json(scratch / name, results)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(scratch / name, target)
        shutil.rmtree(scratch, ignore_errors=True)
    return [name]


def _write_entry(
    kept: KeptState, submission: Submission, files: list[_FileIntake], parent_index: Path | None, validation: list[str]
) -> Validated:
    extract = submission.extract
    reports = [intake_file.finish() for intake_file in files]
    scratch = kept.scratch()
    staged = [(f.source, part) for f in files if not f.report.is_rejected for part in f.staged_parts]
    if staged:
        write_parquet(_with_source_columns(staged), scratch / "staged.parquet", _staged_schema(extract))
    quarantine = [f.quarantine_frame() for f in files if f.quarantine_parts]
    if quarantine:
        write_parquet(pd.concat(quarantine, ignore_index=True), scratch / "quarantine.parquet", _QUARANTINE_SCHEMA)
    parent_rows = [part for f in files for part in f.parent_rows]
    if parent_rows:
        write_parquet(pd.concat(parent_rows, ignore_index=True), scratch / "parents.parquet", _PARENT_ROWS_SCHEMA)
    name = submission.entry_name
    manifest = {
        "submission": submission.label,
        "files": [asdict(r) for r in reports],
        "lookup_digest": None,
        "index_digest": None,
        "validation": validation,
    }
    if parent_index is not None:
        manifest["index_digest"] = parent_index.stem
        keys = pd.concat([pd.Series(k, dtype=object) for f in files for k in f.parent_keys] or [pd.Series([], dtype=object)])
        keys = pd.Series(sorted(pd.unique(keys.dropna())), dtype=object)
        write_parquet(pd.DataFrame({"key": keys}), scratch / "parent_keys.parquet", pa.schema([("key", pa.large_string())]))
        manifest["lookup_digest"] = lookup_digest(keys, _parent_lookup(parent_index))
        name = f"{name}-{manifest['lookup_digest'][:16]}"
    write_json(scratch / "entry.json", manifest)
    entry = kept.commit(scratch, kept.entry_dir(extract.name, submission.period.folder_id, name))
    return Validated(submission.label, entry, tuple(reports))


def _staged_schema(extract: Extract) -> pa.Schema:
    return pa.schema(
        [("_period", pa.large_string()), ("_period_start", pa.date32()), ("_file_name", pa.large_string()), ("_row_number", pa.int64())]
        + [(name, pa.large_string()) for name in extract.column_names]
    )


@dataclass(eq=False)
class _FileIntake:
    """One file's progress through validation."""

    source: SourceFile
    report: FileReport
    staged_parts: list[pd.DataFrame] = field(default_factory=list)
    quarantine_parts: list[pd.DataFrame] = field(default_factory=list)
    parent_rows: list[pd.DataFrame] = field(default_factory=list)  # a parent extract's keys and dates
    parent_keys: list[list] = field(default_factory=list)  # a child extract's references
    warnings: dict[str, int] = field(default_factory=dict)
    extra_columns: list[str] = field(default_factory=list)
    rejection: FileRejected | None = None

    def record(self, chunk: pd.DataFrame, outcome: ChunkOutcome) -> None:
        self.report.rows_received += len(chunk)
        self.report.rows_quarantined += len(outcome.quarantine)
        self.report.rows_staged += len(outcome.staged_rows)
        for rule, count in outcome.warnings.items():
            self.warnings[rule] = self.warnings.get(rule, 0) + count
        if len(outcome.quarantine):
            self.quarantine_parts.append(outcome.quarantine)

    def finish(self) -> FileReport:
        report = self.report
        if self.rejection is not None:
            self._reject(self.rejection.rule, self.rejection.message)
            return report
        notes = [f"extra columns ignored: {', '.join(self.extra_columns)}"] if self.extra_columns else []
        notes += [f"{count} value(s) with {rule} treated as missing" for rule, count in self.warnings.items()]
        share = report.rows_quarantined / report.rows_received
        if share > MAX_QUARANTINED_SHARE:
            self._reject(
                FileRule.TOO_MANY_QUARANTINED,
                f"{report.rows_quarantined} of {report.rows_received} rows ({share:.1%}) quarantined, "
                f"more than {MAX_QUARANTINED_SHARE:.0%}",
            )
        report.message = "; ".join([report.message, *notes]) if report.message else "; ".join(notes)
        if report.rows_received != report.rows_staged + report.rows_quarantined:
            raise RuntimeError(f"{report.file_name}: rows do not reconcile ({report})")
        return report

    def _reject(self, rule: FileRule, message: str) -> None:
        report = self.report
        report.status = "rejected"
        report.message = f"{rule.value}: {message}"
        # A rejected file stages nothing; the rows already found bad stay listed as quarantined.
        self.staged_parts = []
        report.rows_staged = 0
        report.rows_quarantined = report.rows_received

    def quarantine_frame(self) -> pd.DataFrame:
        table = pd.concat(self.quarantine_parts, ignore_index=True)
        table.insert(0, "file_name", self.source.file_name)
        table.insert(0, "extract", self.source.extract.name)
        table.insert(0, "period", self.source.period.label)
        return table[QUARANTINE_COLUMNS]


class _Chunks:
    """Chunks of one extract waiting to be validated together (one GX call per ``limit`` rows)."""

    def __init__(self, state: SubmissionState, limit: int, has_children: bool) -> None:
        self.state, self.limit, self.has_children = state, limit, has_children
        self.items: list[tuple[_FileIntake, pd.DataFrame]] = []
        self.rows = 0

    def add(self, intake_file: _FileIntake, chunk: pd.DataFrame) -> None:
        if self.items and self.rows + len(chunk) > self.limit:
            self.flush()
        self.items.append((intake_file, chunk))
        self.rows += len(chunk)

    def discard(self, intake_file: _FileIntake) -> None:
        """A file rejected while being read: drop its waiting chunks."""
        self.items = [(f, c) for f, c in self.items if f is not intake_file]
        self.rows = sum(len(c) for _, c in self.items)

    def flush(self) -> None:
        """Normalise and validate the waiting chunks as one frame (pandas and GX cost per call
        more than per row: most files are a few hundred rows), then hand each file its part."""
        if not self.items:
            return
        extract = self.items[0][0].source.extract
        raw = [chunk for _, chunk in self.items]
        combined = pd.concat(raw, ignore_index=True) if len(raw) > 1 else raw[0].reset_index(drop=True)
        normalised = normalise_values(combined, extract)
        offsets = np.cumsum([0, *(len(chunk) for chunk in raw)])
        chunks = [normalised.iloc[start:end].set_axis(chunk.index, axis=0) for chunk, start, end in zip(raw, offsets[:-1], offsets[1:], strict=True)]
        outcomes = validate_chunks([(chunk, f.source.period) for (f, _), chunk in zip(self.items, chunks, strict=True)], extract, self.state)
        for (intake_file, _), chunk, outcome in zip(self.items, chunks, outcomes, strict=True):
            intake_file.record(chunk, outcome)
            staged = chunk if len(outcome.staged_rows) == len(chunk) and not outcome.invalid_values else chunk.loc[outcome.staged_rows].copy()
            for column, rows in outcome.invalid_values.items():
                staged.loc[staged.index.intersection(rows), column] = None  # contract: treated as missing
            intake_file.staged_parts.append(staged)
            if self.has_children:
                intake_file.parent_rows.append(_parent_rows(chunk, intake_file.source, outcome))
            if extract.parent:
                intake_file.parent_keys.append(chunk[extract.parent.on].dropna().unique().tolist())
        self.items, self.rows = [], 0


def _parent_rows(chunk: pd.DataFrame, source: SourceFile, outcome: ChunkOutcome) -> pd.DataFrame:
    """A parent extract's rows as the children's orphan and dob rules need them."""
    child = next(e for e in load_contract().values() if e.parent and e.parent.extract == source.extract.name)
    on, event = child.parent.on, child.parent.event_date
    present = chunk[on].notna()
    rows = chunk[present]
    return pd.DataFrame(
        {
            "key": rows[on].astype(object).to_numpy(),
            "period_start": source.period.start_date,
            "is_staged": rows.index.isin(outcome.staged_rows),
            "event_day": pd.to_datetime(rows[event], errors="coerce").dt.normalize().astype("datetime64[us]").to_numpy(),
        }
    )


def _with_source_columns(parts: list[tuple[SourceFile, pd.DataFrame]]) -> pd.DataFrame:
    """Staged rows (of one submission's files) with the metadata columns of their raw table:
    period, file and row number."""
    frame = pd.concat([part for _, part in parts]).reset_index()
    source = parts[0][0]
    frame.insert(0, "_file_name", np.repeat(np.array([s.file_name for s, _ in parts], dtype=object), [len(p) for _, p in parts]))
    frame.insert(0, "_period_start", source.period.start_date)
    frame.insert(0, "_period", source.period.folder_id)
    return frame.rename(columns={"row_number": "_row_number"})
