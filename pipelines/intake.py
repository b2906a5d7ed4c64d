"""Intake: every raw file read and validated, its rows staged or quarantined, and only new work done.

The unit of work is a *submission*: one extract's files for one period (a split submission has
one file per LA). The duplicate-key rule spans a submission's files, so a submission is
validated whole. The orphan rule of police_da_children spans every period's
police_da_incidents, so children are validated after all incidents, against an index of the
incident keys (with each key's latest staged incident date, for the dob check: see
``pipelines.parents``).

The sequence, each step a plain function:

1. ``plan``: discover the files, group them into submissions, and look each submission up in
   the kept state (``pipelines.keptstate``): an unchanged submission is not read again.
2. ``validate_batch``: read and validate a batch of new or changed submissions of one extract
   (one GX call per ``chunk_rows`` rows) and write each one's kept-state entry (see
   ``pipelines.batch``). This is what runs on a worker: ``run_batches`` decides where (in this
   process, local processes, a Dask cluster; the Prefect flow passes its task runner).
3. ``collect`` the file reports and quarantine, and ``load_raw_tables``: every submission's
   validated rows into the ``raw_<extract>`` tables of the work database (a refresh that finds
   nothing changed since its last publish skips this: see ``refresh.outputs_fingerprint``).

Per file, rows received = rows staged + rows quarantined.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.batch import QUARANTINE_COLUMNS, Batch, FileReport, Submission, Validated, validate_and_keep
from pipelines.contract import Extract, load_contract
from pipelines.ingest import Discovery, SourceFile, discover, sha256_of
from pipelines.keptstate import KeptState, code_fingerprint, read_json, sql_list
from pipelines.parents import ParentIndex, lookup_digests, parent_extract, parent_index_of
from pipelines.periods import Quarter

log = logging.getLogger(__name__)

IMPORTED_CODE = code_fingerprint()  # the intake code this process runs (a warm worker may outlive a checkout)

# A batch of submissions is about this much input (bytes of CSV; XLSX counts thrice, as it is
# compressed): small enough to spread over the workers, large enough to pay GX's fixed cost
# (~0.5 s a call) rarely.
_BATCH_BYTES = (1 << 20, 16 << 20)


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
            if self.quarantine_files:  # one scan of every file, in order (a third of reading them one by one)
                import pyarrow.dataset as ds

                table = ds.dataset([str(path) for path in self.quarantine_files], format="parquet").to_table(columns=QUARANTINE_COLUMNS)
                self._quarantine = table.to_pandas()
            else:
                self._quarantine = pd.DataFrame(columns=QUARANTINE_COLUMNS)
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


# --------------------------------------------------------------------------- where batches run


# Where batches run: given batches, their results as they finish. It may start them when called
# (the Prefect flow's does: children then run while other extracts' batches still do).
RunBatches = Callable[[list[Batch]], Iterable[list[Validated]]]


def run_in_process(batches: list[Batch]) -> Iterator[list[Validated]]:
    """The simplest ``run_batches``: one batch after another, here."""
    for batch in batches:
        yield validate_batch(batch)


def validate_batch(batch: Batch) -> list[Validated]:
    """Read and validate a batch of submissions of one extract; write each one's kept-state entry
    (``pipelines.batch``).

    Runs on a worker: it needs the raw files and the kept state at the same paths as the main
    process (on a Dask cluster: a shared filesystem), and returns only the entries' paths and
    file reports.
    """
    if code_fingerprint() != IMPORTED_CODE:  # entries are named by the code on disk: never by older code
        raise RuntimeError(
            f"this worker (pid {os.getpid()}) runs pmf intake code older than the code on disk: restart it "
            "(pmf server stop, then pmf server start, for pmf's own workers)"
        )
    return validate_and_keep(batch)


def validate_batches(batches: list[Batch]) -> list[Validated]:
    """``validate_batch`` for each of ``batches``, one after another (one task: ``task_groups``)."""
    return [validated for batch in batches for validated in validate_batch(batch)]


def task_groups(batches: list[Batch], workers: int = 1) -> list[list[Batch]]:
    """The batches a task runner sends to a worker together, as one task, largest first.

    A task costs ~0.2 s beyond its work (its Prefect task run, the Dask round trip), and a small
    batch costs about the same whatever its size (GX's fixed cost per call and per expectation:
    ``_batch_cost``). So small batches (a new quarter has one per extract) are packed into about
    ``2 * workers`` tasks of even cost (longest-processing-time first), which the workers take
    as they become free; a batch as costly as a share, or as ``_ALONE_COST_BYTES``, goes alone.
    The first extract's batches (``batches_of``' ``first``: the parent, whose results the
    children wait for) each go alone, first."""
    if not batches:
        return []
    first = batches[0].submissions[0].extract.name
    parents = [[batch] for batch in batches if batch.submissions[0].extract.name == first]
    rest = sorted((batch for batch in batches if batch.submissions[0].extract.name != first), key=_batch_cost, reverse=True)
    if not rest:
        return parents
    share = sum(map(_batch_cost, rest)) / (2 * max(workers, 1))
    bins: list[list[Batch]] = []
    costs: list[int] = []
    shared: list[int] = []  # the tasks other batches may join (not those of a batch that goes alone)
    for batch in rest:
        cost = _batch_cost(batch)
        alone = cost >= min(share, _ALONE_COST_BYTES)
        if alone or len(bins) < 2 * max(workers, 1) or not shared:
            if not alone:
                shared.append(len(bins))
            bins.append([batch])
            costs.append(cost)
        else:  # onto the cheapest shared task so far
            cheapest = min(shared, key=costs.__getitem__)
            bins[cheapest].append(batch)
            costs[cheapest] += cost
    order = sorted(range(len(bins)), key=lambda index: -costs[index])
    return [*parents, *(bins[index] for index in order)]


# What validating a batch costs, in bytes of input that take as long to read and validate:
# measured on the 30-LA world (~0.1 s a MB, ~0.35 s a GX call, ~12 ms a file).
_CALL_COST_BYTES = 3_500_000
_FILE_COST_BYTES = 120_000
_ALONE_COST_BYTES = 16_000_000  # ~1.6 s: a task's own cost is small beside it


def _batch_cost(batch: Batch) -> int:
    return sum(s.size + _FILE_COST_BYTES * len(s.files) for s in batch.submissions) + _CALL_COST_BYTES


# --------------------------------------------------------------------------- plan


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


def batches_of(
    submissions: list[Submission], state: KeptState, chunk_rows: int, workers: int, parent_index: Path | None = None,
    *, first: str | None = None,
) -> list[Batch]:
    """Consecutive submissions of one extract, about ``_BATCH_BYTES`` of input each: the largest
    first (a shorter tail), except that extract ``first``'s come before all others."""
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
    return sorted(made, key=lambda b: (b.submissions[0].extract.name != first, -sum(s.size for s in b.submissions)))


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
    by_label = {s.label: s for s in submissions}  # a batch's results name their submissions
    counter = _Counter(total_files, progress)

    parent = parent_extract(contract)
    parents = [s for s in submissions if contract[s.extract.name].parent is None]
    children = [s for s in submissions if contract[s.extract.name].parent is not None]
    reused = _reuse(parents, state)
    outcome.update(reused)
    awaited = {s for s in parents if s.extract.name == parent and s not in outcome}  # the parent index waits for these
    index: ParentIndex | None = None
    reused_children: dict[Submission, Validated] = {}
    child_results: Iterable[list[Validated]] = ()

    def start_children() -> Iterable[list[Validated]]:
        """The parent index, then the children not reusable under it, sent to the workers now."""
        nonlocal index, reused_children
        index = parent_index_of([outcome[s].entry for s in submissions if s.extract.name == parent], state)
        reused_children = _reuse(children, state, index)
        outcome.update(reused_children)
        return _start([s for s in children if s not in outcome], state, chunk_rows, workers, run_batches, index)

    if not awaited:
        child_results = start_children()
    # The parent extract's batches first, so that the children can start while other extracts' batches run.
    parent_results = _start([s for s in parents if s not in outcome], state, chunk_rows, workers, run_batches, first=parent)
    for results in parent_results:
        _record(results, outcome, counter, by_label)
        if awaited and awaited <= outcome.keys():
            awaited = set()
            child_results = start_children()
    if index is None:  # every parent submission has an outcome by now
        raise RuntimeError(f"intake: no outcome for {', '.join(sorted(s.label for s in awaited - outcome.keys()))}")
    for results in child_results:
        _record(results, outcome, counter, by_label)

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
    """The submissions whose kept entry still holds (by name; for a child, also under
    ``parent_index``: the same index, or look-ups that find the same in it)."""
    candidates = []
    for submission in submissions:
        name = submission.entry_name
        for entry in state.entries(submission.extract.name, submission.period.folder_id, name):
            if parent_index is None and entry.name != name:
                continue
            candidates.append((submission, entry, read_json(entry / "entry.json")))
    # The index changed: an entry is reusable still if every look-up it made finds the same (one query for all).
    rechecked = [entry / "parent_keys.parquet" for _, entry, manifest in candidates
                 if parent_index is not None and manifest["index_digest"] != parent_index.digest]
    found = lookup_digests(rechecked, parent_index.path) if rechecked else {}
    reused = {}
    for submission, entry, manifest in candidates:
        if submission in reused:
            continue
        keys_file = entry / "parent_keys.parquet"
        if keys_file in found and found[keys_file] != manifest["lookup_digest"]:
            continue
        reused[submission] = Validated(submission.label, entry, tuple(FileReport(**r) for r in manifest["files"]))
    return reused


def _start(
    submissions: list[Submission],
    state: KeptState,
    chunk_rows: int,
    workers: int,
    run_batches: RunBatches,
    parent_index: ParentIndex | None = None,
    first: str | None = None,
) -> Iterable[list[Validated]]:
    """The submissions' batches handed to ``run_batches`` (which may start them at once); their results."""
    if not submissions:
        return ()
    index_path = parent_index.path if parent_index is not None else None
    return run_batches(batches_of(submissions, state, chunk_rows, workers, index_path, first=first))


def _record(results: list[Validated], outcome: dict[Submission, Validated], counter: _Counter, by_label: dict[str, Submission]) -> None:
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
        con.execute(f"create or replace {kind} {schema}.raw_{extract.name} as select {columns} from read_parquet({sql_list(paths)})")


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
