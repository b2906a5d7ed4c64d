"""Checks made before a refresh reads any extract: settings, key, LAs, reference files.

A typo in a setting or a plan file would otherwise surface a minute later as a traceback, or
never (a workbook of grey "no data"). Each problem is data (``Problem``: where, which field,
what is wrong); all of them are collected and raised together as one ``PreflightFailed``.
Problems with input files (the reference CSVs, the raw folder, ``--period``) make the refresh
exit 2; problems with settings or the key exit 1.
"""

from __future__ import annotations

import csv
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from pydantic import ValidationError

from pipelines import pseudonymise
from pipelines.config import CONFIG_FILE, Settings
from pipelines.contract import LA_CODE_PATTERN
from pipelines.indicators import load_registry
from pipelines.periods import Quarter

# Problems shown per reference file; the rest are counted (a wrong file can have thousands).
MAX_PROBLEMS_PER_FILE = 50
PLANS = ("work_plan", "scr_action_plan")
DUE_KINDS = ("date", "ongoing", "continuous")
RAGS = ("green", "amber", "red", "grey")
WORK_PLAN_COLUMNS = ("line_id", "plan", "section", "objective", "text", "due_date", "due_kind",
                     "indicator_codes", "baseline_period")
UPDATE_COLUMNS = ("line_id", "rag", "commentary", "updated_by", "updated_on")
POPULATION_COLUMNS = ("la_code", "year", "age", "persons")


@dataclass(frozen=True)
class Problem:
    """One thing wrong: ``source`` (a file, an option, an environment variable), ``line`` in
    that file when it has lines, ``field`` (column or setting) and what is wrong."""

    source: str
    field: str
    message: str
    line: int | None = None
    is_input: bool = False

    def __str__(self) -> str:
        where = f"{self.source}, line {self.line}" if self.line is not None else self.source
        return f"{where}, {self.field}: {self.message}"


class PreflightFailed(Exception):
    """Problems found before any extract was read (nothing was published)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = [f"{len(problems)} problem(s) found before reading any extract; nothing was published:"]
        super().__init__("\n".join([*lines, *[f"  {problem}" for problem in problems]]))

    @property
    def is_input(self) -> bool:
        """Every problem is with input files (exit 2); otherwise settings or key (exit 1)."""
        return all(problem.is_input for problem in self.problems)


def load_checked_settings(
    path: Path | None = None,
    *,
    board_la_code: str | None = None,
    raw_dir: Path | None = None,
    period: str | None = None,
) -> Settings:
    """The settings, with every check of this module made; raises ``PreflightFailed``."""
    settings, problems = read_settings(path, board_la_code=board_la_code)
    problems += run_problems(settings, raw_dir, period, origin=_Origin(path, board_la_code))
    if problems:
        raise PreflightFailed(problems)
    return settings


def check_run(settings: Settings, raw_dir: Path | None = None, period: str | None = None) -> None:
    """The checks that need only loaded settings (the flow calls this before intake)."""
    problems = run_problems(settings, raw_dir, period, origin=_Origin(None, None))
    if problems:
        raise PreflightFailed(problems)


def run_problems(settings: Settings, raw_dir: Path | None, period: str | None, *, origin: _Origin) -> list[Problem]:
    return [
        *key_problems(),
        *la_problems(settings, origin),
        *reference_problems(settings),
        *raw_problems(raw_dir, period),
    ]


# --- settings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Origin:
    """Where settings came from, to name the source of a problem."""

    config: Path | None
    board_la_override: str | None

    def source(self, key: str) -> tuple[str, int | None]:
        if key == "board_la_code" and self.board_la_override is not None:
            return "--board-la", None
        path = self.config or CONFIG_FILE
        line = _toml_line(path, key) if path.is_file() else None
        return (str(path), line) if line is not None else ("settings (default)", None)


def read_settings(path: Path | None, *, board_la_code: str | None = None) -> tuple[Settings, list[Problem]]:
    """Settings from ``path`` (default ``pmf.toml``, optional); a bad value is reported and its
    default used, so that the other checks still run."""
    problems: list[Problem] = []
    values: dict = {}
    config = path or CONFIG_FILE
    if path is not None and not path.is_file():
        problems.append(Problem(str(path), "--config", "settings file does not exist"))
    elif config.is_file():
        try:
            with open(config, "rb") as handle:
                values = tomllib.load(handle)
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            match = re.search(r"\(at line (\d+), column \d+\)", str(error))
            problems.append(Problem(str(config), "TOML syntax", str(error), int(match[1]) if match else None))
    overrides = {"board_la_code": board_la_code} if board_la_code is not None else {}
    values.update(overrides)
    while True:
        try:
            return Settings(**values), sorted(problems, key=lambda p: (p.source, p.line or 0))
        except ValidationError as error:
            bad = set()
            for detail in error.errors():
                key = str(detail["loc"][0]) if detail["loc"] else ""
                bad.add(key)
                name = ".".join(str(part) for part in detail["loc"])
                message = detail["msg"].removeprefix("Value error, ")
                if detail["type"] == "extra_forbidden":
                    message = "unknown setting (see pipelines/config.py for the settings there are)"
                if key in overrides:
                    problems.append(Problem("--board-la", name, message))
                else:
                    problems.append(Problem(str(config), name, message, _toml_line(config, key)))
            values = {key: value for key, value in values.items() if key not in bad}
            if not bad:
                raise


def _toml_line(path: Path, key: str) -> int | None:
    """The line where a top-level ``key = ...`` (or ``[key]`` table) starts, if it can be found."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    pattern = re.compile(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\")\s*=|^\s*\[\s*{re.escape(key)}\s*\]")
    for number, line in enumerate(text.splitlines(), start=1):
        if pattern.match(line):
            return number
    return None


# --- key and LAs -------------------------------------------------------------------------------


def key_problems() -> list[Problem]:
    """The pseudonymisation key is there and long enough (its value is never shown)."""
    try:
        pseudonymise.load_key()
    except pseudonymise.KeyProblem as problem:
        return [Problem(problem.source, "pseudonymisation key", problem.message)]
    except OSError as error:
        return [Problem(str(error.filename or "key file"), "pseudonymisation key", f"cannot be read or created ({error.strerror})")]
    return []


def la_problems(settings: Settings, origin: _Origin) -> list[Problem]:
    """The board LA and comparators are ONS LA codes with population estimates."""
    problems = []
    known = _population_las(settings.reference_dir / "population.csv")
    named = [("board_la_code", settings.board_la_code)]
    named += [("comparator_la_codes", code) for code in settings.comparator_la_codes]
    for key, code in named:
        source, line = origin.source(key)
        if not re.match(LA_CODE_PATTERN, code):
            problems.append(Problem(source, key, f"{code!r} is not an ONS LA code (E06, E07, E08 or E09 and 6 digits)", line))
        elif known is not None and code not in known:
            problems.append(Problem(
                source, key,
                f"{code} has no population estimates in {settings.reference_dir / 'population.csv'} "
                f"(LAs there: {', '.join(sorted(known))}); its rates per 10,000 could not be computed",
                line,
            ))
    return problems  # comparator_la_codes may include the board LA: v2's Tees figure sums all four


def _population_las(path: Path) -> set[str] | None:
    try:
        return {row.get("la_code", "").strip() for _, row in _rows(path)}
    except (OSError, UnicodeDecodeError, csv.Error):
        return None  # reported by reference_problems


# --- reference files ---------------------------------------------------------------------------


def reference_problems(settings: Settings) -> list[Problem]:
    folder = settings.reference_dir
    if not folder.is_dir():
        return [Problem(str(folder), "reference_dir", "folder does not exist (run `pmf demo` for demo data)", is_input=True)]
    problems = []
    problems += _capped(folder / "population.csv", _population_problems)
    problems += _capped(folder / "work_plan.csv", _work_plan_problems)
    line_ids = _line_ids(folder / "work_plan.csv")
    problems += _capped(folder / "plan_line_updates.csv", lambda path: _update_problems(path, line_ids))
    return problems


def _capped(path: Path, check) -> list[Problem]:
    if not path.is_file():
        return [Problem(str(path), "file", "reference file does not exist", is_input=True)]
    try:
        found = list(check(path))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        return [Problem(str(path), "file", f"cannot be read as UTF-8 CSV ({error})", is_input=True)]
    if len(found) > MAX_PROBLEMS_PER_FILE:
        more = len(found) - MAX_PROBLEMS_PER_FILE
        found = [*found[:MAX_PROBLEMS_PER_FILE], Problem(str(path), "file", f"and {more} more problem(s) in this file", is_input=True)]
    return found


def _rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """(line number where the record starts, row) for each data row; the header is line 1."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        reader.fieldnames  # reads the header
        last = reader.line_num
        for row in reader:
            yield last + 1, {key: (value or "").strip() for key, value in row.items() if key is not None}
            last = reader.line_num


def _header_problems(path: Path, required: tuple[str, ...]) -> list[Problem]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        header = next(csv.reader(handle), [])
    missing = [column for column in required if column not in [cell.strip() for cell in header]]
    return [Problem(str(path), column, "missing required column", 1, is_input=True) for column in missing]


def _population_problems(path: Path) -> Iterator[Problem]:
    header = _header_problems(path, POPULATION_COLUMNS)
    yield from header
    if header:
        return
    for line, row in _rows(path):
        if not re.match(LA_CODE_PATTERN, row["la_code"]):
            yield Problem(str(path), "la_code", f"{row['la_code']!r} is not an ONS LA code", line, is_input=True)
        for column in ("year", "age", "persons"):
            if not row[column].isdigit():
                yield Problem(str(path), column, f"{row[column]!r} is not a whole number", line, is_input=True)


def _work_plan_problems(path: Path) -> Iterator[Problem]:
    header = _header_problems(path, WORK_PLAN_COLUMNS)
    yield from header
    if header:
        return
    registry = load_registry()
    seen: dict[str, int] = {}

    def problem(field: str, message: str, line: int) -> Problem:
        return Problem(str(path), field, message, line, is_input=True)

    for line, row in _rows(path):
        line_id = row["line_id"]
        if not line_id:
            yield problem("line_id", "blank", line)
        elif line_id in seen:
            yield problem("line_id", f"{line_id} is also on line {seen[line_id]}", line)
        seen.setdefault(line_id, line)
        if row["plan"] not in PLANS:
            yield problem("plan", f"{row['plan']!r} must be one of {', '.join(PLANS)}", line)
        codes = [code.strip() for code in row["indicator_codes"].split(";") if code.strip()]
        for code in codes:
            if code not in registry:
                yield problem("indicator_codes", f"{code!r} is not an indicator in the registry "
                                                 f"(pipelines/indicators.toml: {', '.join(registry)})", line)
        baseline = row["baseline_period"]
        if baseline:
            try:
                label = Quarter.parse(baseline).label
            except ValueError as error:
                yield problem("baseline_period", str(error), line)
            else:
                if label != baseline:
                    yield problem("baseline_period", f"{baseline!r} must be written {label!r}", line)
        if row["due_kind"] not in DUE_KINDS:
            yield problem("due_kind", f"{row['due_kind']!r} must be one of {', '.join(DUE_KINDS)}", line)
        if row["due_date"]:
            if not _is_iso_date(row["due_date"]):
                yield problem("due_date", f"{row['due_date']!r} is not a date written YYYY-MM-DD", line)
        elif row["due_kind"] == "date":
            yield problem("due_date", "blank, but due_kind is 'date'", line)


def _line_ids(path: Path) -> set[str] | None:
    try:
        return {row.get("line_id", "") for _, row in _rows(path)}
    except (OSError, UnicodeDecodeError, csv.Error):
        return None


def _update_problems(path: Path, line_ids: set[str] | None) -> Iterator[Problem]:
    header = _header_problems(path, UPDATE_COLUMNS)
    yield from header
    if header:
        return
    seen: dict[str, int] = {}
    for line, row in _rows(path):
        line_id = row["line_id"]
        if line_ids is not None and line_id not in line_ids:
            yield Problem(str(path), "line_id", f"{line_id!r} is not a line of work_plan.csv", line, is_input=True)
        elif line_id in seen:
            yield Problem(str(path), "line_id", f"{line_id} is also on line {seen[line_id]}", line, is_input=True)
        seen.setdefault(line_id, line)
        if row["rag"] and row["rag"].lower() not in RAGS:
            yield Problem(str(path), "rag", f"{row['rag']!r} must be green, amber, red or grey", line, is_input=True)
        if row["updated_on"] and not _is_iso_date(row["updated_on"]):
            yield Problem(str(path), "updated_on", f"{row['updated_on']!r} is not a date written YYYY-MM-DD", line, is_input=True)


def _is_iso_date(text: str) -> bool:
    try:
        return bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", text)) and date.fromisoformat(text) is not None
    except ValueError:
        return False


# --- raw input ---------------------------------------------------------------------------------


def raw_problems(raw_dir: Path | None, period: str | None) -> list[Problem]:
    if raw_dir is None:
        return []
    if not raw_dir.is_dir():
        return [Problem(str(raw_dir), "--raw-dir", "raw directory does not exist (run `pmf demo` to create demo extracts)", is_input=True)]
    if period is None:
        return []
    try:
        quarter = Quarter.parse(period)
    except ValueError as error:
        return [Problem("--period", "period", str(error), is_input=True)]
    if not (raw_dir / quarter.folder_id).is_dir():
        return [Problem("--period", "period", f"{quarter.label}: there is no folder {quarter.folder_id} in {raw_dir}", is_input=True)]
    return []
