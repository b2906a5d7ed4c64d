"""Validate normalised extract rows with Great Expectations; split them into staged and quarantined.

The suites (``pipelines.suites``, generated from the contract) say in each expectation's
``meta`` which contract rule it checks, the column to report and what a failure does (quarantine
the row, or a warning that treats the value as missing).

GX sees the normalised text columns plus a few derived columns that make every rule a plain
column expectation (pandas computes them in ``prepare``):

- ``<date column>__is_date``: whether the text is a real date (time) in the contract's ISO form,
  exactly as ``datetime.strptime`` with ``%Y-%m-%d`` (``%Y-%m-%d %H:%M:%S``) judges it, but computed
  for a whole column at once (``is_date_text``): GX's strftime expectation calls ``strptime``
  once per value, which was ~60% of validation time;
- ``<date column>__at``: the parsed timestamp (missing when blank or unparseable);
- ``<date column>__day``: its calendar day, for rules that compare dates;
- ``nhs_number__is_valid``: the modulus-11 check (missing when no NHS number);
- ``dob__unborn_limit__day``: for CP plans, dob minus the unborn allowance (280 days);
- ``<column>__given_if_required``: False where a conditionally-required value is missing;
- ``_key_is_repeat``: the record key was already seen in this submission (file or earlier file);
- ``_parent_is_known`` / ``_parent_event__day``: for police_da_children, whether its incident is
  in any submitted incidents file, and that incident's date;
- ``_period_end__at``: the last moment of the submission's period (so rows of several periods'
  files can be validated in one call: GX costs ~0.5 s per call whatever its size).

A row is quarantined by its first failing rule (in the order of ``RowRule``); its message lists
every problem found in it.
"""

from __future__ import annotations

import json
import logging
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.contract import DATE_FORMATS, EARLIEST_POSSIBLE_DATE, Extract
from pipelines.parents import ParentLookup
from pipelines.periods import Quarter
from pipelines.rules import RowRule
from pipelines.suites import SUITES_DIR, suite_path

_RULE_ORDER = {rule.value: index for index, rule in enumerate(RowRule)}

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- GX runtime


class _Validator:
    """One ephemeral GX context per process (GX costs ~3 s to import and set up)."""

    def __init__(self) -> None:
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
        logging.getLogger("great_expectations").setLevel(logging.WARNING)  # a worker's log is the user's screen
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        for name in ("great_expectations", "great_expectations.data_context.types.base"):
            logging.getLogger(name).setLevel(logging.WARNING)  # GX sets its own levels on import

        self._gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        asset = self.context.data_sources.add_pandas("pmf").add_dataframe_asset("extract_rows")
        self.batch_definition = asset.add_batch_definition_whole_dataframe("chunk")
        self.suites: dict[tuple[str, str, str], object] = {}
        self.results: list[dict] = []  # every run's full result as JSON, for Data Docs (take_validation_results)

    def suite(self, extract_name: str, suites_dir: Path) -> object:
        """The suite as the file says now (keyed by its bytes: a warm worker outlives an edit)."""
        text = suite_path(extract_name, suites_dir).read_text(encoding="utf-8")
        key = (str(suites_dir), extract_name, text)
        if key not in self.suites:
            self.suites[key] = self._gx.ExpectationSuite(**json.loads(text))
        return self.suites[key]

    def run(self, frame: pd.DataFrame, extract_name: str, suites_dir: Path) -> list:
        batch = self.batch_definition.get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(self.suite(extract_name, suites_dir), result_format=_RESULT_FORMAT)
        self.results.append(result.to_json_dict())
        for item in result.results:
            info = item.exception_info or {}
            if info.get("raised_exception"):
                raise RuntimeError(
                    f"GX could not evaluate {item.expectation_config.type} on {extract_name}: "
                    f"{info.get('exception_message')}"
                )
        return result.results


# Every unexpected row's index (quarantine is row-exact); not the pandas query GX would also
# build from them (a second copy of the frame an expectation; nothing reads it).
_RESULT_FORMAT = {"result_format": "COMPLETE", "return_unexpected_index_query": False}


@cache
def _validator() -> _Validator:
    return _Validator()


def take_validation_results() -> list[dict]:
    """The GX results (``ExpectationSuiteValidationResult.to_json_dict()``) of this process's
    validations since the last call, unmasked: for ``pipelines.datadocs``, which masks them."""
    if not _validator.cache_info().currsize:  # nothing validated in this process (no GX start-up for that)
        return []
    taken, _validator().results[:] = list(_validator().results), []
    return taken


# --------------------------------------------------------------------------- preparing rows


def is_valid_nhs_number(values: pd.Series) -> pd.Series:
    """Modulus-11 check of 10-digit NHS numbers; missing stays missing (True/False/NA)."""
    digits = values.str.fullmatch(r"\d{10}").fillna(False).astype(bool)
    result = pd.Series(pd.NA, index=values.index, dtype="boolean")
    result[values.notna()] = False
    if digits.any():
        numbers = values[digits].tolist()
        joined = "".join(numbers)
        if joined.isascii():  # the usual case: one vectorised pass over the digits' bytes
            matrix = (np.frombuffer(joined.encode("ascii"), dtype=np.uint8).reshape(-1, 10) - ord("0")).astype(np.int64)
        else:  # \d also matches other scripts' digits, which int() reads
            matrix = np.array([list(map(int, v)) for v in numbers], dtype=np.int64)
        remainder = (matrix[:, :9] * np.arange(10, 1, -1)).sum(axis=1) % 11
        check = (11 - remainder) % 11  # 11 -> 0; 10 means no valid number has these nine digits
        result[digits] = (check != 10) & (check == matrix[:, 9])
    return result


# The contract's ISO forms, with the ranges strptime checks but pandas does not (year 0000,
# seconds 60-61). Within this shape pandas' parser and strptime agree; outside it (rare once
# ``ingest`` has normalised the dates) each value is judged by strptime itself.
_CANONICAL_DATE = {
    "date": r"^(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})-[0-9]{2}-[0-9]{2}$",
    "datetime": r"^(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-5][0-9]$",
}


def is_date_text(values: pd.Series, parsed: pd.Series, column_type: str) -> pd.Series:
    """True/False: ``datetime.strptime(value, <the type's ISO format>)`` succeeds; NA when missing.

    ``parsed`` is ``pd.to_datetime(values, format=..., errors="coerce")``, computed once by the
    caller. Vectorised for values of the canonical shape; any other value (unpadded fields,
    non-ASCII digits, stray spaces) is checked by strptime one at a time.
    """
    fmt = DATE_FORMATS[column_type]
    present = values.notna().to_numpy()
    text = pa.array(values.astype(object).where(values.notna(), None).tolist(), type=pa.large_string())
    canonical = pc.fill_null(pc.match_substring_regex(text, _CANONICAL_DATE[column_type]), False).to_numpy(zero_copy_only=False)
    result = np.where(canonical, parsed.notna().to_numpy(), False)
    unusual = np.flatnonzero(present & ~canonical)
    if len(unusual):
        result[unusual] = [_strptime_succeeds(value, fmt) for value in values.iloc[unusual].tolist()]
    out = pd.Series(result, index=values.index, dtype="boolean")
    out[~present] = pd.NA
    return out


def _strptime_succeeds(value: str, fmt: str) -> bool:
    try:
        datetime.strptime(value, fmt)
    except ValueError:
        return False
    return True


@dataclass
class SubmissionState:
    """What validation remembers across the chunks and files of one run."""

    # (extract, period id) -> every distinct record key seen so far, encoded by ``_encoded_keys``.
    # An Arrow array costs ~25 bytes a key (a Python set of tuples ~150): this is the one piece of
    # state that grows with the size of a submission rather than the size of a chunk.
    seen_keys: dict[tuple[str, str], pa.Array] = field(default_factory=dict)
    parents: dict[str, ParentLookup] = field(default_factory=dict)  # parent extract -> its keys and event days


def _parsed(values: pd.Series, column_type: str) -> pd.Series:
    """The text as UTC timestamps (NaT when blank or unparseable). Timezone-aware on purpose: GX's
    ``column_values.between`` compares a tz-aware (or nanosecond) column in one vectorised step,
    but any other datetime column one value at a time in Python (~half of GX's time here), and a
    nanosecond column cannot hold the year 1066 that the impossible-date rule must see."""
    parsed = pd.to_datetime(values, format=DATE_FORMATS[column_type], errors="coerce")
    return parsed.astype("datetime64[us]").dt.tz_localize("UTC")


def prepare(
    frame: pd.DataFrame, extract: Extract, period: Quarter | Sequence[Quarter], state: SubmissionState,
    sizes: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Add the derived columns the suite refers to (see module docstring).

    ``frame`` may hold the rows of several consecutive chunks (files) at once: ``period`` is then
    each chunk's period and ``sizes`` each chunk's number of rows, in order. Validating a batch
    in one frame costs a fraction of chunk by chunk (pandas' cost per call, not per row, was
    most of it for files of a few hundred rows).
    """
    periods = [period] if isinstance(period, Quarter) else list(period)
    sizes = [len(frame)] if sizes is None else list(sizes)
    prepared = frame.copy()
    prepared.index.name = None  # GX reports a named index as {name: value} dicts
    for column in extract.columns:
        if column.type in DATE_FORMATS:
            parsed = _parsed(frame[column.name], column.type)
            prepared[f"{column.name}__is_date"] = is_date_text(frame[column.name], parsed, column.type).astype(object)
            prepared[f"{column.name}__at"] = parsed
            prepared[f"{column.name}__day"] = parsed.dt.normalize()
        if column.identifier == "nhs_number":
            prepared[f"{column.name}__is_valid"] = is_valid_nhs_number(frame[column.name]).astype(object)
        if column.required_when:
            given = frame[column.name].notna() | frame[column.required_when].isna()
            prepared[f"{column.name}__given_if_required"] = given.astype(object)
    if extract.unborn_days:
        prepared["dob__unborn_limit__day"] = prepared["dob__day"] - pd.Timedelta(days=extract.unborn_days)
    ends = [pd.Timestamp(p.end_date, tz="UTC") + pd.Timedelta(hours=23, minutes=59, seconds=59) for p in periods]
    prepared["_period_end__at"] = pd.Series(np.repeat(np.array(ends, dtype=object), sizes), index=frame.index).astype("datetime64[us, UTC]")
    prepared["_key_is_repeat"] = _mark_repeated_keys(frame, extract, periods, sizes, state).astype(object)
    if extract.parent:
        lookup = state.parents.get(extract.parent.extract, ParentLookup.empty())
        on = frame[extract.parent.on]
        positions = lookup.keys.get_indexer(on.astype(object))  # one hashed look-up for the whole batch
        is_known = positions >= 0
        prepared["_parent_is_known"] = pd.Series(is_known, index=on.index).astype(object).where(on.notna(), None)
        event_day = np.full(len(on), np.datetime64("NaT"), dtype="datetime64[us]")
        event_day[is_known] = lookup.event_days[positions[is_known]]
        prepared["_parent_event__day"] = pd.Series(event_day, index=on.index).dt.tz_localize("UTC")
    return prepared


def _mark_repeated_keys(
    frame: pd.DataFrame, extract: Extract, periods: Sequence[Quarter], sizes: Sequence[int], state: SubmissionState
) -> pd.Series:
    """True for every copy of a key after its first in its period's submission of the extract
    (rows in file order; keys sent in an earlier batch of the submission count too)."""
    marks = np.zeros(len(frame), dtype=bool)
    owner_period = np.repeat(np.array([p.folder_id for p in periods], dtype=object), sizes)
    for folder_id in dict.fromkeys(p.folder_id for p in periods):
        rows = np.flatnonzero(owner_period == folder_id)
        keys = frame.iloc[rows][list(extract.key)]
        complete = keys.notna().all(axis=1).to_numpy()
        keys = keys[complete]
        encoded = _encoded_keys(keys)
        seen_key = (extract.name, folder_id)
        seen = state.seen_keys.get(seen_key)
        repeat = keys.duplicated(keep="first").to_numpy()  # repeated within this batch
        if seen is not None:
            repeat = repeat | pc.is_in(encoded, value_set=seen).to_numpy(zero_copy_only=False)  # or sent earlier
        first_copies = encoded.filter(pa.array(~repeat))
        state.seen_keys[seen_key] = first_copies if seen is None else pa.concat_arrays([seen, first_copies])
        marks[rows[complete]] = repeat
    return pd.Series(marks, index=frame.index)


def _encoded_keys(keys: pd.DataFrame) -> pa.Array:
    """One text per (complete) record key: the value itself, or for a composite key its parts each
    prefixed by their length (``"3:I12:4:P100"``), so that distinct keys never encode alike."""
    parts = []
    for column in keys.columns:
        values = pa.array(keys[column].astype("str").array)
        values = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
        if len(keys.columns) == 1:
            return values
        parts += [pc.cast(pc.utf8_length(values), values.type), values]
    return pc.binary_join_element_wise(*parts, pa.scalar(":", type=parts[0].type))


# --------------------------------------------------------------------------- quarantine


@dataclass
class ChunkOutcome:
    """What validation found in one chunk (one file's rows, or part of them). Positions count
    from the chunk's first row."""

    size: int
    quarantine: list[tuple]  # one record (CHUNK_QUARANTINE_COLUMNS) per quarantined row, in row order
    quarantined: np.ndarray  # the positions of those rows
    warnings: dict[str, int]  # rule -> count of value warnings
    invalid_values: dict[str, np.ndarray]  # column -> positions whose value is treated as missing

    @property
    def rows_staged(self) -> int:
        return self.size - len(self.quarantined)


# A chunk's quarantine: which row, and what is wrong with it (intake adds the file it came from).
CHUNK_QUARANTINE_COLUMNS = ["row_number", "column_name", "value", "rule", "message"]
_NOWHERE = np.zeros(0, dtype=np.int64)


def validate_chunks(
    frame: pd.DataFrame,
    row_numbers: np.ndarray,
    chunks: list[tuple[int, Quarter]],
    extract: Extract,
    state: SubmissionState,
    *,
    suites_dir: Path = SUITES_DIR,
) -> list[ChunkOutcome]:
    """Run the extract's suite in a single GX call over ``frame``: normalised rows of several
    chunks (of one or several files, in file order) one after another, ``chunks`` giving each
    one's size and period and ``row_numbers`` each row's number in its file. One outcome per
    chunk, in the same order; the per-row work is done once for the whole frame."""
    sizes = [size for size, _ in chunks]
    prepared = prepare(frame, extract, [period for _, period in chunks], state, sizes)
    results = _validator().run(prepared, extract.name, suites_dir)
    offsets = np.cumsum([0, *sizes])
    found: list[list[tuple[int, str, str, str]]] = [[] for _ in chunks]  # (position, rule, column, severity)
    for item in results:
        meta = item.expectation_config.meta or {}
        positions = np.asarray(item.result.get("unexpected_index_list") or [], dtype=np.int64)
        owners = np.searchsorted(offsets, positions, side="right") - 1
        for position, owner in zip(positions.tolist(), owners.tolist(), strict=True):
            found[owner].append((position - int(offsets[owner]), meta["rule"], meta["column"], meta.get("severity", "quarantine")))
    columns = {name: index for index, name in enumerate(frame.columns)}
    return [
        _outcome(frame, row_numbers, int(start), size, columns, extract, problems)
        for start, size, problems in zip(offsets[:-1], sizes, found, strict=True)
    ]


def _outcome(
    frame: pd.DataFrame, row_numbers: np.ndarray, start: int, size: int, columns: dict[str, int],
    extract: Extract, found: list[tuple[int, str, str, str]],
) -> ChunkOutcome:
    if not found:
        return ChunkOutcome(size, [], _NOWHERE, {}, {})
    column_order = {name: index for index, name in enumerate(extract.column_names)}
    problems: list[tuple[int, int, str, str]] = []  # (position, order, column, rule)
    warnings: dict[str, int] = defaultdict(int)
    invalid: dict[str, list[int]] = defaultdict(list)
    for position, rule, column, severity in found:
        if severity == "warning":
            warnings[rule] += 1
            invalid[column].append(position)
        else:
            problems.append((position, _RULE_ORDER[rule] * 1000 + column_order.get(column, 999), column, rule))
    records, quarantined = _quarantine_rows(problems, frame, row_numbers, start, columns, extract)
    return ChunkOutcome(size, records, quarantined, dict(warnings),
                        {column: np.asarray(rows, dtype=np.int64) for column, rows in invalid.items()})


def _quarantine_rows(
    problems: list[tuple[int, int, str, str]], frame: pd.DataFrame, row_numbers: np.ndarray, start: int,
    columns: dict[str, int], extract: Extract,
) -> tuple[list[tuple], np.ndarray]:
    """One record per quarantined row: its row number, its first problem (in rule order, then
    column order), the masked value, and every problem's description; and the rows' positions.
    Plain Python: a chunk has few problems."""
    by_position: dict[int, list[tuple[str, str]]] = {}
    for position, _, column, rule in sorted(set(problems), key=lambda problem: (problem[0], problem[1])):
        by_position.setdefault(position, []).append((column, rule))
    records = []
    for position, row_problems in by_position.items():
        described = []
        for column, rule in row_problems:
            raw = frame.iat[start + position, columns[column]] if column in columns else None
            value = mask_value(extract, column, raw)
            described.append((column, value, rule, describe_problem(extract, rule, column, value)))
        column, value, rule, _ = described[0]
        records.append((int(row_numbers[start + position]), column, value, rule, "; ".join(text for *_, text in described)))
    return records, np.fromiter(by_position, dtype=np.int64, count=len(by_position))


def mask_value(extract: Extract, column: str, value: object) -> str | None:
    """The value as shown in quarantine: identifiers keep only their shape (``9999-99-99``)."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    text = str(value)
    try:
        identifier = extract.column(column).identifier
    except KeyError:
        identifier = None
    if identifier:
        return "".join("9" if ch.isdigit() else "X" if ch.isalpha() else ch for ch in text)
    return text


_EXPLANATIONS = {
    RowRule.REQUIRED_MISSING: "is required but missing",
    RowRule.UNPARSEABLE_DATE: "is not a date in YYYY-MM-DD or DD/MM/YYYY form (or is not a real calendar date)",
    RowRule.IMPOSSIBLE_DATE: f"is before {EARLIEST_POSSIBLE_DATE}",
    RowRule.UNKNOWN_CODE: "is not one of the allowed codes",
    RowRule.INVALID_NHS_NUMBER: "fails the NHS number modulus-11 check",
    RowRule.END_BEFORE_START: "is before {not_before}",
    RowRule.DOB_AFTER_EVENT: "is after the event date {event}",
    RowRule.EVENT_AFTER_PERIOD: "is after the end of the submission's period",
    RowRule.DUPLICATE_KEY: "repeats a record key already sent in this submission (the first copy is kept)",
    RowRule.ORPHAN: "refers to an incident that is in no submitted police_da_incidents file",
}


def describe_problem(extract: Extract, rule: str, column: str, value: str | None) -> str:
    rule = RowRule(rule)
    text = _EXPLANATIONS[rule]
    if rule is RowRule.END_BEFORE_START:
        text = text.format(not_before=extract.column(column).not_before)
    if rule is RowRule.DOB_AFTER_EVENT:
        event = f"of the {extract.parent.extract} row" if extract.parent else f"({extract.date_compared_with_dob})"
        text = text.format(event=event)
        if extract.unborn_days:
            text += f" by more than {extract.unborn_days} days (unborn allowance)"
    if rule is RowRule.UNKNOWN_CODE and column in extract.column_names and extract.column(column).codes:
        text += f" ({', '.join(extract.column(column).codes)})"
    if rule is RowRule.UNKNOWN_CODE and column in extract.column_names and extract.column(column).type == "la_code":
        text += " (an ONS code E06/E07/E08/E09 followed by six digits)"
    shown = "blank" if value is None or pd.isna(value) else repr(value)  # pandas turns None into NaN
    return f"{column} {shown} {text}"

