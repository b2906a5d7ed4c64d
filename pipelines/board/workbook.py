"""Assembling the board workbook: Overview first, then Summary, the priority sheets, Charts,
Data quality and Definitions; written beside its final name and renamed into place."""

from __future__ import annotations

import os
from pathlib import Path

from openpyxl import Workbook

from pipelines.board.charts import write_charts
from pipelines.board.data_quality import write_data_quality
from pipelines.board.definitions import write_definitions
from pipelines.board.layout import sheet_title
from pipelines.board.marts import read_marts
from pipelines.board.overview import write_overview
from pipelines.board.priority import write_section
from pipelines.board.summary import write_summary
from pipelines.config import Settings
from pipelines.periods import Quarter

FIXED_SHEETS = ("Overview", "Summary", "Charts", "Data quality", "Definitions")


def write_workbook(marts_path: Path, out_path: Path, *, period: Quarter, settings: Settings) -> Path:
    """Write the board workbook for ``period`` from the marts; returns ``out_path``.

    Written beside ``out_path`` and renamed into place, so a failure never leaves half a file.
    """
    marts_path, out_path = Path(marts_path), Path(out_path)
    if not marts_path.exists():
        raise FileNotFoundError(f"no marts database at {marts_path}: run `pmf refresh` first")
    data = read_marts(marts_path, period, settings)

    workbook = Workbook()
    workbook.properties.creator = "pmf"
    workbook.properties.title = f"{settings.board_name}: PMF {period.label}"
    overview = workbook.active
    overview.title = "Overview"
    write_overview(overview, data, settings)
    write_summary(workbook.create_sheet("Summary"), data, settings)

    sections: dict[tuple[str, str], list[dict]] = {}
    for status in data.lines:
        if status["indicator_code"] and status["indicator_code"] in data.definitions:
            sections.setdefault((status["plan"], status["section"]), []).append(status)
    taken = set(FIXED_SHEETS)
    for number, ((plan, section), statuses) in enumerate(sections.items(), start=1):
        title = sheet_title(plan, section, taken)
        taken.add(title)
        label = section if plan == "work_plan" else f"SCR action plan, {section}"
        write_section(workbook.create_sheet(title), label, statuses, data, settings, f"S{number}")

    write_charts(workbook.create_sheet("Charts"), data, settings)
    write_data_quality(workbook.create_sheet("Data quality"), data, settings)
    write_definitions(workbook.create_sheet("Definitions"), data, settings)
    workbook.active = 0

    out_path.parent.mkdir(parents=True, exist_ok=True)
    partial = out_path.with_name(f".{out_path.name}.partial")
    try:
        workbook.save(partial)
        os.replace(partial, out_path)
    finally:
        partial.unlink(missing_ok=True)
    return out_path
