"""Keep the plan reference data in step with the source documents and the indicator spec.

``data/reference/work_plan.csv`` transcribes every numbered line of the HSCB work plan
2017-19 and the "Olivia and Yasmine" SCR action plan; ``plan_line_updates.csv`` holds the
leads' RAG and commentary for the lines no indicator evidences. These tests parse the seed
documents independently (regexes over the extracted text) and check that the CSVs list
exactly the documents' lines, that dates are consistent, and that the indicator links match
``indicators.md``.

The shared folder (seeds/, spec/) is found beside the repository, or at ``$PMF_SHARED_DIR``.
"""

from __future__ import annotations

import calendar
import csv
import re
from datetime import date
from functools import cache
from pathlib import Path

import pytest

from pipelines.periods import Quarter
from repo_paths import REFERENCE_DIR, SHARED_DIR

WORK_PLAN_CSV = REFERENCE_DIR / "work_plan.csv"
UPDATES_CSV = REFERENCE_DIR / "plan_line_updates.csv"

WORK_PLAN_COLUMNS = [
    "line_id", "plan", "section", "objective", "text", "lead", "timescale", "due_date", "due_kind",
    "evidence", "indicator_codes", "baseline_period", "transcription_note",
]
UPDATES_COLUMNS = ["line_id", "rag", "commentary", "updated_by", "updated_on"]
RAG_VALUES = {"green", "amber", "red", "grey"}
DUE_KINDS = {"date", "ongoing", "continuous"}
DEFAULT_BASELINE = "2017-18 Q2"  # indicators.md: the plans began in 2017-18 Q2
MONTHS = {name: number for number, name in enumerate(calendar.month_name) if name}


# ------------------------------------------------------------------------------- inputs

def shared_dir() -> Path:
    folder = SHARED_DIR
    if not (folder / "seeds").is_dir() or not (folder / "spec").is_dir():
        pytest.fail(
            f"shared folder not found at {folder} (expected seeds/ and spec/ inside it): "
            "set PMF_SHARED_DIR to the folder holding the seed documents and the spec",
            pytrace=False,
        )
    return folder


def read_shared(relative: str) -> str:
    path = shared_dir() / relative
    if not path.is_file():
        pytest.fail(f"{path} is missing: the reference-data tests need it", pytrace=False)
    return path.read_text(encoding="utf-8")


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """(header, rows) of a UTF-8 CSV; every value a string, blanks as ''."""
    if not path.is_file():
        pytest.fail(f"{path} is missing", pytrace=False)
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        rows = list(reader)
    return list(reader.fieldnames or []), rows


@cache
def work_plan_rows() -> tuple[list[str], list[dict[str, str]]]:
    return read_csv(WORK_PLAN_CSV)


@cache
def update_rows() -> tuple[list[str], list[dict[str, str]]]:
    return read_csv(UPDATES_CSV)


def rows_of(plan: str) -> list[dict[str, str]]:
    return [row for row in work_plan_rows()[1] if row["plan"] == plan]


def normalise(text: str) -> str:
    """Drop the HTML the PDF extraction left in cells and collapse whitespace."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)).strip()


# ------------------------------------------------------ the documents' numbered lines

# Work plan: impact items are numbered n.n.n (2.2.4a/2.2.4b split one number); they start an
# impact cell (after a tab), a <p> paragraph, or follow the previous item in the same cell.
WORK_PLAN_NUMBER = re.compile(r"(?:^|(?<=[\t>])|(?<=\. ))(\d\.\d\.\d[a-z]?) (?=[A-Z])", re.M)
# SCR action plan: actions start a line as "1.2.4). " or "2.1) " (the period is not always there).
SCR_ACTION_NUMBER = re.compile(r"^\s*(\d\.\d(?:\.\d)?)\)\.?\s", re.M)


def work_plan_document_ids() -> list[str]:
    return WORK_PLAN_NUMBER.findall(read_shared("seeds/hscb-work-plan-2017-19.txt"))


def scr_document_action_ids() -> list[str]:
    return SCR_ACTION_NUMBER.findall(read_shared("seeds/scr-action-plan-2017.txt"))


def scr_document_success_criteria() -> list[str]:
    text = read_shared("seeds/scr-action-plan-2017.txt")
    match = re.search(r"Success Criteria for whole action plan:(.*?)Please note:", text, re.S)
    assert match, "SCR action plan: 'Success Criteria for whole action plan:' block not found"
    return [normalise(block) for block in re.split(r"\n\s*\n", match[1]) if block.strip()]


def test_work_plan_numbers_in_document_are_unique():
    ids = work_plan_document_ids()
    assert len(ids) == len(set(ids)), "the work plan numbers a line twice; decide how to key it"
    assert "2.1.3" not in ids  # the document skips 2.1.3; if a new version adds it, update the CSV


def test_work_plan_lines_match_document():
    csv_ids = [row["line_id"] for row in rows_of("work_plan")]
    assert csv_ids == work_plan_document_ids(), "work_plan.csv must list the work plan's lines in document order"


def test_scr_actions_match_document():
    document = ["SCR-" + number for number in scr_document_action_ids()]
    assert len(document) == len(set(document))
    csv_ids = [row["line_id"] for row in rows_of("scr_action_plan") if not row["line_id"].startswith("SCR-S")]
    assert sorted(csv_ids) == sorted(document)
    # the CSV keeps numeric order (the extraction puts 4.1 after 4.4)
    assert csv_ids == sorted(csv_ids, key=lambda i: [int(p) for p in i[4:].split(".")])


def test_scr_success_criteria_match_document():
    criteria = scr_document_success_criteria()
    assert len(criteria) == 5
    rows = [row for row in rows_of("scr_action_plan") if row["line_id"].startswith("SCR-S")]
    assert [row["line_id"] for row in rows] == [f"SCR-S{n}" for n in range(1, 6)]
    assert [row["text"] for row in rows] == criteria
    assert {row["section"] for row in rows} == {"Success criteria"}


# --------------------------------------------------------------- the CSV's own rules

def test_work_plan_csv_shape():
    header, rows = work_plan_rows()
    assert header == WORK_PLAN_COLUMNS
    ids = [row["line_id"] for row in rows]
    assert len(ids) == len(set(ids)), "line_id must be unique"
    for row in rows:
        assert row["plan"] in {"work_plan", "scr_action_plan"}, row
        assert row["line_id"].startswith("SCR-") == (row["plan"] == "scr_action_plan"), row["line_id"]
        assert row["text"] and row["text"] == normalise(row["text"]), row["line_id"]
        assert row["objective"] and row["timescale"], row["line_id"]


def test_sections_follow_numbering():
    for row in rows_of("work_plan"):
        assert re.fullmatch(rf"Priority {row['line_id'][0]}: .+", row["section"]), row["line_id"]
        assert row["objective"].startswith(row["line_id"][:3] + " "), row["line_id"]
    for row in rows_of("scr_action_plan"):
        if not row["line_id"].startswith("SCR-S"):
            finding = row["line_id"][4]
            assert row["section"] == f"Finding {finding}", row["line_id"]
            assert row["objective"].startswith(f"{finding}. "), row["line_id"]


def test_work_plan_text_lead_timescale_evidence_are_from_the_document():
    document = normalise(read_shared("seeds/hscb-work-plan-2017-19.txt"))
    for row in rows_of("work_plan"):
        assert f"{row['line_id']} {row['text']}" in document, row["line_id"]
        assert row["timescale"] in document, row["line_id"]
        for field in ("lead", "evidence"):
            for part in filter(None, row[field].split("; ")):  # "; " joins <p> paragraphs
                assert part in document, (row["line_id"], field, part)


def test_scr_action_text_is_from_the_document():
    """Each action's words appear in order after its number (timescales interrupt some)."""
    document = read_shared("seeds/scr-action-plan-2017.txt")
    for row in rows_of("scr_action_plan"):
        if row["line_id"].startswith("SCR-S"):
            continue
        number = row["line_id"][4:]
        marker = re.search(rf"^\s*{re.escape(number)}\)\.?\s", document, re.M)
        following = iter(document[marker.end():].split()[:120])
        missing = [word for word in row["text"].split() if word not in following]
        assert not missing, (row["line_id"], missing)


def month_end(text: str) -> date:
    """End of the last month named in a timescale ("September 2017 - September 2018", "September 2017- 2018")."""
    month = re.findall("|".join(MONTHS), text)[-1]
    year = int(re.findall(r"\b\d{4}\b", text)[-1])
    return date(year, MONTHS[month], calendar.monthrange(year, MONTHS[month])[1])


def test_due_dates_consistent_with_due_kind():
    for row in work_plan_rows()[1]:
        kind, due, timescale = row["due_kind"], row["due_date"], row["timescale"]
        assert kind in DUE_KINDS, row["line_id"]
        if kind == "date":
            assert date.fromisoformat(due) == month_end(timescale), row["line_id"]
        else:
            assert due == "", row["line_id"]
            assert timescale.lower().startswith(kind), row["line_id"]


def test_inferred_scr_timescales_are_explained():
    document = normalise(read_shared("seeds/scr-action-plan-2017.txt"))
    for row in rows_of("scr_action_plan"):
        if row["timescale"] not in document or row["line_id"].startswith("SCR-S"):
            assert "timescale" in row["transcription_note"].lower(), row["line_id"]


# ----------------------------------------------------------------------- indicators

def indicator_evidence() -> dict[str, set[str]]:
    """indicators.md table: code -> line_ids from the 'evidence for' column."""
    spec = read_shared("spec/indicators.md")
    table = spec.split("## The indicators", 1)[1].split("\n\n")[1]
    lines: dict[str, set[str]] = {}
    for line in table.splitlines()[2:]:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        code, evidence = cells[0], cells[-1]
        targets, prefix = set(), None
        for item in (part.strip() for part in evidence.split(",")):
            match = re.fullmatch(r"(work plan|SCR success criterion)?\s*(\S+)", item)
            assert match, f"indicators.md: cannot read evidence item {item!r} for {code}"
            prefix = match[1] or prefix
            targets.add(match[2] if prefix == "work plan" else f"SCR-S{match[2]}")
        lines[code] = targets
    assert lines, "indicators.md: indicator table not found"
    return lines


def test_indicator_codes_on_exactly_the_spec_lines():
    expected = indicator_evidence()
    found: dict[str, set[str]] = {code: set() for code in expected}
    for row in work_plan_rows()[1]:
        for code in filter(None, row["indicator_codes"].split(";")):
            assert code in expected, f"{row['line_id']}: {code} is not in indicators.md"
            found[code].add(row["line_id"])
    assert found == expected


def test_baseline_period_on_indicator_lines_only():
    for row in work_plan_rows()[1]:
        if row["indicator_codes"]:
            assert row["baseline_period"] == DEFAULT_BASELINE, row["line_id"]
            Quarter.parse(row["baseline_period"])
        else:
            assert row["baseline_period"] == "", row["line_id"]


# ---------------------------------------------------------------- plan_line_updates

def test_updates_cover_exactly_the_lines_without_indicators():
    header, rows = update_rows()
    assert header == UPDATES_COLUMNS
    ids = [row["line_id"] for row in rows]
    assert len(ids) == len(set(ids)), "plan_line_updates.csv: line_id must be unique"
    without = {row["line_id"] for row in work_plan_rows()[1] if not row["indicator_codes"]}
    assert set(ids) == without


def test_updates_values_are_valid():
    for row in update_rows()[1]:
        assert row["rag"] in RAG_VALUES, f"{row['line_id']}: rag {row['rag']!r} is not one of {sorted(RAG_VALUES)}"
        assert row["commentary"].strip(), f"{row['line_id']}: commentary is empty"
        if row["updated_on"]:
            assert date.fromisoformat(row["updated_on"]) <= date.today(), row["line_id"]
            assert row["updated_by"].strip(), f"{row['line_id']}: updated_on given without updated_by"
