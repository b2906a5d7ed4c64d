"""The human-readable validation report: what each agency sent and what was wrong with it.

Written as Markdown, one section per agency, so a PMF group member can send the relevant
section back to whoever supplied a bad file. Values of identifier columns appear only as their
shape (``9999999999``), never as the identifier.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from pipelines.contract import SOURCE_TITLES, load_contract
from pipelines.periods import Quarter
from pipelines.intake import IntakeResult

ROWS_SHOWN_PER_FILE = 200


def write_validation_report(result: IntakeResult, folder: Path, period: Quarter | None, data_docs: Path | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    name = f"validation-{period.folder_id}.md" if period else "validation.md"
    path = folder / name
    link = data_docs.relative_to(folder).as_posix() if data_docs else None
    path.write_text(render_validation_report(result, period, data_docs_link=link), encoding="utf-8")
    return path


def render_validation_report(result: IntakeResult, period: Quarter | None, data_docs_link: str | None = None) -> str:
    contract = load_contract()
    quality = result.data_quality_frame()
    received = int(quality["rows_received"].sum()) if len(quality) else 0
    quarantined = int(quality["rows_quarantined"].sum()) if len(quality) else 0
    lines = [
        f"# pmf validation report{f' — board period {period.label}' if period else ''}",
        "",
        f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Files read: {len(quality)}; "
        f"rejected: {len(result.rejected)}; rows received: {received}; rows quarantined: {quarantined}.",
        "",
        "Row numbers are the ones you see in the spreadsheet (CSV: the header is row 1; XLSX: the "
        "sheet's own row numbers). Identifier values are shown only by their shape (9 = digit, X = letter).",
        "",
    ]
    if data_docs_link:
        lines += [f"Every check and its result for this run, as Great Expectations Data Docs: [{data_docs_link}]({data_docs_link}).", ""]
    if result.rejected:
        lines += ["## Rejected files", "", "| file | problem |", "|---|---|"]
        lines += [f"| {r.file_name} | {_cell(r.message)} |" for r in result.rejected]
        lines.append("")
    if result.warnings:
        lines += ["## Notes", ""] + [f"- {warning}" for warning in result.warnings] + [""]
    # Plain lists, grouped once: per-file pandas calls cost ~5 s for a region's ~1,700 files.
    file_rows = quality.to_dict("records")
    quarantine = result.quarantine.sort_values(["file_name"], kind="stable")
    bad_count = quarantine["file_name"].value_counts().to_dict()
    bad_by_file: dict[str, list[dict]] = {}  # the rows shown, in file order
    for row in quarantine.groupby("file_name", sort=False).head(ROWS_SHOWN_PER_FILE).to_dict("records"):
        bad_by_file.setdefault(row["file_name"], []).append(row)
    for source, title in SOURCE_TITLES.items():
        extracts = {name for name, extract in contract.items() if extract.source == source}
        files = [row for row in file_rows if row["extract"] in extracts]
        if not files:
            continue
        lines += [f"## {title}", "", "| file | status | received | staged | quarantined | notes |", "|---|---|---:|---:|---:|---|"]
        lines += [
            f"| {row['file_name']} | {row['status']} | {row['rows_received']} | {row['rows_staged']} | "
            f"{row['rows_quarantined']} | {_cell(row['message'])} |"
            for row in files
        ]
        lines.append("")
        bad = result.quarantine[result.quarantine["extract"].isin(extracts)]
        if len(bad):
            lines += ["Quarantined rows by rule:", ""]
            by_rule = bad.groupby(["extract", "rule"]).size().reset_index(name="rows")
            lines += [f"- {row.extract}: {row.rule} — {row.rows}" for row in by_rule.itertuples()]
            lines.append("")
            for file_name in sorted(set(bad["file_name"])):
                rows = bad_by_file[file_name]
                lines += [f"### {file_name}", "", "| row | column | value | rule | message |", "|---:|---|---|---|---|"]
                lines += [
                    f"| {row['row_number']} | {row['column_name']} | {_cell(row['value'])} | {row['rule']} | {_cell(row['message'])} |"
                    for row in rows
                ]
                if bad_count[file_name] > ROWS_SHOWN_PER_FILE:
                    lines.append(f"\n…and {bad_count[file_name] - ROWS_SHOWN_PER_FILE} more rows (see the `quarantine` mart table).")
                lines.append("")
    return "\n".join(lines) + "\n"


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    return str(value).replace("|", "\\|").replace("\n", " ")
