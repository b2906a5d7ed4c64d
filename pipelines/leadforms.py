"""Lead update forms: one XLSX per plan lead for the lines no indicator evidences, and their import.

``write_forms`` gives each lead a workbook of their lines (line text, due date, current RAG and
commentary, from ``work_plan.csv`` and ``plan_line_updates.csv``). RAG is a drop-down; only RAG,
commentary, "Updated by" and "Updated on" are unlocked, every other cell is protected.

``import_forms`` reads returned forms and updates ``plan_line_updates.csv``, each line's
``updated_by`` / ``updated_on`` taken from the form. A form is applied whole or not at all: any
problem (an unknown line, a line of another lead, a bad RAG, an edited protected cell, a blank
"Updated by"/"Updated on") gets one message naming the file, row and column, and that form is not
applied, so nothing the lead sent is half-taken. Forms dropped in ``<reference>/lead-updates/``
are imported by ``pmf lead-updates import`` (no files named) and at the start of every refresh;
an applied form moves to ``lead-updates/imported/``, a form with problems stays where it is.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.periods import Quarter

if TYPE_CHECKING:
    import openpyxl

RAGS = ("green", "amber", "red", "grey")
FORMS_FOLDER = "lead-forms"  # under <marts-dir>
INBOX_FOLDER = "lead-updates"  # under the reference folder
IMPORTED_FOLDER = "imported"  # under the inbox
SHEET = "Update"
NO_LEAD = "HSCB (no lead named in the plan)"
UPDATE_COLUMNS = ["line_id", "rag", "commentary", "updated_by", "updated_on"]

# The form's cells, found by their labels (column A for the header block, the table's header row).
LEAD, PERIOD, UPDATED_BY, UPDATED_ON = "Lead", "Period", "Updated by", "Updated on"
COLUMNS = {  # table column label -> what it holds
    "Line": "line_id",
    "Plan": "plan",
    "Section": "section",
    "What the plan says": "text",
    "Due": "due",
    "RAG": "rag",
    "Commentary": "commentary",
}
EDITABLE = ("RAG", "Commentary")

_EDIT_COLOUR, _LOCKED_COLOUR = "FFF2CC", "EDEDED"


@dataclass(frozen=True)
class PlanLine:
    line_id: str
    plan: str
    section: str
    text: str
    lead: str
    due: str  # ISO due date, or the timescale as written when there is none (``Ongoing``)
    rag: str
    commentary: str


@dataclass
class ImportOutcome:
    applied: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # one message per problem, naming file, row, column
    lines_updated: int = 0


# --------------------------------------------------------------------------- reference data


def lead_of(row: dict[str, str]) -> str:
    return (row.get("lead") or "").strip() or NO_LEAD


def load_lines(reference_dir: Path) -> list[PlanLine]:
    """Every line ``plan_line_updates.csv`` holds, with its plan text, lead and current status."""
    plan = {row["line_id"]: row for row in _read_csv(reference_dir / "work_plan.csv")}
    lines = []
    for update in _read_csv(reference_dir / "plan_line_updates.csv"):
        line = plan.get(update["line_id"])
        if line is None:
            raise ValueError(f"{reference_dir / 'plan_line_updates.csv'}: line {update['line_id']} is not in work_plan.csv")
        lines.append(PlanLine(
            line_id=line["line_id"], plan=line["plan"], section=line["section"], text=line["text"], lead=lead_of(line),
            due=line["due_date"] or line["timescale"], rag=update["rag"], commentary=update["commentary"],
        ))
    return lines


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def form_file_name(lead: str, period: Quarter) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", lead.lower()).strip("-")
    if len(slug) > 60:  # whole words, and a short hash so that long names sharing a start stay apart
        slug = slug[:61].rsplit("-", 1)[0] + "-" + hashlib.sha256(lead.encode()).hexdigest()[:6]
    return f"lead-form-{period.folder_id}-{slug}.xlsx"


# --------------------------------------------------------------------------- writing forms


def write_forms(reference_dir: Path, out_dir: Path, period: Quarter) -> list[Path]:
    """One form per lead in ``out_dir`` (replacing that period's earlier forms); returns the paths."""
    by_lead: dict[str, list[PlanLine]] = {}
    for line in load_lines(reference_dir):
        by_lead.setdefault(line.lead, []).append(line)
    out_dir.mkdir(parents=True, exist_ok=True)
    names: set[str] = set()
    written = []
    for lead in sorted(by_lead):
        name = form_file_name(lead, period)
        if name in names:
            raise ValueError(f"two leads give the same form name {name}: {lead!r}")
        names.add(name)
        path = out_dir / name
        temporary = path.with_suffix(".xlsx.tmp")
        _form(lead, period, by_lead[lead]).save(temporary)
        os.replace(temporary, path)
        written.append(path)
    return written


def _form(lead: str, period: Quarter, lines: list[PlanLine]) -> openpyxl.Workbook:
    import openpyxl  # only where a form is written or read: a refresh with no forms to import skips it
    from openpyxl.styles import Alignment, Font, PatternFill, Protection
    from openpyxl.worksheet.datavalidation import DataValidation

    unlocked = Protection(locked=False)
    edit_fill, locked_fill = PatternFill("solid", fgColor=_EDIT_COLOUR), PatternFill("solid", fgColor=_LOCKED_COLOUR)
    workbook = openpyxl.Workbook()
    ws = workbook.active
    ws.title = SHEET
    ws["A1"] = f"HSCB plan line update — {period.label}"
    ws["A1"].font = Font(bold=True, size=14)
    ws["A2"] = ("For each line choose a RAG (green, amber, red or grey) from the drop-down and write your commentary; "
                "fill in Updated by and Updated on, then return this file to the HSCB business manager. "
                "Only the yellow cells can be changed.")
    ws["A2"].alignment = Alignment(wrap_text=True, vertical="top")
    ws.merge_cells("A2:G2")
    ws.row_dimensions[2].height = 45
    for row, (label, value) in enumerate([(LEAD, lead), (PERIOD, period.label), (UPDATED_BY, None), (UPDATED_ON, None)], start=4):
        ws.cell(row, 1, label).font = Font(bold=True)
        cell = ws.cell(row, 2, value)
        if label in (UPDATED_BY, UPDATED_ON):
            cell.protection, cell.fill = unlocked, edit_fill
        if label == UPDATED_ON:
            cell.number_format = "yyyy-mm-dd"
            dates = DataValidation(type="date", operator="greaterThan", formula1="DATE(2017,1,1)", allow_blank=True,
                                   showErrorMessage=True, errorTitle="Updated on", error="Enter a date, e.g. 2019-04-12")
            ws.add_data_validation(dates)
            dates.add(cell)
    header_row = 9
    for column, label in enumerate(COLUMNS, start=1):
        ws.cell(header_row, column, label).font = Font(bold=True)
    rag_column = list(COLUMNS).index("RAG") + 1
    rags = DataValidation(type="list", formula1='"' + ",".join(RAGS) + '"', allow_blank=False, showDropDown=False,
                          showErrorMessage=True, errorTitle="RAG", error="Choose green, amber, red or grey")
    ws.add_data_validation(rags)
    for row, line in enumerate(lines, start=header_row + 1):
        values = {"Line": line.line_id, "Plan": line.plan, "Section": line.section, "What the plan says": line.text,
                  "Due": _due_value(line.due), "RAG": line.rag, "Commentary": line.commentary}
        for column, label in enumerate(COLUMNS, start=1):
            cell = ws.cell(row, column, values[label])
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if label in EDITABLE:
                cell.protection, cell.fill = unlocked, edit_fill
            else:
                cell.fill = locked_fill
            if label == "Due" and isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    rags.add(f"{openpyxl.utils.get_column_letter(rag_column)}{header_row + 1}:"
             f"{openpyxl.utils.get_column_letter(rag_column)}{header_row + len(lines)}")
    widths = dict(zip(COLUMNS, (14, 16, 28, 60, 12, 10, 60), strict=True))
    for column, label in enumerate(COLUMNS, start=1):
        ws.column_dimensions[openpyxl.utils.get_column_letter(column)].width = widths[label]
    for row, line in enumerate(lines, start=header_row + 1):  # tall enough for the wrapped text
        text_lines = max(math.ceil(len(text) / (widths[label] * 1.1)) for label, text in
                         (("What the plan says", line.text), ("Section", line.section), ("Commentary", line.commentary or " ")))
        ws.row_dimensions[row].height = 15 * max(2, text_lines)
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{header_row}:{header_row}"
    ws.freeze_panes = ws.cell(header_row + 1, 1)
    ws.protection.sheet = True  # no password: the business manager can unprotect it in Excel
    ws.protection.formatRows = False  # rows may be resized to read long commentary
    return workbook


def _due_value(due: str) -> date | str:
    try:
        return date.fromisoformat(due)
    except ValueError:
        return due


# --------------------------------------------------------------------------- importing forms


def inbox(reference_dir: Path) -> Path:
    return reference_dir / INBOX_FOLDER


def pending_forms(reference_dir: Path) -> list[Path]:
    folder = inbox(reference_dir)
    return sorted(p for p in folder.glob("*.xlsx") if not p.name.startswith("~$")) if folder.is_dir() else []


def import_inbox(reference_dir: Path) -> ImportOutcome:
    """Import every form in ``<reference>/lead-updates/``; applied ones move to ``imported/``."""
    forms = pending_forms(reference_dir)
    outcome = import_forms(forms, reference_dir) if forms else ImportOutcome()
    done = inbox(reference_dir) / IMPORTED_FOLDER
    for path in outcome.applied:
        done.mkdir(exist_ok=True)
        shutil.move(path, done / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{path.name}")
    return outcome


def import_forms(paths: Iterable[Path], reference_dir: Path) -> ImportOutcome:
    """Apply each form that has no problem to ``plan_line_updates.csv`` (in the order given)."""
    lines = {line.line_id: line for line in load_lines(reference_dir)}
    plan_ids = {row["line_id"] for row in _read_csv(reference_dir / "work_plan.csv")}
    updates_path = reference_dir / "plan_line_updates.csv"
    rows = _read_csv(updates_path)
    by_id = {row["line_id"]: row for row in rows}
    outcome = ImportOutcome()
    for path in paths:
        changes, problems = read_form(path, lines, plan_ids)
        if problems:
            outcome.problems += problems
            continue
        for change in changes:
            by_id[change["line_id"]].update(change)
        outcome.applied.append(path)
        outcome.lines_updated += len(changes)
    if outcome.applied:
        _write_updates(updates_path, rows)
    return outcome


def read_form(path: Path, lines: dict[str, PlanLine], plan_ids: set[str]) -> tuple[list[dict[str, str]], list[str]]:
    """The updates a returned form makes and every problem with it (``file: row N, column C: ...``)."""
    import openpyxl

    where = path.name
    try:
        workbook = openpyxl.load_workbook(path, data_only=True)
    except Exception as error:  # not a workbook at all: one message, the file stays
        return [], [f"{where}: cannot be read as an XLSX workbook ({error})"]
    if SHEET not in workbook.sheetnames:
        return [], [f"{where}: has no sheet '{SHEET}' (is it a pmf lead update form?)"]
    ws = workbook[SHEET]
    problems: list[str] = []
    meta = {str(ws.cell(row, 1).value).strip(): (row, ws.cell(row, 2).value) for row in range(1, 9) if ws.cell(row, 1).value}
    header_row = next((row for row in range(1, 20) if ws.cell(row, 1).value == "Line"), None)
    missing = [label for label in (LEAD, PERIOD, UPDATED_BY, UPDATED_ON) if label not in meta]
    if header_row is None or missing:
        gone = [*missing, *(["the table header 'Line'"] if header_row is None else [])]
        return [], [f"{where}: protected cells were edited: cannot find {', '.join(gone)} (send the lead a new form)"]
    headers = {str(ws.cell(header_row, column).value).strip(): column
               for column in range(1, ws.max_column + 1) if ws.cell(header_row, column).value}
    absent = [label for label in COLUMNS if label not in headers]
    if absent:
        return [], [f"{where}: row {header_row}: protected cells were edited: no column {', '.join(absent)} (send the lead a new form)"]

    known_leads = {line.lead for line in lines.values()}
    lead_row, lead = meta[LEAD]
    lead = str(lead or "").strip()
    if lead not in known_leads:
        problems.append(f"{where}: row {lead_row}, column B ({LEAD}): protected cell edited: {lead!r} is not a lead in work_plan.csv")
    by_row, by = meta[UPDATED_BY]
    updated_by = str(by or "").strip()
    if not updated_by:
        problems.append(f"{where}: row {by_row}, column B ({UPDATED_BY}): blank; say who updated the lines")
    on_row, on = meta[UPDATED_ON]
    updated_on = _as_date(on)
    if updated_on is None:
        problems.append(f"{where}: row {on_row}, column B ({UPDATED_ON}): {_shown(on)} is not a date (e.g. 2019-04-12)")

    changes: list[dict[str, str]] = []
    seen: set[str] = set()
    for row in range(header_row + 1, ws.max_row + 1):
        cell = {label: ws.cell(row, headers[label]).value for label in COLUMNS}
        if all(value in (None, "") for value in cell.values()):
            continue
        at = f"{where}: row {row}"
        line_id = str(cell["Line"] or "").strip()
        line = lines.get(line_id)
        if line is None:
            reason = ("is evidenced by an indicator: its status is computed, not entered" if line_id in plan_ids
                      else "is not a line of either plan")
            problems.append(f"{at}, column Line: unknown line: {line_id or 'blank'} {reason}")
            continue
        if line_id in seen:
            problems.append(f"{at}, column Line: line {line_id} appears twice on the form")
            continue
        seen.add(line_id)
        if lead in known_leads and line.lead != lead:
            problems.append(f"{at}, column Line: line {line_id} belongs to another lead ({line.lead}), not {lead}")
            continue
        expected = {"Plan": line.plan, "Section": line.section, "What the plan says": line.text, "Due": line.due}
        for label, value in expected.items():
            if _text(cell[label]) != value:
                problems.append(f"{at}, column {label}: protected cell edited: {_shown(cell[label])}, "
                                f"the plan says {value!r} (change the plan in work_plan.csv, not on the form)")
        rag = _text(cell["RAG"]).lower()
        if rag not in RAGS:
            problems.append(f"{at}, column RAG: {_shown(cell['RAG'])} is not a RAG: choose green, amber, red or grey")
        changes.append({"line_id": line_id, "rag": rag, "commentary": _text(cell["Commentary"]),
                        "updated_by": updated_by, "updated_on": updated_on.isoformat() if updated_on else ""})
    if not changes and not problems:
        problems.append(f"{where}: the form has no lines")
    return changes, problems


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return re.sub(r"\s+", " ", str(value)).strip()


def _shown(value: object) -> str:
    return "blank" if value in (None, "") else repr(_text(value))


def _as_date(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    for form in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, form).date()
        except ValueError:
            pass
    return None


def _write_updates(path: Path, rows: list[dict[str, str]]) -> None:
    """Rewrite ``plan_line_updates.csv`` in one step (a killed import leaves the old file whole)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=UPDATE_COLUMNS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    temporary = path.with_suffix(".csv.tmp")
    temporary.write_text(buffer.getvalue(), encoding="utf-8")
    os.replace(temporary, path)


def default_period(raw_dir: Path, today: date | None = None) -> Quarter:
    """The latest period folder in ``raw_dir`` (the next board pack's quarter), else the last
    quarter that has ended."""
    from pipelines.periods import is_period_folder

    folders = [Quarter.parse(p.name) for p in raw_dir.iterdir() if p.is_dir() and is_period_folder(p.name)] if raw_dir.is_dir() else []
    return max(folders) if folders else Quarter.containing(today or date.today()).shift(-1)
