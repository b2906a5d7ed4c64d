"""Read quarterly extracts (CSV or XLSX) into normalised text frames, per the contract.

One file at a time, in chunks, so memory is bounded by the chunk size rather than the history.
A chunk's index is the row number a person sees in the spreadsheet (CSV: the header is row 1;
XLSX: the sheet's own row numbers). Every value comes out as trimmed text or None; dates come
out in ISO form when they are in one of the contract's formats and untouched otherwise, so that
validation can say exactly what was wrong with them. Problems that make a whole file unusable
raise ``FileRejected``; everything about single rows is left to ``pipelines.validate``.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import python_calamine

from pipelines.contract import Extract, load_contract
from pipelines.periods import Quarter, is_period_folder
from pipelines.rules import FileRule

MISSING_TOKENS = frozenset({"", "NULL", "N/A", "NA", "-"})
_FILE_NAME = re.compile(r"^(?P<extract>[a-z0-9_]+?)(?:--(?P<label>[^/\\]+?))?\.(?P<ext>csv|xlsx)$", re.IGNORECASE)
# Dates the contract accepts (ISO or UK, optional time). Named groups, so that the same patterns
# serve Python's ``re`` and pyarrow's RE2 (see ``_normalise_date_array``).
_ISO_PATTERN = r"^(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})(?:[ T](?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?)?$"
_UK_PATTERN = r"^(?P<day>\d{1,2})/(?P<month>\d{1,2})/(?P<year>\d{4})(?: (?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?)?$"
_ISO = re.compile(_ISO_PATTERN)
_UK = re.compile(_UK_PATTERN)


class FileRejected(Exception):
    """The whole file cannot be used; ``rule`` is a ``FileRule`` and the message says why."""

    def __init__(self, rule: FileRule, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


@dataclass(frozen=True)
class SourceFile:
    """One submitted file: which extract, which period, where."""

    path: Path
    extract: Extract
    period: Quarter
    label: str | None = None

    @property
    def file_name(self) -> str:
        """The name used in reports: ``<period id>/<file>``, unique within a raw directory."""
        return f"{self.path.parent.name}/{self.path.name}"


@dataclass
class Discovery:
    files: list[SourceFile] = field(default_factory=list)
    periods: list[Quarter] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def discover(raw_dir: Path) -> Discovery:
    """Find every extract file in the period folders of ``raw_dir``.

    Files are ordered by extract, parents first (every period's police_da_incidents before any
    police_da_children, whose orphan rule looks at all submitted incidents), then by period
    (so a record re-sent later overwrites), then by name (the contract's "later in name order").
    """
    if not raw_dir.is_dir():
        raise FileNotFoundError(f"raw directory {raw_dir} does not exist")
    contract = load_contract()
    found = Discovery()
    for folder in sorted(raw_dir.iterdir()):
        if not folder.is_dir():
            continue
        if not is_period_folder(folder.name):
            if not folder.name.startswith(("_", ".")):
                found.warnings.append(f"{folder.name}/: not a period folder (expected e.g. 2018-19-Q3), ignored")
            continue
        period = Quarter.parse(folder.name)
        found.periods.append(period)
        for path in sorted(folder.iterdir()):
            match = _FILE_NAME.match(path.name)
            if path.name.startswith((".", "~$")) or not path.is_file():
                continue
            if not match or match["extract"].lower() not in contract:
                found.warnings.append(f"{folder.name}/{path.name}: not a contract extract name, ignored")
                continue
            extract = contract[match["extract"].lower()]
            found.files.append(SourceFile(path, extract, period, match["label"]))
    order = _extract_order(contract)
    found.files.sort(key=lambda f: (order[f.extract.name], f.period, f.path.name))
    return found


def _extract_order(contract: dict[str, Extract]) -> dict[str, int]:
    """Parents before children (police_da_incidents before police_da_children)."""
    names = sorted(contract, key=lambda name: (contract[name].parent is not None, name))
    return {name: index for index, name in enumerate(names)}


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def normalise_header(name: object) -> str:
    """``' Incident ID '`` -> ``incident_id``: case, surrounding space and space/underscore ignored."""
    return re.sub(r"[\s_]+", "_", str(name).strip().lower())


@dataclass
class Header:
    """How a file's header maps onto the contract."""

    positions: dict[str, int]  # contract column -> position in the file's rows
    extra_columns: list[str]


def match_header(cells: list[object], extract: Extract) -> Header | None:
    """Map the contract's columns onto a header row, or None if any required column is absent."""
    seen: dict[str, int] = {}
    for position, cell in enumerate(cells):
        key = normalise_header(cell) if cell is not None else ""
        if key and key not in seen:
            seen[key] = position
    if not all(column in seen for column in extract.required_columns):
        return None
    wanted = set(extract.column_names)
    extra = [str(cells[pos]).strip() for key, pos in seen.items() if key not in wanted]
    return Header({column: seen[column] for column in extract.column_names}, extra)


def _missing_columns(cells: list[object], extract: Extract) -> list[str]:
    present = {normalise_header(cell) for cell in cells if cell is not None}
    return [column for column in extract.required_columns if column not in present]


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM), else Windows-1252, else the file is undecodable."""
    with open(path, "rb") as handle:
        start = handle.read(3)
    if start == codecs.BOM_UTF8:
        return "utf-8-sig"
    for encoding in ("utf-8", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    decoder.decode(block)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    raise FileRejected(FileRule.UNDECODABLE, "text is neither UTF-8 nor Windows-1252")


@dataclass
class FileReader:
    """Reads one source file in chunks of normalised text."""

    source: SourceFile
    chunk_rows: int = 200_000
    header: Header | None = None
    normalise: bool = True  # False: the caller applies ``normalise_values`` (to many files' rows at once)

    def chunks(self) -> Iterator[pd.DataFrame]:
        suffix = self.source.path.suffix.lower()
        rows = self._csv_chunks() if suffix == ".csv" else self._xlsx_chunks()
        any_rows = False
        for frame in rows:
            frame = frame[frame.notna().any(axis=1)]  # blank lines are not data rows
            if len(frame):
                any_rows = True
                yield normalise_values(frame, self.source.extract) if self.normalise else frame
        if not any_rows:
            raise FileRejected(FileRule.NO_DATA_ROWS, "the file has a header but no data rows")

    def _csv_chunks(self) -> Iterator[pd.DataFrame]:
        extract = self.source.extract
        encoding = detect_encoding(self.source.path)
        options = dict(encoding=encoding, dtype=str, keep_default_na=False, na_filter=False, skip_blank_lines=False)
        try:
            head = pd.read_csv(self.source.path, nrows=0, **options)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as error:
            raise FileRejected(FileRule.UNREADABLE, f"not a readable CSV file ({_first_line(error)})") from None
        cells = list(head.columns)
        self.header = match_header(cells, extract)
        if self.header is None:
            missing = ", ".join(_missing_columns(cells, extract))
            raise FileRejected(FileRule.MISSING_COLUMN, missing)
        names = {pos: column for column, pos in self.header.positions.items()}
        try:
            reader = pd.read_csv(
                self.source.path, header=None, skiprows=1, usecols=sorted(names), chunksize=self.chunk_rows, **options
            )
            for chunk in reader:
                chunk = chunk.rename(columns=names)[extract.column_names].replace("", None)
                chunk.index = chunk.index + 2  # header is row 1; a quoted multi-line record is one row
                chunk.index.name = "row_number"
                yield chunk
        except pd.errors.EmptyDataError:
            return  # a header and nothing else: chunks() reports "no data rows"
        except pd.errors.ParserError as error:
            raise FileRejected(FileRule.UNREADABLE, f"not a readable CSV file ({_first_line(error)})") from None

    def _xlsx_chunks(self) -> Iterator[pd.DataFrame]:
        extract = self.source.extract
        try:
            sheet = python_calamine.CalamineWorkbook.from_path(str(self.source.path)).get_sheet_by_index(0)
            rows = sheet.iter_rows()  # keeps leading blank rows: index + 1 is the sheet's row number
        except Exception as error:  # calamine raises its own error types for non-workbooks
            raise FileRejected(FileRule.UNREADABLE, f"not a readable XLSX workbook ({_first_line(error)})") from None
        best: list[object] = []
        row_number = 0
        for row_number, cells in enumerate(rows, start=1):
            self.header = match_header(cells, extract)
            if self.header is not None:
                break
            if len(_missing_columns(cells, extract)) < len(_missing_columns(best, extract)) or not best:
                best = cells
        if self.header is None:
            missing = ", ".join(_missing_columns(best, extract))
            raise FileRejected(FileRule.MISSING_COLUMN, f"{missing} (no header row found)")
        positions = self.header.positions
        batch: list[list[str | None]] = []
        numbers: list[int] = []
        for row_number, cells in enumerate(rows, start=row_number + 1):
            batch.append([_cell_text(cells[pos]) if pos < len(cells) else None for pos in positions.values()])
            numbers.append(row_number)
            if len(batch) >= self.chunk_rows:
                yield _frame(batch, numbers, list(positions))
                batch, numbers = [], []
        if batch:
            yield _frame(batch, numbers, list(positions))


def _frame(batch: list[list[str | None]], numbers: list[int], columns: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(batch, columns=columns, index=pd.Index(numbers, name="row_number"), dtype=object)
    return frame


def _cell_text(value: object) -> str | None:
    """An XLSX cell as the text a person would read; real Excel dates become ISO text."""
    if type(value) is str:  # most cells: checked first, as this runs once per cell
        return value or None
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d") if value.time() == dt.time(0) else value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__


def normalise_values(frame: pd.DataFrame, extract: Extract) -> pd.DataFrame:
    """Apply the contract's value rules: trim, missing tokens, upper-case codes and identifiers,
    NHS numbers without spaces, dates in ISO form (``YYYY-MM-DD`` / ``YYYY-MM-DD HH:MM:SS``).

    Columns come back as pandas ``str`` (missing = NaN). The work is done with pyarrow compute
    kernels on whole columns (the same kernels pandas' ``.str`` methods use for this dtype), so it
    costs little per row and little per call; see ``_normalise_date_array`` for the regex parts.
    """
    out = {}
    for column in extract.columns:
        text = pc.utf8_trim_whitespace(_arrow_text(frame[column.name]))
        text = pc.if_else(pc.is_in(pc.utf8_upper(text), value_set=_MISSING_TOKENS), None, text)
        upper = column.type in ("code", "la_code") or column.identifier in ("person_id", "nhs_number")
        if upper or column.name in extract.key:
            text = pc.utf8_upper(text)
        if column.identifier == "nhs_number":
            text = _without_whitespace(text)
        if column.type in ("date", "datetime"):
            text = _normalise_date_array(text, with_time=column.type == "datetime")
        out[column.name] = _str_series(text, frame.index)
    return pd.DataFrame(out, index=frame.index)


_MISSING_TOKENS = pa.array(sorted(MISSING_TOKENS), type=pa.large_string())
_STR = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default "str" dtype
# Text on which RE2 (pyarrow) and Python's re agree for our patterns: printable ASCII. Elsewhere
# they differ: Python's \d and \s also match non-ASCII digits and spaces, and its $ also matches
# before a final newline. Values outside this set take the (slower, rare) Python path.
_PRINTABLE_ASCII = r"^[ -~]*$"


def _arrow_text(values: pd.Series) -> pa.Array:
    """A column as a pyarrow string array (null = missing)."""
    if values.dtype != _STR:  # XLSX cells arrive as Python objects (text or None)
        values = pd.Series(values.astype(object).where(values.notna(), None), dtype="str")
    array = pa.array(values.array)
    array = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
    return array if array.type == pa.large_string() else array.cast(pa.large_string())


def _str_series(values: pa.Array, index: pd.Index) -> pd.Series:
    return pd.Series(pd.arrays.ArrowStringArray(values, dtype=_STR), index=index)


def _replace_in_python(values: pa.Array, where: pa.Array, function) -> pa.Array:
    """``function`` applied to the values at ``where`` (a boolean array), the rest unchanged."""
    where = pc.fill_null(where, False)
    if not pc.any(where).as_py():
        return values
    replaced = pa.array([function(value) for value in pc.filter(values, where).to_pylist()], type=values.type)
    return pc.replace_with_mask(values, where, replaced)


_WHITESPACE = re.compile(r"\s+")


def _without_whitespace(values: pa.Array) -> pa.Array:
    """Every whitespace character removed (Python's definition, which includes non-ASCII spaces).
    Values of printable ASCII without a space (almost all NHS numbers) cannot contain any."""
    clean = pc.match_substring_regex(values, r"^[!-~]*$")
    return _replace_in_python(values, pc.invert(clean), lambda value: _WHITESPACE.sub("", value))


def _normalise_date_array(values: pa.Array, *, with_time: bool) -> pa.Array:
    """ISO or UK (never US) dates, optional ``HH:MM[:SS]``, to ISO text; other text unchanged.
    RE2 for printable ASCII, Python's re for the rest. Whether the date exists (31 February) is
    validation's question, not this function's."""
    iso, uk = pc.extract_regex(values, _ISO_PATTERN), pc.extract_regex(values, _UK_PATTERN)
    is_iso = pc.is_valid(iso)
    recognised = pc.or_(is_iso, pc.is_valid(uk))

    def part(name: str) -> pa.Array:  # an optional group that did not match is "", padded to "00"
        return pc.utf8_lpad(pc.if_else(is_iso, pc.struct_field(iso, name), pc.struct_field(uk, name)), width=2, padding="0")

    def join(*parts: pa.Array, separator: str) -> pa.Array:
        return pc.binary_join_element_wise(*parts, pa.scalar(separator, type=values.type))

    result = join(part("year"), part("month"), part("day"), separator="-")
    if with_time:
        result = join(result, join(part("hour"), part("minute"), part("second"), separator=":"), separator=" ")
    result = pc.if_else(recognised, result, values)
    unusual = pc.invert(pc.match_substring_regex(values, _PRINTABLE_ASCII))
    return _replace_in_python(result, pc.and_(pc.invert(recognised), unusual), lambda v: _date_text(v, with_time))


def _date_text(value: str, with_time: bool) -> str:
    """One value as ``_normalise_date_array`` defines it, with Python's re."""
    match = _ISO.match(value) or _UK.match(value)
    if match is None:
        return value
    text = f"{match['year']}-{match['month'].zfill(2)}-{match['day'].zfill(2)}"
    if with_time:
        text += f" {(match['hour'] or '0').zfill(2)}:{match['minute'] or '00'}:{match['second'] or '00'}"
    return text
