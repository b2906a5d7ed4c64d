"""The errors planted on purpose: each file's rows given exactly one defect each, as listed.

Planted errors: ~1% of each file's rows (never more than 2% of a file, so none in files under
50 rows), each with exactly one defect, cycling through every row rule that applies to the
extract, plus one duplicate key per period across two files of a split submission (the copy
in the later file). Duplicates are extra rows (a record sent twice, or another record given
its key), so every record is still sent. Impossible dates are only planted where no other rule
could also fire (``reported_at`` of incidents, ``referral_date``); incidents with children
present are never planted, so child rows stay linked. Each error is listed in
``<raw>/_demo/planted_errors.csv`` with the row number a person sees in the spreadsheet.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pipelines.config import TEES_LAS
from pipelines.contract import Extract, load_contract
from pipelines.demo.world import seeded_rng
from pipelines.periods import Quarter
from pipelines.rules import RowRule

PLANT_SHARE, MAX_PLANT_SHARE = 0.01, 0.02
# The blanks an optional value may come as (the contract's missing tokens), in the order drawn.
MISSING_TOKENS = ("", "N/A", "NULL", "NA", "-")


@dataclass
class ExtractFile:
    """One file being written: typed values by column, text overrides, planted errors."""

    extract: Extract
    label: str
    cols: dict[str, np.ndarray]
    n: int
    overrides: dict[tuple[int, str], str | None] = field(default_factory=dict)
    planted: list[tuple[int, str, RowRule, str]] = field(default_factory=list)
    protected: set[int] = field(default_factory=set)  # rows another file's planted error relies on
    inserts: list[tuple[int, dict[str, object]]] = field(default_factory=list)  # (after row, copy)

    def row(self, i: int) -> dict[str, object]:
        return {column: values[i] for column, values in self.cols.items()}

    def apply_inserts(self) -> None:
        """Insert the duplicate rows; renumber planted errors and overrides to match."""
        if not self.inserts:
            return
        after = sorted(self.inserts, key=lambda item: item[0])
        order, new_index, position = [], {}, 0
        for r in range(self.n):
            new_index[r] = len(order)
            order.append(r)
            while position < len(after) and after[position][0] == r:
                self.planted.append((len(order), self.extract.key[0], RowRule.DUPLICATE_KEY, "quarantine"))
                order.append(self.n + position)
                position += 1
        planted = [(new_index[i], *rest) for i, *rest in self.planted if rest[1] is not RowRule.DUPLICATE_KEY]
        self.planted = sorted(planted + [p for p in self.planted if p[2] is RowRule.DUPLICATE_KEY])
        self.overrides = {(new_index[i], c): v for (i, c), v in self.overrides.items()}
        for column, values in self.cols.items():
            extra = np.array([copy[column] for _, copy in after], dtype=values.dtype)
            self.cols[column] = np.concatenate([values, extra])[order]
        self.n, self.inserts = len(order), []

    def present(self, i: int, column: str) -> bool:
        value = self.cols[column][i]
        return not (value is None or (isinstance(value, np.datetime64) and np.isnat(value)))


_BAD_DATES = ["31/02/{y}", "{y}-13-01", "3rd Oct", "10/31/{y}", "{y}-02-30", "31/04/{y}", "{y}/06/15"]
_BAD_TIMES = [" 14:05", " 09:30", "", " 10:61"]
_IMPOSSIBLE = ["1899-12-31", "01/01/1900", "1999-12-31", "1900-01-01"]
_BAD_CODES = ["X", "?", "9", "UNK", "Yes", "No", "Z1"]
_BAD_LA = [next(iter(TEES_LAS.values())), "E0600001", "W06000015", "E10000023", "00EB"]  # a name, not a code
_IMPOSSIBLE_DATE_COLUMNS = {"police_da_incidents": "reported_at", "health_treatment_episodes": "referral_date"}


def _dependents(extract: Extract, column: str) -> list[str]:
    out, todo = [], [column]
    while todo:
        current = todo.pop()
        for c in extract.columns:
            if c.not_before == current:
                out.append(c.name)
                todo.append(c.name)
    return out


def _choose(rng: np.random.Generator, options: list):  # noqa: ANN202 - any element type
    return options[int(rng.integers(len(options)))]


def _unparseable_date(f: ExtractFile, i: int, q: Quarter, rng: np.random.Generator) -> tuple[str, str] | None:
    column = _choose(rng, [c for c in f.extract.columns if c.type in ("date", "datetime") and f.present(i, c.name)])
    text = _choose(rng, _BAD_DATES).format(y=q.start_date.year)
    f.overrides[i, column.name] = text + (_choose(rng, _BAD_TIMES) if column.type == "datetime" else "")
    return column.name, "quarantine"


def _impossible_date(f: ExtractFile, i: int, q: Quarter, rng: np.random.Generator) -> tuple[str, str] | None:
    column = f.extract.column(_IMPOSSIBLE_DATE_COLUMNS[f.extract.name])
    f.overrides[i, column.name] = _choose(rng, _IMPOSSIBLE) + (" 00:00" if column.type == "datetime" else "")
    return column.name, "quarantine"


def _unknown_code(f: ExtractFile, i: int, q: Quarter, rng: np.random.Generator) -> tuple[str, str] | None:
    column = _choose(rng, [c for c in f.extract.columns if c.type in ("code", "la_code") and f.present(i, c.name)])
    bad = [b for b in (_BAD_LA if column.type == "la_code" else _BAD_CODES) if b.upper() not in column.codes]
    f.overrides[i, column.name] = _choose(rng, bad)
    return column.name, "quarantine"


def _required_missing(f: ExtractFile, i: int, q: Quarter, rng: np.random.Generator) -> tuple[str, str] | None:
    ext = f.extract
    options = [c.name for c in ext.columns if c.required and c.name not in ext.key]
    options += [c.name for c in ext.columns if c.required_when and f.present(i, c.required_when)]
    column = _choose(rng, options)
    f.overrides[i, column] = _choose(rng, list(MISSING_TOKENS))
    return column, "quarantine"


def _dob_after_event(f: ExtractFile, i: int, q: Quarter, rng: np.random.Generator) -> tuple[str, str] | None:
    ext = f.extract
    compared = f.cols["_event" if ext.parent else ext.date_compared_with_dob][i].astype("datetime64[D]")
    after = int(rng.integers(ext.unborn_days + 1, ext.unborn_days + 120))
    f.cols["dob"][i] = (compared + np.timedelta64(after, "D")).astype("datetime64[s]")
    return "dob", "quarantine"


def _event_after_period(f: ExtractFile, i: int, q: Quarter, rng: np.random.Generator) -> tuple[str, str] | None:
    """Move the event (and the dates that must follow it) to 1-45 days after the period."""
    event = f.extract.event_date or ""
    target = (np.datetime64(q.end_date) + np.timedelta64(int(rng.integers(1, 46)), "D")).astype("datetime64[s]")
    if not f.present(i, event):  # an in-progress assessment "completed" in the future
        f.cols[event][i] = target
        return event, "quarantine"
    shift = target - f.cols[event][i].astype("datetime64[D]")
    for column in [event, *_dependents(f.extract, event)]:
        if f.present(i, column):
            f.cols[column][i] = f.cols[column][i] + shift
    return event, "quarantine"


def _end_before_start(f: ExtractFile, i: int, q: Quarter, rng: np.random.Generator) -> tuple[str, str] | None:
    pairs = [c for c in f.extract.columns if c.not_before and f.present(i, c.not_before)]
    if not pairs:
        return None
    column = _choose(rng, pairs)
    start = f.cols[column.not_before][i]
    time_of_day = start - start.astype("datetime64[D]") if column.type == "datetime" else np.timedelta64(0, "s")
    f.cols[column.name][i] = start.astype("datetime64[D]") - np.timedelta64(int(rng.integers(1, 31)), "D") + time_of_day
    for c in f.extract.columns:  # a discharge needs its reason, or the row would have two defects
        if c.required_when == column.name and not f.present(i, c.name):
            f.cols[c.name][i] = "COMPLETED"
    return column.name, "quarantine"


def _orphan(f: ExtractFile, i: int, q: Quarter, rng: np.random.Generator) -> tuple[str, str] | None:
    column = f.extract.parent.on if f.extract.parent else ""
    f.cols[column][i] = f"DA9{int(rng.integers(10**6, 10**7)):07d}"  # real ids never reach DA9...
    return column, "quarantine"


def _invalid_nhs_number(f: ExtractFile, i: int, q: Quarter, rng: np.random.Generator) -> tuple[str, str] | None:
    good = str(f.cols["_nhs"][i])
    f.cols["nhs_number"][i] = good[:9] + str((int(good[9]) + int(rng.integers(1, 10))) % 10)
    return "nhs_number", "quarantine" if f.extract.column("nhs_number").required else "warning"


# How to give a row exactly one defect of each kind (duplicate keys are inserted copies instead).
_PLANTERS = {RowRule.UNPARSEABLE_DATE: _unparseable_date, RowRule.IMPOSSIBLE_DATE: _impossible_date,
             RowRule.UNKNOWN_CODE: _unknown_code, RowRule.REQUIRED_MISSING: _required_missing,
             RowRule.DOB_AFTER_EVENT: _dob_after_event, RowRule.EVENT_AFTER_PERIOD: _event_after_period,
             RowRule.END_BEFORE_START: _end_before_start, RowRule.ORPHAN: _orphan,
             RowRule.INVALID_NHS_NUMBER: _invalid_nhs_number}


def _rules_for(extract: Extract) -> list[RowRule]:
    """The row rules a planted error can break in this extract, in the contract's order."""
    applies = {RowRule.IMPOSSIBLE_DATE: extract.name in _IMPOSSIBLE_DATE_COLUMNS,
               RowRule.INVALID_NHS_NUMBER: "nhs_number" in extract.column_names,
               RowRule.END_BEFORE_START: any(c.not_before for c in extract.columns),
               RowRule.DOB_AFTER_EVENT: extract.dob_column is not None,
               RowRule.EVENT_AFTER_PERIOD: extract.event_date is not None,
               RowRule.ORPHAN: extract.parent is not None}
    return [rule for rule in RowRule if applies.get(rule, True)]


def _plantable_rows(f: ExtractFile) -> np.ndarray:
    """Rows that may carry (or be the source of) a planted error."""
    ok = np.ones(f.n, dtype=bool)
    if "_has_children" in f.cols:  # keep child rows linked to clean incidents
        ok &= ~f.cols["_has_children"].astype(bool)
    ok[sorted(f.protected | {p[0] for p in f.planted})] = False
    return np.flatnonzero(ok)


class Planter:
    """Plants errors in each file, cycling through the rules that apply to each extract."""

    def __init__(self, seed: int) -> None:
        self.seed, self.position = seed, {name: 0 for name in load_contract()}

    def plant_file(self, f: ExtractFile, q: Quarter) -> None:
        rng = seeded_rng(self.seed, "plant", q.folder_id, f.extract.name, f.label)
        target = min(int(f.n * MAX_PLANT_SHARE), int(rng.binomial(f.n, PLANT_SHARE))) - len(f.inserts)
        rows = _plantable_rows(f)
        if target <= 0 or len(rows) < 2 * target:
            f.apply_inserts()
            return
        chosen = np.sort(rng.choice(rows, size=target, replace=False))
        clean = np.setdiff1d(rows, chosen)
        rules = _rules_for(f.extract)
        for i in chosen.tolist():
            for attempt in range(len(rules)):
                rule = rules[(self.position[f.extract.name] + attempt) % len(rules)]
                if rule is RowRule.DUPLICATE_KEY:  # row i stays as it is; a copy follows it
                    f.inserts.append((i, self._copy(f, i, clean, rng)))
                    break
                planted = _PLANTERS[rule](f, i, q, rng)
                if planted:
                    f.planted.append((i, planted[0], rule, planted[1]))
                    break
            self.position[f.extract.name] += 1
        f.apply_inserts()

    @staticmethod
    def _copy(f: ExtractFile, i: int, clean: np.ndarray, rng: np.random.Generator) -> dict[str, object]:
        """Row i sent twice, or (half the time) another record given row i's key by mistake."""
        copy = f.row(i)
        if not f.extract.parent and len(clean) and rng.random() < 0.5:
            copy = f.row(int(clean[int(rng.integers(len(clean)))])) | {k: copy[k] for k in f.extract.key}
        return copy

    def cross_file_duplicate(self, earlier: ExtractFile, later: ExtractFile, q: Quarter) -> bool:
        """Send a clean record of the earlier file again in the later one (e.g. by both LAs)."""
        if int(later.n * MAX_PLANT_SHARE) < 1:
            return False
        rng = seeded_rng(self.seed, "cross", q.folder_id, later.extract.name)
        src, dst = _plantable_rows(earlier), _plantable_rows(later)
        if not len(src) or not len(dst):
            return False
        i, j = int(src[int(rng.integers(len(src)))]), int(dst[int(rng.integers(len(dst)))])
        copy = earlier.row(i)
        if later.extract.source == "la":
            copy["la_code"] = later.cols["la_code"][j]
        later.inserts.append((j, copy))
        later.protected.add(j)
        earlier.protected.add(i)
        return True
