"""One batch of submissions: what they are, and what a worker does with them.

A *submission* is one extract's files for one period (a split submission has one file per LA);
a *batch* is consecutive submissions of one extract, validated together on one worker. The
worker (``validate_and_keep``) reads each file in chunks, normalises and validates the chunks of
the whole batch with one GX call per ``chunk_rows`` rows (``_Chunks``), and writes each
submission's kept-state entry (``pipelines.keptstate``): its staged rows, its quarantine, its
file reports, its masked GX results and, for a parent extract, its keys and dates; for a child
extract, the parent keys it looked up and what it found (``pipelines.parents``).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from pipelines.contract import Extract, load_contract
from pipelines.ingest import FileReader, FileRejected, SourceFile, normalise_values
from pipelines.keptstate import KeptState, code_fingerprint, digest_of, write_json, write_parquet
from pipelines.parents import PARENT_ROWS_SCHEMA, lookup_digests, parent_lookup, parent_rows
from pipelines.periods import Quarter
from pipelines.rules import MAX_QUARANTINED_SHARE, FileRule
from pipelines.suites import suite_path
from pipelines.validate import CHUNK_QUARANTINE_COLUMNS, ChunkOutcome, SubmissionState, take_validation_results, validate_chunks

QUARANTINE_COLUMNS = ["period", "extract", "file_name", *CHUNK_QUARANTINE_COLUMNS]  # the published quarantine table's
_QUARANTINE_SCHEMA = pa.schema(
    [(name, pa.int64() if name == "row_number" else pa.large_string()) for name in QUARANTINE_COLUMNS]
)


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
        the parent look-ups, which the entry records and ``intake._reuse`` checks."""
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


def validate_and_keep(batch: Batch) -> list[Validated]:
    """Read and validate a batch of submissions of one extract; write each one's kept-state entry
    (what ``intake.validate_batch`` runs on a worker, once it has checked the worker's code)."""
    extract = batch.submissions[0].extract
    state = SubmissionState()
    if batch.parent_index is not None:
        state.parents[extract.parent.extract] = parent_lookup(batch.parent_index)
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
    written = [_write_entry(kept, submission, files, batch.parent_index, validation) for submission, files in work]
    if batch.parent_index is not None:  # every child entry's look-ups, in one scan of the index
        found = lookup_digests([scratch / "parent_keys.parquet" for scratch, _, _ in written], batch.parent_index)
        for scratch, manifest, _ in written:
            manifest["lookup_digest"] = found[scratch / "parent_keys.parquet"]
    return [_commit_entry(kept, submission, *entry) for (submission, _), entry in zip(work, written, strict=True)]


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
) -> tuple[Path, dict, tuple[FileReport, ...]]:
    """A submission's entry, in a scratch folder: its files, manifest (for a child, all but the
    ``lookup_digest``, which ``validate_and_keep`` finds for the batch's entries at once) and reports."""
    extract = submission.extract
    reports = [intake_file.finish() for intake_file in files]
    scratch = kept.scratch()
    staged = [(f.source, part) for f in files if not f.report.is_rejected for part in f.staged_parts]
    if staged:
        write_parquet(_with_source_columns(staged), scratch / "staged.parquet", _staged_schema(extract))
    quarantine = [(f.source.period.label, extract.name, f.source.file_name, *record) for f in files for record in f.quarantine]
    if quarantine:
        frame = pd.DataFrame(quarantine, columns=QUARANTINE_COLUMNS).astype({"row_number": "int64"})
        write_parquet(frame, scratch / "quarantine.parquet", _QUARANTINE_SCHEMA)
    parents = [part for f in files for part in f.parent_rows]
    if parents:
        write_parquet(pd.concat(parents, ignore_index=True), scratch / "parents.parquet", PARENT_ROWS_SCHEMA)
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
    return scratch, manifest, tuple(reports)


def _commit_entry(kept: KeptState, submission: Submission, scratch: Path, manifest: dict,
                  reports: tuple[FileReport, ...]) -> Validated:
    """The scratch entry renamed into place (a child's name ends with its look-ups' digest)."""
    name = submission.entry_name
    if manifest["lookup_digest"] is not None:
        name = f"{name}-{manifest['lookup_digest'][:16]}"
    write_json(scratch / "entry.json", manifest)
    entry = kept.commit(scratch, kept.entry_dir(submission.extract.name, submission.period.folder_id, name))
    return Validated(submission.label, entry, reports)


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
    quarantine: list[tuple] = field(default_factory=list)  # CHUNK_QUARANTINE_COLUMNS records
    parent_rows: list[pd.DataFrame] = field(default_factory=list)  # a parent extract's keys and dates
    parent_keys: list[list] = field(default_factory=list)  # a child extract's references
    warnings: dict[str, int] = field(default_factory=dict)
    extra_columns: list[str] = field(default_factory=list)
    rejection: FileRejected | None = None

    def record(self, outcome: ChunkOutcome) -> None:
        self.report.rows_received += outcome.size
        self.report.rows_quarantined += len(outcome.quarantined)
        self.report.rows_staged += outcome.rows_staged
        for rule, count in outcome.warnings.items():
            self.warnings[rule] = self.warnings.get(rule, 0) + count
        self.quarantine.extend(outcome.quarantine)

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
        row_numbers = np.concatenate([chunk.index.to_numpy() for chunk in raw])
        normalised = normalise_values(combined, extract)
        outcomes = validate_chunks(
            normalised, row_numbers, [(len(chunk), f.source.period) for f, chunk in self.items], extract, self.state
        )
        offsets = np.cumsum([0, *(len(chunk) for chunk in raw)])
        normalised.index = pd.Index(row_numbers, name="row_number")
        staged_values, keep = normalised, np.ones(len(normalised), dtype=bool)
        for outcome, start in zip(outcomes, offsets[:-1], strict=True):
            keep[start + outcome.quarantined] = False
            for column, positions in outcome.invalid_values.items():
                if staged_values is normalised:
                    staged_values = normalised.copy()
                staged_values.iloc[start + positions, staged_values.columns.get_loc(column)] = None  # contract: treated as missing
        for (intake_file, _), outcome, start, end in zip(self.items, outcomes, offsets[:-1], offsets[1:], strict=True):
            chunk = normalised.iloc[start:end]
            staged = staged_values.iloc[start:end]
            if outcome.rows_staged < outcome.size:
                staged = staged[keep[start:end]]
            intake_file.record(outcome)
            intake_file.staged_parts.append(staged)
            if self.has_children:
                intake_file.parent_rows.append(parent_rows(chunk, intake_file.source, staged.index))
            if extract.parent:
                intake_file.parent_keys.append(chunk[extract.parent.on].dropna().unique().tolist())
        self.items, self.rows = [], 0


def _with_source_columns(parts: list[tuple[SourceFile, pd.DataFrame]]) -> pd.DataFrame:
    """Staged rows (of one submission's files) with the metadata columns of their raw table:
    period, file and row number."""
    frame = pd.concat([part for _, part in parts]).reset_index()
    source = parts[0][0]
    frame.insert(0, "_file_name", np.repeat(np.array([s.file_name for s, _ in parts], dtype=object), [len(p) for _, p in parts]))
    frame.insert(0, "_period_start", source.period.start_date)
    frame.insert(0, "_period", source.period.folder_id)
    return frame.rename(columns={"row_number": "_row_number"})
