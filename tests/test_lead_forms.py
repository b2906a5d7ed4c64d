"""Lead update forms: one XLSX per lead, filled in with openpyxl as a lead would, imported into
``plan_line_updates.csv``; each bad form gets its message and changes nothing."""

from __future__ import annotations

import csv
import re
import shutil
from datetime import date
from pathlib import Path

import duckdb
import openpyxl
import pytest

from pipelines import leadforms
from pipelines.cli import main
from pipelines.periods import Quarter
from query_rows import query_rows
from repo_paths import REFERENCE_DIR

PERIOD = Quarter.parse("2018-19 Q1")


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def reference(tmp_path: Path) -> Path:
    folder = tmp_path / "reference"
    folder.mkdir()
    for name in ("work_plan.csv", "plan_line_updates.csv"):
        shutil.copy(REFERENCE_DIR / name, folder / name)
    return folder


@pytest.fixture
def config(tmp_path: Path, reference: Path) -> Path:
    path = tmp_path / "pmf.toml"
    path.write_text(f'reference_dir = "{reference}"\n')
    return path


def _leads(reference: Path) -> dict[str, set[str]]:
    """The lines each lead owns, straight from the two CSVs (blank lead: the board's own line)."""
    plan = {row["line_id"]: row for row in _csv(reference / "work_plan.csv")}
    leads: dict[str, set[str]] = {}
    for update in _csv(reference / "plan_line_updates.csv"):
        lead = plan[update["line_id"]]["lead"].strip() or leadforms.NO_LEAD
        leads.setdefault(lead, set()).add(update["line_id"])
    return leads


class Form:
    """A form as a lead sees it: the header block by label, the table by column header."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.book = openpyxl.load_workbook(path)
        self.ws = self.book[leadforms.SHEET]
        self.header_row = next(r for r in range(1, 30) if self.ws.cell(r, 1).value == "Line")
        self.columns = {self.ws.cell(self.header_row, c).value: c for c in range(1, self.ws.max_column + 1)}

    def meta_cell(self, label: str):
        row = next(r for r in range(1, self.header_row) if self.ws.cell(r, 1).value == label)
        return self.ws.cell(row, 2)

    def rows(self) -> dict[str, int]:
        line = self.columns["Line"]
        return {self.ws.cell(r, line).value: r for r in range(self.header_row + 1, self.ws.max_row + 1) if self.ws.cell(r, line).value}

    def cell(self, line_id: str, column: str):
        return self.ws.cell(self.rows()[line_id], self.columns[column])

    def fill(self, by: str = "A. Lead (VEMT chair)", on: object = date(2018, 7, 12)) -> None:
        self.meta_cell("Updated by").value = by
        self.meta_cell("Updated on").value = on

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.book.save(path)
        return path


def _form_for(forms_dir: Path, lead: str) -> Form:
    return Form(forms_dir / leadforms.form_file_name(lead, PERIOD))


@pytest.fixture
def forms(tmp_path: Path, reference: Path) -> Path:
    out = tmp_path / "marts" / "lead-forms"
    leadforms.write_forms(reference, out, PERIOD)
    return out


def test_one_form_per_lead_holds_their_lines_with_text_due_date_and_current_status(reference, forms):
    leads = _leads(reference)
    assert len(list(forms.glob("*.xlsx"))) == len(leads)
    plan = {row["line_id"]: row for row in _csv(reference / "work_plan.csv")}
    for lead, line_ids in leads.items():
        form = _form_for(forms, lead)
        assert form.meta_cell("Lead").value == lead
        assert form.meta_cell("Period").value == "2018-19 Q1"
        assert set(form.rows()) == line_ids
        for line_id in line_ids:
            assert form.cell(line_id, "What the plan says").value == plan[line_id]["text"]
            due = form.cell(line_id, "Due").value
            if plan[line_id]["due_date"]:
                assert due.date() == date.fromisoformat(plan[line_id]["due_date"])
            else:
                assert due == plan[line_id]["timescale"]
            assert form.cell(line_id, "RAG").value == "grey"  # every line starts grey / awaiting update
            assert form.cell(line_id, "Commentary").value == "awaiting update"


def test_rag_is_a_drop_down_and_only_rag_commentary_and_updated_cells_are_unlocked(reference, forms):
    form = _form_for(forms, "VEMT Chairs and members")
    ws = form.ws
    assert ws.protection.sheet
    rag_cells = [form.cell(line_id, "RAG").coordinate for line_id in form.rows()]
    lists = [dv for dv in ws.data_validations.dataValidation if dv.type == "list"]
    assert len(lists) == 1
    assert lists[0].formula1 == '"green,amber,red,grey"'
    assert all(coordinate in lists[0].sqref for coordinate in rag_cells)
    unlocked = {cell.coordinate for row in ws.iter_rows(min_row=1, max_row=ws.max_row, max_col=len(form.columns))
                for cell in row if not cell.protection.locked}
    expected = {form.cell(i, c).coordinate for i in form.rows() for c in ("RAG", "Commentary")}
    expected |= {form.meta_cell("Updated by").coordinate, form.meta_cell("Updated on").coordinate}
    assert unlocked == expected


def test_a_filled_form_updates_plan_line_updates_with_updated_by_and_on_from_the_form(reference, forms, config, capsys):
    lead = "VEMT Chairs and members"
    form = _form_for(forms, lead)
    line_ids = sorted(form.rows())
    form.cell(line_ids[0], "RAG").value = "amber"
    form.cell(line_ids[0], "Commentary").value = "Audit of return interviews booked for August."
    form.cell(line_ids[1], "RAG").value = "Green"  # a lead typing rather than picking
    form.fill()
    returned = form.save(reference / "lead-updates" / "vemt.xlsx")
    before = {row["line_id"]: row for row in _csv(reference / "plan_line_updates.csv")}

    assert main(["lead-updates", "import", "--config", str(config)]) == 0
    assert "1 forms applied" in capsys.readouterr().out
    after = {row["line_id"]: row for row in _csv(reference / "plan_line_updates.csv")}
    assert list(after) == list(before)  # same lines, same order
    assert after[line_ids[0]] == {"line_id": line_ids[0], "rag": "amber", "commentary": "Audit of return interviews booked for August.",
                                  "updated_by": "A. Lead (VEMT chair)", "updated_on": "2018-07-12"}
    assert after[line_ids[1]]["rag"] == "green"
    for line_id in set(before) - _leads(reference)[lead]:
        assert after[line_id] == before[line_id]  # other leads' lines untouched
    assert not returned.exists() and len(list((reference / "lead-updates" / "imported").glob("*vemt.xlsx"))) == 1


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        pytest.param(lambda form, ids: setattr(form.cell(ids[0], "Line"), "value", "9.9.9"),
                     r"row \d+, column Line: unknown line: 9.9.9 is not a line of either plan", id="unknown-line"),
        pytest.param(lambda form, ids: setattr(form.cell(ids[0], "Line"), "value", "1.1.4"),
                     r"row \d+, column Line: unknown line: 1.1.4 is evidenced by an indicator", id="indicator-line"),
        pytest.param(lambda form, ids: setattr(form.cell(ids[0], "Line"), "value", "1.1.1"),
                     r"row \d+, column Line: line 1.1.1 belongs to another lead \(DV Subgroup chair", id="other-lead"),
        pytest.param(lambda form, ids: setattr(form.cell(ids[0], "RAG"), "value", "G"),
                     r"row \d+, column RAG: 'G' is not a RAG: choose green, amber, red or grey", id="bad-rag"),
        pytest.param(lambda form, ids: setattr(form.cell(ids[0], "RAG"), "value", None),
                     r"row \d+, column RAG: blank is not a RAG", id="blank-rag"),
        pytest.param(lambda form, ids: setattr(form.cell(ids[0], "What the plan says"), "value", "Done, see minutes."),
                     r"row \d+, column What the plan says: protected cell edited: 'Done, see minutes.'", id="edited-text"),
        pytest.param(lambda form, ids: setattr(form.cell(ids[0], "Due"), "value", "2020-03-31"),
                     r"row \d+, column Due: protected cell edited", id="edited-due"),
        pytest.param(lambda form, ids: setattr(form.meta_cell("Lead"), "value", "Someone else"),
                     r"row \d+, column B \(Lead\): protected cell edited: 'Someone else' is not a lead", id="edited-lead"),
        pytest.param(lambda form, ids: setattr(form.meta_cell("Updated by"), "value", None),
                     r"column B \(Updated by\): blank", id="no-updated-by"),
        pytest.param(lambda form, ids: setattr(form.meta_cell("Updated on"), "value", "next week"),
                     r"column B \(Updated on\): 'next week' is not a date", id="bad-updated-on"),
    ],
)
def test_each_bad_form_gets_its_message_and_changes_nothing(reference, forms, config, capsys, spoil, message):
    form = _form_for(forms, "VEMT Chairs and members")
    ids = sorted(form.rows())
    form.cell(ids[1], "RAG").value = "red"  # a good change on the same form must not be half-applied
    form.fill()
    spoil(form, ids)
    returned = form.save(reference / "lead-updates" / "vemt.xlsx")
    before = (reference / "plan_line_updates.csv").read_bytes()

    assert main(["lead-updates", "import", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    problems = [line.strip() for line in err.splitlines() if line.strip().startswith("vemt.xlsx:")]
    assert len(problems) == 1, err
    assert re.search(message, problems[0]), problems[0]
    assert (reference / "plan_line_updates.csv").read_bytes() == before
    assert returned.exists(), "a form with problems stays in lead-updates/ to be fixed"


def test_a_bad_form_does_not_stop_a_good_one(reference, forms, config, capsys):
    good = _form_for(forms, "VEMT Chairs and members")
    good_id = sorted(good.rows())[0]
    good.cell(good_id, "RAG").value = "green"
    good.fill()
    good_path = good.save(reference / "returned" / "good.xlsx")
    bad = _form_for(forms, "Joint training group")
    bad.cell(sorted(bad.rows())[0], "RAG").value = "purple"
    bad.fill()
    bad_path = bad.save(reference / "returned" / "bad.xlsx")

    assert main(["lead-updates", "import", str(bad_path), str(good_path), "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "bad.xlsx: row" in err and "'purple' is not a RAG" in err and "good.xlsx" not in err
    after = {row["line_id"]: row for row in _csv(reference / "plan_line_updates.csv")}
    assert after[good_id]["rag"] == "green"
    assert all(after[line_id]["rag"] == "grey" for line_id in _leads(reference)["Joint training group"])


def test_something_that_is_not_a_form_gets_a_message(reference, config, tmp_path, capsys):
    junk = reference / "lead-updates" / "notes.xlsx"
    junk.parent.mkdir()
    junk.write_text("not a workbook")
    assert main(["lead-updates", "import", "--config", str(config)]) == 2
    assert "notes.xlsx: cannot be read as an XLSX workbook" in capsys.readouterr().err


def test_lead_forms_command_defaults_to_the_latest_period_folder(config, tmp_path, capsys):
    raw = tmp_path / "raw"
    for folder in ("2018-19-Q3", "2018-19-Q4", "_demo"):
        (raw / folder).mkdir(parents=True)
    marts = tmp_path / "out"
    assert main(["lead-forms", "--raw-dir", str(raw), "--marts-dir", str(marts), "--config", str(config)]) == 0
    assert "forms for 2018-19 Q4" in capsys.readouterr().out
    names = sorted(p.name for p in (marts / "lead-forms").iterdir())
    assert names and all(name.startswith("lead-form-2018-19-Q4-") and name.endswith(".xlsx") for name in names)


@pytest.mark.e2e
def test_round_trip_write_fill_drop_refresh_shows_the_leads_status_in_the_marts_and_workbook(e2e_refresh, e2e_marts_copy,
                                                                                          tmp_path):
    # The session's shared demo world (tests/conftest.py, ``e2e_refresh``): its raw files are only
    # read, the forms go into a copy of its marts and are returned into a copy of its reference files.
    raw, marts, period = e2e_refresh["raw"], e2e_marts_copy, e2e_refresh["last"]
    reference = shutil.copytree(e2e_refresh["reference"], tmp_path / "reference")
    config = tmp_path / "pmf.toml"
    config.write_text(f'reference_dir = "{reference}"\n')
    assert main(["lead-forms", "--raw-dir", str(raw), "--marts-dir", str(marts), "--config", str(config)]) == 0
    form = Form(marts / "lead-forms" / leadforms.form_file_name("Joint training group", period))
    line_id = sorted(form.rows())[0]
    form.cell(line_id, "RAG").value = "red"
    form.cell(line_id, "Commentary").value = "Trainer left in June; course moved to October."
    form.fill(by="Chair, joint training group", on="12/07/2018")
    form.save(reference / "lead-updates" / "returned-training.xlsx")

    assert main(["refresh", "--raw-dir", str(raw), "--marts-dir", str(marts), "--config", str(config)]) == 0
    with duckdb.connect(str(marts / "pmf.duckdb"), read_only=True) as con:
        status = query_rows(
            con, "select rag, commentary, status_source from work_plan_status where line_id = ? and period = ?",
            [line_id, period.label],
        )
        updated = query_rows(con, "select updated_by, updated_on from ref_plan_line_updates where line_id = ?", [line_id])
    assert status == [{"rag": "red", "commentary": "Trainer left in June; course moved to October.", "status_source": "lead"}]
    assert updated == [{"updated_by": "Chair, joint training group", "updated_on": "2018-07-12"}]
    summary = openpyxl.load_workbook(marts / "board" / f"HSCB-PMF-{period.folder_id}.xlsx")["Summary"]
    header_row = next(r for r in range(1, 20) if summary.cell(r, 1).value == "Line")
    columns = {summary.cell(header_row, c).value: c for c in range(1, summary.max_column + 1)}
    row = next(r for r in range(header_row + 1, summary.max_row + 1) if summary.cell(r, columns["Line"]).value == line_id)
    assert "red" in str(summary.cell(row, columns["RAG"]).value).lower()
    assert summary.cell(row, columns["Lead commentary"]).value == "Trainer left in June; course moved to October."
