"""An independent reader of the demo's files, written from the contract's text (header matching,
missing tokens, UK/ISO dates, XLSX header detection) and the contract's row rules, so that the
demo's tests (tests/test_demo_*.py) check the files an agency would send, not the generator's
internals. The ``demo`` fixture (tests/conftest.py) is the default demo read back with it.
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import NamedTuple

import pandas as pd
from python_calamine import CalamineWorkbook

from pipelines.config import TEES_LAS
from pipelines.contract import Extract, load_contract
from pipelines.demo.generate import DemoSummary, generate_demo
from pipelines.periods import Quarter, is_period_folder
from pipelines.rules import RowRule

CONTRACT = load_contract()
MISSING = {"", "NULL", "N/A", "NA", "-"}
FIRST, LAST = Quarter.parse("2017-18 Q1"), Quarter.parse("2019-20 Q4")  # the default demo's window
HARTLEPOOL, MIDDLESBROUGH, REDCAR, STOCKTON = TEES_LAS  # the demo's first four LAs
BAD = object()  # an unparseable date


# --------------------------------------------------------------------------- a reader from the contract


def normalise_header(name: object) -> str:
    return re.sub(r"[\s_]+", "_", str(name).strip().lower())


class SheetRow(NamedTuple):
    number: int  # the row number a person sees in the spreadsheet
    cells: dict[str, object]  # contract column -> raw cell


def decode_csv(raw: bytes) -> str:
    """A CSV's text: UTF-8 (with or without a BOM), else Windows-1252, as the contract allows."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252")


def read_rows(path: Path, extract: Extract) -> list[SheetRow]:
    """Every data row of a file, its cells by contract column name (other columns left out)."""
    if path.suffix == ".csv":
        frame = pd.read_csv(io.StringIO(decode_csv(path.read_bytes())), dtype=str, keep_default_na=False)
        header, body, first_row = [normalise_header(c) for c in frame.columns], frame.to_numpy(object).tolist(), 2
    else:
        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python(skip_empty_area=False)
        wanted = set(extract.column_names)
        at = next(i for i, row in enumerate(sheet) if wanted <= {normalise_header(c) for c in row})
        header, body, first_row = [normalise_header(c) for c in sheet[at]], sheet[at + 1:], at + 2
    assert set(extract.column_names) <= set(header), f"{path.name}: missing columns"
    assert len(set(header)) == len(header), f"{path.name}: a column named twice"
    return [SheetRow(first_row + i, {name: cells[name] for name in extract.column_names})
            for i, cells in enumerate(dict(zip(header, row, strict=True)) for row in body)]


def text(value: object) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    return None if value in MISSING else value


_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?: (\d{2}):(\d{2})(?::(\d{2}))?)?")
_UK = re.compile(r"(\d{2})/(\d{2})/(\d{4})(?: (\d{2}):(\d{2})(?::(\d{2}))?)?")


@cache
def _parse_text_date(value: str, with_time: bool) -> datetime | object:
    iso, uk = _ISO.fullmatch(value), _UK.fullmatch(value)
    if not (iso or uk):
        return BAD
    y, m, d, hh, mm, ss = (iso.groups() if iso else (uk[3], uk[2], uk[1], *uk.groups()[3:]))
    if (hh is not None) != with_time:
        return BAD
    try:
        return datetime(int(y), int(m), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
    except ValueError:
        return BAD


def parse_date(value: object, with_time: bool) -> datetime | object | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    value = text(value)
    return None if value is None else _parse_text_date(value, with_time)


# --------------------------------------------------------------------------- the rules, independently


@dataclass
class Row:
    period: str
    extract: str
    file_name: str
    row_number: int
    cells: dict[str, object]
    values: dict[str, object]  # typed: text / datetime / None / BAD


@cache
def typed_value(kind: str, value: object) -> object:
    """A cell as the contract reads it: datetime / BAD for dates, upper-cased codes and ids, text."""
    if kind in ("date", "datetime"):
        return parse_date(value, kind == "datetime")
    value = text(value)
    return value.upper() if value and kind == "upper" else value


def typed(extract: Extract, cells: dict[str, object]) -> dict[str, object]:
    return {name: typed_value(kind, cells[name]) for name, kind in _kinds(extract.name)}


@cache
def _kinds(name: str) -> tuple[tuple[str, str], ...]:
    return tuple((c.name, c.type if c.type in ("date", "datetime") else "upper"
                  if c.type == "code" or c.identifier == "person_id" else "text") for c in CONTRACT[name].columns)


@cache
def nhs_ok(value: str) -> bool:
    """Modulus 11, written out independently of the generator."""
    digits = value.replace(" ", "")
    if not re.fullmatch(r"\d{10}", digits):
        return False
    check = 11 - sum(int(d) * weight for d, weight in zip(digits[:9], range(10, 1, -1))) % 11
    return check != 10 and check % 11 == int(digits[9])


EARLIEST = datetime(2000, 1, 1)


def row_problems(row: Row, extract: Extract, quarter: Quarter, parent_time: datetime | None
                 ) -> list[tuple[str, str, str]]:
    """(column, rule, outcome) for every contract rule the row breaks, except keys and orphans."""
    v, found = row.values, []
    for c in extract.columns:
        value = v[c.name]
        if value is None:
            if c.required or (c.required_when and v[c.required_when] not in (None, BAD)):
                found.append((c.name, RowRule.REQUIRED_MISSING, "quarantine"))
        elif value is BAD:
            found.append((c.name, RowRule.UNPARSEABLE_DATE, "quarantine"))
        elif isinstance(value, datetime) and c.identifier != "dob" and value < EARLIEST:
            found.append((c.name, RowRule.IMPOSSIBLE_DATE, "quarantine"))
        elif c.type == "code" and value not in c.codes:
            found.append((c.name, RowRule.UNKNOWN_CODE, "quarantine"))
        elif c.type == "la_code" and not re.fullmatch(r"E0[6-9]\d{6}", value):
            found.append((c.name, RowRule.UNKNOWN_CODE, "quarantine"))
        elif c.identifier == "nhs_number" and not nhs_ok(value):
            found.append((c.name, RowRule.INVALID_NHS_NUMBER, "quarantine" if c.required else "warning"))
    usable = lambda name: isinstance(v.get(name), datetime) and v[name] >= EARLIEST  # noqa: E731
    for c in extract.columns:
        if c.not_before and usable(c.name) and usable(c.not_before) and v[c.name].date() < v[c.not_before].date():
            found.append((c.name, RowRule.END_BEFORE_START, "quarantine"))
    compared = parent_time if extract.parent else v.get(extract.date_compared_with_dob or "")
    dob = v.get("dob")
    if isinstance(dob, datetime) and isinstance(compared, datetime) and compared >= EARLIEST:
        if dob.date() > compared.date() + timedelta(days=extract.unborn_days):
            found.append(("dob", RowRule.DOB_AFTER_EVENT, "quarantine"))
    if extract.event_date and usable(extract.event_date) and v[extract.event_date].date() > quarter.end_date:
        found.append((extract.event_date, RowRule.EVENT_AFTER_PERIOD, "quarantine"))
    return [(column, str(rule), outcome) for column, rule, outcome in found]


@dataclass
class Demo:
    raw: Path
    reference: Path
    summary: DemoSummary
    rows: dict[str, list[Row]]  # by extract, all periods, in period then file-name order
    manifest: pd.DataFrame


def load_demo(raw: Path, reference: Path, summary: DemoSummary) -> Demo:
    rows: dict[str, list[Row]] = defaultdict(list)
    for folder in sorted(p for p in raw.iterdir() if is_period_folder(p.name)):
        for path in sorted(folder.iterdir()):
            name = re.split(r"--|\.", path.name)[0]
            extract = CONTRACT[name]
            for sheet_row in read_rows(path, extract):
                rows[name].append(Row(folder.name, name, path.name, sheet_row.number, sheet_row.cells,
                                      typed(extract, sheet_row.cells)))
    manifest = pd.read_csv(raw / "_demo" / "planted_errors.csv", dtype={"row_number": int})
    return Demo(raw, reference, summary, dict(rows), manifest)


def generate_and_load(root: Path) -> Demo:
    """The default demo (4 Tees LAs, 2017-18 Q1 to 2019-20 Q4) written under ``root``, read back."""
    summary = generate_demo(root / "raw", root / "reference")
    return load_demo(root / "raw", root / "reference", summary)


@cache
def _quarter(period: str) -> Quarter:
    return Quarter.parse(period)


def detect_all(demo: Demo) -> set[tuple]:
    """Every rule broken anywhere, found by this module's own reading of the contract."""
    found: set[tuple] = set()
    incidents_by_period: dict[str, dict[str, datetime]] = defaultdict(dict)
    for row in demo.rows["police_da_incidents"]:
        key = (row.values["incident_id"] or "").upper()
        incidents_by_period[row.period].setdefault(key, row.values["reported_at"])
    every_incident = {key for keys in incidents_by_period.values() for key in keys}
    for name, rows in demo.rows.items():
        extract = CONTRACT[name]
        seen: dict[str, set[tuple]] = defaultdict(set)
        for row in rows:
            parent_time = None
            if extract.parent:
                incident = (row.values["incident_id"] or "").upper()
                parent_time = incidents_by_period[row.period].get(incident)
                if incident not in every_incident:
                    found.add((row.period, row.file_name, row.row_number, "incident_id", str(RowRule.ORPHAN),
                               "quarantine"))
            for problem in row_problems(row, extract, _quarter(row.period), parent_time):
                found.add((row.period, row.file_name, row.row_number, *problem))
            key = tuple((row.values[k] or "").upper() for k in extract.key)
            if key in seen[row.period]:
                found.add((row.period, row.file_name, row.row_number, extract.key[0], str(RowRule.DUPLICATE_KEY),
                           "quarantine"))
            seen[row.period].add(key)
    return found


def frame(demo: Demo, name: str, **filters: str) -> pd.DataFrame:
    """The rows of an extract without a planted error (what staging keeps), typed, with their period;
    ``latest`` then keeps each key's row from the latest period."""
    planted = set(zip(demo.manifest["file_name"], demo.manifest["row_number"], demo.manifest["period"]))
    records = [{"period": r.period, **r.values} for r in demo.rows[name]
               if (r.file_name, r.row_number, r.period) not in planted]
    out = pd.DataFrame(records)
    for column, value in filters.items():
        out = out[out[column] == value]
    return out


def planted_rows(demo: Demo) -> set[tuple[str, str, int]]:
    return set(zip(demo.manifest["period"], demo.manifest["file_name"], demo.manifest["row_number"]))


def latest(records: pd.DataFrame, key: str) -> pd.DataFrame:
    return records.sort_values("period", kind="stable").drop_duplicates(key, keep="last")


def is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
