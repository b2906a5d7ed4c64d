"""The demo generator: deterministic, calibrated, within the contract, errors exactly as listed.

Everything is read back from the written files with an independent reader written here from
the contract's text (header matching, missing tokens, UK/ISO dates, XLSX header detection), so
these tests check the files an agency would send, not the generator's internals.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from python_calamine import CalamineWorkbook

from pipelines.contract import Extract, load_contract
from pipelines.demo.bench_files import write_extract_rows
from pipelines.demo.generate import DemoSummary, generate_demo
from pipelines.demo.world import is_valid_nhs_number, nhs_check_digit
from pipelines.periods import Quarter, is_period_folder
from pipelines.rules import RowRule

CONTRACT = load_contract()
MISSING = {"", "NULL", "N/A", "NA", "-"}
FIRST, LAST = Quarter.parse("2017-18 Q1"), Quarter.parse("2019-20 Q4")
HARTLEPOOL = "E06000001"
BAD = object()  # an unparseable date


# --------------------------------------------------------------------------- a reader from the contract


def normalise_header(name: object) -> str:
    return re.sub(r"[\s_]+", "_", str(name).strip().lower())


def read_rows(path: Path, extract: Extract) -> list[tuple[int, dict[str, object]]]:
    """(spreadsheet row number, {contract column: raw cell}) for every data row."""
    if path.suffix == ".csv":
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("cp1252")
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        header, body, first_row = [normalise_header(c) for c in frame.columns], frame.to_numpy(object).tolist(), 2
    else:
        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python(skip_empty_area=False)
        wanted = set(extract.column_names)
        at = next(i for i, row in enumerate(sheet) if wanted <= {normalise_header(c) for c in row})
        header, body, first_row = [normalise_header(c) for c in sheet[at]], sheet[at + 1:], at + 2
    assert set(extract.column_names) <= set(header), f"{path.name}: missing columns"
    where = {name: header.index(name) for name in extract.column_names}
    return [(first_row + i, {name: row[j] for name, j in where.items()}) for i, row in enumerate(body)]


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
            for number, cells in read_rows(path, extract):
                rows[name].append(Row(folder.name, name, path.name, number, cells, typed(extract, cells)))
    manifest = pd.read_csv(raw / "_demo" / "planted_errors.csv", dtype={"row_number": int})
    return Demo(raw, reference, summary, dict(rows), manifest)


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


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    root = tmp_path_factory.mktemp("demo")
    summary = generate_demo(root / "raw", root / "reference")
    return load_demo(root / "raw", root / "reference", summary)


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


def _planted_rows(demo: Demo) -> set[tuple[str, str, int]]:
    return set(zip(demo.manifest["period"], demo.manifest["file_name"], demo.manifest["row_number"]))


def latest(records: pd.DataFrame, key: str) -> pd.DataFrame:
    return records.sort_values("period", kind="stable").drop_duplicates(key, keep="last")


# --------------------------------------------------------------------------- tests: shape and determinism


def test_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    """Two runs, the second in a fresh interpreter with another hash seed, write the same bytes."""
    quarter = Quarter.parse("2019-20 Q1")
    generate_demo(tmp_path / "a" / "raw", tmp_path / "a" / "ref", n_las=7, first=quarter, last=quarter)
    script = ("import sys; from pathlib import Path; from pipelines.demo.generate import generate_demo; "
              "from pipelines.periods import Quarter; q = Quarter.parse('2019-20 Q1'); "
              "generate_demo(Path(sys.argv[1]) / 'raw', Path(sys.argv[1]) / 'ref', n_las=7, first=q, last=q)")
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "b")], check=True,
                   env={**os.environ, "PYTHONHASHSEED": "12345"})
    digests = []
    for run in ("a", "b"):
        files = sorted(p for p in (tmp_path / run).rglob("*") if p.is_file())
        digests.append({str(p.relative_to(tmp_path / run)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files})
    assert digests[0] == digests[1]
    assert len(digests[0]) == 5 * 7 + 3 + 1 + 4 + 2  # LA x 7, police, treatment, A&E trusts; population, manifest
    assert "raw/2019-20-Q1/la_cp_plans--E06000007.xlsx" in digests[0]  # synthetic LAs: every 4th sends XLSX
    assert "raw/2019-20-Q1/health_ae_attendances--TR02.xlsx" in digests[0]  # synthetic trusts: pairs of LAs


def test_a_different_seed_gives_different_data(tmp_path: Path) -> None:
    kwargs = dict(n_las=1, first=Quarter.parse("2018-19 Q1"), last=Quarter.parse("2018-19 Q1"))
    generate_demo(tmp_path / "a", tmp_path / "ra", seed=1, **kwargs)
    generate_demo(tmp_path / "b", tmp_path / "rb", seed=2, **kwargs)
    name = "2018-19-Q1/la_cp_plans--E06000001.csv"
    assert (tmp_path / "a" / name).read_bytes() != (tmp_path / "b" / name).read_bytes()


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="n_las"):
        generate_demo(tmp_path / "raw", tmp_path / "ref", n_las=0)
    with pytest.raises(ValueError, match="before"):
        generate_demo(tmp_path / "raw", tmp_path / "ref", first=LAST, last=FIRST)
    assert not (tmp_path / "raw").exists()


def test_every_extract_in_every_period(demo: Demo) -> None:
    periods = sorted(p.name for p in demo.raw.iterdir() if is_period_folder(p.name))
    assert periods == [FIRST.shift(i).folder_id for i in range(12)]
    for period in periods:
        names = sorted((demo.raw / period).iterdir())
        extracts = {re.split(r"--|\.", p.name)[0] for p in names}
        assert extracts == set(CONTRACT), period
        assert len(names) == 5 * 4 + 3 + 2 + 1
        la_files = [p.name for p in names if p.name.startswith("la_cp_plans--")]
        assert la_files == [f"la_cp_plans--E0600000{i}.{'xlsx' if i == 3 else 'csv'}" for i in range(1, 5)]
    assert demo.summary.files_written == 12 * 26 + 2
    assert sum(demo.summary.rows_per_extract.values()) == sum(len(rows) for rows in demo.rows.values())


def test_population_reference(demo: Demo) -> None:
    population = pd.read_csv(demo.reference / "population.csv", dtype={"la_code": str})
    assert list(population.columns) == ["la_code", "year", "age", "persons"]
    assert sorted(population["year"].unique()) == [2017, 2018, 2019]
    assert sorted(population["age"].unique()) == list(range(25))
    children = population[population["age"] <= 17].groupby(["la_code", "year"])["persons"].sum()
    for code, expected in [("E06000001", 20_500), ("E06000002", 33_000), ("E06000003", 27_000),
                           ("E06000004", 44_000)]:
        assert children[code, 2017] == pytest.approx(expected, rel=0.02)
        assert children[code, 2019] != children[code, 2017]
    young_adults = population[(population["age"] >= 18) & (population["la_code"] == HARTLEPOOL)]
    assert young_adults["persons"].between(800, 1300).all()


# --------------------------------------------------------------------------- tests: planted errors


def test_planted_errors_are_exactly_the_rule_breaks_in_the_files(demo: Demo) -> None:
    """Every listed error is in its file at its row and column, and no other row breaks a rule."""
    manifest = {tuple(r) for r in demo.manifest[["period", "file_name", "row_number", "column_name", "rule",
                                                 "outcome"]].itertuples(index=False)}
    assert len(manifest) == len(demo.manifest) == demo.summary.planted_count
    found = detect_all(demo)
    assert found - manifest == set(), "rows break rules that the manifest does not list"
    assert manifest - found == set(), "listed errors not found in the files"


def test_each_planted_row_has_one_defect(demo: Demo) -> None:
    per_row = Counter(zip(demo.manifest["file_name"], demo.manifest["period"], demo.manifest["row_number"]))
    assert max(per_row.values()) == 1


def test_every_rule_is_planted_many_times(demo: Demo) -> None:
    counts = demo.manifest["rule"].value_counts()
    assert set(counts.index) == {str(rule) for rule in RowRule}
    assert counts.min() >= 20
    assert dict(demo.summary.planted_by_rule) == counts.to_dict()
    nhs = demo.manifest[demo.manifest["rule"] == str(RowRule.INVALID_NHS_NUMBER)]
    assert set(nhs.loc[nhs["extract"] == "health_ae_attendances", "outcome"]) == {"quarantine"}
    assert set(nhs.loc[nhs["extract"] != "health_ae_attendances", "outcome"]) == {"warning"}
    assert set(demo.manifest.loc[demo.manifest["rule"] != str(RowRule.INVALID_NHS_NUMBER), "outcome"]) == {
        "quarantine"}


def test_planted_share_per_file(demo: Demo) -> None:
    sizes = Counter((r.period, r.file_name) for rows in demo.rows.values() for r in rows)
    planted = Counter(zip(demo.manifest["period"], demo.manifest["file_name"]))
    assert set(planted) <= set(sizes)
    for file, count in planted.items():
        assert count <= 0.02 * sizes[file], file
    assert 0.006 < sum(planted.values()) / sum(sizes.values()) < 0.014


def test_a_duplicate_key_across_the_files_of_a_submission_every_period(demo: Demo) -> None:
    for period in demo.manifest["period"].unique():
        first_seen: dict[tuple[str, str], str] = {}
        crossing = 0
        for name in CONTRACT:
            key = CONTRACT[name].key
            for row in (r for r in demo.rows[name] if r.period == period):
                k = (name, "|".join((row.values[c] or "").upper() for c in key))
                if k in first_seen and first_seen[k] != row.file_name:
                    assert first_seen[k] < row.file_name  # the copy is in the later file
                    crossing += 1
                first_seen.setdefault(k, row.file_name)
        assert crossing >= 1, period


def test_planted_values_look_like_the_examples(demo: Demo) -> None:
    cells = {(r.period, r.file_name, r.row_number): r.cells for rows in demo.rows.values() for r in rows}
    for error in demo.manifest.itertuples():
        value = cells[error.period, error.file_name, error.row_number][error.column_name]
        if error.rule == str(RowRule.IMPOSSIBLE_DATE):
            assert re.match(r"(1899|1900|1999|01/01/1900)", str(value)), value
        if error.rule == str(RowRule.UNKNOWN_CODE) and error.column_name == "la_code":
            assert not re.fullmatch(r"E0[6-9]\d{6}", str(value).strip())
        if error.rule == str(RowRule.ORPHAN):
            assert str(value).strip().upper().startswith("DA9")


# --------------------------------------------------------------------------- tests: valid rows are realistic


def test_valid_dates_never_after_the_period_and_ages_plausible(demo: Demo) -> None:
    for name in CONTRACT:
        extract = CONTRACT[name]
        data = frame(demo, name)
        ends = data["period"].map(lambda p: datetime.combine(Quarter.parse(p).end_date, datetime.max.time()))
        for c in extract.columns:
            if c.type in ("date", "datetime") and c.identifier != "dob":
                values = data[c.name].dropna()
                assert (values <= ends[values.index]).all(), (name, c.name)
                assert (values >= datetime(2000, 1, 1)).all()
    ae = frame(demo, "health_ae_attendances")
    age = (ae["arrived_at"] - ae["dob"]).dt.days / 365.25
    assert age.between(0, 25).all() and (age < 18).mean() > 0.5
    cp = frame(demo, "la_cp_plans")
    unborn = cp[cp["dob"] > cp["plan_start_date"]]
    assert 5 <= unborn["plan_id"].nunique() and ((unborn["dob"] - unborn["plan_start_date"]).dt.days <= 280).all()


def test_late_records_are_dated_in_the_quarter_before(demo: Demo) -> None:
    incidents = frame(demo, "police_da_incidents")
    quarter_of = incidents["reported_at"].map(lambda t: Quarter.containing(t.date()).folder_id)
    late = incidents[quarter_of != incidents["period"]]
    assert 0.01 < len(late) / len(incidents) < 0.03
    days_before_quarter = late.apply(lambda r: (Quarter.parse(r["period"]).start_date - r["reported_at"].date()).days,
                                     axis=1)
    assert days_before_quarter.between(1, 21).all()
    assert (late["reported_at"].map(lambda t: Quarter.containing(t.date()).shift(1).folder_id)
            == late["period"]).all()


def test_children_rows_belong_to_incidents_of_the_same_period(demo: Demo) -> None:
    incidents = {(r.period, (r.values["incident_id"] or "").upper()) for r in demo.rows["police_da_incidents"]}
    children = frame(demo, "police_da_children")
    assert children.apply(lambda r: (r["period"], r["incident_id"]) in incidents, axis=1).all()
    reported = latest(frame(demo, "police_da_incidents"), "incident_id").set_index("incident_id")["reported_at"]
    age = (reported[children["incident_id"]].to_numpy() - children["dob"].to_numpy()) / np.timedelta64(1, "D") / 365.25
    assert age.min() >= 0 and 18 <= age.max() < 19.5 and (age >= 18).mean() < 0.03


def test_open_records_are_resent_until_they_end(demo: Demo) -> None:
    plans = frame(demo, "la_cp_plans")
    planted = _planted_rows(demo)
    touched = {r.values["plan_id"] for r in demo.rows["la_cp_plans"]
               if (r.period, r.file_name, r.row_number) in planted}
    plans = plans[~plans["plan_id"].isin(touched)]
    ended = latest(plans, "plan_id").set_index("plan_id")["plan_end_date"]
    for plan_id, sent in plans.groupby("plan_id")["period"].agg(list).items():
        quarters = [Quarter.parse(p) for p in sent]
        assert quarters == [quarters[0].shift(i) for i in range(len(quarters))], plan_id  # every quarter
        end = ended[plan_id]
        if pd.notna(end):  # sent until the quarter it ends, not after
            assert Quarter.containing(end.date()) <= quarters[-1], plan_id
            assert quarters[-1] == max(Quarter.containing(end.date()), quarters[0]), plan_id
        else:
            assert quarters[-1] == LAST
    # an end date is only ever filled in the file of the quarter it falls in (or later)
    with_end = plans.dropna(subset=["plan_end_date"])
    assert (with_end["plan_end_date"].map(lambda d: Quarter.containing(d.date()).folder_id)
            <= with_end["period"]).all()
    treatment = frame(demo, "health_treatment_episodes")
    assert (treatment["discharge_date"].notna() == treatment["discharge_reason"].notna()).all()
    assert treatment.groupby("episode_id")["period"].nunique().max() >= 3


def test_messiness_is_present(demo: Demo) -> None:
    headers, encodings, layouts = set(), Counter(), Counter()
    for path in sorted(demo.raw.glob("20*/*")):
        raw = path.read_bytes()
        if path.suffix == ".csv":
            first = raw.split(b"\n")[0]
            headers.add(first.decode("cp1252").lstrip("\ufeff").split(",")[0])
            encodings["bom" if raw.startswith(b"\xef\xbb\xbf") else "utf-8" if _is_utf8(raw) else "cp1252"] += 1
        else:
            sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python(skip_empty_area=False)
            layouts[next(i for i, row in enumerate(sheet) if any(str(c).strip() for c in row))] += 1
    assert {"incident_id", "Incident ID", "INCIDENT_ID", " Incident Id "} <= headers
    assert min(encodings.values()) >= 12 and len(encodings) == 3
    assert set(layouts) == {0, 2}  # title rows from row 1, or two leading blank rows
    cp1252 = [p for p in demo.raw.glob("20*/*.csv") if not _is_utf8(p.read_bytes())]
    assert {p.parent.name for p in cp1252} == {q.folder_id for q in (FIRST.shift(i) for i in range(12))}
    cells = [str(v) for rows in demo.rows.values() for r in rows[:3000] for v in r.cells.values()]
    assert any(re.fullmatch(r"\d{3} \d{3} \d{4}", v) for v in cells)
    assert any(v != v.strip() for v in cells) and any(re.fullmatch(r"[a-z]+\d+", v) for v in cells)
    assert {"N/A", "NULL", "NA", "-"} <= set(cells)
    assert any(re.fullmatch(r"\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}", v) for v in cells)
    notes = [r.cells for r in demo.rows["la_cla_episodes"]]
    assert any("\n" in str(c["reason_episode_ceased"]) and "," in str(c["reason_episode_ceased"]) for c in notes)
    excel_dates = [r.cells["arrived_at"] for r in demo.rows["health_ae_attendances"]]
    assert any(isinstance(v, datetime) for v in excel_dates)


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# --------------------------------------------------------------------------- tests: people recur


def test_nhs_numbers_are_valid_and_people_link_across_sources(demo: Demo) -> None:
    assert is_valid_nhs_number("943 476 5919") and not is_valid_nhs_number("9434765918")
    assert nhs_ok("943 476 5919") and not nhs_ok("9434765918") and not nhs_ok("123456789")
    assert list(nhs_check_digit(np.array([943476591, 401023213]))) == [9, 7]
    numbers = {}
    for name in ("police_missing_reports", "health_ae_attendances", "la_vemt_screenings", "police_da_children"):
        data = frame(demo, name)
        filled = data["nhs_number"].dropna().str.replace(" ", "")
        assert filled.map(nhs_ok).all() and filled.map(is_valid_nhs_number).all()
        numbers[name] = set(filled)
        if name != "health_ae_attendances":
            assert 0.55 < data["nhs_number"].notna().mean() < 0.95
    assert len(numbers["police_missing_reports"] & numbers["health_ae_attendances"]
               & numbers["la_vemt_screenings"]) >= 20
    assert len(numbers["police_da_children"] & numbers["health_ae_attendances"]) >= 50
    children = frame(demo, "police_da_children")
    assert children.groupby("person_id")["incident_id"].nunique().max() >= 3
    person_dob = children.groupby("person_id")["dob"].nunique()
    assert (person_dob == 1).all()  # stable people


# --------------------------------------------------------------------------- tests: calibration


def _open_at(records: pd.DataFrame, start: str, end: str, day: date) -> pd.Series:
    day_ts = pd.Timestamp(day)
    return (records[start] <= day_ts) & (records[end].isna() | (records[end] >= day_ts))


def test_hartlepool_child_protection_and_looked_after(demo: Demo) -> None:
    plans = latest(frame(demo, "la_cp_plans", la_code=HARTLEPOOL), "plan_id")
    episodes = latest(frame(demo, "la_cla_episodes", la_code=HARTLEPOOL), "episode_id")
    for i in range(12):
        end = FIRST.shift(i).end_date
        open_plans = plans[_open_at(plans, "plan_start_date", "plan_end_date", end)]
        assert 100 <= len(open_plans) <= 180, end
        assert 0.7 <= (open_plans["latest_category"] == "NEG").mean() <= 0.85
        looked_after = episodes[_open_at(episodes, "episode_start_date", "episode_end_date", end)]
        assert 250 <= looked_after["child_id"].nunique() <= 350, end
        assert 0.62 <= (looked_after["category_of_need"] == "N1").mean() <= 0.78


def _per_quarter(records: pd.DataFrame, column: str, first_year: bool) -> float:
    quarters = records[column].map(lambda t: Quarter.containing(t.date()))
    wanted = [FIRST.shift(i) for i in (range(4) if first_year else range(8, 12))]
    return quarters.isin(wanted).sum() / 4


def test_police_volumes(demo: Demo) -> None:
    reports = latest(frame(demo, "police_missing_reports"), "report_id")
    reports = reports.assign(year=reports["reported_missing_at"].map(lambda t: Quarter.containing(t.date())
                                                                     .fy_start_year))
    for year, group in reports.groupby("year"):
        assert 3_400 <= len(group) <= 4_600, year
        per_child = group.groupby("person_id").size()
        assert 0.4 <= (per_child >= 2).mean() <= 0.6
    incidents = latest(frame(demo, "police_da_incidents"), "incident_id")
    year = incidents["reported_at"].map(lambda t: Quarter.containing(t.date()).fy_start_year)
    crimes = incidents[incidents["crime_recorded"] == "Y"].groupby(year[incidents["crime_recorded"] == "Y"]).size()
    assert crimes.between(11_300, 13_900).all()
    with_children = incidents["incident_id"].str.upper().isin(set(frame(demo, "police_da_children")["incident_id"]))
    assert 0.3 <= with_children.mean() <= 0.5
    high = incidents[incidents["dash_risk"] == "HIGH"]
    assert 0.75 <= (high["marac_referral"] == "Y").mean() <= 0.95


def test_hartlepool_trends(demo: Demo) -> None:
    plans = latest(frame(demo, "la_cp_plans", la_code=HARTLEPOOL), "plan_id")
    neglect = plans[plans["initial_category"] == "NEG"]
    early, late = (_per_quarter(neglect, "plan_start_date", f) for f in (True, False))
    assert 0.55 <= late / early <= 0.85
    assessments = latest(frame(demo, "la_early_help_assessments", la_code=HARTLEPOOL), "assessment_id")
    done = assessments.dropna(subset=["assessment_completed_date"])
    early, late = (_per_quarter(done[done["neglect_identified"] == "Y"], "assessment_completed_date", f)
                   for f in (True, False))
    assert late / early >= 1.4
    episodes = latest(frame(demo, "la_missing_episodes", la_code=HARTLEPOOL), "episode_id")
    ended = episodes[(episodes["missing_or_away"] == "M") & episodes["missing_end"].notna()]
    quick = ended["rhi_date"].notna() & ((ended["rhi_date"] - ended["missing_end"].dt.normalize()).dt.days <= 3)
    by_year = quick.groupby(ended["missing_end"].map(lambda t: Quarter.containing(t.date()).fy_start_year)).mean()
    assert by_year[2019] - by_year[2017] >= 0.12
    incidents = latest(frame(demo, "police_da_incidents", la_code=HARTLEPOOL), "incident_id")
    children = frame(demo, "police_da_children").merge(incidents[["incident_id", "reported_at"]], on="incident_id")
    children = children.drop_duplicates(["incident_id", "person_id"])
    early, late = (_per_quarter(children, "reported_at", f) for f in (True, False))
    assert 0.65 <= late / early <= 0.95


def test_la_missing_episodes_match_police_reports(demo: Demo) -> None:
    police = latest(frame(demo, "police_missing_reports", la_code=HARTLEPOOL), "report_id")
    la = latest(frame(demo, "la_missing_episodes", la_code=HARTLEPOOL), "episode_id")
    missing = la[la["missing_or_away"] == "M"]
    assert 0.85 <= len(missing) / len(police) <= 1.0
    assert 0.15 <= (la["missing_or_away"] == "A").mean() <= 0.3
    # the same children at the same times: LA episodes start within 6 hours before the report
    starts = missing["missing_start"].sort_values().to_numpy()
    reported = police["reported_missing_at"].sort_values().to_numpy()
    position = np.searchsorted(reported, starts)
    gaps = reported[np.minimum(position, len(reported) - 1)] - starts
    assert (gaps <= np.timedelta64(6, "h")).mean() > 0.95


# --------------------------------------------------------------------------- tests: benchmark files


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_write_extract_rows_gives_valid_rows(tmp_path: Path, name: str) -> None:
    quarter = Quarter.parse("2018-19 Q3")
    path = tmp_path / f"{name}.csv"
    write_extract_rows(name, 2_500, path, quarter=quarter, seed=3, chunk_rows=1_000)
    incidents = tmp_path / "incidents.csv"
    write_extract_rows("police_da_incidents", 1_250, incidents, quarter=quarter)
    parent = {cells["incident_id"]: parse_date(cells["reported_at"], True)
              for _, cells in read_rows(incidents, CONTRACT["police_da_incidents"])}
    extract, keys = CONTRACT[name], set()
    rows = read_rows(path, extract)
    assert len(rows) == 2_500 and rows[-1][0] == 2_501
    for number, cells in rows:
        row = Row(quarter.folder_id, name, path.name, number, cells, typed(extract, cells))
        assert row_problems(row, extract, quarter, parent.get(cells.get("incident_id", ""))) == [], cells
        key = tuple(row.values[k] for k in extract.key)
        assert key not in keys
        keys.add(key)
        if extract.parent:
            assert cells["incident_id"] in parent


def test_write_extract_rows_rejects_other_formats(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="CSV only"):
        write_extract_rows("la_cp_plans", 10, tmp_path / "x.xlsx", quarter=FIRST)
